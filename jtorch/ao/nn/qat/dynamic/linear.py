"""torch.ao.nn.qat.dynamic.Linear: a QAT Linear whose qconfig's activation observer is memoryless (a moving
average with averaging constant 1, as dynamic quantization observes each batch afresh)."""
from jtorch.ao.nn.qat.modules.linear import Linear as _QATLinear


class Linear(_QATLinear):
    def __init__(self, in_features, out_features, bias=True, qconfig=None, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, qconfig, device, dtype)
        from jtorch.ao.quantization.qconfig import _activation_is_memoryless
        if not _activation_is_memoryless(qconfig):
            raise ValueError("Dynamic QAT requires a memoryless observer.This means a MovingAverage observer with "
                             "averaging constant equal to 1")

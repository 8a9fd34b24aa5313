"""torch.ao.nn.qat.Linear: nn.Linear computing with its fake-quantized weight."""
from jtorch import nn
from jtorch.nn import functional as F
from jtorch.ao.nn import intrinsic as nni
from .utils import attach_weight_fake_quant, check_float_module


class Linear(nn.Linear):
    """A Linear whose forward uses ``weight_fake_quant(weight)`` (gradients pass straight through)."""
    _FLOAT_MODULE = nn.Linear

    def __init__(self, in_features, out_features, bias=True, qconfig=None, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        attach_weight_fake_quant(self, qconfig, device, dtype)

    def forward(self, input):
        return F.linear(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT form of a float Linear (or fused LinearReLU) with a qconfig, sharing its parameters."""
        check_float_module(cls, mod)
        if isinstance(mod, nni._FusedModule):
            mod = mod[0]
        qat = cls(mod.in_features, mod.out_features, bias=mod.bias is not None, qconfig=mod.qconfig)
        qat.weight = mod.weight
        qat.bias = mod.bias
        return qat

    def to_float(self):
        linear = nn.Linear(self.in_features, self.out_features, self.bias is not None)
        linear.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            linear.bias = nn.Parameter(self.bias.detach())
        linear.train(self.training)
        return linear



"""torch.ao.nn.intrinsic.qat LinearReLU and LinearBn1d."""
from jtorch import nn
from jtorch.nn import functional as F
from jtorch.nn.utils.fusion import fuse_linear_bn_weights
from jtorch.ao.nn import intrinsic as nni
from jtorch.ao.nn.qat.modules.linear import Linear as _QATLinear
from jtorch.ao.nn.qat.modules.utils import check_float_module
from .bn_folding import BnFolding

__all__ = ["LinearReLU", "LinearBn1d"]


class LinearReLU(_QATLinear, nni._FusedModule):
    """QAT linear + ReLU."""
    _FLOAT_MODULE = nni.LinearReLU

    def __init__(self, in_features, out_features, bias=True, qconfig=None):
        super().__init__(in_features, out_features, bias, qconfig)

    def forward(self, input):
        return F.relu(F.linear(input, self.weight_fake_quant(self.weight), self.bias))

    def to_float(self):
        return nni.LinearReLU(_QATLinear.to_float(self), nn.ReLU())


class LinearBn1d(BnFolding, nn.Linear, nni._FusedModule):
    """QAT linear + BatchNorm1d, the batch norm folded into the fake-quantized weight (as the conv-bn modules)."""
    _FLOAT_MODULE = nni.LinearBn1d

    def __init__(self, in_features, out_features, bias=True, eps=1e-05, momentum=0.1, freeze_bn=False,
                 qconfig=None):
        nn.Linear.__init__(self, in_features, out_features, bias)
        self._init_bn(nn.BatchNorm1d, out_features, eps, momentum, freeze_bn, qconfig, bias)

    def reset_bn_parameters(self):
        self.bn.reset_running_stats()
        nn.init.uniform_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def forward(self, input):
        return self._folded_forward(input, F.linear)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        check_float_module(cls, mod)
        linear, bn = mod[0], mod[1]
        qat = cls(linear.in_features, linear.out_features, linear.bias is not None, bn.eps, bn.momentum, False,
                  mod.qconfig)
        return qat._take_float(linear, bn)

    def to_float(self):
        linear = nn.Linear(self.in_features, self.out_features)
        if self.bn.running_var is None or self.bn.running_mean is None:
            raise AssertionError("self.bn.running_var and self.bn.running_mean must not be None")
        linear.weight, linear.bias = fuse_linear_bn_weights(self.weight, self.bias, self.bn.running_mean,
                                                            self.bn.running_var, self.bn.eps, self.bn.weight,
                                                            self.bn.bias)
        return linear

"""torch.ao.nn.qat.Conv1d/2d/3d: convolutions computing with their fake-quantized weight."""
from jtorch import nn
from jtorch.ao.nn import intrinsic as nni
from .utils import attach_weight_fake_quant, check_float_module


class _ConvNd(nn.modules.conv._ConvNd):
    """Put before nn.ConvNd in the bases: the constructor takes a qconfig, forward fake-quantizes the weight."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", qconfig=None, device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)
        attach_weight_fake_quant(self, qconfig, device, dtype)

    def forward(self, input):
        return self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT form of a float conv (or fused ConvReLU) with a qconfig, sharing its parameters."""
        check_float_module(cls, mod)
        if isinstance(mod, nni._FusedModule):
            mod = mod[0]
        qat = cls(mod.in_channels, mod.out_channels, mod.kernel_size, stride=mod.stride, padding=mod.padding,
                  dilation=mod.dilation, groups=mod.groups, bias=mod.bias is not None, padding_mode=mod.padding_mode,
                  qconfig=mod.qconfig)
        qat.weight = mod.weight
        qat.bias = mod.bias
        return qat

    def to_float(self):
        """The float conv (followed by ReLU for the fused QAT ConvReLU modules) with these parameters."""
        conv = _float_conv(self)
        if isinstance(self, nni._FusedModule):
            fused = self._FLOAT_MODULE(conv, nn.ReLU())
            fused.train(self.training)
            return fused
        return conv


def _float_conv(qat):
    conv = qat._FLOAT_CONV_MODULE(qat.in_channels, qat.out_channels, qat.kernel_size, qat.stride, qat.padding,
                                  qat.dilation, qat.groups, qat.bias is not None, qat.padding_mode)
    conv.weight = nn.Parameter(qat.weight.detach())
    if qat.bias is not None:
        conv.bias = nn.Parameter(qat.bias.detach())
    conv.train(qat.training)
    return conv


class Conv1d(_ConvNd, nn.Conv1d):
    _FLOAT_MODULE = _FLOAT_CONV_MODULE = nn.Conv1d


class Conv2d(_ConvNd, nn.Conv2d):
    _FLOAT_MODULE = _FLOAT_CONV_MODULE = nn.Conv2d


class Conv3d(_ConvNd, nn.Conv3d):
    _FLOAT_MODULE = _FLOAT_CONV_MODULE = nn.Conv3d

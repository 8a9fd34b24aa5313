"""torch.ao.nn.intrinsic.qat ConvBn1d/2d/3d, ConvBnReLU1d/2d/3d (batch norm folded into the fake-quantized weight
while training) and ConvReLU1d/2d/3d."""
from jtorch import nn
from jtorch.nn import functional as F
from jtorch.nn.utils.fusion import fuse_conv_bn_weights
from jtorch.ao.nn import intrinsic as nni
from jtorch.ao.nn.qat.modules import conv as qat_conv
from jtorch.ao.nn.qat.modules.utils import check_float_module
from .bn_folding import BnFolding

__all__ = ["ConvBn1d", "ConvBnReLU1d", "ConvReLU1d", "ConvBn2d", "ConvBnReLU2d", "ConvReLU2d", "ConvBn3d",
           "ConvBnReLU3d", "ConvReLU3d", "update_bn_stats", "freeze_bn_stats"]


class _ConvBnNd(BnFolding, nn.modules.conv._ConvNd, nni._FusedModule):
    _version = 2
    _FLOAT_RELU_MODULE = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=None,
                 padding_mode="zeros", eps=1e-05, momentum=0.1, freeze_bn=False, qconfig=None):
        nn.modules.conv._ConvNd.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                                         False, (0,) * self._n, groups, False, padding_mode)
        self._init_bn(self._FLOAT_BN_MODULE, out_channels, eps, momentum, freeze_bn, qconfig, bias)
        self._enable_slow_path_for_better_numerical_stability = False

    def _forward(self, input):
        if self._enable_slow_path_for_better_numerical_stability:
            return self._exact_folded_forward(input, self._conv_forward)
        return self._folded_forward(input, self._conv_forward)

    def forward(self, input):
        return self._forward(input)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT form of a fused float ConvBn (ConvBnReLU) with a qconfig, sharing its parameters and batch norm
        statistics."""
        check_float_module(cls, mod)
        conv, bn = mod[0], mod[1]
        qat = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                  conv.groups, conv.bias is not None, conv.padding_mode, bn.eps, bn.momentum, False, mod.qconfig)
        return qat._take_float(conv, bn)

    def to_float(self):
        """The float conv with the batch norm folded in (its running statistics), followed by ReLU if fused."""
        conv = qat_conv._float_conv(self)
        if self.bn.running_var is None or self.bn.running_mean is None:
            raise AssertionError("self.bn.running_var and self.bn.running_mean must not be None")
        conv.weight, conv.bias = fuse_conv_bn_weights(conv.weight, conv.bias, self.bn.running_mean,
                                                      self.bn.running_var, self.bn.eps, self.bn.weight, self.bn.bias)
        if self._FLOAT_RELU_MODULE is not None:
            fused = self._FUSED_FLOAT_MODULE(conv, self._FLOAT_RELU_MODULE())
            fused.train(self.training)
            return fused
        return conv


class _ConvBnReLU:
    """ReLU after the folded conv-bn."""
    _FLOAT_RELU_MODULE = nn.ReLU

    def forward(self, input):
        return F.relu(self._forward(input))


class _ConvReLU:
    """QAT conv + ReLU: the QAT conv's forward, then ReLU (bases: this, the QAT conv, _FusedModule)."""
    _FLOAT_RELU_MODULE = nn.ReLU

    def forward(self, input):
        return F.relu(self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias))


class ConvBn1d(_ConvBnNd, nn.Conv1d):
    _FLOAT_MODULE, _FLOAT_CONV_MODULE, _FLOAT_BN_MODULE = nni.ConvBn1d, nn.Conv1d, nn.BatchNorm1d


class ConvBn2d(_ConvBnNd, nn.Conv2d):
    _FLOAT_MODULE, _FLOAT_CONV_MODULE, _FLOAT_BN_MODULE = nni.ConvBn2d, nn.Conv2d, nn.BatchNorm2d


class ConvBn3d(_ConvBnNd, nn.Conv3d):
    _FLOAT_MODULE, _FLOAT_CONV_MODULE, _FLOAT_BN_MODULE = nni.ConvBn3d, nn.Conv3d, nn.BatchNorm3d


class ConvBnReLU1d(_ConvBnReLU, ConvBn1d):
    _FLOAT_MODULE, _FUSED_FLOAT_MODULE = nni.ConvBnReLU1d, nni.ConvReLU1d


class ConvBnReLU2d(_ConvBnReLU, ConvBn2d):
    _FLOAT_MODULE, _FUSED_FLOAT_MODULE = nni.ConvBnReLU2d, nni.ConvReLU2d


class ConvBnReLU3d(_ConvBnReLU, ConvBn3d):
    _FLOAT_MODULE, _FUSED_FLOAT_MODULE = nni.ConvBnReLU3d, nni.ConvReLU3d


class ConvReLU1d(_ConvReLU, qat_conv.Conv1d, nni._FusedModule):
    _FLOAT_MODULE, _FLOAT_CONV_MODULE = nni.ConvReLU1d, nn.Conv1d


class ConvReLU2d(_ConvReLU, qat_conv.Conv2d, nni._FusedModule):
    _FLOAT_MODULE, _FLOAT_CONV_MODULE = nni.ConvReLU2d, nn.Conv2d


class ConvReLU3d(_ConvReLU, qat_conv.Conv3d, nni._FusedModule):
    _FLOAT_MODULE, _FLOAT_CONV_MODULE = nni.ConvReLU3d, nn.Conv3d


_CONV_BN = (ConvBn1d, ConvBn2d, ConvBn3d, ConvBnReLU1d, ConvBnReLU2d, ConvBnReLU3d)


def update_bn_stats(mod):
    """``model.apply(update_bn_stats)``: the conv-bn modules' batch norms train (use and update batch
    statistics) again."""
    if type(mod) in _CONV_BN:
        mod.update_bn_stats()


def freeze_bn_stats(mod):
    """``model.apply(freeze_bn_stats)``: the conv-bn modules' batch norms use their running statistics and stop
    updating them."""
    if type(mod) in _CONV_BN:
        mod.freeze_bn_stats()

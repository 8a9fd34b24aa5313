"""torch.ao.nn.intrinsic.quantized: quantized fused modules (the ReLU clamps at the output zero point)."""
from jtorch.ao.nn.quantized.modules.conv import Conv1d as _C1, Conv2d as _C2, Conv3d as _C3
from jtorch.ao.nn.quantized.modules.linear import Linear as _L
from jtorch.ao.nn.quantized.dynamic.linear import Linear as _DL
from jtorch.ao.nn import intrinsic as _nni
from jtorch.ao.nn.quantized.modules.normalization import _batch_norm
from jtorch import nn as _nn

__all__ = ["ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearReLU", "BNReLU2d", "BNReLU3d"]


class ConvReLU1d(_C1):
    _NAME, _RELU, _FLOAT_MODULE = "QuantizedConvReLU1d", True, _nni.ConvReLU1d


class ConvReLU2d(_C2):
    _NAME, _RELU, _FLOAT_MODULE = "QuantizedConvReLU2d", True, _nni.ConvReLU2d


class ConvReLU3d(_C3):
    _NAME, _RELU, _FLOAT_MODULE = "QuantizedConvReLU3d", True, _nni.ConvReLU3d


class LinearReLU(_L):
    _NAME, _RELU, _FLOAT_MODULE = "QuantizedLinearReLU", True, _nni.LinearReLU


class _DynamicLinearReLU(_DL):
    _NAME, _RELU, _FLOAT_MODULE = "DynamicQuantizedLinearReLU", True, _nni.LinearReLU


BNReLU2d = _batch_norm(_nn.BatchNorm2d, "BatchNorm2d", 4, relu=True)
BNReLU3d = _batch_norm(_nn.BatchNorm3d, "BatchNorm3d", 5, relu=True)

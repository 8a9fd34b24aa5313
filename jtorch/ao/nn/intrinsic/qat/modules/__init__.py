"""The fused QAT modules (see torch.ao.nn.intrinsic.qat)."""
from .conv_fused import (ConvBn1d, ConvBn2d, ConvBn3d, ConvBnReLU1d, ConvBnReLU2d, ConvBnReLU3d,  # noqa: F401
                         ConvReLU1d, ConvReLU2d, ConvReLU3d, freeze_bn_stats, update_bn_stats)
from .linear_fused import LinearReLU, LinearBn1d  # noqa: F401

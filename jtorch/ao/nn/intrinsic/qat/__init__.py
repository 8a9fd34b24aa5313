"""torch.ao.nn.intrinsic.qat: fused modules for quantization-aware training (conv + bn (+ relu) with the batch
norm folded into the fake-quantized weight, conv + relu, linear + relu, linear + bn)."""
from .modules import (ConvBn1d, ConvBn2d, ConvBn3d, ConvBnReLU1d, ConvBnReLU2d, ConvBnReLU3d,  # noqa: F401
                      ConvReLU1d, ConvReLU2d, ConvReLU3d, LinearReLU, LinearBn1d, freeze_bn_stats, update_bn_stats)
from . import modules  # noqa: F401

__all__ = ["LinearReLU", "LinearBn1d", "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "ConvBn1d", "ConvBn2d", "ConvBn3d",
           "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d", "update_bn_stats", "freeze_bn_stats"]

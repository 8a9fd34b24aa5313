"""torch.ao.nn.quantized: modules and functions on quantized tensors."""
from .modules import (Quantize, DeQuantize, Linear, LinearPackedParams, Conv1d, Conv2d, Conv3d, ReLU6,  # noqa: F401
                      Hardswish, LeakyReLU, Sigmoid, FloatFunctional, FXFloatFunctional, QFunctional, ELU,
                      Softmax, PReLU, Dropout, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, LayerNorm,
                      GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, BatchNorm2d, BatchNorm3d, Embedding,
                      EmbeddingBag)
from . import functional, dynamic, modules, reference  # noqa: F401

__all__ = ["Quantize", "DeQuantize", "Linear", "Conv1d", "Conv2d", "Conv3d", "ReLU6", "Hardswish", "LeakyReLU",
           "Sigmoid", "FloatFunctional", "FXFloatFunctional", "QFunctional", "ELU", "Softmax", "PReLU", "Dropout",
           "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LayerNorm", "GroupNorm", "InstanceNorm1d",
           "InstanceNorm2d", "InstanceNorm3d", "BatchNorm2d", "BatchNorm3d", "Embedding", "EmbeddingBag"]

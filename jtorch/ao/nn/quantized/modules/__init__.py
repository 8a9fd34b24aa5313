"""torch.ao.nn.quantized modules: Quantize/DeQuantize, Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, activations,
normalizations, Dropout, FloatFunctional/QFunctional."""
import jtorch as torch
from jtorch import nn
from .linear import Linear, LinearPackedParams
from .conv import Conv1d, Conv2d, Conv3d
from .functional_modules import FloatFunctional, FXFloatFunctional, QFunctional
from .activation import ReLU6, Hardswish, LeakyReLU, Sigmoid, ELU, Softmax, PReLU, Dropout
from .conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .embedding_ops import Embedding, EmbeddingBag, EmbeddingPackedParams
from .normalization import (LayerNorm, GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, BatchNorm2d,
                            BatchNorm3d)

__all__ = ["Quantize", "DeQuantize", "Linear", "LinearPackedParams", "Conv1d", "Conv2d", "Conv3d", "ReLU6",
           "Hardswish", "LeakyReLU", "Sigmoid", "FloatFunctional", "FXFloatFunctional", "QFunctional", "ELU",
           "Softmax", "PReLU", "Dropout", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LayerNorm",
           "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "BatchNorm2d", "BatchNorm3d", "Embedding",
           "EmbeddingBag"]


class Quantize(nn.Module):
    """Quantizes its float input with a fixed scale and zero point (what a QuantStub becomes)."""

    def __init__(self, scale, zero_point, dtype, factory_kwargs=None):
        super().__init__()
        self.register_buffer("scale", torch.tensor([scale]))
        self.register_buffer("zero_point", torch.tensor([zero_point], dtype=torch.long))
        self.dtype = dtype

    def forward(self, X):
        return torch.quantize_per_tensor(X, float(self.scale), int(self.zero_point), self.dtype)

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        if not hasattr(mod, "activation_post_process"):
            raise AssertionError("QuantStub must have activation_post_process: call prepare and calibrate first")
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return Quantize(scale.float().item(), zero_point.long().item(), mod.activation_post_process.dtype)

    def extra_repr(self):
        return f"scale={self.scale!r}, zero_point={self.zero_point!r}, dtype={self.dtype}"


class DeQuantize(nn.Module):
    """Dequantizes its quantized input (what a DeQuantStub becomes)."""

    def forward(self, Xq):
        return Xq.dequantize()

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        return DeQuantize()

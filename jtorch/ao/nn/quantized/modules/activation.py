"""Quantized activation modules whose output keeps the input's parameters (ReLU6, LeakyReLU) or has its own."""
import jtorch as torch
from jtorch import nn
from .. import functional as qF


class ReLU6(nn.ReLU6):
    """min(max(x, 0), 6) on a quantized tensor, in its own quantized domain."""

    def _get_name(self):
        return "QuantizedReLU6"

    def forward(self, input):
        out = qF._clamped(input, 0.0, 6.0)
        return input.copy_(out) if self.inplace else out

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        return ReLU6(mod.inplace)


def _requantized(fn, scale, zero_point, x):
    return torch.quantize_per_tensor(fn(x.dequantize()), float(scale), int(zero_point), x.dtype)


def _output_params(mod, scale, zero_point):
    """The output's parameters as buffers (in the state dict, as torch's)."""
    mod.register_buffer("scale", torch.tensor(scale))
    mod.register_buffer("zero_point", torch.tensor(zero_point))


class Hardswish(nn.Hardswish):
    def __init__(self, scale, zero_point, device=None, dtype=None):
        super().__init__()
        _output_params(self, scale, zero_point)

    def _get_name(self):
        return "QuantizedHardswish"

    def forward(self, input):
        return _requantized(torch.nn.functional.hardswish, self.scale, self.zero_point, input)

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zp = mod.activation_post_process.calculate_qparams()
        return Hardswish(float(scale), int(zp))


class LeakyReLU(nn.LeakyReLU):
    def __init__(self, scale, zero_point, negative_slope=1e-2, inplace=False, device=None, dtype=None):
        super().__init__(negative_slope, inplace)
        _output_params(self, scale, zero_point)

    def _get_name(self):
        return "QuantizedLeakyReLU"

    def forward(self, input):
        return _requantized(lambda v: torch.nn.functional.leaky_relu(v, self.negative_slope), self.scale,
                            self.zero_point, input)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zp = mod.activation_post_process.calculate_qparams()
        return cls(float(scale), int(zp), mod.negative_slope, mod.inplace)


class Sigmoid(nn.Sigmoid):
    def __init__(self, output_scale, output_zero_point):
        super().__init__()
        self.output_scale, self.output_zero_point = output_scale, output_zero_point

    def _get_name(self):
        return "QuantizedSigmoid"

    def forward(self, input):
        return _requantized(torch.sigmoid, self.output_scale, self.output_zero_point, input)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zp = mod.activation_post_process.calculate_qparams()
        return cls(float(scale), int(zp))

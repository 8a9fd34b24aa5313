"""Quantized activation modules whose output keeps the input's parameters (ReLU6) or has its own (the float
activation of the dequantized input requantized: Hardswish, LeakyReLU, Sigmoid, ELU, Softmax, PReLU), and Dropout."""
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


class ELU(nn.ELU):
    def __init__(self, scale, zero_point, alpha=1.0):
        super().__init__(alpha)
        self.scale, self.zero_point = scale, zero_point

    def _get_name(self):
        return "QuantizedELU"

    def forward(self, input):
        return _requantized(lambda v: torch.nn.functional.elu(v, self.alpha), self.scale, self.zero_point, input)

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zp = mod.activation_post_process.calculate_qparams()
        return ELU(float(scale), int(zp), mod.alpha)


class Softmax(nn.Softmax):
    def __init__(self, dim=None, scale=1.0, zero_point=0):
        super().__init__(dim)
        self.scale, self.zero_point = scale, zero_point

    def _get_name(self):
        return "QuantizedSoftmax"

    def forward(self, input):
        dim = self.dim
        if dim is None:  # the float module's legacy choice
            dim = 0 if input.dim() in (0, 1, 3) else 1
        return _requantized(lambda v: torch.softmax(v, dim), self.scale, self.zero_point, input)

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zp = mod.activation_post_process.calculate_qparams()
        return Softmax(mod.dim, float(scale), int(zp))


class PReLU(nn.Module):
    """PReLU with a quint8 weight (its observer from the qconfig) and output parameters of its own."""

    def __init__(self, output_scale, output_zero_point, num_parameters=1):
        super().__init__()
        self.num_parameters = num_parameters
        self.scale, self.zero_point = output_scale, output_zero_point
        self.set_weight(torch.quantize_per_tensor(torch.zeros(num_parameters), 1.0, 0, torch.quint8))

    def _get_name(self):
        return "QuantizedPReLU"

    def set_weight(self, w):
        object.__setattr__(self, "weight", w)  # a plain attribute (not in the state dict), as torch's

    def forward(self, input):
        # torch's kernel multiplies the positive values by 1 quantized with the weight's parameters (which
        # need not hold 1 exactly: with a weight scale under 1/255 the positive slope is 255 * scale)
        w = self.weight
        one = torch.quantize_per_tensor(torch.ones(1), w.q_scale(), w.q_zero_point(), w.dtype).dequantize()
        return _requantized(lambda v: torch.where(v >= 0, v * one, torch.nn.functional.prelu(v, w.dequantize())),
                            self.scale, self.zero_point, input)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zp = mod.activation_post_process.calculate_qparams()
        out = cls(float(scale), int(zp), mod.num_parameters)
        observer = mod.qconfig.weight()
        w = mod.weight.detach().float()
        observer(w)
        wscale, wzp = observer.calculate_qparams()
        out.set_weight(torch.quantize_per_tensor(w, float(wscale), int(wzp), torch.quint8))
        return out


class Dropout(nn.Dropout):
    """Dropout on quantized tensors: the identity (inference)."""

    def _get_name(self):
        return "QuantizedDropout"

    def forward(self, input):
        return input

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls(mod.p, mod.inplace)

"""torch.ao.nn.quantized.Conv1d/2d/3d and ConvTranspose1d/2d/3d: quint8 activations, qint8 weight (per tensor or
per channel; transposed: per tensor), float bias."""
import jtorch as torch
from jtorch import nn
from .. import functional as qF
from .utils import _quantize_weight, _activation_qparams, _observed_weight_post_process, _weighted_module


def _ntuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvNd(nn.Module):
    _N = 2
    _NAME = "QuantizedConv2d"
    _RELU = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        n = self._N
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"padding_mode {padding_mode!r} is not supported by jtorch's quantized conv")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride, self.padding, self.dilation = _ntuple(stride, n), _ntuple(padding, n), _ntuple(dilation, n)
        self.transposed = False
        self.output_padding = (0,) * n
        self.groups = groups
        self.padding_mode = padding_mode
        qweight = torch._empty_affine_quantized([out_channels, in_channels // groups, *self.kernel_size], scale=1,
                                                zero_point=0, dtype=torch.qint8)
        self.set_weight_bias(qweight, torch.zeros(out_channels, dtype=torch.float) if bias else None)
        self.scale = 1.0
        self.zero_point = 0

    def _get_name(self):
        return self._NAME

    def set_weight_bias(self, w, b):
        # kept out of the module's parameter registry: the state dict holds them under torch's names
        object.__setattr__(self, "_weight", w)
        object.__setattr__(self, "_bias", None if b is None else
                           (b if isinstance(b, nn.Parameter) else nn.Parameter(b.detach(), False)))

    def weight(self):
        return self._weight

    def bias(self):
        return self._bias

    def _weight_bias(self):
        return self._weight, self._bias

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
             f"scale={self.scale}, zero_point={self.zero_point}")
        n = self._N
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self._bias is None:
            s += ", bias=False"
        return s

    def forward(self, input):
        if input.ndim != self._N + 2:
            raise ValueError(f"Input shape must be `(N, C, {'D, ' if self._N == 3 else ''}"
                             f"{'H, ' if self._N >= 2 else ''}W)`!")
        return qF.qconv(input, self._weight, self._bias, self.stride, self.padding, self.dilation, self.groups,
                        self.scale, self.zero_point, relu=self._RELU, name=self._NAME)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        w, b = self._weight_bias()
        destination[prefix + "weight"] = w
        destination[prefix + "bias"] = b
        destination[prefix + "scale"] = torch.tensor(self.scale)
        destination[prefix + "zero_point"] = torch.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        w = state_dict.pop(prefix + "weight", None)
        b = state_dict.pop(prefix + "bias", None)
        if w is not None:
            self.set_weight_bias(w, b)
        elif strict:
            missing_keys.append(prefix + "weight")
        for name, cast in (("scale", float), ("zero_point", int)):
            key = prefix + name
            if key in state_dict:
                setattr(self, name, cast(state_dict.pop(key)))
            elif strict:
                missing_keys.append(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized form of a float conv (or fused ConvReLU) that went through prepare and calibration."""
        float_mod = _weighted_module(mod)
        weight_post_process = _observed_weight_post_process(mod, float_mod, use_precomputed_fake_quant)
        qweight = _quantize_weight(float_mod.weight.float(), weight_post_process)
        qconv = cls(float_mod.in_channels, float_mod.out_channels, float_mod.kernel_size, float_mod.stride,
                    float_mod.padding, float_mod.dilation, float_mod.groups, float_mod.bias is not None,
                    float_mod.padding_mode)
        qconv.set_weight_bias(qweight, float_mod.bias)
        qconv.scale, qconv.zero_point = _activation_qparams(mod)
        return qconv


class Conv1d(_ConvNd):
    _N = 1
    _NAME = "QuantizedConv1d"
    _FLOAT_MODULE = nn.Conv1d


class Conv2d(_ConvNd):
    _N = 2
    _NAME = "QuantizedConv2d"
    _FLOAT_MODULE = nn.Conv2d


class Conv3d(_ConvNd):
    _N = 3
    _NAME = "QuantizedConv3d"
    _FLOAT_MODULE = nn.Conv3d


def qconv_transpose(x, w, bias, stride, padding, output_padding, groups, dilation, scale, zero_point, name):
    """fbgemm's quantized transposed convolution: the zero-point-shifted integers convolved exactly (float64), the
    sum scaled by x_scale * w_scale (float32) plus the bias, requantized as the other quantized convolutions."""
    import numpy as np
    from jtorch.ao._qtensor._functions import requantize
    qF._check_act(x, name)
    if w.qscheme() not in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        raise NotImplementedError(f"quantized::{name}: jtorch quantizes transposed convolution weights per tensor")
    xs = x.int_repr().to(torch.float64) - x.q_zero_point()
    ws = w.int_repr().to(torch.float64) - w.q_zero_point()
    conv = getattr(torch.nn.functional, f"conv_transpose{x.ndim - 2}d")
    acc = conv(xs, ws, None, stride, padding, output_padding, groups, dilation)
    y = acc.to(torch.float32) * float(np.float32(x.q_scale()) * np.float32(w.q_scale()))
    if bias is not None:
        y = y + bias.detach().to(torch.float32).reshape((1, -1) + (1,) * (x.ndim - 2))
    return requantize(y, float(scale), int(zero_point), torch.quint8)


class _ConvTransposeNd(_ConvNd):
    """Quantized ConvTranspose1d/2d/3d: weight (in_channels, out_channels / groups, *kernel) qint8 per tensor."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {self.__class__.__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode)
        n = self._N
        self.transposed = True
        self.output_padding = _ntuple(output_padding, n)
        qweight = torch._empty_affine_quantized([in_channels, out_channels // groups, *self.kernel_size], scale=1,
                                                zero_point=0, dtype=torch.qint8)
        self.set_weight_bias(qweight, self._bias)

    def extra_repr(self):
        s = super().extra_repr()
        if self.output_padding != (0,) * self._N:
            s += f", output_padding={self.output_padding}"
        return s

    def forward(self, input):
        if input.ndim != self._N + 2:
            raise ValueError(f"Input shape must be `(N, C, {'D, ' if self._N == 3 else ''}"
                             f"{'H, ' if self._N >= 2 else ''}W)`!")
        return qconv_transpose(input, self._weight, self._bias, self.stride, self.padding, self.output_padding,
                               self.groups, self.dilation, self.scale, self.zero_point,
                               f"conv_transpose{self._N}d")

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        weight_post_process = _observed_weight_post_process(mod, mod, use_precomputed_fake_quant)
        qweight = _quantize_weight(mod.weight.float(), weight_post_process)
        q = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding, mod.output_padding,
                mod.groups, mod.bias is not None, mod.dilation, mod.padding_mode)
        q.set_weight_bias(qweight, mod.bias)
        q.scale, q.zero_point = _activation_qparams(mod)
        return q


class ConvTranspose1d(_ConvTransposeNd):
    _N = 1
    _NAME = "QuantizedConvTranspose1d"
    _FLOAT_MODULE = nn.ConvTranspose1d


class ConvTranspose2d(_ConvTransposeNd):
    _N = 2
    _NAME = "QuantizedConvTranspose2d"
    _FLOAT_MODULE = nn.ConvTranspose2d


class ConvTranspose3d(_ConvTransposeNd):
    _N = 3
    _NAME = "QuantizedConvTranspose3d"
    _FLOAT_MODULE = nn.ConvTranspose3d

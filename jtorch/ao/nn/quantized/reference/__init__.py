"""torch.ao.nn.quantized.reference: float Linear/Conv/ConvTranspose modules that carry their weight's quantization
parameters and run with the weight quantized and dequantized again (what convert_to_reference_fx puts in a model)."""
import jtorch as torch
from jtorch import nn

__all__ = ["Linear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_RANGES = {torch.qint8: (-128, 127), torch.quint8: (0, 255), torch.qint32: (-2 ** 31, 2 ** 31 - 1)}
_AFFINE = {torch.per_tensor_symmetric: torch.per_tensor_affine,
           torch.per_channel_symmetric: torch.per_channel_affine}


def _with_float_params(ref, float_mod):
    """``ref`` holding the float module's weight and bias (detached), as torch's reference modules do."""
    ref.weight = nn.Parameter(float_mod.weight.detach())
    if float_mod.bias is not None:
        ref.bias = nn.Parameter(float_mod.bias.detach())
    return ref


class ReferenceQuantizedModule(nn.Module):
    """The weight parameters as buffers (``weight_scale``, ``weight_zero_point``, ``weight_axis``) and attributes
    (``weight_qscheme``, ``weight_dtype``)."""

    def _init_weight_qparams(self, weight_qparams, device=None):
        if weight_qparams is None:
            weight_qparams = {"qscheme": torch.per_tensor_affine, "dtype": torch.quint8, "scale": 1.0,
                              "zero_point": 0}
        qscheme = weight_qparams["qscheme"]
        self.weight_qscheme = _AFFINE.get(qscheme, qscheme)
        self.weight_dtype = weight_qparams["dtype"]
        self.is_decomposed = weight_qparams.get("is_decomposed", False)
        if self.weight_qscheme not in (None, torch.per_tensor_affine, torch.per_channel_affine):
            raise AssertionError(f"qscheme: {self.weight_qscheme} is not support in reference quantized "
                                 f"{self._get_name()}")
        scale = torch.as_tensor(weight_qparams["scale"], dtype=torch.float).reshape(-1)
        zero_point = torch.as_tensor(weight_qparams["zero_point"], dtype=torch.long).reshape(-1)
        self.register_buffer("weight_scale", scale)
        self.register_buffer("weight_zero_point", zero_point)
        self.register_buffer("weight_axis", torch.tensor(weight_qparams.get("axis", 0), dtype=torch.int))
        self.weight_axis_int = int(self.weight_axis)
        lo, hi = _RANGES.get(self.weight_dtype, (None, None))
        self.weight_quant_min = weight_qparams.get("quant_min", lo)
        self.weight_quant_max = weight_qparams.get("quant_max", hi)

    def get_quantized_weight(self):
        w = self.weight.detach()
        if self.weight_qscheme == torch.per_channel_affine:
            return torch.quantize_per_channel(w, self.weight_scale.to(torch.float64), self.weight_zero_point,
                                              self.weight_axis_int, self.weight_dtype)
        return torch.quantize_per_tensor(w, float(self.weight_scale[0]), int(self.weight_zero_point[0]),
                                         self.weight_dtype)

    def get_weight(self):
        """The weight quantized with its parameters and dequantized (float)."""
        return self.get_quantized_weight().dequantize()

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "weight_qscheme"] = self.weight_qscheme
        destination[prefix + "weight_dtype"] = self.weight_dtype

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        self.weight_qscheme = state_dict.pop(prefix + "weight_qscheme", self.weight_qscheme)
        self.weight_dtype = state_dict.pop(prefix + "weight_dtype", self.weight_dtype)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        self.weight_axis_int = int(self.weight_axis)


class Linear(nn.Linear, ReferenceQuantizedModule):
    _IS_REFERENCE = True

    def __init__(self, in_features, out_features, bias_=True, device=None, dtype=None, weight_qparams=None):
        super().__init__(in_features, out_features, bias_, device=device, dtype=dtype)
        self._init_weight_qparams(weight_qparams, device)

    def _get_name(self):
        return "QuantizedLinear(Reference)"

    def forward(self, x):
        return nn.functional.linear(x, self.get_weight(), self.bias)

    @classmethod
    def from_float(cls, float_linear, weight_qparams):
        ref = cls(float_linear.in_features, float_linear.out_features, float_linear.bias is not None,
                  weight_qparams=weight_qparams)
        return _with_float_params(ref, float_linear)


def _conv(name, base):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None, weight_qparams=None):
        base.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                      padding_mode, device=device, dtype=dtype)
        self._init_weight_qparams(weight_qparams, device)

    def forward(self, x):
        return self._conv_forward(x, self.get_weight(), self.bias)

    def _get_name(self):
        return f"Quantized{name}(Reference)"

    @classmethod
    def from_float(cls, float_conv, weight_qparams):
        ref = cls(float_conv.in_channels, float_conv.out_channels, float_conv.kernel_size, float_conv.stride,
                  float_conv.padding, float_conv.dilation, float_conv.groups, float_conv.bias is not None,
                  float_conv.padding_mode, weight_qparams=weight_qparams)
        return _with_float_params(ref, float_conv)

    return type(name, (base, ReferenceQuantizedModule),
                {"__init__": __init__, "forward": forward, "_get_name": _get_name,
                 "from_float": from_float, "__module__": __name__})


Conv1d = _conv("Conv1d", nn.Conv1d)
Conv2d = _conv("Conv2d", nn.Conv2d)
Conv3d = _conv("Conv3d", nn.Conv3d)


def _conv_transpose(name, base, n):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None, weight_qparams=None):
        base.__init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                      dilation, padding_mode, device=device, dtype=dtype)
        self._init_weight_qparams(weight_qparams, device)

    def forward(self, x, output_size=None):
        conv = getattr(nn.functional, f"conv_transpose{n}d")
        return conv(x, self.get_weight(), self.bias, self.stride, self.padding, self.output_padding, self.groups,
                    self.dilation)

    def _get_name(self):
        return f"Quantized{name}(Reference)"

    @classmethod
    def from_float(cls, float_conv, weight_qparams):
        ref = cls(float_conv.in_channels, float_conv.out_channels, float_conv.kernel_size, float_conv.stride,
                  float_conv.padding, float_conv.output_padding, float_conv.groups, float_conv.bias is not None,
                  float_conv.dilation, float_conv.padding_mode, weight_qparams=weight_qparams)
        return _with_float_params(ref, float_conv)

    return type(name, (base, ReferenceQuantizedModule),
                {"__init__": __init__, "forward": forward, "_get_name": _get_name,
                 "from_float": from_float, "__module__": __name__})


ConvTranspose1d = _conv_transpose("ConvTranspose1d", nn.ConvTranspose1d, 1)
ConvTranspose2d = _conv_transpose("ConvTranspose2d", nn.ConvTranspose2d, 2)
ConvTranspose3d = _conv_transpose("ConvTranspose3d", nn.ConvTranspose3d, 3)

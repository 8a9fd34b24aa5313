"""torch.ao.nn.quantized.Linear: quint8 activations, qint8 weight (per tensor or per channel), float bias."""
import jtorch as torch
from jtorch import nn
from .. import functional as qF
from .utils import (_quantize_weight, _activation_qparams, _hide_packed_params_repr,
                    _observed_weight_post_process, _weighted_module)


class LinearPackedParams(nn.Module):
    """The quantized weight and float bias (torch keeps them packed for its engine; here as they are). In the
    state dict as torch: ``dtype`` and ``_packed_params`` = (weight, bias)."""
    _version = 3

    def __init__(self, dtype=torch.qint8):
        super().__init__()
        self.dtype = dtype
        if dtype is torch.qint8:
            wq = torch._empty_affine_quantized([1, 1], scale=1.0, zero_point=0, dtype=torch.qint8)
        elif dtype is torch.float16:
            wq = torch.zeros([1, 1], dtype=torch.float)
        else:
            raise RuntimeError(f"Unsupported dtype on dynamic quantized linear! {dtype}")
        self.set_weight_bias(wq, None)

    def set_weight_bias(self, weight, bias):
        if self.dtype is torch.float16:
            weight = weight.detach().to(torch.float16).to(torch.float32)
        self._packed_params = (weight, None if bias is None else bias.detach())

    def _weight_bias(self):
        return self._packed_params

    def forward(self, x):
        return x

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_params"] = self._weight_bias()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        self.dtype = state_dict.pop(prefix + "dtype", self.dtype)
        packed = state_dict.pop(prefix + "_packed_params", None)
        if packed is None:
            if strict:
                missing_keys.append(prefix + "_packed_params")
        else:
            self.set_weight_bias(*packed)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    def __repr__(self):
        return repr(self._weight_bias())


class Linear(nn.Module):
    """Quantized linear: y = quantize(x @ W.T + b) with the module's output scale and zero point."""
    _version = 3
    _FLOAT_MODULE = (nn.Linear, nn.modules.linear.NonDynamicallyQuantizableLinear) \
        if hasattr(nn.modules.linear, "NonDynamicallyQuantizableLinear") else (nn.Linear,)
    _NAME = "QuantizedLinear"
    _RELU = False

    def __init__(self, in_features, out_features, bias_=True, dtype=torch.qint8):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bias = torch.zeros(out_features, dtype=torch.float) if bias_ else None
        if dtype is torch.qint8:
            qweight = torch._empty_affine_quantized([out_features, in_features], scale=1, zero_point=0,
                                                    dtype=torch.qint8)
        elif dtype is torch.float16:
            qweight = torch.zeros([out_features, in_features], dtype=torch.float)
        else:
            raise RuntimeError("Unsupported dtype specified for quantized Linear!")
        self._packed_params = LinearPackedParams(dtype)
        self._packed_params.set_weight_bias(qweight, bias)
        self.scale = 1.0
        self.zero_point = 0

    def _get_name(self):
        return self._NAME

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, scale={self.scale}, "
                f"zero_point={self.zero_point}, qscheme={self.weight().qscheme()}")

    def __repr__(self):
        return _hide_packed_params_repr(self, LinearPackedParams)

    def forward(self, x):
        return qF.qlinear(x, self.weight(), self.bias(), self.scale, self.zero_point, relu=self._RELU,
                          name="linear_relu" if self._RELU else "linear")

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = torch.tensor(self.scale)
        destination[prefix + "zero_point"] = torch.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        for name, cast in (("scale", float), ("zero_point", int)):
            key = prefix + name
            if key in state_dict:
                setattr(self, name, cast(state_dict.pop(key)))
            elif strict:
                missing_keys.append(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys,
                                      error_msgs)

    def _weight_bias(self):
        return self._packed_params._weight_bias()

    def weight(self):
        return self._weight_bias()[0]

    def bias(self):
        return self._weight_bias()[1]

    def set_weight_bias(self, w, b):
        self._packed_params.set_weight_bias(w, b)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized form of a float Linear (or fused LinearReLU) that went through prepare and calibration."""
        float_mod = _weighted_module(mod)
        weight_post_process = _observed_weight_post_process(mod, float_mod, use_precomputed_fake_quant)
        act_scale, act_zp = _activation_qparams(mod)
        qweight = _quantize_weight(float_mod.weight.float(), weight_post_process)
        qlinear = cls(float_mod.in_features, float_mod.out_features, dtype=torch.qint8)
        qlinear.set_weight_bias(qweight, float_mod.bias)
        qlinear.scale = float(act_scale)
        qlinear.zero_point = int(act_zp)
        return qlinear

    @classmethod
    def from_reference(cls, ref_qlinear, output_scale, output_zero_point):
        raise NotImplementedError("reference quantized modules are not supported by jtorch")

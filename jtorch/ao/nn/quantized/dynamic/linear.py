"""Dynamically quantized Linear: a qint8 weight; each call quantizes the input to quint8 with parameters from its
own range (over [0, 127] on the x86/fbgemm engines, whose kernels need the reduced range, [0, 255] on qnnpack),
multiplies in integers and returns float32 (torch's numbers to float32 rounding). A float16 weight (the
float16 dynamic qconfig) is kept rounded to float16 and computed in float32."""
import jtorch as torch
from jtorch import nn
from ..modules.linear import Linear as _QLinear
from ..modules.utils import _quantize_weight
from .. import _kernels as K
from ..functional import _weight_params, _zp


def _reduce_range():
    return torch.backends.quantized.engine != "qnnpack"


class Linear(_QLinear):
    _version = 4
    _NAME = "DynamicQuantizedLinear"

    def __init__(self, in_features, out_features, bias_=True, dtype=torch.qint8):
        super().__init__(in_features, out_features, bias_, dtype=dtype)
        self.version = 4

    def forward(self, x):
        w, b = self._weight_bias()
        if self._packed_params.dtype is torch.float16:
            return torch.nn.functional.linear(x, w, b)
        if x.shape[-1] != self.in_features:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({x.numel() // max(x.shape[-1], 1)}x"
                               f"{x.shape[-1]} and {self.in_features}x{self.out_features})")
        wzp, wsc = _weight_params(w)
        wsc = torch.tensor(wsc) if wsc.ndim else float(wsc)
        return K._qlinear_dynamic(x.float(), w._ir, b, wsc, _zp(wzp), qmax=127 if _reduce_range() else 255,
                                  relu=self._RELU).to(x.dtype)

    def extra_repr(self):
        s = f"in_features={self.in_features}, out_features={self.out_features}, dtype={self._packed_params.dtype}"
        if self._packed_params.dtype is torch.qint8:
            s += f", qscheme={self.weight().qscheme()}"
        return s

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The dynamic quantized form of a float Linear (its qconfig's weight observer chooses the parameters)."""
        from jtorch.ao.nn.intrinsic import LinearReLU
        float_mod = mod[0] if isinstance(mod, LinearReLU) else mod
        if not isinstance(float_mod, nn.Linear):
            raise AssertionError("nn.quantized.dynamic.Linear.from_float only works for nn.Linear")
        if getattr(mod, "qconfig", None) is not None:
            weight_observer = mod.qconfig.weight()
        else:
            from jtorch.ao.quantization.qconfig import default_dynamic_qconfig
            weight_observer = default_dynamic_qconfig.weight()
        dtype = weight_observer.dtype
        if dtype not in (torch.qint8, torch.float16):
            raise AssertionError(f"The only supported dtypes for dynamic quantized linear are qint8 and float16 got: "
                                 f"{dtype}")
        weight_observer(float_mod.weight)
        if dtype is torch.qint8:
            qweight = _quantize_weight(float_mod.weight.float(), weight_observer)
        else:
            qweight = float_mod.weight.float()
        qlinear = cls(float_mod.in_features, float_mod.out_features, dtype=dtype)
        qlinear.set_weight_bias(qweight, float_mod.bias)
        return qlinear

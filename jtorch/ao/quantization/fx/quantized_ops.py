"""``torch.ops.quantized.add/add_relu/mul/mul_relu/matmul(qa, qb, scale, zero_point)``: what a converted FX graph calls
for add and mul of quantized tensors. The float result of the dequantized inputs is requantized to the given
parameters (torch's fbgemm kernels' rounding, as QFunctional). ``add(qa, number)``/``mul(qa, number)`` choose
their output parameters from the input's, as torch's add_scalar/mul_scalar kernels. ``hardswish``, ``leaky_relu``,
``elu``, ``dropout``, ``layer_norm`` and ``instance_norm`` requantize the float result to the given output
parameters (as the quantized modules). ``linear``/``conv1d/2d/3d`` (and their ``_relu`` forms) take a weight packed
by ``linear_prepack``/``conv*d_prepack``: what F.linear/F.conv*d with a weight attribute lower to."""
import numpy as np

import jtorch as torch
from jtorch.ao._qtensor._tensor import QTensor
from jtorch import _ops_namespace as _ns
from jtorch.library._schema import parse_schema
from jtorch.ao._qtensor._functions import requantize

_SCHEMA = "quantized::{}(Tensor qa, Tensor qb, float scale, int zero_point) -> Tensor qc"


def _add_scalar(q, b):
    """torch's quantized add of a number: the zero point moves by round(b / scale) when it stays in range (the
    integers kept), else the range is widened to keep the extreme value and the shifted values requantized."""
    qmin, qmax = q._qdtype.qrange
    s, z = q.q_scale(), q.q_zero_point()
    c = int(np.round(np.float32(b) / np.float32(s)))
    zp = z - c
    if qmin <= zp <= qmax:
        return QTensor._make(q._ir, q._qdtype, q._qscheme, s, zp)
    if zp < qmin:
        new_scale, new_zp = s * (qmax - zp) / (qmax - qmin), qmin
    else:
        new_scale, new_zp = s * (zp - qmin) / (qmax - qmin), qmax
    shifted = (q.int_repr().to(torch.int64) - zp).to(torch.float32) * float(np.float32(s))
    return requantize(shifted, new_scale, new_zp, q.dtype)


def _mul_scalar(q, b):
    """torch's quantized multiplication by a number: the scale multiplied by |b| (the integers reflected for a
    negative b); 0 gives zeros with scale 1."""
    qmin, qmax = q._qdtype.qrange
    s, z = q.q_scale(), q.q_zero_point()
    if b == 0:
        return QTensor._make(torch.zeros_like(q._ir), q._qdtype, q._qscheme, 1.0, 0)
    if b > 0:
        return QTensor._make(q._ir, q._qdtype, q._qscheme, s * b, z)
    flipped = (qmax + qmin - q._ir.to(torch.int64)).to(q._ir.dtype)
    return QTensor._make(flipped, q._qdtype, q._qscheme, s * -b, qmax - (z - qmin))


def _binary(fn, relu, scalar_fn=None):
    def run(qa, qb, scale=None, zero_point=None):
        if scalar_fn is not None and isinstance(qb, (int, float)) and not isinstance(qb, bool):
            return scalar_fn(qa, qb)
        if not (getattr(qa, "is_quantized", False) and getattr(qb, "is_quantized", False)):
            raise RuntimeError("quantized binary ops expect two quantized tensors")
        out = fn(qa.dequantize(), qb.dequantize())
        if relu:
            out = torch.relu(out)
        return requantize(out, float(scale), int(zero_point), qa.dtype)
    return run


def _hardswish(qx, output_scale, output_zero_point):
    return torch.quantize_per_tensor(torch.nn.functional.hardswish(qx.dequantize()), float(output_scale),
                                     int(output_zero_point), qx.dtype)


def _leaky_relu(qx, negative_slope=0.01, inplace=False, output_scale=None, output_zero_point=None):
    out = torch.nn.functional.leaky_relu(qx.dequantize(), negative_slope)
    return torch.quantize_per_tensor(out, float(output_scale), int(output_zero_point), qx.dtype)


def _requantizing(fn):
    """quantized::<op>(x, ..., output_scale, output_zero_point): fn(dequantized x, ...) requantized."""
    def run(qx, *args, output_scale, output_zero_point, **kwargs):
        return torch.quantize_per_tensor(fn(qx.dequantize(), *args, **kwargs), float(output_scale),
                                         int(output_zero_point), qx.dtype)
    return run


def _elu(qx, output_scale, output_zero_point, alpha=1.0, scale=1.0, input_scale=1.0):
    return _requantizing(lambda x: torch.nn.functional.elu(x * input_scale, alpha) * scale)(
        qx, output_scale=output_scale, output_zero_point=output_zero_point)


def _dropout(qx, output_scale, output_zero_point, p=0.5, training=False):
    return _requantizing(lambda x: torch.nn.functional.dropout(x, p, training))(
        qx, output_scale=output_scale, output_zero_point=output_zero_point)


def _layer_norm(qx, normalized_shape, weight, bias, eps, output_scale, output_zero_point):
    return _requantizing(torch.nn.functional.layer_norm)(qx, normalized_shape, weight, bias, eps,
                                                         output_scale=output_scale,
                                                         output_zero_point=output_zero_point)


def _instance_norm(qx, weight, bias, eps, output_scale, output_zero_point):
    return _requantizing(lambda x: torch.nn.functional.instance_norm(x, weight=weight, bias=bias, eps=eps))(
        qx, output_scale=output_scale, output_zero_point=output_zero_point)


class PackedWeight:
    """A quantized weight and float bias (and a convolution's geometry), as torch's prepacked parameters."""

    def __init__(self, weight, bias, stride=None, padding=None, dilation=None, groups=1):
        self.weight, self.bias = weight, bias
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def unpack(self):
        return self.weight, self.bias

    def __repr__(self):
        return f"PackedWeight(weight={tuple(self.weight.shape)}, bias={self.bias is not None})"


def _linear_prepack(W, B=None):
    return PackedWeight(W, B)


def _conv_prepack(weight, bias, stride, padding, dilation, groups):
    return PackedWeight(weight, bias, list(stride), list(padding), list(dilation), int(groups))


def _linear(relu):
    def run(X, W_prepack, Y_scale_i, Y_zero_point_i):
        from jtorch.ao.nn.quantized.functional import qlinear
        return qlinear(X, W_prepack.weight, W_prepack.bias, float(Y_scale_i), int(Y_zero_point_i), relu=relu,
                       name="linear_relu" if relu else "linear")
    return run


def _conv(n, relu):
    def run(qx, packed_weight, output_scale, output_zero_point):
        from jtorch.ao.nn.quantized.functional import qconv
        w = packed_weight
        return qconv(qx, w.weight, w.bias, w.stride, w.padding, w.dilation, w.groups, float(output_scale),
                     int(output_zero_point), relu=relu, name=f"conv{n}d{'_relu' if relu else ''}")
    return run


_PACKED = "Any"  # (torch's: __torch__.torch.classes.quantized.{}PackedParamsBase)
_CONV_SCHEMA = ("quantized::{name}(Tensor qx, " + _PACKED + " packed_weight, float output_scale, "
                "int output_zero_point) -> Tensor")
_UNARY = {
    "hardswish": ("quantized::hardswish(Tensor input, float output_scale, int output_zero_point) -> Tensor",
                  _hardswish),
    "leaky_relu": ("quantized::leaky_relu(Tensor qx, Scalar negative_slope, bool inplace, float output_scale, "
                   "int output_zero_point) -> Tensor", _leaky_relu),
    "elu": ("quantized::elu(Tensor self, float output_scale, int output_zero_point, Scalar alpha=1, Scalar scale=1, "
            "Scalar input_scale=1) -> Tensor", _elu),
    "dropout": ("quantized::dropout(Tensor self, float output_scale, int output_zero_point, Scalar p=0.5, "
                "bool training=False) -> Tensor", _dropout),
    "layer_norm": ("quantized::layer_norm(Tensor input, int[] normalized_shape, Tensor? weight, Tensor? bias, "
                   "float eps, float output_scale, int output_zero_point) -> Tensor", _layer_norm),
    "instance_norm": ("quantized::instance_norm(Tensor input, Tensor? weight, Tensor? bias, float eps, "
                      "float output_scale, int output_zero_point) -> Tensor", _instance_norm),
    "linear_prepack": ("quantized::linear_prepack(Tensor W, Tensor? B=None) -> " + _PACKED.format("Linear")
                       + " W_prepack", _linear_prepack),
    "linear": ("quantized::linear(Tensor X, " + _PACKED.format("Linear") + " W_prepack, float Y_scale_i, "
               "int Y_zero_point_i) -> Tensor Y", _linear(False)),
    "linear_relu": ("quantized::linear_relu(Tensor X, " + _PACKED.format("Linear") + " W_prepack, float Y_scale_i, "
                    "int Y_zero_point_i) -> Tensor Y", _linear(True)),
}
for _n in (1, 2, 3):
    _packed = "Conv2d" if _n == 1 else f"Conv{_n}d"  # (torch packs 1-d convolutions as 2-d ones)
    _UNARY[f"conv{_n}d_prepack"] = (
        f"quantized::conv{_n}d_prepack(Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation, "
        f"int groups) -> {_PACKED.format(_packed)}", _conv_prepack)
    for _relu in (False, True):
        _name = f"conv{_n}d" + ("_relu" if _relu else "")
        _UNARY[_name] = (_CONV_SCHEMA.format(_packed, name=_name), _conv(_n, _relu))


def _register():
    table = _ns.CUSTOM.setdefault("quantized", {})
    for name, fn, relu, scalar_fn in (("add", torch.add, False, _add_scalar), ("add_relu", torch.add, True, None),
                                      ("mul", torch.mul, False, _mul_scalar), ("mul_relu", torch.mul, True, None),
                                      ("matmul", torch.matmul, False, None)):
        if name in table:
            continue
        packet = _ns.packet("quantized", name)
        packet._add(_ns.OpOverload(packet, "default", parse_schema(_SCHEMA.format(name)),
                                   _binary(fn, relu, scalar_fn)))
    for name, (schema, fn) in _UNARY.items():
        if name not in table:
            packet = _ns.packet("quantized", name)
            packet._add(_ns.OpOverload(packet, "default", parse_schema(schema), fn))


_register()

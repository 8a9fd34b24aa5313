"""``torch.ops.quantized.add/add_relu/mul/mul_relu(qa, qb, scale, zero_point)``: what a converted FX graph calls
for add and mul of quantized tensors. The float result of the dequantized inputs is requantized to the given
parameters (torch's fbgemm kernels' rounding, as QFunctional). ``add(qa, number)``/``mul(qa, number)`` choose
their output parameters from the input's, as torch's add_scalar/mul_scalar kernels. ``hardswish`` and
``leaky_relu`` requantize the float result to the given output parameters (as the quantized modules)."""
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


_UNARY = {
    "hardswish": ("quantized::hardswish(Tensor input, float output_scale, int output_zero_point) -> Tensor",
                  _hardswish),
    "leaky_relu": ("quantized::leaky_relu(Tensor qx, Scalar negative_slope, bool inplace, float output_scale, "
                   "int output_zero_point) -> Tensor", _leaky_relu),
}


def _register():
    table = _ns.CUSTOM.setdefault("quantized", {})
    for name, fn, relu, scalar_fn in (("add", torch.add, False, _add_scalar), ("add_relu", torch.add, True, None),
                                      ("mul", torch.mul, False, _mul_scalar), ("mul_relu", torch.mul, True, None)):
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

"""The ops torch runs on quantized tensors, reached from ``_dispatch.apply`` (see _tensor).

View and layout ops (view, reshape, transpose, slicing, select, squeeze, expand, unbind, split, ...) and
value-moving ops (clone, contiguous, indexing, flip, ...) run on the integer tensor and keep the quantization
parameters (per tensor only, as torch: per-channel tensors refuse strided views). Ops that commute with an
affine map of the integers (relu, max pooling, max/min) run on the integers too; average pooling averages
them; sigmoid/tanh/hardsigmoid/leaky_relu/hardtanh/clamp/interpolate requantize the float result as torch's
kernels; mean averages the integers.
Everything else raises torch's NotImplementedError for an operator without a QuantizedCPU kernel.
"""
from ... import _dispatch
from ... import _dtype as D
from ..._tensor_kinds import KernelTable
from ...tensor import Tensor
from . import _kernels as K
from ._tensor import QTensor, not_supported

KERNELS = KernelTable()
kernel = KERNELS.kernel

# non-view ops that only move or select values: the same op on the integers is the quantized result
_MOVES = frozenset(["clone", "_clone", "contiguous", "_contiguous", "_adv_getitem", "index_select", "_index_select",
                    "flip", "_flip", "roll", "_roll", "_copy", "take_along_dim", "gather", "_gather", "_take",
                    "_repeat", "repeat", "tile", "_tile", "_max_pool2d", "max_pool2d", "_max_pool1d", "_max_pool3d",
                    "_pool", "_expand", "_expand_copy", "movedim", "_movedim", "_flatten", "_reshape", "_view",
                    "_permute", "_transpose", "_squeeze", "_unsqueeze", "_narrow", "_select", "_slice",
                    "_getitem", "_basic_getitem", "_unbind", "_split", "_chunk", "_t", "_swapaxes",
                    "_max_pool", "_amax", "_amin", "_max", "_min", "max", "min", "_max_dim", "_min_dim", "_sort",
                    "sort", "_topk", "topk", "_kthvalue", "_median", "_adv_getitem", "_reshape_copy",
                    "_repeat_interleave"])


def route(op, dyn, statics):
    fn = KERNELS.get(op.name)
    if fn is not None:
        return fn(op, dyn, statics)
    if op.view is not None or op.name in _MOVES:
        return on_integers(op, dyn, statics)
    if any(type(a) in (int, float, bool) for a in dyn):
        # torch allocates a result like the quantized operand for tensor-scalar arithmetic, and fails there
        raise RuntimeError("empty_strided not supported on quantized tensors yet see "
                           "https://github.com/pytorch/pytorch/issues/74540")
    raise not_supported(op.name.lstrip("_"))


def _the_q(op, dyn):
    """(position, the one quantized argument) of a call (torch's ops take one quantized operand here)."""
    pos = [i for i, a in enumerate(dyn) if isinstance(a, QTensor)]
    if len(pos) != 1:
        raise not_supported(op.name.lstrip("_"))
    return pos[0], dyn[pos[0]]


def _first_q(dyn):
    q = dyn[0]
    if not isinstance(q, QTensor) or any(isinstance(a, QTensor) for a in dyn[1:]):
        raise not_supported("op")
    return q


def on_integers(op, dyn, statics):
    """``op`` run on the quantized argument's integers, its result(s) quantized with the same parameters."""
    i, q = _the_q(op, dyn)
    if q._per_channel and op.view is not None:
        raise RuntimeError("Setting strides is possible only on uniformly quantized tensor")
    if q._per_channel:
        raise not_supported(op.name.lstrip("_"))
    res = _dispatch.apply(op, [*dyn[:i], q._ir, *dyn[i + 1:]], statics)
    return _wrap(q, res)


def _wrap(q, res):
    if isinstance(res, Tensor):
        return q._like(res)
    if isinstance(res, (tuple, list)):
        out = [_wrap(q, r) if isinstance(r, Tensor) and r.dtype is q._ir.dtype else r for r in res]
        return type(res)(out) if type(res) in (tuple, list) else type(res)(*out)
    return res


@kernel("relu", "_relu")
def _relu(op, dyn, statics):
    q = _first_q(dyn)
    if q._per_channel:
        raise not_supported("relu")
    return q._like(K._q_relu(q._ir, q._zp))


@kernel("eq", "ne", "_eq", "_ne")
def _compare(op, dyn, statics):
    """torch compares quantized tensors by their dequantized values."""
    args = [a.dequantize() if isinstance(a, QTensor) else a for a in dyn]
    return _dispatch.apply(op, args, statics)


@kernel("_cat", "_stack", "cat", "stack")
def _join(op, dyn, statics):
    """cat/stack of quantized tensors: the result has the first's parameters; the others are requantized to them
    where theirs differ."""
    from ._functions import _quantize_like
    ts = list(dyn[0])
    if not ts or not all(isinstance(t, QTensor) for t in ts):
        raise not_supported(op.name.lstrip("_"))
    first = ts[0]
    if first._per_channel or any(t._qdtype is not first._qdtype for t in ts):
        raise not_supported(op.name.lstrip("_"))
    irs = [t._ir if (t._scale, t._zp) == (first._scale, first._zp) else _quantize_like(first, t.dequantize())._ir
           for t in ts]
    return first._like(_dispatch.apply(op, [irs, *dyn[1:]], statics))


def _float_result(op, dyn, statics):
    """``op`` on the dequantized arguments (the float result torch's quantized kernels requantize)."""
    return _dispatch.apply(op, [a.dequantize() if isinstance(a, QTensor) else a for a in dyn], statics)


# outputs in a known range get torch's fixed parameters: (scale, zero point) for quint8 / qint8
_FIXED_OUT = {"sigmoid": ((1 / 256, 0), (1 / 256, -128)), "hardsigmoid": ((1 / 256, 0), (1 / 256, -128)),
              "tanh": ((2 / 256, 128), (2 / 256, 0))}


@kernel("sigmoid", "_sigmoid", "tanh", "_tanh", "hardsigmoid", "_hardsigmoid")
def _fixed_range(op, dyn, statics):
    """sigmoid/tanh/hardsigmoid of a quantized tensor: the float function of its values, quantized with torch's
    fixed output parameters (sigmoid: scale 1/256 over [0, 1])."""
    from ._functions import requantize
    q = _first_q(dyn)
    if q._per_channel or q._qdtype not in (D.quint8, D.qint8):
        raise not_supported(op.name.lstrip("_"))
    scale, zp = _FIXED_OUT[op.name.lstrip("_")][q._qdtype is D.qint8]
    return requantize(_float_result(op, dyn, statics), scale, zp, q._qdtype)


@kernel("leaky_relu", "_leaky_relu", "hardtanh", "_hardtanh", "clamp", "_clamp", "_clamp_op", "_interpolate")
def _same_params(op, dyn, statics):
    """leaky_relu/hardtanh (relu6)/clamp/interpolate of a quantized tensor: the float result requantized with the
    input's parameters (round(y / scale) + zero_point, as torch's kernels; nearest interpolation gives back the
    integers exactly, the linear modes are within one step of torch's integer kernels)."""
    from ._functions import requantize
    q = _first_q(dyn)
    if q._per_channel:
        raise not_supported(op.name.lstrip("_"))
    return requantize(_float_result(op, dyn, statics), q._scale, q._zp, q._qdtype)


@kernel("_avg_pool", "_adaptive_avg_pool")
def _avg_pool(op, dyn, statics):
    """Average pooling of a quantized tensor: torch's kernels average the integers (padding counts as the zero
    point) and round half to even; the parameters are kept."""
    q = _first_q(dyn)
    if q._per_channel:
        raise not_supported(op.name.lstrip("_"))
    shifted = q._ir.to(D.float64) - q._zp  # padding is then 0: the zero point
    avg = _dispatch.apply(op, [shifted, *dyn[1:]], statics)
    lo, hi = q._qdtype.qrange
    return q._like(K._round_clamp(avg + q._zp, qmin=lo, qmax=hi, np_dtype=q._ir.dtype.np.name))


@kernel("_mean")
def _mean(op, dyn, statics):
    """mean of a quantized tensor, its parameters kept. Over the innermost dims (or all) torch averages the
    integers and rounds half to even; over others it quantizes the mean of the dequantized values."""
    from ._functions import _quantize_like
    q = _first_q(dyn)
    if q._per_channel:
        raise not_supported("mean")
    dim = dict(zip(op.static_names, statics))["dim"]
    if dim is None or sorted(dim) == list(range(q.ndim - len(dim), q.ndim)):
        avg = _dispatch.apply(op, [q._ir.to(D.float64)], statics)
        lo, hi = q._qdtype.qrange
        return q._like(K._round_clamp(avg, qmin=lo, qmax=hi, np_dtype=q._ir.dtype.np.name))
    return _quantize_like(q, _float_result(op, dyn, statics))

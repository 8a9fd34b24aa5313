"""torch._foreach_*: one op applied across a list of tensors, as EMA updates and hand-written
optimizers call them (``torch._foreach_mul_(ema, decay)``, ``torch._foreach_lerp_``, ``_foreach_norm``).
Each is the per-tensor op in a loop; torch fuses them into few kernels, which only changes speed."""
import builtins
import numbers

from . import _dispatch
from . import _dtype
from .functions import result_type
from .tensor import Tensor

_UNARY = ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor", "frac",
          "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin",
          "sinh", "sqrt", "tan", "tanh", "trunc")
# other: a scalar, a list of scalars, a 0-dim tensor, or a list of tensors
_BINARY = ("add", "sub", "mul", "div", "clamp_min", "clamp_max", "pow")
# maximum/minimum: torch runs clamp_min/clamp_max's kernels (their dtype rules and errors: a number may stand
# for the other tensor, no complex, no bool scalar on a bool tensor) with maximum/minimum's gradient (half
# to each side of a tie, where clamp's all goes to the input)
_EXTREMA = {"maximum": "clamp_min", "minimum": "clamp_max"}


def _check_list(tensors):
    if not isinstance(tensors, (list, tuple)) or not builtins.all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"expected a list of tensors, got {type(tensors).__name__}")
    if len(tensors) == 0:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return list(tensors)


def _check_same_length(first, other):
    if len(first) != len(other):
        raise RuntimeError(f"Tensor lists must have the same number of tensors, got {len(first)} and {len(other)}")


def _per_tensor(tensors, other, what="scalar"):
    """`other` spread over the list: one value per tensor."""
    if isinstance(other, Tensor):
        if other.dim() != 0 and what == "scalar":
            raise RuntimeError(f"scalar tensor expected to be 0 dim but it has {other.dim()} dimensions and "
                               f"{other.numel()} elements.")
        if what == "scalars":  # a 1-D tensor holding one scalar per tensor (addcmul's `scalars`)
            if other.dim() != 1 or other.numel() != len(tensors):
                raise RuntimeError("Expected scalars to be a 1-D tensor with one element per tensor in the list")
            return other.tolist()
        return [other] * len(tensors)
    if isinstance(other, (list, tuple)):
        if len(other) != len(tensors):
            if other and builtins.all(isinstance(o, Tensor) for o in other):
                _check_same_length(tensors, other)
            raise RuntimeError("Tensor list must have same number of elements as scalar list.")
        return list(other)
    if isinstance(other, numbers.Number):
        return [other] * len(tensors)
    raise TypeError(f"unsupported argument of type {type(other).__name__}")


def _extremum(name):
    """One tensor's _foreach_maximum/minimum (see _EXTREMA)."""
    clamp = _EXTREMA[name]

    def op(t, o):
        if not isinstance(o, Tensor):
            if t.is_complex() or isinstance(o, complex):
                raise NotImplementedError("clamp is not supported for complex types")
            if t.dtype is _dtype.bool and type(o) is bool:
                raise NotImplementedError(f'"{clamp}_scalar_cpu" not implemented for \'Bool\'')
            o = _dispatch.REGISTRY["tensor"](o, dtype=result_type(t, o))
        elif t.is_complex() or o.is_complex():
            kind = t.dtype if t.is_complex() else o.dtype
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_dtype.scalar_type_name(kind)}\'')
        return _dispatch.REGISTRY[name](t, o)
    return op


def _binary(name):
    if name in _EXTREMA:
        op = _extremum(name)

        def apply(t, o, kwargs):
            return op(t, o, **kwargs)

        def apply_(t, o, kwargs):
            t._inplace(op, (o,), kwargs)  # (the in-place checks of any Tensor.op_: cast, leaf, overlap)
    else:
        def apply(t, o, kwargs):
            return getattr(t, name)(o, **kwargs)

        def apply_(t, o, kwargs):
            getattr(t, name + "_")(o, **kwargs)

    def out_of_place(self, other, **kwargs):
        if name == "pow" and isinstance(self, numbers.Number):  # _foreach_pow(scalar, exponents)
            return [_dispatch.REGISTRY["pow"](self, e) for e in _check_list(other)]
        tensors = _check_list(self)
        return [apply(t, o, kwargs) for t, o in zip(tensors, _per_tensor(tensors, other))]

    def in_place(self, other, **kwargs):
        tensors = _check_list(self)
        for t, o in zip(tensors, _per_tensor(tensors, other)):
            apply_(t, o, kwargs)

    return out_of_place, in_place


def _unary(name):
    def out_of_place(self):
        return [getattr(t, name)() for t in _check_list(self)]

    def in_place(self):
        for t in _check_list(self):
            getattr(t, name + "_")()

    return out_of_place, in_place


def _pointwise(name):
    """addcmul / addcdiv: self + value * op(tensor1, tensor2); the fourth argument (``value=`` a number, or
    ``scalars=`` a list of numbers or a 1-D tensor of them, one per tensor) as torch's three overloads."""
    def values(tensors, t1, t2, value, scalars):
        _check_same_length(tensors, _check_list(t1))
        _check_same_length(tensors, _check_list(t2))
        if scalars is not None:
            value = scalars
        return _per_tensor(tensors, value, "scalars" if isinstance(value, Tensor) else "scalar")

    def out_of_place(self, tensor1, tensor2, value=1, *, scalars=None):
        tensors = _check_list(self)
        return [getattr(t, name)(a, b, value=v) for t, a, b, v in
                zip(tensors, tensor1, tensor2, values(tensors, tensor1, tensor2, value, scalars))]

    def in_place(self, tensor1, tensor2, value=1, *, scalars=None):
        tensors = _check_list(self)
        for t, a, b, v in zip(tensors, tensor1, tensor2, values(tensors, tensor1, tensor2, value, scalars)):
            getattr(t, name + "_")(a, b, value=v)

    return out_of_place, in_place


def _foreach_lerp(self, tensors1, weight):
    tensors = _check_list(self)
    _check_same_length(tensors, _check_list(tensors1))
    return [t.lerp(e, w) for t, e, w in zip(tensors, tensors1, _per_tensor(tensors, weight))]


def _foreach_lerp_(self, tensors1, weight):
    tensors = _check_list(self)
    _check_same_length(tensors, _check_list(tensors1))
    for t, e, w in zip(tensors, tensors1, _per_tensor(tensors, weight)):
        t.lerp_(e, w)


def _foreach_norm(self, ord=2, dtype=None):
    from .linalg import vector_norm
    return [vector_norm(t, ord, dtype=dtype) for t in _check_list(self)]


def _foreach_max(self):
    return [t.max() for t in _check_list(self)]


def _foreach_zero_(self):
    for t in _check_list(self):
        t.zero_()


def _foreach_copy_(self, src, non_blocking=False):
    tensors = _check_list(self)
    _check_same_length(tensors, _check_list(src))
    for t, s in zip(tensors, src):
        t.copy_(s, non_blocking=non_blocking)


def _foreach_clone(self):
    return [t.clone() for t in _check_list(self)]


def _foreach_mm(self, mat2):
    tensors = _check_list(self)
    _check_same_length(tensors, _check_list(mat2))
    return [a.mm(b) for a, b in zip(tensors, mat2)]


def _make_namespace():
    ops = {}
    for name in _UNARY:
        ops[f"_foreach_{name}"], ops[f"_foreach_{name}_"] = _unary(name)
    for name in _BINARY + tuple(_EXTREMA):
        ops[f"_foreach_{name}"], ops[f"_foreach_{name}_"] = _binary(name)
    for name in ("addcmul", "addcdiv"):
        ops[f"_foreach_{name}"], ops[f"_foreach_{name}_"] = _pointwise(name)
    ops.update(_foreach_lerp=_foreach_lerp, _foreach_lerp_=_foreach_lerp_, _foreach_norm=_foreach_norm,
               _foreach_max=_foreach_max, _foreach_zero_=_foreach_zero_, _foreach_copy_=_foreach_copy_,
               _foreach_clone=_foreach_clone, _foreach_mm=_foreach_mm)
    return {name: _returning_like_torch(name, fn) for name, fn in ops.items()}


def _returning_like_torch(name, fn):
    """Out-of-place forms give a tuple of results; in-place forms give back the list they updated."""
    if name.endswith("_"):
        def op(self, *args, **kwargs):
            fn(self, *args, **kwargs)
            return self
    else:
        def op(*args, **kwargs):
            return tuple(fn(*args, **kwargs))
    op.__name__ = op.__qualname__ = name
    return op


OPS = _make_namespace()
globals().update(OPS)
__all__ = sorted(OPS)

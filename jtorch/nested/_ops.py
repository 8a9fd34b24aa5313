"""Nested kernels of the dense ops: each runs the op itself on the packed values (the values' dims are
the nested tensor's without the batch dim), padding only where an op needs whole components side by
side (reductions and softmax over the ragged dim)."""
import numpy as np

import jtorch as torch
from .. import _legacy
from ._padding import pad, unpad
from . import _route
from ._route import kernel, not_supported
from ._tensor import NestedTensor

_STRIDED = _legacy.strided


def _shape_str(nt):
    return "(" + ", ".join(str(s) for s in nt._meta[0]) + ")"


def _wrap_dim(dim, n):
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


# ---------------------------------------------------------------- elementwise
_NOT_ELEMENTWISE = {"_softmax", "_log_softmax", "glu", "cosine_similarity", "pdist", "prelu", "frexp"}
_EXTRA_ELEMENTWISE = {"_pow", "_true_divide", "_true_div", "_fill", "clamp", "_clamp", "where", "_where",
                      "masked_fill", "_masked_fill", "_floor_divide", "remainder", "fmod", "maximum", "minimum",
                      "_dropout_mask", "atan2", "hypot", "logical_and", "logical_or", "logical_xor", "fmax", "fmin",
                      "_cast", "_identity_to", "_to_copy", "clamp_min", "clamp_max", "_div", "div"}


def is_elementwise(op):
    mod = getattr(op.fn, "__module__", "")
    if op.name in _NOT_ELEMENTWISE:
        return False
    return mod.endswith("_ops.pointwise") or mod.endswith("_ops.nn_ops") or op.name in _EXTRA_ELEMENTWISE


def _batch_rows(nt):
    """For each position along the packed ragged dim: the component it belongs to (0 in gaps)."""
    total = nt._values.shape[nt._ragged_idx - 1]
    rows = np.zeros(total, dtype=np.int64)
    for b, (s, n) in enumerate(zip(nt._starts, nt._lens)):
        rows[s:s + n] = b
    return torch.tensor(rows)


def _dense_operand(d, nt, name):
    """A dense operand of a binary op with ``nt``, made to broadcast against ``nt``'s values."""
    n, r = nt.dim(), nt._ragged_idx
    if d.dim() > n:
        raise RuntimeError(f"{name}(): a dense operand of {d.dim()} dims cannot broadcast to the nested shape "
                           f"{_shape_str(nt)}")
    at_ragged = r - (n - d.dim())  # the dense dim aligned with the ragged one (< 0: none)
    if at_ragged >= 0 and d.shape[at_ragged] != 1:
        raise RuntimeError(f"cannot call binary pointwise function {name} with inputs of shapes "
                           f"{_shape_str(nt)} and {list(d.shape)}")
    if d.dim() < n:
        return d
    if d.shape[0] == 1:
        return d.squeeze(0)
    if d.shape[0] != nt._meta[0][0]:
        raise RuntimeError(f"cannot call binary pointwise function {name} with inputs of shapes "
                           f"{_shape_str(nt)} and {list(d.shape)}")
    # one value per component: spread over its rows along the packed ragged dim
    per_row = d.squeeze(r).index_select(0, _batch_rows(nt))
    return per_row.movedim(0, r - 1)


def _same_structure(a, b):
    """Jagged: the same ragged size (made from the same offsets); strided: the same component sizes."""
    if a._ragged_idx != b._ragged_idx:
        return False
    if a._layout is _STRIDED and b._layout is _STRIDED:
        return np.array_equal(a._lens, b._lens) and np.array_equal(a._starts, b._starts)
    return a._jint == b._jint


def _check_same(a, b, name):
    if not _same_structure(a, b):
        raise RuntimeError(f"cannot call binary pointwise function {name} with inputs of shapes {_shape_str(a)} "
                           f"and {_shape_str(b)}")


def _unwrap_elementwise(op, args):
    """The nested operand giving the structure, and every argument as values (or broadcastable dense)."""
    nts = [a for a in args if isinstance(a, NestedTensor)]
    first = nts[0]
    for other in nts[1:]:
        _check_same(first, other, op.name.lstrip("_"))
    out = []
    for a in args:
        if isinstance(a, NestedTensor):
            out.append(a._values)
        elif isinstance(a, torch.Tensor) and a.dim() > 0:
            out.append(_dense_operand(a, first, op.name.lstrip("_")))
        else:
            out.append(a)
    return first, out


def elementwise(op, *args, **kw):
    if op.name == "_dropout_mask":  # its static shape is the nested one: the values' instead
        kw["shape"] = tuple(args[1]._values.shape)
    first, vals = _unwrap_elementwise(op, args)
    res = op(*vals, **kw)
    if isinstance(res, tuple):
        return type(res)(*(first._rebuild(x) for x in res)) if hasattr(res, "_fields") else \
            tuple(first._rebuild(x) for x in res)
    return first._rebuild(res)


# ---------------------------------------------------------------- reductions
def _reduce_dims(nt, dim):
    n = nt.dim()
    if dim is None or dim == ():
        return tuple(range(n))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(sorted({_wrap_dim(d, n) for d in dims}))


def _strided_reduction_checks(op, nt, dims, keepdim):
    if op.name not in ("_sum",):
        raise not_supported(op.name + ".dim", (nt,))
    if len(dims) != 1:
        raise RuntimeError("NestedTensor only allows reduction of a single dimension for now.")
    if dims[0] != nt.dim() - 1:
        raise RuntimeError(f"NestedTensor can only be reduced across the last dimension for now got dimension "
                           f"{dims[0]} instead.")
    if not keepdim:
        raise RuntimeError("NestedTensor always requires keepdim=True for now.")


_PAD_NEUTRAL = {"_sum": 0.0, "_mean": 0.0, "_amax": float("-inf"), "_amin": float("inf")}


@kernel("_sum", "_mean", "_amax", "_amin", "_prod", "_max_dim", "_min_dim", "_argmax", "_argmin", "_any", "_all")
def reduction(op, input, **kw):
    nt = input
    dim = kw.get("dim")
    keepdim = kw.get("keepdim", False)
    dims = _reduce_dims(nt, dim)
    if nt._layout is _STRIDED:
        _strided_reduction_checks(op, nt, dims, keepdim)
    r = nt._ragged_idx
    name = op.name.lstrip("_")
    if 0 in dims and r not in dims:
        raise RuntimeError(f"{name}(): reducing along the batch dimension but not the ragged dimension is not "
                           "supported for nested tensors")
    if r in dims and 0 not in dims:
        if len(dims) > 1:
            raise RuntimeError(f"{name}(): reducing along a ragged and non-batch dimension is not supported for "
                               "nested tensors")
        return _reduce_ragged(op, nt, kw)
    if 0 in dims:  # everything: the components' elements, gaps left out
        if len(dims) != nt.dim() or op.name not in ("_sum", "_mean", "_amax", "_amin", "_any", "_all", "_prod"):
            raise RuntimeError(f"{name}(): reducing along the batch and ragged dimensions together with others "
                               "is not supported for nested tensors in jtorch")
        flat = torch.cat([c.reshape(-1) for c in nt.unbind()])
        kw = dict(kw, dim=None) if "dim" in kw else kw
        return op(flat, **kw)
    # regular dims only: the same reduction of the values, one dim earlier
    vdims = tuple(d - 1 for d in dims)
    kw = dict(kw, dim=vdims if isinstance(dim, (tuple, list)) or dim is None else vdims[0])
    res = op(nt._values, **kw)
    new_r = r if keepdim else r - sum(1 for d in dims if d < r)
    if isinstance(res, tuple):
        return type(res)(*(nt._rebuild(x, new_r) for x in res))
    return nt._rebuild(res, new_r)


def _reduce_ragged(op, nt, kw):
    """A reduction over the ragged dim alone: of the padded components, giving a dense tensor."""
    if op.name not in _PAD_NEUTRAL:
        raise not_supported(op.name, (nt,))
    r = nt._ragged_idx
    padded, valid = pad(nt, int(nt._lens.max(initial=0)), _PAD_NEUTRAL[op.name])
    kd = kw.get("keepdim", False)
    if op.name == "_mean":
        s = padded.sum(r, keepdim=kd)
        shape = [len(nt._lens)] + [1] * (s.dim() - 1)
        return s / torch.tensor(nt._lens, dtype=s.dtype).reshape(shape)
    return op(padded, **dict(kw, dim=(r,)))


# ---------------------------------------------------------------- softmax, normalization, linear maps
@kernel("_softmax", "_log_softmax")
def softmax(op, input, dim, dtype=None):
    nt = input
    d = _wrap_dim(dim, nt.dim())
    if nt._layout is _STRIDED:
        if op.name == "_log_softmax":
            raise not_supported(op.name, (nt,))
        if d == 0:
            raise RuntimeError("Cannot apply softmax across nested dimension 0")
    if d == 0:
        raise RuntimeError(f"{op.name.lstrip('_')}(): not supported when reducing across the batch dimension for "
                           "NestedTensor")
    if d == nt._ragged_idx:  # across each component's rows: padded with -inf, which take no weight
        padded, _ = pad(nt, int(nt._lens.max(initial=0)), float("-inf"))
        return nt._rebuild(unpad(op(padded, dim=d, dtype=dtype), nt))
    return nt._rebuild(op(nt._values, dim=d - 1, dtype=dtype))


@kernel("_layer_norm", "_rms_norm")
def layer_norm(op, input, weight=None, bias=None, **kw):
    nt = input
    if nt._layout is _STRIDED and op.name == "_layer_norm" and (weight is None or bias is None):
        raise ValueError("NestedTensor layer_norm requires weight and bias")
    if nt._ragged_idx >= nt.dim() - kw["nd"]:
        raise RuntimeError("layer_norm(): normalizing over the ragged dimension is not supported for nested tensors")
    args = (nt._values, weight, bias) if op.name == "_layer_norm" else (nt._values, weight)
    return nt._rebuild(op(*args, **kw))


@kernel("_linear")
def linear(op, input, weight, bias=None):
    nt = input
    if not isinstance(nt, NestedTensor) or isinstance(weight, NestedTensor):
        raise RuntimeError("linear(): only a nested input with a dense weight is supported")
    if nt._ragged_idx == nt.dim() - 1:
        raise RuntimeError("linear(): not supported for NestedTensor on ragged dim")
    return nt._rebuild(op(nt._values, weight, bias))


@kernel("_matmul", "bmm", "_bmm")
def matmul(op, input, other):
    if not isinstance(input, NestedTensor):
        raise RuntimeError("matmul(): a dense tensor times a nested tensor is not supported")
    nt = input
    name = "matmul"
    if isinstance(other, NestedTensor):
        _check_same(nt, other, name) if nt._layout is not _STRIDED else None
        if nt._ragged_idx >= nt.dim() - 2 and nt._layout is not _STRIDED:
            raise RuntimeError(f"matmul(): not supported between inputs of shapes {_shape_str(nt)} and "
                               f"{_shape_str(other)}")
        return _per_component(nt, [torch.matmul(a, b) for a, b in zip(nt.unbind(), other.unbind())])
    if nt._layout is _STRIDED and other.dim() != nt.dim():
        raise RuntimeError("Expected both to be nested, but got a nested self and non-nested other")
    if other.dim() <= 2:
        if nt._ragged_idx == nt.dim() - 1:
            raise RuntimeError(f"matmul(): not supported between inputs of shapes {_shape_str(nt)} and "
                               f"{list(other.shape)}")
        return nt._rebuild(torch.matmul(nt._values, other))
    if other.dim() != nt.dim() or other.shape[0] != nt._meta[0][0]:
        raise RuntimeError(f"matmul(): not supported between inputs of shapes {_shape_str(nt)} and "
                           f"{list(other.shape)}")
    return _per_component(nt, [torch.matmul(a, b) for a, b in zip(nt.unbind(), other.unbind(0))])


def _per_component(like, comps):
    """A nested tensor of ``like``'s layout whose components are ``comps`` (their ragged dim: ``like``'s)."""
    from ._construct import from_components
    try:
        return from_components(comps, like._layout)
    except RuntimeError:
        return from_components(comps, like._layout, ragged_idx=like._ragged_idx)


# ---------------------------------------------------------------- joins, clone, fill
@kernel("_cat", "cat")
def cat(op, tensors, dim=0):
    nts = [t for t in tensors if isinstance(t, NestedTensor)]
    first = nts[0]
    if len(nts) != len(tensors):
        raise RuntimeError("cat(): expected each tensor in given list to be nested")
    d = _wrap_dim(dim, first.dim())
    if d == 0 or d == first._ragged_idx:
        raise RuntimeError("cat(): not supported for NestedTensor on dim=0 or the ragged dim")
    for t in nts[1:]:
        _check_same(first, t, "cat")
    return first._rebuild(op([t._values for t in nts], dim=d - 1))


def _fallback(op, *args, **kw):
    """An op without its own nested kernel: elementwise ones run on the values, the rest are unsupported."""
    if is_elementwise(op):
        return elementwise(op, *args, **kw)
    raise not_supported(op.name, args)


_route.FALLBACK[0] = _fallback


def dropout(self, p=0.5, train=True, generator=None):
    """``torch.dropout`` of a nested tensor: of its values (jtorch's dense dropout reads the shape, which for a
    nested tensor is symbolic)."""
    if not train or p == 0:
        return self
    return self._rebuild(torch.dropout(self._values, p, train, generator=generator))


NestedTensor.dropout = dropout

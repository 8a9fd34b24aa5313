"""Joining tensors: cat/concat/concatenate, stack, hstack/vstack/dstack/column_stack."""
import math

import jax.numpy as jnp
from jax import lax

from .. import _dtype as D
from .. import _dispatch
from .._dispatch import defop, function
from .shape import _wrap


def _cat_select_pays(shapes, dim):
    """Whether ``_cat_large``'s select form is the faster lowering (measured, docs/internals.md "Large
    eager ops", third round): the inputs are whole contiguous runs of the output (no dimension before
    ``dim`` larger than 1), at most 4 of them (each select costs a pass of compares), an output of at
    least 2**18 elements, and rows of at least 32 elements (narrower rows cost more CPU than the
    memcpy)."""
    rows = [math.prod(s[dim:]) for s in shapes]
    return (math.prod(shapes[0][:dim]) == 1 and 2 <= len(shapes) <= 4 and sum(rows) >= 1 << 18
            and math.gcd(1024, *rows) >= 32)


def _cat_large(tensors, dim=0):
    """``_cat`` for a large eager call on the CPU (``_dispatch._large_alternative``). XLA copies a
    concatenation whose inputs are whole contiguous runs of the output with one memcpy per input, on
    one thread; the same values as a select between the inputs padded to the output's shape are one
    elementwise loop, which XLA splits over both cores (2x1024x1024 float32: the same CPU time, half
    the wall time when both cores are free). Bit-exact: a select only picks."""
    shapes = [t.shape for t in tensors]
    if not _cat_select_pays(shapes, dim):
        return jnp.concatenate(tensors, axis=dim)
    rows = [math.prod(s[dim:]) for s in shapes]
    width = math.gcd(1024, *rows)  # viewed as rows of `width`: the selects depend on the row only
    ends, pads, off, total = [], [], 0, sum(rows) // width
    zero = jnp.zeros((), tensors[0].dtype)
    for t, r in zip(tensors, rows):
        pads.append(lax.pad(t.reshape(r // width, width), zero, [(off, total - off - r // width, 0), (0, 0, 0)]))
        off += r // width
        ends.append(off)
    row = lax.broadcasted_iota(jnp.int32, (total, width), 0)
    out = pads[-1]
    for i in range(len(pads) - 2, -1, -1):
        out = lax.select(row < ends[i], pads[i], out)
    shape = shapes[0]
    return out.reshape(shape[:dim] + (sum(s[dim] for s in shapes),) + shape[dim + 1:])


@defop(method=False, function=False, seq=True, promote="common", saves=(),
       large=(lambda statics, avals: _cat_select_pays([a.shape for a in avals], statics[0]), _cat_large))
def _cat(tensors, dim=0):
    return jnp.concatenate(tensors, axis=dim)


def _stack_large(tensors, dim=0):
    """``_stack`` for a large eager call on the CPU: the concatenation of the inputs with a new
    dimension of size 1, as ``_cat_large`` runs it (stacking along the first dimension is the same
    one-thread memcpy in XLA)."""
    return _cat_large([jnp.expand_dims(t, dim) for t in tensors], dim)


def _stack_pays(statics, avals):
    d = statics[0]
    return _cat_select_pays([a.shape[:d] + (1,) + a.shape[d:] for a in avals], d)


@defop(method=False, function=False, seq=True, promote="common", saves=(), large=(_stack_pays, _stack_large))
def _stack(tensors, dim=0):
    return jnp.stack(tensors, axis=dim)


def _check_seq(tensors, name):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' must be tuple of Tensors, not {type(tensors).__name__}")
    if len(tensors) == 0:
        if name == "cat":  # (torch's Python binding raises this one before the op's own check)
            raise ValueError("torch.cat(): expected a non-empty list of Tensors")
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    T = _dispatch.Tensor
    for i, t in enumerate(tensors):
        if not isinstance(t, T) and not _dispatch.TF.overloads(type(t)):  # (a tensor-like dispatches)
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")


def _write_joined(out, res, tensors):
    """cat/stack's ``out=``: any dtype the result casts to (else torch's TypeError), sharing no element with
    an input."""
    if out is None:
        return res
    if isinstance(out, _dispatch.Tensor) and not D.can_cast(res.dtype, out.dtype):  # (_write_out: a non-Tensor)
        raise TypeError(f"torch.cat(): input types can't be cast to the desired output type "
                        f"{D.scalar_type_name(out.dtype)}")
    return _dispatch._write_out(out, res, tensors, any_overlap=True)


@function(method=False, aliases=("concat", "concatenate"))
def cat(tensors, dim=0, *, out=None):
    return _write_joined(out, _cat_checked(tensors, dim), tensors)


def _cat_checked(tensors, dim):
    _check_seq(tensors, "cat")
    shapes = tuple([t._shape_dtype()[0] for t in tensors])  # raw shapes: one lookup per tensor
    d = _CAT_CHECKED.get((shapes, dim))
    if d is not None:  # these shapes and dim passed the checks before, nothing skipped
        return _dispatch.apply(_cat, [list(tensors)], (d,))
    keep = [i for i, s in enumerate(shapes) if s != (0,)] or [0]  # torch skips 1-D empty tensors
    skipped = len(keep) != len(shapes)  # then the checks below saw fewer shapes: not cached
    if skipped:
        tensors, shapes = [tensors[i] for i in keep], [shapes[i] for i in keep]
    ref = shapes[0]
    nd = len(ref)
    if nd == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = _wrap(dim, nd)
    for i, s in enumerate(shapes):
        if s == ref:
            continue
        if len(s) != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and {len(s)}")
        for k in range(nd):
            if k != d and s[k] != ref[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ref[k]} but got size {s[k]} for tensor number {i} in the list.")
    if not skipped and type(dim) is int:
        if len(_CAT_CHECKED) > 4096:
            _CAT_CHECKED.clear()
        _CAT_CHECKED[(shapes, dim)] = d
    return _dispatch.apply(_cat, [list(tensors)], (d,))  # the op's call path, minus keyword binding


_CAT_CHECKED = {}  # (input shapes, dim) -> the wrapped dim, for calls that passed cat's checks


@function(method=False)
def stack(tensors, dim=0, *, out=None):
    _check_seq(tensors, "stack")
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if tuple(t.shape) != tuple(ref.shape):
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ref.shape)} at entry 0 "
                               f"and {list(t.shape)} at entry {i}")
    return _write_joined(out, _stack(list(tensors), dim=_wrap(dim, ref.ndim + 1)), tensors)


def _atleast(t, n):
    while t.ndim < n:
        t = t.unsqueeze(0) if n < 3 or t.ndim < 2 else t.unsqueeze(-1)
    return t


@function(method=False)
def atleast_1d(*tensors):
    r = [t.reshape(1) if t.ndim == 0 else t for t in (tensors[0] if len(tensors) == 1 and
                                                     isinstance(tensors[0], (list, tuple)) else tensors)]
    return r[0] if len(r) == 1 else tuple(r)


@function(method=False)
def atleast_2d(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    r = [t.reshape(1, 1) if t.ndim == 0 else (t.unsqueeze(0) if t.ndim == 1 else t) for t in ts]
    return r[0] if len(r) == 1 else tuple(r)


@function(method=False)
def atleast_3d(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    r = []
    for t in ts:
        if t.ndim == 0:
            t = t.reshape(1, 1, 1)
        elif t.ndim == 1:
            t = t.reshape(1, -1, 1)
        elif t.ndim == 2:
            t = t.unsqueeze(-1)
        r.append(t)
    return r[0] if len(r) == 1 else tuple(r)


@function(method=False)
def hstack(tensors, *, out=None):
    _check_seq(tensors, "hstack")
    ts = [atleast_1d(t) for t in tensors]
    return cat(ts, 0 if ts[0].ndim == 1 else 1, out=out)


@function(method=False, aliases=("row_stack",))
def vstack(tensors, *, out=None):
    _check_seq(tensors, "vstack")
    return cat([atleast_2d(t) for t in tensors], 0, out=out)


@function(method=False)
def dstack(tensors, *, out=None):
    _check_seq(tensors, "dstack")
    return cat([atleast_3d(t) for t in tensors], 2, out=out)


@function(method=False)
def column_stack(tensors, *, out=None):
    _check_seq(tensors, "column_stack")
    return cat([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors], 1, out=out)

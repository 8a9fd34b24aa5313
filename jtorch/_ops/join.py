"""Joining tensors: cat/concat/concatenate, stack, hstack/vstack/dstack/column_stack."""
import jax.numpy as jnp

from .. import _dtype as D
from .. import _dispatch
from .._dispatch import defop, function
from .shape import _wrap


@defop(method=False, function=False, seq=True, promote="common", saves=())
def _cat(tensors, dim=0):
    return jnp.concatenate(tensors, axis=dim)


@defop(method=False, function=False, seq=True, promote="common", saves=())
def _stack(tensors, dim=0):
    return jnp.stack(tensors, axis=dim)


def _check_seq(tensors, name):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' must be tuple of Tensors, not {type(tensors).__name__}")
    if len(tensors) == 0:
        raise RuntimeError(f"{name}(): expected a non-empty list of Tensors")


@function(method=False, aliases=("concat", "concatenate"))
def cat(tensors, dim=0, *, out=None):
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
    return _stack(list(tensors), dim=_wrap(dim, ref.ndim + 1))


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
    ts = [atleast_1d(t) for t in tensors]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


@function(method=False, aliases=("row_stack",))
def vstack(tensors, *, out=None):
    return cat([atleast_2d(t) for t in tensors], 0)


@function(method=False)
def dstack(tensors, *, out=None):
    return cat([atleast_3d(t) for t in tensors], 2)


@function(method=False)
def column_stack(tensors, *, out=None):
    return cat([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors], 1)

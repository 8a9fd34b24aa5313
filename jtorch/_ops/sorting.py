"""Sorting and order statistics: sort/argsort/msort, topk, kthvalue, median,
nanmedian, mode, unique/unique_consecutive, searchsorted/bucketize, histc, bincount.

Values come from ``take_along_axis`` of the sorting permutation, so gradients
flow to the selected input elements (torch's convention). NaN sorts as the
largest value, like torch. ``unique*`` have data-dependent shapes and run
eagerly on the host.
"""
import builtins
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .. import _dispatch
from .._dispatch import defop, function, REGISTRY
from .reduction import return_type, _values_indices, shared_by_equals
from .indexing import with_out
from .shape import _wrap


def _T():
    return _dispatch.Tensor


def _argsort(x, dim, descending):
    # stable, NaN largest (jax's order matches torch's, descending included)
    return jnp.argsort(x, axis=dim, stable=True, descending=descending)


def _pick(x, idx, dim, keepdim):
    v = jnp.take_along_axis(x, idx, axis=dim)
    return (v, idx) if keepdim else (jnp.squeeze(v, dim), jnp.squeeze(idx, dim))


# ---------------------------------------------------------------- sort / topk
@defop(method=False, function=False, returns=return_type("sort"), saves=(), saves_hidden=True)
def _sort(input, dim=-1, descending=False):
    if jnp.issubdtype(input.dtype, jnp.complexfloating):
        raise RuntimeError(" Sort does not support complex dtypes on CPU")
    if input.ndim == 0:
        return input, jnp.zeros((), jnp.int64)
    idx = _argsort(input, dim, descending).astype(jnp.int64)
    return jnp.take_along_axis(input, idx, axis=dim), idx


@function
@with_out
def sort(input, dim=-1, descending=False, stable=False):
    return _sort(input, dim=_wrap(dim, input.ndim) if input.ndim else 0, descending=builtins.bool(descending))


@function
def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending).indices


@function
def msort(input):
    return sort(input, 0).values


@defop(method=False, function=False, returns=return_type("topk"), saves=(), saves_hidden=True)
def _topk(input, k=1, dim=-1, largest=True):
    if jnp.issubdtype(input.dtype, jnp.complexfloating):
        raise RuntimeError(" topk does not support complex dtypes on CPU")
    if input.ndim == 0:
        return input, jnp.zeros((), jnp.int64)
    idx = jax.lax.slice_in_dim(_argsort(input, dim, largest), 0, k, axis=dim).astype(jnp.int64)
    return jnp.take_along_axis(input, idx, axis=dim), idx


@function
@with_out
def topk(input, k, dim=-1, largest=True, sorted=True):
    d = _wrap(dim, input.ndim) if input.ndim else 0
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    return _topk(input, k=int(k), dim=d, largest=builtins.bool(largest))


@defop(method=False, function=False, returns=return_type("kthvalue"), saves=(), saves_hidden=True)
def _kthvalue(input, k=1, dim=-1, keepdim=False):
    idx = jax.lax.slice_in_dim(_argsort(input, dim, False), k - 1, k, axis=dim).astype(jnp.int64)
    return _pick(input, idx, dim, keepdim)


@function
@with_out(any_overlap=True)
def kthvalue(input, k, dim=-1, keepdim=False):
    x = input.reshape((1,)) if input.ndim == 0 else input
    d = _wrap(dim, x.ndim)
    if not 1 <= k <= x.shape[d]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    r = _kthvalue(x, k=int(k), dim=d, keepdim=builtins.bool(keepdim))
    return r if input.ndim else type(r)(r.values.reshape(()), r.indices.reshape(()))


# ---------------------------------------------------------------- median / mode
def _median_index(x, dim, ignore_nan):
    order = _argsort(x, dim, False)
    n = x.shape[dim]
    if jnp.issubdtype(x.dtype, jnp.inexact):
        valid = jnp.sum(~jnp.isnan(x), axis=dim, keepdims=True)
    else:
        valid = jnp.full(x.shape[:dim] + (1,) + x.shape[dim + 1:], n)
    if ignore_nan:  # lower median of the non-NaN values (an all-NaN row: of all values, like torch)
        k = jnp.where(valid > 0, (valid - 1) // 2, (n - 1) // 2)
    else:  # any NaN: the result is the first NaN, which sorts right after the valid values
        k = jnp.where(valid < n, valid, (n - 1) // 2)
    return jnp.take_along_axis(order, k, axis=dim).astype(jnp.int64)


@defop(method=False, function=False, returns=return_type("median"), saves=(), saves_hidden=True)
def _median_dim(input, dim=0, keepdim=False, ignore_nan=False):
    return _pick(input, _median_index(input, dim, ignore_nan), dim, keepdim)


@defop(method=False, function=False, saves_result=True)
def _median_all(input, ignore_nan=False):
    x = input.ravel()
    return shared_by_equals(x, jax.lax.stop_gradient(x[_median_index(x, 0, ignore_nan)[0]]))


def _median(name, ignore_nan):
    rt = return_type(name)

    def f(input, dim=None, keepdim=False):
        if dim is None:
            if input.numel() == 0:
                return _T()._wrap(jnp.asarray(jnp.nan, input.dtype.np))
            return _median_all(input, ignore_nan=ignore_nan)
        x = input.reshape((1,)) if input.ndim == 0 else input
        d = _wrap(dim, x.ndim)
        if x.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
        r = _median_dim(x, dim=d, keepdim=builtins.bool(keepdim), ignore_nan=ignore_nan)
        return r if input.ndim else rt(r.values.reshape(()), r.indices.reshape(()))
    f.__name__ = name
    return function(with_out(f), name=name)


median = _median("median", False)
nanmedian = _median("nanmedian", True)


def _mode_1d(x):
    s = jnp.sort(x)
    n = s.shape[0]
    new = jnp.concatenate([jnp.ones((1,), bool), s[1:] != s[:-1]])
    run = jnp.cumsum(new) - 1
    counts = jnp.zeros((n,), jnp.int64).at[run].add(1)
    best = jnp.argmax(counts)  # first max: runs are ascending, so ties go to the smallest value
    v = s[jnp.argmax(run == best)]
    idx = n - 1 - jnp.argmax((x == v)[::-1])  # torch reports the last occurrence
    return idx


@defop(method=False, function=False, returns=return_type("mode"), saves=(), saves_hidden=True)
def _mode(input, dim=-1, keepdim=False):
    x = jnp.moveaxis(input, dim, -1)
    flat = x.reshape(-1, x.shape[-1])
    idx = jax.vmap(_mode_1d)(flat).reshape(x.shape[:-1] + (1,))
    return _pick(input, jnp.moveaxis(idx, -1, dim).astype(jnp.int64), dim, keepdim)


@function
@with_out
def mode(input, dim=-1, keepdim=False):
    x = input.reshape((1,)) if input.ndim == 0 else input
    d = _wrap(dim, x.ndim)
    if x.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    r = _mode(x, dim=d, keepdim=builtins.bool(keepdim))
    return r if input.ndim else type(r)(r.values.reshape(()), r.indices.reshape(()))


# ---------------------------------------------------------------- unique (eager: data-dependent shapes)
def _host(t):
    return np.asarray(t._value)


def _wrap_np(a, dtype=None):
    return _T()._wrap(jnp.asarray(a if dtype is None else a.astype(dtype)))


def _unique_result(vals, inverse, counts, return_inverse, return_counts):
    out = [_wrap_np(vals)]
    if return_inverse:
        out.append(_wrap_np(inverse, np.int64))
    if return_counts:
        out.append(_wrap_np(counts, np.int64))
    return out[0] if len(out) == 1 else tuple(out)


@function
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    a = _host(input)
    if dim is None:
        vals, inv, cnt = np.unique(a.ravel(), return_inverse=True, return_counts=True)
        inv = inv.reshape(a.shape)
    else:
        d = _wrap(dim, a.ndim)
        if a.shape[d] == 0:
            vals, inv, cnt = a, np.zeros((0,), np.int64), np.zeros((0,), np.int64)
        else:
            vals, inv, cnt = np.unique(a, return_inverse=True, return_counts=True, axis=d)
            inv = inv.reshape(-1)
    return _unique_result(vals.astype(a.dtype), inv, cnt, return_inverse, return_counts)


@function
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    a = _host(input)
    if dim is None:
        rows, shape_back = a.reshape(-1, 1), None
    else:
        d = _wrap(dim, a.ndim)
        moved = np.moveaxis(a, d, 0)
        rows, shape_back = moved.reshape(moved.shape[0], -1), (d, moved.shape[1:])
    n = rows.shape[0]
    if n == 0:
        keep = np.zeros((0,), bool)
    else:
        keep = np.concatenate([[True], np.any(rows[1:] != rows[:-1], axis=1)])
    starts = np.flatnonzero(keep)
    cnt = np.diff(np.append(starts, n))
    inv = np.cumsum(keep) - 1
    if shape_back is None:
        vals, inv = rows[keep, 0], inv.reshape(a.shape)
    else:
        d, rest = shape_back
        vals = np.moveaxis(rows[keep].reshape((-1,) + rest), 0, d)
    return _unique_result(vals.astype(a.dtype), inv, cnt, return_inverse, return_counts)


# ---------------------------------------------------------------- searchsorted / bucketize
@defop(method=False, function=False, promote="common", differentiable=False)
def _searchsorted(sorted_sequence, input, right=False, out_int32=False):
    side = "right" if right else "left"
    dt = jnp.int32 if out_int32 else jnp.int64
    if sorted_sequence.ndim == 1:
        return jnp.searchsorted(sorted_sequence, input, side=side).astype(dt)
    seq = sorted_sequence.reshape(-1, sorted_sequence.shape[-1])
    vals = input.reshape(seq.shape[0], -1)
    res = jax.vmap(lambda s, v: jnp.searchsorted(s, v, side=side))(seq, vals)
    return res.reshape(input.shape).astype(dt)


@function(method=False)
@with_out(same_dtype=True)
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    T = _T()
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of "
                               "left while right was True")
        right = side == "right"
    if sorter is not None:
        sorted_sequence = sorted_sequence.gather(-1, sorter)
    if isinstance(input, T) and sorted_sequence.ndim > 1:
        if input.ndim != sorted_sequence.ndim or tuple(input.shape[:-1]) != tuple(sorted_sequence.shape[:-1]):
            raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               "dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(sorted_sequence.shape)} and input value tensor "
                               f"{list(input.shape)}")
    return _searchsorted(sorted_sequence, input, right=builtins.bool(right), out_int32=builtins.bool(out_int32))


@function(method=False)
@with_out(same_dtype=True)
def bucketize(input, boundaries, *, out_int32=False, right=False):
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return _searchsorted(boundaries, input, right=builtins.bool(right), out_int32=builtins.bool(out_int32))


# ---------------------------------------------------------------- histc / bincount
@defop(method=False, function=False, differentiable=False)
def _histc(input, min, max, bins=100):
    x = input.ravel()
    auto = min == max  # torch: use the data's range, widened by 1 when it is a single value
    lo = jnp.where(auto, jnp.min(x), min).astype(x.dtype)
    hi = jnp.where(auto, jnp.max(x), max).astype(x.dtype)
    same = lo == hi
    lo, hi = jnp.where(same, lo - 1, lo), jnp.where(same, hi + 1, hi)
    idx = jnp.floor((x - lo) * bins / (hi - lo)).astype(jnp.int64)
    idx = jnp.where(x == hi, bins - 1, idx)
    valid = (x >= lo) & (x <= hi)
    return jnp.zeros((bins,), x.dtype).at[jnp.where(valid, idx, bins)].add(1, mode="drop")


@function
@with_out
def histc(input, bins=100, min=0, max=0):
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{D.scalar_type_name(input.dtype)}'")
    if bins <= 0:
        raise RuntimeError("torch.histc(): bins must be > 0, but got " + str(bins) + " for bins")
    if max < min:
        raise RuntimeError("max must be larger than min")
    if input.numel() == 0:
        return _T()._wrap(jnp.zeros((int(bins),), input.dtype.np))
    return _histc(input, min, max, bins=int(bins))


@defop(method=False, function=False, differentiable=False)
def _bincount(input, weights, length=0):
    if weights is None:
        return jnp.zeros((length,), jnp.int64).at[input].add(1)
    dt = weights.dtype if weights.dtype == jnp.float32 else jnp.float64
    return jnp.zeros((length,), dt).at[input].add(weights.astype(dt))


@function
def bincount(input, weights=None, minlength=0):
    if input.ndim != 1 or input.dtype._cat != D._INT:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is not None and tuple(weights.shape) != tuple(input.shape):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    a = _host(input)  # the output length depends on the data
    if a.size and a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    length = builtins.max(int(a.max()) + 1 if a.size else 0, int(minlength))
    return _bincount(input, weights, length=length)


# ---------------------------------------------------------------- torch.return_types
class _ReturnTypes(types.ModuleType):
    """``torch.return_types``: the named tuples (values, indices) that multi-output ops return."""

    def __getattr__(self, name):
        if name in _values_indices:
            return _values_indices[name]
        if name.startswith("__"):
            raise AttributeError(name)
        return return_type(name)


for _n in ("sort", "topk", "kthvalue", "median", "nanmedian", "mode", "max", "min", "cummax", "cummin",
           "aminmax"):
    return_type(_n) if _n != "aminmax" else return_type(_n, ("min", "max"))

if "jtorch.return_types" not in sys.modules:
    sys.modules["jtorch.return_types"] = _ReturnTypes("jtorch.return_types")
REGISTRY.setdefault("return_types", sys.modules["jtorch.return_types"])

"""Reductions with torch's dim/keepdim/dtype semantics and result types."""
import builtins
import collections

import jax
import jax.numpy as jnp

from .. import _dtype as D
from .._dispatch import defop, function


def _dims(dim, ndim):
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    n = builtins.max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        out.append(d % n)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
    return tuple(out) if ndim else None


def _sum_dtype(x, dtype):
    if dtype is not None:
        return dtype.np
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.int64  # torch sums bool/int into int64
    return x.dtype


@defop(promote=None, saves=())
def _sum(input, dim=None, keepdim=False, dtype=None):
    return jnp.sum(input, axis=dim, keepdims=keepdim, dtype=_sum_dtype(input, dtype))


@function
def sum(input, dim=None, keepdim=False, *, dtype=None):
    return _sum(input, dim=_dims(dim, input.ndim), keepdim=keepdim, dtype=dtype)


@defop(promote=None, saves=())
def _nansum(input, dim=None, keepdim=False, dtype=None):
    return jnp.nansum(input, axis=dim, keepdims=keepdim, dtype=_sum_dtype(input, dtype))


@function
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    return _nansum(input, dim=_dims(dim, input.ndim), keepdim=keepdim, dtype=dtype)


@defop(promote=None)
def _prod(input, dim=None, keepdim=False, dtype=None):
    return jnp.prod(input, axis=dim, keepdims=keepdim, dtype=_sum_dtype(input, dtype))


@function
def prod(input, dim=None, keepdim=False, *, dtype=None):
    return _prod(input, dim=_dims(dim, input.ndim), keepdim=keepdim, dtype=dtype)


def _float_check(x, dtype, name):
    if dtype is None and not (x.dtype.is_floating_point or x.dtype.is_complex):
        raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {x.type_name()[:-6]}")


@defop(promote=None, saves=())
def _mean(input, dim=None, keepdim=False, dtype=None):
    return jnp.mean(input, axis=dim, keepdims=keepdim, dtype=None if dtype is None else dtype.np)


@function
def mean(input, dim=None, keepdim=False, *, dtype=None):
    _float_check(input, dtype, "mean")
    return _mean(input, dim=_dims(dim, input.ndim), keepdim=keepdim, dtype=dtype)


@defop(promote=None, saves=())
def _nanmean(input, dim=None, keepdim=False, dtype=None):
    return jnp.nanmean(input, axis=dim, keepdims=keepdim)


@function
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    _float_check(input, dtype, "nanmean")
    return _nanmean(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


@defop(promote=None)
def _var(input, dim=None, correction=1, keepdim=False):
    return jnp.var(input, axis=dim, ddof=correction, keepdims=keepdim)


@defop(promote=None)
def _std(input, dim=None, correction=1, keepdim=False):
    return jnp.sqrt(jnp.var(input, axis=dim, ddof=correction, keepdims=keepdim))


def _corr(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_args(input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # var(x, False): the old 'unbiased' positional
        unbiased, dim = dim, None
    return dict(dim=_dims(dim, input.ndim), correction=_corr(unbiased, correction), keepdim=keepdim)


@function
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var(input, **_var_args(input, dim, unbiased, keepdim, correction))


@function
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _std(input, **_var_args(input, dim, unbiased, keepdim, correction))


MeanStd = collections.namedtuple("std_mean", ["std", "mean"])  # torch returns plain tuples


@function(method=False)
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    a = _var_args(input, dim, unbiased, keepdim, correction)
    return _var(input, **a), _mean(input, dim=a["dim"], keepdim=keepdim)


@function(method=False)
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    a = _var_args(input, dim, unbiased, keepdim, correction)
    return _std(input, **a), _mean(input, dim=a["dim"], keepdim=keepdim)


# ---- max / min
_values_indices = {}


def return_type(name, fields=("values", "indices")):
    """torch.return_types.<name>: a named tuple."""
    t = _values_indices.get(name)
    if t is None:
        t = _values_indices[name] = collections.namedtuple(name, fields)
        t.__module__ = "torch.return_types"
    return t


def _check_nonempty(input, name, dim=None):
    if input.numel() == 0 and (dim is None or input.shape[dim] == 0):
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                         "Specify the reduction dim with the 'dim' argument." if dim is None else
                         f"{name}(): Expected reduction dim {dim} to have non-zero size.")


@defop(promote=None)
def _amax(input, dim=None, keepdim=False):
    return jnp.max(input, axis=dim, keepdims=keepdim)


@defop(promote=None)
def _amin(input, dim=None, keepdim=False):
    return jnp.min(input, axis=dim, keepdims=keepdim)


def _take_at(x, idx, dim, keepdim):
    # gradient flows only to the returned index (torch's max(dim) convention)
    v = jnp.take_along_axis(x, jnp.expand_dims(idx, dim), axis=dim)
    return v if keepdim else jnp.squeeze(v, dim)


def _argext(x, dim, first_of, keepdim):
    # torch returns the index of the first extreme value; NaN counts as extreme
    idx = first_of(jnp.where(jnp.isnan(x), jnp.inf if first_of is jnp.argmax else -jnp.inf, x)
                   if jnp.issubdtype(x.dtype, jnp.floating) else x, axis=dim)
    if jnp.issubdtype(x.dtype, jnp.floating):
        nan_any = jnp.isnan(x).any(axis=dim)
        idx = jnp.where(nan_any, jnp.argmax(jnp.isnan(x), axis=dim), idx)
    return idx if not keepdim else jnp.expand_dims(idx, dim)


@defop(promote=None, returns=return_type("max"))
def _max_dim(input, dim=0, keepdim=False):
    idx = _argext(input, dim, jnp.argmax, False)
    return _take_at(input, idx, dim, keepdim), (idx if not keepdim else jnp.expand_dims(idx, dim)).astype(jnp.int64)


@defop(promote=None, returns=return_type("min"))
def _min_dim(input, dim=0, keepdim=False):
    idx = _argext(input, dim, jnp.argmin, False)
    return _take_at(input, idx, dim, keepdim), (idx if not keepdim else jnp.expand_dims(idx, dim)).astype(jnp.int64)


def _minmax(name, full, by_dim, pairwise):
    def f(input, dim=None, keepdim=False, *, out=None):
        from ..tensor import Tensor
        if isinstance(dim, Tensor):
            return pairwise(input, dim)
        if dim is None:
            _check_nonempty(input, name)
            return full(input)
        d = _dims(dim, input.ndim)
        d = d[0] if d else 0
        _check_nonempty(input, name, d)
        return by_dim(input, dim=d, keepdim=keepdim)
    f.__name__ = name
    return f


@function
def amax(input, dim=(), keepdim=False):
    return _amax(input, dim=_dims(dim, input.ndim) or None if dim != () else None, keepdim=keepdim)


@function
def amin(input, dim=(), keepdim=False):
    return _amin(input, dim=_dims(dim, input.ndim) or None if dim != () else None, keepdim=keepdim)


def _pairwise(name):
    from .._dispatch import REGISTRY
    return lambda a, b: REGISTRY[name](a, b)


max = function(_minmax("max", lambda x: _amax(x), _max_dim, _pairwise("maximum")), name="max")
min = function(_minmax("min", lambda x: _amin(x), _min_dim, _pairwise("minimum")), name="min")


@defop(promote=None, differentiable=False)
def _argmax(input, dim=None, keepdim=False):
    if dim is None:
        r = _argext(input.ravel(), 0, jnp.argmax, False)
        return (r.reshape((1,) * input.ndim) if keepdim else r).astype(jnp.int64)
    return _argext(input, dim, jnp.argmax, keepdim).astype(jnp.int64)


@defop(promote=None, differentiable=False)
def _argmin(input, dim=None, keepdim=False):
    if dim is None:
        r = _argext(input.ravel(), 0, jnp.argmin, False)
        return (r.reshape((1,) * input.ndim) if keepdim else r).astype(jnp.int64)
    return _argext(input, dim, jnp.argmin, keepdim).astype(jnp.int64)


@function
def argmax(input, dim=None, keepdim=False):
    d = _dims(dim, input.ndim)
    _check_nonempty(input, "argmax", d[0] if d else None)
    return _argmax(input, dim=d[0] if d else None, keepdim=keepdim)


@function
def argmin(input, dim=None, keepdim=False):
    d = _dims(dim, input.ndim)
    _check_nonempty(input, "argmin", d[0] if d else None)
    return _argmin(input, dim=d[0] if d else None, keepdim=keepdim)


@defop(promote=None, returns=return_type("aminmax", ("min", "max")))
def _aminmax(input, dim=None, keepdim=False):
    return jnp.min(input, axis=dim, keepdims=keepdim), jnp.max(input, axis=dim, keepdims=keepdim)


@function
def aminmax(input, *, dim=None, keepdim=False):
    return _aminmax(input, dim=_dims(dim, input.ndim)[0] if dim is not None and input.ndim else None,
                    keepdim=keepdim)


@defop(promote=None, differentiable=False)
def _all(input, dim=None, keepdim=False):
    return jnp.all(input, axis=dim, keepdims=keepdim)


@defop(promote=None, differentiable=False)
def _any(input, dim=None, keepdim=False):
    return jnp.any(input, axis=dim, keepdims=keepdim)


@function
def all(input, dim=None, keepdim=False):
    return _all(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


@function
def any(input, dim=None, keepdim=False):
    return _any(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


@defop(promote=None, differentiable=False)
def _count_nonzero(input, dim=None):
    return jnp.count_nonzero(input, axis=dim).astype(jnp.int64)


@function
def count_nonzero(input, dim=None):
    return _count_nonzero(input, dim=_dims(dim, input.ndim))


@defop(promote="float")
def _logsumexp(input, dim=None, keepdim=False):
    return jax.nn.logsumexp(input, axis=dim, keepdims=keepdim)


@function
def logsumexp(input, dim, keepdim=False):
    return _logsumexp(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


# ---- scans
@defop(promote=None, saves=())
def _cumsum(input, dim=0, dtype=None):
    return jnp.cumsum(input, axis=dim, dtype=_sum_dtype(input, dtype))


@function(inplace=True)
def cumsum(input, dim, *, dtype=None):
    return _cumsum(input, dim=_dims(dim, input.ndim)[0] if input.ndim else None, dtype=dtype)


@defop(promote=None)
def _cumprod(input, dim=0, dtype=None):
    return jnp.cumprod(input, axis=dim, dtype=_sum_dtype(input, dtype))


@function(inplace=True)
def cumprod(input, dim, *, dtype=None):
    return _cumprod(input, dim=_dims(dim, input.ndim)[0] if input.ndim else None, dtype=dtype)


def _cum_ext(x, dim, better):
    n = x.shape[dim]
    idx = jnp.broadcast_to(jnp.arange(n).reshape((-1,) + (1,) * (x.ndim - dim - 1)), x.shape)

    def comb(a, b):
        va, ia = a
        vb, ib = b
        take_b = better(vb, va) | (vb == va) | jnp.isnan(vb)
        take_b = take_b & ~(jnp.isnan(va) & ~jnp.isnan(vb)) if jnp.issubdtype(x.dtype, jnp.floating) else take_b
        return jnp.where(take_b, vb, va), jnp.where(take_b, ib, ia)
    v, i = jax.lax.associative_scan(comb, (x, idx), axis=dim)
    return jnp.take_along_axis(x, i, axis=dim), i.astype(jnp.int64)


@defop(promote=None, returns=return_type("cummax"))
def _cummax(input, dim=0):
    return _cum_ext(input, dim, jnp.greater)


@defop(promote=None, returns=return_type("cummin"))
def _cummin(input, dim=0):
    return _cum_ext(input, dim, jnp.less)


@function
def cummax(input, dim):
    return _cummax(input, dim=_dims(dim, input.ndim)[0] if input.ndim else 0)


@function
def cummin(input, dim):
    return _cummin(input, dim=_dims(dim, input.ndim)[0] if input.ndim else 0)


@defop(promote="float")
def _logcumsumexp(input, dim=0):
    return jax.lax.cumlogsumexp(input, axis=dim)


@function
def logcumsumexp(input, dim):
    return _logcumsumexp(input, dim=_dims(dim, input.ndim)[0] if input.ndim else 0)

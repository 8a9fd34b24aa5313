"""Reductions with torch's dim/keepdim/dtype semantics and result types."""
import builtins
import collections
import functools
import math

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


def _out(res, out):
    if out is None:
        return res
    from .._dispatch import _write_out
    return _write_out(out, res)


_HALF = (jnp.float16, jnp.bfloat16)


def _acc(f, x, rd, **kw):
    """``f(x, dtype=...)`` accumulated in float32 where the result dtype ``rd`` is float16/bfloat16 (torch's
    CPU reductions and scans accumulate half types in float), then rounded to ``rd`` once."""
    if rd is not None and rd in _HALF:
        return f(x, dtype=jnp.float32, **kw).astype(rd)
    return f(x, dtype=rd, **kw)


def _sum_dtype(x, dtype):
    if dtype is not None:
        return dtype.np
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.int64  # torch sums bool/int into int64
    return x.dtype


@defop(promote=None, saves=())
def _sum(input, dim=None, keepdim=False, dtype=None):
    return _acc(jnp.sum, input, _sum_dtype(input, dtype), axis=dim, keepdims=keepdim)


@function(tensors=("input",))
def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    if dim is None and keepdim is False and dtype is None and out is None:
        return _sum(input)  # the full sum: the op's default statics, its fastest call
    return _out(_sum(input, dim=_dims(dim, input.ndim), keepdim=keepdim, dtype=dtype), out)


@defop(promote=None)  # the backward needs the input (where its NaNs are)
def _nansum(input, dim=None, keepdim=False, dtype=None):
    return _acc(jnp.nansum, input, _sum_dtype(input, dtype), axis=dim, keepdims=keepdim)


@function
def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    return _out(_nansum(input, dim=_dims(dim, input.ndim), keepdim=keepdim, dtype=dtype), out)


@defop(promote=None, saves_result=True)
def _prod(input, dim=None, keepdim=False, dtype=None):
    return _acc(jnp.prod, input, _sum_dtype(input, dtype), axis=dim, keepdims=keepdim)


@function
def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod() received an invalid combination of arguments - got (Tensor, tuple), but expected "
                        "one of:\n * (Tensor input, *, torch.dtype dtype = None)\n * (Tensor input, int dim, "
                        "bool keepdim = False, *, torch.dtype dtype = None, Tensor out = None)")
    return _out(_prod(input, dim=_dims(dim, input.ndim), keepdim=keepdim, dtype=dtype), out)


def _float_check(x, dtype, name):
    if dtype is None and not (x.dtype.is_floating_point or x.dtype.is_complex or x.is_quantized):
        raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {x.type_name()[:-6]}")
    if dtype is not None and not (dtype.is_floating_point or dtype.is_complex):
        raise RuntimeError(f"{name}(): could not infer output dtype. Optional dtype must be either a floating point "
                           f"or complex dtype. Got: {D.scalar_type_name(dtype)}")


def _sum_over_count(x, dtype=None, axis=None, keepdims=False):
    """torch's mean: the sum divided by the count (jnp.mean's division by a constant would become a
    product with its reciprocal in XLA, one ulp off; see pointwise._divide)."""
    s = jnp.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    count = math.prod(x.shape[a] for a in axes)
    return s / jax.lax.optimization_barrier(jnp.full(s.shape, count, s.dtype))


@defop(promote=None, saves=())
def _mean(input, dim=None, keepdim=False, dtype=None):
    return _acc(_sum_over_count, input, input.dtype if dtype is None else dtype.np, axis=dim, keepdims=keepdim)


@function
def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    _float_check(input, dtype, "mean")
    return _out(_mean(input, dim=_dims(dim, input.ndim), keepdim=keepdim, dtype=dtype), out)


@defop(promote=None)  # the backward needs the input (where its NaNs are)
def _nanmean(input, dim=None, keepdim=False, dtype=None):
    return jnp.nanmean(input, axis=dim, keepdims=keepdim)


@function
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    _float_check(input, dtype, "nanmean")
    return _nanmean(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


@defop(promote=None)
def _var(input, dim=None, correction=1, keepdim=False):
    return jnp.var(input, axis=dim, ddof=correction, keepdims=keepdim)


@jax.custom_jvp
def _sqrt_var(v):
    return jnp.sqrt(v)


@_sqrt_var.defjvp
def _sqrt_var_jvp(p, t):
    # torch: the gradient of std is 0 where std is 0 (a constant slice), not nan/inf
    s = jnp.sqrt(p[0])
    return s, jnp.where(s == 0, 0, t[0] / (2 * jnp.where(s == 0, 1, s)))


@defop(promote=None, saves_result=True)
def _std(input, dim=None, correction=1, keepdim=False):
    return _sqrt_var(jnp.var(input, axis=dim, ddof=correction, keepdims=keepdim))


def _corr(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_args(input, dim, unbiased, keepdim, correction, name="std and var"):
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(f"{name} only support floating point and complex dtypes")
    if isinstance(dim, bool):  # var(x, False): the old 'unbiased' positional
        unbiased, dim = dim, None
    return dict(dim=_dims(dim, input.ndim), correction=_corr(unbiased, correction), keepdim=keepdim)


@function
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var(input, **_var_args(input, dim, unbiased, keepdim, correction))


@function
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _std(input, **_var_args(input, dim, unbiased, keepdim, correction))


# one op for both outputs, as torch's: its node keeps the input (and std_mean's the std) for either gradient
@defop(promote=None, method=False, function=False)
def _var_mean(input, dim=None, correction=1, keepdim=False):
    return _var.fn(input, dim, correction, keepdim), _mean.fn(input, dim, keepdim)


@defop(promote=None, method=False, function=False, saves_result=(0,))
def _std_mean(input, dim=None, correction=1, keepdim=False):
    return _std.fn(input, dim, correction, keepdim), _mean.fn(input, dim, keepdim)


@function(method=False)
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_mean(input, **_var_args(input, dim, unbiased, keepdim, correction, "var_mean"))


@function(method=False)
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _std_mean(input, **_var_args(input, dim, unbiased, keepdim, correction, "std_mean"))


# ---- max / min
_values_indices = {}


def return_type_repr(self):
    """torch's repr of a torch.return_types tuple: one field per line."""
    body = ",\n".join(f"{k}={v!r}" for k, v in zip(self._fields, self))
    return f"torch.return_types.{type(self).__name__}(\n{body})"


def return_type(name, fields=("values", "indices")):
    """torch.return_types.<name>: a named tuple."""
    t = _values_indices.get(name)
    if t is None:
        t = _values_indices[name] = collections.namedtuple(name, fields)
        t.__module__ = "torch.return_types"
        t.__repr__ = return_type_repr
    return t


def _check_nonempty(input, name, dim=None):
    if input.numel() == 0 and (dim is None or input.shape[dim] == 0):
        # torch: RuntimeError for a full reduction (IndexError for argmax/argmin), IndexError along a dim
        full_err = IndexError if name.startswith("arg") else RuntimeError
        raise (full_err if dim is None else IndexError)(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                         "Specify the reduction dim with the 'dim' argument." if dim is None else
                         f"{name}(): Expected reduction dim {dim} to have non-zero size.")


def _no_complex(x, kernel):
    """torch's NotImplementedError for a complex input of an ordering reduction."""
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        name = D.scalar_type_name(D.from_numpy_dtype(x.dtype))
        raise NotImplementedError(f'"{kernel}" not implemented for \'{name}\'')


@jax.custom_jvp
def shared_by_equals(x, r):
    """``r``, a full reduction's result that is one of ``x``'s values (max(), min(), median()), with torch's
    gradient: shared evenly by the elements equal to it (by the NaNs where it is NaN), selected (zeros
    elsewhere, whatever the cotangent)."""
    return r


@shared_by_equals.defjvp
def _shared_by_equals_jvp(p, t):
    (x, r), (tx, _) = p, t
    mask = jnp.where(jnp.isnan(r), jnp.isnan(x), x == r)
    return r, jnp.sum(jnp.where(mask, tx, 0)) / jnp.sum(mask).astype(r.dtype)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 2, 3))
def _extreme(reduce, x, dim, keepdim):
    return reduce(x, axis=dim, keepdims=keepdim)


@_extreme.defjvp
def _extreme_jvp(reduce, dim, keepdim, p, t):
    # torch's amax/amin: the cotangent over the count of elements equal to the result, times that mask
    # (multiplied: where the cotangent is infinite the other elements get 0 * inf = nan, as torch's)
    (x,), (tx,) = p, t
    r = reduce(x, axis=dim, keepdims=True)
    mask = x == r
    count = jnp.sum(mask, dim, keepdims=True).astype(x.dtype)
    dt = jnp.sum(jnp.where(mask, tx, tx * 0), axis=dim, keepdims=True) / count
    return (r, dt) if keepdim else (jnp.squeeze(r, dim), jnp.squeeze(dt, dim))


def _max_or_amax(reduce, input, dim, keepdim):
    if dim is None:  # (max(), min())
        return shared_by_equals(input, jax.lax.stop_gradient(reduce(input)))
    return _extreme(reduce, input, dim, keepdim)


@defop(promote=None, saves_result=True)
def _amax(input, dim=None, keepdim=False):
    _no_complex(input, "max_all" if dim is None and not keepdim else "max_values_cpu")
    return _max_or_amax(jnp.max, input, dim, keepdim)


@defop(promote=None, saves_result=True)
def _amin(input, dim=None, keepdim=False):
    _no_complex(input, "min_all" if dim is None and not keepdim else "min_values_cpu")
    return _max_or_amax(jnp.min, input, dim, keepdim)


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


@defop(promote=None, returns=return_type("max"), saves=(), saves_hidden=True)
def _max_dim(input, dim=0, keepdim=False):
    if jnp.issubdtype(input.dtype, jnp.complexfloating):
        raise RuntimeError("max(): does not support complex input")
    idx = _argext(input, dim, jnp.argmax, False)
    return _take_at(input, idx, dim, keepdim), (idx if not keepdim else jnp.expand_dims(idx, dim)).astype(jnp.int64)


@defop(promote=None, returns=return_type("min"), saves=(), saves_hidden=True)
def _min_dim(input, dim=0, keepdim=False):
    if jnp.issubdtype(input.dtype, jnp.complexfloating):
        raise RuntimeError("min(): does not support complex input")
    idx = _argext(input, dim, jnp.argmin, False)
    return _take_at(input, idx, dim, keepdim), (idx if not keepdim else jnp.expand_dims(idx, dim)).astype(jnp.int64)


def _minmax(name, full, by_dim, pairwise):
    def f(input, dim=None, keepdim=False, *, out=None):
        from ..tensor import Tensor
        if isinstance(dim, Tensor):
            return _out(pairwise(input, dim), out)
        if dim is None:
            _check_nonempty(input, name)
            return _out(full(input), out)
        d = _dims(dim, input.ndim)
        d = d[0] if d else 0
        _check_nonempty(input, name, d)
        if input.ndim == 0:  # a 0-dim tensor reduces over dim 0/-1 to itself, index 0
            return _out(by_dim(input.reshape(1), dim=0, keepdim=False), out)
        return _out(by_dim(input, dim=d, keepdim=keepdim), out)
    f.__name__ = name
    return f


def _same_out_dtype(input, out):
    if out is not None and out.dtype is not input.dtype:
        raise RuntimeError(f"Expected the dtype for input and out to match, but got {D.scalar_type_name(input.dtype)} "
                           f"for input's dtype and {D.scalar_type_name(out.dtype)} for out's dtype.")


@function
def amax(input, dim=(), keepdim=False, *, out=None):
    # (dim=(): every dim, with amax's gradient, not max()'s)
    _same_out_dtype(input, out)
    d = _dims(dim, input.ndim) or None if dim != () else tuple(range(input.ndim)) or None
    _check_nonempty(input, "amax", None if d is None else d[0]) if input.numel() == 0 else None
    return _out(_amax(input, dim=d, keepdim=keepdim), out)


@function
def amin(input, dim=(), keepdim=False, *, out=None):
    # (dim=(): every dim, with amin's gradient, not min()'s)
    _same_out_dtype(input, out)
    d = _dims(dim, input.ndim) or None if dim != () else tuple(range(input.ndim)) or None
    _check_nonempty(input, "amin", None if d is None else d[0]) if input.numel() == 0 else None
    return _out(_amin(input, dim=d, keepdim=keepdim), out)


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


@function(same_dtype=True)
def argmax(input, dim=None, keepdim=False):
    if input.dtype.np == bool or input.dtype.is_complex:
        raise RuntimeError(f"argmax(): does not support {'bool' if input.dtype.np == bool else 'complex'} input")
    d = _dims(dim, input.ndim)
    _check_nonempty(input, "argmax", d[0] if d else None)
    return _argmax(input, dim=d[0] if d else None, keepdim=keepdim)


@function(same_dtype=True)
def argmin(input, dim=None, keepdim=False):
    if input.dtype.np == bool or input.dtype.is_complex:
        raise RuntimeError(f"argmin(): does not support {'bool' if input.dtype.np == bool else 'complex'} input")
    d = _dims(dim, input.ndim)
    _check_nonempty(input, "argmin", d[0] if d else None)
    return _argmin(input, dim=d[0] if d else None, keepdim=keepdim)


@defop(promote=None, returns=return_type("aminmax", ("min", "max")))
def _aminmax(input, dim=None, keepdim=False):
    _no_complex(input, "aminmax_cpu")
    return jnp.min(input, axis=dim, keepdims=keepdim), jnp.max(input, axis=dim, keepdims=keepdim)


@function
def aminmax(input, *, dim=None, keepdim=False, out=None):
    for o in out or ():
        if o.dtype is not input.dtype:
            raise RuntimeError(f"Expected out tensor to have dtype {D.cpp_type_name(input.dtype)}, but got "
                               f"{D.cpp_type_name(o.dtype)} instead")
    d = _dims(dim, input.ndim)[0] if dim is not None and input.ndim else None
    if input.numel() == 0:
        if dim is None:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                               "identity.")
        if input.shape[d] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {d} to have non-zero size.")
    return _out(_aminmax(input, dim=d, keepdim=keepdim), out)


@defop(promote=None, differentiable=False)
def _all(input, dim=None, keepdim=False):
    r = jnp.all(input, axis=dim, keepdims=keepdim)
    return r.astype(jnp.uint8) if input.dtype == jnp.uint8 else r  # torch keeps uint8 (a legacy rule)


@defop(promote=None, differentiable=False)
def _any(input, dim=None, keepdim=False):
    r = jnp.any(input, axis=dim, keepdims=keepdim)
    return r.astype(jnp.uint8) if input.dtype == jnp.uint8 else r


@function(same_dtype=True)
def all(input, dim=None, keepdim=False):
    return _all(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


@function(same_dtype=True)
def any(input, dim=None, keepdim=False):
    return _any(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


@defop(promote=None, differentiable=False)
def _count_nonzero(input, dim=None):
    return jnp.count_nonzero(input, axis=dim).astype(jnp.int64)


@function
def count_nonzero(input, dim=None):
    return _count_nonzero(input, dim=_dims(dim, input.ndim))


@defop(promote="float", saves_result=True)
def _logsumexp(input, dim=None, keepdim=False):
    return jax.nn.logsumexp(input, axis=dim, keepdims=keepdim)


@function
def logsumexp(input, dim, keepdim=False):
    return _logsumexp(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


# ---- scans
@defop(promote=None, saves=())
def _cumsum(input, dim=0, dtype=None):
    return _acc(jnp.cumsum, input, _sum_dtype(input, dtype), axis=dim)


def _scan(op, input, dim, **kw):
    """A scan along ``dim``; a 0-dim input scans as one element and stays 0-dim (torch)."""
    d = _dims(dim, input.ndim)
    if input.ndim:
        return op(input, dim=d[0], **kw)
    r = op(input.reshape(1), dim=0, **kw)
    return type(r)(*(x.reshape(()) for x in r)) if isinstance(r, tuple) else r.reshape(())


@function(inplace=True)
def cumsum(input, dim, *, dtype=None, out=None):  # (an out= gives the dtype, as in torch)
    return _out(_scan(_cumsum, input, dim, dtype=getattr(out, "dtype", None) if dtype is None else dtype), out)


@defop(promote=None, saves_result=True)
def _cumprod(input, dim=0, dtype=None):
    return _acc(jnp.cumprod, input, _sum_dtype(input, dtype), axis=dim)


@function(inplace=True)
def cumprod(input, dim, *, dtype=None, out=None):  # (an out= gives the dtype, as in torch)
    return _out(_scan(_cumprod, input, dim, dtype=getattr(out, "dtype", None) if dtype is None else dtype), out)


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
    return _scan(_cummax, input, dim)


@function
def cummin(input, dim):
    return _scan(_cummin, input, dim)


@defop(promote="float", saves_result=True)
def _logcumsumexp(input, dim=0):
    if input.dtype in _HALF:
        return jax.lax.cumlogsumexp(input.astype(jnp.float32), axis=dim).astype(input.dtype)
    if jnp.iscomplexobj(input) and input.ndim and input.shape[dim]:
        # torch's sequential scan, acc = logaddexp(x_i, acc): each step keeps the branch of the complex
        # log of the operand with the larger real part, so the imaginary part may leave (-pi, pi]
        from .pointwise import complex_logaddexp
        x = jnp.moveaxis(input, dim, 0)
        _, ys = jax.lax.scan(lambda acc, xi: (complex_logaddexp(xi, acc),) * 2, x[0], x[1:])
        return jnp.moveaxis(jnp.concatenate([x[:1], ys]), 0, dim)
    return jax.lax.cumlogsumexp(input, axis=dim)


@function
def logcumsumexp(input, dim):
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for '
                                  f"'{D.scalar_type_name(input.dtype)}'")
    return _scan(_logcumsumexp, input, dim)


# ---- quantiles
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


@defop(promote=None, dynamic=("q",))
def _quantile(input, q, dim=None, keepdim=False, interpolation="linear", ignore_nan=False):
    x = input.ravel() if dim is None else jnp.moveaxis(input, dim, -1)
    q = jnp.asarray(q, x.dtype)
    s = jnp.sort(x, axis=-1)  # NaNs sort last
    nan = jnp.isnan(x)
    count = jnp.sum(~nan, axis=-1) if ignore_nan else jnp.full(x.shape[:-1], x.shape[-1])
    qq = q.reshape(q.shape + (1,) * (x.ndim - 1))              # (Q..., batch...)
    rank = qq * (jnp.maximum(count, 1) - 1).astype(x.dtype)
    if interpolation == "nearest":
        rank = jnp.round(rank)  # half to even, like torch
    lo = jnp.floor(rank).astype(jnp.int64)
    hi = jnp.minimum(jnp.ceil(rank).astype(jnp.int64), x.shape[-1] - 1)
    sb = jnp.broadcast_to(s, rank.shape + s.shape[-1:])
    vlo = jnp.take_along_axis(sb, lo[..., None], -1)[..., 0]
    vhi = jnp.take_along_axis(sb, hi[..., None], -1)[..., 0]
    if interpolation == "lower" or interpolation == "nearest":
        r = vlo
    elif interpolation == "higher":
        r = vhi
    elif interpolation == "midpoint":
        r = vlo + (vhi - vlo) * 0.5
    else:
        r = vlo + (vhi - vlo) * (rank - lo)
    bad = (count == 0) if ignore_nan else jnp.any(nan, axis=-1)
    r = jnp.where(bad, jnp.nan, r)
    if keepdim:
        if dim is None:
            r = r.reshape(q.shape + (1,) * input.ndim)
        else:
            r = jnp.expand_dims(r, q.ndim + dim)
    return r


def _quantile_args(input, q, dim, interpolation, name):
    from ..tensor import Tensor
    if not input.dtype.is_floating_point or input.dtype.itemsize < 4:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    if isinstance(q, Tensor):
        if q.dtype is not input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        vals = q.tolist() if q.ndim else [q.item()]
    else:
        vals = [q]
    for v in vals:
        if not 0 <= v <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {v}")
    d = None if dim is None else _dims(dim, input.ndim)
    return None if d is None else d[0]  # a 0-dim input reduces whole


@function
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    d = _quantile_args(input, q, dim, interpolation, "quantile")
    return _quantile(input, q, dim=d, keepdim=keepdim, interpolation=interpolation)


@function
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    d = _quantile_args(input, q, dim, interpolation, "nanquantile")
    return _quantile(input, q, dim=d, keepdim=keepdim, interpolation=interpolation, ignore_nan=True)

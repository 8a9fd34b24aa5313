"""Index-driven ops: gather/scatter, index_*, masked_*, take/put, nonzero, where.

JAX clamps (or drops) out-of-range indices silently where torch raises, so each
wrapper checks concrete index values eagerly; under a trace (jit/compile) the
values are unknown and the check is skipped. Ops whose output shape depends on
data (nonzero, masked_select) are computed eagerly on the host.
"""
import builtins
import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .. import _dispatch
from .._dispatch import defop, function, METHODS
from .indexing import (_adv_template, _build_index, _check_bounds, _is_tracer, index_range, set_at,
                       with_out)
from .shape import _wrap


def _T():
    return _dispatch.Tensor


def _as_tensor(x, dtype=None):
    T = _T()
    if isinstance(x, T):
        return x
    return T._wrap(jnp.asarray(np.asarray(x), None if dtype is None else dtype.np))


def _minmax_of(index):
    """Concrete (min, max) of an index tensor, or None when unknown (traced, meta) or empty."""
    return None if index.is_meta else index_range(index._value)


def _check_range(index, size, dim, exc=RuntimeError, prefix="", negative=False):
    """torch's 'index X is out of bounds for dimension D with size N'."""
    mm = _minmax_of(index)
    if mm is None:
        return
    lo, hi = mm
    low = -size if negative else 0
    if lo < low or hi >= size:
        bad = lo if lo < low else hi
        raise exc(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}")


_LONG_ONLY = {  # ops where torch rejects int32 indices, with its message
    "index_copy": (RuntimeError, "index_copy_(): Expected a long tensor for index, but got {}"),
    "index_fill": (IndexError, "index_fill_(): Expected dtype int64 for index."),
    "take": (RuntimeError, "take(): Expected a long tensor for index, but got {}"),
    "put": (RuntimeError, "put_(): Expected a long tensor for index, but got {}"),
    "take_along_dim": (RuntimeError, "torch.take_along_dim(): dtype of indices should be Long but got {}"),
}


def _check_int_index(index, name):
    if not isinstance(index, _T()):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if name in _LONG_ONLY and index.dtype is not D.int64:
        exc, msg = _LONG_ONLY[name]
        raise exc(msg.format(D.scalar_type_name(index.dtype)))
    if index.dtype not in (D.int32, D.int64):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")


def _coords(index, dim):
    # coordinates of every element of ``index`` in the output, with ``index`` itself along ``dim``
    return tuple(index if d == dim else jax.lax.broadcasted_iota(index.dtype, index.shape, d)
                 for d in range(index.ndim))


def _crop(x, shape):
    return x[tuple(slice(0, s) for s in shape)]


# ---------------------------------------------------------------- gather / scatter
# torch's backward keeps the input (for its shape) and the index
@defop(method=False, function=False, saves=("input", "index"))
def _gather(input, index, dim=0):
    x = input[tuple(slice(0, index.shape[d]) if d != dim else slice(None) for d in range(input.ndim))]
    return jnp.take_along_axis(x, index, axis=dim)


def _gather_checks(input, dim, index, name, src=None):
    """The wrapped dim, or None when ``index`` is empty (torch then checks nothing and does nothing)."""
    if isinstance(index, _T()) and index.numel() == 0:
        return None
    _check_int_index(index, name)
    nd = builtins.max(input.ndim, 1)
    d = _wrap(dim, nd)
    if index.ndim != input.ndim and not (index.ndim <= 1 and input.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           + ("input tensor" if name == "gather" else "self tensor"))
    ish, xsh = tuple(index.shape), tuple(input.shape)
    for k in range(len(ish)):
        if k != d and k < len(xsh) and ish[k] > xsh[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(ish)} to be no larger "
                               f"than self {list(xsh)} apart from dimension {d}")
        if src is not None and isinstance(src, _T()) and k < src.ndim and ish[k] > src.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(ish)} to be no larger "
                               f"than src {list(src.shape)}")
    _check_range(index, xsh[d] if xsh else 1, d)
    return d


def _as_1d(t):
    return t.reshape((1,)) if t.ndim == 0 else t


@function
@with_out(any_overlap=True, same_dtype=True)
def gather(input, dim, index, *, sparse_grad=False):
    d = _gather_checks(input, dim, index, "gather")
    if d is None:  # an empty result, in the graph as torch's (the input's gradient is zeros)
        return input.reshape(-1)[:0].reshape(tuple(index.shape)).clone()
    if input.ndim == 0:
        return _gather(_as_1d(input), _as_1d(index), dim=0).reshape(tuple(index.shape))
    return _gather(input, index, dim=d)


def _add_at(x, idx, src):
    """x with src added at idx (repeats accumulate); bool tensors accumulate with `or` as torch does (a sum
    of bools is true when any is: XLA has no bool add)."""
    return x.at[idx].max(src) if x.dtype == jnp.bool_ else x.at[idx].add(src)


def _mul_at(x, idx, src):
    """x multiplied by src at idx; bool tensors with `and`."""
    return x.at[idx].min(src) if x.dtype == jnp.bool_ else x.at[idx].multiply(src)


@defop(method=False, function=False, saves=("index",))
def _scatter(input, index, src, dim=0, reduce=None):
    idx = _coords(index, dim)
    src = jnp.broadcast_to(jnp.asarray(src, input.dtype), index.shape) if jnp.ndim(src) == 0 else \
        _crop(src, index.shape)
    if reduce is None:
        return set_at(input, idx, src)
    if reduce == "add":
        return _add_at(input, idx, src)
    return _mul_at(input, idx, src)


def _scatter_args(input, dim, index, src, value, name):
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{name}() missing required argument: 'src' or 'value'")
    T = _T()
    if isinstance(src, T) and src.dtype is not input.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
    d = _gather_checks(input, dim, index, name, src)
    return d, src


@function(inplace=True)
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    d, src = _scatter_args(input, dim, index, src, value, "scatter")
    if d is None:
        return input.clone()
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError(f"reduce argument must be either add or multiply. Got {reduce}")
    if input.ndim == 0:
        return _scatter(_as_1d(input), _as_1d(index), _as_1d(src) if isinstance(src, _T()) else src,
                        dim=0, reduce=reduce).reshape(())
    return _scatter(input, index, src, dim=d, reduce=reduce)


@function(inplace=True, tensors=("input", "src"))
def scatter_add(input, dim, index, src):
    d, src = _scatter_args(input, dim, index, src, None, "scatter_add")
    if d is None:
        return input.clone()
    return _scatter(input, index, src, dim=d, reduce="add")


def _lowest(dt, sign):
    if jnp.issubdtype(dt, jnp.floating):
        return -sign * jnp.inf
    if dt == jnp.bool_:
        return sign < 0
    info = jnp.iinfo(dt)
    return info.min if sign > 0 else info.max


def _scatter_prod_value(input, idx, src, include_self):
    base = input if include_self else input.at[idx].set(jnp.ones((), input.dtype))
    return _mul_at(base, idx, src)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _scatter_prod(input, idx, src, include_self):
    return _scatter_prod_value(input, idx, src, include_self)


def _scatter_prod_fwd(input, idx, src, include_self):
    # (the product through _scatter_prod: a second order differentiates this forward too)
    return _scatter_prod(input, idx, src, include_self), (input, idx, src)


def _scatter_prod_bwd(include_self, res, g):
    # d(product)/d(factor) = product of the other factors, computed without dividing by zeros
    input, idx, src = res
    one = jnp.ones((), input.dtype)
    base = input if include_self else input.at[idx].set(jnp.ones((), input.dtype))
    # (through _scatter_prod itself: XLA's scatter-multiply has no derivative for repeated indices, which
    # double backward needs)
    nz = _scatter_prod(jnp.where(base == 0, one, base), idx, jnp.where(src == 0, one, src), True)
    zc = (base == 0).astype(jnp.int32).at[idx].add((src == 0).astype(jnp.int32))

    def others(v, nz_v, zc_v):
        return jnp.where(v == 0, jnp.where(zc_v == 1, nz_v, 0), jnp.where(zc_v == 0, nz_v / v, 0))
    g_in = g * others(input, nz, zc)
    if not include_self:
        g_in = g_in.at[idx].set(0)
    g_src = g[idx] * others(src, nz[idx], zc[idx])
    return g_in, tuple(None for _ in idx), g_src


_scatter_prod.defvjp(_scatter_prod_fwd, _scatter_prod_bwd)


@defop(method=False, function=False, saves_result=True)
def _scatter_reduce(input, index, src, dim=0, reduce="sum", include_self=True):
    idx = _coords(index, dim)
    src = _crop(src, index.shape)
    if reduce in ("sum", "mean"):
        base = input if include_self else input.at[idx].set(jnp.zeros((), input.dtype))
        out = _add_at(base, idx, src)
        if reduce == "mean":
            cnt = jnp.zeros(input.shape, input.dtype).at[idx].add(1) + (1 if include_self else 0)
            cnt = jnp.maximum(cnt, 1)
            out = out // cnt if not jnp.issubdtype(input.dtype, jnp.inexact) else out / cnt
        return out
    if reduce == "prod":
        return _scatter_prod(input, idx, src, include_self)
    sign = 1 if reduce == "amax" else -1
    base = input if include_self else input.at[idx].set(_lowest(input.dtype, sign))
    return base.at[idx].max(src) if sign > 0 else base.at[idx].min(src)


@function(inplace=True)
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    d, src = _scatter_args(input, dim, index, src, None, "scatter_reduce")
    if reduce == "mean" and input.dtype is D.bool:
        raise NotImplementedError('"scatter_gather_tensor_cpu_reduce_mean" not implemented for \'Bool\'')
    if d is None:
        return input.clone()
    return _scatter_reduce(input, index, src, dim=d, reduce=reduce, include_self=bool(include_self))


# ---------------------------------------------------------------- index_*
def _index_checks(input, dim, index, name):
    _check_int_index(index, name)
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    return _wrap(dim, input.ndim)


@defop(method=False, function=False, saves=("index",))
def _index_select(input, index, dim=0):
    return jnp.take(input, index, axis=dim)


@function
@with_out(any_overlap=True, same_dtype=True)
def index_select(input, dim, index):
    d = _index_checks(input, dim, index, "index_select")
    mm = _minmax_of(index)
    n = input.shape[d] if input.ndim else 1
    if mm is not None and (mm[0] < 0 or mm[1] >= n):
        raise IndexError("index out of range in self")
    if input.ndim == 0:
        return _index_select(_as_1d(input), _as_1d(index), dim=0).reshape(())
    return _index_select(input, _as_1d(index), dim=d)


def _source_checks(input, d, index, source, name):
    if source.dtype is not input.dtype:
        if name == "index_add":
            raise RuntimeError(f"index_add_(): self ({D.scalar_type_name(input.dtype)}) and source "
                               f"({D.scalar_type_name(source.dtype)}) must have the same scalar type")
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{D.scalar_type_name(input.dtype)} and (source) {D.scalar_type_name(source.dtype)}")
    if not input.ndim or not source.ndim:
        return
    xs, ss = list(input.shape), list(source.shape)
    if len(xs) != len(ss) or any(a != b for k, (a, b) in enumerate(zip(xs, ss)) if k != d):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {xs} source.shape = {ss}"
                           if name == "index_add" else
                           f"{name}_(): Source/destination tensor must have same slice shapes. Got self.shape = "
                           f"{xs} source.shape = {ss}")
    if ss[d] != index.numel():
        raise RuntimeError(f"{name}_(): Number of indices ({index.numel()}) should be equal to source.size(dim): "
                           f"({ss[d]}), for dim: {d}")


# torch keeps the source (for its shape) and the index
@defop(method=False, function=False, saves=("index", "source"), dynamic=("alpha",))
def _index_add(input, index, source, alpha=1, dim=0, copy=False):
    sel = (slice(None),) * dim + (index,)
    src = jnp.broadcast_to(source, input.shape[:dim] + index.shape + input.shape[dim + 1:])
    if copy:
        return set_at(input, sel, src)
    if input.dtype == jnp.bool_:
        return _add_at(input, sel, src & (alpha != 0))
    return input.at[sel].add(src * alpha if not isinstance(alpha, int) or alpha != 1 else src)


@function(inplace=True)
def index_add(input, dim, index, source, *, alpha=1):
    d = _index_checks(input, dim, index, "index_add")
    _source_checks(input, d, index, source, "index_add")
    _check_range(index, input.shape[d] if input.ndim else 1, d)
    return _index_add(_as_1d(input) if input.ndim == 0 else input, _as_1d(index), source, alpha,
                      dim=d).reshape(tuple(input.shape))


@function(inplace=True)
def index_copy(input, dim, index, source):
    d = _index_checks(input, dim, index, "index_copy")
    _source_checks(input, d, index, source, "index_copy")
    _check_range(index, input.shape[d] if input.ndim else 1, d, IndexError, "index_copy_(): ")
    return _index_add(_as_1d(input) if input.ndim == 0 else input, _as_1d(index), source, 1,
                      dim=d, copy=True).reshape(tuple(input.shape))


@defop(method=False, function=False, saves=("index",))
def _index_fill(input, index, value, dim=0):
    # a mask, not a scatter: a repeated index fills its slice once, so a tensor value's gradient sums
    # each filled element once (torch's; a scatter's would count the repeats)
    mask = jnp.zeros(input.shape[dim], bool).at[index].set(True)
    mask = mask.reshape((-1,) + (1,) * (input.ndim - dim - 1))
    v = jnp.asarray(value, input.dtype) if jnp.issubdtype(input.dtype, jnp.inexact) else jnp.asarray(value).astype(input.dtype)
    return jnp.where(mask, v, input)


@function(inplace=True)
def index_fill(input, dim, index, value):
    d = _index_checks(input, dim, index, "index_fill")
    if isinstance(value, _T()) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    if not isinstance(value, _T()):
        from .creation import check_scalar_fits
        if isinstance(value, complex) and not input.dtype.is_complex:
            raise RuntimeError("index_fill_(): Converting complex Scalar to non-complex type is not supported")
        value = check_scalar_fits(value, input.dtype)
    _check_range(index, input.shape[d] if input.ndim else 1, d, IndexError, negative=True)
    return _index_fill(_as_1d(input) if input.ndim == 0 else input, _as_1d(index), value,
                       dim=d).reshape(tuple(input.shape))


@defop(method=False, function=False, seq=True, saves=("indices",))
def _index_put(indices, x, values, template=(), accumulate=False):
    idx = _build_index(template, indices)
    return _add_at(x, idx, jnp.asarray(values, x.dtype)) if accumulate else set_at(x, idx, values)


@defop(method=False, function=False, saves=("mask",))
def _mask_put(x, mask, values, accumulate=False):
    """index_put with one bool mask over x's leading dims and values that fill every selected row alike:
    a where(), so no host sync and no shape that depends on how many elements the mask selects."""
    m = mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim))
    v = jnp.asarray(values, x.dtype)
    if accumulate:
        v = (x | v) if x.dtype == jnp.bool_ else x + v  # (a mask selects each element once)
    return jnp.where(m, v, x)


def _row_values(input, mask, values):
    """``values`` as one row for every element a bool ``mask`` selects (its leading 1-dims dropped), or None
    where it does not broadcast to a row (one value per selected element: the count depends on the mask)."""
    rest = tuple(input.shape[mask.ndim:])
    shape = tuple(values.shape) if isinstance(values, _T()) else ()
    while shape and shape[0] == 1 and len(shape) > len(rest):
        shape = shape[1:]
    if len(shape) > len(rest) or any(a not in (1, b) for a, b in zip(shape[::-1], rest[::-1])):
        return None
    return values.reshape(shape) if isinstance(values, _T()) else values


@function(inplace=True, tensors=("input", "values"))
def index_put(input, indices, values, accumulate=False):
    T = _T()
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    if len(indices) > input.ndim:
        raise IndexError(f"too many indices for tensor of dimension {input.ndim} (got {len(indices)})")
    if isinstance(values, T) and values.dtype is not input.dtype:
        raise RuntimeError("Index put requires the source and destination dtypes match, got "
                           f"{D.scalar_type_name(input.dtype)} for the destination and {D.scalar_type_name(values.dtype)} "
                           "for the source.")
    adv, d = [], 0
    for ix in indices:
        ix = _as_tensor(ix)
        if ix.dtype in (D.bool, D.uint8):
            for k in range(ix.ndim):
                if ix.shape[k] != input.shape[d + k]:
                    raise IndexError(f"The shape of the mask {list(ix.shape)} at index {k} does not match the "
                                     f"shape of the indexed tensor {list(input.shape)} at index {d + k}")
            adv.append((d, ix))
            d += ix.ndim
        else:
            if ix.dtype._cat != D._INT:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            _check_bounds(ix, input.shape[d], d)
            adv.append((d, ix))
            d += 1
    if len(adv) == 1 and adv[0][1].dtype is D.bool and adv[0][1].ndim and adv[0][1].device == input.device:
        row = _row_values(input, adv[0][1], values)
        if row is not None:
            return _mask_put(input, adv[0][1], row, accumulate=bool(accumulate))
    template, tensors = _adv_template(adv)
    return _index_put(tensors, input, values, template=template, accumulate=bool(accumulate))


# ---------------------------------------------------------------- masked_*
def _check_mask(mask, name):
    if not isinstance(mask, _T()) or mask.dtype is not D.bool:
        dt = D.cpp_type_name(mask.dtype) if isinstance(mask, _T()) else type(mask).__name__
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype {dt}")


@defop(method=False, function=False, saves=("mask",))
def _masked_fill(input, mask, value):
    return jnp.where(mask, jnp.asarray(value, input.dtype), input)


@function(inplace=True)
def masked_fill(input, mask, value):
    _check_mask(mask, "masked_fill_")
    if isinstance(value, _T()) and value.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    if not isinstance(value, _T()):
        from .creation import check_scalar_fits
        value = check_scalar_fits(value, input.dtype)
    else:
        from .creation import check_value_fits
        check_value_fits(value, input.dtype)
    return _masked_fill(input, mask, value)


# torch's backward keeps the input (for its shape) and the mask
@defop(method=False, function=False, saves=("input", "mask"))
def _masked_select(input, mask, flat_index):
    shape = jnp.broadcast_shapes(input.shape, mask.shape)
    return jnp.broadcast_to(input, shape).ravel()[flat_index]


@function
@with_out(any_overlap=True, same_dtype=True)
def masked_select(input, mask):
    T = _T()
    if not isinstance(mask, T) or mask.dtype is not D.bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = tuple(jnp.broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    if not (input.is_meta or mask.is_meta or _is_tracer(mask._value)):
        flat = np.flatnonzero(np.broadcast_to(np.asarray(mask._value), shape))  # data-dependent: on the host
        return _masked_select(input, mask, T._wrap(jnp.asarray(flat.astype(np.int64))))
    x, m = input.expand(shape), mask.expand(shape)
    if not shape:
        return x.reshape((1,))[m.reshape((1,))]
    return x[m]


@defop(method=False, function=False, saves=("mask",))
def _masked_scatter(input, mask, source):
    shape = jnp.broadcast_shapes(input.shape, mask.shape)
    m = jnp.broadcast_to(mask, shape).ravel()
    x = jnp.broadcast_to(input, shape).ravel()
    src = source.ravel()
    if src.size == 0:
        return x.reshape(shape)
    pos = jnp.clip(jnp.cumsum(m) - 1, 0, src.size - 1)  # the k-th True takes source's k-th element
    return jnp.where(m, src[pos], x).reshape(shape)


@function(inplace=True)
def masked_scatter(input, mask, source):
    _check_mask(mask, "masked_scatter_")
    if source.dtype is not input.dtype:
        raise RuntimeError("masked_scatter_: expected self and source to have same dtypes but got "
                           f"{D.scalar_type_name(input.dtype)} and {D.scalar_type_name(source.dtype)}")
    if not _is_tracer(mask._value):
        if int(jnp.sum(jnp.broadcast_to(mask._value, jnp.broadcast_shapes(input.shape, mask.shape)))) > \
                source.numel():
            raise RuntimeError("Number of elements of source < number of ones in mask")
    return _masked_scatter(input, mask, source)


# ---------------------------------------------------------------- take / put
def _check_flat(index, n):
    mm = _minmax_of(index)
    if mm is not None and (mm[0] < -n or mm[1] >= n):
        bad = mm[0] if mm[0] < -n else mm[1]
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")


@defop(method=False, function=False, saves=("input", "index"))
def _take(input, index):
    return jnp.take(input.ravel(), index)


@function
@with_out(any_overlap=True, same_dtype=True)
def take(input, index):
    _check_int_index(index, "take")
    _check_flat(index, input.numel())
    return _take(input, index)


@defop(method=False, function=False, saves=("index", "source"))
def _put(input, index, source, accumulate=False):
    flat, idx, src = input.ravel(), index.ravel(), source.ravel()
    return (_add_at(flat, idx, src) if accumulate else set_at(flat, idx, src)).reshape(input.shape)


@function(inplace=True)
def put(input, index, source, accumulate=False):
    _check_int_index(index, "put")
    if index.numel() != source.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {D.scalar_type_name(input.dtype)} and source.dtype = {D.scalar_type_name(source.dtype)}")
    _check_flat(index, input.numel())
    return _put(input, index, source, accumulate=bool(accumulate))


@function
@with_out
def take_along_dim(input, indices, dim=None):
    _check_int_index(indices, "take_along_dim")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = _wrap(dim, input.ndim)
    if input.ndim != indices.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {input.ndim} dimensions for input, and {indices.ndim} "
                           "dimensions for indices")
    # torch broadcasts every dim but ``dim``
    n = input.shape[d]
    if not indices.is_meta and not _is_tracer(indices._value):  # torch wraps negative indices here (not in gather)
        r = index_range(indices._value)
        if r is not None and -n <= r[0] < 0:
            indices = _where(indices < 0, indices + n, indices)
    ish, xsh = list(indices.shape), list(input.shape)
    ish[d] = xsh[d] = 1
    for k, (a, i) in enumerate(zip(xsh, ish)):
        if a != i and a != 1 and i != 1:
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({i}) at non-singleton "
                               f"dimension {k}")
    b = list(jnp.broadcast_shapes(tuple(ish), tuple(xsh)))
    xb, ib = list(b), list(b)
    xb[d], ib[d] = input.shape[d], indices.shape[d]
    return gather(input.expand(xb), d, indices.expand(ib))


# ---------------------------------------------------------------- nonzero / where
@function
@with_out
def nonzero(input, as_tuple=False):
    T = _T()
    if input.dtype is D.complex32:  # no array to read (_chalf.py): its nonzero pattern
        input = input != 0
    a = np.asarray(input._value)  # data-dependent shape: computed on the host
    if as_tuple:
        if a.ndim == 0:
            return (T._wrap(jnp.asarray(np.nonzero(a.reshape(1))[0].astype(np.int64))),)
        return tuple(T._wrap(jnp.asarray(i.astype(np.int64))) for i in np.nonzero(a))
    out = T._wrap(jnp.asarray(np.argwhere(a).astype(np.int64)))
    n, k = out.shape
    if n and k:  # torch fills the index columns one after another: strides (1, n)
        from .._memfmt import lay
        lay(out, (1, 0), strides=(1, n))
    return out


@function
def argwhere(input):
    return nonzero(input)


@defop(promote="common", promote_args=("input", "other"), method=False, function=False, saves=("condition",))
def _where(condition, input, other):
    return jnp.where(condition, input, other)


@function(method=False)
@with_out
def where(condition, input=None, other=None):
    T = _T()
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() expected 1 or 3 arguments")
    if not isinstance(condition, T):
        raise TypeError(f"where(): argument 'condition' must be Tensor, not {type(condition).__name__}")
    if condition.dtype not in (D.bool, D.uint8):
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{D.scalar_type_name(condition.dtype)}")
    return _where(condition, input, other)


def _where_method(self, condition, other):
    # ``x.where(cond, y)`` is ``torch.where(cond, x, y)``
    return where(condition, self, other)


METHODS["where"] = _where_method


def _index_put_fn(input, indices, values, accumulate=False):
    return input.index_put_(indices, values, accumulate)


_dispatch.REGISTRY["index_put_"] = _index_put_fn  # torch also exposes the in-place form as a function

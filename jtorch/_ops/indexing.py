"""Tensor indexing (``t[...]`` and ``t[...] = v``) with torch's rules and errors,
and the write-through ops that views use.

Basic indices (ints, slices, None, ...) give a view. Advanced indices (integer
tensors, lists, bool masks) gather; their values are checked eagerly, since JAX
would clamp an out-of-range index silently where torch raises IndexError.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .._dispatch import defop, function
from .. import _dispatch
from .shape import _basic_index, _basic_index_op


def with_out(f=None, *, any_overlap=False, same_dtype=False):
    """Accept torch's ``out=`` on a function: compute, then write the result into ``out`` with torch's checks
    (``_dispatch._write_out``: ``any_overlap``, ``same_dtype`` for the ops that are not elementwise)."""
    if f is None:
        return functools.partial(with_out, any_overlap=any_overlap, same_dtype=same_dtype)

    @functools.wraps(f)
    def g(*args, out=None, **kwargs):
        res = f(*args, **kwargs)
        if out is None:
            return res
        return _dispatch._write_out(out, res, (*args, *kwargs.values()), any_overlap, same_dtype)
    return g


# ---- view plumbing (used by Tensor._write and view grad_fn regeneration); the chain's
# structure is static, its offsets dynamic (see _dispatch.chain_fn)
@defop(method=False, function=False, saves=())
def view_chain(x, args, chain=()):
    return _dispatch.apply_chain(x, chain, args)


@jax.custom_vjp
def _through_overlap(x):
    return x


def _overlap_backward(res, g):
    # torch's backward of a write through a view with a stride-0 dim writes the gradient through that view
    raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a single "
                       "memory location. Please clone() the tensor before performing the operation.")


_through_overlap.defvjp(lambda x: (x, None), _overlap_backward)


@defop(method=False, function=False, saves=())
def view_scatter(base, new, args, chain=(), overlapping=False):
    """``base`` with ``new`` written through the view ``chain``; ``overlapping``: the view has a stride-0 dim
    (an expand): a gradient through the write raises, as torch's."""
    out = _dispatch.scatter_into(base, new, chain, args)
    return _through_overlap(out) if overlapping else out


# ---- parsing an index
# torch applies the basic part of an index (ints, slices, None, ...) first, as a view,
# then the advanced part (tensors, lists, masks) on that view; we do the same, so
# result shapes follow torch where they differ from NumPy (e.g. ``x[0, :, [0, 1]]``).
def _is_tracer(a):
    return isinstance(a, jax.core.Tracer)


def _as_tuple(idx):
    T = _dispatch.Tensor
    if isinstance(idx, tuple):
        return idx
    # torch (still, deprecated) reads a short list holding sequences/slices/None/... as a tuple
    if isinstance(idx, list) and len(idx) < 32 and any(
            isinstance(i, (T, list, tuple, np.ndarray, slice)) or i is None or i is Ellipsis for i in idx):
        return tuple(idx)
    return (idx,)


def _parse_basic(shape, idx):
    """``_parse`` for the common case, an int, a slice of ints, or a tuple of those (``x[0]``,
    ``x[1:3]``, ``x[:, 2]``); None for anything else, including errors (left to ``_parse``)."""
    items = idx if type(idx) is tuple else (idx,)
    if len(items) > len(shape):
        return None
    basic = []
    full = True
    for d, ix in enumerate(items):
        t = type(ix)
        n = shape[d]
        if t is int:
            if not -n <= ix < n:
                return None
            basic.append(ix % n)
            full = False
        elif t is slice:
            a, b, c = ix.start, ix.stop, ix.step
            if not ((a is None or type(a) is int) and (b is None or type(b) is int)
                    and (c is None or (type(c) is int and c > 0))):
                return None
            r = ix.indices(n)
            basic.append(r)
            if r != (0, n, 1):
                full = False
        else:
            return None
    return (None if full else tuple(basic)), None


def _getitem_basic(self, idx):
    """``self[idx]`` for an int, a slice of ints, or a tuple of those that is not the identity
    (``x[0]``, ``x[1:3]``, ``x[:, 2]``): the view's structure and offsets in one pass over the
    index; None for anything else, including errors (left to ``_parse``)."""
    items = idx if type(idx) is tuple else (idx,)
    shape = self._shape_dtype()[0]
    if len(items) > len(shape):
        return None
    struct, starts = [], []
    full = True
    for d, ix in enumerate(items):
        t = type(ix)
        n = shape[d]
        if t is int:
            if not -n <= ix < n:
                return None
            struct.append("i")
            starts.append(ix % n)
            full = False
        elif t is slice:
            a, b, c = ix.start, ix.stop, ix.step
            if not ((a is None or type(a) is int) and (b is None or type(b) is int)
                    and (c is None or (type(c) is int and c > 0))):
                return None
            start, stop, step = ix.indices(n)
            size = len(range(start, stop, step))
            struct.append((size, step))
            starts.append(start)
            if size != n or step != 1:
                full = False
        else:
            return None
    if full:
        return None
    try:
        return _dispatch._apply_view(_basic_index_op, [self, tuple(starts)], (tuple(struct),))
    except _dispatch.SparseArgument:
        return None  # a sparse tensor: the general path hands it to jtorch.sparse


def _parse(self, idx):
    """Split an index into (basic, adv).

    ``basic``: normalized tuple for _basic_index, or None when it would be the identity.
    ``adv``: list of (dim of the basic view, index tensor or bool mask), or None."""
    shape = self._shape_dtype()[0]
    fast = _parse_basic(shape, idx)
    if fast is not None:
        return fast
    T = _dispatch.Tensor
    items = []
    for ix in _as_tuple(idx):
        if isinstance(ix, range):
            ix = list(ix)
        if isinstance(ix, (list, tuple, np.ndarray)):
            ix = _to_index_tensor(ix)
        elif isinstance(ix, np.bool_):
            ix = bool(ix)
        if isinstance(ix, T) and ix.ndim == 0 and not _is_tracer(ix._value):
            if ix.dtype is D.bool:
                ix = bool(ix.item())
            elif ix.dtype._cat == 1 and ix.dtype is not D.uint8:
                ix = int(ix.item())
        items.append(ix)
    consumed = 0
    for ix in items:
        if isinstance(ix, T):
            consumed += ix.ndim if ix.dtype in (D.bool, D.uint8) else 1
        elif not (ix is None or ix is Ellipsis or isinstance(ix, bool)):
            consumed += 1
    if consumed > len(shape):
        if not shape:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    basic, adv = [], []
    d = vd = 0  # dim of self consumed, dim of the basic view produced
    seen_ellipsis = False
    for ix in items:
        if ix is Ellipsis:
            n = 0 if seen_ellipsis else len(shape) - consumed
            seen_ellipsis = True
            basic.extend(slice(None).indices(shape[d + k]) for k in range(n))
            d += n
            vd += n
        elif ix is None or isinstance(ix, bool):
            basic.append(None)
            if isinstance(ix, bool):  # a new dim of size 1 or 0, indexed: an advanced index (a copy), as torch's
                adv.append((vd, T._wrap(jnp.zeros((int(ix),), jnp.int64))))
            vd += 1
        elif isinstance(ix, slice):
            start, stop, step = (_as_int(ix.start), _as_int(ix.stop), _as_int(ix.step))
            if step is not None and step <= 0:
                raise ValueError("step must be greater than zero")
            basic.append(slice(start, stop, step).indices(shape[d]))
            d += 1
            vd += 1
        elif isinstance(ix, T):
            if ix.dtype in (D.bool, D.uint8):
                for k in range(ix.ndim):
                    if ix.shape[k] != shape[d + k]:
                        raise IndexError(f"The shape of the mask {list(ix.shape)} at index {k} does not match the "
                                         f"shape of the indexed tensor {list(shape)} at index {d + k}")
                k = ix.ndim
            else:
                if ix.dtype._cat != 1:
                    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
                _check_bounds(ix, shape[d], d)
                k = 1
            basic.extend(slice(None).indices(shape[d + j]) for j in range(k))
            adv.append((vd, ix))
            d += k
            vd += k
        elif hasattr(ix, "__index__") and not isinstance(ix, T):
            n = shape[d]
            i = ix.__index__()
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {n}")
            basic.append(i % n)
            d += 1
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                             "are valid indices (got " + type(ix).__name__ + ")")
    full = all(isinstance(b, tuple) and b == (0, shape[k], 1) for k, b in enumerate(basic))
    return (None if full else tuple(basic)), (adv or None)


def _as_int(v):
    if v is None:
        return None
    return v.__index__()


def _to_index_tensor(ix):
    T = _dispatch.Tensor
    if isinstance(ix, (list, tuple)) and any(isinstance(i, T) for i in ix):
        from .join import stack
        return stack([i if isinstance(i, T) else T._wrap(jnp.asarray(i)) for i in ix])
    arr = np.asarray(ix)
    if arr.dtype == object:
        raise IndexError("only integers, slices, ellipsis, None and integer or boolean tensors are valid indices")
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "f":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return T._wrap(jnp.asarray(arr.astype(np.int64) if arr.dtype.kind in "iu" else arr))


@jax.jit
def _range_kernel(a):
    return jnp.stack([jnp.min(a), jnp.max(a)])


def index_range(a):
    """Concrete (min, max) of an index array, or None when unknown (traced) or empty."""
    if _is_tracer(a) or a.size == 0:
        return None
    # small indices: numpy on the host buffer is cheapest; large ones: reduce on the device
    lo, hi = (np.min(h := np.asarray(a)), np.max(h)) if a.size <= 65536 else np.asarray(_range_kernel(a))
    return int(lo), int(hi)


def _check_bounds(ix, n, d):
    if ix.is_meta:
        return  # no values to check (the gather itself is routed to _meta.route)
    r = index_range(ix._value)
    if r is None:
        return
    lo, hi = r
    if lo < -n or hi >= n:
        bad = lo if lo < -n else hi
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")


def _adv_template(adv):
    """Static template over the basic view's leading dims ("T": an index array, None: a full
    slice) and the index tensors. Bool masks become their nonzero() index tensors (eager)."""
    T = _dispatch.Tensor
    template, tensors = [], []
    for vd, ix in adv:
        template.extend([None] * (vd - len(template)))
        if ix.dtype in (D.bool, D.uint8):
            for a in jnp.nonzero(ix._value.astype(bool)):
                template.append("T")
                tensors.append(T._wrap(a))
        else:
            template.append("T")
            tensors.append(ix)
    return tuple(template), tensors


def _unbroadcast(g, shape):
    """Sum ``g`` down to ``shape`` (the gradient of a broadcast)."""
    g = g.sum(tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    return g.sum(tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1), keepdims=True) \
        if shape else g.reshape(())


def set_at(x, idx, v):
    """``x.at[idx].set(v)`` with torch's gradient: every write position, duplicates included,
    sends its output gradient to the value written (JAX credits only the write that won)."""
    idx = idx if isinstance(idx, tuple) else (idx,)
    spec = tuple(("S", i.start, i.stop, i.step) if isinstance(i, slice) else None for i in idx)
    arrays = tuple(i for i in idx if not isinstance(i, slice))
    return _set_at(spec, x, arrays, jnp.asarray(v, x.dtype) if jnp.issubdtype(x.dtype, jnp.inexact) else v)


def _rebuild(spec, arrays):
    it = iter(arrays)
    return tuple(slice(*s[1:]) if s is not None else next(it) for s in spec)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _set_at(spec, x, arrays, v):
    return x.at[_rebuild(spec, arrays)].set(jnp.asarray(v, x.dtype))


def _set_at_fwd(spec, x, arrays, v):
    return _set_at(spec, x, arrays, v), (arrays, v)


def _set_at_bwd(spec, res, g):
    arrays, v = res
    idx = _rebuild(spec, arrays)
    gv = _unbroadcast(g[idx], jnp.shape(v)).astype(v.dtype) if jnp.issubdtype(v.dtype, jnp.inexact) else None
    return g.at[idx].set(0), tuple(None for _ in arrays), gv


_set_at.defvjp(_set_at_fwd, _set_at_bwd)


def _build_index(template, arrays):
    it = iter(arrays)
    return tuple(next(it) if t == "T" else slice(None) for t in template)


@defop(method=False, function=False, seq=True, saves=("indices",))  # (torch keeps the indices)
def _adv_getitem(indices, x, template=()):
    return x[_build_index(template, indices)]


@defop(method=False, function=False, seq=True, saves=("indices",))
def _adv_setitem(indices, x, value, template=()):
    return set_at(x, _build_index(template, indices), value)


@defop(method=False, function=False, saves=("mask",))
def _mask_setitem(x, mask, value):
    m = mask.astype(bool).reshape(mask.shape + (1,) * (x.ndim - mask.ndim))
    return jnp.where(m, jnp.asarray(value, x.dtype), x)


def _getitem(self, idx):
    r = _getitem_basic(self, idx)
    if r is not None:
        return r
    basic, adv = _parse(self, idx)
    view = self if basic is None else _basic_index(self, index=basic)
    if adv is None:
        return view if basic is not None else _basic_index(self, index=())
    template, tensors = _adv_template(adv)
    return _adv_getitem(tensors, view, template=template)


def _strip_leading_ones(value, ndim):
    # torch lets the value carry extra leading size-1 dims
    extra = value.ndim - ndim
    if extra > 0 and all(s == 1 for s in value.shape[:extra]):
        return value.reshape(tuple(value.shape)[extra:])
    return value


def _setitem(self, idx, value):
    T = _dispatch.Tensor
    if not isinstance(value, (T, int, float, complex, jax.Array)) or isinstance(value, np.generic):
        # like torch: only numbers and tensors (not lists, tuples or numpy values)
        mod = type(value).__module__
        kind = type(value).__name__ if mod == "builtins" else f"{mod}.{type(value).__name__}"
        raise TypeError(f"can't assign a {kind} to a torch.{self.type_name()}")
    if not isinstance(value, (T, jax.Array)):
        from .creation import check_scalar_fits
        value = check_scalar_fits(value, self.dtype)  # (a complex number into a real tensor, an int out of range)
    # a full-shape (or leading) bool mask with a one-element value: a where(), no host sync
    if isinstance(idx, T) and idx.dtype is D.bool and 0 < idx.ndim <= self.ndim and \
            tuple(idx.shape) == tuple(self.shape[:idx.ndim]) and \
            (not isinstance(value, T) or value.numel() == 1):
        if isinstance(value, T):
            from .creation import check_value_fits
            check_value_fits(value, self.dtype)
        v = value if not isinstance(value, T) else value.reshape(()).to(self.dtype)
        self._check_inplace()
        return self._write(_mask_setitem(self, idx, v))
    basic, adv = _parse(self, idx)
    view = self if basic is None else _basic_index(self, index=basic)
    view._check_inplace()  # torch writes through the view: its error names the view
    if adv is None:
        if isinstance(value, T):
            value = _strip_leading_ones(value, view.ndim)
        view.copy_(value)
        return
    if isinstance(value, T):
        if value.dtype is not self.dtype:
            raise RuntimeError("Index put requires the source and destination dtypes match, got "
                               f"{D.scalar_type_name(self.dtype)} for the destination and {D.scalar_type_name(value.dtype)} "
                               "for the source.")
        value = _strip_leading_ones(value, view.ndim)
    template, tensors = _adv_template(adv)
    view._write(_adv_setitem(tensors, view, value, template=template))


function(_getitem, method=False, name="_getitem")
function(_setitem, method=False, name="_setitem")

"""Tensor indexing (``t[...]`` and ``t[...] = v``) with torch's rules and errors,
and the write-through ops that views use.

Basic indices (ints, slices, None, ...) give a view. Advanced indices (integer
tensors, lists, bool masks) gather; their values are checked eagerly, since JAX
would clamp an out-of-range index silently where torch raises IndexError.
"""
import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .._dispatch import defop, function
from .. import _dispatch
from .shape import _basic_index


# ---- view plumbing (used by Tensor._write and view grad_fn regeneration)
def _apply_chain(x, chain):
    for op, statics in chain:
        x = op.pure(statics, None)(x)
    return x


@defop(method=False, function=False, saves=())
def view_chain(x, chain=()):
    return _apply_chain(x, chain)


@defop(method=False, function=False, saves=())
def view_scatter(base, new, chain=()):
    idx = _apply_chain(jnp.arange(base.size).reshape(base.shape), chain)
    new = jnp.broadcast_to(jnp.asarray(new, base.dtype), idx.shape)
    return base.ravel().at[idx.ravel()].set(new.ravel()).reshape(base.shape)


# ---- parsing an index
def _is_tracer(a):
    return isinstance(a, jax.core.Tracer)


def _normalize(self, idx):
    """Split an index into a static basic part and advanced tensor parts.

    Returns (basic, adv) where ``basic`` is a tuple for _basic_index or None if
    advanced indices are present; then ``adv`` is (template, arrays)."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    shape = tuple(self.shape)
    T = _dispatch.Tensor
    # expand bool masks / lists / arrays into tensors; count consumed dims
    items = []
    for ix in idx:
        if isinstance(ix, (list, np.ndarray)) or (isinstance(ix, tuple)):
            ix = _to_index_tensor(ix)
        if isinstance(ix, T) and ix.ndim == 0 and ix.dtype._cat == 1 and not _is_tracer(ix._value):
            ix = int(ix.item())
        items.append(ix)
    consumed = sum(ix.ndim if isinstance(ix, T) and ix.dtype in (D.bool, D.uint8) else
                   (0 if ix is None or ix is Ellipsis or isinstance(ix, bool) else 1) for ix in items)
    if sum(1 for ix in items if ix is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    out, d, advanced = [], 0, False
    for ix in items:
        if ix is Ellipsis:
            n = len(shape) - consumed
            out.extend([(None, None, None)] * n)
            d += n
        elif ix is None:
            out.append(None)
        elif isinstance(ix, bool):
            out.append(ix)
            advanced = True
        elif isinstance(ix, slice):
            n = shape[d]
            start, stop, step = (_as_int(ix.start), _as_int(ix.stop), _as_int(ix.step))
            if step is not None and step <= 0:
                raise ValueError("step must be greater than zero")
            out.append(slice(start, stop, step).indices(n))
            d += 1
        elif isinstance(ix, T):
            if ix.dtype in (D.bool, D.uint8):
                for k in range(ix.ndim):
                    if ix.shape[k] != shape[d + k]:
                        raise IndexError(f"The shape of the mask {list(ix.shape)} at index {k} does not match the "
                                         f"shape of the indexed tensor {list(shape)} at index {d + k}")
                d += ix.ndim
            else:
                if ix.dtype._cat != 1:
                    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
                _check_bounds(ix, shape[d], d)
                d += 1
            out.append(ix)
            advanced = True
        elif hasattr(ix, "__index__"):
            n = shape[d]
            i = ix.__index__()
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {n}")
            out.append(i % n)
            d += 1
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                             "are valid indices (got " + type(ix).__name__ + ")")
    if not advanced:
        return tuple(out), None
    return None, out


def _as_int(v):
    if v is None:
        return None
    return v.__index__()


def _to_index_tensor(ix):
    arr = np.asarray(ix)
    if arr.dtype == object:
        raise IndexError("only integers, slices, ellipsis, None and integer or boolean tensors are valid indices")
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "f":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return _dispatch.Tensor._wrap(jnp.asarray(arr.astype(np.int64) if arr.dtype.kind in "iu" else arr))


def _check_bounds(ix, n, d):
    a = ix._value
    if _is_tracer(a) or a.size == 0:
        return
    lo, hi = int(jnp.min(a)), int(jnp.max(a))
    if lo < -n or hi >= n:
        bad = lo if lo < -n else hi
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")


def _adv_template(items):
    """Static template (with placeholders for index arrays) and the index tensors.
    Bool masks become their nonzero() index tensors (eager)."""
    T = _dispatch.Tensor
    template, tensors = [], []
    for ix in items:
        if isinstance(ix, T):
            if ix.dtype in (D.bool, D.uint8):
                nz = jnp.nonzero(ix._value.astype(bool))
                for a in nz:
                    template.append("T")
                    tensors.append(T._wrap(a))
            else:
                template.append("T")
                tensors.append(ix)
        elif isinstance(ix, bool):
            template.append(("B", ix))
        else:
            template.append(ix)
    return tuple(template), tensors


def _build_index(template, arrays):
    it = iter(arrays)
    idx = []
    for t in template:
        if t == "T":
            idx.append(next(it))
        elif isinstance(t, tuple) and len(t) == 2 and t[0] == "B":
            idx.append(jnp.asarray(t[1]))
        elif isinstance(t, tuple):
            idx.append(slice(*t))
        else:
            idx.append(t)
    return tuple(idx)


@defop(method=False, function=False, seq=True, saves=())
def _adv_getitem(indices, x, template=()):
    return x[_build_index(template, indices)]


@defop(method=False, function=False, seq=True)
def _adv_setitem(indices, x, value, template=()):
    v = jnp.asarray(value, x.dtype)
    return x.at[_build_index(template, indices)].set(v)


@defop(method=False, function=False)
def _mask_setitem(x, mask, value):
    m = mask.astype(bool).reshape(mask.shape + (1,) * (x.ndim - mask.ndim))
    return jnp.where(m, jnp.asarray(value, x.dtype), x)


def _getitem(self, idx):
    basic, adv = _normalize(self, idx)
    if adv is None:
        return _basic_index(self, index=basic)
    template, tensors = _adv_template(adv)
    return _adv_getitem(tensors, self, template=template)


def _setitem(self, idx, value):
    self._check_inplace()
    T = _dispatch.Tensor
    if not isinstance(value, T):
        if isinstance(value, (list, tuple, np.ndarray)):
            value = T._wrap(jnp.asarray(np.asarray(value), self.dtype.np))
    elif value.dtype is not self.dtype:
        value = value.to(self.dtype)
    # a full-shape (or leading) bool mask with a broadcastable value: a where(), no host sync
    if isinstance(idx, T) and idx.dtype is D.bool and idx.ndim <= self.ndim and \
            tuple(idx.shape) == tuple(self.shape[:idx.ndim]) and \
            (not isinstance(value, T) or value.numel() == 1):
        v = value if not isinstance(value, T) else value.reshape(())
        return self._write(_mask_setitem(self, idx, v))
    basic, adv = _normalize(self, idx)
    if adv is None:
        view = _basic_index(self, index=basic)
        if isinstance(value, T) and value.ndim > view.ndim:
            value = value.reshape(tuple(value.shape)[value.ndim - view.ndim:]) \
                if all(s == 1 for s in value.shape[:value.ndim - view.ndim]) else value
        view.copy_(value)
        return
    template, tensors = _adv_template(adv)
    self._write(_adv_setitem(tensors, self, value, template=template))


function(_getitem, method=False, name="_getitem")
function(_setitem, method=False, name="_setitem")

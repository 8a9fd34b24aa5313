"""``view(dtype)`` to or from complex32: a storage that reads another storage's bytes as another dtype.

A complex32 storage holds complex64 values (``_chalf.ChalfArray``), so a complex32 view of a float16 or int32
tensor (or a float16/int32/uint8 view of a complex32 one) cannot be a view chain over its root array: the
bytes differ. Such a view is instead a strided view (``_storage_view``, as ``as_strided``) of a
``ReinterpretedStorage``: the source storage's bytes, in its buffer order, read as a flat array of the view's
dtype. That storage keeps no data of its own: reading it converts the source's current bytes (once per
source write), writing it puts the changed elements' bytes back into the source, and its version counter and
``data_ptr`` are the source's. So a write through either side is seen on the other, ``_version`` moves on
both, and ``untyped_storage()`` is the same, as in torch.

Plain storages pay nothing for this: only this subclass's ``_arr`` and ``version`` are properties.
Limit: complex32 values live as complex64 here, so a half whose bits are a signalling NaN reads quieted
through a complex32 view (and through views of a complex32 tensor's own storage). A write through such a view
puts back only the elements it changed: the others keep their source bytes exactly. So a bool view of a
complex32 tensor written with the value an element already reads as (True for a nonzero byte) keeps that
byte, where torch stores 1.
"""
import functools
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from . import _bits
from . import _chalf
from . import _dtype as D
from ._lazy import Pending
from .tensor import Storage, address, _ADDRESSES

_F16, _U8 = np.dtype(np.float16), np.dtype(np.uint8)


class ReinterpretedStorage(Storage):
    """Storage ``src``'s bytes (buffer order) as a flat array of ``dtype`` (numpy dtype; complex32's for a
    ChalfArray), whole elements only."""
    __slots__ = ("src", "dtype", "_cache", "_seen")

    def __init__(self, src, dtype):
        self.src, self.dtype, self._cache, self._seen = src, dtype, None, None
        self.host, self.alias, self.shadow = None, False, None
        _ADDRESSES[self] = address(src)  # (its data_ptr is the source's)

    @property
    def _arr(self):
        src = self.src
        if self._seen is not src._arr or src.host is not None:
            root, src_dt = _source_values(src)
            out = _read(root, src_dt, src.layout, self.dtype)
            self._cache = _chalf.ChalfArray(out) if self.dtype == _chalf.NP else out
            self._seen = src._arr
        return self._cache

    @_arr.setter
    def _arr(self, new):
        if type(new) is Pending:
            new = new.get()
        old = self._arr  # (current: the elements to compare with)
        src = self.src
        root, src_dt = _source_values(src)
        unwrap = (lambda a: a.data) if self.dtype == _chalf.NP else (lambda a: a)
        out = _write(root, src_dt, src.layout, unwrap(old), unwrap(new), self.dtype)
        src._arr = _chalf.ChalfArray(out) if src_dt == _chalf.NP else out
        self._cache, self._seen = new, src._arr
        if src.host is not None:
            from .interop import write_host
            write_host(src)

    @property
    def version(self):
        return self.src.version

    @version.setter
    def version(self, v):
        self.src.version = v

    @property
    def inference(self):
        return self.src.inference


def _source_values(src):
    """Storage ``src``'s root values (complex32: its complex64 array) and their dtype (complex32's numpy one)."""
    if type(src._arr) is _chalf.ChalfArray:
        return src._arr.data, _chalf.NP
    from ._storage import _root_tensor
    root = _root_tensor(src)._value
    return root, np.dtype(root.dtype)


# (id(source storage), numpy dtype) -> its ReinterpretedStorage while a tensor uses it (which keeps the source
# alive, so the id stays the source's)
_DERIVED = weakref.WeakValueDictionary()


def _storage_as(src, dtype):
    st = _DERIVED.get((id(src), dtype))
    if st is None:
        st = _DERIVED[(id(src), dtype)] = ReinterpretedStorage(src, dtype)
    return st


# ---------------------------------------------------------------- bytes
def _as_bytes(x, dtype):
    """Flat uint8 bytes of array ``x`` holding elements of ``dtype`` (complex32: complex64 values)."""
    if dtype == _chalf.NP:
        x = jnp.stack([jnp.real(x).astype(_F16), jnp.imag(x).astype(_F16)], -1)
    return _bits.to_words(x, _U8).reshape(-1)


def _from_bytes(b, dtype):
    """Elements of ``dtype`` from flat bytes ``b`` (whole elements)."""
    if dtype == _chalf.NP:
        halves = _bits.from_words(b.reshape(-1, 2, 2), _F16).astype(jnp.float32)
        return jax.lax.complex(halves[:, 0], halves[:, 1])
    return _bits.from_words(b.reshape(-1, dtype.itemsize), dtype)


def _buffer(root, order):
    return root if order is None else jnp.transpose(root, order)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _read(root, src_dt, order, dtype):
    b = _as_bytes(_buffer(root, order), src_dt)
    return _from_bytes(b[:b.size - b.size % dtype.itemsize], dtype)


@functools.partial(jax.jit, static_argnums=(1, 2, 5))
def _write(root, src_dt, order, old, new, dtype):
    """The source root with the bytes of the elements that differ (bitwise) between ``old`` and ``new``
    replaced by ``new``'s."""
    k = dtype.itemsize
    old_b, new_b = _as_bytes(old, dtype).reshape(-1, k), _as_bytes(new, dtype).reshape(-1, k)
    changed = jnp.any(old_b != new_b, axis=-1, keepdims=True)
    buf = _buffer(root, order)
    b = _as_bytes(buf, src_dt)
    n = new_b.size
    b = b.at[:n].set(jnp.where(changed, new_b, b[:n].reshape(-1, k)).reshape(-1))
    out = _from_bytes(b, src_dt).reshape(buf.shape)
    if order is None:
        return out
    return jnp.transpose(out, np.argsort(order))


# ---------------------------------------------------------------- the view
def reinterpreted_view(t, dtype):
    """``t.view(dtype)`` where ``t`` or ``dtype`` is complex32 (torch's size conditions already checked): a
    view of ``t``'s storage read as ``dtype``, at ``t``'s byte offset and strides."""
    from ._ops.strided import _storage_view
    from ._storage import _root_tensor
    st = t._st
    src = st.src if type(st) is ReinterpretedStorage else st
    a, b = t.element_size(), dtype.itemsize
    shape, strides = tuple(t.shape), tuple(t.stride())
    if a != b:
        shape = shape[:-1] + (shape[-1] * a // b,)
        strides = tuple(s * a // b for s in strides[:-1]) + (1,)
    want = np.dtype(dtype.np)
    if want == src._arr.dtype:  # back to the source's own dtype: a view of the source itself
        root, order = _root_tensor(src), src.layout
    else:
        root, order = _root_tensor(_storage_as(src, want)), None
    return _storage_view(root, offset=t.storage_offset() * a // b, size=shape, stride=strides, order=order)._alias()


def supported(t):
    """Whether ``t``'s storage can be read as bytes here (not a meta, wrapper or traced one)."""
    from . import _dispatch
    from ._meta import MetaArray
    st = t._st
    src = st.src if type(st) is ReinterpretedStorage else st
    a = src._arr
    return (_dispatch.TRACE is None and not _dispatch.TRANSFORMS.depth and not isinstance(a, MetaArray)
            and not isinstance(a, jax.core.Tracer))

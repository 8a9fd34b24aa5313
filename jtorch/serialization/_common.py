"""Shared by writing and reading: torch's storage names, tensor layouts over a storage, Parameters."""
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dispatch
from .. import _dtype as D
from .._chalf import ChalfArray
from .._meta import MetaArray
from .._bits import from_words, to_words, word_type
from .._ops.dtype_views import position_offset
from .._size import contiguous_strides
from .._memfmt import buffer_array, buffer_positions


DEFAULT_PROTOCOL = 2
_ALIGN = 64
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_LEGACY_PROTOCOL = 1001

# torch storage class name <-> dtype
_STORAGE_NAMES = {
    D.float32: "FloatStorage", D.float64: "DoubleStorage", D.float16: "HalfStorage",
    D.bfloat16: "BFloat16Storage", D.int64: "LongStorage", D.int32: "IntStorage",
    D.int16: "ShortStorage", D.int8: "CharStorage", D.uint8: "ByteStorage", D.bool: "BoolStorage",
    D.complex64: "ComplexFloatStorage", D.complex128: "ComplexDoubleStorage",
    D.qint8: "QInt8Storage", D.quint8: "QUInt8Storage", D.qint32: "QInt32Storage",  # quantized tensors' integers
}
_STORAGE_DTYPES = {v: k for k, v in _STORAGE_NAMES.items()}
# dtypes without a legacy storage class: torch writes them as bytes (UntypedStorage) rebuilt
# by _rebuild_tensor_v3, which names the dtype (complex32 too: a pair of float16s per element)
_UNTYPED = (D.uint16, D.uint32, D.uint64, D.complex32)


def _T():
    return _dispatch.Tensor


# ====================================================================== layout of views
_contiguous = contiguous_strides  # the name the serialization modules use


def _layout(t):
    """(root array, storage offset, strides) of tensor ``t`` over its storage's root array,
    in elements; None when the view's elements do not form a strided pattern."""
    st = t._st
    chalf = type(st._arr) is ChalfArray
    if chalf:  # (no jax value to read: the root's complex64 values, _chalf.py)
        root = st._arr
    else:
        t._value  # brings a numpy-shared storage up to date
        root = st.array
    order = None if chalf else st.layout  # a laid storage (_memfmt.py): its buffer in its dim order
    if not t._vfn:
        return (root, 0, _contiguous(root.shape)) if order is None else (buffer_array(root, order), 0, t.stride())
    shape = tuple(t.shape)
    n = math.prod(shape)
    if n == 0:
        return root, 0, t.stride()
    if _reinterprets(t):
        return None if chalf or order is not None else _reinterpreted_layout(t, root, shape)
    if root.dtype != t._shape_dtype()[1]:
        return None
    f = _dispatch.chain_fn(t._vfn)
    with jax.ensure_compile_time_eval():  # (metadata: concrete inside jtorch.compile's trace too)
        idx = np.asarray(f(jnp.asarray(buffer_positions(root.shape, order))))
    return _strided(t, idx, buffer_array(root, order), shape)


def _reinterpreted_layout(t, root, shape):
    """_layout of a view through reinterpreting views (view(dtype), real, imag, view_as_real, view_as_complex):
    over torch's storage read as the view's dtype, the root's bytes."""
    dt = np.dtype(t._shape_dtype()[1])
    if root.nbytes % dt.itemsize:
        return None  # (no whole elements to read the storage as)
    pos = _dispatch.view_bytes(t._vfn, root.shape, root.dtype.itemsize)
    word = word_type(root.dtype, dt)
    buf = from_words(to_words(root, word).reshape(-1, dt.itemsize // word.itemsize), dt)
    return _strided(t, pos // dt.itemsize, buf, shape)


def _strided(t, idx, buffer, shape):
    """(buffer, offset, strides) where ``idx`` (each element's position in ``buffer``) is strided, else None."""
    offset = int(idx.reshape(-1)[0])
    strides = []
    for d, size in enumerate(shape):
        if size > 1:
            sel = [0] * len(shape)
            sel[d] = 1
            strides.append(int(idx[tuple(sel)]) - offset)
        else:
            strides.append(t.stride()[d])
    expect = offset + sum(np.arange(s).reshape([-1 if i == d else 1 for i in range(len(shape))]) * st_
                          for d, (s, st_) in enumerate(zip(shape, strides))) if shape else np.int64(offset)
    if not np.array_equal(np.broadcast_to(expect, shape), idx) or min(strides, default=0) < 0:
        return None
    return buffer, offset, tuple(strides)


def storage_offset(t):
    if _reinterprets(t) or type(t._st._arr) is MetaArray or t._vfn and 0 in t._shape_dtype()[0]:
        return position_offset(t)  # (a meta root or an empty view: from shapes alone)
    lay = _layout(t)
    return 0 if lay is None else lay[1]


def _reinterprets(t):
    return any(op.positions for op, _, _ in t._vfn)


# torch's storage-level view (offset + sum(i_k * stride_k) of the flat root), used to rebuild loaded
# tensors that share a storage; the same op as Tensor.as_strided
from .._ops.strided import _storage_view  # noqa: E402,F401


def _is_parameter(obj):
    return any(c.__name__ == "Parameter" and c.__module__.startswith("jtorch") for c in type(obj).__mro__)


def _attribute_state(t):
    """The Python attributes a user set on a plain Tensor or Parameter (``t.tag = ...``; what code that
    named its dims before torch 2.13 removed named tensors keeps, e.g. ``t.names``), which torch's save,
    pickle and deepcopy carry along: a copy of ``t.__dict__``, or None when there are none. jtorch's own
    subclasses (sparse, quantized, uninitialized) keep their internals there and are left out."""
    d = t.__dict__
    if not d or all(k in _INTERNAL for k in d):
        return None
    cls = type(t)
    if cls is not _T() and not (cls.__name__ == "Parameter" and cls.__module__ == "jtorch.nn.parameter"):
        return None
    return {k: v for k, v in d.items() if k not in _INTERNAL}


_INTERNAL = ("_vc", "_cm", "_cmv", "_detached")  # tensor.py's own state kept in the instance dict


def _set_attribute_state(t, state):
    """Restore what ``_attribute_state`` saved (torch's state: a dict, or (dict, slots) for classes with
    slots). Into the instance dict: a key naming one of Tensor's own slots or properties cannot shadow it."""
    if isinstance(state, tuple) and len(state) == 2:
        state = state[0]
    if isinstance(state, dict):
        t.__dict__.update((k, v) for k, v in state.items() if isinstance(k, str))
    return t



def _parameter(t, requires_grad):
    try:
        from ..nn import Parameter
    except ImportError:
        Parameter = None
    if Parameter is None:
        t.requires_grad = bool(requires_grad)
        return t
    return Parameter(t, requires_grad=bool(requires_grad))

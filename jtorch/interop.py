"""Bridges to numpy, DLPack and JAX (and to real torch tensors when torch is installed).

numpy memory sharing (``from_numpy``, ``Tensor.numpy()``)
---------------------------------------------------------
JAX arrays are immutable, so a CPU tensor that shares memory with numpy keeps the
numpy buffer on its Storage (``Storage.host``) and its jax array *aliases* that buffer
when it can: XLA's CPU client wraps a C-contiguous buffer that starts on a 64-byte
boundary without copying (``jax.device_put``), so it reads the numpy memory directly.

The guarantee, for a tensor ``t`` and an ndarray ``a`` that share memory
(``t = from_numpy(a)`` or ``a = t.numpy()``; views of either side included):

* a write through jtorch (any in-place op, ``t[i] = v``, ``copy_``, writes through a
  view) is visible in ``a`` as soon as the op returns: the new value is copied into
  the buffer and the jax array re-aliases it;
* a write through numpy (``a[...] = v``, ``np.add(a, 1, out=a)``) is visible to every
  jtorch op dispatched after it. Buffers that XLA can alias (all those ``t.numpy()``
  creates, and 64-byte aligned C-contiguous arrays given to ``from_numpy``) are read in
  place; any other array given to ``from_numpy`` (unaligned or strided) of at most
  ``REREAD_LIMIT`` bytes (64 KiB) is re-read into the tensor each time jtorch reads it (a
  copy per read, for these tensors only). A larger array that XLA cannot alias is copied
  once: numpy-side writes to it after ``from_numpy`` are NOT seen by jtorch (jtorch-side
  writes still reach it). Re-reading a data set on every ``dataset[i]`` would cost a full
  copy per item; for large arrays that must stay shared both ways, pass a 64-byte aligned
  array or use ``t.numpy()``, which always allocates one;
* as in torch, numpy writes do not bump the tensor's version counter. Unlike torch, JAX
  dispatches ops asynchronously: an op dispatched *before* a numpy write and not finished
  yet may read the new values. Anything that waits for a result (``.item()``, ``print``,
  ``.numpy()``/``.tolist()`` of it) orders the two. jtorch's own in-place writes are
  ordered: the buffer is written only after the new value is computed, and XLA's CPU
  client runs computations in dispatch order, so earlier readers are done by then.

A tensor in a memory format (``channels_last``, a pointwise result of a transposed tensor:
_memfmt.py) of at most ``REREAD_LIMIT`` bytes gets a buffer in its own dim order, so the
ndarray has the tensor's strides as torch's does; XLA cannot alias such a buffer, so it is
re-read as above. A larger one keeps a row-major buffer (shared both ways without copies;
the ndarray's strides are then the row-major ones, unlike torch's).

Tensors that never met numpy pay nothing: ``Storage.host`` is None and reads stay a
plain attribute load. ``np.asarray(t)`` on such a tensor gives a read-only zero-copy
view of its jax array (writing it raises); ``t.numpy()`` gives a writable shared array.

DLPack and JAX
--------------
``Tensor.__dlpack__``, ``to_dlpack``/``from_dlpack`` (objects or capsules),
``jtorch.from_jax(array)`` and ``Tensor.jax()`` pass jax arrays without copies;
``to_jax``/``from_jax`` map a whole pytree.
"""
import ctypes
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from . import _dispatch
from . import _chalf
from . import _dtype as D

_ALIGN = 64
REREAD_LIMIT = 1 << 16


def _T():
    return _dispatch.Tensor


def _cpu():
    return jax.local_devices(backend="cpu")[0]


# ------------------------------------------------------------------ host buffers
def _aligned_empty(shape, dtype):
    """A C-contiguous numpy array whose data starts on a 64-byte boundary (XLA can alias it)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    off = (-raw.ctypes.data) % _ALIGN
    return raw[off:off + nbytes].view(dtype).reshape(shape)


def _alias_host(a, jd=None):
    """A jax CPU array reading numpy array ``a`` in place, or None when XLA would copy."""
    if jd is not None and jd.platform != "cpu":
        return None
    if a.size == 0 or not a.flags.c_contiguous or a.ctypes.data % _ALIGN:
        return None
    arr = jax.device_put(a, jd or _cpu())
    try:
        if arr.unsafe_buffer_pointer() != a.ctypes.data:
            return None
    except Exception:
        return None
    return arr


def sync_host(st):
    """Re-read a host buffer that the jax array does not alias (numpy-side writes).
    ``st.shadow`` is the content last read: an unchanged buffer costs one memcmp."""
    if isinstance(st.array, jax.core.Tracer):
        return  # inside a trace (jtorch.compile) the traced value is the truth
    shadow = getattr(st, "shadow", None)
    if shadow is not None and _same_bytes(st.host, shadow):
        return
    st.shadow = np.array(st.host)
    st.array = jax.device_put(st.shadow, _cpu())


def _same_bytes(a, b):
    # re-read buffers are small (REREAD_LIMIT): two copies and a memcmp beat elementwise compares
    return a.tobytes() == b.tobytes()


def write_host(st):
    """After jtorch replaced ``st.array`` in place: copy it into the shared buffer and re-alias."""
    if isinstance(st.array, jax.core.Tracer):
        return
    st.host[...] = np.asarray(st.array)
    st.shadow = None
    if st.alias == "snapshot":
        return
    if st.alias:
        arr = _alias_host(st.host)
        if arr is None:
            st.alias = False
        else:
            st.array = arr


def _attach_host(st, host):
    arr = _alias_host(host)
    st.host = host
    st.alias = arr is not None
    if arr is None and host.nbytes > REREAD_LIMIT:
        st.alias = "snapshot"  # copied once; see the module docstring
    st.array = arr if arr is not None else jax.device_put(np.array(host), _cpu())


def from_numpy_shared(a):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    if not a.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. Conversion "
                         "between byte orders is currently not supported.")
    D.from_numpy_dtype(a.dtype)
    if any(s < 0 for s in a.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors with negative "
                         "strides are not currently supported. (You can probably work around this by making a "
                         "copy of your array  with array.copy().) ")
    if not a.flags.writeable:
        warnings.warn("The given NumPy array is not writable, and PyTorch does not support non-writable "
                      "tensors. This means writing to this tensor will result in undefined behavior. You may "
                      "want to copy the array to protect its data or make it writable before converting it to "
                      "a tensor. This type of warning will be suppressed for the rest of this program.",
                      UserWarning, stacklevel=3)
    t = _T()._wrap(None)
    _attach_host(t._st, a)
    return t


def shared_numpy(t):
    """``t.numpy()``: a writable ndarray sharing memory with ``t`` (see the module docstring)."""
    st = t._st
    if type(st._arr) is _chalf.ChalfArray:  # a float16 view of complex32 data: no numpy buffer to share
        return np.array(_chalf.value(t))
    if st.host is None:
        arr = st.array
        order = st.layout  # a memory format (_memfmt.py): a small buffer is laid out as torch's, with its strides
        if order is not None and arr.nbytes <= REREAD_LIMIT:
            inv = np.argsort(order)
            host = _aligned_empty([arr.shape[d] for d in order], arr.dtype)
            host[...] = np.asarray(arr).transpose(order)
            host = host.transpose(inv)  # (not C-contiguous: XLA cannot alias it, re-read on access)
        else:
            host = _aligned_empty(arr.shape, arr.dtype)
            host[...] = np.asarray(arr)
        _attach_host(st, host)
    host = st.host
    if not t._vfn:
        return host
    return _host_view(t, host)


def strided_array(t):
    """``np.asarray(t)`` for a tensor whose strides are not row-major (a view, a memory format): an
    ndarray with torch's strides, as torch's shares the tensor's memory. Over the numpy buffer
    ``t.numpy()`` shares where there is one; else read-only, over the root's jax array (no copy)
    or, for a laid storage, over a copy in its buffer order. None where the plain value serves."""
    st = t._st
    if st.host is not None and not t._requires_grad:
        return shared_numpy(t)
    if t.is_contiguous() or t.numel() == 0:
        return None
    from .serialization._common import _layout
    from ._meta import MetaArray
    from ._chalf import ChalfArray
    if type(st._arr) in (MetaArray, ChalfArray):
        return None  # (their errors come from the plain road)
    got = _layout(t)
    if got is None:
        return None
    buf, offset, strides = got
    flat = np.asarray(buf).reshape(-1)
    size = flat.itemsize
    return np.lib.stride_tricks.as_strided(flat[offset:], tuple(t.shape), [s * size for s in strides],
                                           writeable=False)


def _host_view(t, host):
    """The ndarray view of ``host`` holding view tensor ``t``'s elements."""
    shape = tuple(t.shape)
    if any(op.positions for op, _, _ in t._vfn):
        return _host_reinterpreted_view(t, host, shape)
    if host.ndim == 0:  # a view of a 0-d tensor (reshape, expand): its one element at every index
        return np.lib.stride_tricks.as_strided(host, shape, (0,) * len(shape))
    idx = np.asarray(_dispatch.chain_fn(t._vfn)(jnp.arange(host.size, dtype=jnp.int64).reshape(host.shape)))
    if idx.size == 0:
        return np.empty(shape, host.dtype)
    coords = np.unravel_index(idx, host.shape)
    byte = sum((c.astype(np.int64) * s for c, s in zip(coords, host.strides)), np.zeros(shape, np.int64))
    b0 = int(byte.reshape(-1)[0])
    strides = []
    for d, n in enumerate(shape):
        if n > 1:
            sel = [0] * len(shape)
            sel[d] = 1
            strides.append(int(byte[tuple(sel)]) - b0)
        else:
            strides.append(host.itemsize)
    expect = b0 + sum((np.arange(n, dtype=np.int64) * s).reshape([-1 if i == d else 1 for i in range(len(shape))])
                      for d, (n, s) in enumerate(zip(shape, strides)))
    if not np.array_equal(np.broadcast_to(expect, shape), byte):
        # not a strided view of the buffer (cannot happen for torch's view ops): no sharing possible
        return np.array(t._value)
    start = host[tuple(slice(int(c.reshape(-1)[0]), None) for c in coords)] if host.ndim else host
    return np.lib.stride_tricks.as_strided(start, shape, strides)


def _host_reinterpreted_view(t, host, shape):
    """_host_view of a view through reinterpreting views (view(dtype), real, imag, view_as_real,
    view_as_complex): its elements' bytes among ``host``'s."""
    dt = np.dtype(t._shape_dtype()[1])
    if math.prod(shape) == 0:
        return np.empty(shape, dt)
    elem, within = np.divmod(_dispatch.view_bytes(t._vfn, host.shape, host.itemsize), host.itemsize)
    coords = np.unravel_index(elem, host.shape) if host.ndim else ()
    byte = sum((c * s for c, s in zip(coords, host.strides)), within)
    b0 = int(byte.reshape(-1)[0])
    strides = tuple(int(byte[tuple(1 if i == d else 0 for i in range(len(shape)))]) - b0 if n > 1
                    else s * dt.itemsize for d, (n, s) in enumerate(zip(shape, t.stride())))
    return np.asarray(_Memory(host, shape, strides, dt, b0))


class _Memory:
    """An ndarray's memory seen as ``shape``/``strides``/``dtype`` from byte ``offset`` (numpy's array
    interface; the result keeps ``owner`` alive)."""

    def __init__(self, owner, shape, strides, dtype, offset):
        iface = owner.__array_interface__
        self.owner = owner
        self.__array_interface__ = {"shape": tuple(shape), "strides": tuple(strides), "typestr": dtype.str,
                                    "data": (iface["data"][0] + offset, False), "version": 3}


# ------------------------------------------------------------------ jax
def from_jax(array):
    """A jtorch Tensor over a jax array (no copy); for a pytree (dict, list, tuple...), the same
    pytree with every jax array replaced by a Tensor over it."""
    if isinstance(array, jax.Array):
        D.from_numpy_dtype(array.dtype)
        return _T()._wrap(array)
    if not jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(array)):
        return from_jax_tree(array)
    raise TypeError(f"from_jax expects a jax.Array or a pytree of them, got {type(array).__name__}")


def to_jax(tree):
    """Replace every jtorch Tensor in a pytree by its jax array (no copies)."""
    T = _T()
    return jax.tree_util.tree_map(lambda x: x._value if isinstance(x, T) else x, tree,
                                  is_leaf=lambda x: isinstance(x, T))


def from_jax_tree(tree):
    """Replace every jax array in a pytree by a jtorch Tensor over it (no copies)."""
    T = _T()
    return jax.tree_util.tree_map(lambda x: T._wrap(x) if isinstance(x, jax.Array) else x, tree)


# ------------------------------------------------------------------ dlpack
class _Capsule:
    """Gives a bare DLPack capsule the ``__dlpack__`` protocol jax's importer expects."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, *args, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        get = ctypes.pythonapi.PyCapsule_GetPointer
        get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        ptr = get(self.capsule, b"dltensor")
        # DLManagedTensor starts with DLTensor { void* data; DLDevice { int32 type; int32 id } ... }
        dev = (ctypes.c_int32 * 2).from_address(ptr + ctypes.sizeof(ctypes.c_void_p))
        return int(dev[0]), int(dev[1])


def from_dlpack(ext):
    """A tensor sharing memory with a DLPack producer (an object with ``__dlpack__``, or a capsule)."""
    T = _T()
    if isinstance(ext, T):
        return ext
    if isinstance(ext, np.ndarray):
        return from_numpy_shared(ext)
    if isinstance(ext, jax.Array):
        return from_jax(ext)
    if type(ext).__name__ == "PyCapsule":
        ext = _Capsule(ext)
    elif not hasattr(ext, "__dlpack__"):
        raise TypeError(f"from_dlpack expects an object with __dlpack__ or a DLPack capsule, got "
                        f"{type(ext).__name__}")
    if ext.__dlpack_device__()[0] == 1 and not isinstance(ext, _Capsule):
        # a CPU producer: view it as a numpy array and share it the way from_numpy does (both ways)
        try:
            a = np.from_dlpack(ext)
        except (BufferError, TypeError, RuntimeError):
            a = None
        if a is not None and a.flags.writeable:
            return from_numpy_shared(a)
    return from_jax(jax.dlpack.from_dlpack(ext))


def to_dlpack(tensor):
    """A DLPack capsule of the tensor's memory (consumed once, as in torch)."""
    return tensor._value.__dlpack__()


# ------------------------------------------------------------------ real torch tensors
def is_torch_tensor(x):
    mod = type(x).__module__
    return (mod == "torch" or mod.startswith("torch.")) and hasattr(x, "detach") and hasattr(x, "dtype")


def torch_to_numpy(t):
    """A numpy array with a real torch tensor's value (shares memory for CPU non-bfloat16 tensors)."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    name = str(t.dtype).split(".")[-1]
    if name == "bfloat16":
        import torch
        return t.view(torch.int16).numpy().view(D.bfloat16.np)
    if t.is_conj():
        t = t.resolve_conj()
    if t.is_neg():
        t = t.resolve_neg()
    return t.numpy()


def from_torch(t, share=False):
    """Convert a real torch.Tensor: by value, or sharing its CPU memory when ``share``."""
    a = torch_to_numpy(t)
    if share and a.dtype != D.bfloat16.np:
        return from_numpy_shared(a)
    return _T()._wrap(jnp.asarray(np.array(a)))

"""torch's storages: UntypedStorage (bytes), TypedStorage and the legacy FloatStorage & co, and the
tensor methods over them (untyped_storage, storage, storage_type, set_, is_set_to).

A jtorch tensor's storage is its view chain's root array in a ``tensor.Storage`` (DESIGN.md, "Storage
and views"). An ``UntypedStorage`` is a byte range of one such Storage: reading converts the root
array to bytes on the host; writing rebuilds the root from the changed bytes and stores it through a
tensor over the root, so the version counter moves and every tensor on that storage sees the write
(as a write through torch's storage is seen by its tensors). A tensor's ``untyped_storage()`` is the
same object on each call (torch keeps one Python object per storage too); slicing one shares its bytes.

``set_`` makes a tensor a strided view of a storage's root (the same mechanism as ``as_strided``), so
writes through either side reach the other. Limits: the tensor's dtype must be the root's, except for
a new UntypedStorage that no tensor uses yet (its bytes are then re-read as that dtype, once); and a
geometry reaching past the storage gives the tensor a new, larger storage (zeros beyond the old
elements), as ``resize_`` does here, where torch grows the shared storage in place.
"""
import copy
import warnings
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from . import _dtype as D
from ._device import device as _device, jax_device, from_jax_device
from ._memfmt import buffer_array, from_buffer
from ._meta import MetaArray

_FRESH = weakref.WeakSet()  # byte storages made by UntypedStorage(...) that no tensor has used yet
_WARNED = [False]


def _warn_typed():
    if not _WARNED[0]:
        _WARNED[0] = True
        warnings.warn("TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the "
                      "only storage class. This should only matter to you if you are using storages directly.  To "
                      "access UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()",
                      UserWarning, stacklevel=3)


def _Tensor():
    from .tensor import Tensor
    return Tensor


def _root_tensor(st):
    """A base tensor whose value is the whole root array of Storage ``st``."""
    r = _Tensor()._wrap(None)
    r._st = st
    return r


def _new_st(array):
    from .tensor import Storage
    return Storage(array)


def _place(np_array, device):
    d = _device(device) if device is not None else _device("cpu")
    return jax.device_put(jnp.asarray(np_array), jax_device(d))


class _StorageCommon:
    """What untyped and typed storages share: XLA owns the buffers (no shared or pinned memory to
    ask for), and a copy is a clone."""

    def is_shared(self):
        return False

    def share_memory_(self):
        return self

    def is_pinned(self, device="cuda"):
        return False

    def pin_memory(self, device="cuda"):
        return self

    def __copy__(self):
        return self.clone()


class StorageBase:
    """torch._C.StorageBase: the base of UntypedStorage."""


class UntypedStorage(StorageBase, _StorageCommon):
    """Bytes: ``UntypedStorage()``, ``UntypedStorage(nbytes)``, ``UntypedStorage(sequence of byte values)``,
    ``device=``. A tensor's ``untyped_storage()`` covers its whole storage."""
    is_sparse = False
    is_sparse_csr = False

    def __init__(self, *args, device=None):
        if len(args) > 1:
            raise TypeError("UntypedStorage(): expected at most one positional argument (size or data)")
        if not args:
            data = np.zeros(0, np.uint8)
        elif isinstance(args[0], (int, np.integer)):
            if args[0] < 0:
                raise RuntimeError(f"Trying to create a storage of negative size {args[0]}")
            data = np.zeros(int(args[0]), np.uint8)  # torch leaves the bytes uninitialised
        elif isinstance(args[0], (bytes, bytearray)):
            data = np.frombuffer(bytes(args[0]), np.uint8).copy()
        else:
            vals = list(args[0])
            if any(not 0 <= int(v) <= 255 for v in vals):
                raise RuntimeError("Overflow when unpacking long: byte values must be in [0, 255]")
            data = np.asarray(vals, np.uint8).reshape(-1)
        st = _new_st(_place(data, device))
        _FRESH.add(st)
        self._init(st, 0, None)
        st.pyobj = weakref.ref(self)

    def _init(self, st, offset, nbytes):
        self._st = st
        self._off = offset
        self._len = nbytes  # None: to the end of the root (the whole storage follows the root's size)
        return self

    @classmethod
    def _of(cls, st):
        """The UntypedStorage of a whole Storage: the same object while one is alive (held weakly by the
        Storage, so no reference cycle keeps a large array alive until the garbage collector runs)."""
        ref = getattr(st, "pyobj", None)
        obj = ref() if ref is not None else None
        if obj is None:
            obj = object.__new__(cls)._init(st, 0, None)
            st.pyobj = weakref.ref(obj)
        return obj

    # ---- the bytes
    def _root(self):
        return _root_tensor(self._st)._value

    def _all_bytes(self):
        return np.ascontiguousarray(buffer_array(np.asarray(self._root()), self._st.layout)).reshape(-1).view(np.uint8)

    def _bytes(self):
        return self._all_bytes()[self._off:self._off + self.nbytes()]

    def _write_bytes(self, start, new):
        """Overwrite this storage's bytes [start, start + len(new)) and store the root back."""
        root = self._root()
        order = self._st.layout
        full = self._all_bytes().copy()
        full[self._off + start:self._off + start + len(new)] = new
        arr = jax.device_put(jnp.asarray(from_buffer(full.view(root.dtype), root.shape, order)),
                             next(iter(root.devices())))
        _root_tensor(self._st)._set_array(arr)

    # ---- torch's API
    def nbytes(self):
        if self._len is not None:
            return self._len
        a = self._st._arr
        return int(np.prod(a.shape)) * np.dtype(a.dtype).itemsize - self._off

    def size(self):
        return self.nbytes()

    def __len__(self):
        return self.nbytes()

    def element_size(self):
        return 1

    @property
    def device(self):
        a = self._st._arr
        devs = getattr(a, "devices", None)
        return from_jax_device(next(iter(devs()))) if devs is not None else _device("cpu")

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    def data_ptr(self):
        from .tensor import address
        if type(self._st._arr) is MetaArray:  # (as torch's: a meta storage's pointer is null)
            return self._off
        return address(self._st) + self._off

    def _index(self, idx):
        n = self.nbytes()
        i = int(idx)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")
        return i % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            start, stop, step = idx.indices(self.nbytes())
            if step != 1:
                raise RuntimeError("slices with steps are not supported in UntypedStorage.__getitem__")
            return object.__new__(UntypedStorage)._init(self._st, self._off + start, max(stop - start, 0))
        return int(self._bytes()[self._index(idx)])

    def __setitem__(self, idx, value):
        if isinstance(idx, slice):
            start, stop, step = idx.indices(self.nbytes())
            self._write_bytes(start, np.full(max(stop - start, 0), int(value), np.uint8))
            return
        self._write_bytes(self._index(idx), np.asarray([int(value)], np.uint8))

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self):
        return self._bytes().tolist()

    def fill_(self, value):
        self._write_bytes(0, np.full(self.nbytes(), int(value), np.uint8))
        return self

    def copy_(self, src, non_blocking=None):
        if src.nbytes() != self.nbytes():
            raise RuntimeError(f"size does not match, self was {self.nbytes()} bytes but src was {src.nbytes()} bytes")
        self._write_bytes(0, src.untyped()._bytes().copy())
        return self

    def clone(self):
        out = UntypedStorage(self.nbytes(), device=self.device)
        return out.copy_(self) if self.nbytes() else out

    def __deepcopy__(self, memo):
        if self._off == 0 and self._len is None:  # a whole storage: the copy its tensors get too
            return UntypedStorage._of(copied_storage(self._st, memo))
        return self.clone()

    def untyped(self):
        return self

    def type(self, dtype=None, non_blocking=False):
        return "torch.storage.UntypedStorage"

    def cpu(self):
        return self if self.device.type == "cpu" else self.to(device="cpu")

    def cuda(self, device=None, non_blocking=False):
        return self.to(device=_device("cuda", device) if isinstance(device, int) else (device or "cuda"))

    def to(self, *, device, non_blocking=False):
        d = _device(device)
        if d == self.device:
            return self
        out = UntypedStorage(bytes(self._bytes().tobytes()), device=d)
        return out

    def __reduce__(self):
        return UntypedStorage, (bytes(self._bytes().tobytes()),)

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self.tolist())
        head = f"[torch.storage.UntypedStorage(device={self.device}) of size {self.nbytes()}]"
        return f"{body}\n{head}" if body else f" \n{head}"

    __str__ = __repr__

    @classmethod
    def from_buffer(cls, buffer, byte_order="native", count=-1, offset=0, dtype=None):
        dt = D.uint8 if dtype is None else dtype
        data = np.frombuffer(buffer, dtype=dt.np, count=count, offset=offset)
        if byte_order not in ("native", "little" if np.little_endian else "big"):
            data = data.byteswap()
        return cls(data.view(np.uint8).tobytes())


class TypedStorage(_StorageCommon):
    """Elements of one dtype over an UntypedStorage: ``TypedStorage(size or sequence, dtype=, device=)`` or
    ``TypedStorage(wrap_storage=untyped, dtype=)``. Deprecated in torch (it warns once, as here)."""
    is_sparse = False
    dtype = None  # the legacy subclasses fix it

    def __init__(self, *args, dtype=None, device=None, wrap_storage=None, _internal=False):
        if not _internal:
            _warn_typed()
        legacy = type(self).dtype is not None
        if legacy and dtype is not None:
            raise RuntimeError(f"{type(self)}.__new__ received an invalid combination of arguments. Keyword argument "
                               "'dtype' cannot be specified")
        if len(args) > 1:
            raise RuntimeError(f"{type(self)}.__new__ received an invalid combination of arguments. Too many "
                               "positional arguments")
        dt = type(self).dtype if legacy else (D.to_dtype(dtype) if dtype is not None else D.get_default_dtype())
        if legacy and type(self)._device == "cuda":
            from . import cuda
            cuda._lazy_check()
            device = device or "cuda"
        self.dtype = dt
        if wrap_storage is not None:
            if args:
                raise RuntimeError("TypedStorage: no positional arguments with wrap_storage")
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError(f"expected a torch.UntypedStorage for wrap_storage, but got {type(wrap_storage)}")
            self._untyped_storage = wrap_storage
            return
        if not args:
            data = np.zeros(0, dt.np)
        elif isinstance(args[0], (int, np.integer)):
            data = np.zeros(int(args[0]), dt.np)
        else:
            data = np.asarray(list(args[0])).astype(dt.np).reshape(-1)
        us = UntypedStorage(data.view(np.uint8).tobytes() if data.size else 0, device=device)
        if data.size:
            st = us._st
            _FRESH.discard(st)
            st.array = _place(data, device)  # hold the elements as this dtype (a tensor can alias them)
        self._untyped_storage = us

    # ---- elements
    def _elements(self):
        return self._untyped_storage._bytes()[:self.size() * self.dtype.itemsize].view(self.dtype.np)

    def size(self):
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def __len__(self):
        return self.size()

    def nbytes(self):
        return self.size() * self.dtype.itemsize

    def element_size(self):
        return self.dtype.itemsize

    def _index(self, idx, setting=False):
        n = self.size()
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        i = int(idx)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of bounds for dimension 0 with size {n}" if setting else
                             f"index {i} out of range for storage of size {n}")
        return i % n

    def __getitem__(self, idx):
        i = self._index(idx)
        return self._elements()[i].item()

    def __setitem__(self, idx, value):
        i = self._index(idx, setting=True)
        k = self.dtype.itemsize
        self._untyped_storage._write_bytes(i * k, np.asarray([value]).astype(self.dtype.np).view(np.uint8))

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self):
        return self._elements().tolist()

    def fill_(self, value):
        vals = np.full(self.size(), value).astype(self.dtype.np)
        self._untyped_storage._write_bytes(0, vals.view(np.uint8))
        return self

    def copy_(self, source, non_blocking=None):
        src = source._untyped_storage if isinstance(source, TypedStorage) else source
        self._untyped_storage.copy_(src)
        return self

    def clone(self):
        return _typed(self._untyped_storage.clone(), self.dtype)

    def __deepcopy__(self, memo):
        return _typed(copy.deepcopy(self._untyped_storage, memo), self.dtype)

    def untyped(self):
        return self._untyped_storage

    @property
    def device(self):
        return self._untyped_storage.device

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    def data_ptr(self):
        return self._untyped_storage.data_ptr()

    def _new_wrapped_storage(self, untyped):
        return _typed(untyped, self.dtype)

    def type(self, dtype=None, non_blocking=False):
        name = _LEGACY_NAME.get(self.dtype)
        if dtype is None:
            return f"torch.{'cuda.' if self.is_cuda else ''}{name}"
        target = dtype if isinstance(dtype, type) else _BY_NAME[str(dtype).split(".")[-1]]
        return self._to(target.dtype)

    def _to(self, dtype):
        data = self._elements().astype(dtype.np)
        return _typed(UntypedStorage(data.view(np.uint8).tobytes(), device=self.device), dtype)

    def _pickle_storage_type(self):
        return _LEGACY_NAME[self.dtype]

    def cpu(self):
        return self if self.device.type == "cpu" else _typed(self._untyped_storage.cpu(), self.dtype)

    def cuda(self, device=None, non_blocking=False):
        return _typed(self._untyped_storage.cuda(device), self.dtype)

    def to(self, *, device, non_blocking=False):
        return _typed(self._untyped_storage.to(device=device), self.dtype)

    def __reduce__(self):
        return _rebuild_typed, (self.tolist(), str(self.dtype).split(".")[-1])

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self.tolist())
        head = f"[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of size {self.size()}]"
        return f"{body}\n{head}" if body else f" \n{head}"

    __str__ = __repr__

    @classmethod
    def from_buffer(cls, buffer, byte_order="native", count=-1, offset=0, dtype=None):
        dt = cls.dtype if cls.dtype is not None else (dtype or D.get_default_dtype())
        data = np.frombuffer(buffer, dtype=dt.np, count=count, offset=offset)
        if byte_order not in ("native", "little" if np.little_endian else "big"):
            data = data.byteswap()
        return _typed(UntypedStorage(data.view(np.uint8).tobytes()), dt)


def _typed(untyped, dtype):
    return TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)


def _rebuild_typed(values, dtype_name):
    dt = getattr(D, dtype_name)
    return _typed(UntypedStorage(np.asarray(values).astype(dt.np).view(np.uint8).tobytes()), dt)


# ---------------------------------------------------------------- legacy classes
_LEGACY = {"Float": D.float32, "Double": D.float64, "Half": D.float16, "BFloat16": D.bfloat16, "Long": D.int64,
           "Int": D.int32, "Short": D.int16, "Char": D.int8, "Byte": D.uint8, "Bool": D.bool,
           "ComplexFloat": D.complex64, "ComplexDouble": D.complex128}
_LEGACY_NAME = {dt: name + "Storage" for name, dt in _LEGACY.items()}


class _LegacyStorageMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, TypedStorage) and obj.dtype is cls.dtype and obj.device.type == cls._device


def _legacy_class(name, dtype, device):
    return _LegacyStorageMeta(name, (TypedStorage,), {"dtype": dtype, "_device": device,
                                                      "__module__": "torch" if device == "cpu" else "torch.cuda"})


CPU_CLASSES = {name + "Storage": _legacy_class(name + "Storage", dt, "cpu") for name, dt in _LEGACY.items()}
CUDA_CLASSES = {name + "Storage": _legacy_class(name + "Storage", dt, "cuda") for name, dt in _LEGACY.items()}
_BY_NAME = {**CPU_CLASSES, **{str(dt).split(".")[-1]: CPU_CLASSES[n] for dt, n in _LEGACY_NAME.items()}}
_BY_DTYPE = {dt: CPU_CLASSES[n] for dt, n in _LEGACY_NAME.items()}


# ---------------------------------------------------------------- tensor methods
def untyped_storage(self):
    st = self._st
    return UntypedStorage._of(getattr(st, "src", st))  # (a complex32 dtype view's: its source's, _byte_views.py)


def storage(self):
    _warn_typed()
    return _typed(untyped_storage(self), self.dtype)


def storage_type(self):
    cls = _BY_DTYPE.get(self.dtype)
    if cls is None:
        raise RuntimeError(f"no legacy storage type for {self.dtype}")
    return CUDA_CLASSES[cls.__name__] if self.is_cuda else cls


def _retype_fresh(st, dtype):
    """A new byte storage first used by a tensor of ``dtype``: hold its bytes as elements of that dtype."""
    root = np.asarray(st.array).reshape(-1)
    k = dtype.itemsize
    usable = root[:root.size - root.size % k]
    arr = jax.device_put(jnp.asarray(usable.view(dtype.np)), next(iter(st.array.devices())))
    _root_tensor(st)._set_array(arr)
    _FRESH.discard(st)


def set_(self, source=None, storage_offset=0, size=None, stride=None):
    """Make this tensor use ``source``'s storage (a tensor's, or a storage) with the given geometry."""
    from ._ops.strided import _check_geometry, _storage_root, _storage_view, _ints
    from ._size import contiguous_strides
    T = _Tensor()
    self._check_inplace()
    if source is None:
        from ._ops.creation import empty
        self.data = empty(0, dtype=self.dtype, device=self.device)
        return self
    if isinstance(source, T):
        if source.dtype != self.dtype:
            raise RuntimeError(f"Could not set tensor of type {D.cpp_type_name(source.dtype)} to a tensor of type "
                               f"{D.cpp_type_name(self.dtype)}")
        if size is None and storage_offset == 0 and stride is None:
            self.data = source
            return self
        root = _storage_root(source).detach()
        if root.dtype != self.dtype:
            raise RuntimeError("set_: the source reinterprets its storage's dtype (view(dtype)); call .clone() first")
        offset_elems = 0
    else:
        if isinstance(source, TypedStorage):
            if source.dtype != self.dtype:
                raise RuntimeError(f"Expected a Storage of type {self.dtype} or an UntypedStorage, but got type "
                                   f"{source.dtype} for argument 1 'storage'")
            source = source._untyped_storage
        if not isinstance(source, UntypedStorage):
            raise TypeError(f"set_(): argument 'source' must be a Tensor or a Storage, not {type(source).__name__}")
        st = source._st
        if st in _FRESH and np.dtype(st._arr.dtype) != self.dtype.np:
            _retype_fresh(st, self.dtype)
        if np.dtype(st._arr.dtype) != self.dtype.np:
            raise RuntimeError(f"jtorch: set_ of a {self.dtype} tensor onto a storage that holds "
                               f"{D._FROM_NP[np.dtype(st._arr.dtype)]} elements would reinterpret their bytes; "
                               "not supported")
        k = self.dtype.itemsize
        if source._off % k:
            raise RuntimeError(f"set_: storage byte offset {source._off} is not a multiple of the element size {k}")
        root = _root_tensor(st)
        offset_elems = source._off // k
        if size is None:
            size = (source.nbytes() // k,)
    size = _ints(size)
    stride = contiguous_strides(size) if stride is None else _ints(stride)
    offset = offset_elems + int(storage_offset)
    _check_geometry(size, stride, offset, 1 << 62, self.element_size())  # bounds: grown below instead
    need = 0 if 0 in size else offset + sum((s - 1) * st_ for s, st_ in zip(size, stride)) + 1
    if need > root.numel():
        from ._ops.creation import zeros
        from ._ops.join import cat
        root = cat([root.detach(), zeros(need - root.numel(), dtype=self.dtype, device=root.device)])
    self.data = _storage_view(root, offset=offset, size=size, stride=stride, order=root._st.layout)
    return self


def is_set_to(self, tensor):
    """Whether both tensors use the same storage with the same offset, sizes and strides."""
    return (self._st is tensor._st and self.storage_offset() == tensor.storage_offset()
            and tuple(self.shape) == tuple(tensor.shape) and tuple(self.stride()) == tuple(tensor.stride()))


# ---------------------------------------------------------------- deepcopy
# ``copy.deepcopy`` copies each storage once (its memo maps a storage to its copy, as torch's does) and
# rebuilds every tensor over the copy with the same view chain: views of one storage (``base``, ``base[1:]``,
# ``base.t()``, ``x.view(torch.int32)``, a buffer that is a view of another) stay views of one storage in the
# copy, with the same offsets and strides. As in torch, the copies are base tensors (no ``_base``) and leaves.
_COPIES = "jtorch.storages"  # the memo's entry: id(storage) -> (storage, its copy)


def copied_storage(st, memo):
    """This deepcopy's copy of Storage ``st`` (made on first request)."""
    copies = memo.setdefault(_COPIES, {})
    hit = copies.get(id(st))
    if hit is not None:
        return hit[1]
    src = getattr(st, "src", None)
    if src is not None:  # another storage's bytes as another dtype (_byte_views.py): the same over the copy
        from ._byte_views import _storage_as
        return _storage_as(copied_storage(src, memo), st.dtype)
    arr = st._arr
    if st.host is not None:  # shared with a numpy array: the copy owns its data
        arr = jnp.array(_root_tensor(st)._value, copy=True)
    if st.layout is None:
        from .tensor import Storage
        new = Storage(arr)
    else:
        from ._memfmt import LaidStorage
        new = LaidStorage(arr)
        new.layout = st.layout
    new.version = 1  # (torch's copy is made by an in-place set_)
    if st in _FRESH:
        _FRESH.add(new)
    copies[id(st)] = (st, new)  # (the source kept alive: its id stays its own)
    return new


_NEW_EMPTY_MESSAGE = (
    "The default implementation of __deepcopy__() for non-wrapper subclasses only works for subclass types that "
    "implement new_empty() and for which that function returns another instance of the same subclass. You should "
    "either properly implement new_empty() for your subclass or override __deepcopy__() if it is intended behavior "
    "for new_empty() to return an instance of a different type.")
_CLONE_MESSAGE = (
    "The default implementation of __deepcopy__() for wrapper subclasses only works for subclass types that "
    "implement clone() and for which cloning returns another instance of the same subclass. You should either "
    "properly implement clone() for your subclass or override __deepcopy__() if it is intended behavior for clone() "
    "to return an instance of a different type.")


def deepcopy_tensor(self, memo):
    """``Tensor.__deepcopy__`` of a leaf not yet in ``memo``: torch's rules (see above). A user subclass is
    rebuilt from its ``new_empty`` (torch's error where that gives another type); its slots and every
    tensor's Python attributes are deep-copied; ``requires_grad`` kept, ``.grad`` deep-copied too."""
    from . import _torch_function as _tf
    from ._subclass_dispatch import NoData
    T = _Tensor()
    cls = type(self)
    root = self._st._arr
    if type(root) is NoData:  # a wrapper subclass (no storage): torch clones it
        from .autograd import no_grad
        with no_grad():
            t = self.clone()
        if type(t) is not cls:
            raise RuntimeError(_CLONE_MESSAGE)
    elif type(root) is MetaArray:  # torch clones meta tensors too (a dense layout kept)
        t = cls._wrap(self._lazy_value())
        if self._strides is not None:
            from ._memfmt import lay, preserve_order
            lay(t, preserve_order(self))
    else:
        if cls is T or cls.__module__.startswith("jtorch."):
            t = cls._wrap(None)
        else:
            with _tf.DisableTorchFunctionSubclass():
                t = self.new_empty([])
            if type(t) is not cls:
                raise RuntimeError(_NEW_EMPTY_MESSAGE)
        st = copied_storage(self._st, memo)
        t._st, t._vfn, t._strides, t._meta, t._sig = st, self._vfn, self._strides, self._meta, None
        fresh = self._vfn and self._val is not None and self._valver == self._st.version
        t._val, t._valver = (self._val, st.version) if fresh and self._st.host is None else (None, 0)
    if self.requires_grad:
        t._requires_grad = True
    if self._grad is not None:
        t._grad = copy.deepcopy(self._grad, memo)
    memo[id(self)] = t
    for klass in cls.__mro__[:cls.__mro__.index(T)]:  # a subclass's own slots
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(self, name):
                setattr(t, name, copy.deepcopy(getattr(self, name), memo))
    if self.__dict__ or t.__dict__:
        t.__dict__ = copy.deepcopy(self.__dict__, memo)
    return t

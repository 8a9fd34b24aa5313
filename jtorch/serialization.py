"""jtorch.save / jtorch.load in PyTorch's own checkpoint format, without importing torch.

File format (what torch >= 1.6 writes and reads): an uncompressed zip archive with
records under one top directory ``<name>/``:

* ``data.pkl``: the object, pickled with protocol 2. Tensors are written as
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)``
  where ``storage`` is a persistent id ``('storage', torch.FloatStorage, key, location, numel)``;
  Parameters wrap that in ``torch._utils._rebuild_parameter``. We write those *names*
  (GLOBAL opcodes) from small stand-ins, so no torch import is needed.
* ``data/<key>``: the raw little-endian bytes of each storage, 64-byte aligned in the file.
* ``byteorder``, ``version``, ``.format_version``, ``.storage_alignment``,
  ``.data/serialization_id``: as torch writes them.

A view and its base share one storage in the file: the storage is the root array of
jtorch's Storage, and the view's (offset, strides) come from applying its view chain
to an index array (``_layout``). On load, tensors sharing a storage share one jtorch
Storage again (the first tensor covering it whole becomes the root, others are views).

``load`` defaults to ``weights_only=True``: a restricted unpickler that resolves only an
allow-list of globals (and those added with ``add_safe_globals``); anything else is
refused with torch's message and nothing is executed. The pre-1.6 (legacy, non-zip)
format is read too, and written with ``_use_new_zipfile_serialization=False``.
"""
import collections
import contextlib
import io
import math
import os
import pathlib
import pickle
import pickletools
import struct
import sys
import tempfile
import zipfile
import _compat_pickle

import jax
import jax.numpy as jnp
import numpy as np

from . import _dispatch
from . import _dtype as D
from ._device import device as _device_cls, jax_device, to_device
from ._dispatch import defop
from ._size import Size

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "DEFAULT_PROTOCOL"]

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
}
_STORAGE_DTYPES = {v: k for k, v in _STORAGE_NAMES.items()}
# dtypes without a legacy storage class: torch writes them as bytes (UntypedStorage) rebuilt
# by _rebuild_tensor_v3, which names the dtype
_UNTYPED = (D.uint16, D.uint32, D.uint64)


def _T():
    return _dispatch.Tensor


# ====================================================================== layout of views
def _contiguous(shape):
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


_INDEX_CHAINS = {}


def _layout(t):
    """(root array, storage offset, strides) of tensor ``t`` over its storage's root array,
    in elements; None when the view's elements do not form a strided pattern."""
    t._value  # brings a numpy-shared storage up to date
    st = t._st
    root = st.array
    if not t._vfn:
        return root, 0, _contiguous(root.shape)
    shape = tuple(t.shape)
    n = math.prod(shape)
    if n == 0:
        return root, 0, t.stride()
    if root.dtype != t._value.dtype:
        return None
    f = _dispatch.chain_fn(t._vfn)
    idx = np.asarray(f(jnp.arange(root.size, dtype=jnp.int64).reshape(root.shape)))
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
    return root, offset, tuple(strides)


def storage_offset(t):
    lay = _layout(t)
    return 0 if lay is None else lay[1]


def _view_strides(shape, strides, offset, size, stride):
    return stride


@defop(method=False, function=False, view=_view_strides, saves=(), name="_storage_view")
def _storage_view(root, offset=0, size=(), stride=()):
    """The elements ``offset + sum(i_k * stride_k)`` of the (flattened) root: torch's
    storage-level view, used to rebuild loaded tensors that share a storage."""
    idx = np.full(size, offset, dtype=np.int64) if size else np.int64(offset)
    for d, (s, st) in enumerate(zip(size, stride)):
        idx = idx + (np.arange(s, dtype=np.int64) * st).reshape([-1 if i == d else 1 for i in range(len(size))])
    return root.reshape(-1)[jnp.asarray(idx)]


# ====================================================================== writing
class _Ref:
    """Stands for a global ``module.name`` of torch's; pickled as a GLOBAL opcode."""
    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):
        raise RuntimeError(f"{self.module}.{self.name} is a stand-in for pickling only")


_REFS = {}


def _ref(module, name):
    r = _REFS.get((module, name))
    if r is None:
        r = _REFS[(module, name)] = _Ref(module, name)
    return r


class _StorageRef:
    __slots__ = ("key", "dtype", "location", "numel", "array")

    def __init__(self, key, dtype, location, numel, array):
        self.key, self.dtype, self.location, self.numel, self.array = key, dtype, location, numel, array


def _location(arr):
    try:
        dev = next(iter(arr.devices()))
    except AttributeError:
        return "cpu"
    if dev.platform == "cpu":
        return "cpu"
    from ._device import gpu_devices
    return f"cuda:{gpu_devices().index(dev)}"


def _is_parameter(obj):
    return any(c.__name__ == "Parameter" and c.__module__.startswith("jtorch") for c in type(obj).__mro__)


class _Pickler(pickle._Pickler):
    """A pickler that writes jtorch values under torch's names (GLOBAL opcodes) and
    tensors as torch's rebuild calls over persistent storages."""
    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file, protocol, legacy=False):
        super().__init__(file, protocol)
        self.storages = {}      # id(Storage) -> _StorageRef (kept alive for the write)
        self.order = []
        self.legacy = legacy

    def _save_ref(self, obj):
        self.write(pickle.GLOBAL + obj.module.encode() + b"\n" + obj.name.encode() + b"\n")
        self.memoize(obj)

    def _save_dtype(self, obj):
        self.save(_ref("torch", obj._name))  # memoized through the shared _Ref

    dispatch[_Ref] = _save_ref
    dispatch[D.dtype] = _save_dtype

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            numel = obj.numel
            if obj.dtype in _UNTYPED:  # torch keeps these in untyped (byte) storages
                cls, numel = _ref("torch.storage", "UntypedStorage"), numel * obj.dtype.itemsize
            else:
                cls = _ref("torch", _STORAGE_NAMES.get(obj.dtype) or _unsupported_storage(obj.dtype))
            if self.legacy:
                return ("storage", cls, obj.key, obj.location, numel, None)
            return ("storage", cls, obj.key, obj.location, numel)
        return None

    def reducer_override(self, obj):
        T = _T()
        if isinstance(obj, T):
            return self._reduce_tensor(obj)
        if isinstance(obj, Size):
            return _ref("torch", "Size"), (tuple(int(s) for s in obj),)
        if isinstance(obj, _device_cls):
            return _ref("torch", "device"), ((obj.type,) if obj.index is None else (obj.type, obj.index))
        return NotImplemented

    def _storage(self, t):
        lay = _layout(t)
        if lay is None:  # not a strided view of its root: write its own copy
            root, offset, strides = t._value, 0, _contiguous(t.shape)
            key_obj = object()
        else:
            root, offset, strides = lay
            key_obj = t._st
        sref = self.storages.get(id(key_obj))
        if sref is None:
            sref = _StorageRef(str(len(self.order)), D._FROM_NP[root.dtype], _location(root),
                               int(root.size), root)
            self.storages[id(key_obj)] = sref
            self.order.append((sref, key_obj))
        return sref, offset, strides

    def _reduce_tensor(self, t):
        sref, offset, strides = self._storage(t)
        args = (sref, offset, tuple(int(s) for s in t.shape), strides, bool(t.requires_grad),
                collections.OrderedDict())
        if sref.dtype in _UNTYPED:
            rebuilt = (_ref("torch._utils", "_rebuild_tensor_v3"), args + (sref.dtype,))
        else:
            rebuilt = (_ref("torch._utils", "_rebuild_tensor_v2"), args)
        if _is_parameter(t):
            return _ref("torch._utils", "_rebuild_parameter"), (_Rebuild(rebuilt), bool(t.requires_grad),
                                                               collections.OrderedDict())
        return rebuilt


class _Rebuild:
    """A nested reduce (the Parameter's data) for reducer_override to emit."""
    __slots__ = ("rv",)

    def __init__(self, rv):
        self.rv = rv

    def __reduce__(self):
        return self.rv


def _unsupported_storage(dtype):
    raise pickle.PicklingError(f"jtorch.save: tensors of dtype {dtype} can't be written in torch's format")


def _storage_bytes(sref):
    a = np.asarray(sref.array).reshape(-1)
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and sys.byteorder == "big"):
        a = a.astype(a.dtype.newbyteorder("<"))
    return memoryview(np.ascontiguousarray(a).view(np.uint8))


def _write_zip(obj, f, name, protocol):
    buf = io.BytesIO()
    p = _Pickler(buf, protocol)
    p.dump(obj)
    zf = zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True)
    with zf:
        _write_record(zf, f"{name}/data.pkl", buf.getvalue())
        _write_record(zf, f"{name}/.format_version", b"1")
        _write_record(zf, f"{name}/.storage_alignment", str(_ALIGN).encode())
        _write_record(zf, f"{name}/byteorder", b"little")
        for sref, _ in p.order:
            _write_record(zf, f"{name}/data/{sref.key}", _storage_bytes(sref), align=True)
        _write_record(zf, f"{name}/version", b"3\n")
        _write_record(zf, f"{name}/.data/serialization_id", _serialization_id().encode())


def _serialization_id():
    return "".join(str(int(b) % 10) for b in os.urandom(40))


def _write_record(zf, name, data, align=False):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16
    if align:
        # pad the local header's extra field so the data starts on a 64-byte boundary, as torch does
        start = zf.start_dir + 30 + len(name.encode())
        pad = (-(start + 4)) % _ALIGN
        info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    zf.writestr(info, data)


def _write_legacy(obj, f, protocol):
    pickle.dump(_LEGACY_MAGIC, f, protocol=protocol)
    pickle.dump(_LEGACY_PROTOCOL, f, protocol=protocol)
    pickle.dump({"protocol_version": _LEGACY_PROTOCOL, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=protocol)
    p = _Pickler(f, protocol, legacy=True)
    p.dump(obj)
    pickle.dump([s.key for s, _ in p.order], f, protocol=protocol)
    for sref, _ in p.order:
        f.write(struct.pack("<q", sref.numel))
        f.write(_storage_bytes(sref))


def _archive_name(path):
    stem = pathlib.Path(path).stem if path is not None else "archive"
    return stem or "archive"


def save(obj, f, pickle_module=None, pickle_protocol=DEFAULT_PROTOCOL, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Write ``obj`` in torch's checkpoint format to a path (atomically) or a binary file object."""
    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError("jtorch.save supports only the standard pickle module")

    def write(fobj, name):
        if _use_new_zipfile_serialization:
            _write_zip(obj, fobj, name, pickle_protocol)
        else:
            _write_legacy(obj, fobj, pickle_protocol)

    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), lambda fobj: write(fobj, _archive_name(f)))
    else:
        if not hasattr(f, "write"):
            raise AttributeError(f"'{type(f).__name__}' object has no attribute 'write'")
        write(f, _archive_name(getattr(f, "name", None)) if isinstance(getattr(f, "name", None), str)
              else "archive")


def _atomic_write(path, write):
    """Write to a temporary file beside ``path``, fsync, then rename over it: an interrupted
    save never leaves a truncated checkpoint where a good one was."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fobj:
            write(fobj)
            fobj.flush()
            os.fsync(fobj.fileno())
        try:
            mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


# ====================================================================== plain pickle of a Tensor
def _reduce_tensor(t):
    """``pickle.dumps(tensor)`` outside jtorch.save: by value."""
    a = np.asarray(t.detach()._value)
    return _rebuild_plain, (a.tobytes(), t.dtype._name, tuple(a.shape), bool(t.requires_grad),
                            _is_parameter(t))


def _rebuild_plain(data, dtype_name, shape, requires_grad, is_param=False):
    dt = D.to_dtype(dtype_name)
    t = _T()._wrap(jnp.asarray(np.frombuffer(data, dt.np).reshape(shape)))
    if is_param:
        return _parameter(t, requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _parameter(t, requires_grad):
    try:
        from .nn import Parameter
    except ImportError:
        Parameter = None
    if Parameter is None:
        t.requires_grad = bool(requires_grad)
        return t
    return Parameter(t, requires_grad=bool(requires_grad))


# ====================================================================== safe globals
_user_safe = {}   # "module.name" -> object


def _full_name(obj):
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', ''))}"


def add_safe_globals(safe_globals):
    """Allow these classes/functions (or ``(obj, "module.name")`` pairs) in weights-only loads."""
    for g in safe_globals:
        if isinstance(g, tuple):
            obj, name = g
            _user_safe[name] = obj
        else:
            _user_safe[_full_name(g)] = g


def get_safe_globals():
    return list(_user_safe.values())


def clear_safe_globals():
    _user_safe.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    saved = dict(_user_safe)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _user_safe.clear()
        _user_safe.update(saved)


_BLOCKED_MODULES = ("sys", "os", "posix", "nt")
_UNSAFE_MESSAGE = ("In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
                   "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will likely "
                   "succeed, but it can result in arbitrary code execution. Do it only if you got the file from a "
                   "trusted source.")
_DOCS_MESSAGE = ("\n\nCheck the documentation of torch.load to learn more about types accepted by default with "
                 "weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")


def _weights_only_message(message, unsafe_global):
    if unsafe_global:
        return ("Weights only load failed. This file can still be loaded, to do so you have two options, "
                "\033[1mdo those steps only if you trust the source of the checkpoint\033[0m. "
                f"\n\t(1) {_UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with `weights_only=True` please check "
                "the recommended steps in the following error message.\n\tWeightsUnpickler error: "
                + message + _DOCS_MESSAGE)
    return f"Weights only load failed. {_UNSAFE_MESSAGE}\n\n\n{message}{_DOCS_MESSAGE}"


class _Unsafe(pickle.UnpicklingError):
    pass


# ====================================================================== reading
class _StorageType:
    """What ``torch.FloatStorage`` & co. resolve to while loading: just a dtype."""
    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError("storage classes can't be called while loading")


class _LoadedStorage:
    """A storage of the file, read lazily; ``map_location`` callables receive it."""

    def __init__(self, loader, key, dtype, location, numel):
        self.loader, self.key, self.dtype, self.location, self.numel = loader, key, dtype, location, numel
        self.target = None   # device chosen by map_location
        self.root = None     # the jtorch Tensor owning the loaded array
        self._array = None

    # map_location callables call these, like on torch's storages
    def cpu(self):
        self.target = _device_cls("cpu")
        return self

    def cuda(self, device=None, non_blocking=False):
        self.target = _device_cls("cuda", device if isinstance(device, int) else None) if not isinstance(
            device, (str, _device_cls)) else to_device(device)
        return self

    def to(self, device=None, *args, **kwargs):
        self.target = to_device(device)
        return self

    @property
    def device(self):
        return self.target or to_device(self.location)

    def size(self):
        return self.numel

    def nbytes(self):
        return self.numel * self.dtype.itemsize

    def __len__(self):
        return self.numel

    def array(self):
        if self._array is None:
            self._array = self.loader.read_storage(self)
        return self._array

    def retyped(self, dtype):
        """This (byte) storage seen as ``dtype`` elements (torch's _rebuild_tensor_v3)."""
        if dtype is self.dtype:
            return self
        typed = self.loader.storages.get((self.key, dtype))
        if typed is None:
            nbytes = self.numel * self.dtype.itemsize
            if nbytes % dtype.itemsize:
                raise RuntimeError(f"storage {self.key} of {nbytes} bytes can't hold {dtype} elements")
            typed = _LoadedStorage(self.loader, self.key, dtype, self.location, nbytes // dtype.itemsize)
            typed.target = self.target
            self.loader.storages[(self.key, dtype)] = typed
        return typed


_DTYPE_NAMES = {d._name: d for d in D.ALL}


def _torch_globals():
    """torch names a weights-only load may resolve, mapped to jtorch's objects."""
    g = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "torch.Size": Size,
        "torch.device": _device_cls,
        "torch.Tensor": _TensorRef,
        "torch.nn.parameter.Parameter": _ParameterRef,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.storage.UntypedStorage": _StorageType(D.uint8),
        "torch.UntypedStorage": _StorageType(D.uint8),
        "_codecs.encode": _encode,
        "builtins.bytearray": _bytearray,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.complex": complex,
    }
    for name, dt in _STORAGE_DTYPES.items():
        g["torch." + name] = _StorageType(dt)
    for name, dt in _DTYPE_NAMES.items():
        g["torch." + name] = dt
    for alias in ("half", "float", "double", "cfloat", "cdouble", "short", "int", "long"):
        g["torch." + alias] = getattr(D, alias)
    return g


_GLOBALS = None


def _allowed():
    global _GLOBALS
    if _GLOBALS is None:
        _GLOBALS = _torch_globals()
    return _GLOBALS


class _ParameterRef:
    """``torch.nn.Parameter`` when it appears as a class in a pickle (NEWOBJ / REDUCE)."""

    def __new__(cls, data=None, requires_grad=True):
        if not isinstance(data, _T()):
            raise pickle.UnpicklingError("torch.nn.Parameter can only wrap a loaded tensor")
        return _parameter(data, requires_grad)


class _TensorRef:
    """``torch.Tensor`` as a name in a pickle: a type marker only; constructing one (which could
    allocate any size) is refused."""

    def __new__(cls, *args, **kwargs):
        raise pickle.UnpicklingError("torch.Tensor can't be constructed while loading weights")


def _bytearray(data=b""):
    # protocol-2 pickles spell bytearray(b) as bytearray(str, 'latin1')-like data; never a size
    if isinstance(data, (bytes, str)):
        return bytearray(data, "latin1") if isinstance(data, str) else bytearray(data)
    if isinstance(data, (list, tuple)) and len(data) <= 1 << 20:
        return bytearray(data)
    raise pickle.UnpicklingError("bytearray may only be rebuilt from its bytes")


def _encode(obj, encoding="utf-8", errors="strict"):
    # protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1'); nothing else is needed
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed on str with a text encoding")
    return obj.encode(encoding, errors)


def _check_int(v, what):
    if type(v) is not int and not isinstance(v, (np.integer,)):
        raise RuntimeError(f"{what} must be an int, got {type(v).__name__}")
    return int(v)


_MAX_BLOWUP = 1 << 28


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride, False, None)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    if not isinstance(storage, _LoadedStorage) or not isinstance(dtype, D.dtype):
        raise RuntimeError("_rebuild_tensor_v3: expected a storage and a dtype")
    return _rebuild_tensor_v2(storage.retyped(dtype), storage_offset, size, stride, requires_grad, backward_hooks,
                              metadata)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    if not isinstance(storage, _LoadedStorage):
        raise RuntimeError(f"_rebuild_tensor_v2: expected a storage, got {type(storage).__name__}")
    offset = _check_int(storage_offset, "storage_offset")
    if not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)) or len(size) != len(stride):
        raise RuntimeError("_rebuild_tensor_v2: size and stride must be sequences of the same length")
    size = tuple(_check_int(s, "size") for s in size)
    stride = tuple(_check_int(s, "stride") for s in stride)
    if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise RuntimeError("_rebuild_tensor_v2: negative size, stride or storage offset")
    n = math.prod(size)
    need = 0 if n == 0 else offset + 1 + sum((s - 1) * st for s, st in zip(size, stride))
    if need > storage.numel or offset > storage.numel:
        isz = storage.dtype.itemsize
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {isz} requiring a storage size of {need * isz} are out of bounds for "
                           f"storage of size {storage.numel * isz}")
    if n > max(storage.numel, _MAX_BLOWUP):
        raise RuntimeError(f"tensor of {n} elements over a storage of {storage.numel} is too large to load")
    t = _tensor_on(storage, offset, size, stride)
    if requires_grad:
        if t.dtype._cat < D._FLOAT:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad_(True)
    return t


def _tensor_on(storage, offset, size, stride):
    T = _T()
    if storage.root is None:
        arr = storage.array()
        whole = offset == 0 and math.prod(size) == storage.numel and (
            storage.numel <= 1 or tuple(st for s, st in zip(size, stride) if s != 1)
            == tuple(c for s, c in zip(size, _contiguous(size)) if s != 1))
        if whole:
            storage.root = T._wrap(arr.reshape(size))
            return storage.root
        storage.root = T._wrap(arr)
    root = storage.root
    if tuple(root.shape) == size and offset == 0 and root.is_contiguous() and stride == root.stride():
        return root._alias()  # same elements as the root: share it as torch's tensors share a storage
    return _storage_view(root, offset=offset, size=size, stride=stride)


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    if not isinstance(data, _T()):
        raise RuntimeError("_rebuild_parameter: expected a tensor")
    return _parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    p = _rebuild_parameter(data, requires_grad, backward_hooks)
    if isinstance(state, dict):
        for k, v in state.items():
            if isinstance(k, str) and not k.startswith("_"):
                setattr(p, k, v)
    return p


def _rebuild_from_type_v2(func, new_type, args, state):
    if not callable(func) or not isinstance(args, tuple):
        raise RuntimeError("_rebuild_from_type_v2: bad arguments")
    t = func(*args)
    if isinstance(state, dict) and isinstance(t, _T()):
        for k, v in state.items():
            if isinstance(k, str) and not k.startswith("_"):
                setattr(t, k, v)
    return t


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, loader, weights_only, **kwargs):
        super().__init__(file, **kwargs)
        self.loader = loader
        self.weights_only = weights_only

    def find_class(self, module, name):
        if (module, name) in _compat_pickle.NAME_MAPPING:  # python 2 names (protocol 2 pickles)
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        if self.weights_only:
            if module in _BLOCKED_MODULES or module.split(".")[0] in _BLOCKED_MODULES:
                raise _Unsafe(f"Trying to load unsupported GLOBAL {full} whose module {module} is blocked.")
            obj = _allowed().get(full)
            if obj is None:
                obj = _user_safe.get(full)
            if obj is None:
                raise _Unsafe(f"Unsupported global: GLOBAL {full} was not an allowed global by default. "
                              f"Please use `torch.serialization.add_safe_globals([{name}])` or the "
                              f"`torch.serialization.safe_globals([{name}])` context manager to allowlist this "
                              "global if you trust this class/function.")
            return obj
        obj = _allowed().get(full)
        if obj is not None:
            return obj
        if module == "torch" or module.startswith("torch."):
            return _jtorch_global(module, name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return self.loader.persistent_load(pid)


def _jtorch_global(module, name):
    """``torch.a.b.C`` in a full (weights_only=False) pickle: jtorch's same-named object."""
    import importlib
    jmod = "jtorch" + module[len("torch"):]
    try:
        mod = importlib.import_module(jmod)
        obj = mod
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError):
        raise pickle.UnpicklingError(f"jtorch has no equivalent of torch global {module}.{name}") from None


class _Loader:
    """Resolves persistent storage ids against the file's records."""

    def __init__(self, map_location, read_bytes, mmap_view=None, byteorder="little", legacy_data=None):
        self.map_location = map_location
        self.read_bytes = read_bytes        # key, nbytes -> bytes
        self.mmap_view = mmap_view          # key, dtype, numel -> np array (mmap) or None
        self.byteorder = byteorder
        self.storages = {}

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id encountered: {type(pid).__name__}")
        _, stype, key, location, numel = pid[:5]
        if len(pid) == 6 and pid[5] is not None:
            raise pickle.UnpicklingError("legacy storage views are not supported")
        if isinstance(stype, str):  # legacy files name the class as a string
            stype = _allowed().get(stype)
        if not isinstance(stype, _StorageType):
            raise pickle.UnpicklingError("persistent id does not name a storage type")
        if not isinstance(key, str) or not isinstance(location, str) or type(numel) is not int or numel < 0:
            raise pickle.UnpicklingError("malformed storage persistent id")
        s = self.storages.get(key)
        if s is None:
            dtype = stype.dtype
            if dtype is D.uint8 and stype is _allowed()["torch.storage.UntypedStorage"]:
                pass
            s = self.storages[key] = _LoadedStorage(self, key, dtype, location, numel)
            s.target = self._map(s)
        elif s.dtype is not stype.dtype or s.numel != numel:
            raise pickle.UnpicklingError(f"storage {key} is referenced with different types or sizes")
        return s

    def _map(self, s):
        ml = self.map_location
        if ml is None:
            return to_device(_validate_location(s.location))
        if isinstance(ml, (str, _device_cls)):
            return to_device(ml)
        if isinstance(ml, dict):
            return to_device(_validate_location(ml.get(s.location, s.location)))
        if callable(ml):
            res = ml(s, s.location)
            if res is None:
                return to_device(_validate_location(s.location))
            if isinstance(res, _LoadedStorage):  # the storage handed over is a CPU one, as in torch
                return res.target or _device_cls("cpu")
            if isinstance(res, (str, _device_cls)):
                return to_device(res)
            raise RuntimeError("map_location callable must return a storage or None")
        raise ValueError(f"Unsupported map_location type {type(ml).__name__}")

    def read_storage(self, s):
        dt = s.dtype.np.newbyteorder("<" if self.byteorder == "little" else ">")
        nbytes = s.numel * s.dtype.itemsize
        arr = None
        if self.mmap_view is not None:
            arr = self.mmap_view(s.key, dt, s.numel)
        if arr is None:
            data = self.read_bytes(s.key, nbytes)
            if len(data) < nbytes:
                raise RuntimeError(f"storage {s.key} is truncated: expected {nbytes} bytes, found {len(data)}")
            arr = np.frombuffer(data, dt, count=s.numel)
        if dt.byteorder == ">" or (dt.byteorder == "=" and sys.byteorder == "big"):
            arr = arr.astype(s.dtype.np)
        jd = jax_device(s.target)
        from .interop import _alias_host
        out = _alias_host(arr, jd) if self.mmap_view is not None else None
        return out if out is not None else jax.device_put(np.array(arr), jd)


def _validate_location(loc):
    if not isinstance(loc, str):
        raise RuntimeError(f"bad storage location {loc!r}")
    if loc.startswith("cuda"):
        from ._device import gpu_devices
        if not gpu_devices():
            raise RuntimeError("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                               "is False. If you are running on a CPU-only machine, please use torch.load with "
                               "map_location=torch.device('cpu') to map your storages to the CPU.")
    return loc


def _unpickle(data_file, loader, weights_only, pickle_load_args):
    up = _Unpickler(data_file, loader, weights_only, **pickle_load_args)
    if not weights_only:
        return up.load()
    try:
        return up.load()
    except _Unsafe as e:
        raise pickle.UnpicklingError(_weights_only_message(str(e), "was not an allowed global" in str(e))) from None
    except RuntimeError:
        raise
    except Exception as e:  # any other failure inside a restricted load is a refused file
        raise pickle.UnpicklingError(_weights_only_message(f"{type(e).__name__}: {e}", False)) from None


def _open(f):
    """(file object, path or None, whether we opened it)."""
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        try:
            return open(path, "rb"), path, True
        except FileNotFoundError:
            raise FileNotFoundError(f"[Errno 2] No such file or directory: '{path}'") from None
    if not hasattr(f, "read"):
        raise AttributeError(f"'{type(f).__name__}' object has no attribute 'read'")
    name = getattr(f, "name", None)
    return f, name if isinstance(name, str) and os.path.isfile(name) else None, False


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Load an object saved by ``torch.save`` or ``jtorch.save`` (zip or legacy format)."""
    if weights_only is None:
        weights_only = pickle_module is None
    if pickle_module is not None and weights_only:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if isinstance(map_location, int) and not isinstance(map_location, bool):
        map_location = _device_cls("cuda", map_location)
    pickle_load_args.setdefault("encoding", "utf-8")
    fobj, path, opened = _open(f)
    try:
        if not fobj.seekable() if hasattr(fobj, "seekable") else True:
            fobj = io.BytesIO(fobj.read())
        start = fobj.tell()
        magic = fobj.read(4)
        fobj.seek(start)
        if magic[:2] == b"PK":
            return _load_zip(fobj, path, map_location, weights_only, mmap, pickle_load_args)
        if mmap:
            raise RuntimeError("mmap can only be used with files saved with `torch.save(_use_new_zipfile_"
                               "serialization=True), please torch.save your checkpoint with this option in order "
                               "to use mmap.")
        if not magic:
            raise EOFError("Ran out of input")
        return _load_legacy(fobj, map_location, weights_only, pickle_load_args)
    finally:
        if opened:
            fobj.close()


def _load_zip(fobj, path, map_location, weights_only, mmap, pickle_load_args):
    try:
        zf = zipfile.ZipFile(fobj)
        names = zf.namelist()
    except Exception as e:  # any malformed archive is a clean RuntimeError, as in torch
        raise RuntimeError(f"PytorchStreamReader failed reading zip archive: {type(e).__name__}: {e}") from None
    pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1] or \
        [n for n in names if n == "data.pkl"]
    if not pkl:
        raise RuntimeError("PytorchStreamReader failed locating file data.pkl: file not found")
    prefix = pkl[0][:-len("data.pkl")]
    infos = {i.filename: i for i in zf.infolist()}

    def read(name, limit=None):
        info = infos.get(name)
        if info is None:
            raise RuntimeError(f"PytorchStreamReader failed locating file {name}: file not found")
        if limit is not None and info.file_size < limit:
            raise RuntimeError(f"storage record {name} is truncated: expected {limit} bytes, found {info.file_size}")
        try:
            with zf.open(info) as r:
                return r.read() if limit is None else r.read(limit)
        except Exception as e:  # bad CRC, truncated or unsupported record
            raise RuntimeError(f"PytorchStreamReader failed reading file {name}: {type(e).__name__}: {e}") from None

    byteorder = "little"
    if prefix + "byteorder" in infos:
        byteorder = read(prefix + "byteorder").decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise RuntimeError(f"Unknown endianness type: {byteorder}")

    mmap_view = None
    if mmap:
        if path is None:
            raise ValueError("f must be a file path in order to use the mmap argument")
        mmap_view = _mmap_reader(path, fobj, infos, prefix)

    loader = _Loader(map_location, lambda key, n: read(f"{prefix}data/{key}", n), mmap_view, byteorder)
    data = read(prefix + "data.pkl")
    return _unpickle(io.BytesIO(data), loader, weights_only, pickle_load_args)


def _mmap_reader(path, fobj, infos, prefix):
    size = os.path.getsize(path)

    def view(key, dt, numel):
        info = infos.get(f"{prefix}data/{key}")
        if info is None or info.compress_type != zipfile.ZIP_STORED:
            return None
        fobj.seek(info.header_offset)
        hdr = fobj.read(30)
        if len(hdr) < 30 or hdr[:4] != b"PK\x03\x04":
            raise RuntimeError(f"PytorchStreamReader failed reading file data/{key}: bad local header")
        nlen, elen = struct.unpack("<HH", hdr[26:30])
        start = info.header_offset + 30 + nlen + elen
        nbytes = numel * dt.itemsize
        if info.file_size < nbytes or start + nbytes > size:
            raise RuntimeError(f"storage data/{key} is truncated")
        if nbytes == 0:
            return np.zeros(0, dt)
        return np.memmap(path, dtype=dt, mode="r", offset=start, shape=(numel,))
    return view


def _load_legacy(fobj, map_location, weights_only, pickle_load_args):
    def small(what):
        up = _Unpickler(fobj, None, True, **pickle_load_args)
        try:
            return up.load()
        except Exception as e:
            raise RuntimeError(f"Invalid legacy checkpoint ({what}): {type(e).__name__}: {e}") from None

    magic = small("magic number")
    if magic != _LEGACY_MAGIC:
        raise RuntimeError("Invalid magic number; corrupt file?")
    proto = small("protocol version")
    if proto != _LEGACY_PROTOCOL:
        raise RuntimeError(f"Invalid protocol version: {proto}")
    info = small("system info")
    if not isinstance(info, dict):
        raise RuntimeError("Invalid legacy checkpoint header")
    byteorder = "little" if info.get("little_endian", True) else "big"
    return _legacy_main(fobj, byteorder, map_location, weights_only, pickle_load_args)


def _legacy_main(fobj, byteorder, map_location, weights_only, pickle_load_args):
    """Legacy layout after the header: the main pickle, a pickled list of storage keys, then
    each storage as (int64 numel, raw bytes) in key order. The element sizes come from the
    main pickle's persistent ids, read in an inert pass before the real one."""
    main_start = fobj.tell()
    try:  # find the end of the main pickle without running it
        for op, arg, pos in pickletools.genops(fobj):
            if op.name == "STOP":
                break
        else:
            raise ValueError("no STOP opcode")
    except Exception as e:
        raise pickle.UnpicklingError(f"corrupt legacy checkpoint: {type(e).__name__}: {e}") from None
    main_end = fobj.tell()
    fobj.seek(main_start)
    main_data = fobj.read(main_end - main_start)
    types = {}
    _unpickle_ids(main_data, types, pickle_load_args)
    try:
        keys = _Unpickler(fobj, None, True, **pickle_load_args).load()
    except Exception as e:
        raise RuntimeError(f"Invalid legacy checkpoint (storage keys): {type(e).__name__}: {e}") from None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise RuntimeError("Invalid legacy checkpoint: storage keys")
    area = {}
    for k in keys:
        head = fobj.read(8)
        if len(head) < 8:
            raise RuntimeError(f"storage {k} is truncated")
        (n,) = struct.unpack("<q" if byteorder == "little" else ">q", head)
        dt = types.get(k)
        if dt is None or n < 0:
            raise RuntimeError(f"Invalid legacy checkpoint: storage {k}")
        nbytes = n * dt.itemsize
        data = fobj.read(nbytes)
        if len(data) < nbytes:
            raise RuntimeError(f"storage {k} is truncated: expected {nbytes} bytes, found {len(data)}")
        area[k] = data
    loader = _Loader(map_location, lambda key, n: area.get(key, b""), None, byteorder)
    return _unpickle(io.BytesIO(main_data), loader, weights_only, pickle_load_args)


def _unpickle_ids(main_data, types, pickle_load_args):
    """Storage key -> dtype from the persistent ids of a legacy main pickle, without running it:
    persistent ids are tuples of constants and a storage class name, read from the opcode stream."""
    class _Rec(pickle.Unpickler):
        def find_class(self, module, name):
            full = f"{module}.{name}"
            st = _allowed().get(full)
            return st if isinstance(st, _StorageType) else _Inert

        def persistent_load(self, pid):
            if isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage":
                st = pid[1]
                if isinstance(st, str):
                    st = _allowed().get(st)
                if isinstance(st, _StorageType) and isinstance(pid[2], str):
                    types[pid[2]] = st.dtype
            return None

    try:
        _Rec(io.BytesIO(main_data), **pickle_load_args).load()
    except Exception as e:
        raise pickle.UnpicklingError(f"corrupt legacy checkpoint: {type(e).__name__}: {e}") from None


class _Inert:
    """Every global in the recording pass: calling or building it does nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

    def __setstate__(self, state):
        pass

    def __setitem__(self, k, v):
        pass

    def append(self, v):
        pass

    def extend(self, v):
        pass

    def add(self, v):
        pass

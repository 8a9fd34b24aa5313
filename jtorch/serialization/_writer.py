"""Writing torch's checkpoint formats (zip and legacy) with torch's pickle names, without torch."""
import collections
import io
import os
import pathlib
import pickle
import struct
import sys
import zipfile

import numpy as np

from .. import _chalf
from .._atomic import atomic_open
from .. import _dtype as D
from .. import _legacy as _layouts
from .._device import device as _device_cls
from .._size import Size
from ._common import (DEFAULT_PROTOCOL, _ALIGN, _LEGACY_MAGIC, _LEGACY_PROTOCOL, _STORAGE_NAMES, _UNTYPED, _T,
                      _contiguous, _layout, _is_parameter, _attribute_state)


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
    from .._device import gpu_devices
    return f"cuda:{gpu_devices().index(dev)}"



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

    def _save_layout(self, obj):  # torch writes layouts as torch.serialization._get_layout("torch.<name>")
        self.save_reduce(_ref("torch.serialization", "_get_layout"), ("torch." + obj.name,), obj=obj)

    dispatch[_Ref] = _save_ref
    dispatch[D.dtype] = _save_dtype
    dispatch[D._QDtype] = _save_dtype
    dispatch[_layouts.layout] = _save_layout

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
            root, offset, strides = _own_value(t), 0, _contiguous(t.shape)
            key_obj = object()
        else:
            root, offset, strides = lay
            key_obj = getattr(t._st, "src", t._st)  # (a complex32 dtype view: its source's bytes, _byte_views.py)
        sref = self.storages.get(id(key_obj))
        if sref is not None and sref.array.dtype != root.dtype:  # (z and z.real: one storage, two dtypes)
            raise RuntimeError("Cannot save multiple tensors or storages that view the same data as different "
                               "types")
        if sref is None:
            sref = _StorageRef(str(len(self.order)), D._FROM_NP[root.dtype], _location(root),
                               int(root.size), root)
            self.storages[id(key_obj)] = sref
            self.order.append((sref, key_obj))
        return sref, offset, strides

    def _reduce_tensor(self, t):
        if not _is_parameter(t):  # torch warns for a plain tensor's hooks (a Parameter's are dropped silently)
            from ..utils.hooks import warn_if_has_hooks
            warn_if_has_hooks(t)
        if t.is_quantized:
            return self._reduce_qtensor(t)
        if t.is_nested:
            return _reduce_nested(t)
        if t.layout is not _layouts.strided:  # torch's form: the layout and the component tensors
            return _ref("torch._utils", "_rebuild_sparse_tensor"), (t.layout, t._sparse_parts())
        if t.is_meta:  # torch's form: no storage, only the metadata
            rebuilt = (_ref("torch._utils", "_rebuild_meta_tensor_no_storage"),
                       (t.dtype, tuple(int(s) for s in t.shape), tuple(t.stride()), bool(t.requires_grad)))
        else:
            sref, offset, strides = self._storage(t)
            args = (sref, offset, tuple(int(s) for s in t.shape), strides, bool(t.requires_grad),
                    collections.OrderedDict())
            if sref.dtype in _UNTYPED:
                rebuilt = (_ref("torch._utils", "_rebuild_tensor_v3"), args + (sref.dtype,))
            else:
                rebuilt = (_ref("torch._utils", "_rebuild_tensor_v2"), args)
        # the tensor's own Python attributes (``t.tag = ...``) travel as torch writes them
        state = _attribute_state(t)
        if _is_parameter(t):
            hooks = collections.OrderedDict()
            if state:
                return _ref("torch._utils", "_rebuild_parameter_with_state"), (
                    _Rebuild(rebuilt), bool(t.requires_grad), hooks, state)
            return _ref("torch._utils", "_rebuild_parameter"), (_Rebuild(rebuilt), bool(t.requires_grad), hooks)
        if state:
            return _ref("torch._tensor", "_rebuild_from_type_v2"), (rebuilt[0], _ref("torch", "Tensor"),
                                                                     rebuilt[1], state)
        return rebuilt


    def _reduce_qtensor(self, t):
        """torch's form: the integers in a quantized storage (QInt8Storage & co), the quantizer's parameters."""
        if t.dtype not in _STORAGE_NAMES:
            _unsupported_storage(t.dtype)
        ir = t._ir
        sref, offset, strides = self._storage(ir)
        sref.dtype = t.dtype  # the storage holds the quantized type's integers
        if t.qscheme() is _qscheme("per_tensor_affine"):
            params = (_ref("torch", "per_tensor_affine"), t.q_scale(), t.q_zero_point())
        else:
            params = (_ref("torch", t.qscheme()._name), t.q_per_channel_scales(), t.q_per_channel_zero_points(),
                      t.q_per_channel_axis())
        return _ref("torch._utils", "_rebuild_qtensor"), (sref, offset, tuple(int(s) for s in t.shape), strides,
                                                           params, False, collections.OrderedDict())


def _reduce_nested(t):
    """torch's forms: a jagged tensor is rebuilt from its constructor's arguments (values, offsets, lengths,
    ragged dim); a strided one from one flat buffer and each component's size, strides and offset in it."""
    if t.layout is _layouts.jagged:
        kwargs = {"values": t._values.detach(), "offsets": t._offsets, "lengths": t._lengths,
                  "_ragged_idx": t._ragged_idx, "requires_grad": bool(t.requires_grad)}
        return _ref("torch._tensor", "_rebuild_from_type_v2"), (
            _ref("torch.nested._internal.nested_tensor", "_rebuild_njt"),
            _ref("torch.nested._internal.nested_tensor", "NestedTensor"), (kwargs,), {})
    from .. import tensor as _tensor, int64
    comps = t.detach().unbind()
    sizes = [tuple(int(s) for s in c.shape) for c in comps]
    numels = [int(np.prod(s, dtype=np.int64)) for s in sizes]
    return _ref("torch._utils", "_rebuild_nested_tensor"), (
        t.detach().values(), _tensor(sizes, dtype=int64), _tensor([_contiguous(s) for s in sizes], dtype=int64),
        _tensor(np.cumsum([0] + numels[:-1], dtype=np.int64)))


def _qscheme(name):
    from .. import ao
    return getattr(ao._qtensor, name)


class _Rebuild:
    """A nested reduce (the Parameter's data) for reducer_override to emit."""
    __slots__ = ("rv",)

    def __init__(self, rv):
        self.rv = rv

    def __reduce__(self):
        return self.rv


def _unsupported_storage(dtype):
    raise pickle.PicklingError(f"jtorch.save: tensors of dtype {dtype} can't be written in torch's format")


def _own_value(t):
    if _chalf.is_chalf_backed(t):
        v = _chalf.value(t)
        return _chalf.ChalfArray(v) if v.dtype == np.complex64 else v
    return t._value


def _storage_bytes(sref):
    a = sref.array
    if type(a) is _chalf.ChalfArray:  # complex32: (real, imag) float16 pairs, as torch stores them
        a = np.asarray(a.data).view(np.float32).astype(np.float16).view(_chalf.NP)
    a = np.asarray(a).reshape(-1)
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
    """An interrupted save never leaves a truncated checkpoint where a good one was (_atomic.py)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    with atomic_open(path) as fobj:
        write(fobj)
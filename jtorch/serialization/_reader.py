"""Reading torch's checkpoint formats: zip archives (optionally memory-mapped) and the legacy format."""
import io
import os
import pickle
import pickletools
import struct
import sys
import zipfile

import jax
import numpy as np

from .. import _dtype as D
from .._device import device as _device_cls, jax_device, to_device
from ._common import _LEGACY_MAGIC, _LEGACY_PROTOCOL
from ._safe import (_LoadedStorage, _StorageType, _Unpickler, _Unsafe, _allowed, _weights_only_message)


class _Loader:
    """Resolves persistent storage ids against the file's records."""

    def __init__(self, map_location, read_bytes, mmap_view=None, byteorder="little"):
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

    def read_storage(self, s, shape):
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
        arr = arr.reshape(shape)
        jd = jax_device(s.target)
        if s.dtype is D.complex32:  # no jax complex32: the complex64 values in a ChalfArray (_chalf.py)
            from .._chalf import ChalfArray
            pairs = np.ascontiguousarray(arr).view(np.float16).reshape(arr.shape + (2,)).astype(np.float32)
            return ChalfArray(jax.device_put(pairs.view(np.complex64).reshape(arr.shape), jd))
        from ..interop import _alias_host, _aligned_empty
        if self.mmap_view is None and jd.platform == "cpu" and arr.size:
            buf = _aligned_empty(arr.shape, arr.dtype)  # one copy out of the file's bytes, which XLA then reads
            buf[...] = arr
            arr = buf
        out = _alias_host(arr, jd)  # zero-copy on the CPU: the mmap'd file or our aligned copy
        return out if out is not None else jax.device_put(np.array(arr), jd)


def _validate_location(loc):
    if not isinstance(loc, str):
        raise RuntimeError(f"bad storage location {loc!r}")
    if loc.startswith("cuda"):
        from .._device import gpu_devices
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

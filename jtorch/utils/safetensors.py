"""The ``.safetensors`` format: ``save_file``/``load_file`` (paths) and ``save``/``load`` (bytes).

Layout: an 8-byte little-endian header length N, N bytes of JSON
``{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}``
(padded with spaces to a multiple of 8), then the tensors' raw little-endian bytes, packed
back to back in the order of their offsets. Loading checks the header against the data
(offsets contiguous and in bounds, sizes matching shapes) so a malformed file raises instead
of producing wrong tensors. Written to be byte-compatible with the reference implementation
(tensors ordered by its dtype ranking, then name).
"""
import json
import math
import os
import struct

import numpy as np

import jtorch as torch
from .._atomic import atomic_open

__all__ = ["save_file", "load_file", "save", "load", "safe_open", "SafetensorError"]

_CODES = {
    torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16", torch.uint16: "U16",
    torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32", torch.uint32: "U32",
    torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint64: "U64",
    torch.complex64: "C64",
}
_DTYPES = {v: k for k, v in _CODES.items()}
# the reference writer orders tensors by its dtype enum (descending), then by name
_RANK = {c: i for i, c in enumerate(["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
                                     "F64", "I64", "U64"])}
_MAX_HEADER = 100_000_000


class SafetensorError(Exception):
    pass


def _as_array(t):
    return np.ascontiguousarray(np.asarray(t.detach())).astype(t.dtype.np.newbyteorder("<"), copy=False)


def _check(tensors):
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, torch.Tensor] but received {type(tensors)}")
    seen = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise ValueError(f"Key `{name}` is invalid, expected str but received {type(name)}")
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"Key `{name}` is invalid, expected torch.Tensor but received {type(t)}")
        if not t.is_contiguous():
            raise ValueError(f"You are trying to save a non contiguous tensor: `{name}` which is not allowed. It "
                             "either means you are trying to save tensors which are reference of each other in "
                             "which case it's recommended to save only the full tensors, and reslice at load "
                             "time, or simply call `.contiguous()` on your tensor to pack it before saving.")
        if t.numel():
            seen.setdefault(t.untyped_storage().data_ptr(), []).append(name)
    shared = [names for names in seen.values() if len(names) > 1]
    if shared:
        raise RuntimeError(f"Some tensors share memory, this will lead to duplicate memory on disk and potential "
                           f"differences when loading them again: {shared}.\nA potential way to correctly save "
                           "your model is to use `save_model`.\nMore information at "
                           "https://huggingface.co/docs/safetensors/torch_shared_tensors")


def save(tensors, metadata=None):
    """The ``.safetensors`` bytes of a dict of tensors."""
    _check(tensors)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in metadata.items()):
            raise ValueError("metadata must be a dict of str to str")
    for name, t in tensors.items():
        if t.dtype not in _CODES:
            raise ValueError(f"dtype {t.dtype} is not supported by safetensors")
    order = sorted(tensors.items(), key=lambda kv: (-_RANK[_CODES[kv[1].dtype]], kv[0]))
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name, t in order:
        data = _as_array(t).tobytes()
        header[name] = {"dtype": _CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((-len(js)) % 8)
    return struct.pack("<Q", len(js)) + js + b"".join(chunks)


def save_file(tensors, filename, metadata=None):
    data = save(tensors, metadata)
    with atomic_open(filename) as f:
        f.write(data)


def _parse(buf):
    if len(buf) < 8:
        raise SafetensorError("Error while deserializing header: HeaderTooSmall")
    (n,) = struct.unpack("<Q", bytes(buf[:8]))
    if n > _MAX_HEADER:
        raise SafetensorError("Error while deserializing header: HeaderTooLarge")
    if 8 + n > len(buf):
        raise SafetensorError("Error while deserializing header: InvalidHeaderLength")
    try:
        header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SafetensorError(f"Error while deserializing header: InvalidHeaderDeserialization: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorError("Error while deserializing header: InvalidHeaderDeserialization")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(v, str) for v in metadata.values())):
        raise SafetensorError("Error while deserializing header: InvalidHeaderDeserialization (metadata)")
    data_len = len(buf) - 8 - n
    entries = []
    for name, info in header.items():
        try:
            dt = _DTYPES[info["dtype"]]
            shape = [int(s) for s in info["shape"]]
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise SafetensorError(f"Error while deserializing header: invalid entry for {name!r}") from None
        if any(s < 0 for s in shape) or begin > end:
            raise SafetensorError(f"Error while deserializing header: invalid shape or offsets for {name!r}")
        if (end - begin) != math.prod(shape) * dt.itemsize:
            raise SafetensorError(f"Error while deserializing header: TensorInvalidInfo for {name!r}")
        entries.append((begin, end, name, dt, shape))
    entries.sort(key=lambda e: (e[0], e[1]))
    pos = 0
    for begin, end, name, _, _ in entries:
        if begin != pos:
            raise SafetensorError(f"Error while deserializing header: InvalidOffset({name})")
        pos = end
    if pos != data_len:
        raise SafetensorError("Error while deserializing header: MetadataIncompleteBuffer")
    return header, metadata, 8 + n, entries


def _tensors(buf, device="cpu"):
    _, _, start, entries = _parse(buf)
    out = {}
    for begin, end, name, dt, shape in sorted(entries, key=lambda e: e[2]):
        arr = np.frombuffer(buf, dtype=dt.np.newbyteorder("<"), count=math.prod(shape),
                            offset=start + begin).reshape(shape).astype(dt.np)
        out[name] = torch.tensor(arr, device=device)
    return out


def load(data, device="cpu"):
    """Tensors from ``.safetensors`` bytes."""
    return _tensors(bytes(data), device)


def load_file(filename, device="cpu"):
    with open(filename, "rb") as f:
        buf = f.read()
    return _tensors(buf, device)


class safe_open:
    """``with safe_open(path, framework="pt") as f: f.keys(), f.get_tensor(name), f.metadata()``."""

    def __init__(self, filename, framework="pt", device="cpu"):
        with open(filename, "rb") as f:
            self._buf = f.read()
        self._header, self._metadata, self._start, entries = _parse(self._buf)
        self._entries = {name: (begin, dt, shape) for begin, _, name, dt, shape in entries}
        self._device = device

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return sorted(self._entries)

    def metadata(self):
        return self._metadata

    def get_tensor(self, name):
        if name not in self._entries:
            raise SafetensorError(f"File does not contain tensor {name}")
        begin, dt, shape = self._entries[name]
        arr = np.frombuffer(self._buf, dtype=dt.np.newbyteorder("<"), count=math.prod(shape),
                            offset=self._start + begin).reshape(shape).astype(dt.np)
        return torch.tensor(arr, device=self._device)

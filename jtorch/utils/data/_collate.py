"""Collation: turn a list of samples into a batch with torch's rules.

Tensors stack along a new dim 0; numpy arrays and numpy scalars become tensors; Python
floats a float64 tensor, ints an int64 tensor, bools a bool tensor; strings and bytes stay a
list; mappings, namedtuples and sequences are collated field by field.
"""
import collections.abc
import copy
import re

import numpy as np

import jtorch as torch

from . import _worker

# numpy dtypes that cannot become tensors: bytes, str, unicode, object
_NP_STR_OBJ = re.compile(r"[SaUO]")

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_numpy(x):
    t = type(x)
    return t.__module__ == "numpy" and t.__name__ not in ("str_", "string_", "bytes_")


def default_convert(data):
    """Convert numpy arrays and scalars inside ``data`` to tensors (no batching)."""
    if isinstance(data, torch.Tensor):
        return data
    if _is_numpy(data):
        if isinstance(data, np.ndarray) and _NP_STR_OBJ.search(data.dtype.str):
            return data
        return torch.as_tensor(data)
    return _map_container(data, default_convert, data)


def _map_container(data, fn, default):
    """Apply ``fn`` to the members of a mapping / namedtuple / sequence, keeping its type when possible."""
    if isinstance(data, collections.abc.Mapping):
        items = {k: fn(data[k]) for k in data}
        return _rebuild_mapping(data, items)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(fn(d) for d in data))
    if isinstance(data, tuple):
        return [fn(d) for d in data]  # torch turns tuples into lists here
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [fn(d) for d in data])
    return default


def _rebuild_mapping(like, items):
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)  # keeps the mapping's own attributes
            clone.update(items)
            return clone
        return type(like)(items)
    except TypeError:
        return items


def _rebuild_sequence(like, values):
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(like)(values)
    except TypeError:
        return values


# ---------------------------------------------------------------- per-type collate functions

def collate_tensor_fn(batch, *, collate_fn_map=None):
    if _worker.get_worker_info() is not None:
        # in a worker: stack on the host with numpy (no XLA work in the worker); the batch
        # travels to the main process as numpy and becomes a tensor there
        ref = tuple(batch[0].shape)
        for i, t in enumerate(batch):
            if tuple(t.shape) != ref:
                raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 "
                                   f"and {list(t.shape)} at entry {i}")
        return torch.tensor(np.stack([np.asarray(t.detach()) for t in batch]))
    return torch.stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    if _NP_STR_OBJ.search(batch[0].dtype.str):
        raise TypeError(_ERR.format(batch[0].dtype))
    return collate([torch.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return torch.as_tensor(np.array(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    return torch.tensor(batch, dtype=torch.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return torch.tensor(batch)  # int64, or bool for a batch of bools


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


# checked first by exact type, then with isinstance in this order (numpy scalars before
# float/int, since np.float64 is a float subclass; bool falls to int)
default_collate_fn_map = {
    torch.Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(batch, *, collate_fn_map=None):
    """Collate ``batch`` using ``collate_fn_map`` ({type or tuple of types: fn}) for leaves and
    recursing into mappings, namedtuples and sequences."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for kind, fn in collate_fn_map.items():
            if isinstance(elem, kind):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {k: collate([d[k] for d in batch], collate_fn_map=collate_fn_map)
                                       for k in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # torch gives a list for tuples
        return _rebuild_sequence(elem, columns)
    raise TypeError(_ERR.format(elem_type))


def default_collate(batch):
    """Batch a list of samples with torch's default rules (see the module docstring)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)

"""Collectives on picklable Python objects: pickled to bytes, sent as uint8 arrays through the
same array collectives (lengths first, then the bytes padded to the longest)."""
import io
import pickle

import jax.numpy as jnp
import numpy as np

from . import _collectives as C
from .distributed_c10d import _resolve, _not_member
from ._tensor_ops import _group_rank


def _to_bytes(obj):
    buf = io.BytesIO()
    pickle.Pickler(buf).dump(obj)
    return np.frombuffer(buf.getvalue(), np.uint8)


def _from_bytes(b):
    return pickle.loads(np.asarray(b, np.uint8).tobytes())


def _gather_bytes(data, g):
    """Every member's byte string (list, group order)."""
    sizes = np.asarray(C.all_gather_array(jnp.asarray([data.size], jnp.int64), g)).reshape(-1)
    padded = np.zeros(int(sizes.max()), np.uint8)
    padded[:data.size] = data
    every = np.asarray(C.all_gather_array(jnp.asarray(padded), g))
    return [every[i, :int(n)] for i, n in enumerate(sizes)]


def all_gather_object(object_list, obj, group=None):
    if _not_member(group):
        return None
    g = _resolve(group)
    if len(object_list) != g.size():
        raise ValueError(f"all_gather_object: object_list must have {g.size()} entries, got {len(object_list)}")
    for i, b in enumerate(_gather_bytes(_to_bytes(obj), g)):
        object_list[i] = _from_bytes(b)


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    if _not_member(group):
        return None
    g = _resolve(group)
    d = _group_rank(g, 0 if dst is None and group_dst is None else dst, group_dst, "dst")
    every = _gather_bytes(_to_bytes(obj), g)
    if g.rank() == d:
        if object_gather_list is None or len(object_gather_list) != g.size():
            raise ValueError(f"gather_object: object_gather_list must have {g.size()} entries on the destination")
        for i, b in enumerate(every):
            object_gather_list[i] = _from_bytes(b)


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """``object_list`` on the source is pickled; every member's list is overwritten in place."""
    if _not_member(group):
        return None
    g = _resolve(group)
    s = _group_rank(g, 0 if src is None and group_src is None else src, group_src, "src")
    data = _to_bytes(list(object_list)) if g.rank() == s else np.zeros(0, np.uint8)
    size = int(np.asarray(C.broadcast_array(jnp.asarray([data.size], jnp.int64), s, g))[0])
    padded = np.zeros(size, np.uint8)
    padded[:data.size] = data
    objs = _from_bytes(np.asarray(C.broadcast_array(jnp.asarray(padded), s, g)))
    if len(objs) != len(object_list):
        raise ValueError(f"broadcast_object_list: the source sent {len(objs)} objects, this rank's list has "
                         f"{len(object_list)} slots")
    object_list[:] = objs


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None, group=None,
                        group_src=None):
    if _not_member(group):
        return None
    g = _resolve(group)
    s = _group_rank(g, 0 if src is None and group_src is None else src, group_src, "src")
    objs = list(scatter_object_input_list) if g.rank() == s else [None] * g.size()
    if len(objs) != g.size():
        raise ValueError(f"scatter_object_list: the input list must have {g.size()} entries")
    broadcast_object_list(objs, group=group, group_src=s)
    scatter_object_output_list[0] = objs[g.rank()]

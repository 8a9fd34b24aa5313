"""Collectives on tensors, in place like torch.distributed. Not differentiable (as in torch):
results are written with ``_set_array``, outside autograd. The communication itself is in
``_collectives.py`` (array level, shared with the compiled SPMD step)."""
import jax.numpy as jnp

from . import _collectives as C
from . import _runtime
from ._types import Work, _op, ReduceOp
from .distributed_c10d import _resolve, _not_member


def _tensor_cls():
    from ..tensor import Tensor
    return Tensor


def _check(t, name="tensor"):
    if not isinstance(t, _tensor_cls()):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor "
                        f"but got {type(t)} instead.")


def _check_list(ts, name):
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, _tensor_cls()) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type List[torch.Tensor] "
                        "but got something else instead.")


def _put(t, arr):
    t._set_array(arr.astype(t._value.dtype))


def _done(async_op, tensors=()):
    return Work(tensors) if async_op else None


def _group_rank(g, global_rank, group_rank, what):
    """torch's ``src``/``dst`` are global ranks; ``group_src``/``group_dst`` are group ranks."""
    if group_rank is not None:
        if global_rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
        r = group_rank
    else:
        if global_rank is None:
            raise ValueError("Must specify global_rank or group_rank")
        if global_rank not in g.ranks:
            raise ValueError(f"Group {list(g.ranks)} does not contain global rank {global_rank} ({what})")
        r = g.ranks.index(global_rank)
    if not 0 <= r < len(g.ranks):
        raise ValueError(f"invalid root rank: {r}")
    return r


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    if _not_member(group):
        return None
    g = _resolve(group)
    _check(tensor)
    _put(tensor, C.all_reduce_array(tensor._value, _op(op), g))
    return _done(async_op, [tensor])


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    if _not_member(group):
        return None
    g = _resolve(group)
    _check(tensor)
    d = _group_rank(g, dst, group_dst, "dst")
    out = C.all_reduce_array(tensor._value, _op(op), g)
    if g.rank() == d:
        _put(tensor, out)
    return _done(async_op, [tensor])


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    if _not_member(group):
        return None
    g = _resolve(group)
    _check(tensor)
    s = _group_rank(g, src, group_src, "src")
    _put(tensor, C.broadcast_array(tensor._value, s, g))
    return _done(async_op, [tensor])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    if _not_member(group):
        return None
    g = _resolve(group)
    _check_list(tensor_list, "tensor_list")
    _check(tensor)
    if len(tensor_list) != g.size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors, the group has {g.size()} ranks")
    for i, t in enumerate(tensor_list):
        if tuple(t.shape) != tuple(tensor.shape):
            raise RuntimeError(f"all_gather: invalid tensor size at index {i} (expected {tuple(tensor.shape)}, "
                               f"got {tuple(t.shape)})")
    every = C.all_gather_array(tensor._value, g)
    for i, t in enumerate(tensor_list):
        _put(t, every[i])
    return _done(async_op, tensor_list)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """``output`` is the inputs concatenated (n*k, ...) or stacked (n, k, ...)."""
    if _not_member(group):
        return None
    g = _resolve(group)
    _check(output_tensor, "output_tensor")
    _check(input_tensor, "input_tensor")
    if output_tensor.numel() != g.size() * input_tensor.numel():
        raise ValueError(f"all_gather_into_tensor: output tensor must have world_size ({g.size()}) times the "
                         f"input's number of elements, got {output_tensor.numel()} and {input_tensor.numel()}")
    every = C.all_gather_array(input_tensor._value, g)
    _put(output_tensor, every.reshape(tuple(output_tensor.shape)))
    return _done(async_op, [output_tensor])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """``input`` is n chunks (n*k, ...) or (n, k, ...); rank i gets the reduction of chunk i."""
    if _not_member(group):
        return None
    g = _resolve(group)
    _check(output, "output")
    _check(input, "input")
    if input.numel() != g.size() * output.numel():
        raise ValueError(f"reduce_scatter_tensor: input tensor must have world_size ({g.size()}) times the "
                         f"output's number of elements, got {input.numel()} and {output.numel()}")
    flat = input._value.reshape((g.size() * output.numel(),))
    _put(output, C.reduce_scatter_array(flat, _op(op), g).reshape(tuple(output.shape)))
    return _done(async_op, [output])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    if _not_member(group):
        return None
    g = _resolve(group)
    _check(output, "output")
    _check_list(input_list, "input_list")
    if len(input_list) != g.size() or any(tuple(t.shape) != tuple(output.shape) for t in input_list):
        raise ValueError(f"reduce_scatter: input_list must hold {g.size()} tensors shaped like output")
    stacked = jnp.stack([t._value for t in input_list])
    _put(output, C.reduce_scatter_array(stacked, _op(op), g)[0])
    return _done(async_op, [output])


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    if _not_member(group):
        return None
    g = _resolve(group)
    _check(tensor)
    d = _group_rank(g, 0 if dst is None and group_dst is None else dst, group_dst, "dst")
    if g.rank() == d:
        _check_list(gather_list, "gather_list")
        if len(gather_list) != g.size():
            raise ValueError(f"gather: gather_list has {len(gather_list)} tensors, the group has {g.size()} ranks")
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    every = C.all_gather_array(tensor._value, g)
    if g.rank() == d:
        for i, t in enumerate(gather_list):
            _put(t, every[i])
    return _done(async_op, gather_list or [])


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    if _not_member(group):
        return None
    g = _resolve(group)
    _check(tensor)
    s = _group_rank(g, 0 if src is None and group_src is None else src, group_src, "src")
    if g.rank() == s:
        _check_list(scatter_list, "scatter_list")
        if len(scatter_list) != g.size() or any(tuple(t.shape) != tuple(tensor.shape) for t in scatter_list):
            raise ValueError(f"scatter: scatter_list must hold {g.size()} tensors shaped like tensor")
        stacked = jnp.stack([t._value.astype(tensor._value.dtype) for t in scatter_list])
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    else:
        stacked = jnp.zeros((g.size(),) + tuple(tensor.shape), tensor._value.dtype)
    _put(tensor, C.broadcast_array(stacked, s, g)[g.rank()])
    return _done(async_op, [tensor])


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op=False):
    """Equal splits only: rank i gets chunk i of every rank's ``input``, in rank order."""
    if _not_member(group):
        return None
    g = _resolve(group)
    _check(output, "output")
    _check(input, "input")
    if output_split_sizes or input_split_sizes:
        raise NotImplementedError("all_to_all_single with uneven split sizes is not supported by jtorch")
    n = g.size()
    if input.shape[0] % n or tuple(output.shape) != tuple(input.shape):
        raise ValueError(f"all_to_all_single: input and output must have the same shape, dim 0 divisible by {n}")
    every = C.all_gather_array(input._value, g)  # (n, n*k, ...)
    k = input.shape[0] // n
    me = g.rank()
    _put(output, every[:, me * k:(me + 1) * k].reshape(tuple(output.shape)))
    return _done(async_op, [output])


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every member arrives, in the agent's store (honours the group's timeout: a
    missing member raises DistBackendError after it, a failed one at once)."""
    if _not_member(group):
        return None
    _barrier(_resolve(group))
    return _done(async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """``barrier`` whose timeout error names the ranks that did not arrive, in torch's words
    ("[Rank 0]: Rank 1 failed to pass monitoredBarrier in 3000 ms"; with ``wait_all_ranks``,
    every one of them)."""
    if _not_member(group):
        return None
    g = _resolve(group)
    _barrier(g, timeout or g.timeout, "all" if wait_all_ranks else "first")


def _barrier(g, timeout=None, monitored=None):
    if g.size() > 1:
        g._barriers += 1
        _runtime.barrier(f"{'world' if g.is_world else g.group_name}/{g._barriers}", list(g.ranks),
                         (timeout or g.timeout).total_seconds(), monitored)

"""Array-level collectives: every tensor collective of jtorch.distributed (and DDP) goes
through here, on jax arrays.

Each collective is written once as a per-rank function using ``jax.lax`` collectives over
the mesh axis ``AXIS``. Two ways to run it:

* eager (a concrete array): the processes' pieces form one global array sharded over a
  mesh of one device per group member; a cached ``jax.jit(shard_map(per_rank))`` runs the
  collective through JAX's runtime (gloo on CPU, NCCL on GPU) and each process keeps
  its own output piece.
* traced (``arr`` is a JAX tracer): we are inside ``jtorch.compile``'s SPMD step, which
  runs the step under ``jax.shard_map`` over a mesh axis named ``AXIS``; the per-rank
  function is emitted directly into that program, so XLA fuses it into the step. Outside
  such a trace (axis not bound), a one-process group needs no communication.

``group`` is a distributed_c10d.ProcessGroup (``ranks``: the member processes, in group order).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from ._types import DistBackendError, _RedOpType

AXIS = "ranks"


# ------------------------------------------------------------------ per-rank functions

def _reduce(x, op):
    """All-reduce of this rank's ``x`` over AXIS. The axis size (not the group's size) divides
    AVG: a compiled SPMD step may shard over more devices than processes."""
    n = jax.lax.axis_size(AXIS)
    if x.dtype == jnp.bool_:  # sum/max = or, min/product = and
        y = _reduce(x.astype(jnp.uint8), _RedOpType.MAX if op in (_RedOpType.SUM, _RedOpType.MAX, _RedOpType.BOR)
                    else _RedOpType.MIN)
        return y.astype(jnp.bool_)
    if op == _RedOpType.SUM:
        return jax.lax.psum(x, AXIS)
    if op == _RedOpType.AVG:
        s = jax.lax.psum(x, AXIS)
        return s / n if jnp.issubdtype(x.dtype, jnp.inexact) else (s // n).astype(x.dtype)
    if op == _RedOpType.MAX:
        return jax.lax.pmax(x, AXIS)
    if op == _RedOpType.MIN:
        return jax.lax.pmin(x, AXIS)
    every = jax.lax.all_gather(x, AXIS)
    if op == _RedOpType.PRODUCT:
        return jnp.prod(every, axis=0, dtype=x.dtype)
    fn = {_RedOpType.BAND: jnp.bitwise_and, _RedOpType.BOR: jnp.bitwise_or, _RedOpType.BXOR: jnp.bitwise_xor}.get(op)
    if fn is None or not jnp.issubdtype(x.dtype, jnp.integer):
        raise ValueError(f"reduce op {op!r} is not supported for dtype {x.dtype}")
    return functools.reduce(fn, list(every))


def _gather(x):
    return jax.lax.all_gather(x, AXIS)  # (n, *x.shape)


def _bcast(x, src):
    return jax.lax.all_gather(x, AXIS)[src]  # exact for every dtype (a masked psum is not: -0.0, NaN)


def _reduce_scatter(x, op):
    """``x`` (n*k, ...): this rank gets its k-row chunk of the reduction."""
    n = jax.lax.axis_size(AXIS)
    if op == _RedOpType.SUM and x.dtype != jnp.bool_:
        return jax.lax.psum_scatter(x, AXIS, scatter_dimension=0, tiled=True)
    full = _reduce(x, op).reshape((n, -1) + x.shape[1:])
    return full[jax.lax.axis_index(AXIS)]


# ------------------------------------------------------------------ running them

@functools.lru_cache(None)
def _mesh(ranks, platform):
    """One device per member process: its first device of ``platform``."""
    first = {}
    for d in jax.devices(platform):
        first.setdefault(d.process_index, d)
    return Mesh(np.array([first[r] for r in ranks]), (AXIS,))


@functools.lru_cache(None)
def _program(fn, ranks, platform):
    """The cached cross-process program running per-rank ``fn`` on each member's piece."""
    mesh = _mesh(ranks, platform)
    body = jax.shard_map(lambda xb: fn(xb[0])[None], mesh=mesh, in_specs=P(AXIS), out_specs=P(AXIS))
    return jax.jit(body), NamedSharding(mesh, P(AXIS))


def _axis_bound():
    try:
        jax.lax.axis_size(AXIS)
        return True
    except NameError:
        return False


class NeedsSPMDStep(RuntimeError):
    """A collective over several processes met a plain trace: jtorch.compile catches this and
    retraces the step under shard_map (jtorch/_spmd.py, trace_step)."""


def _run(fn, arr, group):
    if isinstance(arr, jax.core.Tracer):
        if _axis_bound():
            if not group.is_world:
                raise NotImplementedError("collectives over a subgroup are not supported inside a compiled "
                                          "SPMD step; use the default group")
            return fn(arr)
        if len(group.ranks) == 1:
            return _single(fn, arr)
        raise NeedsSPMDStep("a collective inside a traced function needs jtorch.compile's SPMD step "
                           f"(a mesh axis named {AXIS!r}); this trace has none")
    dev = next(iter(arr.devices()))
    prog, sharding = _program(fn, group.ranks, dev.platform)
    mine = sharding.mesh.devices.flat[group.ranks.index(jax.process_index())]

    piece = jax.device_put(arr, mine)[None]
    glob = jax.make_array_from_single_device_arrays((len(group.ranks),) + arr.shape, sharding, [piece])

    def execute():  # the part that waits for the other members
        out = prog(glob)
        out.block_until_ready()  # surface a failed peer here, not at some later use
        return out

    secs = group.timeout.total_seconds()

    def timed_out():
        return DistBackendError(f"Timed out waiting {int(secs * 1000)}ms for a collective over ranks "
                                f"{list(group.ranks)} to complete: a member did not take part (did another rank "
                                "stop, hang or call a different collective?)")
    from ._runtime import call_with_timeout, dead_peer
    try:
        return call_with_timeout(execute, secs, timed_out).addressable_data(0)[0]
    except (jax.errors.JaxRuntimeError, ValueError) as e:
        if isinstance(e, ValueError) and "Gloo" not in str(e) and "UNKNOWN" not in str(e):
            raise
        # a peer's connection closed: the agent says which rank and why, when it knows
        known = dead_peer(set(group.ranks))
        who = f"rank {known[0]} failed ({known[1]})" if known else "did another rank exit or crash?"
        raise DistBackendError(f"collective over ranks {list(group.ranks)} failed: {who}. "
                               f"{str(e).splitlines()[0]}") from e


def _single(fn, arr):
    """A one-member group inside a plain trace: bind AXIS (size 1) with vmap."""
    return jax.vmap(fn, axis_name=AXIS)(arr[None])[0]


# ------------------------------------------------------------------ the public array API

@functools.lru_cache(None)
def _reducer(op):
    return functools.partial(_reduce, op=op)


def all_reduce_array(arr, op, group):
    return _run(_reducer(_RedOpType(op)), arr, group)


def all_gather_array(arr, group):
    """(n, *arr.shape): every member's ``arr`` in group order."""
    return _run(_gather, arr, group)


@functools.lru_cache(None)
def _bcaster(src):
    return functools.partial(_bcast, src=src)


def broadcast_array(arr, src, group):
    """Group rank ``src``'s ``arr`` on every member."""
    return _run(_bcaster(src), arr, group)


@functools.lru_cache(None)
def _scatterer(op):
    return functools.partial(_reduce_scatter, op=op)


def reduce_scatter_array(arr, op, group):
    """``arr`` (n*k, ...) on every member; member i gets rows [i*k, (i+1)*k) of the reduction."""
    return _run(_scatterer(_RedOpType(op)), arr, group)

"""SPMD placement: tensors whose arrays span a 1-D mesh of local devices.

``nn.DataParallel`` puts the batch on a mesh sharded along the batch dimension and the
parameters on the same mesh replicated; every op is still one jitted call, and XLA's SPMD
partitioner splits it over the devices (inserting the all-reduce a gradient needs). So the
results are the single-device ones by construction: placement changes only where the work
runs, never the value.

``jtorch.compile`` asks ``program_shardings`` whether a traced step placed anything on a
mesh; if so the whole step is jitted with the state replicated over that mesh and the batch
arguments sharded as the step placed them: one SPMD program per step.
"""
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

AXIS = "dp"  # the mesh axis nn.DataParallel shards the batch over

_MESHES = {}


def local_devices():
    """The devices DataParallel spreads over: the GPUs if there are any, else the CPU devices."""
    from ._device import _jax_devices
    return list(_jax_devices("gpu") or _jax_devices("cpu"))


def mesh_of(devices):
    key = tuple(d.id for d in devices)
    m = _MESHES.get(key)
    if m is None:
        m = _MESHES[key] = Mesh(np.array(list(devices)), (AXIS,))
    return m


def replicated(mesh):
    return NamedSharding(mesh, P())


def split(mesh, dim):
    """Sharded along ``dim`` over the mesh axis."""
    return NamedSharding(mesh, P(*([None] * dim), AXIS))


def is_traced(t):
    return isinstance(t._st.array, jax.core.Tracer)


def home_device(array):
    """The device a multi-device array reports as its torch device: the lowest id (the mesh's first)."""
    devs = array.devices()
    return next(iter(devs)) if len(devs) == 1 else min(devs, key=lambda d: d.id)


# ------------------------------------------------------------------ differentiable moves
_RESHARD = []


def _reshard_fn():
    if not _RESHARD:
        from .autograd.function import Function
        from .tensor import Tensor

        class Reshard(Function):
            """Move tensors to new shardings; the gradients go back to where each input was
            (torch's Broadcast/Gather: replicas' gradients reduce onto the source device)."""

            @staticmethod
            def forward(ctx, targets, *xs):
                arrays = [x._value for x in xs]
                ctx.srcs = [None if isinstance(a, jax.core.Tracer) else a.sharding for a in arrays]
                return tuple(Tensor._wrap(a) for a in _put(arrays, targets))

            @staticmethod
            def backward(ctx, *gs):
                keep = [i for i, s in enumerate(ctx.srcs) if s is not None and gs[i] is not None]
                out = list(gs)
                moved = jax.device_put([gs[i]._value for i in keep], [ctx.srcs[i] for i in keep])
                for i, a in zip(keep, moved):
                    out[i] = Tensor._wrap(a)
                return (None, *out)
        _RESHARD.append(Reshard)
    return _RESHARD[0]


def _put(arrays, targets):
    """device_put, or under a trace a placement the SPMD partitioner follows (None: no constraint)."""
    out = list(arrays)
    idx = [i for i, s in enumerate(targets) if s is not None]
    if idx:
        for i, a in zip(idx, jax.device_put([arrays[i] for i in idx], [targets[i] for i in idx])):
            out[i] = a
    return out


def reshard(tensors, targets):
    """``tensors`` placed on ``targets`` (shardings or devices; None leaves one as it is), with
    gradients flowing back to the original placement. One batched transfer for all of them."""
    from ._dispatch import GRAD
    from .tensor import Tensor
    out = [None] * len(tensors)
    diff = [i for i, t in enumerate(tensors) if t.requires_grad and GRAD.enabled]
    plain = [i for i in range(len(tensors)) if i not in set(diff)]
    if plain:
        for i, a in zip(plain, _put([tensors[i]._value for i in plain], [targets[i] for i in plain])):
            out[i] = Tensor._wrap(a)
    if diff:
        res = _reshard_fn().apply(tuple(targets[i] for i in diff), *[tensors[i] for i in diff])
        for i, t in zip(diff, res):
            out[i] = t
    return out


# ------------------------------------------------------------------ jtorch.compile hook
def _placements(jaxpr):
    """{input var: sharding} for inputs a traced step device_puts onto a multi-device mesh,
    and the mesh (None when the step placed nothing on one)."""
    found, mesh = {}, None
    invars = set(jaxpr.jaxpr.invars)
    for eqn in jaxpr.jaxpr.eqns:
        if eqn.primitive.name != "device_put":
            continue
        for v, s in zip(eqn.invars, eqn.params["devices"]):
            if not isinstance(s, NamedSharding) or s.mesh.size < 2:
                continue
            if mesh is None:
                mesh = s.mesh
            if s.mesh == mesh and v in invars and v not in found:
                found[v] = s
    return found, mesh


def program_shardings(closed_jaxpr, arrays):
    """jit placement for a traced compiled step over input ``arrays``: None when it uses no mesh;
    else (in_shardings, out_shardings, scalar sharding): arguments the step scattered are sharded
    as it scattered them, everything else (state, scalars, outputs) replicated over the mesh.
    The mesh is the one the step placed tensors on, or else the one its state already spans
    (a model trained data-parallel, now used by another compiled function)."""
    found, mesh = _placements(closed_jaxpr)
    if mesh is None:
        for a in arrays:
            s = getattr(a, "sharding", None)
            if isinstance(s, NamedSharding) and s.mesh.size > 1:
                mesh = s.mesh
                break
        else:
            return None
    rep = replicated(mesh)
    ins = tuple(found.get(v, rep) for v in closed_jaxpr.jaxpr.invars)
    return ins, rep, rep


def cpu_safe(jitted, place):
    """On virtual CPU devices, wait for each SPMD step before the next: XLA's CPU client runs the
    devices' parts on a shared thread pool, and devices running a step ahead can fill it while
    blocked in a collective the lagging devices never get a thread to reach (seen with hand-written
    JAX on 4 virtual devices over 2 cores: a rendezvous timeout that aborts the process)."""
    if jitted is None or place is None or next(iter(place[2].device_set)).platform != "cpu":
        return jitted

    def run(*args):
        return jax.block_until_ready(jitted(*args))
    run.jitted = jitted
    return run


# ------------------------------------------------------------------ mixing placements eagerly
def align(arrays, error):
    """After jit refused ``arrays`` for "incompatible devices": ``arrays`` with each one committed to
    a single device replicated onto the mesh the others span, when that device is the mesh's first
    (so torch would call them the same device); else None (the error stands)."""
    if "incompatible devices" not in str(error):
        return None
    flat = [a for a in arrays if isinstance(a, jax.Array)]
    for a in arrays:
        if isinstance(a, tuple):
            flat.extend(x for x in a if isinstance(x, jax.Array))
    meshes = {frozenset(a.devices()) for a in flat if len(a.devices()) > 1}
    if len(meshes) != 1:
        return None
    spread = next(a for a in flat if len(a.devices()) > 1)
    home = home_device(spread)
    target = NamedSharding(spread.sharding.mesh, P()) if isinstance(spread.sharding, NamedSharding) else None
    if target is None or any(len(a.devices()) == 1 and next(iter(a.devices())) != home for a in flat):
        return None

    def move(a):
        if isinstance(a, tuple):
            return tuple(move(x) for x in a)
        if isinstance(a, jax.Array) and len(a.devices()) == 1:
            return jax.device_put(a, target)
        return a
    return [move(a) for a in arrays]


# ------------------------------------------------------------------ compiled steps across processes
class Ranks:
    """A compiled step across the processes of jtorch.distributed: the traced step runs under
    ``jax.shard_map`` over a mesh of one device per process (axis ``_collectives.AXIS``), so the
    collectives it makes (DDP's gradient averaging) are ``lax`` collectives inside one SPMD
    program. Inputs: state and scalars replicated (P()), each tensor argument this rank's shard
    of a global array (P(axis) along dim 0: every rank must pass the same shapes). Outputs are
    declared replicated without a check (``check_vma=False``): each process keeps its own
    device's piece, which is its rank's value (a loss differs per rank; DDP's parameters do not).
    """

    def __init__(self, mesh, axis):
        self.mesh, self.axis = mesh, axis
        self.rep = NamedSharding(mesh, P())
        self.local = mesh.devices.flat[jax.process_index()]

    def _arg_spec(self, a):
        return P(self.axis) if a.ndim else P()

    def trace(self, body, state, args, hyper):
        specs = [self._arg_spec(a) for a in args]
        wrapped = jax.shard_map(body, mesh=self.mesh, in_specs=(P(), specs, P()), out_specs=P(), check_vma=False)
        n = self.mesh.size
        avals = ([jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=self.rep) for a in state],
                 [jax.ShapeDtypeStruct((a.shape[0] * n,) + a.shape[1:] if a.ndim else a.shape, a.dtype,
                                       sharding=NamedSharding(self.mesh, s)) for a, s in zip(args, specs)],
                 [jax.ShapeDtypeStruct(jax.numpy.shape(a), jax.numpy.result_type(a), sharding=self.rep)
                  for a in hyper])
        self.layout = (len(state), [NamedSharding(self.mesh, s) for s in specs])
        self.traced = jax.jit(wrapped).trace(*avals)
        return self.traced

    def runner(self, jitted):
        """``jitted`` over global arrays, called with (and returning) this process's local arrays."""
        if jitted is None:
            return None
        n_state, arg_shardings = self.layout
        n_args, n, local, rep = len(arg_shardings), self.mesh.size, self.local, self.rep
        make = jax.make_array_from_single_device_arrays
        from .distributed import _runtime
        what = f"a compiled step's collectives over ranks {list(range(n))}"
        exe = []

        def run(*flat):
            flat = jax.device_put(list(flat), local)  # no-op for arrays already there
            glob = []
            for i, a in enumerate(flat):
                if n_state <= i < n_state + n_args and a.ndim:
                    glob.append(make((a.shape[0] * n,) + a.shape[1:], arg_shardings[i - n_state], [a]))
                else:
                    glob.append(make(a.shape, rep, [a]))
            if not exe:  # compiled first, so that the watchdog times the run only
                exe.append(jitted.lower(*glob).compile())
            watched = _runtime.watch(what)  # a run left waiting for a peer past the timeout ends the process
            out = exe[0](*glob)
            _runtime.watched(watched, out)
            return [o.addressable_data(0) for o in out]
        return run


def _ranks():
    """The Ranks of this process's default group, or None outside a multi-process run."""
    try:
        from .distributed import _runtime, _collectives
    except ImportError:
        return None
    j = _runtime.joined()
    if j is None or j["world"] < 2:
        return None
    platform = next(iter(local_devices())).platform
    return Ranks(_collectives._mesh(tuple(range(j["world"])), platform), _collectives.AXIS)


def trace_step(body, state, args, hyper, across):
    """jtorch.compile's trace of a step: plain, or across processes (see Ranks) when the step makes
    a collective over several processes (learnt from the plain trace failing on it). Returns
    (traced, Ranks or None); ``across`` is what the previous trace of this function learnt."""
    if not across:
        try:
            return jax.jit(body).trace(state, args, hyper), None
        except RuntimeError as e:
            from .distributed._collectives import NeedsSPMDStep
            if not isinstance(e, NeedsSPMDStep):
                raise
    ranks = _ranks()
    if ranks is None:
        raise RuntimeError("a collective over several processes inside jtorch.compile needs "
                           "jtorch.distributed's default group with world_size > 1")
    return ranks.trace(body, state, args, [jax.numpy.asarray(h) for h in hyper]), ranks

"""nn.DataParallel over the local JAX devices of one process, as one SPMD computation.

torch replicates the module onto each device, runs the replicas on chunks of the batch in
threads and gathers the outputs. Here the batch becomes one array sharded along ``dim``
over a 1-D mesh of the devices and the parameters one array replicated over it; the module
runs once and XLA's SPMD partitioner splits every op over the devices (see jtorch/_spmd.py).
Gradients flow back through the replication onto the original parameters, reduced over the
devices inside the ops, as torch's reduce-add onto ``device_ids[0]`` does.

One difference from torch: the module sees the whole batch, so BatchNorm normalises with
the statistics of the global batch (like SyncBatchNorm) where torch's replicas each use
their own chunk's statistics; and a module that returns a 0-dim tensor returns it as is
(torch gathers one value per replica into a vector).
"""
import operator

import jax

import jtorch as torch
from jtorch import _spmd
from jtorch.tensor import Tensor

from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


def _device_index(d, what="device_ids"):
    """An index into the local devices: an int, 'cuda:1', torch.device('cuda', 1)."""
    if isinstance(d, str):
        d = torch.device(d)
    if isinstance(d, torch.device):
        if d.index is None:
            if d.type == "cpu":
                return 0
            raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{d}")
        return d.index
    try:
        return operator.index(d)
    except TypeError:
        raise TypeError(f"{what} must hold integers or torch.device objects, got {type(d).__name__}") from None


def _is_tensor(x):
    return isinstance(x, Tensor)


class _Plan:
    """Which devices a DataParallel runs on, and where its outputs go."""

    def __init__(self, device_ids, output_device):
        devs = _spmd.local_devices()
        for i in list(device_ids) + [output_device]:
            if not 0 <= i < len(devs):
                raise RuntimeError(f"Invalid device id {i}: this process has {len(devs)} "
                                   f"{devs[0].platform.upper()} device(s)")
        self.devices = [devs[i] for i in device_ids]
        gpu = devs[0].platform == "gpu"
        # on CPU every device is torch's "cpu", which jtorch keeps on the first CPU device
        self.output = devs[output_device] if gpu else devs[0]
        self.src_device_obj = torch.device("cuda", device_ids[0]) if gpu else torch.device("cpu")

    def n_used(self, batch):
        """The most devices (at most all) that split ``batch`` evenly: sharding needs equal chunks."""
        n = len(self.devices)
        if batch is None or batch < 2:
            return 1
        return max(k for k in range(1, min(n, batch) + 1) if batch % k == 0)


_PLANS = {}


def _plan(device_ids, output_device):
    """Plans are cached here, not kept on the module, so DataParallel pickles and deep-copies
    (jax devices do neither)."""
    key = (tuple(device_ids), output_device)
    p = _PLANS.get(key)
    if p is None:
        p = _PLANS[key] = _Plan(device_ids, output_device)
    return p


def _spmd_forward(module, plan, dim, inputs, kwargs):
    leaves, tree = jax.tree_util.tree_flatten((inputs, kwargs), is_leaf=_is_tensor)
    tensors = [i for i, x in enumerate(leaves) if _is_tensor(x)]
    first = next((leaves[i] for i in tensors if leaves[i].ndim > dim), None)
    n = plan.n_used(first.shape[dim] if first is not None else None)
    if n == 1:
        # one device: a plain call, the inputs moved to it as torch's scatter would
        moved = [x.to(plan.src_device_obj) if _is_tensor(x) else x for x in leaves]
        a, k = jax.tree_util.tree_unflatten(tree, moved)
        return module(*a, **k)
    mesh = _spmd.mesh_of(plan.devices[:n])
    rep = _spmd.replicated(mesh)
    batch = first.shape[dim]

    def placement(t):
        return _spmd.split(mesh, dim) if t.ndim > dim and t.shape[dim] == batch else rep

    params = dict(module.named_parameters())
    buffers = dict(module.named_buffers())
    own = list(params.values()) + list(buffers.values())
    placed = _spmd.reshard(own + [leaves[i] for i in tensors],
                           [rep] * len(own) + [placement(leaves[i]) for i in tensors])
    values = dict(zip(list(params) + list(buffers), placed))
    for i, t in zip(tensors, placed[len(own):]):
        leaves[i] = t
    reps = placed[len(params):len(own)]
    versions = [r._st.version for r in reps]
    a, k = jax.tree_util.tree_unflatten(tree, leaves)
    out = torch.func.functional_call(module, values, a, k)
    # buffers the forward updated in place (BatchNorm's running statistics) go back to the module
    for orig, r, v in zip(buffers.values(), reps, versions):
        if r._st.version != v:
            arr = r._value
            if not isinstance(arr, jax.core.Tracer):
                arr = jax.device_put(arr, orig._value.sharding)
            orig._set_array(arr)
    return _gather(out, plan, mesh)


def _gather(out, plan, mesh):
    """Outputs onto the output device (torch's gather); inside a compiled step they stay where
    the partitioner put them, so a loss on them is computed in parallel too."""
    leaves, tree = jax.tree_util.tree_flatten(out, is_leaf=_is_tensor)
    idx = [i for i, x in enumerate(leaves) if _is_tensor(x) and not _spmd.is_traced(x)]
    if idx:
        for i, t in zip(idx, _spmd.reshard([leaves[i] for i in idx], [plan.output] * len(idx))):
            leaves[i] = t
    return jax.tree_util.tree_unflatten(tree, leaves)


def _check_placement(module, src):
    for t in list(module.parameters()) + list(module.buffers()):
        if t.device != src:
            raise RuntimeError(f"module must have its parameters and buffers on device {src} (device_ids[0]) "
                               f"but found one of them on device: {t.device}")


class DataParallel(Module):
    """Run ``module`` data-parallel over the local devices: the batch is split along ``dim``.

    See the module docstring for how (one SPMD computation) and the BatchNorm difference."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f"dim must be an int, got {type(dim).__name__}")
        n = len(_spmd.local_devices())
        if device_ids is None:
            device_ids = list(range(n))
        if len(device_ids) == 0:
            raise RuntimeError("no available devices were found")
        self.dim = dim
        self.module = module
        self.device_ids = [_device_index(d) for d in device_ids]
        self.output_device = _device_index(self.device_ids[0] if output_device is None else output_device,
                                           "output_device")
        self.src_device_obj = _plan(self.device_ids, self.output_device).src_device_obj
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        _check_placement(self.module, self.src_device_obj)
        return _spmd_forward(self.module, _plan(self.device_ids, self.output_device), self.dim, inputs, kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """The functional form of DataParallel: one data-parallel call of ``module`` on ``inputs``."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    if device_ids is None:
        device_ids = list(range(len(_spmd.local_devices())))
    device_ids = [_device_index(d) for d in device_ids]
    output_device = _device_index(device_ids[0] if output_device is None else output_device, "output_device")
    plan = _plan(device_ids, output_device)
    _check_placement(module, plan.src_device_obj)
    return _spmd_forward(module, plan, dim, inputs, module_kwargs or {})

"""DistributedDataParallel: each process holds a replica; gradients are averaged over the
process group after every backward, so replicas stay equal.

* Construction broadcasts parameters and buffers from rank 0 (one collective per dtype).
* Gradient averaging: every parameter has a post-accumulate-grad hook; the first one to fire in
  a backward queues one end-of-backward callback (``Variable._execution_engine.queue_callback``,
  as torch does) that all-reduces the buckets. Buckets follow torch: parameters in reverse
  registration order, grouped by dtype and device, the first bucket capped at 1 MiB (or less) and
  the others at ``bucket_cap_mb``; each bucket is one collective over the concatenated gradients.
  A parameter without a gradient on some rank (unused) counts as zeros; a per-parameter flag
  rides along in the bucket so every rank gets the same ``.grad`` set.
* The collectives go through ``jtorch.distributed._collectives``: inside ``jtorch.compile``'s
  SPMD step they become ``psum``s in the compiled program.
* A communication hook (``register_comm_hook``) replaces the averaging of each bucket: it gets a
  ``GradBucket`` (the bucket's gradients flattened, zeros for a parameter without one) and returns
  a Future of the tensor the gradients are then read from. Which parameters got a gradient
  anywhere is then settled by one small collective per backward (the flags stay out of the
  buffer the hook sees).
"""
import inspect
import contextlib
import functools

import jax
import jax.numpy as jnp
import numpy as np

import jtorch as torch
from jtorch import distributed as dist
from jtorch.autograd import Variable
from jtorch.distributed import _collectives as C
from jtorch.distributed._grad_bucket import GradBucket
from jtorch.futures import Future
from jtorch.distributed.distributed_c10d import _resolve
from ..modules.module import Module

_FIRST_BUCKET_BYTES = 1024 * 1024


@jax.jit
def _flatten(*arrays):
    return jnp.concatenate([a.ravel() for a in arrays])


@functools.lru_cache(None)
def _splitter(shapes):
    sizes = [int(np.prod(s)) for s in shapes]
    offsets = np.cumsum([0] + sizes)

    @jax.jit
    def split(flat):
        return [flat[o:o + n].reshape(s) for o, n, s in zip(offsets, sizes, shapes)]
    return split


def _is_traced(arrays):
    return any(isinstance(a, jax.core.Tracer) for a in arrays)


def _broadcast_flat(tensors, group):
    """Rank 0's values into ``tensors`` (in place), one collective per dtype and device."""
    by_kind = {}
    for t in tensors:
        by_kind.setdefault((t.dtype, t.device), []).append(t)
    for ts in by_kind.values():
        arrays = [t._value for t in ts]
        flat = C.broadcast_array(_flatten(*arrays), 0, group)
        for t, a in zip(ts, _splitter(tuple(tuple(x.shape) for x in arrays))(flat)):
            t._set_array(a)


class DistributedDataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True, init_sync=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params=False):
        super().__init__()
        if process_group is not None and device_mesh is not None:
            raise RuntimeError("Cannot specify both process_group and device_mesh arguments.")
        group = _resolve(process_group)  # ValueError before init_process_group, as torch
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        devices = {p.device for p in module.parameters()}
        if device_ids is not None and (len(devices) > 1 or next(iter(devices)).type == "cpu"):
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only work with "
                             "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                             f"{device_ids}, output_device {output_device}, and module parameters {devices}.")
        self.module = module
        self.process_group = group
        self.device_ids = [getattr(d, "index", d) for d in device_ids] if device_ids else None
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.mixed_precision = mixed_precision
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._queued = False
        self._comm_hook = None
        self._comm_state = None
        self._params = params
        self._buckets = self._assign_buckets(params)
        self._hooks = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]
        if init_sync and group.size() > 1:
            with torch.no_grad():
                _broadcast_flat(list(module.parameters()) + list(module.buffers()), group)

    def _assign_buckets(self, params):
        """Reverse registration order, per (dtype, device); 1 MiB first bucket, then the cap."""
        buckets, open_ = [], {}
        for p in reversed(params):
            key = (p.dtype, p.device)
            b = open_.setdefault(key, {"params": [], "bytes": 0,
                                       "cap": min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap)})
            b["params"].append(p)
            b["bytes"] += p.numel() * p.element_size()
            if b["bytes"] >= b["cap"]:
                buckets.append(b["params"])
                open_[key] = {"params": [], "bytes": 0, "cap": self.bucket_bytes_cap}
        buckets.extend(b["params"] for b in open_.values() if b["params"])
        return buckets

    # ------------------------------------------------------------------ gradients
    def _grad_ready(self, param):
        if self.require_backward_grad_sync and not self._queued:
            self._queued = True
            Variable._execution_engine.queue_callback(self._reduce_gradients)

    def _reduce_gradients(self):
        self._queued = False
        if self._comm_hook is not None:
            with torch.no_grad():
                return self._run_comm_hook()
        group = self.process_group
        for bucket in self._buckets:
            grads = [p.grad._value if p.grad is not None else None for p in bucket]
            present = [g for g in grads if g is not None]
            if not present:
                continue  # no gradient in this bucket on this rank: torch's unused-parameter case
            if group.size() == 1 and not _is_traced(present):
                continue  # the average over one replica is itself
            dt = present[0].dtype
            flags = jnp.asarray(np.array([g is not None for g in grads], np.float32)).astype(dt)
            filled = [g if g is not None else jnp.zeros(tuple(p.shape), dt) for g, p in zip(grads, bucket)]
            flat = C.all_reduce_array(_flatten(*filled, flags), dist.ReduceOp.AVG, group)
            shapes = tuple(tuple(p.shape) for p in bucket) + ((len(bucket),),)
            *pieces, used = _splitter(shapes)(flat)
            traced = _is_traced([flat])
            used = None if traced else np.asarray(used) > 0
            for i, (p, a) in enumerate(zip(bucket, pieces)):
                if p.grad is not None:
                    p.grad._set_array(a)
                elif traced or used[i]:
                    p.grad = torch.Tensor._wrap(a)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate local gradients; the first backward after it
        averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        self._queued = False  # a backward that raised never ran its queued reduction
        if self.broadcast_buffers and self.process_group.size() > 1:
            bufs = list(self.module.buffers())
            if bufs:
                with torch.no_grad():
                    _broadcast_flat(bufs, self.process_group)
        if self.device_ids:
            dev = torch.device("cuda", self.device_ids[0])
            inputs, kwargs = _to_device(inputs, dev), _to_device(kwargs, dev)
        return self.module(*inputs, **kwargs)

    def _present_anywhere(self):
        """Per parameter: has it a gradient on some rank (one MAX all-reduce of flags)."""
        local = [p.grad is not None for p in self._params]
        grads = [p.grad._value for p in self._params if p.grad is not None]
        if self.process_group.size() == 1 or _is_traced(grads):
            return local  # a compiled step is one program: every rank has the same gradients
        flags = C.all_reduce_array(jnp.asarray(np.array(local, np.uint8)), dist.ReduceOp.MAX, self.process_group)
        return [bool(f) for f in np.asarray(flags)]

    def _run_comm_hook(self):
        present = dict(zip(map(id, self._params), self._present_anywhere()))
        last = len(self._buckets) - 1
        for i, bucket in enumerate(self._buckets):
            if not any(present[id(p)] for p in bucket):
                continue  # no rank has a gradient here: torch leaves them None
            dt = bucket[0]._value.dtype
            filled = [p.grad._value if p.grad is not None else jnp.zeros(tuple(p.shape), dt) for p in bucket]
            grad_bucket = GradBucket(i, torch.Tensor._wrap(_flatten(*filled)), bucket, i == last)
            fut = self._comm_hook(self._comm_state, grad_bucket)
            if not isinstance(fut, Future):
                raise RuntimeError("DDP communication hook's callback must return a torch.futures.Future object, "
                                   f"but got {type(fut).__module__}.{type(fut).__name__}")
            out = fut.wait()
            if isinstance(out, (list, tuple)) and len(out) == 1:
                out = out[0]
            total = sum(p.numel() for p in bucket)
            if not isinstance(out, torch.Tensor) or out.numel() != total:
                got = f"{out.numel()} elements" if isinstance(out, torch.Tensor) else type(out).__name__
                raise RuntimeError(f"DDP communication hook for bucket {i} must produce a tensor of the bucket's "
                                   f"{total} elements, got {got}")
            flat = out._value.reshape(-1).astype(dt)
            for p, a in zip(bucket, _splitter(tuple(tuple(p.shape) for p in bucket))(flat)):
                if p.grad is not None:
                    p.grad._set_array(a)
                elif present[id(p)]:
                    p.grad = torch.Tensor._wrap(a)

    def register_comm_hook(self, state, hook):
        """Run ``hook(state, bucket)`` for every gradient bucket instead of DDP's averaging; it
        returns a ``torch.futures.Future`` of the bucket's new gradients (a flat tensor)."""
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        try:
            sig = inspect.signature(hook)
        except (TypeError, ValueError):
            sig = None
        if sig is not None:
            bucket = sig.parameters.get("bucket")
            if bucket is not None and bucket.annotation not in (inspect.Parameter.empty, GradBucket):
                raise ValueError("Communication hook: bucket annotation should be dist.GradBucket.")
            if sig.return_annotation not in (inspect.Signature.empty, Future) and \
                    getattr(sig.return_annotation, "__origin__", None) is not Future:
                raise ValueError("Communication hook: return annotation should be torch.futures.Future[torch.Tensor].")
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        self._comm_hook, self._comm_state = hook, state

    def _set_static_graph(self):
        self.static_graph = True

    @contextlib.contextmanager
    def join(self, divide_by_initial_world_size=True, enable=True, throw_on_early_termination=False):
        yield


def _to_device(obj, dev):
    if isinstance(obj, torch.Tensor):
        return obj.to(dev)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(o, dev) for o in obj)
    if isinstance(obj, dict):
        return {k: _to_device(v, dev) for k, v in obj.items()}
    return obj

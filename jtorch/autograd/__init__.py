"""torch.autograd: backward, grad, grad modes, custom Functions, functional API, gradcheck."""
import jax

from .. import _dispatch
from .._lazy import Pending
from .._legacy import strided as _strided
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled)
from .function import Function, FunctionCtx, once_differentiable, InplaceFunction, NestedIOFunction
from .graph import Node, run_backward
from . import graph, functional, forward_ad
from .gradcheck import gradcheck, gradgradcheck
from .anomaly_mode import detect_anomaly, set_detect_anomaly, variable
from .engine_flags import (is_multithreading_enabled, set_multithreading_enabled, is_view_replay_enabled,
                           kineto_available, is_tensor_like, enforce_grad_layout_policy)
from ._enums import DeviceType, ProfilerState  # noqa: F401,E402
from ..profiler import ProfilerActivity  # noqa: F401,E402
from ..overrides import has_torch_function, handle_torch_function  # noqa: F401  (as torch.autograd has them)


def _T():
    return _dispatch.Tensor


def _seed_grads(tensors, grads, create_graph):
    out = []
    for t, g in zip(tensors, grads):
        if g is None:
            if t.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if t.dtype._cat < 2:  # not floating point or complex
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            g = _ones_seed(t)
        elif not isinstance(g, _T()):
            from .._ops.creation import tensor
            g = tensor(g, dtype=t.dtype)
        elif tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {g.shape} and output[0] has a "
                               f"shape of {t.shape}.")
        out.append(g)
    return out


_ONES = {}


def _ones_seed(t):
    """The implicit seed ``ones_like(t)`` of a scalar output; its (immutable) array is reused
    across calls, saving a dispatch per ``loss.backward()``. A fresh Tensor wraps it each time."""
    v = t._lazy_value()
    if type(v) is Pending:  # lazy batching: single-device CPU, the default placement
        key = (v.dtype, v.shape, None)
    elif isinstance(v, jax.core.Tracer) or not isinstance(v, jax.Array):
        from .._subclass_dispatch import dispatches, ones_like_dispatched
        if dispatches(type(t)):  # a tensor subclass with __torch_dispatch__ makes its own seed, as in torch
            return ones_like_dispatched(t)
        from .._ops.creation import ones_like
        return ones_like(t)
    else:
        key = (v.dtype, v.shape, v.sharding)
    arr = _ONES.get(key)
    if arr is None:
        if len(_ONES) > 64:
            _ONES.clear()
        if key[2] is None:
            arr = jax.numpy.ones(v.shape, v.dtype)
        else:
            from .._ops.creation import ones_like
            arr = ones_like(t)._value
        _ONES[key] = arr
    return _T()._wrap(arr)


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, _T()):
        return (x,)
    return tuple(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    tensors = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) or (None,) * len(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    run_backward(tensors, _seed_grads(tensors, grads, create_graph), retain_graph, create_graph,
                 inputs=inputs, allow_unused=True, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    outputs = _as_tuple(outputs)
    single = isinstance(inputs, _T())
    inputs = _as_tuple(inputs)
    grads = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    allow = bool(allow_unused) or materialize_grads
    if any(t.layout is not _strided for t in inputs):  # sparse inputs: their values and dense stand-ins
        from ..sparse._base import grad_inputs
        flat, assemble = grad_inputs(inputs)
        res = run_backward(outputs, _seed_grads(outputs, grads, create_graph), retain_graph, create_graph,
                           inputs=flat, allow_unused=True, accumulate=False)
        res = assemble(res)
        if not allow and any(r is None for r in res):
            raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                               "Set allow_unused=True if this is the desired behavior.")
    else:
        res = run_backward(outputs, _seed_grads(outputs, grads, create_graph), retain_graph, create_graph,
                           inputs=inputs, allow_unused=allow, accumulate=False)
    if materialize_grads:
        from .._ops.creation import zeros_like
        res = [zeros_like(i) if r is None else r for r, i in zip(res, inputs)]
    return tuple(res)


class _ExecutionEngine:
    @staticmethod
    def queue_callback(fn):
        from .graph import queue_callback
        queue_callback(fn)


class Variable:
    """Deprecated alias: ``Variable(t)`` returns ``t``."""
    _execution_engine = _ExecutionEngine()

    def __new__(cls, data, requires_grad=False, volatile=False):
        if requires_grad:
            data.requires_grad_(True)
        return data


class SavedTensor:
    """torch.autograd.SavedTensor: the handle torch gives for a tensor a graph node saved for its backward.
    Python cannot make one (as in torch); jtorch's nodes keep their saved values as arrays and do not hand
    these handles out (no ``grad_fn._raw_saved_*``)."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Trying to create a SavedTensor object from Python is forbidden.")

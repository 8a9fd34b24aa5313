"""Watching every op call, forward and backward: what FlopCounterMode and ModuleTracker are built on.

torch gives such tools a TorchDispatchMode, which sees each aten op. jtorch has no dispatcher level below
its public functions (a TorchFunctionMode sees ``F.linear``, not the op that computes it), so while an
observer is active this swaps the one road every op takes (``_dispatch.apply``) for a wrapper, and sets the
backward engine's node hook so an observer learns which recorded node a backward op belongs to — as
jtorch.profiler does. Lazy batching is off meanwhile (its fast path skips ``apply``). Nothing here costs
anything when no observer is active. Observers nest like context managers (last in, first out)."""
from .. import _dispatch
from ..autograd import graph

_OBSERVERS = []       # active observers, innermost last: objects with on_op(op, dyn, statics, result, node)
_NODES = []           # the backward nodes now running, innermost last
_SAVED = {}           # what was swapped out while an observer is active


def _observed_apply(op, dyn, statics, raw=False):
    res = _SAVED["apply"](op, dyn, statics, raw)
    node = _NODES[-1] if _NODES else None
    for obs in list(_OBSERVERS):
        obs.on_op(op, dyn, statics, res, node)
    return res


def _observed_node(node, run):
    _NODES.append(node)
    for obs in list(_OBSERVERS):
        obs.on_node(node, True)
    try:
        outer = _SAVED["node_hook"]
        return outer(node, run) if outer is not None else run()
    finally:
        _NODES.pop()
        for obs in list(_OBSERVERS):
            obs.on_node(node, False)


def start(observer):
    if not _OBSERVERS:
        from .. import _lazy
        if _dispatch.LAZY[0]:
            _lazy.flush()
        _SAVED.update(apply=_dispatch.apply, lazy=_dispatch.LAZY[0], node_hook=graph.NODE_HOOK[0])
        _dispatch.LAZY[0] = False
        _dispatch.apply = _observed_apply
        graph.NODE_HOOK[0] = _observed_node
    _OBSERVERS.append(observer)


def stop(observer):
    if observer in _OBSERVERS:
        _OBSERVERS.remove(observer)
        if not _OBSERVERS:
            if _dispatch.apply is _observed_apply:  # (a profile started inside and still running keeps it)
                _dispatch.apply = _SAVED["apply"]
            if graph.NODE_HOOK[0] is _observed_node:
                graph.NODE_HOOK[0] = _SAVED["node_hook"]
            _dispatch.LAZY[0] = _SAVED["lazy"]


def result_node(res):
    """The autograd node that recorded ``res`` (a Tensor or a tuple of them), or None."""
    T = _dispatch.Tensor
    if isinstance(res, T):
        return res._grad_fn
    if isinstance(res, (tuple, list)):
        for r in res:
            if isinstance(r, T) and r._grad_fn is not None:
                return r._grad_fn
    return None

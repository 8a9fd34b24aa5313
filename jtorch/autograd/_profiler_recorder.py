"""The recording machinery behind torch.profiler and torch.autograd.profiler.

Nothing here is on the eager path until a profile starts: starting the first one swaps
``_dispatch.apply`` (the road every op call takes) for a timing wrapper and sets the backward
engine's node hook; stopping the last one puts both back. While recording, lazy batching
(_lazy.py) is off so each op runs when called and its wall-clock time is its own, and each op's
result is waited for (``block_until_ready``) before its range closes.

Names: an op ``x`` is reported as ``aten::x`` (leading underscores of jtorch's internal op names
dropped); a backward node as torch does, ``autograd::engine::evaluate_function: <Node>`` around
``<Node>``; user ranges (record_function) under their own names."""
import threading
import time

import jax

from .. import _dispatch
from .profiler_util import FunctionEvent

_ACTIVE = []          # the Recorders now recording, innermost last
_STACK = []           # open ranges: [name, start_us, input_shapes, children, is_user]
_SAVED = {}           # what was swapped out while something records
_IDS = [0]
_NAMES = {}           # op name -> reported name
# jtorch ops that fuse what torch's top-level op of another name does
_TORCH_NAMES = {"cross_entropy_index": "cross_entropy_loss", "cross_entropy_prob": "cross_entropy_loss",
                "batch_norm_train": "batch_norm", "batch_norm_eval": "batch_norm"}


def _now_us():
    return time.perf_counter_ns() / 1000.0


def _op_name(op):
    n = _NAMES.get(op.name)
    if n is None:
        base = op.name.lstrip("_")
        n = _NAMES[op.name] = "aten::" + _TORCH_NAMES.get(base, base)
    return n


def _shapes(dyn):
    T = _dispatch.Tensor
    out = []
    for a in dyn:
        if isinstance(a, T):
            out.append(list(a.shape))
        elif isinstance(a, (list, tuple)) and a and all(isinstance(t, T) for t in a):
            out.append([list(t.shape) for t in a])
        else:
            out.append([])
    return out


def _block(x):
    T = _dispatch.Tensor
    if isinstance(x, jax.Array):
        x.block_until_ready()
    elif isinstance(x, T):
        if not x._vfn:
            arr = x._st._arr
            if isinstance(arr, jax.Array):
                arr.block_until_ready()
    elif isinstance(x, (tuple, list)):
        for y in x:
            _block(y)


class Recorder:
    def __init__(self, record_shapes=False):
        self.record_shapes = record_shapes
        self.events = []

    def start(self):
        if not _ACTIVE:
            _install()
        _ACTIVE.append(self)

    def stop(self):
        if self in _ACTIVE:
            _ACTIVE.remove(self)
            if not _ACTIVE:
                _uninstall()


def open_range(name, shapes=None, user=False):
    entry = [name, _now_us(), shapes, [], user]
    _STACK.append(entry)
    return entry


def close_until(entry):
    """Close ``entry`` (a user range) and whatever it left open; nothing when recording stopped
    since it opened (the stack was dropped then)."""
    if any(e is entry for e in _STACK):
        while _STACK[-1] is not entry:
            close_range()
        close_range()


def close_range():
    name, start, shapes, children, user = _STACK.pop()
    end = _now_us()
    _IDS[0] += 1
    ev = FunctionEvent(_IDS[0], name, threading.get_ident() & 0xFFFF, start, end, shapes, user)
    ev.cpu_children = children
    for c in children:
        c.cpu_parent = ev
    if _STACK:
        _STACK[-1][3].append(ev)
    for r in _ACTIVE:
        r.events.append(ev)
    return ev


def recording():
    return bool(_ACTIVE)


def _wants_shapes():
    for r in _ACTIVE:
        if r.record_shapes:
            return True
    return False


def _profiled_apply(op, dyn, statics, raw=False):
    open_range(_op_name(op), _shapes(dyn) if _wants_shapes() else [])
    try:
        res = _SAVED["apply"](op, dyn, statics, raw)
        _block(res)
        return res
    finally:
        close_range()


def _profiled_node(node, run):
    name = node.name()
    open_range("autograd::engine::evaluate_function: " + name)
    try:
        open_range(name)
        try:
            return run()
        finally:
            close_range()
    finally:
        close_range()


def _install():
    from .. import _lazy
    from . import graph
    if _dispatch.LAZY[0]:
        _lazy.flush()
    _SAVED.update(apply=_dispatch.apply, lazy=_dispatch.LAZY[0])
    _dispatch.LAZY[0] = False
    _dispatch.apply = _profiled_apply
    graph.NODE_HOOK[0] = _profiled_node


def _uninstall():
    from . import graph
    _STACK.clear()  # ranges still open when recording stops are left out
    _dispatch.apply = _SAVED.pop("apply")
    _dispatch.LAZY[0] = _SAVED.pop("lazy")
    graph.NODE_HOOK[0] = None

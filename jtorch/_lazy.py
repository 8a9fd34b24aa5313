"""Lazy batching of eager ops (``JTORCH_LAZY=1`` or ``jtorch._flags.set_lazy(True)``).

A jitted call costs ~7 us even for a 32x32 add; torch's eager op costs ~1 us. With lazy batching
an eager op does not run: ``_dispatch.apply`` learns its result's shape and dtype from a cached
``jax.eval_shape`` (so torch's errors still come from the op that is wrong), appends a ``_Node`` to
the current *segment* and returns a tensor whose storage holds a ``Pending`` handle. When a value
is needed (``Storage.array``: ``.item()``, ``.numpy()``, printing, ``jtorch.compile``, host-shared
storages, serialization...), or the segment reaches ``MAX_OPS`` nodes, ``flush()`` runs the whole
segment as ONE jitted program and stores the results in the handles still alive.

* Liveness: nodes hold weak references to their output handles, and inputs refer to producing
  nodes, never to handles, so a handle is alive exactly when something outside the segment (a
  tensor's storage, a saved autograd value, a view's cached value) holds it. Only alive handles
  are program outputs; nodes no alive output depends on are dropped before the program is built.
* The program cache key is the segment's structure: per node its kernel key (op, statics, dtype,
  input avals), where each input comes from (an earlier node's output or an external argument,
  deduplicated by identity) and which outputs are alive. A structure seen for the first time
  runs node by node with the ops' own cached kernels (the eager cost, no compile); a structure
  seen ``COMPILE_AFTER`` times is compiled once and reused, so a loop pays compiles only for
  the segment shapes it repeats, and one-off sequences never compile a program of their own.
* Only single-device CPU backends batch (the segment's external arrays then share one device), and
  only the thread that turned batching on records: other threads' ops run eagerly. Reading a
  pending value from another thread while the recording thread is adding ops is not supported.
"""
import math
import os
import threading
import weakref

import jax
from jax._src.array import ArrayImpl

MAX_OPS = int(os.environ.get("JTORCH_LAZY_MAX_OPS", "128"))  # segment length cap: bounded programs
COMPILE_AFTER = 2  # a segment structure is compiled on its second occurrence

STATS = {"flushes": 0, "compiles": 0, "replays": 0, "cached": 0}


class Pending:
    """A jax array not computed yet: output ``idx`` of ``node`` in the current segment. After a
    flush ``value`` holds the array (``node`` is dropped)."""
    __slots__ = ("node", "idx", "shape", "dtype", "value", "__weakref__")

    def __init__(self, node, idx, shape, dtype):
        self.node, self.idx, self.shape, self.dtype, self.value = node, idx, shape, dtype, None

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    def get(self):
        v = self.value
        if v is None:
            flush()
            v = self.value
            if v is None:  # its segment failed (the error is raised again here) or was lost
                v = _force(self)
        return v

    def __repr__(self):
        return f"Pending({self.shape}, {self.dtype})"


class _Node:
    """One recorded op. ``ins``: flat inputs (arrays, Python numbers, None, pytrees of numbers),
    with ``refs`` = [(position, node, output index)] for inputs that are earlier nodes' outputs
    (their slot in ``ins`` is None). ``seqlen`` >= 0: the first ``seqlen`` inputs form the
    sequence argument of a seq op (cat, stack)."""
    __slots__ = ("fkey", "kernel", "ins", "refs", "seqlen", "multi", "outs", "pos", "needed", "result", "gen")

    def __init__(self, fkey, kernel, ins, refs, seqlen, multi):
        self.fkey, self.kernel, self.ins, self.refs, self.seqlen, self.multi = \
            fkey, kernel, ins, refs, seqlen, multi
        self.needed = False
        self.result = None
        self.gen = _GEN[0]


_SEG = []
OWNER = [None]  # the thread that records: other threads' ops run eagerly (the segment is not shared)
_GEN = [0]  # segment generation: a node of an earlier (failed) segment is not wired into this one


def add(fkey, kernel, ins, refs, seqlen, avals, multi):
    """Append a node computing ``kernel(*ins)`` (outputs ``avals``: [(shape, dtype)]) and return
    its Pending outputs (one per aval)."""
    node = _Node(fkey, kernel, ins, refs, seqlen, multi)
    outs = [Pending(node, i, s, d) for i, (s, d) in enumerate(avals)]
    node.outs = [weakref.ref(p) for p in outs]
    _SEG.append(node)
    if len(_SEG) >= MAX_OPS:
        flush()
    return outs


def resolve(v):
    """A Pending input -> its value, or None when it is still pending in the current segment."""
    if v.value is not None:
        return v.value
    if v.node.gen != _GEN[0]:
        return v.get()  # left over from a segment that raised: computed (or raising) now
    return None


_PROGRAMS = {}
_SEEN = {}


def flush():
    """Run the current segment (one jitted program once its structure repeats) and store the
    results in the Pending handles still alive."""
    global _SEG
    seg = _SEG
    if not seg:
        return
    _SEG = []
    _GEN[0] += 1
    STATS["flushes"] += 1
    # liveness, backwards: a node is needed if an output handle is alive or a needed node reads it
    keep = []
    for node in reversed(seg):
        alive = [w() for w in node.outs]
        if node.needed or any(h is not None for h in alive):
            node.needed = True
            keep.append((node, alive))
            for _, src, _ in node.refs:
                src.needed = True
    keep.reverse()
    ext, ext_pos, parts, handles = [], {}, [], []
    for pos, (node, alive) in enumerate(keep):
        node.pos = pos
        wires = []
        for x in node.ins:
            if x is None:
                wires.append(None)
            else:
                k = ext_pos.get(id(x))
                if k is None:
                    k = ext_pos[id(x)] = len(ext)
                    ext.append(x)
                wires.append(k)
        for i, src, idx in node.refs:
            wires[i] = (src.pos, idx)
        mask = tuple(h is not None for h in alive)
        parts.append((node.fkey, tuple(wires), node.seqlen, mask))
        handles.extend(h for h in alive if h is not None)
    key = tuple(parts)
    plan = [(node.kernel, wires, node.seqlen, mask, node.multi)
            for (node, _), (_, wires, _, mask) in zip(keep, parts)]
    prog = _PROGRAMS.get(key)
    if prog is None:
        n = _SEEN.get(key, 0) + 1
        if n >= COMPILE_AFTER:
            _SEEN.pop(key, None)
            if len(_PROGRAMS) > 512:
                _PROGRAMS.clear()
            prog = _PROGRAMS[key] = jax.jit(_program(plan))
            STATS["compiles"] += 1
        else:
            if len(_SEEN) > 4096:
                _SEEN.clear()
            _SEEN[key] = n
    from ._dispatch import _device_scalars
    with jax.ensure_compile_time_eval():  # flushed inside a jax transform: still concrete values
        if prog is not None:
            STATS["cached"] += 1
            outs = prog(*_device_scalars(ext))
        else:
            STATS["replays"] += 1
            outs = _program(plan)(*ext)
    for h, v in zip(handles, outs):
        h.value = v
        h.node = None
    for node in seg:
        node.ins = node.refs = node.outs = None


def _program(plan):
    """The segment as one function of its external arguments (jitted when the structure repeats;
    called as is, each node runs its own cached jitted kernel)."""
    def run(*ext):
        vals, outs = [], []
        for kernel, wires, seqlen, mask, multi in plan:
            args = [None if w is None else (ext[w] if type(w) is int else vals[w[0]][w[1]]) for w in wires]
            if seqlen >= 0:
                args = [tuple(args[:seqlen])] + args[seqlen:]
            r = kernel(*args)
            if not multi:
                r = (r,)
            vals.append(r)
            for v, m in zip(r, mask):
                if m:
                    outs.append(v)
        return outs
    return run


def _force(handle):
    """A handle whose segment did not produce it (that segment raised): compute it node by node,
    raising the error again here."""
    node = handle.node
    if node is None or node.ins is None:
        raise RuntimeError("a lazily computed tensor value was lost (its segment failed earlier)")
    return _force_node(node)[handle.idx]


def _force_node(node):
    if node.result is None:
        args = list(node.ins)
        for i, src, idx in node.refs:
            args[i] = _force_node(src)[idx]
        if node.seqlen >= 0:
            args = [tuple(args[:node.seqlen])] + args[node.seqlen:]
        with jax.ensure_compile_time_eval():
            r = node.kernel(*args)
        node.result = r if node.multi else (r,)
    return node.result


CONCRETE = ArrayImpl


def set_enabled(enabled=True):
    """Turn lazy batching on or off (``JTORCH_LAZY=1`` turns it on at import). Only a single-device
    CPU backend batches; elsewhere it stays off. Returns whether it is on."""
    from . import _dispatch
    flush()
    on = bool(enabled)
    if on:
        on = jax.default_backend() == "cpu" and len(jax.devices()) == 1
    _dispatch.LAZY[0] = on
    OWNER[0] = threading.get_ident()
    return on


def enabled():
    from . import _dispatch
    return _dispatch.LAZY[0]

"""Lazy batching of eager ops: on by default (``JTORCH_LAZY=0`` at import, or
``jtorch._lazy.set_enabled(False)``, turns it off).

A jitted call costs ~7 us even for a 32x32 add; torch's eager op costs ~1 us. With lazy batching
an eager op does not run: ``_dispatch.apply`` learns its result's shape and dtype from a cached
``jax.eval_shape`` (so torch's errors still come from the op that is wrong), appends a node to
the current *segment* and returns a tensor whose storage holds a ``Pending`` handle. When a value
is needed (``Storage.array``: ``.item()``, ``.numpy()``, printing, ``jtorch.compile``, host-shared
storages, serialization...), or the segment reaches ``MAX_OPS`` nodes, ``flush()`` runs the whole
segment as ONE jitted program and stores the results in the handles still alive.

* Liveness: nodes hold weak references to their output handles, and inputs refer to producing
  nodes, never to handles, so a handle is alive exactly when something outside the segment (a
  tensor's storage, a saved autograd value, a view's cached value) holds it. Only alive handles
  are program outputs; XLA drops the nodes no output needs (a result nobody reads is never
  computed), and a node-by-node run skips them too.
* The program cache key is the segment's structure: per node its kernel key (op, statics, dtype,
  input avals), where each input comes from (an earlier node's output or an external argument,
  deduplicated by identity) and which outputs are alive. A structure seen for the first time
  runs node by node with the ops' own cached kernels (the eager cost, no compile); a structure
  seen ``COMPILE_AFTER`` times is compiled once (on a background thread, running node by node
  until it is ready) and reused, so a loop pays compiles only for the segment shapes it repeats,
  and one-off sequences never compile a program of their own.
* Only single-device CPU backends batch (the segment's external arrays then share one device), and
  only the thread that turned batching on records: other threads' ops run eagerly. Reading a
  pending value from another thread while the recording thread is adding ops is not supported.
"""
import contextlib
import math
import os
import threading
import weakref

import jax
from jax._src.array import ArrayImpl

try:  # whether a jax trace is active: flushing inside one must still compute concrete values
    from jax._src.core import trace_ctx as _TRACE_CTX, EvalTrace as _EVAL_TRACE

    def _eval_ctx():
        return _NULL_CTX if type(_TRACE_CTX.trace) is _EVAL_TRACE else jax.ensure_compile_time_eval()
except ImportError:  # another jax version: always enter the context
    def _eval_ctx():
        return jax.ensure_compile_time_eval()
_NULL_CTX = contextlib.nullcontext()

MAX_OPS = int(os.environ.get("JTORCH_LAZY_MAX_OPS", "128"))  # segment length cap: bounded programs
# a segment structure is compiled on its eighth occurrence: a loop's segments get there within a few
# steps, while the many one- or few-time segments of a short script (a seq2seq tutorial: 22 programs
# compiled at the second occurrence, 5 at the eighth) no longer cost more compile time than they save
COMPILE_AFTER = int(os.environ.get("JTORCH_LAZY_COMPILE_AFTER", 8))
# Only small ops are recorded (no input or output over MAX_SIZE elements): there a jitted call's ~7 us
# dominates and batching pays. Larger ops run eagerly at the call, as without lazy batching: their
# compute overlaps the Python that follows, and a training step's forward and backward are not
# compiled into one program (seconds of compile per distinct segment, little gain when compute-bound).
MAX_SIZE = int(os.environ.get("JTORCH_LAZY_MAX_SIZE", "16384"))

STATS = {"flushes": 0, "compiles": 0, "replays": 0, "cached": 0}


class Pending:
    """A jax array not computed yet: output ``wire[1]`` of node ``wire[0]`` of segment ``seg``. After a
    flush ``value`` holds the array (``seg`` is dropped). ``av`` is the (shape, dtype) pair shared with
    the producing node's ``Meta`` (the identical object, so cache keys built from it compare fast)."""
    __slots__ = ("seg", "wire", "shape", "dtype", "av", "value", "__weakref__")

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


class Meta:
    """What a node's kernel key (op, statics, default dtype, input avals) resolves to: the output
    avals [(shape, dtype)], whether the kernel returns several outputs, the promoted dtype and the
    jitted kernel. Interned per key, so a segment's structure key holds it by identity (cheap to
    hash and compare at every flush)."""
    __slots__ = ("avals", "multi", "dt", "kernel", "av0")

    def __init__(self, avals, multi, dt, kernel):
        self.avals, self.multi, self.dt, self.kernel = avals, multi, dt, kernel
        self.av0 = avals[0] if avals else None


class _Segment:
    """The ops recorded since the last flush: per node in ``nodes`` (its Meta, its input wires: per
    input an int, the index of an external argument of the segment; (pos, idx), output ``idx`` of
    node ``pos``; or None; and ``seqlen`` >= 0 when the first ``seqlen`` inputs form the sequence
    argument of a seq op such as cat) and ``outs`` (a weak reference to its output handle, or a list
    of them); the external arguments (deduplicated by identity). ``nodes`` is also the structure key."""
    __slots__ = ("nodes", "outs", "ext", "extpos", "results")

    def __init__(self):
        self.nodes, self.outs, self.ext, self.extpos, self.results = [], [], [], {}, None


_CUR = [_Segment()]
OWNER = [None]  # the thread that records: other threads' ops run eagerly (the segment is not shared)
_new = object.__new__
_ref = weakref.ref
_W0 = []  # (pos, 0) wires, made once


def add(meta, wires, seqlen):
    """Append a node (``wires`` built against ``current()``) computing ``meta.avals``; returns its
    Pending output, or a list of them when ``meta.multi``."""
    seg = _CUR[0]
    parts = seg.nodes
    pos = len(parts)
    parts.append((meta, wires, seqlen))
    if meta.multi:
        outs = []
        for i, av in enumerate(meta.avals):
            p = _new(Pending)
            p.seg, p.wire, p.av, p.value = seg, (pos, i), av, None
            p.shape, p.dtype = av
            outs.append(p)
        seg.outs.append([_ref(p) for p in outs])
    else:
        outs = _new(Pending)
        w = _W0[pos] if pos < len(_W0) else wire0(pos)
        av = meta.av0
        outs.seg, outs.wire, outs.av, outs.value = seg, w, av, None
        outs.shape, outs.dtype = av
        seg.outs.append(_ref(outs))
    if pos + 1 >= MAX_OPS:
        flush()
    return outs


def wire0(pos):
    """The wire (pos, 0), made once per position."""
    if pos >= len(_W0):
        _W0.extend([(i, 0) for i in range(len(_W0), pos + 64)])
    return _W0[pos]


def current():
    return _CUR[0]


_PROGRAMS = {}
_SEEN = {}


def flush():
    """Run the current segment (one jitted program once its structure repeats) and store the
    results in the Pending handles still alive."""
    seg = _CUR[0]
    parts = seg.nodes
    if not parts:
        return
    _CUR[0] = _Segment()
    STATS["flushes"] += 1
    masks, handles = [], []
    for o in seg.outs:
        if type(o) is list:
            hs = [w() for w in o]
            masks.append(tuple([h is not None for h in hs]))
            handles.extend([h for h in hs if h is not None])
        else:
            h = o()
            if h is None:
                masks.append(False)
            else:
                masks.append(True)
                handles.append(h)
    key = (tuple(parts), tuple(masks))
    args = _device_scalars(seg.ext)
    prog = _PROGRAMS.get(key)
    ctx = _eval_ctx()
    if prog is None:
        plan = [(meta.kernel, wires, seqlen, meta.multi, m) for (meta, wires, seqlen), m in zip(parts, masks)]
        n = _SEEN.get(key, 0) + 1
        if n >= COMPILE_AFTER:
            _SEEN.pop(key, None)
            if len(_PROGRAMS) > 512:
                _PROGRAMS.clear()
            prog = _PROGRAMS[key] = jax.jit(_program(plan, True))
            STATS["compiles"] += 1
            if BACKGROUND_COMPILE and ctx is _NULL_CTX:
                prog = _PROGRAMS[key] = _background(prog, plan, args)
        else:
            if len(_SEEN) > 4096:
                _SEEN.clear()
            _SEEN[key] = n
            prog = _program(plan, False)
            STATS["replays"] += 1
    elif type(prog) is _Compiling:
        if prog.result is not None:  # compiled meanwhile: from now on the program runs
            prog = _PROGRAMS[key] = prog.result
            STATS["cached"] += 1
    else:
        STATS["cached"] += 1
    if type(prog) is _Compiling:  # still compiling: node by node as before
        prog = prog.replay
        STATS["replays"] += 1
    with ctx:  # flushed inside a jax transform: still concrete values
        outs = prog(*args)
    for h, v in zip(handles, outs):
        h.value = v
        h.seg = None
    seg.nodes = seg.outs = seg.ext = seg.extpos = None


# A segment seen COMPILE_AFTER times is lowered (traced) at once and compiled by XLA on a background
# thread; until that is done it keeps running node by node, so the first steps of a training loop do
# not wait for a compile (JTORCH_LAZY_BACKGROUND_COMPILE=0: compile at the flush, as jit would).
BACKGROUND_COMPILE = os.environ.get("JTORCH_LAZY_BACKGROUND_COMPILE", "1") not in ("", "0")


class _Compiling:
    """A segment program being compiled in the background: ``replay`` runs it node by node meanwhile;
    ``result`` becomes the compiled program (or the plain jitted one if compiling ahead failed)."""
    __slots__ = ("replay", "jitted", "lowered", "result")


def _background(jitted, plan, args):
    c = _Compiling()
    c.replay, c.jitted, c.result = _program(plan, False), jitted, None
    try:
        c.lowered = jitted.lower(*args)
    except Exception:  # noqa: BLE001 -- jit then lowers (and raises, if it must) at the call
        return jitted
    if not _WORKER:
        import atexit
        import queue
        q = queue.SimpleQueue()
        th = threading.Thread(target=_compile_worker, args=(q,), name="jtorch-lazy-compile", daemon=True)
        th.start()
        _WORKER.extend([q, th])
        atexit.register(_stop_worker)
    _WORKER[0].put(c)
    return c


_WORKER = []  # [queue, thread] once started


def _forget_worker():
    # a forked child has no worker thread: it starts its own when it needs one (programs the parent
    # was still compiling keep running node by node there)
    _WORKER.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def _stop_worker():
    # the worker must leave XLA before the interpreter goes down (a daemon thread ended while inside
    # C++ code aborts the process): let it finish what it is compiling, then stop
    q, th = _WORKER
    q.put(None)
    th.join(timeout=60)


def wait_background():
    """Block until the background compiles queued so far are done (for tests)."""
    if _WORKER:
        done = threading.Event()
        _WORKER[0].put(done)
        done.wait()


def _compile_worker(q):
    while True:
        c = q.get()
        if c is None:
            return
        if type(c) is threading.Event:
            c.set()
            continue
        try:
            compiled = c.lowered.compile()
            c.result = _run_compiled(compiled, c.jitted)
        except Exception:  # noqa: BLE001 -- the jitted program compiles at its next call instead
            c.result = c.jitted
        c.lowered = None


def _run_compiled(compiled, jitted):
    use = [compiled]

    def run(*args):
        f = use[0]
        if f is jitted:
            return jitted(*args)
        try:
            return f(*args)
        except (TypeError, ValueError):  # arguments typed unlike the lowering's: jit handles every kind
            use[0] = jitted
            return jitted(*args)
    return run


def _program(plan, compiled):
    """The segment as one function of its external arguments: jitted when the structure repeats
    (XLA drops nodes no output needs); run as is (``compiled`` False), each node needed by an
    alive output runs its own cached jitted kernel."""
    if not compiled:
        needed = set()
        for pos in range(len(plan) - 1, -1, -1):
            kernel, wires, seqlen, multi, mask = plan[pos]
            if pos in needed or (any(mask) if multi else mask):
                needed.add(pos)
                needed.update(w[0] for w in wires if type(w) is tuple)
    else:
        needed = None

    def run(*ext):
        vals, outs = [], []
        for pos, (kernel, wires, seqlen, multi, mask) in enumerate(plan):
            if needed is not None and pos not in needed:
                vals.append(None)
                continue
            args = [None if w is None else (ext[w] if type(w) is int else vals[w[0]][w[1]]) for w in wires]
            if seqlen >= 0:
                args = [tuple(args[:seqlen])] + args[seqlen:]
            r = kernel(*args)
            if multi:
                vals.append(r)
                outs.extend([v for v, m in zip(r, mask) if m])
            else:
                vals.append((r,))
                if mask:
                    outs.append(r)
        return outs
    return run


def peek(handle):
    """The value of a Pending for a thread other than the recording one: computed node by node from
    its segment without running (flushing) that segment, which the recording thread may be extending."""
    v = handle.value
    if v is None:
        seg = handle.seg
        nodes = seg.nodes if seg is not None else None
        if nodes is None:  # flushed meanwhile
            return handle.get()
        pos, idx = handle.wire
        try:
            v = _force_node(seg, pos)[idx]
        except TypeError:  # the recording thread flushed the segment meanwhile: the value is set
            v = handle.value
            if v is None:
                raise
    return v


def _force(handle):
    """A handle whose segment did not produce it (that segment raised): compute it node by node,
    raising the error again here."""
    seg = handle.seg
    if seg is None or seg.nodes is None:
        raise RuntimeError("a lazily computed tensor value was lost (its segment failed earlier)")
    pos, idx = handle.wire
    return _force_node(seg, pos)[idx]


def _force_node(seg, pos):
    if seg.results is None:
        seg.results = {}
    r = seg.results.get(pos)
    if r is None:
        meta, wires, seqlen = seg.nodes[pos]
        args = [None if w is None else (seg.ext[w] if type(w) is int else _force_node(seg, w[0])[w[1]])
                for w in wires]
        if seqlen >= 0:
            args = [tuple(args[:seqlen])] + args[seqlen:]
        with _eval_ctx():
            r = meta.kernel(*args)
        r = seg.results[pos] = r if meta.multi else (r,)
    return r


CONCRETE = ArrayImpl


def _device_scalars(ext):
    global _device_scalars
    from ._dispatch import _device_scalars  # bound on first use (_dispatch imports this module)
    return _device_scalars(ext)


def set_enabled(enabled=True):
    """Turn lazy batching on or off for ops recorded by the calling thread (``JTORCH_LAZY`` sets it at
    import). Only a single-device CPU backend (one process) batches; elsewhere it stays off.
    Returns whether it is on."""
    from . import _dispatch
    flush()
    _dispatch.LAZY[0] = bool(enabled) and _backend_ok()
    OWNER[0] = threading.get_ident()
    return _dispatch.LAZY[0]


def request_at_import(enabled):
    """At import: batching on for the importing thread, confirmed by the first op (checking the
    backend here would start XLA before jax.distributed.initialize can run)."""
    from . import _dispatch
    _dispatch.LAZY[0] = "unchecked" if enabled else False
    OWNER[0] = threading.get_ident()


def confirm():
    """The first op after ``request_at_import``: on only for a single-device CPU backend."""
    from . import _dispatch
    _dispatch.LAZY[0] = _backend_ok()
    return _dispatch.LAZY[0]


def _backend_ok():
    return jax.default_backend() == "cpu" and len(jax.devices()) == 1


def enabled():
    from . import _dispatch
    return bool(_dispatch.LAZY[0])

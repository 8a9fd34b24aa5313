"""Compile mode of scripts/conformance.py (``--compile``): op_db's samples through ``jtorch.compile``.

Each sample's call becomes ``f(*tensors)`` (the sample's tensors as arguments, its other values fixed)
and runs under ``jtorch.compile(f, fullgraph=False)`` and, separately, ``fullgraph=True``. jtorch's first
call of a compiled function runs eagerly (it finds the state), the second traces and runs the program,
the third must reuse it (the function's ``compiles`` count does not grow). The compiled results of the
second and third calls are compared with jtorch's eager result (values to a few ulps, shape, dtype, and
strides where eager's result is contiguous) and with torch's (the forward mode's rules, ``judge``). When
eager raises, the compiled calls must raise the same type (jtorch's first call is eager, so an error of the
op's own is met before any trace). Run it with cheap XLA codegen and a persistent compilation cache
(``JTORCH_COMPILATION_CACHE=/tmp/xla``): hundreds of small programs.

Each sample gets one verdict, the op the worst of its samples':
- ``crash``: the compiled call raised where eager did not (an error inside tracing), or raised a different type
- ``mismatch``: a compiled result differs from eager or from torch, or the third call compiled again
- ``break``: ``fullgraph=True`` reports a graph break (the reason is jtorch's message); ``fullgraph=False``
  must then give eager's result with exactly one graph-break warning
- ``ok``
"""
import time
import warnings

import numpy as np

_ORDER = ("ok", "break", "mismatch", "crash")

# compiled against eager: the same computation, fused by XLA (a contraction or reduction may round once
# differently), so a few float32 ulps
_BIT_CLOSE = (1e-5, 1e-6)


class _Slot:
    """Where the n-th tensor argument of ``f`` goes in a sample's (input, args, kwargs)."""
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n


def _split(x, jtorch, tensors):
    """``x`` with each jtorch tensor replaced by a _Slot; the tensors appended to ``tensors``."""
    if isinstance(x, jtorch.Tensor):
        tensors.append(x)
        return _Slot(len(tensors) - 1)
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_split(v, jtorch, tensors) for v in x)
    if isinstance(x, dict):
        return {k: _split(v, jtorch, tensors) for k, v in x.items()}
    return x


def _fill(x, tensors):
    if isinstance(x, _Slot):
        return tensors[x.n]
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_fill(v, tensors) for v in x)
    if isinstance(x, dict):
        return {k: _fill(v, tensors) for k, v in x.items()}
    return x


def _same_as_eager(c, e, jtorch, values):
    """None when compiled result ``c`` matches eager result ``e``, else what differs."""
    if isinstance(e, jtorch.Tensor):
        if not isinstance(c, jtorch.Tensor):
            return f"returns {type(c).__name__}, eager a Tensor"
        if tuple(c.shape) != tuple(e.shape) or c.dtype != e.dtype:
            return f"{tuple(c.shape)} {c.dtype} != eager's {tuple(e.shape)} {e.dtype}"
        if e.layout != jtorch.strided or c.layout != jtorch.strided:
            if str(c.layout) != str(e.layout):
                return f"layout {c.layout} != eager's {e.layout}"
            c, e = c.to_dense(), e.to_dense()
        if e.is_contiguous() and e.numel() and any(  # (a dim of size 1, or an empty tensor, may have any stride)
                n > 1 and a != b for n, a, b in zip(e.shape, c.stride(), e.stride())):
            return f"strides {c.stride()} != eager's {e.stride()}"
        if not values:
            return None
        a, b = (np.asarray(t.detach().to(jtorch.float32) if t.dtype in (jtorch.bfloat16, jtorch.float16) else
                           t.detach().to(jtorch.complex64) if t.dtype == jtorch.complex32 else t.detach())
                for t in (c, e))
        if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
            return None if np.array_equal(a, b) else "values differ from eager"
        rtol, atol = _BIT_CLOSE
        return None if np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True) else \
            f"values differ from eager (max abs {np.nanmax(np.abs(a - b)):.3g})"
    if isinstance(e, (list, tuple)):
        if not isinstance(c, (list, tuple)) or len(c) != len(e):
            return f"returns {type(c).__name__}, eager a {type(e).__name__} of {len(e)}"
        for a, b in zip(c, e):
            r = _same_as_eager(a, b, jtorch, values)
            if r:
                return r
        return None
    if isinstance(e, (bool, int, float, complex)):
        if isinstance(c, jtorch.Tensor):
            return f"returns a Tensor, eager a {type(e).__name__}"
        return None if not values or c == e or (c != c and e != e) else f"{c!r} != eager's {e!r}"
    return None


def _graph_break_warnings(caught):
    return [str(w.message) for w in caught if "graph break" in str(w.message)]


def _run_compiled(jtorch, f, tensors_of, fullgraph):
    """Three calls of ``jtorch.compile(f, fullgraph=...)`` on fresh copies of the sample's tensors:
    (results of calls 2 and 3, or the exception raised; compiles after calls 2 and 3; graph-break warnings)."""
    cf = jtorch.compile(f, fullgraph=fullgraph)
    outs, counts = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for i in range(3):
                out = cf(*tensors_of())
                if i:
                    outs.append(out)
                    counts.append(cf.compiles)
        except Exception as e:
            return e, counts, _graph_break_warnings(caught)
    return outs, counts, _graph_break_warnings(caught)


def _short(msg):
    return str(msg).replace("|", "\\|").replace("\n", " ")[:240]


def run_sample(info, name, s, call, torch, jtorch, modes=(False, True)):
    """(verdict, message) of one sample under jtorch.compile (see the module docstring); ``modes``: the
    ``fullgraph`` settings tried."""
    import conformance as C
    try:
        t_out, t_err = info.op(s.input, *s.args, **s.kwargs), None
    except Exception as e:
        t_out, t_err = None, e

    def fresh():
        tensors = []
        tmpl = _split((C.to_j(s.input, jtorch, torch, keep_views=name in C._STORAGE_OPS),
                       C.to_j(s.args, jtorch, torch), C.to_j(s.kwargs, jtorch, torch)), jtorch, tensors)
        return tmpl, tensors

    tmpl, tensors = fresh()
    ji, ja, jk = _fill(tmpl, tensors)
    try:
        e_out, e_err = call(ji, ja, jk), None
    except Exception as e:
        e_out, e_err = None, e

    def f(*ts):
        i, a, k = _fill(tmpl, ts)
        return call(i, a, k)

    values = not (name in C._RANDOM or (name in C._RANDOM_SAMPLE and C._RANDOM_SAMPLE[name](s)))
    verdict, note = "ok", None
    for fullgraph in modes:
        mode = "fullgraph" if fullgraph else "compile"
        outs, counts, breaks = _run_compiled(jtorch, f, lambda: fresh()[1], fullgraph)
        if isinstance(outs, Exception):
            err = outs
            if e_err is not None:
                if type(err) is not type(e_err):
                    return "crash", f"{mode}: raises {type(err).__name__} where eager raises {type(e_err).__name__}"
                continue
            if fullgraph and type(err).__name__ == "GraphBreakError":
                verdict, note = "break", _short(str(err).split(": graph break in ")[-1])
                continue
            return "crash", f"{mode}: {type(err).__name__}: {_short(err)}"
        if e_err is not None:
            return "crash", f"{mode}: returns where eager raises {type(e_err).__name__}"
        if len(breaks) > 1:
            return "mismatch", f"{mode}: {len(breaks)} graph-break warnings"
        if breaks:
            verdict, note = "break", _short(breaks[0].split(": graph break in ")[-1])
        elif counts[0] != counts[1] or counts[0] == 0:  # no program, or the third call made another
            return "mismatch", f"{mode}: compiles {counts[0]} after the 2nd call, {counts[1]} after the 3rd"
        for k, out in enumerate(outs):
            msg = _same_as_eager(out, e_out, jtorch, values)
            if msg is None:
                ci, ca, ck = _fill(tmpl, tensors)
                msg = C.judge(name, s, ci, ca, ck, out, t_out, t_err, torch, jtorch)
                msg = msg and f"vs torch: {msg}"
            if msg:
                return "mismatch", f"{mode} call {k + 2}: {msg}"
    return verdict, note


def run_compile(args, op_db, torch, jtorch):
    """Per-op verdicts of op_db under jtorch.compile; returns the report text."""
    import conformance as C
    dtypes = [getattr(torch, d) for d in args.dtypes.split(",")]
    rows, absent = [], []
    for info, name, label in C._selected(op_db, args):
        call = C._j_caller(info, name, jtorch)
        if call is None:
            absent.append(label)
            continue
        counts = dict.fromkeys(_ORDER, 0)
        worst, first = "ok", {}
        t0 = time.time()
        for dt in dtypes:
            if dt not in info.supported_dtypes("cpu"):
                continue
            try:
                samples = list(info.sample_inputs("cpu", dt, requires_grad=False))[:args.max_samples]
            except Exception:
                continue
            for s in samples:
                try:
                    v, msg = run_sample(info, name, s, call, torch, jtorch)
                except Exception as e:  # a bug of this script, not of jtorch: say so
                    v, msg = "crash", f"harness error {type(e).__name__}: {_short(e)}"
                counts[v] += 1
                if msg and v not in first:
                    first[v] = f"{str(dt).split('.')[-1]}: {msg}"
                if _ORDER.index(v) > _ORDER.index(worst):
                    worst = v
        n = sum(counts.values())
        if n:
            rows.append((label, worst, counts, first))
        if n and args.verbose:
            print(f"{label}: {worst} {counts} ({time.time() - t0:.1f}s) {first.get(worst, '')}", flush=True)
    by = {v: [r for r in rows if r[1] == v] for v in _ORDER}
    lines = [f"# op_db under jtorch.compile: {len(by['ok'])} ops clean, {len(by['break'])} graph-break, "
             f"{len(by['mismatch'])} mismatch, {len(by['crash'])} crash (of {len(rows)})", "",
             f"dtypes {args.dtypes}, at most {args.max_samples} samples per op and dtype; "
             f"{len(absent)} op_db entries jtorch lacks (not counted)", "",
             "| op | verdict | ok/break/mismatch/crash | first message of the worst kind |", "|---|---|---|---|"]
    for label, worst, counts, first in sorted(rows, key=lambda r: (-_ORDER.index(r[1]), r[0])):
        lines.append(f"| {label} | {worst} | {'/'.join(str(counts[v]) for v in _ORDER)} | "
                     f"{first.get(worst, '') if worst != 'ok' else ''} |")
    return "\n".join(lines) + "\n"

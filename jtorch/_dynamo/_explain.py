"""``torch._dynamo.explain(fn)(*args)``: how torch.compile splits a function into graphs.

jtorch.compile traces a whole function into one program and runs it eagerly at a graph break, so it has
no graphs of its own to report. explain instead runs the function once eagerly with a TorchFunctionMode
that records each torch call (a function, a Tensor method, an operator) with the user frames it came
from, and the places where TorchDynamo breaks the graph (``.item()``, ``.tolist()``, ``bool(tensor)``,
``.backward()``, ``print``, ``torch._dynamo.graph_break()``). From that record it rebuilds Dynamo's split:

- a break cuts the graph of the frame it happens in; a function that breaks is not inlined, so its
  caller's graph is cut around the call too;
- a frame that breaks inside a loop is not compiled at all (its own ops run eagerly; functions it calls
  are compiled on their own);
- a graph is a piece with at least one op; one frame's pieces are compiled once per resume point (a
  function called twice adds no graphs);
- ``op_count`` counts function and operator calls, not Tensor methods (Dynamo's ``call_function``
  nodes); ``graph_break_count`` is ``graph_count - 1``, as torch computes it.

What differs from torch: the split follows what ran (Dynamo traces bytecode, so a branch not taken, a
break Dynamo would trace through some other way, or guards that differ between calls of one frame can
give it other counts); ``out_guards`` lists the guards jtorch.compile checks (its own kinds, not
Dynamo's); ``compile_times`` is the time of the recording run.
"""
import builtins
import dataclasses
import dis
import operator
import os
import sys
import time
import traceback
import warnings

from .. import _dispatch
from . import config

__all__ = ["explain", "ExplainOutput", "GraphCompileReason", "Guard"]

# the operators Dynamo records as call_function nodes (operator.mul for ``x * 2`` and ``2 * x``)
_OPERATORS = {}
for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
              "rshift"):
    _fn = getattr(operator, _name + "_" if _name in ("and", "or") else _name)
    _OPERATORS[f"__{_name}__"] = _OPERATORS[f"__r{_name}__"] = _fn
    _OPERATORS[f"__i{_name}__"] = getattr(operator, "i" + _name)
for _name in ("neg", "pos", "abs", "invert", "lt", "le", "gt", "ge", "eq", "ne", "getitem", "setitem"):
    _OPERATORS[f"__{_name}__"] = getattr(operator, _name)

# calls Dynamo answers from static metadata (no node) or that only print
_METADATA = frozenset("size dim ndimension numel nelement stride storage_offset is_contiguous is_floating_point "
                      "is_complex is_signed element_size get_device data_ptr __len__ __repr__ __str__ __format__ "
                      "__hash__ __iter__ __contains__ __array__ __get__ __set__ __reduce_ex__ __deepcopy__ "
                      "__copy__ requires_grad_ retain_grad register_hook".split())

# calls at which Dynamo breaks the graph, and its reason (first line)
_BREAKS = {
    "item": "Unsupported Tensor.item() call with capture_scalar_outputs=False",
    "tolist": "Tensor.tolist() with non-integer tensor",
    "__bool__": "generic_jump TensorVariable()",
    "__int__": "Unsupported Tensor.item() call with capture_scalar_outputs=False",
    "__float__": "Unsupported Tensor.item() call with capture_scalar_outputs=False",
    "__index__": "Unsupported Tensor.item() call with capture_scalar_outputs=False",
    "__complex__": "Unsupported Tensor.item() call with capture_scalar_outputs=False",
    "backward": "Unsupported Tensor.backward() call",
}

# the reads of a tensor's value that config.capture_scalar_outputs lets Dynamo trace
_SCALAR_READS = frozenset(["item", "__int__", "__float__", "__index__", "__complex__"])

_TENSOR_PROPERTIES = ("T", "mT", "H", "mH", "real", "imag")  # (x.shape, x.dtype: static, no node)


def _tensor_property(getter):
    """The name of the tensor-valued Tensor property whose ``__get__`` this is, else None."""
    prop = getattr(getter, "__self__", None)
    for name in _TENSOR_PROPERTIES:
        if getattr(_dispatch.Tensor, name) is prop:  # (the property itself, also while a mode is entered)
            return name
    return None


_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the jtorch package
_ACTIVE = []  # the recorder of the running explain (graph_break() reports to it)


@dataclasses.dataclass
class GraphCompileReason:
    """Why a graph ended: the reason, the user frames down to the break, whether it was a graph break."""
    reason: str
    user_stack: list
    graph_break: bool = True


@dataclasses.dataclass
class Guard:
    """One condition a compiled call checks before it reuses a program (jtorch.compile's guard key)."""
    name: str
    source: str
    create_fn_name: str
    code_list: list = None

    def __str__(self):
        return (f"\n    Name: {self.name!r}\n    Source: {self.source}\n    Create Function: {self.create_fn_name}\n"
                f"    Guard Types: None\n    Code List: {self.code_list}\n    Object Weakref: None\n"
                f"    Guarded Class Weakref: None\n")


@dataclasses.dataclass
class ExplainOutput:
    """What ``torch._dynamo.explain(fn)(*args)`` returns (see the module docstring)."""
    graphs: list
    graph_count: int
    graph_break_count: int
    break_reasons: list
    op_count: int
    ops_per_graph: list = None
    out_guards: list = None
    compile_times: str = None

    def __str__(self):
        lines = [f"Graph Count: {self.graph_count}", f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}", "Break Reasons:"]
        for i, br in enumerate(self.break_reasons):
            lines += [f"  Break Reason {i + 1}:", f"    Reason: {br.reason}", "    User Stack:"]
            lines += [f"      {fs}" for fs in br.user_stack]
        if self.ops_per_graph is not None:
            lines.append("Ops per Graph:")
            for i, ops in enumerate(self.ops_per_graph):
                lines.append(f"  Ops {i + 1}:")
                lines += [f"    {op}" for op in ops]
        out = "\n".join(lines) + "\n"
        if self.out_guards is not None:
            out += "Out Guards:\n" + "".join(f"  Guard {i + 1}:{g}" for i, g in enumerate(self.out_guards))
        if self.compile_times is not None:
            out += f"Compile Times: {self.compile_times}\n"
        return out


def _internal(code):
    f = code.co_filename
    return f.startswith(_HERE) or f == "<torch_function entry>" or f"{os.sep}jax{os.sep}" in f or (
        f.startswith(_STDLIB) and "-packages" not in f)


_STDLIB = os.path.dirname(os.__file__)


class _Op:
    __slots__ = ("kind", "target", "args", "kwargs", "out")

    def __init__(self, kind, target, args, kwargs, out):
        self.kind, self.target, self.args, self.kwargs, self.out = kind, target, args, kwargs, out


def _recorder_class():
    from ..overrides import TorchFunctionMode

    class Recorder(TorchFunctionMode):
        def __init__(self, base):
            super().__init__()
            self.base = base  # the frame explain runs the function from: user frames are below it
            self.events = []  # ("op", chain, _Op) and ("break", chain, reason), in order
            self.pending = None  # (kind, target) set by the Tensor method/operator wrappers
            self.grad = _dispatch.GRAD.enabled  # the grad mode as the last event saw it

        def grad_switch(self, chain):
            """``with torch.no_grad():`` in the function: Dynamo's graph calls _set_grad_enabled where
            the mode changed (noticed at the next event)."""
            if _dispatch.GRAD.enabled != self.grad:
                from .._C import _set_grad_enabled
                self.grad = _dispatch.GRAD.enabled
                self.events.append(("op", chain, _Op("call_function", _set_grad_enabled, (self.grad,), {}, None)))

        def chain(self):
            """The user frames (frame, offset of its current instruction) from the outermost down."""
            out, f = [], sys._getframe(1)
            while f is not None and f is not self.base:
                if not _internal(f.f_code):
                    out.append((f, f.f_lasti))
                f = f.f_back
            if f is None:  # (asked from explain's own frame)
                out = []
            # explain's own frame is the outermost: the compiled one where no user frame runs (a
            # torch module explained directly)
            out.append((self.base, self.base.f_lasti))
            return tuple(reversed(out))

        def brk(self, reason):
            chain = self.chain()
            self.grad_switch(chain)
            self.events.append(("break", chain, reason))

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            pending, self.pending = self.pending, None
            name = getattr(func, "__name__", "")
            if pending is not None and pending[0] == "call_method":
                name = pending[1]
            if name in _SCALAR_READS and config.capture_scalar_outputs:  # traced: a call_method node
                pending, name = ("call_method", "item"), None
            if name in _BREAKS:
                self.brk(_BREAKS[name])
            else:
                self.grad_switch(self.chain())
            out = func(*args, **kwargs)
            if name == "__get__" and args:  # a property: the tensor-valued ones are getattr nodes
                prop = _tensor_property(func)
                if prop is not None:
                    self.events.append(("op", self.chain(), _Op("call_function", getattr, (args[0], prop), {}, out)))
                return out
            if name not in _BREAKS and name not in _METADATA:
                kind, target = pending or ("call_function", func)
                chain = self.chain()
                self.events.append(("op", chain, _Op(kind, target, args, kwargs, out)))
                if isinstance(out, (tuple, list)) and all(isinstance(o, _dispatch.Tensor) for o in out):
                    # Dynamo takes a tuple of tensors apart: one getitem each
                    self.events += [("op", chain, _Op("call_function", operator.getitem, (out, i), {}, o))
                                    for i, o in enumerate(out)]
            return out
    return Recorder


def _method_wrappers(rec):
    """Tensor's methods and operators, each first telling the recorder what the user called (the mode
    itself sees the op, the same for ``torch.cos(x)`` and ``x.cos()``)."""
    import inspect
    T = _dispatch.Tensor
    saved = {}
    for name in dir(T):
        if name.startswith("_") and name not in _OPERATORS:
            continue
        raw = inspect.getattr_static(T, name)
        if isinstance(raw, (property, staticmethod, classmethod, type)) or not callable(raw) or \
                not hasattr(raw, "__get__"):
            continue
        kind = ("call_function", _OPERATORS[name]) if name in _OPERATORS else ("call_method", name)

        def wrapper(self, *args, _raw=raw, _kind=kind, **kwargs):
            rec.pending = _kind
            try:
                return _raw.__get__(self, type(self))(*args, **kwargs)
            finally:
                rec.pending = None
        wrapper.__name__ = name
        saved[name] = T.__dict__.get(name)
        setattr(T, name, wrapper)
    return saved


def _restore(saved):
    T = _dispatch.Tensor
    for name, raw in saved.items():
        if raw is None:
            delattr(T, name)
        else:
            setattr(T, name, raw)


def _in_loop(code, offset):
    for ins in dis.get_instructions(code):
        if ins.opname.startswith("JUMP_BACKWARD") and ins.argval <= offset < ins.offset:
            return True
    return False


class _Piece:
    """The ops of one frame between two of its breaks."""

    def __init__(self, key):
        self.key = key
        self.ops = []
        self.reason = None  # what ended it, where that was a graph break


def _split(events):
    """Dynamo's graphs for the recorded events: a list of _Piece with ops, in order (module docstring)."""
    broken, points = {ev[1][0][0] for ev in events}, {}  # (explain's frame: the compiled one)
    for kind, chain, _ in events:
        if kind == "break":
            for f, lasti in chain:
                broken.add(f)
                points.setdefault(f, []).append(lasti)
    skipped = {f for f in broken if any(_in_loop(f.f_code, o) for o in points.get(f, ()))}
    current = {}  # frame -> its open _Piece
    after_call = {}  # frame -> offset of the call into a breaking function it made since its last op
    pieces, seen = [], set()

    def owner(chain):
        # the deepest frame that is compiled on its own; below a skipped frame, the next one down
        idx = max((i for i, (f, _) in enumerate(chain) if f in broken), default=None)
        if idx is None:
            return None
        if chain[idx][0] in skipped:
            return chain[idx + 1] if idx + 1 < len(chain) else None
        return chain[idx]

    def piece(f, marker):
        key = (f.f_code, marker)
        p = _Piece(key)
        pieces.append(p)
        current[f] = p
        return p

    for kind, chain, what in events:
        own = owner(chain)
        # the frames above ``own`` that are compiled: their graphs end at the call it is inside
        for f, lasti in chain:
            if own is not None and f is own[0]:
                break
            if f in broken and f not in skipped:
                after_call[f] = lasti
                p = current.get(f)
                if kind == "break" and p is not None and p.reason is None:
                    p.reason = _reason(what, chain, f)
        if own is None:
            continue
        f, lasti = own
        if kind == "break":
            p = current.get(f)
            if p is not None and p.reason is None:
                p.reason = _reason(what, chain, f)
            piece(f, ("break", lasti))
            after_call.pop(f, None)
            continue
        if f in after_call:
            piece(f, ("call", after_call.pop(f)))
        p = current.get(f) or piece(f, ("entry",))
        p.ops.append(what)
    graphs = []
    for p in pieces:
        if p.ops and p.key not in seen:
            seen.add(p.key)
            graphs.append(p)
    return graphs


def _line(code, offset):
    """The source line of the instruction at ``offset``."""
    line = code.co_firstlineno
    for start, n in dis.findlinestarts(code):
        if start > offset:
            break
        if n is not None:
            line = n
    return line


def _reason(text, chain, frame):
    """The reason of a break in ``chain``, with the user's frames from ``frame`` (the compiled one) down."""
    start = next(i for i, (f, _) in enumerate(chain) if f is frame)
    stack = [traceback.FrameSummary(f.f_code.co_filename, _line(f.f_code, lasti), f.f_code.co_name,
                                    lookup_line=False) for f, lasti in chain[max(start, 1):]]
    return GraphCompileReason(text, stack, True)


def _tensors(x, out):
    if isinstance(x, _dispatch.Tensor):
        out.append(x)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _tensors(v, out)
    elif type(x) is dict:
        for v in x.values():
            _tensors(v, out)
    return out


def _graph_module(piece, arg_names, used):
    """An fx GraphModule of one piece: the tensors it reads from outside it as placeholders, its ops, and
    the tensors it makes that are used after it (``used``: their ids) as outputs."""
    from ..fx.graph import Graph
    from ..fx.graph_module import GraphModule
    from ..nn import Module
    made, outside = set(), {}

    def scan(a):  # the tensors an op reads that no earlier op of the piece made
        if id(a) in made:
            return
        if isinstance(a, _dispatch.Tensor):
            outside.setdefault(id(a), a)
        elif isinstance(a, (list, tuple)):
            for x in a:
                scan(x)
        elif type(a) is dict:
            for x in a.values():
                scan(x)
    for op in piece.ops:
        scan((op.args, op.kwargs))
        if isinstance(op.out, (_dispatch.Tensor, tuple, list)):  # (not a shared small int or None)
            made.add(id(op.out))
    g = Graph()
    nodes = {}  # id(value) -> its node: a tensor, or an op's tuple result
    for k, tid in enumerate(outside):
        nodes[tid] = g.placeholder(f"L_{arg_names.get(tid, f'stack{k}')}_")

    def arg(a):
        n = nodes.get(id(a))
        if n is not None:
            return n
        if type(a) in (list, tuple):
            return type(a)(arg(x) for x in a)
        if type(a) is dict:
            return {k: arg(v) for k, v in a.items()}
        return a
    results = []
    for op in piece.ops:
        args, kwargs = arg(op.args), arg(op.kwargs)
        make = g.call_method if op.kind == "call_method" else g.call_function
        n = make(op.target, args, kwargs)
        if id(op.out) in made:
            nodes[id(op.out)] = n
        results.append((op.out, n))
    out = [n for t, n in results if isinstance(t, _dispatch.Tensor) and id(t) in used]
    g.output(tuple(out))
    return GraphModule(Module(), g)


def explain(f, *extra_args, **extra_kwargs):
    """``explain(fn)(*args, **kwargs)``: run ``fn`` once and report the graphs torch.compile would make of
    it (an ExplainOutput; see the module docstring for how, and where it differs from torch). As torch's,
    it resets every compiled function before and after (``torch._dynamo.reset()``)."""
    def inner(*args, **kwargs):
        from ..compile import CompiledFunction, reset
        fn = f
        if isinstance(fn, CompiledFunction):
            fn = fn.fn
        fn = getattr(fn, "_orig_mod", fn)  # an OptimizedModule
        reset()
        Recorder = _recorder_class()
        rec = Recorder(sys._getframe())
        real_print = builtins.print

        def print_(*a, **k):  # Dynamo breaks the graph at print
            rec.brk("Failed to trace builtin operator")
            return real_print(*a, **k)
        from ..compile import _STANCE
        stance = _STANCE[0]
        start = time.perf_counter()
        with rec:
            saved = _method_wrappers(rec)
            _ACTIVE.append(rec)
            builtins.print = print_
            try:
                _STANCE[0] = "force_eager"  # compiled functions it calls run (and are recorded) eagerly
                out = fn(*args, **kwargs)
                rec.grad_switch(rec.chain())  # (a block the function left last)
            finally:
                _STANCE[0] = stance
                builtins.print = real_print
                _ACTIVE.pop()
                _restore(saved)
        elapsed = time.perf_counter() - start
        pieces = _split(rec.events)
        # the tensors a piece must hand on: read by an op outside it, or returned
        returned = {id(t) for t in _tensors(out, [])}
        reads = [(op, {id(t) for t in _tensors((op.args, op.kwargs), [])}) for kind, _, op in rec.events
                 if kind == "op"]
        names = _arg_names(fn, args, kwargs)
        graphs = []
        for p in pieces:
            mine = set(map(id, p.ops))
            used = returned.union(*[r for op, r in reads if id(op) not in mine])
            graphs.append(_graph_module(p, names, used))
        ops = [[op.target for op in p.ops if op.kind == "call_function"] for p in pieces]
        reasons = [p.reason for p in pieces if p.reason is not None]
        reset()
        times = ("TorchDynamo compilation metrics:\nFunction                   Runtimes (s)\n"
                 "-------------------------  --------------\n"
                 f"jtorch explain (recording)  {elapsed:.4f}")
        return ExplainOutput(graphs, len(graphs), len(graphs) - 1, reasons, sum(map(len, ops)), ops,
                             _guards(args, kwargs, names), times)
    if extra_args or extra_kwargs:
        warnings.warn("explain(f, *args, **kwargs) is deprecated, use explain(f)(*args, **kwargs) instead.",
                      FutureWarning, stacklevel=2)
        return inner(*extra_args, **extra_kwargs)
    return inner


def _arg_names(fn, args, kwargs):
    """id(tensor argument) -> its parameter name (``L_x_`` placeholders, ``L['x']`` guards)."""
    import inspect
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        items = list(bound.arguments.items())
    except (TypeError, ValueError):
        items = [(f"arg{i}", a) for i, a in enumerate(args)] + list(kwargs.items())
    names = {}
    module = getattr(fn, "__self__", fn)
    if hasattr(module, "named_parameters"):  # a module's own tensors: L_self_modules_lin_parameters_weight_
        for kind, pairs in (("parameters", module.named_parameters()), ("buffers", module.named_buffers())):
            for qual, t in pairs:
                *path, leaf = qual.split(".")
                names.setdefault(id(t), "self_" + "".join(f"modules_{m}_" for m in path) + f"{kind}_{leaf}")
    for name, v in items:
        for i, t in enumerate(_tensors(v, [])):
            names.setdefault(id(t), name if isinstance(v, _dispatch.Tensor) else f"{name}_{i}_")
    return names


def _guards(args, kwargs, names):
    """jtorch.compile's guards for this call: grad mode, and each argument's shape, dtype and
    requires_grad (a tensor) or value (anything else)."""
    from .. import is_grad_enabled
    out = [Guard("", "global", "GRAD_MODE", [f"torch.is_grad_enabled() == {is_grad_enabled()}"])]
    for t in _tensors((args, kwargs), []):
        name = names.get(id(t), "arg")
        out.append(Guard(f"L['{name}']", "local", "TENSOR_MATCH",
                         [f"L['{name}'].shape == {tuple(t.shape)}", f"L['{name}'].dtype == {t.dtype}",
                          f"L['{name}'].requires_grad == {t.requires_grad}"]))
    for i, a in enumerate(args):
        if not _tensors(a, []):
            out.append(Guard(f"L[{i}]", "local", "CONSTANT_MATCH", [f"L[{i}] == {a!r}"]))
    return out

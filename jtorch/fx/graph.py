"""``torch.fx.Graph``: a list of Nodes, their names, and the Python code they stand for."""
import builtins
import contextlib
import inspect
import keyword
import math
import operator
import re

from .node import Node, map_arg, _fmt, _Recorder

__all__ = ["Graph", "PythonCode"]


# ---------------------------------------------------------------- names of functions
def _namespaces():
    """(module object, the name torch users write for it): where a jtorch function's public name is looked up."""
    import jtorch
    import jtorch.nn.functional as F
    return [(jtorch, "torch"), (F, "torch.nn.functional"), (jtorch.special, "torch.special"),
            (jtorch.linalg, "torch.linalg"), (jtorch.fft, "torch.fft")]


_QUALNAMES = {}  # id(function) -> (function, "torch.nn.functional.relu")


def _qualified_name(fn):
    """The dotted name torch.fx prints for a call target: ``torch.add``, ``torch.nn.functional.relu``,
    ``operator.add``, ``getattr``."""
    hit = _QUALNAMES.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    name = getattr(fn, "__name__", None) or getattr(fn, "name", None) or type(fn).__name__
    if getattr(builtins, name, None) is fn:
        return name
    if getattr(operator, name, None) is fn:
        return f"operator.{name}"
    if getattr(math, name, None) is fn:
        return f"math.{name}"
    mod = getattr(fn, "__module__", None) or ""
    if mod.startswith("jtorch"):
        spaces = _namespaces()
        if mod.startswith("jtorch.nn.functional"):  # re-exported at the top (torch.max_pool2d): F's name first
            spaces = spaces[1:2] + spaces[:1] + spaces[2:]
        for ns, public in spaces:
            if getattr(ns, name, None) is fn:
                _QUALNAMES[id(fn)] = (fn, f"{public}.{name}")
                return f"{public}.{name}"
            for k, v in vars(ns).items():
                if v is fn and not k.startswith("__"):
                    _QUALNAMES[id(fn)] = (fn, f"{public}.{k}")
                    return f"{public}.{k}"
        mod = "torchvision" + mod[len("jtorch.vision"):] if mod.startswith("jtorch.vision") else \
            "torch" + mod[len("jtorch"):]
    return f"{mod}.{getattr(fn, '__qualname__', name)}" if mod else name


def _callable_name(fn):
    """The short name a call target gives its node: ``add`` for torch.add and operator.add."""
    name = getattr(fn, "__name__", None) or getattr(fn, "name", None) or type(fn).__name__
    return name


def _snake_case(s):
    """``camelCase`` -> ``camel_case`` (node names derived from targets)."""
    out = []
    for i, c in enumerate(s):
        if c.isupper() and i > 0 and s[i - 1].islower():
            out.append("_")
        out.append(c.lower())
    return "".join(out)


class _Namespace:
    """Unique Python identifiers for nodes: ``add``, ``add_1``, ...; keywords and builtins taken by
    something else get a suffix (``sum`` -> ``sum_1``)."""
    _RESERVED = {"inf", "nan", "NoneType", "torch", "device"}
    _SUFFIX = re.compile(r"(.*)_(\d+)$")

    def __init__(self):
        self.used = set()
        self.base_count = {}
        self.by_obj = {}

    def create_name(self, candidate, obj):
        if obj is not None and id(obj) in self.by_obj:
            return self.by_obj[id(obj)]
        candidate = re.sub(r"[^0-9a-zA-Z_]+", "_", candidate) or "_unnamed"
        if candidate[0].isdigit():
            candidate = "_" + candidate
        m = self._SUFFIX.match(candidate)
        if m is None:
            base, num = candidate, None
        else:
            base, num = m.group(1), int(m.group(2))
            candidate = f"{base}_{num}"
        if not num:
            num = self.base_count.get(base, 0)
        while candidate in self.used or self._illegal(candidate):
            num += 1
            candidate = f"{base}_{num}"
        self.used.add(candidate)
        self.base_count[base] = num
        if obj is not None:
            self.by_obj[id(obj)] = candidate
        return candidate

    def _illegal(self, name):
        return name in keyword.kwlist or name in builtins.__dict__ or name in self._RESERVED



class PythonCode:
    """``src``: the forward's source; ``globals``: the names it reads."""

    def __init__(self, src, globals):
        self.src = src
        self.globals = globals


class _NodeList:
    def __init__(self, graph, reverse=False):
        self.graph = graph
        self.reverse = reverse

    def __len__(self):
        return self.graph._len

    def __iter__(self):
        root = self.graph._root
        cur = root._prev if self.reverse else root._next
        while cur is not root:
            nxt = cur._prev if self.reverse else cur._next
            if not cur._erased:
                yield cur
            cur = nxt

    def __reversed__(self):
        return iter(_NodeList(self.graph, not self.reverse))

    def __repr__(self):
        return repr(list(self))


_MAGIC = {  # operator function -> Python syntax for code
    operator.add: "{} + {}", operator.sub: "{} - {}", operator.mul: "{} * {}", operator.truediv: "{} / {}",
    operator.floordiv: "{} // {}", operator.mod: "{} % {}", operator.pow: "{} ** {}", operator.matmul: "{} @ {}",
    operator.lshift: "{} << {}", operator.rshift: "{} >> {}", operator.and_: "{} & {}", operator.or_: "{} | {}",
    operator.xor: "{} ^ {}", operator.eq: "{} == {}", operator.ne: "{} != {}", operator.lt: "{} < {}",
    operator.le: "{} <= {}", operator.gt: "{} > {}", operator.ge: "{} >= {}", operator.neg: "-{}",
    operator.pos: "+{}", operator.invert: "~{}", operator.getitem: "{}[{}]",
}


class Graph:
    """The nodes of a traced program, in order. Build one with ``placeholder``/``call_function``/... or
    ``create_node``; ``python_code`` gives the forward that a GraphModule runs."""

    def __init__(self, owning_module=None, tracer_cls=None, tracer_extras=None):
        self._root = Node(self, "", "root", "", (), {})
        self._len = 0
        self._namespace = _Namespace()
        self._insert = self._root.prepend
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls
        self._tracer_extras = tracer_extras
        self._codegen_globals = None
        self._body_transformer = None  # on_generate_code's function: body lines -> body lines
        # (forward's argument names, their TreeSpec, the result's TreeSpec) when forward takes pytrees
        # and flattens them into the placeholders (concrete_args with containers), else None
        self._pytree_info = None

    @property
    def owning_module(self):
        return self._owning_module

    @owning_module.setter
    def owning_module(self, mod):
        self._owning_module = mod

    @property
    def nodes(self):
        return _NodeList(self)

    def find_nodes(self, *, op, target=None, sort=True):
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # ---- building
    def create_node(self, op, target, args=None, kwargs=None, name=None, type_expr=None):
        args = () if args is None else args
        kwargs = {} if kwargs is None else kwargs
        if not isinstance(args, tuple):
            raise AssertionError("args must be a tuple")
        if not isinstance(kwargs, dict):
            raise AssertionError("kwargs must be a dict")
        if type(target) is _Recorder:  # torch.add as seen inside a trace: the function itself
            target = target.orig
        candidate = name if name is not None else self._target_to_str(target)
        name = self._namespace.create_name(candidate, None)
        n = Node(self, name, op, target, args, kwargs, type_expr)
        self._insert(n)
        self._len += 1
        return n

    def _target_to_str(self, target):
        if callable(target):
            s = _callable_name(target)
        else:
            s = target
            if s.startswith("__") and s.endswith("__") and len(s) > 4:
                s = s[2:-2]
        return _snake_case(s)

    def placeholder(self, name, type_expr=None, default_value=inspect.Signature.empty):
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args, type_expr=type_expr)

    def get_attr(self, qualified_name, type_expr=None):
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name, args=None, kwargs=None, type_expr=None):
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name, args=None, kwargs=None, type_expr=None):
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function, args=None, kwargs=None, type_expr=None):
        return self.create_node("call_function", the_function, args, kwargs, type_expr=type_expr)

    def output(self, result, type_expr=None):
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def node_copy(self, node, arg_transform=lambda x: x):
        """A copy of ``node`` (from any graph) in this one; its Node arguments mapped by ``arg_transform``."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        new = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        new.meta = dict(node.meta)
        return new

    def graph_copy(self, g, val_map, return_output_node=False):
        """Copy every node of ``g`` into this graph; ``val_map`` maps g's nodes to the copies. Returns the
        value of g's output (its node when ``return_output_node``)."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                rv = map_arg(node.args[0], lambda n: val_map[n])
                return (rv, node) if return_output_node else rv
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_owning_module"] = None  # (the GraphModule pickles its graph, not the other way round)
        state["_insert"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._insert = self._root.prepend

    def __deepcopy__(self, memo=None):
        g = Graph(tracer_cls=self._tracer_cls)
        g._body_transformer = self._body_transformer
        g._pytree_info = self._pytree_info
        out = g.graph_copy(self, {}, return_output_node=True)
        if out is not None:
            rv, onode = out
            g.output(rv, type_expr=onode.type)
        return g

    # ---- where new nodes go
    @contextlib.contextmanager
    def _inserting(self, point):
        old = self._insert
        self._insert = point
        try:
            yield
        finally:
            self._insert = old

    def inserting_before(self, n=None):
        """``with graph.inserting_before(n):`` new nodes go just before ``n`` (before everything if None)."""
        if n is None:
            return self.inserting_after(self._root)
        return self._inserting(n.prepend)

    def inserting_after(self, n=None):
        """``with graph.inserting_after(n):`` new nodes go just after ``n`` (each after the previous one)."""
        if n is None:
            return self.inserting_before(self._root)
        return self._inserting(n.append)

    # ---- removing
    def erase_node(self, to_erase):
        if len(to_erase.users) > 0:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had {len(to_erase.users)} users in "
                               f"the graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            return
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs((), {})  # (its name stays taken, as in torch)

    def eliminate_dead_code(self, is_impure_node=None):
        """Remove the nodes nothing uses and that have no side effect; True if any went."""
        self.lint()
        changed = False
        for node in reversed(self.nodes):
            impure = is_impure_node(node) if is_impure_node is not None else node.is_impure()
            if not impure and len(node.users) == 0:
                self.erase_node(node)
                changed = True
        return changed

    # ---- checking
    def lint(self):
        """Check the graph is well formed: nodes belong to it, arguments are defined before use, names are
        unique, and (with an owning module) get_attr/call_module targets exist."""
        seen, names = set(), set()
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"Node {node} does not belong to this Graph!")
            if node.op not in ("placeholder", "call_method", "call_module", "call_function", "get_attr", "output"):
                raise RuntimeError(f"Node {node} had unknown opcode {node.op}!")
            for arg in node._input_nodes:
                if arg.graph is not self:
                    raise RuntimeError(f"Argument '{arg}' of Node '{node}' does not belong to this Graph, but was "
                                       "used as an argument! If you are copying nodes from another graph, make "
                                       "sure to use ``arg_transform`` on node_copy() to remap values")
                if arg not in seen:
                    raise RuntimeError(f"Argument '{arg}' of Node '{node}' was used before it has been defined! "
                                       "Please check that Nodes in the graph are topologically ordered")
            if node.name in names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            seen.add(node)
            names.add(node.name)
            mod = self._owning_module
            if mod is not None and node.op in ("get_attr", "call_module"):
                obj = mod
                for i, atom in enumerate(node.target.split(".")):
                    if not hasattr(obj, atom):
                        what = "module" if node.op == "call_module" else "attribute"
                        raise RuntimeError(f"Node {node} target {node.target} references nonexistent {what} "
                                           f"{'.'.join(node.target.split('.')[:i + 1])}")
                    obj = getattr(obj, atom)

    # ---- printing
    def __str__(self):
        lines = ["graph():"]
        for n in self.nodes:
            s = n.format_node()
            if s:
                lines.append("    " + s)
        return "\n".join(lines)

    def print_tabular(self):
        """A table of the nodes (opcode, name, target, args, kwargs)."""
        rows = [["opcode", "name", "target", "args", "kwargs"]]
        for n in self.nodes:
            rows.append([n.op, n.name, n._pretty_print_target(n.target), _fmt(n.args), _fmt(n.kwargs)])
        widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
        out = []
        for k, r in enumerate(rows):
            out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
            if k == 0:
                out.append("  ".join("-" * w for w in widths))
        print("\n".join(out))

    # ---- code
    def python_code(self, root_module="self"):
        """The forward this graph stands for: ``def forward(self, <placeholders>): ...``."""
        return _CodeGen(self, root_module).run()

    def on_generate_code(self, make_transformer):
        """Register ``make_transformer(current)``'s result as the transformer of the generated forward's
        body (a list of lines, each ending in a newline); usable as a context manager that puts the
        previous transformer back on exit."""
        old = self._body_transformer
        self._body_transformer = make_transformer(old)

        @contextlib.contextmanager
        def restore():
            try:
                yield
            finally:
                self._body_transformer = old
        return restore()


class _CodeGen:
    def __init__(self, graph, root):
        self.graph = graph
        self.root = root
        import jtorch
        self.globals = {"torch": jtorch, "inf": math.inf, "nan": math.nan, "NoneType": type(None),
                        "device": jtorch.device}
        self.by_id = {}
        self.node_names = {n.name for n in graph.nodes}

    def add_global(self, hint, obj):
        """A name the code can use for ``obj``."""
        if getattr(builtins, getattr(obj, "__name__", ""), None) is obj:
            return obj.__name__
        key = id(obj)
        if key in self.by_id:
            return self.by_id[key]
        q = _qualified_name(obj) if callable(obj) else None
        if q is not None and q.startswith("torch.") and self._resolves(q, obj):
            name = q
        else:
            if q is not None:
                hint = q
            base = re.sub(r"[^0-9a-zA-Z_]+", "_", hint) or "_g"
            if base[0].isdigit():
                base = "_" + base
            name, i = base, 0
            while name in self.globals or name in builtins.__dict__ or keyword.iskeyword(name) or \
                    name in self.node_names:
                i += 1
                name = f"{base}_{i}"
            self.globals[name] = obj
        self.by_id[key] = name
        return name

    def _resolves(self, dotted, obj):
        cur = self.globals.get(dotted.split(".")[0])
        for atom in dotted.split(".")[1:]:
            cur = getattr(cur, atom, None)
        return cur is obj

    def arg(self, a):
        if isinstance(a, Node):
            return a.name
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return f"{self.add_global(type(a).__name__, type(a))}({', '.join(self.arg(x) for x in a)})"
        if isinstance(a, tuple):
            inner = ", ".join(self.arg(x) for x in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        if isinstance(a, list):
            return "[" + ", ".join(self.arg(x) for x in a) + "]"
        if isinstance(a, dict):
            return "{" + ", ".join(f"{self.arg(k)}: {self.arg(v)}" for k, v in a.items()) + "}"
        if type(a) is slice:
            return f"slice({self.arg(a.start)}, {self.arg(a.stop)}, {self.arg(a.step)})"
        if a is None or a is Ellipsis or type(a) in (bool, int, str, bytes):
            return repr(a)
        if type(a) is float:
            if math.isinf(a):
                return "inf" if a > 0 else "-inf"
            return "nan" if a != a else repr(a)
        import jtorch
        if isinstance(a, jtorch.dtype) and getattr(jtorch, repr(a).split(".")[-1], None) is a:
            return repr(a)
        if isinstance(a, jtorch.device):
            return repr(a)
        return self.add_global(type(a).__name__.lower() if not callable(a) else _callable_name(a), a)

    def args_kwargs(self, args, kwargs):
        parts = [self.arg(a) for a in args] + [f"{k} = {self.arg(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)

    def run(self):
        nodes = list(self.graph.nodes)
        # free each value after its last use, as the generated code goes (memory, like torch's)
        last_use = {}
        frees = {}
        for node in reversed(nodes):
            for inp in node._input_nodes:
                if inp not in last_use:
                    last_use[inp] = node
                    frees.setdefault(node, []).append(inp)
        params, body = [], []
        for node in nodes:
            if node.op == "placeholder":
                t = node.target
                if t.startswith("*"):
                    params.append(t)
                    if node.name != t.lstrip("*"):
                        body.append(f"{node.name} = {t.lstrip('*')}")
                    continue
                default = f" = {self.arg(node.args[0])}" if node.args else ""
                params.append(f"{t}{default}")
                if node.name != t:
                    body.append(f"{node.name} = {t}")
                continue
            if node.op == "output":
                if self.graph._pytree_info is not None:
                    body.append(f"return pytree.tree_unflatten({self.arg(node.args[0])}, self._out_spec)")
                else:
                    body.append(f"return {self.arg(node.args[0])}")
                continue
            line = f"{node.name} = {self.expr(node)}"
            dead = [n.name for n in frees.get(node, []) if n.op != "placeholder" or True]
            if not node.users:
                dead.append(node.name)
            if dead:
                line += ";  " + " = ".join(dead) + " = None"
            body.append(line)
        if not body or not body[-1].startswith("return"):
            body.append("return None")
        if self.graph._pytree_info is not None:
            params, body = self._flatten_inputs(params, body)
        transform = getattr(self.graph, "_body_transformer", None)
        if transform is not None:
            body = "".join(transform([b + "\n" for b in body])).split("\n")
            while body and not body[-1]:
                body.pop()
        src = "\n\n\ndef forward(" + ", ".join([self.root] + params) + "):\n" + \
            "".join(f"    {b}\n" for b in body) + "    "
        return PythonCode(src, self.globals)

    def _flatten_inputs(self, placeholders, body):
        """forward takes the original arguments and flattens them into the placeholders by the spec."""
        import jtorch.utils._pytree as pytree
        from . import _pytree as fx_pytree
        self.globals.update(pytree=pytree, fx_pytree=fx_pytree)
        names = self.graph._pytree_info[0]
        flat = ["self"] * (names[:1] == ["self"]) + [p.split(" = ")[0] for p in placeholders]
        line = f"{', '.join(flat)}, = fx_pytree.tree_flatten_spec([{', '.join(names)}], self._in_spec)"
        return [n for n in names if n != "self"], [line] + body

    def expr(self, node):
        op, t, args, kwargs = node.op, node.target, node.args, node.kwargs
        if op == "get_attr":
            return self.attr_path(t)
        if op == "call_module":
            return f"{self.attr_path(t)}({self.args_kwargs(args, kwargs)})"
        if op == "call_method":
            return f"{self.arg(args[0])}.{t}({self.args_kwargs(args[1:], kwargs)})"
        # call_function
        if not kwargs and t in _MAGIC:
            fmt = _MAGIC[t]
            n = fmt.count("{}")
            if len(args) == n:
                if t is operator.getitem:
                    return fmt.format(self.arg(args[0]), self.arg(args[1]))
                return fmt.format(*(self.arg(a) for a in args))
        if t is builtins.getattr and len(args) == 2 and not kwargs and isinstance(args[1], str) and \
                args[1].isidentifier() and not keyword.iskeyword(args[1]):
            return f"{self.arg(args[0])}.{args[1]}"
        fname = self.add_global(_callable_name(t), t)
        return f"{fname}({self.args_kwargs(args, kwargs)})"

    def attr_path(self, target):
        out = self.root
        for atom in target.split("."):
            if atom.isidentifier() and not keyword.iskeyword(atom):
                out += "." + atom
            else:
                out = f'getattr({out}, "{atom}")'
        return out

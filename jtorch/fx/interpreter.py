"""``torch.fx.Interpreter`` (run a graph node by node) and ``Transformer`` (rebuild it node by node)."""
import inspect

from .graph import Graph
from .graph_module import GraphModule
from .node import map_arg, map_aggregate
from .proxy import Proxy
from ._symbolic_trace import Tracer, _Recording

__all__ = ["Interpreter", "Transformer"]


class Interpreter:
    """Runs a GraphModule's graph one node at a time; override ``run_node`` or the per-op methods
    (``call_function``, ``call_method``, ``call_module``, ``get_attr``, ``placeholder``, ``output``) to
    change what a node does."""

    def __init__(self, module, garbage_collect_values=True, graph=None):
        self.module = module
        self.submodules = dict(module.named_modules())
        self.graph = graph if graph is not None else module.graph
        self.env = {}
        self.name = "Interpreter"
        self.garbage_collect_values = garbage_collect_values
        self.extra_traceback = True
        if garbage_collect_values:
            # each value is dropped after the node that reads it last
            last_use = {}
            self.user_to_last_uses = {}
            for node in reversed(list(self.graph.nodes)):
                for inp in node._input_nodes:
                    if inp not in last_use:
                        last_use[inp] = node
                        self.user_to_last_uses.setdefault(node, []).append(inp)

    def run(self, *args, initial_env=None, enable_io_processing=True):
        """Run the graph on ``args``; returns what its output node returns."""
        self.env = initial_env if initial_env is not None else {}
        self.args_iter = iter(args)
        for node in self.graph.nodes:
            if node in self.env:
                continue  # given in initial_env
            try:
                self.env[node] = self.run_node(node)
            except Exception as e:
                if self.extra_traceback and not getattr(e, "_fx_noted", False):
                    msg = f"While executing {node.format_node()}"
                    if hasattr(e, "add_note"):
                        e.add_note(msg)
                    e._fx_noted = True
                raise
            if self.garbage_collect_values:
                for dead in self.user_to_last_uses.get(node, []):
                    del self.env[dead]
            if node.op == "output":
                return self.env[node]
        return None

    def boxed_run(self, args_list):
        args = list(args_list)
        args_list.clear()
        return self.run(*args)

    def run_node(self, n):
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        return getattr(self, n.op)(n.target, args, kwargs)

    # ---- one method per op
    def placeholder(self, target, args, kwargs):
        if target.startswith("**"):
            return {}
        if target.startswith("*"):
            return list(self.args_iter)
        try:
            return next(self.args_iter)
        except StopIteration:
            if len(args) > 0:
                return args[0]
            raise RuntimeError(f"Expected positional argument for parameter {target}, but one was not "
                               "passed in!") from None

    def get_attr(self, target, args, kwargs):
        return self.fetch_attr(target)

    def call_function(self, target, args, kwargs):
        return target(*args, **kwargs)

    def call_method(self, target, args, kwargs):
        self_obj, *rest = args
        return getattr(self_obj, target)(*rest, **kwargs)

    def call_module(self, target, args, kwargs):
        return self.fetch_attr(target)(*args, **kwargs)

    def output(self, target, args, kwargs):
        return args[0]

    # ---- helpers
    def fetch_attr(self, target):
        obj = self.module
        atoms = target.split(".")
        for i, atom in enumerate(atoms):
            if not hasattr(obj, atom):
                raise RuntimeError(f"Node referenced nonexistent target {'.'.join(atoms[:i + 1])}")
            obj = getattr(obj, atom)
        return obj

    def fetch_args_kwargs_from_env(self, n):
        return self.map_nodes_to_values(n.args, n), self.map_nodes_to_values(n.kwargs, n)

    def map_nodes_to_values(self, args, n):
        def load(a):
            if a not in self.env:
                raise RuntimeError(f"Node {n} referenced nonexistent value {a}! Run Graph.lint() to diagnose "
                                   "such issues")
            return self.env[a]
        return map_arg(args, load)


class _TransformerTracer(Tracer):
    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        self.tensor_attrs = {}
        self._keep = []

    def is_leaf_module(self, m, module_qualified_name):
        return True


class Transformer(Interpreter):
    """Builds a new graph by running the old one on Proxies: each per-op method returns the Proxy of the
    node it records, so overriding ``call_function`` & co rewrites the program. ``transform()`` returns
    the new GraphModule."""

    def __init__(self, module):
        super().__init__(module)
        self.new_graph = Graph()
        self.tracer = _TransformerTracer(self.new_graph)
        self.tracer.root = module
        self.tracer.submodule_paths = {id(m): name for name, m in module.named_modules()}
        self._recording = None

    def placeholder(self, target, args, kwargs):
        default = args[0] if args else inspect.Signature.empty
        return Proxy(self.new_graph.placeholder(target, default_value=default), self.tracer)

    def get_attr(self, target, args, kwargs):
        return self.tracer.create_proxy("get_attr", target, args, kwargs)

    def call_module(self, target, args, kwargs):
        sub = self.fetch_attr(target)
        return self.tracer.call_module(sub, sub.forward, args, kwargs)

    def call_function(self, target, args, kwargs):
        return self.tracer.create_proxy("call_function", target, args, kwargs)

    def run_node(self, n):
        if n.op != "call_function":
            return super().run_node(n)
        # While the graph is rebuilt, ``torch.add`` names the recorder that stands in for it: the target
        # handed to the override is that same object, so ``target is torch.add`` holds as in torch.
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        target = n.target
        hit = self._recording.originals.get(id(target)) if self._recording is not None else None
        if hit is not None and hit[0] is target:
            target = hit[1]
        return self.call_function(target, args, kwargs)

    def transform(self):
        """The transformed program as a GraphModule (over the same submodules and parameters)."""
        self._recording = None
        with _Recording(self.tracer, modules=False) as rec:
            self._recording = rec
            for klass in type(self).__mro__:  # names the override imported (``from torch import add``)
                if klass is Transformer:
                    break
                for v in vars(klass).values():
                    if callable(v) and hasattr(v, "__globals__"):
                        rec.watch(v)
            try:
                result = super().run(enable_io_processing=False)
            finally:
                self._recording = None
        if result is not None:
            self.new_graph.output(map_aggregate(result, lambda a: a.node if isinstance(a, Proxy) else a))
        return GraphModule(self.module, self.new_graph)

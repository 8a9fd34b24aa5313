"""Tracing for FX graph mode quantization: torch.fx's symbolic trace that also remembers, for every node, the
module whose forward made it (so qconfigs by module name apply to functions called inside that module), and
treats quantization's own modules (fused, QAT, observers) as leaves."""
import copy

import jtorch as torch
from jtorch.fx import Tracer, GraphModule
from jtorch.fx.interpreter import Interpreter


class QuantizationTracer(Tracer):
    def __init__(self, skipped_module_names=(), skipped_module_classes=()):
        super().__init__()
        self.skipped_module_names = list(skipped_module_names)
        self.skipped_module_classes = tuple(skipped_module_classes)
        self.scope = ("", None)  # (qualified name, type) of the module being traced through
        self.node_name_to_scope = {}

    def is_leaf_module(self, m, module_qualified_name):
        mod = type(m).__module__ or ""
        return (super().is_leaf_module(m, module_qualified_name) or mod.startswith("jtorch.ao.nn")
                or module_qualified_name in self.skipped_module_names
                or isinstance(m, self.skipped_module_classes))

    def call_module(self, m, forward, args, kwargs):
        outer = self.scope
        self.scope = (self.path_of_module(m), type(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.scope = outer

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        self.node_name_to_scope[node.name] = self.scope
        return node


def trace(model, skipped_module_names=(), skipped_module_classes=()):
    """(GraphModule, {node name: (module path, module type)}) for ``model``."""
    tracer = QuantizationTracer(skipped_module_names, skipped_module_classes)
    graph = tracer.trace(model)
    gm = GraphModule(tracer.root, graph, "GraphModule")
    return gm, tracer.node_name_to_scope


def float_tensor_nodes(gm, example_inputs):
    """Names of the nodes whose value (running ``gm`` on ``example_inputs``) is a floating point tensor: the
    values quantization may observe."""
    names = set()

    class _Probe(Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            if isinstance(out, torch.Tensor) and out.is_floating_point():
                names.add(n.name)
            return out

    with torch.no_grad():  # on a copy: a training model's batch norms would update their statistics
        _Probe(copy.deepcopy(gm)).run(*example_inputs)
    return names

"""``torch.fx.passes.split_module``: cut a GraphModule into submodules, one per partition.

``split_callback(node)`` names the partition of every call node. Each partition becomes a GraphModule
``submod_<name>`` whose inputs are the values it uses from outside (the graph's inputs, attributes,
other partitions' results) and whose outputs are its values used outside; the returned module's graph
keeps the inputs and attribute reads and calls the partitions in an order that respects their
dependencies (a cycle between partitions is an error)."""
import inspect
import operator

from ..graph import Graph
from ..graph_module import GraphModule
from ..node import map_arg

__all__ = ["Partition", "split_module"]

_CALLS = ("call_function", "call_method", "call_module")


class Partition:
    """One partition: its nodes' names, the values it takes and gives (dicts used as ordered sets),
    the partitions it depends on and that depend on it, and the Graph being built for it."""

    def __init__(self, name):
        self.name = name
        self.submod_name = f"submod_{name}"
        self.node_names = []
        self.inputs = {}
        self.outputs = {}
        self.dependencies = {}
        self.dependents = {}
        self.graph = Graph()
        self.environment = {}
        self.targets = {}

    def __repr__(self):
        return (f"name: {self.name},\n nodes: {self.node_names},\n inputs: {self.inputs},\n"
                f" outputs: {self.outputs},\n partitions depended on: {self.dependencies},\n"
                f" partition dependents: {self.dependents}")


def _attr(mod, qualname):
    for atom in qualname.split("."):
        if not hasattr(mod, atom):
            raise AttributeError(f"Node target {qualname} not found!")
        mod = getattr(mod, atom)
    return mod


def split_module(m, root_m, split_callback, qualname_map=None, keep_original_order=False,
                 keep_original_node_name=False, keep_original_input_name=True, *, partition_affix=None,
                 tuple_return=False):
    """Split ``m`` (a GraphModule) by ``split_callback``; ``root_m`` is accepted as torch's and unused.
    ``qualname_map`` (a dict, filled in) maps each submodule path in the result to its path in ``m``."""
    nodes = list(m.graph.nodes)
    partitions, owner = {}, {}
    for node in nodes:
        if node.op in _CALLS:
            key = str(split_callback(node))
            if key not in partitions:
                partitions[key] = Partition(key if partition_affix is None else f"{partition_affix}_{key}")
            partitions[key].node_names.append(node.name)
            owner[node] = partitions[key]

    def record_use(defn, user):  # user: the Partition using defn, None for the graph's output
        made_by = owner.get(defn)
        if made_by is user:
            return
        if made_by is not None:
            made_by.outputs.setdefault(defn.name)
        if user is not None:
            user.inputs.setdefault(defn.name)
            if made_by is not None:
                user.dependencies.setdefault(made_by.name)
                made_by.dependents.setdefault(user.name)

    for node in nodes:
        if node in owner or node.op == "output":
            for defn in node.all_input_nodes:
                record_use(defn, owner.get(node))

    by_name = {p.name: p for p in partitions.values()}
    order, waiting = [], {p.name: len(p.dependencies) for p in partitions.values()}
    ready = [p for p in partitions.values() if not p.dependencies]
    while ready:  # partitions whose dependencies are all placed; the latest found goes first, as torch's
        p = ready.pop()
        order.append(p)
        for d in p.dependents:
            waiting[d] -= 1
            if waiting[d] == 0:
                ready.append(by_name[d])
    if len(order) != len(partitions):
        raise RuntimeError("cycle exists between partitions!")

    # each partition's own graph: its inputs as placeholders, then copies of its nodes
    node_by_name = {n.name: n for n in nodes}
    for p in partitions.values():
        for i, name in enumerate(p.inputs):
            ph = p.graph.placeholder(name if keep_original_input_name else f"arg_{i}",
                                     type_expr=node_by_name[name].type)
            ph.meta = dict(node_by_name[name].meta)
            p.environment[node_by_name[name]] = ph
    for node in nodes:
        p = owner.get(node)
        if p is None:
            continue
        target = node.target
        if node.op == "call_module":
            target = node.target.replace(".", "_")
            p.targets[target] = _attr(m, node.target)
            if qualname_map is not None:
                qualname_map[f"{p.submod_name}.{target}"] = node.target
        args = map_arg(node.args, lambda a: p.environment[a])
        kwargs = map_arg(node.kwargs, lambda a: p.environment[a])
        new = p.graph.create_node(node.op, target, args, kwargs,
                                  node.name if keep_original_node_name else None, node.type)
        new.meta = dict(node.meta)
        p.environment[node] = new
    for p in partitions.values():
        outs = [p.environment[node_by_name[name]] for name in p.outputs]
        p.graph.output(outs[0] if len(outs) == 1 and not tuple_return else tuple(outs))

    # the graph that calls them
    base, env, attrs, placed = Graph(), {}, {}, set()

    def read_attr(node):
        env[node] = base.get_attr(node.target, type_expr=node.type)
        env[node].meta = dict(node.meta)
        attrs[node.target] = _attr(m, node.target)

    def call(p):
        placed.add(p.name)
        if keep_original_order:  # what it needs that the original order would place later comes first
            for d in p.dependencies:
                if d not in placed:
                    call(by_name[d])
            for name in p.inputs:
                if node_by_name[name] not in env:
                    read_attr(node_by_name[name])
        attrs[p.submod_name] = GraphModule(p.targets, p.graph)
        out = base.call_module(p.submod_name, tuple(env[node_by_name[n]] for n in p.inputs))
        names = list(p.outputs)
        if len(names) == 1 and not tuple_return:
            env[node_by_name[names[0]]] = out
        else:
            for i, name in enumerate(names):
                env[node_by_name[name]] = base.call_function(operator.getitem, (out, i))

    for node in nodes:
        if node.op == "placeholder":
            default = node.args[0] if node.args else inspect.Signature.empty
            env[node] = base.placeholder(node.target, type_expr=node.type, default_value=default)
            env[node].meta = dict(node.meta)
        elif node.op == "get_attr" and node not in env:
            read_attr(node)
        elif keep_original_order and node in owner and owner[node].name not in placed:
            call(owner[node])
    if not keep_original_order:
        for p in order:
            call(p)
    output = next(n for n in nodes if n.op == "output")
    base.output(map_arg(output.args[0], lambda a: env[a]), type_expr=output.type)
    return GraphModule(attrs, base)

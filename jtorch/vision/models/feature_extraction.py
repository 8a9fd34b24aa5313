"""``torchvision.models.feature_extraction``: a model's intermediate outputs by node name.

Nodes are named torchvision's way: the dotted path of the module whose forward made them, then the
op (``layer1.0.add``); a leaf module's call is its own path (``layer1.0.conv1``); repeats within one
module get ``_1``, ``_2``... (``layer1.0.relu_1``). A name that is a module's path stands for the
last node made inside that module (its output).
"""
import re
import warnings

from ...fx import GraphModule, Tracer
from ...fx.graph_module import _copy_attr

__all__ = ["create_feature_extractor", "get_graph_node_names"]


class NodePathTracer(Tracer):
    """A Tracer that also names every node by module path (``node_to_qualname``)."""

    def __init__(self, *args, leaf_modules=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.leaf_modules = tuple(leaf_modules or ())
        self.current_module_qualname = ""
        self.node_to_qualname = {}

    def is_leaf_module(self, m, module_qualname):
        if self.leaf_modules and isinstance(m, self.leaf_modules):
            return True
        return super().is_leaf_module(m, module_qualname)

    def call_module(self, m, forward, args, kwargs):
        outer = self.current_module_qualname
        try:
            self.current_module_qualname = self.path_of_module(m)
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.current_module_qualname = outer

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None):
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        self.node_to_qualname[proxy.node] = self._qualname(self.current_module_qualname, proxy.node)
        return proxy

    def _qualname(self, scope, node):
        if node.op == "call_module":
            name = scope
        else:
            name = f"{scope}.{node.name}" if scope else node.name
        # fx numbers names across the whole graph; here repeats are numbered within the name itself
        m = re.match(r"(.+)_[0-9]+$", name)
        if m is not None:
            name = m.group(1)
        for seen in reversed(list(self.node_to_qualname.values())):
            hit = re.fullmatch(re.escape(name) + r"(_([0-9]+))?", seen)
            if hit is not None:
                return f"{name}_{int(hit.group(2)) + 1 if hit.group(2) else 1}"
        return name


# torchvision.ops' modules are leaves and its functions are recorded as calls (torchvision's defaults)
_OPS_LEAVES = ("Conv2dNormActivation", "Conv3dNormActivation", "DeformConv2d", "DropBlock2d", "DropBlock3d",
               "FeaturePyramidNetwork", "FrozenBatchNorm2d", "MLP", "MultiScaleRoIAlign", "PSRoIAlign", "PSRoIPool",
               "Permute", "RoIAlign", "RoIPool", "SqueezeExcitation", "StochasticDepth")


def _default_tracer_kwargs(tracer_kwargs):
    import math
    from .. import ops  # jtorch.vision.ops
    from . import _layers
    kwargs = dict(tracer_kwargs or {})
    leaves = [getattr(ops, n, None) or getattr(_layers, n) for n in _OPS_LEAVES]
    kwargs["leaf_modules"] = list(kwargs.get("leaf_modules", ())) + leaves
    mods = tuple(kwargs.get("autowrap_modules", (math,)))
    kwargs["autowrap_modules"] = mods + ((ops,) if ops not in mods else ())
    return kwargs


def _trace(model, mode, tracer_kwargs, concrete_args):
    was = model.training
    model.train(mode)
    try:
        tracer = NodePathTracer(**_default_tracer_kwargs(tracer_kwargs))
        graph = tracer.trace(model, concrete_args=concrete_args)
    finally:
        model.train(was)
    return tracer, graph


def get_graph_node_names(model, tracer_kwargs=None, suppress_diff_warning=False, concrete_args=None):
    """(train-mode names, eval-mode names) of the nodes of ``model``'s graph, in execution order."""
    names = []
    for mode in (True, False):
        tracer, graph = _trace(model, mode, tracer_kwargs, concrete_args)
        names.append([tracer.node_to_qualname[n] for n in graph.nodes if n in tracer.node_to_qualname])
    if names[0] != names[1] and not suppress_diff_warning:
        warnings.warn("NOTE: The nodes obtained by tracing the model in eval mode are a subsequence of those "
                      "obtained in train mode. When choosing nodes for feature extraction, you may need to "
                      "specify output nodes for train and eval mode separately.")
    return names[0], names[1]


class DualGraphModule(GraphModule):
    """A GraphModule with one graph for train mode and one for eval mode; ``train()``/``eval()`` switch."""

    def __init__(self, root, train_graph, eval_graph, class_name="GraphModule"):
        super().__init__(root, train_graph if root.training else eval_graph, class_name)
        for g in (train_graph, eval_graph):
            for node in g.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        self.__dict__["train_graph"] = train_graph
        self.__dict__["eval_graph"] = eval_graph
        self.training = root.training

    def train(self, mode=True):
        if mode is not self.training:
            self.graph = self.train_graph if mode else self.eval_graph
        return super().train(mode)


def _select(tracer, graph, return_nodes):
    """The graph cut down to return {user name: node} for the requested names."""
    qualnames = {n: tracer.node_to_qualname[n] for n in graph.nodes if n in tracer.node_to_qualname}
    chosen = {}
    for query, out_name in return_nodes.items():
        hit = None
        for node, q in qualnames.items():  # the last node named so, or made inside the module so named
            if q == query or q.startswith(query + "."):
                hit = node
        if hit is None:
            raise ValueError(f"node: '{query}' is not present in model. Hint: use `get_graph_node_names` to make "
                             "sure the `return_nodes` you specified are present. It may even be that you need to "
                             "specify `train_return_nodes` and `eval_return_nodes` separately.")
        chosen[out_name] = hit
    graph.erase_node(next(n for n in graph.nodes if n.op == "output"))
    graph.output(chosen)
    graph.eliminate_dead_code()
    graph.lint()
    return graph


def _as_dict(nodes):
    if nodes is None:
        return None
    if isinstance(nodes, (list, tuple)):
        return {str(n): str(n) for n in nodes}
    return {str(k): str(v) for k, v in nodes.items()}


def create_feature_extractor(model, return_nodes=None, train_return_nodes=None, eval_return_nodes=None,
                             tracer_kwargs=None, suppress_diff_warning=False, concrete_args=None):
    """A GraphModule that returns a dict of the named intermediate nodes of ``model`` (a list of names,
    or {node name: output key}); ``train_return_nodes``/``eval_return_nodes`` choose per mode."""
    if return_nodes is None and (train_return_nodes is None or eval_return_nodes is None):
        raise ValueError("Either `return_nodes` or `train_return_nodes` and `eval_return_nodes` together, should "
                         "be specified")
    if return_nodes is not None and (train_return_nodes is not None or eval_return_nodes is not None):
        raise ValueError("If `train_return_nodes` and `eval_return_nodes` are specified, then both should be "
                         "specified")
    modes = {True: _as_dict(train_return_nodes if return_nodes is None else return_nodes),
             False: _as_dict(eval_return_nodes if return_nodes is None else return_nodes)}
    graphs = {}
    for mode, wanted in modes.items():
        tracer, graph = _trace(model, mode, tracer_kwargs, concrete_args)
        graphs[mode] = _select(tracer, graph, wanted)
    name = type(model).__name__
    return DualGraphModule(model, graphs[True], graphs[False], class_name=name)

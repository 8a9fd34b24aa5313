"""prepare_fx / prepare_qat_fx: trace, fuse, (QAT: swap modules for their QAT forms), then insert observers
(``activation_post_process_<i>`` modules called in the graph) where torch's x86/fbgemm lowering needs
parameters: before a quantized op's inputs that are not observed yet, and after its output (ops that keep their
input's parameters reuse the input's observer instance). Inputs named by the custom config's
``input_quantized_idxs`` come quantized: they count as observed."""
import jtorch as torch
from jtorch import nn, per_channel_affine_float_qparams
from jtorch.fx import GraphModule
from ..quantization_mappings import get_default_qat_module_mappings, get_default_dynamic_quant_module_mappings
from ..fake_quantize import FixedQParamsFakeQuantize
from ..observer import FixedQParamsObserver, ReuseInputObserver
from .tracer import trace, float_tensor_nodes
from .fuse import fuse_graph_module
from .patterns import classify, is_relu
from .qconfig_utils import as_mapping, module_qconfigs, node_qconfigs, check_fused_qconfigs

META_KEY = "_observed_graph_module_attrs"


class ObservedGraphModuleAttrs:
    """What convert needs to know about a prepared model: each quantized node's kind, relus folded into the op
    before them, the observer module names, the module scopes and whether this is QAT."""

    def __init__(self, kinds, observer_names, node_name_to_scope, is_qat, qconfig_mapping, quantized_inputs=(),
                 output_quantized_idxs=()):
        self.kinds = kinds
        self.observer_names = observer_names
        self.node_name_to_scope = node_name_to_scope
        self.is_qat = is_qat
        self.qconfig_mapping = qconfig_mapping
        self.quantized_inputs = set(quantized_inputs)  # names of the placeholders given quantized tensors
        self.output_quantized_idxs = set(output_quantized_idxs)  # outputs returned quantized


def _tensor_inputs(node, kind):
    """The argument nodes a quantized op needs quantized."""
    if kind == "cat":
        tensors = node.args[0] if node.args else node.kwargs.get("tensors", ())
        return list(tensors)
    if kind == "binary":
        return list(node.args[:2])
    if kind == "binary_scalar":
        return [a for a in node.args[:2] if hasattr(a, "op")]
    if kind == "custom":
        return [a for a in node.args if hasattr(a, "op")]
    return [node.args[0]] if node.args else []


def _weight_arg(node):
    return node.args[1] if len(node.args) > 1 else node.kwargs.get("weight")


def _functional_weights_are_attributes(node, floats):
    """Whether F.linear/F.conv*d ``node`` reads its weight (a float tensor) and bias from attributes: what
    convert can quantize and pack."""
    weight = _weight_arg(node)
    bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
    return (getattr(weight, "op", None) == "get_attr" and weight.name in floats
            and (bias is None or getattr(bias, "op", None) == "get_attr"))


def _is_fixed_observer(module):
    return isinstance(module, (FixedQParamsObserver, FixedQParamsFakeQuantize))


def _is_fixed(qconfig):
    return _is_fixed_observer(qconfig.activation())


def _is_dynamic(qconfig):
    return getattr(qconfig.activation(), "is_dynamic", False)


def _is_static_int8(qconfig):
    import jtorch as torch
    act = qconfig.activation()
    return getattr(act, "dtype", None) in (torch.quint8, torch.qint8) and not getattr(act, "is_dynamic", False)


def _scalar_operand(node, floats):
    """Whether ``node`` (add/mul) has one tensor operand and one number."""
    a, b = (list(node.args) + [None, None])[:2]
    is_tensor = [getattr(x, "name", None) in floats for x in (a, b)]
    return sum(is_tensor) == 1 and all(t or isinstance(x, (int, float)) and not isinstance(x, bool)
                                       for t, x in zip(is_tensor, (a, b)))


def _fusable_relu(node, modules):
    """The relu that is ``node``'s only user, if any."""
    users = list(node.users)
    return users[0] if len(users) == 1 and is_relu(users[0], modules) else None


def _swap_qat_modules(gm, qconfigs, modules):
    mapping = get_default_qat_module_mappings()
    for node in gm.graph.nodes:
        if node.op != "call_module":
            continue
        mod = modules[node.target]
        qconfig = qconfigs.get(node.name)
        if qconfig is None or type(mod) not in mapping:
            continue
        for m in mod.modules():  # a fused module's parts too, as eager propagation gives them
            m.qconfig = qconfig
        qat = mapping[type(mod)].from_float(mod)
        _set_module(gm, node.target, qat)
        modules[node.target] = qat


def _set_module(root, qualified_name, module):
    *path, field = qualified_name.split(".")
    setattr(root.get_submodule(".".join(path)), field, module)


def prepare(model, qconfig_mapping, is_qat, example_inputs, prepare_custom_config=None, backend_config=None):
    mapping = as_mapping(qconfig_mapping)
    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    custom = prepare_custom_config or {}
    if not isinstance(custom, dict):
        custom = custom.to_dict()
    float_to_observed = custom.get("float_to_observed_custom_module_class", {}).get("static", {})
    gm, scopes = trace(model, custom.get("non_traceable_module_name", ()),
                       (*custom.get("non_traceable_module_class", ()), *float_to_observed))
    fuse_graph_module(gm, is_qat)
    check_fused_qconfigs(gm, mapping)
    by_module = module_qconfigs(gm, mapping)
    modules = dict(gm.named_modules(remove_duplicate=False))  # a module called at two places has two names
    qconfigs = node_qconfigs(gm.graph, mapping, by_module, scopes)
    if is_qat:
        _swap_qat_modules(gm, qconfigs, modules)
    floats = float_tensor_nodes(gm, example_inputs)
    graph = gm.graph

    kinds = {}  # node name -> kind of each op that is quantized ('fused_relu' for a relu folded into add/mul)
    observed = {}  # node -> the observer node whose output stands for it
    observer_names = []

    def add_observer(after, module):
        name = f"activation_post_process_{len(observer_names)}"
        observer_names.append(name)
        gm.add_submodule(name, module)
        with graph.inserting_after(after):
            obs = graph.call_module(name, (after,))
        observed[obs] = obs  # an op reading the observer's output reads an observed value
        floats.add(obs.name)
        return obs

    def observe_input(node, arg, qconfig):
        if arg not in observed:
            observed[arg] = add_observer(arg, qconfig.activation())
        node.replace_input_with(arg, observed[arg])

    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    quantized_inputs = [placeholders[i] for i in custom.get("input_quantized_idxs", ())]
    for p in quantized_inputs:
        observed[p] = p

    def observer_of(node):
        """The observer module whose parameters ``node`` (observed) has; None for a quantized input."""
        return gm.get_submodule(observed[node].target) if observed[node].op == "call_module" else None

    done = set()
    for node in list(graph.nodes):
        if node.op not in ("call_module", "call_function", "call_method") or node in done:
            continue
        qconfig = qconfigs.get(node.name)
        kind = classify(node, modules) if node.name in floats else None
        if node.op == "call_module" and type(modules[node.target]) in float_to_observed and node.name in floats:
            kind = "custom"
        if kind == "binary" and _scalar_operand(node, floats):
            kind = "binary_scalar"
        if kind == "functional" and not _functional_weights_are_attributes(node, floats):
            kind = None
        fuses_relu = ((kind == "binary" and node.target is not torch.matmul)  # add/mul + relu
                      or (kind == "functional" and qconfig is not None))  # linear/conv + relu
        relu = _fusable_relu(node, modules) if fuses_relu else None
        lowered = True
        if relu is not None:
            # add/mul + relu is one pattern with the relu's qconfig; lowered to add_relu only when the add's
            # qconfig is set too (else both stay float, the relu's output observed)
            if qconfigs.get(relu.name) is None:
                relu = None
            else:
                lowered, qconfig = qconfig is not None, qconfigs[relu.name]
        if qconfig is not None and _is_dynamic(qconfig):
            # dynamic quantization: linear-like modules and RNNs only (whose outputs are tuples), their input
            # marked by a dynamic placeholder
            if (node.op == "call_module" and type(modules[node.target]) in get_default_dynamic_quant_module_mappings()
                    and getattr(node.args[0], "name", None) in floats):
                kinds[node.name] = "dynamic"
                observe_input(node, node.args[0], qconfig)
            continue
        if qconfig is None or kind is None:
            continue
        if kind == "embedding":
            if qconfig.weight().qscheme is per_channel_affine_float_qparams:
                kinds[node.name] = kind
            continue
        inputs = _tensor_inputs(node, kind)
        if not inputs or not all(getattr(a, "name", None) in floats for a in inputs):
            continue  # an operand that is not a float tensor
        if kind == "fixed" and not _is_fixed(qconfig):
            continue
        if kind == "cat" and any(observer_of(a) is None for a in inputs if a in observed):
            continue  # (torch leaves a cat of a quantized input in float)
        if kind == "shared":
            # keeps its input's parameters: needs an observed input, or a qconfig to observe the input with
            if inputs[0] not in observed and (not _is_static_int8(qconfig)
                                              or isinstance(qconfig.activation(), ReuseInputObserver)):
                continue
        elif not _is_static_int8(qconfig):
            continue
        if lowered:
            kinds[node.name] = kind
        if kind == "custom":  # swapped for its observed form, which keeps the qconfig
            mod = modules[node.target]
            mod.qconfig = qconfig
            _set_module(gm, node.target, float_to_observed[type(mod)].from_float(mod))
            modules[node.target] = gm.get_submodule(node.target)
        for a in dict.fromkeys(inputs):
            observe_input(node, a, qconfig)
        if kind == "functional":  # the weight gets a weight observer of its own
            weight = _weight_arg(node)
            obs = add_observer(weight, qconfig.weight())
            node.replace_input_with(weight, obs)
            kinds[obs.name] = "weight"
        out = node
        if relu is not None:
            out = relu
            done.add(relu)
            if lowered:
                kinds[out.name] = "fused_relu"
        if kind == "cat":
            # torch's cat shares one observer among its inputs and output: the first input's
            module = observer_of(inputs[0])
            if module is not None and not any(_is_fixed_observer(observer_of(a)) for a in inputs):
                for a in inputs[1:]:
                    if observer_of(a) is not None:
                        gm.add_submodule(observed[a].target, module)
            else:
                module = qconfig.activation()
        elif kind in ("shared", "binary_scalar"):  # (torch observes add/mul of a number with the input's too)
            module = observer_of(inputs[0]) or qconfig.activation()
        else:
            module = qconfig.activation()
        users = list(out.users)
        obs = add_observer(out, module)
        observed[out] = obs
        for u in users:
            u.replace_input_with(out, obs)

    for node in graph.nodes:  # quantized modules convert with their qconfig's weight observer
        if kinds.get(node.name) in ("weighted", "dynamic", "embedding"):
            modules[node.target].qconfig = qconfigs[node.name]
    graph.lint()
    gm = GraphModule(gm, graph, "GraphModule")  # submodules in graph order, as torch's
    gm.meta[META_KEY] = ObservedGraphModuleAttrs(kinds, observer_names, scopes, is_qat, mapping,
                                                 [p.name for p in quantized_inputs],
                                                 custom.get("output_quantized_idxs", ()))
    if isinstance(model, nn.Module):
        gm.train(model.training)
    return gm

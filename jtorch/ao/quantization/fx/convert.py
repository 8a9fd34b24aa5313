"""convert_fx: a calibrated (or trained) prepared model to torch's x86/fbgemm lowering: a float value entering a
quantized region is quantized with its observer's parameters (``torch.quantize_per_tensor`` with the scale and
zero point as buffers), conv/linear modules become quantized modules, add/mul become ``torch.ops.quantized.*``,
ops that run on quantized tensors stay as they are, and a quantized value going to a float op or the output is
dequantized (``.dequantize()``). With ``is_reference`` every observer becomes a quantize-dequantize pair, the
ops stay float and conv/linear modules become reference quantized modules (torch's reference model)."""
import inspect

import jtorch as torch
from jtorch import nn
from jtorch.ao.nn.intrinsic import _FusedModule
import jtorch.ao.nn.quantized.reference as nnqr
from jtorch.fx import Graph, GraphModule, map_arg
from ..observer import ObserverBase
from ..fake_quantize import FakeQuantizeBase
from ..quantization_mappings import get_default_dynamic_quant_module_mappings
from .prepare import META_KEY
from .patterns import (quantized_module_class, PASSTHROUGH_METHODS, REQUANTIZING_FUNCTIONS, BINARY_FUNCTIONS,
                       BINARY_METHODS, FUNCTIONAL_WEIGHTED)
from .quantized_ops import PackedWeight
from ...nn.quantized.modules.utils import _quantize_weight
from . import quantized_ops  # noqa: F401  (registers torch.ops.quantized.add & co)

_REFERENCE = {nn.Linear: nnqr.Linear, nn.Conv1d: nnqr.Conv1d, nn.Conv2d: nnqr.Conv2d, nn.Conv3d: nnqr.Conv3d,
              nn.ConvTranspose1d: nnqr.ConvTranspose1d, nn.ConvTranspose2d: nnqr.ConvTranspose2d,
              nn.ConvTranspose3d: nnqr.ConvTranspose3d}
_BINARY_OPS = {("add", False): "add", ("add", True): "add_relu", ("mul", False): "mul", ("mul", True): "mul_relu",
               ("matmul", False): "matmul"}


def _is_observer(module):
    return isinstance(module, (ObserverBase, FakeQuantizeBase))


def _binary_name(node):
    """'add' or 'mul'."""
    return BINARY_METHODS[node.target] if node.op == "call_method" else BINARY_FUNCTIONS[node.target]


class _Converter:
    def __init__(self, prepared, is_reference, convert_custom_config=None):
        self.gm = prepared
        # (named_modules would list an observer shared by several ops under one name only)
        self.modules = {n.target: prepared.get_submodule(n.target) for n in prepared.graph.nodes
                        if n.op == "call_module"}
        meta = prepared.meta.get(META_KEY)
        if meta is None:
            raise AssertionError("incoming model must be produced by prepare_fx")
        self.kinds = meta.kinds
        self.quantized_inputs = getattr(meta, "quantized_inputs", set())
        self.output_quantized_idxs = getattr(meta, "output_quantized_idxs", set())
        self.scopes = meta.node_name_to_scope
        self.is_reference = is_reference
        custom = convert_custom_config or {}
        if not isinstance(custom, dict):
            custom = custom.to_dict()
        self.observed_to_quantized = custom.get("observed_to_quantized_custom_module_class", {}).get("static", {})
        self.graph = Graph()
        self.env = {}
        self.quantized = set()  # new-graph nodes holding quantized tensors
        self.dequantized = {}  # quantized new node -> its dequantize node

    # ---- helpers
    def observer_after(self, node):
        for u in node.users:
            if u.op == "call_module" and _is_observer(self.modules.get(u.target)):
                return self.modules[u.target]
        return None

    def new_attr(self, prefix, value):
        i = 0
        while hasattr(self.gm, f"{prefix}{i}"):
            i += 1
        name = f"{prefix}{i}"
        self.gm.register_buffer(name, value)
        return self.graph.get_attr(name)

    def qparams_nodes(self, observer, prefix):
        scale, zero_point = observer.calculate_qparams()
        scale_node = self.new_attr(prefix + "scale_", torch.tensor(float(scale)))
        zp_node = self.new_attr(prefix + "zero_point_", torch.tensor(int(zero_point)))
        return scale_node, zp_node

    def dequantize(self, n):
        if n not in self.quantized:
            return n
        if n not in self.dequantized:
            with self.graph.inserting_after(n):  # right after the value, where torch's reference graph has it
                self.dequantized[n] = self.graph.call_method("dequantize", (n,))
        return self.dequantized[n]

    def load(self, a, raw=False):
        return map_arg(a, lambda n: self.env[n] if raw else self.dequantize(self.env[n]))

    def prefix(self, obs_node):
        """torch's attribute prefixes: '<module>_input_' for a value entering a module, '<module>_' for a
        module's output, '<scope>_' otherwise."""
        src = obs_node.args[0]
        if src.op == "call_module" and not _is_observer(self.modules.get(src.target)):
            return src.target.replace(".", "_") + "_"
        users = [u for u in obs_node.users if u.op == "call_module"]
        if src.op == "placeholder":
            return (users[0].target.replace(".", "_") + "_" if users else self.scope_prefix(src)) + "input_"
        return self.scope_prefix(src)

    def scope_prefix(self, node):
        """'<path of the module whose forward made node>_' ('_' at the top level)."""
        return self.scopes.get(node.name, ("", None))[0].replace(".", "_") + "_"

    # ---- nodes
    def observer(self, node):
        src = self.env[node.args[0]]
        obs = self.modules[node.target]
        if self.kinds.get(node.name) == "weight":  # a functional linear/conv's weight: quantized when packed
            self.env[node] = self.reference_weight(src, obs, self.prefix(node)) if self.is_reference else src
            return
        dtype = getattr(obs, "dtype", None)
        if src in self.quantized or dtype not in (torch.quint8, torch.qint8) or getattr(obs, "is_dynamic", False):
            self.env[node] = src
            return
        scale, zp = self.qparams_nodes(obs, self.prefix(node))
        q = self.graph.call_function(torch.quantize_per_tensor, (src, scale, zp, dtype))
        if self.is_reference:
            self.env[node] = self.graph.call_method("dequantize", (q,))
        else:
            self.quantized.add(q)
            self.env[node] = q

    def reference_weight(self, src, obs, prefix):
        """The reference model's weight: quantized with its observer's parameters and dequantized in the graph."""
        scale, zero_point = obs.calculate_qparams()
        if obs.qscheme in (torch.per_channel_affine, torch.per_channel_symmetric):
            args = (src, self.new_attr(prefix + "scale_", scale), self.new_attr(prefix + "zero_point_", zero_point),
                    obs.ch_axis, obs.dtype)
            q = self.graph.call_function(torch.quantize_per_channel, args)
        else:
            scale_node, zp_node = self.qparams_nodes(obs, prefix)
            q = self.graph.call_function(torch.quantize_per_tensor, (src, scale_node, zp_node, obs.dtype))
        return self.graph.call_method("dequantize", (q,))

    def quantized_op(self, node, kind):
        """The lowered form of a quantized op whose inputs are quantized."""
        g = self.graph
        if kind == "weighted":
            float_mod = self.modules[node.target]
            float_mod.activation_post_process = self.observer_after(node)
            qcls = quantized_module_class(type(float_mod))
            qmod = qcls.from_float(float_mod)
            del float_mod.activation_post_process
            *path, field = node.target.split(".")
            setattr(self.gm.get_submodule(".".join(path)), field, qmod)
            return g.call_module(node.target, self.load(node.args, raw=True), self.load(node.kwargs, raw=True))
        if kind == "binary":
            relu = [u for u in node.users if self.kinds.get(u.name) == "fused_relu"]
            out = relu[0] if relu else node
            scale, zp = self.qparams_nodes(self.observer_after(out), self.scope_prefix(node))
            op = getattr(torch.ops.quantized, _BINARY_OPS[(_binary_name(node), bool(relu))])
            return g.call_function(op, (self.env[node.args[0]], self.env[node.args[1]], scale, zp))
        if kind == "requantizing":
            scale, zp = self.qparams_nodes(self.observer_after(node), self.scope_prefix(node))
            name, positional, named = REQUANTIZING_FUNCTIONS[node.target]
            given = _bound_arguments(node.target, self.load(node.args, raw=True), self.load(node.kwargs, raw=True))
            first = next(iter(given.values()))
            return g.call_function(getattr(torch.ops.quantized, name), (first, *(given[a] for a in positional)),
                                   {**{a: given[a] for a in named}, "output_scale": scale, "output_zero_point": zp})
        if kind == "functional":
            return self.functional_weighted(node)
        if kind == "custom":  # its quantized form from the convert custom config, given the output observer
            mod = self.modules[node.target]
            if type(mod) not in self.observed_to_quantized:
                raise KeyError(f"no observed_to_quantized_custom_module_class mapping for {type(mod)} in "
                               "convert_custom_config")
            mod.activation_post_process = self.observer_after(node)
            qmod = self.observed_to_quantized[type(mod)].from_observed(mod)
            *path, field = node.target.split(".")
            setattr(self.gm.get_submodule(".".join(path)), field, qmod)
            return g.call_module(node.target, self.load(node.args, raw=True), self.load(node.kwargs, raw=True))
        if kind == "binary_scalar":  # the quantized op chooses its output parameters itself
            tensor = next(a for a in node.args[:2] if hasattr(a, "op"))
            number = next(a for a in node.args[:2] if not hasattr(a, "op"))
            op = getattr(torch.ops.quantized, _binary_name(node))
            return g.call_function(op, (self.env[tensor], number))
        return g.node_copy(node, lambda n: self.env[n])  # cat, shared and fixed ops run on quantized tensors

    def output(self, value):
        """The graph's output: values dequantized, but those at output_quantized_idxs (of a tuple or list, or 0 for
        one value) returned quantized."""
        keep = self.output_quantized_idxs
        if isinstance(value, (tuple, list)):
            value = type(value)(self.load(v, raw=i in keep) for i, v in enumerate(value))
        else:
            value = self.load(value, raw=0 in keep)
        self.graph.output(value)

    def functional_weighted(self, node):
        """F.linear/F.conv*d(x, weight attribute, bias attribute, ...) as torch.ops.quantized.linear/conv*d(qx,
        packed quantized weight, scale, zero_point) (``_relu`` when a relu is fused after it)."""
        relu = [u for u in node.users if self.kinds.get(u.name) == "fused_relu"]
        given = _bound_arguments(node.target, node.args, node.kwargs)
        weight_observer = given["weight"]
        qweight = _quantize_weight(self.attribute(weight_observer.args[0]), self.modules[weight_observer.target])
        bias = given["bias"] if given["bias"] is None else self.attribute(given["bias"]).detach()
        name = FUNCTIONAL_WEIGHTED[node.target]
        if name == "linear":
            packed = PackedWeight(qweight, bias)
        else:
            n = int(name[4])
            tup = (lambda v: list(v) if isinstance(v, (tuple, list)) else [v] * n)
            packed = PackedWeight(qweight, bias, tup(given["stride"]), tup(given["padding"]), tup(given["dilation"]),
                                  int(given["groups"]))
        i = 0
        while hasattr(self.gm, f"_packed_weight_{i}"):
            i += 1
        setattr(self.gm, f"_packed_weight_{i}", packed)
        packed_node = self.graph.get_attr(f"_packed_weight_{i}")
        scale, zp = self.qparams_nodes(self.observer_after(relu[0] if relu else node), self.scope_prefix(node))
        op = getattr(torch.ops.quantized, name + ("_relu" if relu else ""))
        return self.graph.call_function(op, (self.env[given["input"]], packed_node, scale, zp))

    def attribute(self, get_attr_node):
        value = self.gm
        for atom in get_attr_node.target.split("."):
            value = getattr(value, atom)
        return value

    def run(self):
        for node in self.gm.graph.nodes:
            kind = self.kinds.get(node.name)
            if node.op == "call_module" and _is_observer(self.modules.get(node.target)):
                self.observer(node)
            elif kind == "fused_relu" and not self.is_reference:
                self.env[node] = self.env[node.args[0]]
            elif node.op == "output":
                self.output(node.args[0])
            elif node.op == "placeholder" and node.name in self.quantized_inputs:
                self.env[node] = self.graph.node_copy(node)
                self.quantized.add(self.env[node])
            elif kind == "embedding" and self.is_reference:  # the float module, its weight quantized-dequantized
                mod = self.modules[node.target]
                qweight = quantized_module_class(type(mod)).from_float(mod).weight()
                mod.weight = nn.Parameter(qweight.dequantize(), requires_grad=False)
                self.env[node] = self.graph.node_copy(node, lambda n: self.dequantize(self.env[n]))
            elif kind in ("dynamic", "embedding"):
                mod = self.modules[node.target]
                mapping = get_default_dynamic_quant_module_mappings() if kind == "dynamic" else None
                qmod = (mapping[type(mod)] if mapping else quantized_module_class(type(mod))).from_float(mod)
                *path, field = node.target.split(".")
                setattr(self.gm.get_submodule(".".join(path)), field, qmod)
                self.env[node] = self.graph.node_copy(node, lambda n: self.dequantize(self.env[n]))
            elif kind == "weighted" and self.is_reference and self.has_reference(node):
                self.swap_reference(node)
                self.env[node] = self.graph.node_copy(node, lambda n: self.env[n])
            elif kind is not None and not self.is_reference and self.inputs_quantized(node, kind):
                self.env[node] = new = self.quantized_op(node, kind)
                self.quantized.add(new)
            elif self.passthrough(node):
                self.env[node] = self.graph.node_copy(node, lambda n: self.env[n])
            else:
                self.env[node] = self.graph.node_copy(node, lambda n: self.dequantize(self.env[n]))
        self.graph.eliminate_dead_code()  # (as torch's: unused reads, float weights now packed)
        out = GraphModule(self.gm, self.graph, "GraphModule")
        out.meta = {}
        return out

    def has_reference(self, node):
        mod = self.modules[node.target]
        if hasattr(mod, "to_float"):
            return True
        return type(mod[0] if isinstance(mod, _FusedModule) else mod) in _REFERENCE

    def swap_reference(self, node):
        """The module of a quantized conv/linear node replaced by its reference form (the float module, or the
        first of a fused one, becomes torch.ao.nn.quantized.reference.*; a QAT module first becomes float)."""
        mod = self.modules[node.target]
        if hasattr(mod, "weight_fake_quant"):
            weight_observer = mod.weight_fake_quant
            mod = mod.to_float()
        else:
            weight_observer = mod.qconfig.weight()
            weight_observer((mod[0] if isinstance(mod, _FusedModule) else mod).weight)
        float_mod = mod[0] if isinstance(mod, _FusedModule) else mod
        scale, zero_point = weight_observer.calculate_qparams()
        qparams = {"qscheme": weight_observer.qscheme, "dtype": weight_observer.dtype, "scale": scale,
                   "zero_point": zero_point, "axis": getattr(weight_observer, "ch_axis", 0)}
        ref = _REFERENCE[type(float_mod)].from_float(float_mod, qparams)
        if isinstance(mod, _FusedModule):
            mod[0] = ref
        else:
            mod = ref
        *path, field = node.target.split(".")
        setattr(self.gm.get_submodule(".".join(path)), field, mod)

    def inputs_quantized(self, node, kind):
        from .prepare import _tensor_inputs
        return all(self.env[a] in self.quantized for a in _tensor_inputs(node, kind))

    def passthrough(self, node):
        """Reads of a tensor's metadata (``x.shape``, ``x.size()``) work on quantized tensors as they are."""
        return (node.op == "call_function" and node.target is getattr
                or node.op == "call_method" and node.target in PASSTHROUGH_METHODS)


def _bound_arguments(fn, args, kwargs):
    """{parameter name: value} of the call fn(*args, **kwargs), defaults included."""
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def convert(prepared, is_reference=False, convert_custom_config=None):
    return _Converter(prepared, is_reference, convert_custom_config).run()

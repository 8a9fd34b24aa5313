"""``torch.export.ExportedProgram``: a traced program with its parameters, buffers and constants lifted to
graph inputs, the signature saying which input is which, and ``module()`` to run it as a Module."""
import copy
import math
from collections import namedtuple

from ..fx.graph import Graph
from ..fx.graph_module import GraphModule
from ..fx.node import map_arg
from ..utils import _pytree as pytree
from .graph_signature import InputKind

__all__ = ["ExportedProgram", "ModuleCallEntry", "ModuleCallSignature"]

CallSpec = namedtuple("CallSpec", ["in_spec", "out_spec"])
ModuleCallSignature = namedtuple("ModuleCallSignature", ["inputs", "outputs", "in_spec", "out_spec",
                                                         "forward_arg_names"])
ModuleCallEntry = namedtuple("ModuleCallEntry", ["fqn", "signature"])


def _indent(text, n):
    return "\n".join((" " * n + line) if line else line for line in text.split("\n"))


class ExportedProgram:
    """What ``torch.export.export`` returns. ``graph_module``'s forward takes the parameters, buffers and
    lifted constants first (in ``graph_signature.input_specs`` order), then the flattened user inputs,
    and returns the flattened outputs as a tuple. Not callable: run ``module()``."""

    def __init__(self, root, graph, graph_signature, state_dict, range_constraints, module_call_graph=None,
                 example_inputs=None, constants=None, *, verifiers=None, _io=None):
        self._graph_module = root if isinstance(root, GraphModule) else GraphModule(root, graph)
        self._graph_signature = graph_signature
        self._state_dict = state_dict
        self._range_constraints = range_constraints
        self._constants = constants if constants is not None else {}
        self._example_inputs = example_inputs
        self._io = _io  # in_spec, out_spec, forward_arg_names, export's kwarg names, input checks
        self._module_call_graph = module_call_graph if module_call_graph is not None else [
            ModuleCallEntry("", ModuleCallSignature([], [], _io["in_spec"], _io["out_spec"],
                                                    _io["forward_arg_names"]))]
        self.verifiers = verifiers or []

    # ---- what it holds
    @property
    def graph_module(self):
        return self._graph_module

    @property
    def graph(self):
        return self._graph_module.graph

    @property
    def graph_signature(self):
        return self._graph_signature

    @property
    def state_dict(self):
        return self._state_dict

    @property
    def constants(self):
        return self._constants

    @property
    def tensor_constants(self):
        return self._constants

    @property
    def range_constraints(self):
        return self._range_constraints

    @property
    def example_inputs(self):
        return self._example_inputs

    @property
    def module_call_graph(self):
        return self._module_call_graph

    @property
    def call_spec(self):
        return CallSpec(self._io["in_spec"], self._io["out_spec"])

    @property
    def dialect(self):
        return "TRAINING"

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_parameters(self):
        for name in self._graph_signature.parameters:
            yield name, self._state_dict[name]

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def named_buffers(self):
        non_persistent = set(self._graph_signature.non_persistent_buffers)
        for name in self._graph_signature.buffers:
            yield name, (self._constants[name] if name in non_persistent else self._state_dict[name])

    # ---- running it
    def __call__(self, *args, **kwargs):
        raise RuntimeError("Unable to call ExportedProgram directly. You should use `exported_program.module()` "
                           "instead.")

    def module(self, *, check_guards=True):
        """A Module running this program on the user's inputs (nested as at export), with the parameters,
        buffers and constants as its attributes (the same tensors as ``state_dict``/``constants``); it
        checks the inputs' shapes against the export's (torch's "Guard failed" AssertionError)."""
        g = Graph()
        env, root = {}, {}
        by_name = {s.arg.name: s for s in self._graph_signature.input_specs if s.kind != InputKind.USER_INPUT}
        for node in self.graph.nodes:
            if node.op == "placeholder":
                spec = by_name.get(node.name)
                if spec is None:
                    new = g.placeholder(node.target)
                else:
                    new = g.create_node("get_attr", spec.target, name=spec.target.replace(".", "_"))
                    root[spec.target] = self._value_of(spec)
                new.meta = dict(node.meta)
                env[node] = new
            elif node.op == "output":
                g.output(map_arg(node.args[0], lambda n: env[n]))
            else:
                env[node] = g.node_copy(node, lambda n: env[n])
        plain = {s.target for s in self._graph_signature.input_specs if s.kind == InputKind.CONSTANT_TENSOR}
        non_persistent = set(self._graph_signature.non_persistent_buffers)
        m = _UnliftedModule(root, g, self._io, self._range_constraints, check_guards)
        for target in plain | non_persistent:
            *path, field = target.split(".")
            parent = m.get_submodule(".".join(path))
            if target in plain:  # a constant is a plain attribute, not a buffer
                value = parent._buffers.pop(field)
                parent.__dict__[field] = value
            else:
                parent._non_persistent_buffers_set.add(field)
        return m

    def _value_of(self, spec):
        if spec.kind == InputKind.CONSTANT_TENSOR or spec.target not in self._state_dict:
            return self._constants[spec.target]
        return self._state_dict[spec.target]

    def run_decompositions(self, decomp_table=None, decompose_custom_triton_ops=False):
        """The same program (jtorch's graphs are of torch functions, not aten ops: there is nothing to
        decompose), as a new ExportedProgram over the same state."""
        gm = copy.deepcopy(self._graph_module)
        return ExportedProgram(gm, gm.graph, copy.deepcopy(self._graph_signature), self._state_dict,
                               dict(self._range_constraints), self._module_call_graph, self._example_inputs,
                               self._constants, verifiers=self.verifiers, _io=self._io)

    def validate(self):
        self.graph.lint()

    def __str__(self):
        code = self._graph_module.print_readable(print_output=False).rstrip("\n")
        sig = _indent(str(self._graph_signature), 4)
        ranges = "{" + ", ".join(f"{k}: {v}" for k, v in self._range_constraints.items()) + "}"
        return f"ExportedProgram:\n{_indent(code, 4)}\n\nGraph signature: {sig}\nRange constraints: {ranges}\n"

    def __repr__(self):
        return self.__str__()


class _UnliftedModule(GraphModule):
    """``ExportedProgram.module()``: takes the user's inputs as ``forward`` did at export."""

    def __init__(self, root, graph, io, ranges, check_guards=True):
        self.__dict__["_io"] = io
        self.__dict__["_ranges"] = {str(k): v for k, v in ranges.items()}
        self.__dict__["_check_guards"] = check_guards
        super().__init__(root, graph, "GraphModule")
        self._in_spec = io["in_spec"]
        self._out_spec = io["out_spec"]

    def recompile(self):
        pc = super().recompile()
        flat_forward = type(self).forward

        def forward(self, *args, **kwargs):
            flat = self._flat_inputs(args, kwargs)
            out = flat_forward(self, *flat)
            return pytree.tree_unflatten(list(out), self._io["out_spec"])
        forward.__doc__ = "The exported program on the user's inputs."
        type(self).forward = forward
        return pc

    def _flat_inputs(self, args, kwargs):
        io = self._io
        leaves, spec = pytree.tree_flatten((tuple(args), dict(kwargs)))
        if spec != io["in_spec"]:
            # the same arguments passed another way (by keyword instead of position, or the reverse)
            names = io["forward_arg_names"]
            given = dict(zip(names, args))
            given.update(kwargs)
            n_pos = io["n_args"]
            try:
                args2 = tuple(given[names[i]] for i in range(n_pos))
                kwargs2 = {k: given[k] for k in io["kwarg_names"]}
            except KeyError:
                args2, kwargs2 = args, kwargs
            leaves, spec = pytree.tree_flatten((args2, kwargs2))
            if spec != io["in_spec"] or len(given) != n_pos + len(io["kwarg_names"]):
                raise ValueError(f"Trying to flatten user inputs with exported input tree spec: \n{io['in_spec']}\n"
                                 f"but actually got inputs with tree spec of: \n{spec}.\nPlease check that the "
                                 "inputs have the same number and type of args and kwargs as the ones you used "
                                 "when tracing.")
        if self._check_guards:
            self._check_inputs(leaves)
        return leaves

    def _check_inputs(self, leaves):
        import jtorch
        first_use = {}  # symbol -> (source, dim, size) where it was first seen: one Dim, one size
        derived = []  # (source, dim, size, (root symbol, a, b, symbol)) of the derived dimensions
        for value, (src, kind, info) in zip(leaves, self._io["checks"]):
            if kind == "const":
                if not isinstance(value, type(info)) or value != info:
                    raise AssertionError(f"Guard failed: {src} == {info!r}")
                continue
            if not isinstance(value, jtorch.Tensor):
                raise AssertionError(f"Guard failed: {src} is a Tensor")
            dims = info
            if value.dim() != len(dims):
                raise AssertionError(f"Guard failed: {src}.dim() == {len(dims)}")
            for d, (how, what) in enumerate(dims):
                n = value.shape[d]
                if how == "eq":
                    if n != what:
                        raise AssertionError(f"Guard failed: {src}.size()[{d}] == {what}")
                    continue
                if how == "derived":  # checked once every root size is known (below)
                    derived.append((src, d, n, what))
                    what = what[3]
                else:
                    seen = first_use.setdefault(what, (src, d, n))
                    if seen[2] != n:
                        raise AssertionError(f"Guard failed: {src}.size()[{d}] == {seen[0]}.size()[{seen[1]}]")
                self._check_range(src, d, n, what)
        first_derived = {}
        for src, d, n, (root, a, b, _) in derived:
            if root in first_use:  # a root Dim's own dimension: y.size()[0] == 1 + 2 * x.size()[0]
                rsrc, rd, r = first_use[root]
                if a * r + b != n:
                    rhs = f"{rsrc}.size()[{rd}]" if a == 1 else f"{a} * {rsrc}.size()[{rd}]"
                    raise AssertionError(f"Guard failed: {src}.size()[{d}] == " + (f"{b} + " if b else "") + rhs)
                continue
            # only derived dimensions of this root: each must give the first one's root size
            fsrc, fd, fn, fa, fb = first_derived.setdefault(root, (src, d, n, a, b))
            if (fn - fb) * a != (n - b) * fa:
                if a == fa:
                    lhs = f"{b - fb} + {fsrc}.size()[{fd}]" if b != fb else f"{fsrc}.size()[{fd}]"
                    raise AssertionError(f"Guard failed: {lhs} == {src}.size()[{d}]")
                raise AssertionError(f"Guard failed: {fa} * ({src}.size()[{d}] - {b}) == "
                                     f"{a} * ({fsrc}.size()[{fd}] - {fb})")

    def _check_range(self, src, d, n, symbol):
        vr = self._ranges.get(symbol)
        if vr is None:
            return
        if n < vr.lower and vr.lower > 2:  # (as torch: sizes 0 and 1 are not checked against 2)
            raise AssertionError(f"Guard failed: {src}.size()[{d}] >= {vr.lower}")
        if vr.upper != math.inf and n > vr.upper:
            raise AssertionError(f"Guard failed: {src}.size()[{d}] <= {vr.upper}")

"""``torch.export``: a Module traced once into an ExportedProgram (a graph with the parameters,
buffers and constants as inputs, its signature, and the state), with dynamic dimensions (``Dim``),
and ``save``/``load`` of programs. How the trace works: ``_trace.py``; what differs from torch:
README, "torch.export"."""
from . import graph_signature, dynamic_shapes  # noqa: F401
from .dynamic_shapes import Dim, dims, DimHint  # noqa: F401
from .exported_program import ExportedProgram  # noqa: F401
from .graph_signature import (ExportGraphSignature, InputKind, OutputKind, InputSpec, OutputSpec,  # noqa: F401
                              TensorArgument, ConstantArgument, SymIntArgument)
from ._serialize import save, load  # noqa: F401

__all__ = ["export", "export_for_training", "ExportedProgram", "ExportGraphSignature", "Dim", "dims", "save",
           "load"]


def export(mod, args, kwargs=None, *, dynamic_shapes=None, strict=False, preserve_module_call_signature=(),
           prefer_deferred_runtime_asserts_over_guards=False):
    """Trace ``mod(*args, **kwargs)`` into an ExportedProgram. ``dynamic_shapes`` (by argument name or in
    argument order; per tensor a dict or tuple of ``Dim``/``Dim.AUTO``/``Dim.DYNAMIC``/None per dimension)
    says which sizes the program must accept at any value; every other size is fixed to the example's.
    A Python branch on tensor data raises GuardOnDataDependentSymNode; a branch that fixes a named Dim's
    range raises torch._dynamo.exc.UserError (constraint violation). ``strict`` is accepted and traces
    the same way (jtorch has no separate bytecode tracer)."""
    from . import _trace
    import jtorch
    from ..fx.node import Node
    kwargs = dict(kwargs or {})
    t = _trace.trace(mod, args, kwargs, dynamic_shapes)
    input_specs, state_dict, constants = [], {}, {}
    for kind, node, target, persistent, tensor in t.input_state:
        input_specs.append(InputSpec(kind, TensorArgument(node.name), target, persistent))
        if kind == InputKind.CONSTANT_TENSOR or persistent is False:
            constants[target] = tensor
        else:
            state_dict[target] = tensor
    checks = []
    for node, src, leaf, dims_ in t.user:
        if isinstance(leaf, jtorch.Tensor):
            input_specs.append(InputSpec(InputKind.USER_INPUT, TensorArgument(node.name), None))
            checks.append((src, "tensor", [_dim_check(dims_[d]) if d in dims_ and dims_[d].lo != dims_[d].hi
                                           else ("eq", s) for d, s in enumerate(leaf.shape)]))
        else:
            input_specs.append(InputSpec(InputKind.USER_INPUT, ConstantArgument(node.name, leaf), None))
            checks.append((src, "const", leaf))
    output_specs = []
    for x in t.out_args:
        if isinstance(x, Node):
            output_specs.append(OutputSpec(OutputKind.USER_OUTPUT, TensorArgument(x.name), None))
        else:
            output_specs.append(OutputSpec(OutputKind.USER_OUTPUT, ConstantArgument("", x), None))
    from .dynamic_shapes import ValueRanges
    # a named Dim keeps the user's lower bound (torch 2.13: 0 by default); the guard analysis in _trace
    # starts at 2 all the same (sizes 0 and 1 are specialized), as torch's does
    ranges = {info.symbol: ValueRanges(info.spec.min, info.spec.max) if isinstance(info.spec, Dim) and not
              getattr(info, "narrowed", False) else ValueRanges(info.lo, info.hi)
              for info in t.ranges_order if info.lo != info.hi}
    io = {"in_spec": t.in_spec, "out_spec": t.out_spec, "forward_arg_names": t.forward_arg_names,
          "n_args": len(args), "kwarg_names": list(kwargs), "checks": checks}
    from ..nn import Module
    from ..fx.graph_module import GraphModule
    gm = GraphModule(Module(), t.graph)
    gm.meta = {}
    return ExportedProgram(gm, t.graph, ExportGraphSignature(input_specs, output_specs), state_dict, ranges,
                           None, (tuple(args), kwargs), constants, _io=io)


def _dim_check(info):
    """How the unlifted module checks a dynamic dimension: ("sym", symbol) of a root Dim, or ("derived",
    (root symbol, a, b, symbol)) of ``a * root + b``."""
    if hasattr(info, "root"):
        return ("derived", (str(info.root.symbol), info.a, info.b, str(info.symbol)))
    return ("sym", str(info.symbol))


def export_for_training(mod, args, kwargs=None, *, dynamic_shapes=None, strict=False,
                        preserve_module_call_signature=()):
    """``export`` (torch 2.13's export already gives the training-level program)."""
    return export(mod, args, kwargs, dynamic_shapes=dynamic_shapes, strict=strict)


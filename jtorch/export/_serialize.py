"""``torch.export.save``/``load``: an ExportedProgram in a zip archive (``.pt2`` by convention).

The archive holds ``jtorch_export/archive_format`` (the marker), ``program.pkl`` (the graph, signature,
ranges and input/output structure; call targets are stored by their public torch name, e.g.
``torch.nn.functional.relu``, and loading resolves only jtorch, operator, math and builtin functions:
no other code is imported or run) and ``weights.pt`` (state_dict, constants and example inputs in
PyTorch's checkpoint format, read back weights-only). torch's own .pt2 files hold aten-level graphs
and are not readable here, nor are jtorch's by torch.
"""
import io
import os
import pickle
import sys
import types
import zipfile

from .._atomic import atomic_open

FORMAT = b"jtorch-export-1"
_PREFIX = "jtorch_export/"


def _resolve_target(qualname):
    """A call target from its public name (``torch.add`` -> jtorch.add)."""
    import jtorch
    parts = qualname.split(".")
    if parts[0] != "torch":
        raise pickle.UnpicklingError(f"cannot resolve call target {qualname}")
    obj = jtorch
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


def _meta_tensor(shape, dtype_name):
    import jtorch
    return jtorch.empty(shape, dtype=getattr(jtorch, dtype_name), device="meta")


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        import jtorch
        from ..fx.graph import _qualified_name
        if isinstance(obj, jtorch.Tensor):
            if obj.device.type != "meta":
                raise pickle.PicklingError("a tensor inside the program's structure (not lifted): cannot save it")
            return _meta_tensor, (tuple(obj.shape), str(obj.dtype).split(".")[-1])
        from .._dispatch import OpDef
        if obj is _resolve_target or obj is _meta_tensor:
            return NotImplemented
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, OpDef)) and \
                (getattr(obj, "__module__", "") or "").startswith("jtorch"):
            q = _qualified_name(obj)
            if q.startswith("torch."):
                try:
                    if _resolve_target(q) is obj:
                        return _resolve_target, (q,)
                except (AttributeError, pickle.UnpicklingError):
                    pass
        return NotImplemented


_SAFE_BUILTINS = {"getattr", "slice", "range", "tuple", "list", "dict", "set", "frozenset", "int", "float", "bool",
                  "complex", "str", "bytes", "len", "isinstance", "print", "Ellipsis", "type", "NoneType", "object"}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if module in ("operator", "math", "collections", "enum", "copyreg", "_operator") or \
                module == "jtorch" or module.startswith("jtorch."):
            return super().find_class(module, name)
        if module in sys.modules:  # a namedtuple type of the inputs/outputs, already imported
            obj = getattr(sys.modules[module], name, None)
            if isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields"):
                return obj
        raise pickle.UnpicklingError(f"torch.export.load: refusing to load {module}.{name}")


def save(ep, f, *, extra_files=None, opset_version=None, pickle_protocol=2):
    """Write ``ep`` to ``f`` (a path, written atomically, or a binary file object)."""
    import jtorch
    from .exported_program import ExportedProgram
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"The 'ep' parameter must be an instance of 'ExportedProgram', got '{type(ep).__name__}' "
                        "instead.")
    program = {"graph": ep.graph, "signature": ep.graph_signature, "ranges": ep.range_constraints, "io": ep._io}
    buf = io.BytesIO()
    _Pickler(buf, protocol=max(pickle_protocol, 4)).dump(program)
    weights = io.BytesIO()
    jtorch.save({"state_dict": dict(ep.state_dict), "constants": dict(ep.constants),
                 "example_inputs": ep.example_inputs}, weights)

    def write(fobj):
        with zipfile.ZipFile(fobj, "w", zipfile.ZIP_STORED) as z:
            z.writestr(_PREFIX + "archive_format", FORMAT)
            z.writestr(_PREFIX + "program.pkl", buf.getvalue())
            z.writestr(_PREFIX + "weights.pt", weights.getvalue())
            for k, v in (extra_files or {}).items():
                z.writestr(_PREFIX + "extra/" + k, v.encode() if isinstance(v, str) else v)

    if isinstance(f, (str, os.PathLike)):
        with atomic_open(f) as fobj:
            write(fobj)
    else:
        write(f)


def load(f, *, extra_files=None, expected_opset_version=None):
    """Read an ExportedProgram that ``save`` wrote; ``extra_files`` (a dict of names) is filled in."""
    import jtorch
    from ..fx.graph_module import GraphModule
    from ..nn import Module
    from .exported_program import ExportedProgram
    with zipfile.ZipFile(f) as z:
        names = set(z.namelist())
        if _PREFIX + "archive_format" not in names or z.read(_PREFIX + "archive_format") != FORMAT:
            raise RuntimeError("torch.export.load: this is not an archive written by jtorch's torch.export.save "
                               "(PyTorch's own .pt2 programs hold aten-level graphs, which jtorch cannot load)")
        program = _Unpickler(io.BytesIO(z.read(_PREFIX + "program.pkl"))).load()
        weights = jtorch.load(io.BytesIO(z.read(_PREFIX + "weights.pt")), weights_only=True)
        for k in list(extra_files or {}):
            name = _PREFIX + "extra/" + k
            extra_files[k] = z.read(name).decode() if name in names else ""
    graph = program["graph"]
    gm = GraphModule(Module(), graph)
    return ExportedProgram(gm, graph, program["signature"], weights["state_dict"], program["ranges"], None,
                           weights["example_inputs"], weights["constants"], _io=program["io"])

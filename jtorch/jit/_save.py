"""Writing TorchScript archives that ``torch.jit.load`` reads and runs.

A module loaded from an archive (``RecursiveScriptModule``) is written back with its own code and its
current tensors and attributes. Any other ``nn.Module`` is traced with ``jtorch.export`` on example inputs
(those given to ``jit.trace``, or ``example_inputs`` of ``jit.script``), and the traced program becomes
the ``forward`` of the top class, written as TorchScript: a ``torch.<aten op>(...)`` call, Tensor method
call or Python operator per node, parameters and buffers read from their submodules (the module tree is
kept, so ``state_dict`` keys are the original ones). Like ``torch.jit.trace``'s, the code is what ran on
the example: sizes are those of the example inputs, and branches on tensor data cannot be written (the
trace raises). Submodules carry their tensors but no ``forward`` of their own.
"""
import builtins
import inspect
import io
import keyword
import math
import operator
import os
import pickle
import weakref
import zipfile

from .. import _dtype as D
from .. import _legacy
from .._atomic import atomic_open
from ..serialization._writer import _Pickler, _ref, _storage_bytes, _write_record, _serialization_id
from ._runtime import dtype_code, _MEMORY_FORMATS

# example inputs of modules given to jit.trace / jit.script(example_inputs=...), kept weakly
EXAMPLES = weakref.WeakKeyDictionary()


# ====================================================================== pickling the module tree
class _ModuleRecord:
    """A module as TorchScript pickles it: an instance of its class, then its attributes (BUILD)."""
    __slots__ = ("qualname", "state")

    def __init__(self, qualname, state):
        self.qualname, self.state = qualname, state


class _ArchivePickler(_Pickler):
    dispatch = _Pickler.dispatch.copy()

    def _save_module(self, obj):
        module, _, name = obj.qualname.rpartition(".")
        self.save(_ref(module, name))
        self.write(pickle.EMPTY_TUPLE + pickle.NEWOBJ)
        self.memoize(obj)
        self.save(obj.state)
        self.write(pickle.BUILD)

    dispatch[_ModuleRecord] = _save_module

    def _reduce_tensor(self, t):
        from ..serialization._common import _is_parameter
        if not _is_parameter(t):
            return super()._reduce_tensor(t)
        fn, args = super()._reduce_tensor(t.detach())  # torch's archives hold parameters as plain tensors
        return fn, args[:4] + (bool(t.requires_grad),) + args[5:]


class _Tagged:
    """A list or dict attribute with its TorchScript type: torch's unpickler needs it to rebuild the value."""
    __slots__ = ("value", "type_text")

    def __init__(self, value, type_text):
        self.value, self.type_text = value, type_text

    def __reduce__(self):
        builder = _LIST_BUILDERS.get(self.type_text.replace(" ", ""))
        if builder is not None:
            return _ref("torch.jit._pickle", builder), (self.value,)
        return _ref("torch.jit._pickle", "restore_type_tag"), (self.value, self.type_text)


_LIST_BUILDERS = {"List[int]": "build_intlist", "List[float]": "build_doublelist", "List[bool]": "build_boollist",
                  "List[Tensor]": "build_tensorlist"}


def _tagged(cls, name, value):
    """``value`` with the type its archive class declares for ``name`` (lists and dicts only)."""
    if not isinstance(value, (list, dict)):
        return value
    for klass in cls.__mro__:
        ann = klass.__dict__.get("__annotations__", {}).get(name)
        if isinstance(ann, str):
            return _Tagged(value, ann)
    return value


def _pickled(obj):
    buf = io.BytesIO()
    p = _ArchivePickler(buf, 2)
    p.dump(obj)
    return buf.getvalue(), p.order


# ====================================================================== writing the archive
# the operator version torch 2.13 writes (as ``.data/version``): aten's current schemas, no upgraders
_VERSION = (".data/version", b"10\n")


def _write(f, name, code_files, data, constants, extra_files, version):
    zf = zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True)
    data_pkl, data_storages = _pickled(data)
    const_pkl, const_storages = _pickled(tuple(constants))
    with zf:
        for key, value in (extra_files or {}).items():
            _write_record(zf, f"{name}/extra/{key}", value.encode() if isinstance(value, str) else bytes(value))
        for sref, _ in data_storages:
            _write_record(zf, f"{name}/data/{sref.key}", _storage_bytes(sref), align=True)
        _write_record(zf, f"{name}/data.pkl", data_pkl)
        for path, src in code_files.items():
            _write_record(zf, f"{name}/{path}", src.encode() if isinstance(src, str) else src)
        for sref, _ in const_storages:
            _write_record(zf, f"{name}/constants/{sref.key}", _storage_bytes(sref), align=True)
        _write_record(zf, f"{name}/constants.pkl", const_pkl)
        _write_record(zf, f"{name}/{version[0]}", version[1])
        _write_record(zf, f"{name}/byteorder", b"little")
        _write_record(zf, f"{name}/.data/serialization_id", _serialization_id().encode())


def save(m, f, _extra_files=None):
    from . import RecursiveScriptModule, ScriptFunction
    from .. import nn
    if isinstance(m, ScriptFunction):
        if m._example is None:
            raise RuntimeError("jtorch.jit.save: a scripted function has no TorchScript code in jtorch; trace it "
                               "with jtorch.jit.trace(function, example_inputs) to save it")
        m = _function_module(m)
    if not isinstance(m, nn.Module):
        raise AttributeError(f"'{type(m).__name__}' object has no attribute 'save'")
    if isinstance(m, RecursiveScriptModule):
        code_files, data, constants = _from_archive_module(m)
        version = m.__dict__.get("_archive_version") or _VERSION
    else:
        code_files, data, constants = _from_module(m)
        version = _VERSION
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        name = os.path.splitext(os.path.basename(path))[0] or "archive"
        with atomic_open(path) as fobj:
            _write(fobj, name, code_files, data, constants, _extra_files, version)
    elif hasattr(f, "write"):
        _write(f, "archive", code_files, data, constants, _extra_files, version)
    else:
        raise AttributeError(f"'{type(f).__name__}' object has no attribute 'write'")


def _function_module(fn):
    """A traced function as torch saves one: a module whose ``forward`` it is."""
    from .. import nn

    class PlaceholderModule(nn.Module):
        def forward(self, *args):
            return fn._fn(*args)
    PlaceholderModule.__module__ = "__main__"
    m = PlaceholderModule()
    EXAMPLES[m] = fn._example
    return m


# ====================================================================== a module loaded from an archive
def _from_archive_module(m):
    def record(mod):
        cls = type(mod)
        state = {}
        for k in mod.__dict__.get("_archive_keys", ()):
            if k in mod._modules:
                state[k] = record(mod._modules[k])
            elif k in mod._parameters or k in mod._buffers:
                state[k] = getattr(mod, k)
            elif k in mod.__dict__:
                state[k] = _tagged(cls, k, mod.__dict__[k])
        return _ModuleRecord(f"{cls.__module__}.{cls.__name__}", state)
    return m.__dict__.get("_archive_code", {}), record(m), m.__dict__.get("_archive_constants", ())


# ====================================================================== code from a traced module
def _ident(name):
    s = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    if not s or s[0].isdigit() or keyword.iskeyword(s):
        s = "_" + s
    return s


def _class_names(m):
    """A TorchScript class per module instance: ``__torch__.<module path>.___torch_mangle_<i>.<Class>``."""
    names = {}
    for i, (path, mod) in enumerate(m.named_modules(remove_duplicate=False)):
        if id(mod) in names:
            continue
        pkg = type(mod).__module__
        if pkg == "jtorch" or pkg.startswith("jtorch."):
            pkg = "torch" + pkg[len("jtorch"):]
        parts = [] if pkg in ("__main__", "builtins") else [_ident(p) for p in pkg.split(".")]
        names[id(mod)] = ".".join(["__torch__", *parts, f"___torch_mangle_{i}", _ident(type(mod).__name__)])
    return names


def _attr(base, name):
    return f"{base}.{name}" if name.isidentifier() and not keyword.iskeyword(name) else f'getattr({base}, "{name}")'


def _declare(name, type_text):
    if name.isidentifier() and not keyword.iskeyword(name):
        return f"  {name} : {type_text}"
    return f'  __annotations__["{name}"] = {type_text}'


def _class_source(mod, qualname, names, forward=None):
    cls = qualname.rpartition(".")[2]
    params = [k for k, v in mod._parameters.items() if v is not None]
    buffers = [k for k, v in mod._buffers.items() if v is not None]
    lines = [f"class {cls}(Module):",
             "  __parameters__ = [" + "".join(f'"{k}", ' for k in params) + "]",
             "  __buffers__ = [" + "".join(f'"{k}", ' for k in buffers) + "]"]
    lines += [_declare(k, "Tensor") for k in params + buffers]
    lines.append("  training : bool")
    lines += [_declare(k, names[id(c)]) for k, c in mod._modules.items() if c is not None]
    if forward:
        lines += ["  " + ln for ln in forward]
    return "\n".join(lines) + "\n"


def _from_module(m):
    example = EXAMPLES.get(m)
    if example is None:
        raise RuntimeError("jtorch.jit.save needs example inputs to write TorchScript code for a module: trace it "
                           "with jtorch.jit.trace(module, example_inputs) (or jtorch.jit.script(module, "
                           "example_inputs=[(x,)])) before saving")
    names = _class_names(m)
    forward, constants = _Emitter(m, example, names[id(m)]).forward()
    files = {}
    for path, mod in m.named_modules():
        qual = names[id(mod)]
        src = _class_source(mod, qual, names, forward if mod is m else None)
        file = "code/" + qual.rpartition(".")[0].replace(".", "/") + ".py"
        files[file] = files.get(file, "") + src

    def record(mod):
        state = {"training": mod.training}
        state.update((k, v) for k, v in mod._parameters.items() if v is not None)
        state.update((k, v) for k, v in mod._buffers.items() if v is not None)
        state.update((k, record(c)) for k, c in mod._modules.items() if c is not None)
        return _ModuleRecord(names[id(mod)], state)
    return files, record(m), constants


# ---------------------------------------------------------------- the forward's code
_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.floordiv: "//",
          operator.mod: "%", operator.pow: "**", operator.matmul: "@", operator.and_: "&", operator.or_: "|",
          operator.xor: "^", operator.eq: "==", operator.ne: "!=", operator.lt: "<", operator.le: "<=",
          operator.gt: ">", operator.ge: ">=", operator.lshift: "<<", operator.rshift: ">>"}
_UNARY = {operator.neg: "-", operator.invert: "~", operator.pos: "+"}
# Tensor methods whose sizes Python takes as separate arguments and TorchScript as one list
_SIZE_VARARGS = {"view", "reshape", "permute", "repeat", "expand", "tile", "new_zeros", "new_ones", "new_empty"}
_FACTORY_VARARGS = {"zeros", "ones", "empty", "rand", "randn"}
# F.<name> arguments that only steer Python (never part of aten's schema)
_PYTHON_ONLY = {"inplace", "_stacklevel"}
# F.<name> argument -> aten's name for it
_RENAMES = {"training": "train", "input": "self"}


class _Emitter:
    def __init__(self, m, example, qualname):
        self.m, self.example, self.qualname = m, example, qualname
        self.constants = []
        self.vars = {}
        self.pending = []  # lines a writer needs before its node's line

    def temp(self, expr):
        """A fresh variable holding ``expr``, written before the current node."""
        name = f"_t{len(self.vars)}_{len(self.pending)}"
        self.pending.append(f"{name} = {expr}")
        return name

    # ------------------------------------------------------------ the trace
    def forward(self):
        from .. import export as jexport
        from ..fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode
        from .._dispatch import Tensor
        args = self.example if isinstance(self.example, tuple) else (self.example,)
        if not all(isinstance(a, Tensor) for a in args):
            raise RuntimeError("jtorch.jit.save: the example inputs must be tensors")
        try:
            try:  # the first dimension (the batch) left free, as torch.jit.trace's code reads sizes at run time
                ep = jexport.export(self.m, args, dynamic_shapes=tuple({0: jexport.Dim.AUTO} if a.dim() else None
                                                                        for a in args))
            except GuardOnDataDependentSymNode:
                raise
            except Exception:  # the module needs that size fixed: the example's, as torch's export would
                ep = jexport.export(self.m, args)
        except GuardOnDataDependentSymNode as e:
            raise RuntimeError("jtorch.jit.save: the module's forward branches on tensor data, which a trace cannot "
                               f"write as TorchScript (torch.jit.trace would bake in one branch): {e}") from None
        specs = {s.arg.name: s for s in ep.graph_signature.input_specs}
        lines, inputs = [], []
        for node in ep.graph.nodes:
            v = self.vars[node.name] = _ident(node.name)
            if node.op == "placeholder":
                spec = specs[node.name]
                kind = spec.kind.name
                if kind == "USER_INPUT":
                    inputs.append(v)
                elif kind in ("PARAMETER", "BUFFER"):
                    expr = "self"
                    for part in spec.target.split("."):
                        expr = _attr(expr, part)
                    lines.append(f"{v} = {expr}")
                elif kind == "CONSTANT_TENSOR":
                    lines.append(f"{v} = {self._constant(ep.constants[spec.target])}")
                else:
                    raise RuntimeError(f"jtorch.jit.save: can't write an input of kind {kind}")
            elif node.op == "call_function" or node.op == "call_method":
                expr = self._call(node)
                lines += self.pending
                self.pending = []
                lines.append(f"{v} = {expr}")
            elif node.op == "output":
                from ..utils import _pytree
                outs = _pytree.tree_unflatten(list(node.args[0]), ep.call_spec.out_spec)
                lines.append(f"return {self._result(outs)}")
            else:
                raise RuntimeError(f"jtorch.jit.save: can't write a graph node of kind {node.op}")
        sig = ", ".join([f"self: {self.qualname}"] + [f"{v}: Tensor" for v in inputs])
        return [f"def forward({sig}):"] + ["  " + ln for ln in lines], self.constants

    def _result(self, outs):
        if isinstance(outs, tuple):
            return "(" + "".join(self._result(o) + ", " for o in outs) + ")"
        if isinstance(outs, list):
            return "[" + ", ".join(self._result(o) for o in outs) + "]"
        if isinstance(outs, dict):
            return "{" + ", ".join(f"{self._fmt(k)}: {self._result(v)}" for k, v in outs.items()) + "}"
        return self._fmt(outs)

    def _constant(self, t):
        self.constants.append(t)
        return f"CONSTANTS.c{len(self.constants) - 1}"

    # ------------------------------------------------------------ values
    def _fmt(self, v):
        from ..fx.node import Node
        from .._dispatch import Tensor
        if isinstance(v, Node):
            return self.vars[v.name]
        if v is None or isinstance(v, bool):
            return repr(v)
        if isinstance(v, int):
            return str(int(v))
        if isinstance(v, float):
            if math.isnan(v):
                return "nan"
            if math.isinf(v):
                return "inf" if v > 0 else "-inf"
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (D.dtype, D._QDtype)):
            return str(dtype_code(v))
        if isinstance(v, _legacy.memory_format):
            return str({n: c for c, n in _MEMORY_FORMATS.items()}[v.name])
        if isinstance(v, _legacy.layout):
            return "0"
        from .._device import device
        if isinstance(v, device):
            return f'torch.device("{v}")'
        if isinstance(v, Tensor):
            return self._constant(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(self._fmt(x) for x in v) + "]"
        raise RuntimeError(f"jtorch.jit.save: can't write the value {v!r} ({type(v).__name__}) as TorchScript")

    def _index(self, idx):
        def one(i):
            if isinstance(i, slice):
                parts = ["" if x is None else self._fmt(x) for x in (i.start, i.stop)]
                return ":".join(parts) + ("" if i.step is None else ":" + self._fmt(i.step))
            if i is Ellipsis:
                return "..."
            return self._fmt(i)
        if isinstance(idx, tuple):
            return ", ".join(one(i) for i in idx) if idx else "()"
        return one(idx)

    def _args(self, args, kwargs):
        return ", ".join([self._fmt(a) for a in args] + [f"{k}={self._fmt(v)}" for k, v in kwargs.items()])

    # ------------------------------------------------------------ calls
    def _call(self, node):
        t, args, kwargs = node.target, node.args, dict(node.kwargs)
        if node.op == "call_method":
            if t in _SIZE_VARARGS and len(args) > 2 or t in _SIZE_VARARGS and len(args) == 2 and \
                    not isinstance(args[1], (list, tuple)):
                args = (args[0], list(args[1:]))
            return f"{self._fmt(args[0])}.{t}({self._args(args[1:], kwargs)})"
        if t in _INFIX:
            return f"({self._fmt(args[0])} {_INFIX[t]} {self._fmt(args[1])})"
        if t in _UNARY:
            return f"({_UNARY[t]}{self._fmt(args[0])})"
        if t is operator.getitem:
            return f"{self._fmt(args[0])}[{self._index(args[1])}]"
        if t is builtins.getattr:
            return f"{self._fmt(args[0])}.{args[1]}"
        import jtorch
        from ..nn import functional as F
        from .._ops_namespace import OpOverload, OpOverloadPacket
        name = getattr(t, "__name__", "")
        if isinstance(t, (OpOverload, OpOverloadPacket)):
            op = t._opname if isinstance(t, OpOverload) else t._name
            return f"ops.{t._namespace}.{op}({self._args(args, kwargs)})"
        if getattr(jtorch, name, None) is t:
            if name in _FACTORY_VARARGS and args and all(isinstance(a, int) for a in args):
                args = (list(args),)
            return f"torch.{name}({self._args(args, kwargs)})"
        writer = _writers().get(t)
        if writer is not None:
            bound = inspect.signature(t).bind(*args, **kwargs)
            bound.apply_defaults()
            return writer(self, **bound.arguments)
        if getattr(F, name, None) is t:
            return self._functional(name, t, args, kwargs)
        raise RuntimeError(f"jtorch.jit.save: can't write a call of {getattr(t, '__module__', '')}.{name} as "
                           "TorchScript")

    def _functional(self, name, fn, args, kwargs):
        """``F.<name>(...)`` as aten's ``torch.<name>(...)``: the arguments by name, in aten's schema order."""
        from ..library import _aten
        from ..library._schema import _NO_DEFAULT, _plan
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        given = {}
        for k, v in bound.arguments.items():
            if k in _PYTHON_ONLY:
                if k == "inplace" and v:
                    name += "_"
                continue
            given[k] = v
        if name.startswith("max_pool") and given.pop("return_indices", False):
            name += "_with_indices"
        given.pop("return_indices", None)
        pk = _aten.packet(name)
        if pk is None:
            raise RuntimeError(f"jtorch.jit.save: F.{name} has no aten operator of that name to write in TorchScript")
        errors = []
        for ov in pk._overloads.values():
            schema = ov._schema
            if any(a.kwarg_only and a.name == "out" for a in schema.arguments):
                continue
            vals = dict(given)
            names = [a.name for a in schema.arguments]
            for ours, atens in _RENAMES.items():
                if ours in vals and ours not in names and atens in names:
                    vals[atens] = vals.pop(ours)
            extra = [k for k in vals if k not in names]
            if extra:
                # arguments left at harmless defaults that aten does not take (F.embedding's max_norm=None)
                if all(vals[k] is None or vals[k] is False for k in extra):
                    for k in extra:
                        del vals[k]
                else:
                    errors.append(f"{schema}: no argument {extra}")
                    continue
            _, _, defaults = _plan(schema)
            out = []
            ok = True
            for a, d in zip(schema.arguments, defaults):
                if a.name in vals:
                    v = vals[a.name]
                    if v is None and a.name == "stride" and "int[" in a.type:
                        v = []
                    if isinstance(v, int) and not isinstance(v, bool) and a.type.startswith("int[") and \
                            a.type[4:-1].isdigit():
                        v = [v] * int(a.type[4:-1])
                    out.append((a, v))
                elif a.name in ("cudnn_enabled", "cudnn_enable"):
                    out.append((a, True))
                elif d is _NO_DEFAULT:
                    ok = False
                    errors.append(f"{schema}: missing {a.name}")
                    break
                else:
                    out.append((a, d))
            if ok:
                text = ", ".join(f"{a.name}={self._fmt(v)}" if a.kwarg_only else self._fmt(v) for a, v in out)
                return f"torch.{name}({text})"
        raise RuntimeError(f"jtorch.jit.save: can't write F.{name} as aten's {name}: " + "; ".join(errors))


# ---------------------------------------------------------------- functions with no aten operator of their name
def _write_embedding(e, input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                     sparse=False):
    if max_norm is not None:
        raise RuntimeError("jtorch.jit.save: F.embedding with max_norm renormalizes the weight in place; "
                           "TorchScript's aten::embedding does not")
    pad = -1 if padding_idx is None else padding_idx
    return f"torch.embedding({e._fmt(weight)}, {e._fmt(input)}, {e._fmt(pad)}, {e._fmt(scale_grad_by_freq)}, " \
           f"{e._fmt(sparse)})"


_UPSAMPLE_OPS = {"nearest": "upsample_nearest{}d", "nearest-exact": "_upsample_nearest_exact{}d",
                 "linear": "upsample_linear1d", "bilinear": "upsample_bilinear2d", "bicubic": "upsample_bicubic2d",
                 "trilinear": "upsample_trilinear3d"}


def _write_interpolate(e, input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                       recompute_scale_factor=None, antialias=False):
    nd = input.meta["val"].dim() - 2 if hasattr(input, "meta") and "val" in input.meta else None
    if mode not in _UPSAMPLE_OPS or antialias or nd not in (1, 2, 3):
        raise RuntimeError(f"jtorch.jit.save: can't write F.interpolate(mode={mode!r}, antialias={antialias}) as "
                           "TorchScript")
    op = _UPSAMPLE_OPS[mode].format(nd)
    if size is not None:
        size = [size] * nd if isinstance(size, int) else list(size)
        scales = None
    else:
        scales = [float(scale_factor)] * nd if isinstance(scale_factor, (int, float)) else \
            [float(x) for x in scale_factor]
        if recompute_scale_factor:  # the size the scale gives, from the input's sizes at run time
            x = e._fmt(input)
            size = "[" + ", ".join(f"int(torch.floor(float({x}.size({d + 2})) * {sc!r}))"
                                   for d, sc in enumerate(scales)) + "]"
            return _upsample_call(e, op, input, size, align_corners, mode, raw_size=True)
    return _upsample_call(e, op, input, size, align_corners, mode, scales=scales)


def _upsample_call(e, op, input, size, align_corners, mode, scales=None, raw_size=False):
    parts = [e._fmt(input), size if raw_size else e._fmt(size)]
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        parts.append(e._fmt(bool(align_corners)))
    parts.append(e._fmt(scales))
    return f"torch.{op}({', '.join(parts)})"


def _write_mha(e, query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
               add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training=True, key_padding_mask=None,
               need_weights=True, attn_mask=None, use_separate_proj_weight=False, q_proj_weight=None,
               k_proj_weight=None, v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
               is_causal=False):
    """nn.MultiheadAttention's computation as aten's fused ``_native_multi_head_attention`` (batch first)."""
    if use_separate_proj_weight or bias_k is not None or bias_v is not None or add_zero_attn or is_causal or \
            static_k is not None or static_v is not None or (training and dropout_p > 0) or in_proj_bias is None:
        raise RuntimeError("jtorch.jit.save: this configuration of multi-head attention has no TorchScript "
                           "operator to write (separate q/k/v weights, bias_k/bias_v, add_zero_attn, is_causal, "
                           "no in_proj bias or dropout in training)")
    if key_padding_mask is not None and attn_mask is not None:
        raise RuntimeError("jtorch.jit.save: multi-head attention with both a key padding mask and an attention mask "
                           "can't be written as TorchScript")
    mask, mask_type = (key_padding_mask, 1) if key_padding_mask is not None else (attn_mask, 0)
    q, k, v = (f"{e._fmt(x)}.transpose(0, 1)" for x in (query, key, value))
    res = e.temp(f"torch._native_multi_head_attention({q}, {k}, {v}, {e._fmt(embed_dim_to_check)}, "
                 f"{e._fmt(num_heads)}, {e._fmt(in_proj_weight)}, {e._fmt(in_proj_bias)}, {e._fmt(out_proj_weight)}, "
                 f"{e._fmt(out_proj_bias)}, {e._fmt(mask)}, {e._fmt(need_weights)}, {e._fmt(average_attn_weights)}, "
                 f"{e._fmt(None if mask is None else mask_type)})")
    return f"({res}[0].transpose(0, 1), {res}[1])"


_RNN_OPS = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


def _write_rnn(e, weights, input, hx, cx, lengths, mode, num_layers, bidirectional, has_bias, proj, dropout, train):
    if lengths is not None:
        raise RuntimeError("jtorch.jit.save: an RNN over a PackedSequence can't be written as TorchScript yet")
    state = f"[{e._fmt(hx)}, {e._fmt(cx)}]" if mode == "LSTM" else e._fmt(hx)
    return (f"torch.{_RNN_OPS[mode]}({e._fmt(input)}, {state}, {e._fmt(list(weights))}, {e._fmt(bool(has_bias))}, "
            f"{e._fmt(num_layers)}, {e._fmt(float(dropout))}, {e._fmt(bool(train))}, {e._fmt(bool(bidirectional))}, "
            "False)")


_WRITERS = None


def _writers():
    global _WRITERS
    if _WRITERS is None:
        from ..nn import functional as F
        from .._ops import rnn_ops
        _WRITERS = {F.embedding: _write_embedding, F.interpolate: _write_interpolate,
                    F.multi_head_attention_forward: _write_mha, rnn_ops.rnn_forward: _write_rnn}
    return _WRITERS

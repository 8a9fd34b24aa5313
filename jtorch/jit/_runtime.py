"""The names TorchScript's serialized code uses, bound to jtorch, so that code runs as Python.

An archive's ``code/`` files are a Python subset. Calls spell aten operators as ``torch.<name>(...)``
(``ops.aten.<name>``) with the schema's argument order, and the same name also covers TorchScript's
operators on ints, floats, strings and lists (``torch.add(i, 2)`` is ``i + 2``, ``torch.len(xs)``,
``torch.format``). Here ``torch.<name>`` runs Python's own operator when no argument is a Tensor, else
jtorch's ``torch.ops.aten.<name>`` overload whose schema fits, after turning TorchScript's integer codes for
dtypes, layouts and memory formats into jtorch's objects. ``ops.prim.*``, ``annotate``, ``unchecked_cast``,
``uninitialized``, ``CONSTANTS`` and the typing names (``Tensor``, ``List[int]``, ``Optional[...]``) are
defined here too.
"""
import builtins
import math
import operator
import typing
import warnings

from .. import _dtype as D
from .. import _legacy

# TorchScript's ScalarType codes (c10::ScalarType), for the dtypes jtorch has
_DTYPE_CODES = {
    0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16", 6: "float32", 7: "float64",
    8: "complex32", 9: "complex64", 10: "complex128", 11: "bool", 12: "qint8", 13: "quint8", 14: "qint32",
    15: "bfloat16", 23: "float8_e5m2", 24: "float8_e4m3fn", 25: "float8_e5m2fnuz", 26: "float8_e4m3fnuz",
    27: "uint16", 28: "uint32", 29: "uint64",
}
_MEMORY_FORMATS = {0: "contiguous_format", 1: "preserve_format", 2: "channels_last", 3: "channels_last_3d"}
_LAYOUTS = {0: "strided", 1: "sparse_coo", 2: "sparse_csr", 3: "sparse_csc", 4: "sparse_bsr", 5: "sparse_bsc"}


def _jt():
    import jtorch
    return jtorch


def dtype_from_code(code):
    name = _DTYPE_CODES.get(code)
    if name is None or not hasattr(_jt(), name):
        raise RuntimeError(f"TorchScript dtype code {code} has no jtorch dtype")
    return getattr(_jt(), name)


def dtype_code(dtype):
    for code, name in _DTYPE_CODES.items():
        if getattr(_jt(), name, None) is dtype:
            return code
    raise RuntimeError(f"dtype {dtype} has no TorchScript code")


def _is_tensor(v):
    from .._dispatch import Tensor
    return isinstance(v, Tensor)


def _has_tensor(args, kwargs):
    for v in (*args, *kwargs.values()):
        if _is_tensor(v) or isinstance(v, (list, tuple)) and any(_is_tensor(x) for x in v):
            return True
    return False


# ---------------------------------------------------------------- TorchScript's operators on plain values
def _format(fmt, *args):
    return fmt.format(*(_ts_str(a) for a in args))


def _ts_str(v):
    if isinstance(v, tuple):
        return "(" + ", ".join(str(_ts_str(x)) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(str(_ts_str(x)) for x in v) + "]"
    return v


def _slice_list(xs, start=None, end=None, step=1):
    return xs[start:end:step]


def _append(xs, v):
    xs.append(v)
    return xs


def _set_item(xs, i, v):
    xs[i] = v
    return xs


def _range_length(lo, hi, step):
    if step > 0:
        return max(0, (hi - lo + step - 1) // step)
    return max(0, (lo - hi - step - 1) // -step)


_PLAIN = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "floordiv": operator.floordiv, "remainder": operator.mod, "pow": operator.pow, "neg": operator.neg,
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
    "ge": operator.ge, "__and__": operator.and_, "__or__": operator.or_, "__xor__": operator.xor,
    "__not__": operator.not_, "__is__": operator.is_, "__isnot__": operator.is_not,
    "__contains__": lambda xs, v: v in xs, "__getitem__": operator.getitem, "_set_item": _set_item,
    "len": len, "format": _format, "append": _append, "list": list, "copy": list,
    "extend": lambda xs, ys: xs.extend(ys), "insert": lambda xs, i, v: xs.insert(i, v),
    "pop": lambda xs, *i: xs.pop(*i), "clear": lambda xs: xs.clear(), "reverse": lambda xs: xs.reverse(),
    "index": lambda xs, v: xs.index(v), "count": lambda xs, v: xs.count(v), "sort": lambda xs, reverse=False:
    xs.sort(reverse=reverse), "keys": lambda d: list(d.keys()), "values": lambda d: list(d.values()),
    "items": lambda d: list(d.items()), "get": lambda d, k, default=None: d.get(k, default),
    "dict": dict, "slice": _slice_list, "all": all, "any": any, "abs": abs, "floor": math.floor, "ceil": math.ceil,
    "sqrt": math.sqrt, "log": math.log, "exp": math.exp, "min": min, "max": max, "round": round,
    "str": str, "manual_seed": lambda s: _jt().manual_seed(s), "__range_length": _range_length,
    "__derive_index": lambda i, start, step: start + i * step, "isnan": math.isnan, "isinf": math.isinf,
    "tanh": math.tanh, "mathremainder": math.remainder, "lower": str.lower, "upper": str.upper,
    "startswith": str.startswith, "endswith": str.endswith, "split": lambda s, sep=None, n=-1: s.split(sep, n),
    "join": lambda sep, xs: sep.join(xs), "strip": lambda s, chars=None: s.strip(chars), "sum": sum,
    "_infer_size": lambda a, b: list(_jt().broadcast_shapes(tuple(a), tuple(b))),
    "warn": lambda msg, stacklevel=2: warnings.warn(msg, stacklevel=2),
}


# ---------------------------------------------------------------- aten calls on tensors
def _convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, *unused):
    F = _jt().nn.functional
    nd = weight.dim() - 2
    if transposed:
        return getattr(F, f"conv_transpose{nd}d")(input, weight, bias, stride, padding, output_padding, groups,
                                                  dilation)
    return getattr(F, f"conv{nd}d")(input, weight, bias, stride, padding, dilation, groups)


def _tensor(data, dtype=None, device=None, requires_grad=False):
    return _jt().tensor(data, dtype=_as_dtype(dtype), device=device, requires_grad=requires_grad)


def _size(x, dim=None):
    return list(x.shape) if dim is None else x.size(dim)


def _to_number(kind):
    return lambda x: kind(x.item() if _is_tensor(x) else x)


def _upsample(mode, antialias=False):
    """aten's upsample_<mode> overloads (``.vec``: output_size, [align_corners], scale_factors; the default one:
    output_size, [align_corners], per-dimension scales) as F.interpolate."""
    aligned = mode in ("linear", "bilinear", "bicubic", "trilinear")

    def run(input, output_size, *rest):
        align_corners = rest[0] if aligned else None
        scales = rest[1:] if aligned else rest
        scale_factor = None
        if output_size is None:
            scale_factor = scales[0] if len(scales) == 1 and isinstance(scales[0], (list, tuple)) else list(scales)
        extra = {"antialias": True} if antialias else {}
        return _jt().nn.functional.interpolate(input, size=output_size, scale_factor=scale_factor, mode=mode,
                                               align_corners=align_corners, **extra)
    return run


def _native_mha(query, key, value, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, mask=None,
                need_weights=True, average_attn_weights=True, mask_type=None):
    """The fused attention of nn.MultiheadAttention's inference fast path (batch-first inputs)."""
    F = _jt().nn.functional
    masks = {"key_padding_mask": mask} if mask_type == 1 else {"attn_mask": mask}
    out, weights = F.multi_head_attention_forward(
        query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1), embed_dim, num_heads, qkv_weight,
        qkv_bias, None, None, False, 0.0, proj_weight, proj_bias, training=False, need_weights=need_weights,
        average_attn_weights=average_attn_weights, **masks)
    return out.transpose(0, 1), weights


def _encoder_layer(src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, use_gelu, norm_first,
                   eps, norm_weight_1, norm_bias_1, norm_weight_2, norm_bias_2, ffn_weight_1, ffn_bias_1, ffn_weight_2,
                   ffn_bias_2, mask=None, mask_type=None):
    """nn.TransformerEncoderLayer's inference fast path (batch-first), as its unfused steps."""
    F = _jt().nn.functional

    def attend(x):
        return _native_mha(x, x, x, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, mask, False,
                           True, mask_type)[0]

    def feed_forward(x):
        h = F.linear(x, ffn_weight_1, ffn_bias_1)
        return F.linear(F.gelu(h) if use_gelu else F.relu(h), ffn_weight_2, ffn_bias_2)

    def norm(x, w, b):
        return F.layer_norm(x, (embed_dim,), w, b, eps)

    if norm_first:
        x = src + attend(norm(src, norm_weight_1, norm_bias_1))
        return x + feed_forward(norm(x, norm_weight_2, norm_bias_2))
    x = norm(src + attend(src), norm_weight_1, norm_bias_1)
    return norm(x + feed_forward(x), norm_weight_2, norm_bias_2)


_UPSAMPLES = {f"{pre}{name}{nd}d": _upsample(mode, pre == "_" and "aa" in name)
              for pre, name, mode, nd in [("", "upsample_nearest", "nearest", n) for n in (1, 2, 3)]
              + [("_", "upsample_nearest_exact", "nearest-exact", n) for n in (1, 2, 3)]
              + [("", "upsample_linear", "linear", 1), ("", "upsample_bilinear", "bilinear", 2),
                 ("", "upsample_bicubic", "bicubic", 2), ("", "upsample_trilinear", "trilinear", 3)]}
_UPSAMPLES["_upsample_bilinear2d_aa"] = _upsample("bilinear", True)
_UPSAMPLES["_upsample_bicubic2d_aa"] = _upsample("bicubic", True)

# what aten spells differently from jtorch's public functions (or jtorch's aten table lacks)
_TENSOR_SPECIAL = {
    "_convolution": _convolution, "tensor": _tensor, "size": _size, "dim": lambda x: x.dim(),
    "len": lambda x: x.size(0) if _is_tensor(x) else len(x), "Int": _to_number(int), "Float": _to_number(float),
    "Bool": _to_number(bool), "ScalarImplicit": lambda x: x.item(), "item": lambda x: x.item(),
    "list": lambda x: list(x.unbind(0)) if _is_tensor(x) else list(x), "numel": lambda x: x.numel(),
    "__getitem__": operator.getitem, "__contains__": lambda xs, v: v in xs,
    "_set_item": _set_item, "append": _append, "format": _format, "copy": list,
    "__is__": operator.is_, "__isnot__": operator.is_not, "_native_multi_head_attention": _native_mha,
    "_transformer_encoder_layer_fwd": _encoder_layer,
    **_UPSAMPLES,
}


def _as_dtype(v):
    return dtype_from_code(v) if type(v) is int else v


def _convert(base, v):
    """TorchScript's int codes for enum-like arguments -> jtorch objects."""
    if type(v) is not int:
        return v
    if base == "ScalarType":
        return dtype_from_code(v)
    if base == "MemoryFormat":
        return getattr(_legacy, _MEMORY_FORMATS[v])
    if base == "Layout":
        return getattr(_legacy, _LAYOUTS[v])
    return v


_CONVERTED = ("ScalarType", "MemoryFormat", "Layout")


def _queries(name):
    return name.startswith("is_") or name in ("result_type", "can_cast", "promote_types")


class _AtenOp:
    """``torch.<name>`` / ``ops.aten.<name>`` in TorchScript code."""

    def __init__(self, name):
        self.name = name
        self._plain = _PLAIN.get(name)
        self._special = _TENSOR_SPECIAL.get(name)
        self._overloads = None

    def __call__(self, *args, **kwargs):
        if self._plain is not None and not _has_tensor(args, kwargs):
            return self._plain(*args, **kwargs)
        if self._special is not None:
            return self._special(*args, **kwargs)
        return self._aten(args, kwargs)

    def _resolve(self):
        if self._overloads is None:
            from ..library import _aten
            pk = _aten.packet(self.name)
            if pk is None and _queries(self.name) and callable(getattr(_jt(), self.name, None)):
                # no schema here: jtorch's function of the name, for state queries only (never torch.save & co)
                self._overloads = [(None, getattr(_jt(), self.name))]
                return self._overloads
            if pk is None:
                raise RuntimeError(f"jtorch.jit.load: the TorchScript code calls aten::{self.name}, which jtorch "
                                   "does not run")
            ovs = []
            for ov in pk._overloads.values():
                if any(a.kwarg_only and a.name == "out" for a in ov._schema.arguments):
                    continue
                conv = {a.name: (i, a.type.replace("?", "")) for i, a in enumerate(ov._schema.arguments)
                        if a.type.replace("?", "") in _CONVERTED}
                ovs.append((ov, conv))
            self._overloads = ovs
        return self._overloads

    def _aten(self, args, kwargs):
        from ..library._schema import bind
        errors = []
        for ov, conv in self._resolve():
            if ov is None:
                return conv(*args, **kwargs)
            a, k = args, kwargs
            if conv:
                a, k = list(args), dict(kwargs)
                for name, (i, base) in conv.items():
                    if name in k:
                        k[name] = _convert(base, k[name])
                    elif i < len(a):
                        a[i] = _convert(base, a[i])
            try:
                bind(ov._schema, a, k, numbers_as_tensors=ov._numbers_as_tensors)
            except RuntimeError as e:
                errors.append(str(e))
                continue
            return ov(*a, **k)
        raise RuntimeError(f"aten::{self.name}: no overload matches the arguments:\n" + "\n".join(errors))


class _TorchNamespace:
    """``torch`` in TorchScript code: ``torch.device``, dtypes by name, and aten operators."""

    def __init__(self):
        self._ops = {}

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in _PLAIN and name not in _TENSOR_SPECIAL:
            raise AttributeError(name)
        op = self._ops.get(name)
        if op is None:
            if name == "device":
                return _jt().device
            v = getattr(_jt(), name, None)
            if isinstance(v, (D.dtype, _legacy.memory_format, _legacy.layout)):
                return v
            op = self._ops[name] = _AtenOp(name)
        return op


# ---------------------------------------------------------------- ops.prim
def _raise(msg, cls_name="builtins.RuntimeError"):
    from . import Error
    raise Error(f"The following operation failed in the TorchScript interpreter.\n{cls_name}: {msg}")


def _num_to_tensor(v):
    return _jt().tensor(v)


_PRIM = {
    "RaiseException": _raise, "NumToTensor": _num_to_tensor, "dtype": lambda x: dtype_code(x.dtype),
    "device": lambda x: x.device, "layout": lambda x: 0, "is_cuda": lambda x: x.is_cuda,
    "shape": lambda x: list(x.shape), "data": lambda x: x.detach(), "requires_grad": lambda x: x.requires_grad,
    "unchecked_unwrap_optional": lambda x: x, "TupleIndex": operator.getitem, "min": min, "max": max,
    "abs": abs, "Uninitialized": lambda: None, "rangelist": lambda n: list(range(n)), "index": operator.getitem,
    "type": lambda d: d.type, "name": lambda x: None, "unchecked_cast": lambda x: x,
    "AutogradAnyNonZero": lambda xs: any(x is not None and bool((x != 0).any()) for x in xs),
}


class _PrimNamespace:
    def __getattr__(self, name):
        f = _PRIM.get(name)
        if f is None and name.startswith("is_"):  # the Tensor's own flag (is_nested, is_sparse, is_meta, ...)
            return lambda x: bool(getattr(x, name, False))
        if f is None:
            raise RuntimeError(f"jtorch.jit.load: TorchScript's prim::{name} is not supported")
        return f


class _OpsNamespace:
    """``ops`` in TorchScript code: ``ops.prim.*``, ``ops.aten.*`` (= ``torch.*``); other namespaces come from
    jtorch.ops (custom operators)."""

    def __init__(self, torch_ns):
        self.prim = _PrimNamespace()
        self.aten = torch_ns

    def __getattr__(self, name):
        from .._ops_namespace import _OpNamespace
        ns = getattr(_jt().ops, name)
        if not isinstance(ns, _OpNamespace):  # ops.load_library & co are not operator namespaces
            raise RuntimeError(f"jtorch.jit.load: ops.{name} is not an operator namespace")
        return ns


# ---------------------------------------------------------------- typing and helpers
def annotate(the_type, value):
    return value


def unchecked_cast(the_type, value):
    return value


def uninitialized(the_type):
    return None


def _script_isinstance(obj, the_type):
    from . import isinstance as jit_isinstance
    return jit_isinstance(obj, the_type)


# the Python builtins TorchScript's code calls (nothing that reaches files, modules or object internals)
_SAFE_BUILTINS = ("range", "len", "int", "float", "bool", "str", "list", "tuple", "dict", "min", "max", "abs", "round",
                  "enumerate", "zip", "sum", "all", "any", "print", "divmod", "sorted", "reversed", "chr", "ord",
                  "hasattr", "complex", "hash", "object", "staticmethod", "property", "AssertionError",
                  "Exception", "RuntimeError", "ValueError", "TypeError", "IndexError", "KeyError",
                  "StopIteration", "NotImplementedError", "ZeroDivisionError")


def namespace():
    """The globals every code file of an archive runs with (plus ``__torch__`` and ``CONSTANTS``)."""
    from . import RecursiveScriptModule, fork, wait
    jt = _jt()
    torch_ns = _TorchNamespace()
    safe = {name: getattr(builtins, name) for name in _SAFE_BUILTINS}
    safe["__build_class__"] = builtins.__build_class__
    return {
        "__builtins__": safe,
        "torch": torch_ns, "ops": _OpsNamespace(torch_ns), "Tensor": jt.Tensor, "List": typing.List,
        "Dict": typing.Dict, "Tuple": typing.Tuple, "Optional": typing.Optional, "Union": typing.Union,
        "Final": typing.Final, "Any": typing.Any, "NoneType": type(None), "number": float, "Device": jt.device,
        "Module": RecursiveScriptModule, "NamedTuple": typing.NamedTuple, "annotate": annotate,
        "unchecked_cast": unchecked_cast, "uninitialized": uninitialized, "isinstance": _script_isinstance,
        "inf": math.inf, "nan": math.nan, "fork": fork, "wait": wait, "getattr": builtins.getattr,
        "Future": jt.jit.Future, "Enum": __import__("enum").Enum,
    }

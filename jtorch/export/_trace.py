"""The trace behind ``torch.export.export``.

jtorch.fx's tracer runs the module once with proxies for its inputs, parameters and buffers, but here
every proxy also carries its value on the example inputs (``_ExportProxy.val``; the parameters and
buffers are copies, so the module is left untouched): each recorded call also runs on those values.
So Python code may read shapes, dtypes and devices (they are plain values, as torch's static shapes),
while a branch on a tensor's data raises torch's GuardOnDataDependentSymNode. Every module is traced
through (there are no call_module nodes); nodes stay at the level of torch functions, operators and
Tensor methods (torch's export graph is one of aten ops).

Dynamic dimensions: a size read from a tensor that depends on one (``x.size(0)``, ``x.shape``) is a
recorded ``size`` node with its example value (a symbolic size), and arithmetic on it records nodes
too, so the graph computes it for every input size. Where Python needs its concrete value (``if``,
``int()``, ``range``) the value is used and a guard is kept: after the trace the graph runs again at
other sizes of each dynamic dimension and the guards must come out the same; this narrows the range
(``Dim.AUTO``/``Dim.DYNAMIC``) or fails as torch's constraint violation (a named ``Dim``).
"""
import inspect
import math
import operator

from ..fx._symbolic_trace import Tracer, _Recording
from ..fx.graph import Graph
from ..fx.graph_module import GraphModule
from ..fx.interpreter import Interpreter
from ..fx.node import _Recorder
from ..fx.proxy import Proxy
from ..fx.experimental.symbolic_shapes import ConstraintViolationError, GuardOnDataDependentSymNode
from .._dynamo.exc import UserError, UserErrorType
from ..utils import _pytree as pytree
from .dynamic_shapes import Dim, DimHint, _DerivedDim, _DimHintType, Symbol

# functions and methods whose Python result depends on shapes only, never on tensor data
_SHAPE_ONLY = {"size", "dim", "ndimension", "numel", "nelement", "is_contiguous", "stride", "element_size",
               "is_floating_point", "is_complex", "is_signed", "get_device", "storage_offset", "is_inference",
               "is_tensor", "is_same_size", "is_set_to", "data_ptr", "is_pinned", "is_shared",
               "is_conj", "is_neg", "is_nonzero_size", "result_type", "can_cast", "promote_types"}
# tensor factories: recorded even without proxy arguments (torch.export records them as ops)
_FACTORIES = {"zeros", "ones", "full", "empty", "arange", "eye", "linspace", "logspace", "rand", "randn", "randint",
              "randperm", "empty_strided", "scalar_tensor", "tril_indices", "triu_indices"}
# ops whose result's shape depends on the data
_DATA_SHAPE = {"nonzero", "masked_select", "unique", "unique_consecutive", "argwhere", "bincount",
               "repeat_interleave"}


def _tensor_type():
    import jtorch
    return jtorch.Tensor


def _has_tensor(x):
    T = _tensor_type()
    return any(isinstance(v, T) for v in pytree.tree_leaves(x))


def _dd_error(proxy, what):
    return GuardOnDataDependentSymNode(
        f"Could not guard on data-dependent expression: {what} of '{proxy.node.name}' needs its value, "
        "which depends on the data of a tensor input. torch.export records one program for all input "
        "values, so it cannot follow a Python branch on tensor data; use torch.cond, or compute both "
        "branches and pick with torch.where.")


def _meta_of(v):
    """``node.meta['val']``: a meta tensor of the value's shape and dtype (torch keeps a fake tensor)."""
    import jtorch
    if isinstance(v, jtorch.Tensor):
        from .. import _meta
        return _meta.empty(tuple(v.shape), v.dtype)  # (not jtorch.empty: that is recorded while tracing)
    if isinstance(v, (tuple, list)):
        return type(v)(_meta_of(x) for x in v) if type(v) in (tuple, list) else tuple(_meta_of(x) for x in v)
    return v


class _ShapeTuple(tuple):
    """``proxy.shape`` when some sizes are symbolic (a Size of ints and size proxies)."""

    def numel(self):
        out = 1
        for s in self:
            out = out * s
        return out


class _ExportProxy(Proxy):
    """A proxy with its value on the example inputs (``val``). ``dyn``: its shape (a tensor) or value
    (a Python number) may change with a dynamic input size; ``dd``: it depends on tensor data."""

    def __init__(self, node, tracer, val, dyn=False, dd=False):
        self.node = node
        self.tracer = tracer
        self.val = val
        self.dyn = dyn
        self.dd = dd
        node.meta["val"] = _meta_of(val)

    def __getattr__(self, k):
        if k.startswith("__") and k.endswith("__"):
            raise AttributeError(k)
        v = self.val
        T = _tensor_type()
        if k == "shape" and isinstance(v, T):
            return self.tracer._shape_of(self)
        attr = getattr(v, k)
        if callable(attr) and not isinstance(attr, T):
            return _Method(self, k)
        if _has_tensor(attr):
            return self.tracer.create_proxy("call_function", getattr, (self, k), {})
        return attr

    def _concrete(self, conv, what):
        v = self.val
        if isinstance(v, _tensor_type()):
            if v.numel() != 1:
                raise RuntimeError(f"{what.capitalize()} value of Tensor with more than one value is ambiguous")
            raise _dd_error(self, what)
        if self.dd:
            raise _dd_error(self, what)
        out = conv(v)
        if self.dyn:
            self.tracer.guards.append((self.node, conv, out))
        return out

    def __bool__(self):
        return self._concrete(bool, "bool")

    def __int__(self):
        return self._concrete(int, "int")

    def __index__(self):
        return self._concrete(operator.index, "int")

    def __float__(self):
        return self._concrete(float, "float")

    def __len__(self):
        v = self.val
        if isinstance(v, _tensor_type()):
            if v.dim() == 0:
                raise TypeError("len() of a 0-d tensor")
            n = self.tracer._dim_size(self, 0)
            return n if isinstance(n, int) else n.__index__()
        return len(v)

    def __iter__(self):
        v = self.val
        if isinstance(v, _tensor_type()):
            return iter([self[i] for i in range(len(self))])
        if isinstance(v, (tuple, list)):
            return iter([self[i] for i in range(len(v))])
        raise TypeError(f"'{type(v).__name__}' object is not iterable")

    def keys(self):
        return self.val.keys()


class _Method:
    """``proxy.name`` about to be called (a Tensor method)."""

    def __init__(self, proxy, name):
        self.proxy = proxy
        self.name = name

    def __call__(self, *args, **kwargs):
        return self.proxy.tracer._call_method(self.proxy, self.name, args, kwargs)


def _walk(x, fn):
    """``fn`` applied to the proxies inside nested tuples (any kind), lists, dicts and slices."""
    if isinstance(x, Proxy):
        return fn(x)
    if isinstance(x, tuple):
        if hasattr(type(x), "_fields"):
            return type(x)(*(_walk(a, fn) for a in x))
        return tuple(_walk(a, fn) for a in x) if type(x) is _ShapeTuple else type(x)(_walk(a, fn) for a in x)
    if isinstance(x, list):
        return [_walk(a, fn) for a in x]
    if isinstance(x, dict):
        return {k: _walk(v, fn) for k, v in x.items()}
    if type(x) is slice:
        return slice(_walk(x.start, fn), _walk(x.stop, fn), _walk(x.step, fn))
    return x


def _proxies(x):
    found = []
    _walk(x, lambda p: found.append(p))
    return found


def _vals(x):
    return _walk(x, lambda a: a.val if isinstance(a, _ExportProxy) else a)


def _internal_modules():
    """jtorch's own op modules: nn modules call some of their functions directly (``K.rnn_forward``), so
    the trace records those calls as it records torch functions."""
    import sys
    return tuple(m for k, m in list(sys.modules.items()) if k.startswith("jtorch._ops.") and m is not None)


class _ExportTracer(Tracer):
    def __init__(self):
        super().__init__(autowrap_modules=(math,) + _internal_modules())
        self.guards = []  # (node, conversion, value Python took)
        self.state = {}  # id(parameter/buffer/constant) -> (tensor, proxy)
        self.constants = []  # (placeholder proxy, target, tensor)
        self.ph_dynamic = {}  # placeholder node -> {dim: Symbol}
        self.size_nodes = {}
        self.computing = 0  # > 0 while a recorded call runs on the example values (its inner calls are not nodes)

    def is_leaf_module(self, m, module_qualified_name):
        return False

    def records_call(self, name):
        return self.computing == 0 and name in _FACTORIES

    def call_module(self, m, forward, args, kwargs):
        if self._recording is not None:
            self._recording.watch(type(m).forward)
            self._recording.watch_instance(m)
        return forward(*args, **kwargs)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        hit = self.state.get(id(attr_val))
        if hit is not None and hit[0] is attr_val:
            return hit[1]
        return attr_val

    def create_arg(self, a):
        if isinstance(a, _tensor_type()):
            hit = self.state.get(id(a))
            if hit is None or hit[0] is not a:
                hit = (a, self._lift_constant(a))
            return hit[1].node
        return super().create_arg(a)

    def _lift_constant(self, t):
        path = self.tensor_attrs.get(id(t))
        if path is None:
            path = f"lifted_tensor_{sum(1 for c in self.constants if c[1].startswith('lifted_tensor_'))}"
        node = self.graph.placeholder("c_" + _state_name(path))
        proxy = _ExportProxy(node, self, t.detach().clone())
        self.state[id(t)] = (t, proxy)
        self.constants.append((proxy, path, t))
        return proxy

    # ---- recording with values
    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None):
        if kind not in ("call_function", "call_method"):
            return super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        import jtorch
        if type(target) is _Recorder:
            target = target.orig
        ins = _proxies((args, kwargs))
        vargs, vkwargs = _vals(args), _vals(kwargs)
        self.computing += 1
        try:
            with jtorch.no_grad():
                if kind == "call_method":
                    result = getattr(vargs[0], target)(*vargs[1:], **vkwargs)
                else:
                    result = target(*vargs, **vkwargs)
        finally:
            self.computing -= 1
        tname = target if isinstance(target, str) else getattr(target, "__name__", "")
        dyn = any(p.dyn for p in ins)
        dd = any(p.dd for p in ins)
        T = jtorch.Tensor
        if not _has_tensor(result):
            from_tensor = [p for p in ins if isinstance(p.val, T)]
            if not (dyn or dd):
                if from_tensor and tname not in _SHAPE_ONLY and type(result) in (bool, int, float, complex):
                    raise _dd_error(from_tensor[0], f"{tname}()")
                return result  # a value that is the same for every input: Python keeps it
        elif tname in _DATA_SHAPE or (tname == "getitem" and _bool_index(vargs)):
            dd = True  # its shape depends on the data: sizes read from it are data-dependent
        node = self.create_node(kind, target, self.create_arg(args), self.create_arg(kwargs), name, type_expr)
        return _ExportProxy(node, self, result, dyn=dyn, dd=dd)

    def _call_method(self, proxy, name, args, kwargs):
        v = proxy.val
        T = _tensor_type()
        if isinstance(v, T):
            if name == "size":
                return self._size(proxy, *args, **kwargs)
            if name in ("dim", "ndimension"):
                return v.dim()
            if name in ("numel", "nelement"):
                return self._shape_of(proxy).numel() if (proxy.dyn or proxy.dd) else v.numel()
            if name == "item":
                node = self.create_node("call_method", "item", (proxy.node,), {})
                return _ExportProxy(node, self, v.item(), dd=True)
            if name == "tolist":
                raise _dd_error(proxy, "tolist()")
        return self.create_proxy("call_method", name, (proxy,) + tuple(args), kwargs)

    def _size(self, proxy, dim=None):
        if dim is None:
            return self._shape_of(proxy)
        return self._dim_size(proxy, dim)

    def _dim_size(self, proxy, d):
        v = proxy.val
        d = operator.index(d)
        n = v.shape[d]
        d = d % v.dim() if v.dim() else d
        if not (proxy.dyn or proxy.dd):
            return n
        fixed = self.ph_dynamic.get(proxy.node)
        if fixed is not None and d not in fixed:
            return n  # an input's static dimension
        key = (proxy.node, d)
        if key not in self.size_nodes:
            node = self.create_node("call_method", "size", (proxy.node, d), {})
            self.size_nodes[key] = _ExportProxy(node, self, n, dyn=proxy.dyn, dd=proxy.dd)
        return self.size_nodes[key]

    def _shape_of(self, proxy):
        v = proxy.val
        if not (proxy.dyn or proxy.dd):
            return v.shape
        sizes = [self._dim_size(proxy, d) for d in range(v.dim())]
        if all(isinstance(s, int) for s in sizes):
            return v.shape
        return _ShapeTuple(sizes)


def _bool_index(vargs):
    import jtorch
    idx = vargs[1] if len(vargs) > 1 else None
    return any(isinstance(i, jtorch.Tensor) and i.dtype == jtorch.bool
               for i in (idx if isinstance(idx, tuple) else (idx,)))


# ---------------------------------------------------------------- inputs
def _state_name(fqn):
    """The placeholder name of a parameter/buffer/constant after its prefix: torch's (dots become
    underscores, and a leading ``self_`` goes, as torch strips its ``self`` prefix)."""
    name = fqn.replace(".", "_")
    return name[len("self_"):] if name.startswith("self_") else name


def _leaf_name(argname, path):
    parts = [argname]
    for k in path:
        key = getattr(k, "idx", getattr(k, "key", getattr(k, "name", None)))
        parts.append(str(key))
    return "_".join(parts)


def _source(argname, path):
    """How an input is written in a guard's message: ``x``, ``xs[0]``, ``d['b']``."""
    return argname + pytree.keystr(path)


def _bind(mod, args, kwargs):
    sig = inspect.signature(mod.forward)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise UserError(UserErrorType.INVALID_INPUT, f"Exported module's forward does not accept these inputs: {e}")
    return sig, bound


def _dynamic_specs(bound, dynamic_shapes):
    """id(tensor) -> {dim: Dim or DimHint} from ``dynamic_shapes`` (keyed by argument name, or in the
    order of the arguments)."""
    out = {}
    if dynamic_shapes is None:
        return out
    names = list(bound.arguments)
    if isinstance(dynamic_shapes, dict):
        extra = [k for k in dynamic_shapes if k not in names]
        if extra:
            raise UserError(UserErrorType.INVALID_INPUT,
                            f"dynamic_shapes names {extra}, which are not arguments of forward {names}")
        per_arg = [dynamic_shapes.get(n) for n in names]
    elif isinstance(dynamic_shapes, (tuple, list)):
        if len(dynamic_shapes) != len(names):
            raise UserError(UserErrorType.INVALID_INPUT,
                            f"dynamic_shapes has {len(dynamic_shapes)} entries but forward got {len(names)} "
                            "arguments")
        per_arg = list(dynamic_shapes)
    else:
        raise UserError(UserErrorType.INVALID_INPUT,
                        f"dynamic_shapes must be a dict or a tuple, got {type(dynamic_shapes).__name__}")
    T = _tensor_type()

    def walk(v, spec, where):
        if spec is None:
            return
        if isinstance(v, T):
            if isinstance(spec, dict):
                items = list(spec.items())
            elif isinstance(spec, (tuple, list)):
                if len(spec) != v.dim():
                    raise UserError(UserErrorType.INVALID_INPUT, f"dynamic_shapes of {where} lists {len(spec)} "
                                    f"dimensions but the tensor has {v.dim()}")
                items = list(enumerate(spec))
            else:
                raise UserError(UserErrorType.INVALID_INPUT,
                                f"dynamic_shapes of tensor {where} must be a dict or a tuple, got {spec!r}")
            dims = {}
            for d, s in items:
                if s is None or isinstance(s, int) or (isinstance(s, DimHint) and s.type == _DimHintType.STATIC):
                    continue
                if not isinstance(s, (Dim, DimHint)):
                    raise UserError(UserErrorType.INVALID_INPUT, f"Unexpected dimension spec {s!r} for {where}")
                if not -v.dim() <= d < v.dim():
                    raise UserError(UserErrorType.INVALID_INPUT, f"Dimension {d} out of range for {where}")
                dims[d % v.dim()] = s
            out[id(v)] = dims
        elif isinstance(v, (tuple, list)):
            for i, (x, s) in enumerate(zip(v, spec)):
                walk(x, s, f"{where}[{i}]")
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, spec.get(k) if isinstance(spec, dict) else None, f"{where}[{k!r}]")
    for n, spec in zip(names, per_arg):
        walk(bound.arguments[n], spec, n)
    return out


class _SymInfo:
    def __init__(self, symbol, spec, example, lo, hi):
        self.symbol = symbol
        self.spec = spec  # the Dim or DimHint it came from
        self.example = example
        self.lo = lo
        self.hi = hi
        self.uses = []  # (source string, dim)
        self.implicit = None  # (source, dim, size, name) of the derived dimension it was solved from
        self.narrowed = False  # its range narrowed by the guards (not a named Dim's own)


class _DerivedInfo:
    """A dimension derived from a root Dim's symbol: ``a * root + b`` (``2*s0``, ``s0 + 1``)."""

    def __init__(self, root, a, b, spec):
        self.root, self.a, self.b, self.spec = root, a, b, spec
        self.symbol = Symbol(_DerivedDim(_Named(str(root.symbol)), a, b).__name__)
        self.uses = []

    example = property(lambda self: self.a * self.root.example + self.b)
    lo = property(lambda self: self.a * self.root.lo + self.b)
    hi = property(lambda self: self.a * self.root.hi + self.b)


class _Named:
    def __init__(self, name):
        self.__name__ = name


def _range_error(size, lo, hi):
    up = "int_oo" if hi == math.inf else hi
    return ConstraintViolationError(f"{size} not in range [{lo}, {up}]")


def _make_derived(spec, size, source, d, by_dim, symbols, order):
    """The info of a derived dimension (``2 * dx``) of this example size; its root's, made here when
    the root Dim has not been met yet (its size is then solved from this one)."""
    root = by_dim.get(spec.root.__name__)
    if root is None:
        if (size - spec.b) % spec.a:
            raise UserError(UserErrorType.CONSTRAINT_VIOLATION,
                            f"Expected shape[{d}] = {size} of input Tensor to be of the form {spec.__name__}, "
                            f"where {spec.root.__name__} is an integer")
        if not spec.min <= size <= spec.max:
            raise _range_error(size, spec.min, spec.max)
        r = (size - spec.b) // spec.a
        root = _SymInfo(Symbol(f"s{len(symbols)}"), spec.root, r, max(spec.root.min, 2), spec.root.max)
        symbols.append(root)
        by_dim[spec.root.__name__] = root
        root.implicit = (source, d, size, spec.__name__)  # (in range_constraints after its derived dims)
    elif root.example * spec.a + spec.b != size:
        raise UserError(UserErrorType.CONSTRAINT_VIOLATION,
                        f"Expected input {source}.size()[{d}] to be equal to {spec.__name__}, where "
                        f"{spec.root.__name__} = {root.example}, but got {size}")
    key = (spec.root.__name__, spec.a, spec.b)
    info = by_dim.get(key)
    if info is None:
        info = by_dim[key] = _DerivedInfo(root, spec.a, spec.b, spec)
        order.append(info)
    info.uses.append((source, d))
    return info


def _make_symbol(spec, size, source, d, by_dim, symbols, order):
    if isinstance(spec, _DerivedDim):
        return _make_derived(spec, size, source, d, by_dim, symbols, order)
    if isinstance(spec, Dim):
        info = by_dim.get(spec.__name__)  # (Dims are one by name, as in torch)
        if info is not None and (info.spec.min, info.spec.max) != (spec.min, spec.max):
            raise UserError(UserErrorType.INVALID_INPUT, f"Found different definitions {info.spec!r} and {spec!r} "
                            f"for the same symbolic dimension {spec!r}!")
        if info is not None:
            if info.example != size:
                if not info.uses:  # known from a derived dimension only
                    src, dd, n, name = info.implicit
                    raise UserError(UserErrorType.CONSTRAINT_VIOLATION,
                                    f"Expected input {source}.size()[{d}] to be equal to {spec.__name__} = "
                                    f"{info.example} (from {src}.size()[{dd}] = {n} = {name}), but got {size}")
                raise UserError(UserErrorType.CONSTRAINT_VIOLATION,
                                f"{source}.size()[{d}] = {size} is not equal to {info.uses[0][0]}.size()"
                                f"[{info.uses[0][1]}] = {info.example}")
            if not info.uses and info not in order:
                order.append(info)
            info.uses.append((source, d))
            return info
        if not spec.min <= size <= spec.max:
            raise _range_error(size, spec.min, spec.max)
        if size in (0, 1):
            raise UserError(UserErrorType.CONSTRAINT_VIOLATION,
                            f"{source}.size()[{d}] = {size} is marked dynamic ({spec.__name__}), but export "
                            "specializes sizes 0 and 1; use an example input with a larger size")
        lo, hi = max(spec.min, 2), spec.max
    else:
        if size in (0, 1):
            if spec.type == _DimHintType.DYNAMIC:
                raise UserError(UserErrorType.CONSTRAINT_VIOLATION,
                                f"Received user-specified dim hint Dim.DYNAMIC for {source}.size()[{d}], but "
                                f"export 0/1 specializes sizes and the example size is {size}")
            return None  # Dim.AUTO: a static size
        lo = max(2, spec.min if spec.min is not None else 2)
        hi = spec.max if spec.max is not None else math.inf
    info = _SymInfo(Symbol(f"s{len(symbols)}"), spec, size, lo, hi)
    info.uses.append((source, d))
    symbols.append(info)
    order.append(info)
    if isinstance(spec, Dim):
        by_dim[spec.__name__] = info
    return info


# ---------------------------------------------------------------- the trace
class Traced:
    """What the trace found: the graph and how its inputs and outputs correspond to the module's."""


EXPORTING = [False]  # torch.compiler.is_exporting()


def trace(mod, args, kwargs, dynamic_shapes):
    import jtorch
    from ..nn import Module
    if not isinstance(mod, Module):
        raise ValueError(f"Expected `mod` to be an instance of `torch.nn.Module`, got {type(mod)}.")
    if not isinstance(args, tuple):
        raise UserError(UserErrorType.INVALID_INPUT,
                        f"Expecting `args` to be a tuple of example positional inputs, got {type(args)}")
    kwargs = dict(kwargs or {})
    sig, bound = _bind(mod, args, kwargs)
    specs = _dynamic_specs(bound, dynamic_shapes)

    tracer = _ExportTracer()
    tracer.root = mod
    graph = tracer.graph = Graph(tracer_cls=_ExportTracer)
    tracer.tensor_attrs = {}
    tracer._collect_tensor_attrs(mod, [])
    tracer.submodule_paths = {id(m): n for n, m in mod.named_modules()}
    input_specs = []  # (kind, placeholder name, target, persistent, value)
    from .graph_signature import InputKind
    for n, p in mod.named_parameters():
        node = graph.placeholder("p_" + _state_name(n))
        tracer.state[id(p)] = (p, _ExportProxy(node, tracer, p.detach().clone()))
        input_specs.append((InputKind.PARAMETER, node, n, None, p))
    for prefix, m in mod.named_modules():
        for bn, b in m._buffers.items():
            if b is None or id(b) in tracer.state:
                continue
            n = f"{prefix}.{bn}" if prefix else bn
            node = graph.placeholder("b_" + _state_name(n))
            tracer.state[id(b)] = (b, _ExportProxy(node, tracer, b.detach().clone()))
            input_specs.append((InputKind.BUFFER, node, n, bn not in m._non_persistent_buffers_set, b))
    first_state_end = len(input_specs)

    # the user's inputs: one placeholder per leaf of (args, kwargs)
    T = jtorch.Tensor
    symbols, by_dim = [], {}
    order = []  # the dynamic dimensions' infos (roots and derived), in torch's range_constraints order
    user = []  # (placeholder node, source, example value, {dim: _SymInfo})
    names = list(sig.parameters)

    def proxied(value, argname):
        leaves, spec = pytree.tree_flatten_with_path(value)
        out = []
        for path, leaf in leaves:
            src = _source(argname, path)
            want = _leaf_name(argname, path)
            node = graph.placeholder(want)
            if node.name != want and want.isidentifier() and want not in graph._namespace.used:
                node.name = want  # torch.export keeps a builtin's name (``input``) for an input
                graph._namespace.used.add(want)
            dims = {}
            if isinstance(leaf, T):
                for d, s in specs.get(id(leaf), {}).items():
                    info = _make_symbol(s, leaf.shape[d], src, d, by_dim, symbols, order)
                    if info is not None:
                        dims[d] = info
                proxy = _ExportProxy(node, tracer, leaf.detach().clone(), dyn=bool(dims))
                if dims:
                    tracer.ph_dynamic[node] = set(dims)
                out.append(proxy)
            else:
                node.meta["val"] = leaf
                out.append(leaf)
            user.append((node, src, leaf, dims))
        return pytree.tree_unflatten(out, spec)

    pos = list(bound.arguments.items())
    call_args, call_kwargs = [], {}
    for i, a in enumerate(args):
        argname = names[i] if i < len(names) and sig.parameters[names[i]].kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) else f"args_{i}"
        call_args.append(proxied(a, argname))
    for k, v in kwargs.items():
        call_kwargs[k] = proxied(v, k)
    del pos

    fn = type(mod).forward
    with _Recording(tracer, getattr(fn, "__globals__", None)) as rec, jtorch.no_grad():
        rec.watch(fn)
        EXPORTING[0] = True
        try:
            result = mod(*call_args, **call_kwargs)
        finally:
            EXPORTING[0] = False
        out_leaves, out_spec = pytree.tree_flatten(result, is_leaf=lambda a: isinstance(a, Proxy))
        out_args = tuple(tracer.create_arg(x) for x in out_leaves)
        graph.output(out_args)

    # the lifted constants go with the parameters and buffers, before the user's inputs
    first_user = user[0][0] if user else None
    for proxy, path, t in tracer.constants:
        if first_user is not None:
            first_user.prepend(proxy.node)
        input_specs.append((InputKind.CONSTANT_TENSOR, proxy.node, path, None, t))
    del first_state_end

    traced = Traced()
    traced.graph = graph
    traced.tracer = tracer
    traced.input_state = input_specs
    traced.user = user
    traced.out_leaves = out_leaves
    traced.out_args = out_args
    traced.out_spec = out_spec
    traced.in_spec = pytree.tree_structure((tuple(args), kwargs))
    traced.symbols = symbols
    traced.ranges_order = order + [info for info in symbols if info not in order]
    traced.forward_arg_names = names
    _check_guards(traced)
    graph.eliminate_dead_code()
    graph.lint()
    return traced


# ---------------------------------------------------------------- guards at other sizes
def _probe_inputs(traced, sym, value):
    import jtorch
    vals = []
    for node, src, leaf, dims in traced.user:
        if not isinstance(leaf, jtorch.Tensor):
            vals.append(leaf)
            continue
        shape = [value if (d in dims and dims[d] is sym) else
                 dims[d].a * value + dims[d].b if (d in dims and getattr(dims[d], "root", None) is sym) else s
                 for d, s in enumerate(leaf.shape)]
        if leaf.dtype.is_floating_point or leaf.dtype.is_complex:
            vals.append(jtorch.randn(shape, dtype=leaf.dtype))
        else:
            vals.append(jtorch.zeros(shape, dtype=leaf.dtype))
    return vals


def _guards_hold(traced, gm, sym, value):
    """Whether the program takes the same decisions with ``sym`` = ``value``."""
    import jtorch
    state = [p.val.clone() for _, p in _state_proxies(traced)]
    interp = Interpreter(gm, garbage_collect_values=False)
    interp.extra_traceback = False
    try:
        with jtorch.no_grad():
            interp.run(*state, *_probe_inputs(traced, sym, value))
    except Exception:
        return False
    for node, conv, expected in traced.tracer.guards:
        try:
            if conv(interp.env[node]) != expected:
                return False
        except Exception:
            return False
    return True


def _state_proxies(traced):
    out = []
    for kind, node, target, persistent, t in traced.input_state:
        out.append((node, traced.tracer.state[id(t)][1]))
    order = {n: i for i, n in enumerate(traced.graph.nodes)}
    return sorted(out, key=lambda x: order[x[0]])


def _check_guards(traced):
    """Narrow each dynamic size's range to where the program's decisions stay those of the example;
    a named Dim whose range would have to narrow is torch's constraint violation."""
    if not traced.tracer.guards or not traced.symbols:
        return
    gm = GraphModule(_empty_module(), traced.graph)
    problems = []
    for info in traced.symbols:
        e = info.example

        def ok(v, info=info):
            return v == e or _guards_hold(traced, gm, info, v)
        lo, hi = info.lo, info.hi
        new_lo = lo if ok(lo) else _edge(ok, e, lo)
        if new_lo == lo and e - 1 > lo and not ok(e - 1):
            new_lo = e
        cap = hi if hi != math.inf else max(4 * e + 16, 64)
        new_hi = hi if ok(cap) else _edge(ok, e, cap)
        if new_hi == hi and e + 1 < cap and not ok(e + 1):
            new_hi = e
        if (new_lo, new_hi) == (lo, hi):
            continue
        if isinstance(info.spec, Dim) and info.uses:
            problems.append((info, new_lo, new_hi))
        else:  # a hint, or a Dim known only through dims derived from it (torch narrows that silently too)
            info.lo, info.hi = new_lo, new_hi
            info.narrowed = True
    if problems:
        lines, fixes = [], []
        for info, lo, hi in problems:
            name = info.spec.__name__
            src, d = info.uses[0]
            rng = f"{info.lo} <= {name}" + (f" <= {info.hi}" if info.hi != math.inf else "")
            got = f"{lo} <= {src}.size()[{d}]" + (f" <= {hi}" if hi != math.inf else "")
            lines.append(f"  - Not all values of {name} = {src}.size()[{d}] in the specified range {rng} "
                         f"satisfy the generated guard {got}")
            if lo == hi:
                fixes.append(f"  {name} = {lo}")
            else:
                fixes.append(f"  {name} = Dim('{name}'" + (f", min={lo}" if lo > 2 else "") +
                             (f", max={hi}" if hi != math.inf else "") + ")")
        raise UserError(UserErrorType.CONSTRAINT_VIOLATION,
                        f"Constraints violated ({', '.join(p[0].spec.__name__ for p in problems)})!\n" +
                        "\n".join(lines) + "\nSuggested fixes:\n" + "\n".join(fixes))


def _edge(ok, good, bad):
    """The accepted size nearest `bad` between `good` (accepted) and `bad` (refused): the program's
    decisions change once in between, so a bisection finds where."""
    while abs(bad - good) > 1:
        m = (good + bad) // 2
        if ok(m):
            good = m
        else:
            bad = m
    return good


def _empty_module():
    from ..nn import Module
    return Module()

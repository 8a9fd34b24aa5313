"""``torch.fx.symbolic_trace`` and ``Tracer``.

The traced function runs once with Proxies in place of its tensor inputs. Operators, method calls and
attribute reads on a Proxy record Nodes by themselves (``proxy.py``). Torch functions see proxies by
patching, not through jtorch's ``__torch_function__`` protocol (``_torch_function.py``; a Proxy with it
could replace the patching, a possible simplification not yet made): while a trace runs (and only then), the public functions of ``torch``,
``torch.nn.functional``, ``torch.special``, ``torch.linalg``, ``torch.fft`` and ``math``, the functions
the traced code imported by name, ``Tensor``'s methods, ``Module.__call__`` and ``Module.__getattr__``
are replaced by wrappers that record a node when a Proxy is among the arguments and otherwise call
the original. Outside a trace nothing is patched: eager dispatch is untouched.
"""
import builtins
import inspect
import math
import sys
import types
import warnings

from .graph import Graph
from .node import Node, has_side_effect, _Recorder
from .proxy import Proxy, Attribute, TraceError, ParameterProxy
from ..utils import _pytree

__all__ = ["Tracer", "symbolic_trace", "wrap", "PH", "PHBase", "PHWithMeta", "GraphAppendingTracer"]

_TRACING = []  # stack of the tracers recording now; the wrappers record into the last one


def _has_proxy(a):
    t = type(a)
    if t is Proxy or t is Attribute or isinstance(a, Proxy):
        return True
    if t is tuple or t is list or isinstance(a, (tuple, list)):
        for x in a:
            if _has_proxy(x):
                return True
    elif isinstance(a, dict):
        for x in a.values():
            if _has_proxy(x):
                return True
    elif t is slice:
        return _has_proxy(a.start) or _has_proxy(a.stop) or _has_proxy(a.step)
    return False


def _function_wrapper(orig, name):
    return _Recorder(orig, name)


def _method_wrapper(orig, name):
    """Tensor method ``name`` that records a call_method node when an argument is a Proxy
    (``real_tensor.add(proxy)``)."""
    def wrapper(self, *args, **kwargs):
        if _TRACING and (_has_proxy(args) or (kwargs and _has_proxy(kwargs))):
            return _TRACING[-1].create_proxy("call_method", name, (self,) + args, kwargs)
        return orig(self, *args, **kwargs)
    wrapper.__name__ = name
    wrapper._fx_original = orig
    return wrapper


_NOT_RECORDED = {"is_tensor", "is_storage", "compile", "manual_seed", "seed", "set_default_dtype",
                 "get_default_dtype", "set_printoptions", "save", "load", "install_as_torch", "is_grad_enabled",
                 "set_grad_enabled", "typename", "is_floating_point", "is_complex"}
_WRAPPERS = {}  # (id(original), name) -> (original, wrapper)
_NAMESPACE_PATCHES = []  # [(namespace object, attribute, original)], computed once


def _wrapper_for(orig, name):
    key = (id(orig), name)
    hit = _WRAPPERS.get(key)
    if hit is None or hit[0] is not orig:
        hit = _WRAPPERS[key] = (orig, _function_wrapper(orig, name))
    return hit[1]


def _recordable(name, v):
    if name.startswith("__") or name in _NOT_RECORDED or isinstance(v, type) or not callable(v):
        return False
    from .._dispatch import OpDef
    if isinstance(v, OpDef):
        return True
    mod = getattr(v, "__module__", None) or ""
    return mod.startswith("jtorch") and not mod.startswith("jtorch.fx") or mod == "math"


def _namespace_patches():
    if not _NAMESPACE_PATCHES:
        import jtorch
        import jtorch.nn.functional as F
        for ns in (jtorch, F, jtorch.special, jtorch.linalg, jtorch.fft):
            for k, v in list(vars(ns).items()):
                if _recordable(k, v) and (not k.startswith("_") or k == "_assert"):
                    _NAMESPACE_PATCHES.append((ns, k, v))
        for k, v in vars(math).items():
            if not k.startswith("_") and callable(v):
                _NAMESPACE_PATCHES.append((math, k, v))
    return _NAMESPACE_PATCHES


_WRAPPED_GLOBALS = []  # fx.wrap registrations: (globals dict of the module that called wrap, name)


def wrap(fn_or_name):
    """At module scope: calls of this function (or the function of this name) from the module's code
    are recorded as call_function nodes instead of being traced through."""
    if callable(fn_or_name):
        name = fn_or_name.__code__.co_name if hasattr(fn_or_name, "__code__") else fn_or_name.__name__
    elif isinstance(fn_or_name, str):
        name = fn_or_name
    else:
        raise AssertionError("Unsupported type for global function! Must be either a callable or string name")
    frame = sys._getframe(1)
    if frame.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    _WRAPPED_GLOBALS.append((frame.f_globals, name))
    return fn_or_name


class _Patcher:
    """Replaces attributes for the length of a trace and puts every original back."""

    def __init__(self):
        self.saved = []  # (object, attribute, original or _MISSING, via setattr?)
        self.seen_globals = set()

    def set(self, obj, name, value, is_dict=False):
        if is_dict:
            self.saved.append((obj, name, obj.get(name, _MISSING), True))
            obj[name] = value
        else:
            self.saved.append((obj, name, obj.__dict__.get(name, _MISSING) if isinstance(obj, type) else
                               getattr(obj, name, _MISSING), False))
            setattr(obj, name, value)

    def patch_globals(self, g, originals):
        """Functions the traced code imported by name (``from torch import relu``)."""
        if id(g) in self.seen_globals:
            return
        self.seen_globals.add(id(g))
        for k, v in list(g.items()):
            hit = originals.get(id(v))
            if hit is not None and hit[0] is v:
                self.set(g, k, hit[1], is_dict=True)

    def patch_closure(self, fn, originals):
        """Torch functions a traced function holds in its closure (``r = torch.relu; lambda x: r(x)``)."""
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                v = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            hit = originals.get(id(v))
            if hit is not None and hit[0] is v:
                self.saved.append((cell, "cell_contents", v, False))
                cell.cell_contents = hit[1]

    def restore(self):
        for obj, name, orig, is_dict in reversed(self.saved):
            if is_dict:
                if orig is _MISSING:
                    obj.pop(name, None)
                else:
                    obj[name] = orig
            elif orig is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, orig)
        self.saved.clear()


_MISSING = object()


class _Recording:
    """The context a trace (or a Transformer) runs in: ``tracer`` is current and the torch namespaces,
    Tensor methods and Module calls are wrapped."""

    def __init__(self, tracer, fn_globals=None, modules=True):
        self.tracer = tracer
        self.fn_globals = fn_globals
        self.modules = modules

    def __enter__(self):
        import jtorch
        from .. import _dispatch
        from ..nn import Module
        p = self.patcher = _Patcher()
        originals = {}
        for ns, k, v in _namespace_patches():
            if ns.__dict__.get(k) is not v:
                continue
            w = _wrapper_for(v, k)
            originals.setdefault(id(v), (v, w))
            p.set(ns, k, w)
        for mod in getattr(self.tracer, "autowrap_modules", ()):
            if mod is math:
                continue  # (always wrapped above)
            for k, v in list(vars(mod).items()):
                if not k.startswith("_") and callable(v) and not isinstance(v, type) and \
                        not isinstance(v, types.ModuleType):
                    w = _wrapper_for(v, k)
                    originals.setdefault(id(v), (v, w))
                    p.set(mod, k, w)
        for g, name in _WRAPPED_GLOBALS:
            orig = g[name] if name in g else getattr(builtins, name, None)
            if orig is None:
                continue
            p.set(g, name, _wrapper_for(orig, name), is_dict=True)
        for k, f in _dispatch.METHODS.items():  # (an op's method, an in-place method: made from f)
            m = jtorch.Tensor.__dict__.get(k)
            if not k.startswith("_") and m is not None and getattr(m, "__wrapped__", None) is f:
                p.set(jtorch.Tensor, k, _method_wrapper(m, k))
        self.originals = originals
        if self.fn_globals is not None:
            p.patch_globals(self.fn_globals, originals)
        tracer = self.tracer
        tracer._recording = self
        if self.modules:
            orig_call = Module.__call__
            orig_getattr = Module.__getattr__
            cache = {}

            def module_call(mod, *args, **kwargs):
                if not _TRACING or _TRACING[-1] is not tracer:
                    return orig_call(mod, *args, **kwargs)

                def forward(*a, **k):
                    return orig_call(mod, *a, **k)
                return tracer.call_module(mod, forward, args, kwargs)

            def module_getattr(mod, name):
                v = orig_getattr(mod, name)
                if not _TRACING or _TRACING[-1] is not tracer:
                    return v
                return tracer.getattr(name, v, cache)
            p.set(Module, "__call__", module_call)
            p.set(Module, "__getattr__", module_getattr)
        _TRACING.append(tracer)
        return self

    def watch_instance(self, m):
        """Torch functions a module holds as plain attributes (``self.act = F.relu``)."""
        for k, v in list(vars(m).items()):
            hit = self.originals.get(id(v))
            if hit is not None and hit[0] is v:
                self.patcher.set(m, k, hit[1])
        seen = self.__dict__.setdefault("_classes_seen", set())
        for klass in type(m).__mro__:  # and as static methods of its class (``_fn = staticmethod(F.x)``)
            if klass in seen or not klass.__module__.startswith(("jtorch.nn", "torch.nn")) and \
                    klass.__module__ in ("builtins",):
                continue
            seen.add(klass)
            for k, v in list(vars(klass).items()):
                if isinstance(v, staticmethod):
                    hit = self.originals.get(id(v.__func__))
                    if hit is not None and hit[0] is v.__func__:
                        self.patcher.set(klass, k, staticmethod(hit[1]))

    def watch(self, fn):
        """Also wrap the torch functions that ``fn``'s module imported by name or its closure holds."""
        g = getattr(fn, "__globals__", None)
        if g is not None:
            self.patcher.patch_globals(g, self.originals)
        self.patcher.patch_closure(fn, self.originals)

    def __exit__(self, *exc):
        _TRACING.pop()
        self.patcher.restore()
        self.tracer._recording = None
        return False


def _all_positional(fn):
    """``fn`` with its keyword-only and variadic parameters made plain positional ones (the trace passes
    one Proxy for ``*args`` and one for ``**kwargs``)."""
    code = getattr(fn, "__code__", None)
    if code is None or not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) and \
            not code.co_kwonlyargcount:
        return fn
    n = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & inspect.CO_VARARGS) + \
        bool(code.co_flags & inspect.CO_VARKEYWORDS)
    flat = code.replace(co_argcount=n, co_kwonlyargcount=0,
                        co_flags=code.co_flags & ~(inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))
    return types.FunctionType(flat, fn.__globals__, fn.__name__, None, fn.__closure__)


class PHBase:
    """A placeholder marker for ``concrete_args``: that argument (or leaf of one) stays an input of the
    graph. ``PH`` is the plain one; subclasses' attributes are copied onto the placeholder node."""

    def __repr__(self):
        return "PH"


PH = PHBase()


class PHWithMeta(PHBase):
    """A placeholder marker carrying ``ph_key`` to find its placeholder node by."""

    def __init__(self, ph_key=None):
        super().__init__()
        self.ph_key = ph_key


def _assert_is_none(value, msg):
    assert value is None, msg


has_side_effect(_assert_is_none)


class Tracer:
    """Records a module's (or function's) forward as a Graph. Subclass it to change what is a leaf
    (``is_leaf_module``) or how values become graph arguments (``create_arg``)."""

    def __init__(self, autowrap_modules=(math,), autowrap_functions=(), param_shapes_constant=False):
        self.autowrap_modules = tuple(autowrap_modules)
        self.autowrap_functions = tuple(autowrap_functions)
        self.param_shapes_constant = param_shapes_constant
        self.submodule_paths = None
        self.root = None
        self.graph = None
        self.tensor_attrs = {}
        self._recording = None
        self._keep = []  # tensors whose ids key tensor_attrs stay alive while the tracer does
        self.traced_func_name = "forward"

    # ---- what becomes a node
    def records_call(self, name):
        """Whether a torch function called without Proxy arguments is recorded (torch.export records
        tensor factories; symbolic_trace, as torch.fx, runs them)."""
        return False

    def is_leaf_module(self, m, module_qualified_name):
        """torch.nn's own modules (not Sequential) are recorded as call_module; others are traced through."""
        from ..nn import Sequential
        mod = type(m).__module__ or ""
        return (mod.startswith("jtorch.nn") or mod.startswith("torch.nn")) and not isinstance(m, Sequential)

    def path_of_module(self, mod):
        path = self.submodule_paths.get(id(mod)) if self.submodule_paths is not None else None
        if path is None:
            for name, m in self.root.named_modules():
                if m is mod:
                    return name
            raise NameError("module is not installed as a submodule")
        return path

    def call_module(self, m, forward, args, kwargs):
        qualname = self.path_of_module(m)
        if not self.is_leaf_module(m, qualname):
            if self._recording is not None:
                self._recording.watch(type(m).forward)
                self._recording.watch_instance(m)
            return forward(*args, **kwargs)
        return self.create_proxy("call_module", qualname, args, kwargs)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        """A module attribute read during the trace: parameters become get_attr proxies."""
        from ..nn import Parameter
        if isinstance(attr_val, Parameter):
            for n, p in self.root.named_parameters():
                if attr_val is p:
                    if n not in parameter_proxy_cache:
                        kwargs = {}
                        if "proxy_factory_fn" in inspect.signature(self.create_proxy).parameters:
                            kwargs["proxy_factory_fn"] = (
                                None if not self.param_shapes_constant else
                                lambda node, n=n, p=p: ParameterProxy(self, node, n, p))
                        parameter_proxy_cache[n] = self.create_proxy("get_attr", n, (), {}, **kwargs)
                    return parameter_proxy_cache[n]
        return attr_val

    def create_arg(self, a):
        """A value as a node argument: Proxies become their nodes, the root's parameters and buffers
        get_attr nodes, other tensors constants stored on the root."""
        import jtorch
        from ..nn import Parameter
        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, Node):
            return a
        if type(a) is _Recorder:
            return a.orig
        if isinstance(a, Parameter):
            for n, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", n, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, jtorch.Tensor):
            for n, b in self.root.named_buffers():
                if a is b:
                    return self.create_node("get_attr", n, (), {})
            name = self.tensor_attrs.get(id(a))
            if name is None:
                i = 0
                while hasattr(self.root, f"_tensor_constant{i}"):
                    i += 1
                name = f"_tensor_constant{i}"
                setattr(self.root, name, a)
                self.tensor_attrs[id(a)] = name
                self._keep.append(a)
            return self.create_node("get_attr", name, (), {})
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return type(a)(*(self.create_arg(x) for x in a))
        if isinstance(a, (tuple, list)):
            return type(a)(self.create_arg(x) for x in a) if type(a) in (tuple, list) else \
                tuple(self.create_arg(x) for x in a)
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                k = self.create_arg(k)
                if isinstance(k, Node):
                    raise RuntimeError("Keys for dictionaries used as an argument cannot contain a Node. "
                                       f"Got key: {k}")
                out[k] = self.create_arg(v)
            return out
        if type(a) is slice:
            return slice(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if type(a) is range:
            return range(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if a is None or a is Ellipsis or isinstance(a, (str, int, float, bool, complex, jtorch.dtype, jtorch.device,
                                                        type)):
            return a
        if callable(a) or type(a).__module__.startswith("jtorch") or isinstance(a, (jtorch.memory_format,
                                                                                     jtorch.layout)):
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node):
        return Proxy(node, self)

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None):
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return self.proxy(node) if proxy_factory_fn is None else proxy_factory_fn(node)

    def to_bool(self, obj):
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj):
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the Proxy is used in a loop "
                         "or as a *args or **kwargs function argument. See the torch.fx docs on pytorch.org for a "
                         "more detailed explanation of what types of control flow can be traced, and check out the "
                         "Proxy docstring for help troubleshooting Proxy iteration errors")

    def keys(self, obj):
        return Attribute(obj, "keys")()

    # ---- the root's inputs
    def create_args_for_root(self, root_fn, is_module, concrete_args=None):
        sig = inspect.signature(root_fn)
        params = list(sig.parameters.values())
        args = []
        if is_module:
            params = params[1:]
            args.append(self.root)
        concrete_args = dict(concrete_args or {})
        # a container among the concrete args (with PH leaves, say) makes forward take the original
        # arguments and flatten them by a spec (torch's pytree code generation)
        tree_mode = any(v is not None and not _pytree.tree_structure(v).is_leaf() for v in concrete_args.values())
        if tree_mode:
            spec_of = {p.name: concrete_args.get(p.name, PH) for p in params}
            self.graph._pytree_info = (["self"] * is_module + list(spec_of),
                                       _pytree.tree_structure(tuple([PH] * is_module + list(spec_of.values()))),
                                       None)
        by_name = {}
        for p in params:
            default = () if p.default is inspect.Parameter.empty else (p.default,)
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                if p.name in concrete_args:
                    raise NotImplementedError("concrete_args for *args/**kwargs parameters are not supported")
                star = "*" if p.kind == p.VAR_POSITIONAL else "**"
                by_name[p.name] = self.create_proxy("placeholder", star + p.name, (), {})
            elif p.name in concrete_args:
                value = concrete_args.pop(p.name)
                leaves, spec = _pytree.tree_flatten(value)
                if spec.is_leaf() or value is None:
                    by_name[p.name] = self._concrete(p, default, value, p.name if value is PH else f"{p.name}_1")
                else:  # each leaf its own input, PH or specialized
                    by_name[p.name] = _pytree.tree_unflatten(
                        [self._concrete(p, (), leaf, f"{p.name}_{i + 1}") for i, leaf in enumerate(leaves)], spec)
            else:
                by_name[p.name] = self.create_proxy("placeholder", p.name, default, {})
        if concrete_args:
            raise RuntimeError(f"concrete_args names {sorted(concrete_args)} that are not parameters of "
                               f"{getattr(root_fn, '__qualname__', root_fn)}")
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY) for p in params):
            # the function is called with every parameter positionally, its variadic ones included
            code = root_fn.__code__
            names = code.co_varnames[int(is_module):code.co_argcount + code.co_kwonlyargcount +
                                     bool(code.co_flags & inspect.CO_VARARGS) +
                                     bool(code.co_flags & inspect.CO_VARKEYWORDS)]
            return args + [by_name[n] for n in names]
        return args + list(by_name.values())

    def _concrete(self, p, default, value, name):
        """A concrete argument (or a leaf of one): still a placeholder of the graph, with a check that
        later calls pass the value it was specialized to (as torch's)."""
        if isinstance(value, PHBase):
            out = self.create_proxy("placeholder", name, default, {})
            for k, v in vars(value).items():
                setattr(out.node, k, v)
            return out
        out = self.create_proxy("placeholder", name, default, {})
        msg = f"{p.name} has been specialized to have value {value} but got another value"
        import jtorch
        if value is None:
            self.create_proxy("call_function", _assert_is_none, (out, f"{p.name} has been specialized to have "
                                                                       "value None but got another value"), {})
        elif type(value) in (bool, int, float, str, complex):
            jtorch._assert(out == value, msg)  # (the wrapper records it: this runs inside the trace)
        else:
            warnings.warn(f"Was not able to add assertion to guarantee correct input {p.name} to specialized "
                          "function. It is up to the user to make sure that your inputs match the inputs you "
                          "specialized the function with.")
        return value

    # ---- the trace
    def trace(self, root, concrete_args=None):
        """Record ``root`` (a Module's forward, or a function) and return the Graph."""
        import jtorch
        from ..nn import Module
        is_module = isinstance(root, Module)
        if is_module:
            self.root = root
            fn = getattr(type(root), self.traced_func_name)
        else:
            self.root = Module()
            fn = root
        self._keep = []
        self.graph = Graph(tracer_cls=getattr(self, "__class__", None))
        self.tensor_attrs = {}
        self._collect_tensor_attrs(self.root, [])
        self.submodule_paths = {}
        for name, m in self.root.named_modules():
            self.submodule_paths.setdefault(id(m), name)
        with _Recording(self, getattr(fn, "__globals__", None)) as rec:
            rec.watch(fn)
            if is_module:
                rec.watch_instance(root)
            for f in self.autowrap_functions:
                g = getattr(f, "__globals__", {})
                for k, v in list(g.items()):
                    if v is f:
                        rec.patcher.set(g, k, _wrapper_for(f, k), is_dict=True)
            args = self.create_args_for_root(fn, is_module, concrete_args)
            result = _all_positional(fn)(*args)
            info = getattr(self.graph, "_pytree_info", None)
            if info is not None:  # the result is returned flat and rebuilt by its spec
                result, out_spec = _pytree.tree_flatten(result)
                self.graph._pytree_info = info[:2] + (out_spec,)
            self.create_node("output", "output", (self.create_arg(result),), {},
                             type_expr=getattr(fn, "__annotations__", {}).get("return"))
        del jtorch
        return self.graph

    def _collect_tensor_attrs(self, m, prefix):
        import jtorch
        for k, v in m.__dict__.items():
            if isinstance(v, jtorch.Tensor):
                self.tensor_attrs[id(v)] = ".".join(prefix + [k])
                self._keep.append(v)
        for k, child in m.named_children():
            self._collect_tensor_attrs(child, prefix + [k])


class GraphAppendingTracer(Tracer):
    """The tracer of a Proxy made over an existing graph's node: new nodes are appended to that graph."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        self.scope = None
        self.module_stack = {}
        self.root = None


def symbolic_trace(root, concrete_args=None):
    """Trace ``root`` (a Module or a function) into a GraphModule whose forward is the recorded program."""
    from .graph_module import GraphModule
    from ..nn import Module
    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = root.__class__.__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)


"""torch.library: define operators in Python and register their kernels, fakes and gradients.

``custom_op`` is the modern API (a decorated Python function becomes ``torch.ops.<ns>.<name>``);
``Library(ns, kind).define/impl`` and ``define``/``impl`` are the older schema-first ones. How a call
picks a kernel, and how ``jtorch.compile`` treats an opaque kernel, is in ``_custom_ops``."""
import functools
import weakref

from .._ops_namespace import OpOverload
from . import _custom_ops
from ._custom_ops import ENTRIES, OpEntry, lookup, slot, FakeImplCtx, fallthrough_kernel
from ._torch_dispatch import RULES as _DISPATCH_RULES
from .._dispatch_keys import DispatchKeySet, SafeKernelFunction, key_name
from ._schema import infer_schema, parse_schema
from ._opcheck import opcheck, OpCheckError

__all__ = ["Library", "impl", "define", "impl_abstract", "register_fake", "register_kernel", "register_autograd",
           "custom_op", "infer_schema", "opcheck", "CustomOpDef", "fallthrough_kernel", "get_kernel", "get_ctx",
           "register_vmap", "register_torch_dispatch", "register_autocast", "triton_op", "wrap_triton"]

_RESERVED = {"aten", "prim", "prims", "_", "cuda", "torch", "mkldnn", "_caffe2", "_prims_common"}


def _split(qualname):
    if not isinstance(qualname, str) or "::" not in qualname:
        raise ValueError(f"Expected there to be a namespace in {qualname!r}, i.e. the op name should look like "
                         "'namespace::name' (e.g. 'mylib::foo').")
    ns, name = qualname.split("::", 1)
    return ns, name


class CustomOpDef:
    """What ``custom_op`` returns: callable like the operator, with ``register_*`` methods."""

    def __init__(self, entry, fn):
        self._entry = entry
        self._namespace, self._name = entry.schema.name.split("::")
        self._init_fn = fn
        entry.opdef = self

    @property
    def _qualname(self):
        return f"{self._namespace}::{self._name}"

    @property
    def _opoverload(self):
        return self._entry.overload

    @property
    def _schema(self):
        return self._entry.schema

    def __repr__(self):
        return f"<CustomOpDef({self._qualname})>"

    def __call__(self, *args, **kwargs):
        return self._entry.overload(*args, **kwargs)

    def register_kernel(self, device_types, fn=None, /):
        def register(f):
            for d in _device_types(device_types):
                self._entry.kernels[d] = f
            return f
        return register if fn is None else register(fn)

    def register_fake(self, fn, /):
        self._entry.kernels["fake"] = fn
        return fn

    def register_vmap(self, func=None, /):
        return register_vmap(self, func)

    def register_autograd(self, backward, /, *, setup_context=None):
        _check_autograd(self._entry, backward, setup_context)
        self._entry.autograd = (backward, setup_context)


def _device_types(device_types):
    if device_types is None:
        return ["default"]
    if isinstance(device_types, str):
        device_types = [device_types]
    out = []
    for d in device_types:
        if d not in _DEVICE_TYPES.split(", "):
            raise RuntimeError(f"Expected one of {_DEVICE_TYPES} device type at start of device string: {d}")
        out.append("fake" if d == "meta" else d)
    return out


_DEVICE_TYPES = ("cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, vulkan, mps, "
                 "meta, hpu, mtia, privateuseone")


def _check_autograd(entry, backward, setup_context):
    if not callable(backward):
        raise TypeError(f"Expected backward to be a function, got {type(backward)}")
    if setup_context is not None and not callable(setup_context):
        raise TypeError(f"Expected setup_context to be a function, got {type(setup_context)}")
    if any(r.alias is not None for r in entry.schema.returns):
        raise RuntimeError(f"register_autograd: operator {entry.key} returns an alias of an input; "
                           "autograd is not supported for it")


def _define(schema, custom, tags=()):
    key = schema.name + ("." + schema.overload_name if schema.overload_name else "")
    entry = ENTRIES.get(key)
    if entry is not None:
        if not (custom and entry.custom):
            raise RuntimeError(f"Tried to register an operator ({schema}) with the same name and overload name "
                               "multiple times. Each overload's schema should only be registered with a single "
                               "call to def().")
        entry.reset(schema)
        return entry
    entry = ENTRIES[key] = OpEntry(schema, custom, tags)
    return entry


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None, tags=None):
    """Wrap ``fn`` as the operator ``name`` ('ns::op'); usable as ``@custom_op(name, mutates_args=...)``."""
    if isinstance(mutates_args, str):
        if mutates_args != "unknown":
            raise ValueError("mutates_args must either be a sequence of the names of the arguments that are "
                             "mutated or the string 'unknown'. ")
    else:
        mutates_args = tuple(mutates_args)  # any iterable of names (TypeError for a non-iterable, as torch)

    def wrap(f):
        ns, opname = _split(name)
        if "." in opname:
            raise ValueError(f"custom_op(name): {name!r} should not contain an overload name")
        text = schema if schema is not None else infer_schema(f, mutates_args=mutates_args)
        sch = parse_schema(text, name=f"{ns}::{opname}")
        entry = _define(sch, custom=True, tags=tags or ())
        for d in _device_types(device_types):
            entry.kernels[d] = f
        return CustomOpDef(entry, f)

    return wrap if fn is None else wrap(fn)


def _entry_of(op):
    """The OpEntry for a CustomOpDef, OpOverload, packet or qualified name."""
    if isinstance(op, CustomOpDef):
        return op._entry
    if isinstance(op, OpOverload):
        e = op._call if isinstance(op._call, OpEntry) else None
    elif isinstance(op, str):
        _split(op)
        e = lookup(op)
    else:
        e = getattr(op, "_overloads", {}).get("default")
        e = e._call if e is not None and isinstance(e._call, OpEntry) else None
    if e is None:
        raise ValueError(f"register: operator {op} was not defined with torch.library (jtorch cannot register "
                         "kernels for its built-in aten operators)")
    return e


def register_fake(op, fn=None, /, *, lib=None, _stacklevel=1, allow_override=False):
    """Register the fake (meta) kernel of ``op``: output shapes and dtypes without data. With ``lib``, the
    registration goes when that Library does."""
    if isinstance(op, str) and _split(op)[0] not in _RESERVED and lookup(op) is None:
        raise RuntimeError(f"operator {op} does not exist")

    def register(f):
        e = _entry_of(op)
        _check_fake(e)
        e.kernels["fake"] = f
        if lib is not None:
            lib._kernels.append((e, "fake", f))
        return f
    return register if fn is None else register(fn)


def _check_fake(entry):
    k = entry.kernels
    if k.get("implicit", fallthrough_kernel) is not fallthrough_kernel and \
            not any(s in k for s in ("default", "cpu", "cuda")):
        raise RuntimeError(f"We should not register a meta kernel directly to the operator '{entry.schema.name}', "
                           "because it has a CompositeImplicitAutograd kernel in core. Instead we should let the "
                           "operator decompose, and ensure that we have meta kernels for the base ops that it "
                           "decomposes into.")


impl_abstract = register_fake


def register_kernel(op, device_types, fn=None, /, *, lib=None):
    """Register ``fn`` as the kernel of ``op`` for ``device_types`` ('cpu', 'cuda', None: all)."""
    def register(f):
        e = _entry_of(op)
        for d in _device_types(device_types):
            e.kernels[d] = f
        return f
    return register if fn is None else register(fn)


def register_autograd(op, backward, /, *, setup_context=None, lib=None):
    """Register ``backward(ctx, *grads)`` (and ``setup_context(ctx, inputs, output)``) as ``op``'s gradient."""
    e = _entry_of(op)
    _check_autograd(e, backward, setup_context)
    e.autograd = (backward, setup_context)


def get_ctx():
    """The context of the running fake kernel (``get_ctx().new_dynamic_size()``, see FakeImplCtx)."""
    return FakeImplCtx()


def register_vmap(op, func=None, /, *, lib=None):
    """Register ``func(info, in_dims, *args, **kwargs) -> (output, out_dims)`` as ``op``'s batching rule under
    jtorch.func.vmap (without one, vmap runs the kernel once per example). The op needs a fake: the rule
    applies where the op runs traced (see _custom_ops)."""
    def register(f):
        _entry_of(op).vmap = f
        return f
    return register if func is None else register(func)


def register_torch_dispatch(op, torch_dispatch_class, func=None, /, *, lib=None):
    """Register ``func`` as what ``op`` does under a ``TorchDispatchMode`` of class ``torch_dispatch_class``
    (``func(mode, op, types, args, kwargs)``) or with a tensor argument of that Tensor subclass
    (``func(cls, op, types, args, kwargs)``), in place of the class's ``__torch_dispatch__``. For the
    operators of torch.library only: jtorch's built-in ops have no dispatcher (see _torch_dispatch)."""
    key = _op_key(op)

    def register(f):
        _DISPATCH_RULES.setdefault(key, {})[torch_dispatch_class] = f
        if lib is not None:
            lib._rules.append((key, torch_dispatch_class, f))
        return f
    return register if func is None else register(func)


def _op_key(op):
    """``ns::name.overload`` (no ".default") of a CustomOpDef, OpOverload or qualified name (which need not
    be defined yet, as in torch)."""
    if isinstance(op, CustomOpDef):
        return op._entry.key
    if isinstance(op, OpOverload):
        return op.name()
    if isinstance(op, str):
        _split(op)
        return op[:-len(".default")] if op.endswith(".default") else op
    return _entry_of(op).key


# the device types with an autocast dispatch key in torch (register_autocast's)
_AUTOCAST_DEVICES = ("cpu", "cuda", "xpu", "mps", "mtia", "maia", "hpu", "privateuseone")


def register_autocast(op, device_type, cast_inputs, /, *, lib=None):
    """Under ``autocast(device_type)``, ``op`` gets its floating-point inputs on that device (float64 excepted)
    cast to ``cast_inputs`` and runs with autocast off, as torch's custom autocast rule."""
    if not isinstance(device_type, str) or device_type not in _AUTOCAST_DEVICES:
        raise AttributeError(f"register_autocast: there is no autocast dispatch key for device type "
                             f"{device_type!r}; expected one of {', '.join(_AUTOCAST_DEVICES)}")
    e = _entry_of(op)
    e.autocast[device_type] = cast_inputs
    if lib is not None:
        lib._autocasts.append((e, device_type))


def triton_op(name, fn=None, /, *, mutates_args, schema=None):
    """torch's custom operator whose body launches Triton kernels through ``wrap_triton``. jtorch runs no
    Triton (``wrap_triton`` raises); the op itself is a ``custom_op`` whose body runs as its kernel on every
    device, as torch's does when Triton is missing."""
    return custom_op(name, fn, mutates_args=mutates_args, schema=schema)


def wrap_triton(triton_kernel, /):
    """torch's launcher for a Triton kernel inside a triton_op. jtorch cannot launch Triton kernels: without
    the triton package this is torch's ModuleNotFoundError, with it a NotImplementedError."""
    import importlib.util
    if importlib.util.find_spec("triton") is None:
        raise ModuleNotFoundError("No module named 'triton'", name="triton")
    raise NotImplementedError("wrap_triton: jtorch runs on XLA and cannot launch Triton kernels; write the "
                              "triton_op's body in jtorch ops (or register a kernel with register_kernel)")


class Library:
    """A group of registrations for namespace ``ns``: 'DEF' (the one block that defines operators),
    'FRAGMENT' (more definitions), 'IMPL' (kernels only). As in torch, its definitions and kernels go
    when the object does (keep a reference while the operators are in use)."""
    _defs = weakref.WeakValueDictionary()  # ns -> the live DEF library

    def __init__(self, ns, kind, dispatch_key=""):
        if kind not in ("IMPL", "DEF", "FRAGMENT"):
            raise ValueError(f"Unsupported kind: {kind}")
        if ns in _RESERVED and kind in ("DEF", "FRAGMENT"):
            raise ValueError(f"{ns} is a reserved namespace. Please try creating a library with another name.")
        if kind == "DEF":
            if ns in Library._defs:
                raise RuntimeError(
                    f"Only a single TORCH_LIBRARY can be used to register the namespace {ns}; please put all of "
                    "your definitions in a single TORCH_LIBRARY block.  If you were trying to specify "
                    "implementations, consider using TORCH_LIBRARY_IMPL (which can be duplicated).  If you really "
                    "intended to define operators for a single namespace in a distributed way, you can use "
                    "TORCH_LIBRARY_FRAGMENT to explicitly indicate this.")
            Library._defs[ns] = self
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._op_defs = []
        self._kernels = []  # (entry, slot, fn) registered through this library
        self._rules = []  # (op key, class, rule) of register_torch_dispatch(lib=self)
        self._autocasts = []  # (entry, device type) of register_autocast(lib=self)
        self._fallbacks = []  # (dispatch key, fn) of fallback()

    def __repr__(self):
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"

    def define(self, schema, alias_analysis="", *, tags=()):
        """Define an operator from its schema (``"name.overload(Tensor x) -> Tensor"``); returns its name."""
        if self.kind == "IMPL":
            raise RuntimeError(f'def("{schema.split("(")[0]}"): Cannot define an operator inside of a '
                               "TORCH_LIBRARY_IMPL block.  All def()s should be placed in the (unique) "
                               "TORCH_LIBRARY block for their namespace.")
        if alias_analysis not in ("", "FROM_SCHEMA", "CONSERVATIVE"):
            raise RuntimeError(f"Invalid alias_analysis type {alias_analysis}")
        sch = parse_schema(schema if "::" in schema.split("(")[0] else f"{self.ns}::{schema}")
        if isinstance(tags, (list, tuple)) is False:
            tags = (tags,)
        entry = _define(sch, custom=False, tags=tags)
        self._op_defs.append(entry.key)
        return sch.name.split("::")[1]

    def impl(self, op_name, fn, dispatch_key="", *, with_keyset=False, allow_override=False):
        """Register ``fn`` as the kernel of ``op_name`` (in this namespace) for ``dispatch_key``."""
        if not callable(fn):
            raise TypeError(f"Input function is required to be a callable but found type {type(fn)}")
        key = key_name(dispatch_key or self.dispatch_key)
        if with_keyset and fn is not fallthrough_kernel:  # the kernel takes the keyset it runs at first
            fn = functools.partial(fn, DispatchKeySet(key or "CompositeImplicitAutograd"))
        if key in _NO_LEVEL:  # a dispatch level jtorch does not have: skipping it is what a fallthrough asks
            if fn is fallthrough_kernel:
                return
            raise NotImplementedError(f"Library.impl: jtorch has no {key} dispatch level to register a kernel at "
                                      "(it has CPU/CUDA/CompositeExplicitAutograd, CompositeImplicitAutograd, "
                                      "Autograd and Meta)")
        where = slot(key or "CompositeImplicitAutograd")
        if isinstance(op_name, OpOverload):
            qual = op_name.name()
        elif isinstance(op_name, str):
            qual = op_name if "::" in op_name else f"{self.ns}::{op_name}"
        else:
            raise RuntimeError("impl should be passed either a name or an OpOverload object as the first argument")
        if qual.split("::")[0] in _RESERVED:
            raise NotImplementedError(f"jtorch cannot replace the kernels of its built-in operator {qual}: they are "
                                      "jtorch functions, not dispatcher entries")
        e = lookup(qual)
        if e is None:
            raise RuntimeError(f"Could not find operator {qual}: define it (Library.define or torch.library.define) "
                               "before registering kernels for it")
        e.kernels[where] = fn
        self._kernels.append((e, where, fn))

    def _register_fake(self, op_name, fn, _stacklevel=1, *, allow_override=True):
        """``op_name``'s fake kernel, for as long as this library lives."""
        qual = op_name.name() if isinstance(op_name, OpOverload) else \
            op_name if "::" in op_name else f"{self.ns}::{op_name}"
        register_fake(qual, fn, lib=self)

    def _register_torch_dispatch_rule(self, op_name, torch_dispatch_class, fn):
        qual = op_name if "::" in op_name else f"{self.ns}::{op_name}"
        register_torch_dispatch(qual, torch_dispatch_class, fn, lib=self)

    def fallback(self, fn, dispatch_key="", *, with_keyset=False):
        """Register ``fn(op, *args, **kwargs)`` (``fn(op, keyset, ...)`` with ``with_keyset``) as the backend
        fallback of ``dispatch_key``: called for the operators that have no kernel of their own for that key
        (jtorch's aten operators have one for every device; a library operator without a ``CPU``/``CUDA``
        kernel reaches the fallback of its device). Only on the global namespace ``"_"``; keys torch already
        holds a fallback for raise torch's error."""
        if dispatch_key == "":
            dispatch_key = self.dispatch_key
        if self.ns != "_":
            raise RuntimeError(f'Fallback can only be registered using library fragment on the global namespace "_" '
                               f"but it is {self.ns}")
        assert dispatch_key != "", "dispatch_key must not be empty for fallback"
        key = key_name(dispatch_key)
        _custom_ops.register_fallback(key, fn, with_keyset)
        self._fallbacks.append((key, fn))

    def _destroy(self):
        for e, where, fn in self._kernels:
            if e.kernels.get(where) is fn:
                del e.kernels[where]
        self._kernels = []
        for key, cls, rule in self._rules:
            if _DISPATCH_RULES.get(key, {}).get(cls) is rule:
                del _DISPATCH_RULES[key][cls]
        for e, dev in self._autocasts:
            e.autocast.pop(dev, None)
        self._rules, self._autocasts = [], []
        for key, fn in self._fallbacks:
            _custom_ops.drop_fallback(key, fn)
        self._fallbacks = []
        for key in self._op_defs:
            e = ENTRIES.pop(key, None)
            if e is not None:
                pk = e.overload._overloadpacket
                pk._overloads.pop(e.overload._overloadname, None)
                if not pk._overloads:
                    from .._ops_namespace import CUSTOM
                    CUSTOM.get(pk._namespace, {}).pop(pk._name, None)
        self._op_defs = []
        if Library._defs.get(self.ns) is self:
            del Library._defs[self.ns]

    def __del__(self):
        try:
            self._destroy()
        except Exception:  # interpreter shutdown
            pass


# torch dispatch keys with no counterpart in jtorch's library dispatch (_custom_ops._SLOTS has the ones it has)
_NO_LEVEL = frozenset({"Autocast", "AutocastCPU", "AutocastCUDA", "AutocastXPU", "AutocastMPS", "ADInplaceOrView",
                       "Python", "PythonTLSSnapshot", "PythonDispatcher", "PreDispatch", "FuncTorchBatched",
                       "FuncTorchDynamicLayerFrontMode", "FuncTorchDynamicLayerBackMode", "Functionalize",
                       "BackendSelect", "Batched", "Conjugate", "Negative", "ZeroTensor", "Tracer"})

_KEEP = {}  # ns -> FRAGMENT library kept alive for torch.library.define / impl without ``lib``


def _fragment(ns):
    lib = _KEEP.get(ns)
    if lib is None:
        lib = _KEEP[ns] = Library(ns, "FRAGMENT")
    return lib


def define(qualname, schema, *, lib=None, tags=()):
    """``define("ns::name", "(Tensor x) -> Tensor")``: define an operator (kernels come from ``impl``)."""
    ns, name = _split(qualname)
    if lib is None:
        lib = _fragment(ns)
    lib.define(name + schema, tags=tags)


def impl(qualname, types, func=None, *, lib=None):
    """``@impl("ns::name", "cpu")``: register a kernel for device types ('cpu', 'cuda', 'default', or a
    dispatch key); also the older ``impl(lib, name, dispatch_key)`` form."""
    if isinstance(qualname, Library):
        target, name, key = qualname, types, func or ""

        def register_lib(f):
            target.impl(name, f, key)
            return f
        return register_lib
    if isinstance(types, str):
        types = (types,)
    keys = [{"cpu": "CPU", "cuda": "CUDA", "meta": "Meta", "default": "CompositeExplicitAutograd"}.get(t, t)
            for t in types]
    ns, name = _split(qualname) if isinstance(qualname, str) else (qualname.namespace, qualname.name())

    def register(f):
        target = lib if lib is not None else _fragment(ns)
        for k in keys:
            target.impl(qualname if isinstance(qualname, OpOverload) else name, f, k)
        return f
    return register if func is None else register(func)


def get_kernel(op, dispatch_key):
    """The kernel that runs for ``op`` at the runtime ``dispatch_key`` ('CPU', 'CUDA', 'Meta', 'AutogradCPU',
    ...; a DispatchKey too), resolved as the dispatcher does: call it with ``call_boxed(keyset, *args)``."""
    key = key_name(dispatch_key)
    if key in ("CompositeExplicitAutograd", "CompositeImplicitAutograd", "Autograd",
               "CompositeExplicitAutogradNonFunctional"):
        raise RuntimeError("Alias keys do not have runtime kernel registrations.")
    e = _entry_of(op)
    k = {s: f for s, f in e.kernels.items() if f is not fallthrough_kernel}
    device = {"CPU": "cpu", "CUDA": "cuda", "AutogradCPU": "cpu", "AutogradCUDA": "cuda"}.get(key)
    fn = None
    if key.startswith("Autograd"):
        # a registered Autograd kernel; else the composite one where no backend kernel takes the device;
        # else the fallback, which runs the backend kernel
        fn = k.get("autograd") or (k.get("implicit") if device not in k and "default" not in k else None) or \
            k.get(device) or k.get("default")
    elif key == "Meta":
        fn = k.get("fake") or k.get("default") or k.get("implicit")
        if fn is None:
            def fn(*args, **kwargs):
                raise NotImplementedError(f"{e.key}: attempted to run this operator with Meta tensors, but there "
                                          "was no fake impl or Meta kernel registered.")
    elif device is not None:
        fn = k.get(device) or k.get("default") or k.get("implicit")
    if fn is None:
        raise RuntimeError(f"no kernel for {key} for {e.key}")
    return SafeKernelFunction(fn, e, key)

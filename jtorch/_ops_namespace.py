"""``torch.ops``: operators by qualified name. ``torch.ops.<ns>.<name>`` is an OpOverloadPacket (all overloads
of one name), ``torch.ops.<ns>.<name>.<overload>`` an OpOverload (one schema). Custom operators
(jtorch.library) register their packets here; ``torch.ops.aten`` is built on first use from jtorch's aten
table (jtorch/library/_aten.py)."""
import os
import sys
import types

# ns -> {name: OpOverloadPacket} for operators defined through jtorch.library
CUSTOM = {}


class OpOverload:
    """One overload of an operator: a schema and the callable that runs it."""

    def __init__(self, packet, overload_name, schema, call, tags=(), numbers_as_tensors=False):
        self._overloadpacket = packet
        self._numbers_as_tensors = numbers_as_tensors  # a Python number may stand for a Tensor argument
        self._overloadname = overload_name or "default"
        self._schema = schema
        self._call = call
        self._tags = list(tags)
        self._namespace, self._opname = packet._namespace, packet._name
        self.__name__ = f"{self._opname}.{self._overloadname}"
        # so an fx graph names the target torch.ops.<ns>.<name>.<overload>, as torch's graphs do
        self.__module__ = f"torch.ops.{self._namespace}.{self._opname}"
        self.__qualname__ = self._overloadname

    def __call__(self, /, *args, **kwargs):
        rec = _fx_recording(self, args, kwargs)
        if rec is not None:
            return rec
        return self._call(*args, **kwargs)

    def name(self):
        s = self._schema
        return s.name + ("." + s.overload_name if s.overload_name else "")

    @property
    def namespace(self):
        return self._namespace

    @property
    def overloadpacket(self):
        return self._overloadpacket

    @property
    def op(self):
        return self._call

    @property
    def tags(self):
        return self._tags

    @property
    def is_view(self):
        return any(r.alias is not None and not r.is_write for r in self._schema.returns)

    def __repr__(self):
        return f"<OpOverload(op='{self._namespace}.{self._opname}', overload='{self._overloadname}')>"

    def __str__(self):
        return f"{self._namespace}.{self._opname}.{self._overloadname}"

    def __hash__(self):
        return id(self)

    def __reduce__(self):
        return _overload_by_name, (self._namespace, self._opname, self._overloadname)


def _fx_recording(op, args, kwargs):
    """Under fx/export tracing with proxy arguments: the call as one call_function node on ``op`` (an
    operator is opaque to the trace, as in torch); None otherwise."""
    fx = sys.modules.get("jtorch.fx._symbolic_trace")
    if fx is None or not fx._TRACING or not (fx._has_proxy(args) or kwargs and fx._has_proxy(kwargs)):
        return None
    return fx._TRACING[-1].create_proxy("call_function", op, args, kwargs)


def _overload_by_name(ns, name, overload):
    return getattr(getattr(getattr(ops, ns), name), overload)


class OpOverloadPacket:
    """All overloads of one operator name; calling it picks the first overload whose schema the arguments fit."""

    def __init__(self, namespace, name):
        self._namespace, self._name = namespace, name
        self._overloads = {}  # overload name ('default' for the unnamed one) -> OpOverload
        self.__name__ = name
        self.__qualname__ = name
        self.__module__ = f"torch.ops.{namespace}"

    @property
    def _qualified_op_name(self):
        return f"{self._namespace}::{self._name}"

    def _add(self, overload):
        self._overloads[overload._overloadname] = overload

    def overloads(self):
        return list(self._overloads)

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._overloads[key]
        except KeyError:
            raise AttributeError(f"The underlying op of '{self._namespace}.{self._name}' has no overload name "
                                 f"'{key}'") from None

    def __dir__(self):
        return list(self._overloads) + list(super().__dir__())

    def __call__(self, /, *args, **kwargs):
        rec = _fx_recording(self, args, kwargs)
        if rec is not None:
            return rec
        overloads = list(self._overloads.values())
        if len(overloads) == 1:
            return overloads[0](*args, **kwargs)
        from .library._schema import bind
        errors = []
        for ov in overloads:
            try:
                bind(ov._schema, args, kwargs, numbers_as_tensors=ov._numbers_as_tensors)
            except RuntimeError as e:
                errors.append(str(e))
                continue
            return ov(*args, **kwargs)
        raise RuntimeError("Overloaded torch operator invoked from Python failed to match any schema:\n"
                           + "\n\n".join(errors) + "\n")

    def __repr__(self):
        return f"<OpOverloadPacket(op='{self._namespace}.{self._name}')>"

    def __str__(self):
        return f"{self._namespace}.{self._name}"

    @property
    def op(self):
        return self


class _OpNamespace(types.ModuleType):
    """``torch.ops.<ns>``: its operators as attributes."""

    def __init__(self, name):
        super().__init__("torch.ops." + name)
        self.name = name

    def __getattr__(self, op_name):
        if op_name.startswith("__"):
            raise AttributeError(op_name)
        packet = CUSTOM.get(self.name, {}).get(op_name)
        if packet is None and self.name == "aten":
            from .library import _aten
            packet = _aten.packet(op_name)
        if packet is None:
            raise AttributeError(f"'_OpNamespace' '{self.name}' object has no attribute '{op_name}'")
        return packet

    def __dir__(self):
        names = set(CUSTOM.get(self.name, {}))
        if self.name == "aten":
            from .library import _aten
            names |= set(_aten.names())
        return sorted(names)

    def __repr__(self):
        return f"<module 'torch.ops.{self.name}' from 'torch.ops'>"


class _Ops(types.ModuleType):
    """``torch.ops``: any attribute is an operator namespace."""

    def __init__(self):
        super().__init__("torch.ops")
        self.loaded_libraries = set()
        self._namespaces = {}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        ns = self._namespaces.get(name)
        if ns is None:
            ns = self._namespaces[name] = _OpNamespace(name)
        return ns

    def __iter__(self):
        return iter(self._namespaces)

    def load_library(self, path):
        """torch loads a C++ operator library here; jtorch runs on JAX and cannot load native kernels."""
        path = os.path.realpath(os.path.expanduser(path))
        if not os.path.exists(path):
            raise OSError(f"Could not load this library: {path}")
        raise OSError(f"Could not load this library: {path}. jtorch runs on JAX and cannot load C++ operator "
                      "extensions; define the operator in Python with jtorch.library.custom_op instead")

    def import_module(self, module):
        import importlib
        importlib.import_module(module)

    def __repr__(self):
        return "<module 'torch.ops' from '_ops.py'>"


ops = _Ops()


def packet(ns, name):
    """The custom packet ``ns::name`` (made on first use)."""
    table = CUSTOM.setdefault(ns, {})
    p = table.get(name)
    if p is None:
        p = table[name] = OpOverloadPacket(ns, name)
    return p

"""torch._C.DispatchKey / DispatchKeySet (the names torch.library takes for dispatch keys) and the kernel
objects torch.library.get_kernel returns."""
import enum

# the dispatch keys torch.library code names; the ones jtorch's library dispatch resolves are in
# _custom_ops._SLOTS, the rest are accepted for fallthrough registrations only (library._NO_LEVEL)
DispatchKey = enum.Enum("DispatchKey", [
    "Undefined", "CPU", "CUDA", "XPU", "MPS", "Meta", "HPU", "PrivateUse1", "BackendSelect", "Python",
    "PythonTLSSnapshot", "PythonDispatcher", "PreDispatch", "Functionalize", "ADInplaceOrView", "Conjugate",
    "Negative", "ZeroTensor", "Tracer", "Autograd", "AutogradCPU", "AutogradCUDA", "AutogradXPU", "AutogradMPS",
    "AutogradMeta", "AutogradOther", "Autocast", "AutocastCPU", "AutocastCUDA", "AutocastXPU", "AutocastMPS",
    "FuncTorchBatched", "Batched", "FuncTorchDynamicLayerFrontMode", "FuncTorchDynamicLayerBackMode",
    "CompositeImplicitAutograd", "CompositeExplicitAutograd", "CompositeExplicitAutogradNonFunctional"])


class DispatchKeySet:
    """A set of dispatch keys (given by name or DispatchKey)."""

    def __init__(self, *keys):
        self._keys = frozenset(k if isinstance(k, DispatchKey) else DispatchKey[k] for k in keys)

    def has(self, key):
        return (key if isinstance(key, DispatchKey) else DispatchKey[key]) in self._keys

    def add(self, key):
        return DispatchKeySet(*self._keys, key)

    def remove(self, key):
        k = key if isinstance(key, DispatchKey) else DispatchKey[key]
        return DispatchKeySet(*(x for x in self._keys if x is not k))

    def __or__(self, other):
        return DispatchKeySet(*self._keys, *other._keys)

    def __and__(self, other):
        return DispatchKeySet(*(self._keys & other._keys))

    def __sub__(self, other):
        return DispatchKeySet(*(self._keys - other._keys))

    def __eq__(self, other):
        return isinstance(other, DispatchKeySet) and self._keys == other._keys

    def __hash__(self):
        return hash(self._keys)

    def __repr__(self):
        return f"DispatchKeySet({', '.join(sorted(k.name for k in self._keys))})"


def key_name(dispatch_key):
    return dispatch_key.name if isinstance(dispatch_key, DispatchKey) else str(dispatch_key)


class SafeKernelFunction:
    """One kernel of an operator, as torch.library.get_kernel gives it: called through ``call_boxed(keyset,
    *args, **kwargs)`` (arguments bound to the operator's schema first)."""

    def __init__(self, fn, entry, dispatch_key):
        self._fn, self._entry, self._key = fn, entry, dispatch_key

    def call_boxed(self, keyset, *args, **kwargs):
        from .library._custom_ops import invoke
        from .library._schema import bind
        return invoke(self._fn, self._entry.schema, bind(self._entry.schema, args, kwargs))

    @property
    def op_handle(self):
        return self._entry.overload

    def __repr__(self):
        return f"SafeKernelFunction(debug='registered by torch.library for {self._key}')"

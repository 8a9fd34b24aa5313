"""torch.overrides: the ``__torch_function__`` protocol's public API.

A Tensor subclass or any object whose class defines ``__torch_function__(cls, func, types, args, kwargs)``
takes over the public functions called with it (``jtorch.X``, ``Tensor.X`` methods, properties and
operators, ``nn.functional.X``, ``linalg``/``fft``/``special``); a ``TorchFunctionMode`` sees every such
call while it is entered. The machinery lives in ``jtorch/_torch_function.py``.

As in torch, a method is an object of its own: ``x.add(y)`` and ``x + y`` hand ``Tensor.add`` to
``__torch_function__``, ``torch.add(x, y)`` hands ``torch.add``, ``x.shape`` hands ``Tensor.shape.__get__``.
"""
import contextlib
import functools
import inspect

from . import _dispatch
from . import _torch_function as _tf
from ._torch_function import DisableTorchFunction, DisableTorchFunctionSubclass, _disabled_torch_function_impl

__all__ = ["get_ignored_functions", "get_overridable_functions", "get_testing_overrides", "handle_torch_function",
           "has_torch_function", "has_torch_function_unary", "has_torch_function_variadic", "is_tensor_like",
           "is_tensor_method_or_property", "wrap_torch_function", "TorchFunctionMode", "enable_reentrant_dispatch",
           "resolve_name"]


def _enabled():
    return not _tf.STATE.all_off


def has_torch_function(relevant_args):
    """Whether a mode is active or an element of ``relevant_args`` overrides (a plain Tensor does not)."""
    return _enabled() and (bool(_tf.MODES) or bool(_tf.overloaded_args(tuple(relevant_args))))


def has_torch_function_unary(a):
    return _enabled() and (bool(_tf.MODES) or bool(_tf.overloaded_args((a,))))


def has_torch_function_variadic(*args):
    return _enabled() and (bool(_tf.MODES) or bool(_tf.overloaded_args(args)))


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Call ``public_api``'s overrides: the innermost mode, then the ``__torch_function__`` of the
    overriding types among ``relevant_args``; TypeError when every one returns NotImplemented."""
    return _tf.handle(public_api, args, kwargs, relevant=tuple(relevant_args))


def is_tensor_like(inp):
    """A Tensor (or subclass), or an object or type with ``__torch_function__``."""
    return type(inp) is _dispatch.Tensor or hasattr(inp, "__torch_function__")


def _tensor_members():
    """[(name, member)]: Tensor's public methods and properties, as looked up on the class (the methods
    themselves while a mode has their dispatching versions on: _torch_function._Dispatching)."""
    T = _dispatch.Tensor
    out = []
    for k in vars(T):
        if (k.startswith("_") and not k.startswith("__")) or k in _NOT_METHOD:
            continue
        v = getattr(T, k)
        if isinstance(v, property) or (callable(v) and not isinstance(v, type)):
            out.append((k, v))
    return out


def is_tensor_method_or_property(func):
    """Whether ``func`` is a method of Tensor, or a property's ``__get__`` (as ``__torch_function__`` gets
    it for ``x.shape``)."""
    return any(v is func for _, v in _tensor_members()) or getattr(func, "__name__", None) == "__get__"


def wrap_torch_function(dispatcher):
    """Decorator: the function dispatches to ``__torch_function__`` on the arguments ``dispatcher(*args,
    **kwargs)`` returns."""
    def inner(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return func(*args, **kwargs)
        return wrapped
    return inner


class TorchFunctionMode:
    """Entered as a context manager, its ``__torch_function__(func, types, args=(), kwargs=None)`` sees every
    public call (the innermost mode first; calls it makes go to the modes outside it, then to the op)."""

    def __init__(self):
        pass

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        _tf.MODES.append(self)
        _tf.refresh_flag()
        return self

    def __exit__(self, *exc):
        for i in range(len(_tf.MODES) - 1, -1, -1):
            if _tf.MODES[i] is self:
                del _tf.MODES[i]
                break
        _tf.refresh_flag()
        return False

    @classmethod
    def push(cls, *args, **kwargs):
        return cls(*args, **kwargs)


def _get_current_function_mode():
    return _tf.MODES[-1] if _tf.MODES else None


def _get_current_function_mode_stack():
    return list(_tf.MODES)


def _is_torch_function_mode_enabled():
    return _enabled() and bool(_tf.MODES)


@contextlib.contextmanager
def enable_reentrant_dispatch():
    """torch's lets a ``__torch_dispatch__`` handler re-enter the dispatcher; jtorch has no
    ``__torch_dispatch__`` level, so (as torch outside one) it is an error."""
    raise RuntimeError("Accessing torch dispatch state outside of '__torch_dispatch__' is not allowed.")
    yield


def resolve_name(f):
    """A function's public torch name (``torch.add``, ``torch.Tensor.add``), or None."""
    # names come from where the function is found (``Tensor.__neg__`` is ``Tensor.neg``, as in torch)
    for plain, dispatching in _tf.DISPATCHING.items():  # (what a mode with modes below it receives)
        if dispatching is f:
            f = plain
            break
    for ns, entries in _NAMESPACES:
        if any(g is f for g in entries):
            for name, g in vars(ns).items():
                if g is f:
                    return f"{ns.__name__.replace('jtorch', 'torch', 1)}.{name}"
    for name, g in _tensor_members():
        if g is f:
            return f"torch.Tensor.{name}"
        if isinstance(g, property) and getattr(f, "__self__", None) is g:  # Tensor.shape.__get__
            return f"torch.Tensor.{name}.{f.__name__}"
    return None


# ---------------------------------------------------------------- the lists
_NAMESPACES = []  # [(namespace, its public entries)], filled by _install_namespaces


def _install_namespaces():
    """Called once the jtorch namespace is complete: its Python functions become public entries."""
    import jtorch
    from jtorch import linalg, fft, special
    from jtorch.nn import functional
    for ns in (jtorch, functional, linalg, fft, special):
        _NAMESPACES.append((ns, _tf.install(ns)))
    import sys
    _tf.retarget_references([m for n, m in list(sys.modules.items()) if n.startswith("jtorch.") and m is not None])


def get_overridable_functions():
    """{namespace: [functions that dispatch to __torch_function__]} (Tensor's methods under Tensor)."""
    out = {ns: list(entries) for ns, entries in _NAMESPACES}
    members = _tensor_members()
    out[_dispatch.Tensor] = [v for _, v in members if not isinstance(v, property)]
    for k, v in members:  # (a property's __get__ under the property, as torch lists it)
        if isinstance(v, property) and not k.startswith("_"):
            out[v] = [v.__get__]
    return out


_NOT_METHOD = frozenset(["__new__", "__init__", "__init_subclass__", "__torch_function__", "__class__",
                         "__getstate__", "__reduce_ex__", "__hash__", "as_subclass", "_make_subclass"])


def get_ignored_functions():
    """Public functions that never dispatch to __torch_function__."""
    import jtorch
    out = set()
    for name in _tf.NOT_OVERRIDABLE:
        f = getattr(jtorch, name, None)
        if callable(f) and not isinstance(f, type):
            out.add(f)
    for name, f in vars(jtorch).items():
        if name.startswith(("set_", "get_", "use_", "are_")) and callable(f) and not isinstance(f, type):
            out.add(f)
    T = _dispatch.Tensor
    out.update([T.as_subclass, T._make_subclass, T.__torch_function__, T.__init_subclass__])
    return out


def _signature(f):
    f = getattr(f, "__wrapped__", f) if isinstance(getattr(f, "__wrapped__", None), _dispatch.OpDef) else f
    if isinstance(f, _dispatch.OpDef):
        params = []
        for n, d in zip(f.names, f.defaults):
            default = inspect.Parameter.empty if d is _dispatch._REQUIRED else d
            params.append(inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default))
        return inspect.Signature(params)
    try:
        return inspect.signature(f)
    except (TypeError, ValueError):
        return inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
                                  inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])


def get_testing_overrides():
    """{overridable function: a dummy of the same signature returning -1} (to test overrides with)."""
    out = {}
    for funcs in get_overridable_functions().values():
        for f in funcs:
            if f in out:
                continue

            def dummy(*args, **kwargs):
                return -1
            dummy.__signature__ = _signature(f)
            dummy.__name__ = getattr(f, "__name__", "dummy")
            out[f] = dummy
    return out


__all__ += ["DisableTorchFunction", "DisableTorchFunctionSubclass", "_disabled_torch_function_impl"]

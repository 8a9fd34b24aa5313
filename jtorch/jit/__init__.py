"""torch.jit: scripting and tracing as a shim, and TorchScript archives read and written in torch's format.

There is no TorchScript compiler here. Everything jtorch runs is already compiled by XLA op by op, and
``jtorch.compile`` turns whole functions into one program. So ``script``/``trace`` give back a
callable that behaves the same as what they were given: a module stays the very same module
(parameters, state_dict, train/eval, hooks all unchanged); a function is returned as a
``ScriptFunction`` that calls it. ``trace`` runs the function once on its example inputs, like
torch, so errors surface at the same place (and remembers them for ``save``). ``is_scripting()`` and
``is_tracing()`` are False, so code paths written for eager PyTorch are the ones taken.

Archives (``.pt`` files of ``torch.jit.save``):

* ``load(f, map_location, _extra_files)`` reads an archive written by torch (scripted or traced) or by
  ``save``: a ``RecursiveScriptModule`` (a jtorch ``nn.Module``) whose parameters and buffers are jtorch
  tensors and whose ``forward`` and other methods run the archive's TorchScript code as Python on jtorch
  (``_archive.py``, names bound in ``_runtime.py``). ``.code`` is torch's text of ``forward``. The code
  runs with TorchScript's names only: Python it never contains (imports, ``__class__`` & co) is refused.
* ``save(m, f, _extra_files)`` writes an archive ``torch.jit.load`` runs (``_save.py``). A module loaded
  from an archive is written with its own code. Any other module is traced with ``jtorch.export`` on the
  example inputs given to ``trace`` (or ``script(m, example_inputs=[(x,)])``) and the trace is written as
  TorchScript: like ``torch.jit.trace``'s, the code is what ran on the example (the first dimension stays
  free where the model allows), and a forward that branches on tensor data raises a RuntimeError
  instead of baking one branch in. A traced function is saved as torch does, as a module whose ``forward``
  it is; a scripted one (no example inputs) can't be.
"""
import builtins
import functools
import typing
import warnings

from .. import nn as _nn

__all__ = ["Attribute", "CompilationUnit", "Error", "Future", "RecursiveScriptModule", "ScriptFunction", "ScriptModule",
           "annotate",
           "enable_onednn_fusion", "export", "export_opnames", "fork", "freeze", "interface", "ignore",
           "isinstance", "load", "onednn_fusion_enabled", "optimize_for_inference", "save", "script",
           "script_if_tracing", "set_fusion_strategy", "strict_fusion", "trace", "trace_module", "unused", "wait",
           "is_scripting", "is_tracing", "script_method", "Final"]

Final = typing.Final


class Error(Exception):
    """What an exception raised by TorchScript code surfaces as (an Exception, not a RuntimeError, as torch's)."""


class ScriptModule(_nn.Module):
    """Base class kept for ``isinstance`` checks and for subclasses using ``@script_method``."""


class RecursiveScriptModule(ScriptModule):
    """A module loaded from a TorchScript archive (``load``): each TorchScript class of the archive is a
    subclass whose methods are the archive's code; unpickling sets its attributes (``__setstate__``)."""

    def __setstate__(self, state):
        _nn.Module.__init__(self)
        cls = type(self)
        params, buffers = set(getattr(cls, "__parameters__", ())), set(getattr(cls, "__buffers__", ()))
        self.__dict__["_archive_keys"] = list(state)  # the attributes its TorchScript class declares
        made = {}  # id(pickled tensor) -> its Parameter, so lists holding it (an LSTM's _flat_weights) hold that
        for name, value in state.items():
            if name in params and value is not None:
                made[id(value)] = _nn.Parameter(value, requires_grad=value.requires_grad)
        for name, value in state.items():
            if name == "training":
                self.__dict__["training"] = bool(value)
            elif name == "_is_full_backward_hook":
                continue  # the eager module's hook bookkeeping, not the archive's
            elif name in params:
                self.register_parameter(name, None if value is None else made[id(value)])
            elif name in buffers:
                self.register_buffer(name, value)
            elif builtins.isinstance(value, _nn.Module):
                self._modules[name] = value
            else:
                if type(value) is list and made:
                    value = [made.get(id(v), v) for v in value]
                object.__setattr__(self, name, value)

    @property
    def original_name(self):
        return type(self).__name__

    @property
    def code(self):
        """The TorchScript source of ``forward``, as the archive holds it."""
        from ._archive import method_code
        return method_code(self.__dict__.get("_class_source"), "forward")

    def _get_name(self):
        return "RecursiveScriptModule"

    def extra_repr(self):
        return f"original_name={self.original_name}"

    def save(self, f, _extra_files=None):
        save(self, f, _extra_files)


class ScriptFunction:
    """What ``script(fn)`` / ``trace(fn, ...)`` return: calls ``fn``."""

    def __init__(self, fn):
        self._fn = fn
        self._example = None
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    @property
    def code(self):
        import inspect
        try:
            return inspect.getsource(self._fn)
        except (OSError, TypeError):
            return ""

    def save(self, *args, **kwargs):
        save(self, *args, **kwargs)

    def __repr__(self):
        return f"<jtorch.jit.ScriptFunction {getattr(self._fn, '__name__', self._fn)!r}>"


def _wrap(obj):
    if builtins.isinstance(obj, (_nn.Module, ScriptFunction, type)):
        return obj  # a module (or class) stays itself: the same parameters, buffers and behaviour
    if callable(obj):
        return ScriptFunction(obj)
    raise RuntimeError(f"Type '{type(obj).__name__}' cannot be compiled since it is not a function or module")


def _deprecated(name):
    warnings.warn(f"`torch.jit.{name}` is deprecated. Please switch to `torch.compile` or `torch.export`.",
                  DeprecationWarning, stacklevel=3)


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """A callable behaving like ``obj`` (see the module docstring)."""
    _deprecated("script")
    if example_inputs and builtins.isinstance(obj, _nn.Module):
        _remember_example(obj, example_inputs[0])
    return _wrap(obj)


def _remember_example(module, example):
    """The inputs ``save`` traces the module with (a module has no TorchScript code until then)."""
    from ._save import EXAMPLES
    EXAMPLES[module] = _as_tuple(example)


def script_method(fn):
    return fn


def _as_tuple(example_inputs):
    if builtins.isinstance(example_inputs, tuple):
        return example_inputs
    return (example_inputs,)


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
          strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None, example_kwarg_inputs=None,
          _store_inputs=True):
    """Runs ``func`` once on the example inputs (as torch's tracer does) and returns a callable behaving
    like it."""
    _deprecated("trace")
    if example_inputs is None and example_kwarg_inputs is None:
        raise RuntimeError("example_kwarg_inputs and example_inputs cannot both be None")
    if example_kwarg_inputs is not None:
        if not builtins.isinstance(example_kwarg_inputs, dict):
            raise RuntimeError("example_kwarg_inputs should be a dict")
        func(**example_kwarg_inputs)
    else:
        func(*_as_tuple(example_inputs))
        if builtins.isinstance(func, _nn.Module):
            _remember_example(func, example_inputs)
        elif callable(func) and not builtins.isinstance(func, type):
            traced = _wrap(func)
            traced._example = _as_tuple(example_inputs)  # what ``save`` traces it with
            return traced
    return _wrap(func)


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
                 strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
                 example_inputs_is_kwarg=False, _store_inputs=True):
    if not builtins.isinstance(mod, _nn.Module):
        raise AttributeError("expected torch.nn.Module as the first argument")
    if not builtins.isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    for name, example in inputs.items():
        method = getattr(mod, name)
        if example_inputs_is_kwarg:
            method(**example)
        else:
            method(*_as_tuple(example))
            if name == "forward":
                _remember_example(mod, example)
    return mod


def script_if_tracing(fn):
    return fn


def is_scripting():
    """False: jtorch code always runs as Python."""
    return False


def is_tracing():
    return False


def ignore(drop=False, **kwargs):
    """``@ignore`` / ``@ignore(drop=True)``: the function is left as it is."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def annotate(the_type, the_value):
    return the_value


def Attribute(value, type):  # noqa: A002 (torch's signature)
    return value


def isinstance(obj, target_type):
    """``torch.jit.isinstance``: isinstance that understands List[int], Dict[str, Tensor], Optional[...]."""
    origin = typing.get_origin(target_type)
    if origin is None:
        return builtins.isinstance(obj, target_type)
    args = typing.get_args(target_type)
    if origin is typing.Union:
        return any(isinstance(obj, a) for a in args)
    if origin in (list, tuple, dict):
        if not builtins.isinstance(obj, origin):
            return False
        if origin is list:
            return all(isinstance(x, args[0]) for x in obj) if args else True
        if origin is tuple:
            return len(obj) == len(args) and all(isinstance(x, a) for x, a in zip(obj, args)) if args else True
        return all(isinstance(k, args[0]) and isinstance(v, args[1]) for k, v in obj.items()) if args else True
    return builtins.isinstance(obj, origin)


class Future:
    """The result of ``fork``: computed eagerly, ``wait()`` returns it."""

    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def value(self):
        return self._value

    def done(self):
        return True


def fork(func, *args, **kwargs):
    return Future(func(*args, **kwargs))


def wait(future):
    return future.wait()


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod


def enable_onednn_fusion(enabled):
    pass


def onednn_fusion_enabled():
    return False


def set_fusion_strategy(strategy):
    return []


def export_opnames(m):
    return []


class strict_fusion:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class CompilationUnit:
    def __init__(self, lang=None, _frames_up=0):
        raise NotImplementedError("jtorch.jit.CompilationUnit: there is no TorchScript compiler in jtorch; "
                                  "define the functions in Python")


def save(m, f, _extra_files=None):
    """Write ``m`` as a TorchScript archive that ``torch.jit.load`` (and ``load``) reads (see ``_save``)."""
    from ._save import save as _save
    _save(m, f, _extra_files)


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    """Read a TorchScript archive (written by ``torch.jit.save`` or ``save``) as a ``RecursiveScriptModule``."""
    from ._archive import load as _load
    return _load(f, map_location, _extra_files)

"""Decorators for DataPipe classes: functional-form registration, determinism and type checks."""
import functools
import inspect
import typing

from .datapipe import IterDataPipe, MapDataPipe


class functional_datapipe:
    """``@functional_datapipe("name")`` on a pipe class makes ``source.name(...)`` build it."""

    name: str

    def __init__(self, name, enable_df_api_tracing=False):
        self.name = name
        self.enable_df_api_tracing = enable_df_api_tracing

    def __call__(self, cls):
        if isinstance(cls, non_deterministic) or (isinstance(cls, type) and issubclass(cls, IterDataPipe)):
            IterDataPipe.register_datapipe_as_function(self.name, cls, self.enable_df_api_tracing)
        elif isinstance(cls, type) and issubclass(cls, MapDataPipe):
            MapDataPipe.register_datapipe_as_function(self.name, cls)
        elif not isinstance(cls, type):
            raise TypeError("issubclass() arg 1 must be a class")
        return cls


_determinism = False


class guaranteed_datapipes_determinism:
    """Inside ``with guaranteed_datapipes_determinism():`` building a non-deterministic pipe raises."""

    prev: bool

    def __init__(self):
        global _determinism
        self.prev = _determinism
        _determinism = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        global _determinism
        _determinism = self.prev


class non_deterministic:
    """Marks an IterDataPipe class as non-deterministic, always (``@non_deterministic``) or for the
    constructor arguments a function says so (``@non_deterministic(fn)``)."""

    cls = None
    deterministic_fn = None

    def __init__(self, arg):
        if isinstance(arg, type):
            if not issubclass(arg, IterDataPipe):
                raise TypeError(f"Only `IterDataPipe` can be decorated with `non_deterministic`, but "
                                f"{arg.__name__} is found")
            self.cls = arg
        elif callable(arg):
            self.deterministic_fn = arg
        else:
            raise TypeError(f"{arg} can not be decorated by non_deterministic")

    def __call__(self, *args, **kwargs):
        if self.cls is not None:  # decorating the class itself: this call builds an instance
            if _determinism:
                raise TypeError(f"{self.cls.__name__} is non-deterministic, but you set "
                                "'guaranteed_datapipes_determinism'. You can turn off determinism for this "
                                "DataPipe if that is acceptable for your application")
            return self.cls(*args, **kwargs)
        cls = args[0]  # decorating with a function: this call receives the class
        if not (isinstance(cls, type) and issubclass(cls, IterDataPipe)):
            raise TypeError(f"Only `IterDataPipe` can be decorated, but {cls.__name__} is found")
        self.cls = cls
        return self._deterministic_wrapper

    def _deterministic_wrapper(self, *args, **kwargs):
        if _determinism and self.deterministic_fn(*args, **kwargs):
            raise TypeError(f"{self.cls.__name__} is non-deterministic with the inputs, but you set "
                            "'guaranteed_datapipes_determinism'. You can turn off determinism for this "
                            "DataPipe if that is acceptable for your application")
        return self.cls(*args, **kwargs)


def _datapipe_origin(hint):
    origin = typing.get_origin(hint) or hint
    if isinstance(origin, type) and issubclass(origin, (IterDataPipe, MapDataPipe)):
        return origin
    return None


def argument_validation(f):
    """Checks that arguments annotated with a DataPipe type and given a DataPipe are of that kind."""
    signature = inspect.signature(f)
    hints = typing.get_type_hints(f) if hasattr(f, "__annotations__") else {}

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            kind = _datapipe_origin(hints.get(name))
            if kind is not None and isinstance(value, (IterDataPipe, MapDataPipe)) and not isinstance(value, kind):
                raise TypeError(f"Expected argument '{name}' as a {kind.__name__}, but found {type(value).__name__}")
        return f(*args, **kwargs)

    return wrapper


_runtime_validation_enabled = True


class runtime_validation_disabled:
    """Inside ``with runtime_validation_disabled():`` ``@runtime_validation`` checks nothing."""

    prev: bool

    def __init__(self):
        global _runtime_validation_enabled
        self.prev = _runtime_validation_enabled
        _runtime_validation_enabled = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        global _runtime_validation_enabled
        _runtime_validation_enabled = self.prev


def _matches(value, hint):
    if hint is typing.Any or isinstance(hint, typing.TypeVar):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        return any(_matches(value, h) for h in typing.get_args(hint))
    if origin is None:
        return isinstance(hint, type) and isinstance(value, hint)
    if not isinstance(value, origin):
        return False
    args = typing.get_args(hint)
    if origin in (list, set, frozenset) and args:
        return all(_matches(v, args[0]) for v in value)
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(args) == len(value) and all(_matches(v, h) for v, h in zip(value, args))
    if origin is dict and len(args) == 2:
        return all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    return True


def runtime_validation(f):
    """On an ``__iter__`` annotated ``-> Iterator[T]``: each yielded sample must be a ``T``
    (RuntimeError otherwise), unless inside ``runtime_validation_disabled()``."""
    if f.__name__ != "__iter__":
        raise TypeError(f"Can not decorate function {f.__name__} with 'runtime_validation'")
    hint = typing.get_type_hints(f).get("return")
    element = typing.get_args(hint)[0] if typing.get_args(hint) else typing.Any

    @functools.wraps(f)
    def wrapper(self):
        if not _runtime_validation_enabled:
            yield from f(self)
            return
        for sample in f(self):
            if not _matches(sample, element):
                raise RuntimeError(f"Expected an instance as subtype of {element}, but found {sample}"
                                   f"({type(sample)})")
            yield sample

    return wrapper

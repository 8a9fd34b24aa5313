"""Grad modes: context managers that are also decorators, like torch's."""
import functools
import inspect

from .._dispatch import GRAD, set_inference_mode


class _Mode:
    """Base: subclasses set ``_enter_state``; usable as ``with`` and as a decorator."""

    def __call__(self, fn):
        if inspect.isclass(fn):
            return fn
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen(*a, **k):
                g = fn(*a, **k)
                with self.clone():
                    resp = g.send(None)
                while True:
                    try:
                        req = yield resp
                    except GeneratorExit:
                        g.close()
                        raise
                    with self.clone():
                        resp = g.send(req)
            return gen

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with self.clone():
                return fn(*a, **k)
        return wrapper

    def clone(self):
        return self.__class__()

    def __enter__(self):
        self._prev = (GRAD.enabled, GRAD.inference)
        self._apply()
        return self

    def __exit__(self, *exc):
        GRAD.enabled = self._prev[0]
        set_inference_mode(self._prev[1])
        return False


class no_grad(_Mode):
    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is not None and callable(orig_func):
            self.__init__()
            return self(orig_func)
        return self

    def _apply(self):
        GRAD.enabled = False


class enable_grad(_Mode):
    def _apply(self):
        GRAD.enabled = True


class set_grad_enabled(_Mode):
    def __init__(self, mode):
        self.mode = bool(mode)
        self._prev = (GRAD.enabled, GRAD.inference)
        GRAD.enabled = self.mode  # takes effect immediately, like torch's function form

    def clone(self):
        return set_grad_enabled(self.mode)

    def __repr__(self):  # scripts print `torch.set_grad_enabled(False)` at a REPL or by accident
        return f"torch.autograd.grad_mode.set_grad_enabled(mode={self.mode})"

    def __enter__(self):
        return self

    def _apply(self):
        GRAD.enabled = self.mode


class inference_mode(_Mode):
    def __init__(self, mode=True):
        self.mode = mode

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode) and not isinstance(mode, bool):
            self.__init__(True)
            return self(mode)
        return self

    def clone(self):
        return inference_mode(self.mode)

    def _apply(self):
        # like torch's guard: inference_mode(True) turns grad mode off, inference_mode(False) on
        mode = bool(self.mode)
        GRAD.enabled = not mode
        set_inference_mode(mode)


def is_grad_enabled():
    return GRAD.enabled


def is_inference_mode_enabled():
    return GRAD.inference

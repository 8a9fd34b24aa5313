"""Switches of torch's autograd engine that have no effect on jtorch's (single-threaded) engine but are
kept so code that sets or queries them runs: multithreading, view replay, Kineto, the gradient layout policy."""
import functools

__all__ = ["is_multithreading_enabled", "set_multithreading_enabled", "is_view_replay_enabled",
           "kineto_available", "is_tensor_like", "enforce_grad_layout_policy"]

_MULTITHREADING = [True]


def is_multithreading_enabled():
    return _MULTITHREADING[0]


class set_multithreading_enabled:
    """Sets the flag on construction; as a context manager, restores the previous value on exit."""

    def __init__(self, mode):
        self.prev = _MULTITHREADING[0]
        _MULTITHREADING[0] = bool(mode)

    def __enter__(self):
        return None

    def __exit__(self, *args):
        _MULTITHREADING[0] = self.prev
        return False


_GRAD_LAYOUT = [True]


class enforce_grad_layout_policy:
    """Whether accumulated gradients must take their parameter's strides. jtorch's gradients are fresh arrays
    in the parameter's logical layout either way, so only the flag changes. Like set_grad_enabled: the call
    sets it at once, ``with`` restores it on exit, and as a decorator it holds during each call."""

    def __init__(self, enable=True):
        self.prev = _GRAD_LAYOUT[0]
        self.enable = bool(enable)
        _GRAD_LAYOUT[0] = self.enable

    def clone(self):
        return self.__class__(self.enable)

    def __call__(self, fn):
        _GRAD_LAYOUT[0] = self.prev  # decorating changes nothing until the function runs

        @functools.wraps(fn)
        def run(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return run

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _GRAD_LAYOUT[0] = self.prev
        return False


def _is_grad_layout_enforcement_enabled():
    return _GRAD_LAYOUT[0]


def is_view_replay_enabled():
    return False


def kineto_available():
    """torch's profiler backend is not part of jtorch."""
    return False


def is_tensor_like(inp):
    from .. import _dispatch
    return isinstance(inp, _dispatch.Tensor) or hasattr(type(inp), "__torch_function__")

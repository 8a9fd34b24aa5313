"""Switches of torch's autograd engine that have no effect on jtorch's (single-threaded) engine but are
kept so code that sets or queries them runs: multithreading, view replay, Kineto."""

__all__ = ["is_multithreading_enabled", "set_multithreading_enabled", "is_view_replay_enabled",
           "kineto_available", "is_tensor_like"]

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


def is_view_replay_enabled():
    return False


def kineto_available():
    """torch's profiler backend is not part of jtorch."""
    return False


def is_tensor_like(inp):
    from .. import _dispatch
    return isinstance(inp, _dispatch.Tensor) or hasattr(type(inp), "__torch_function__")

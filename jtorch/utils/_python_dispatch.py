"""torch.utils._python_dispatch: ``TorchDispatchMode``, as far as jtorch has a dispatcher to hook.

jtorch's built-in operators are jtorch functions that run JAX code directly, with no per-op dispatcher to
intercept: a mode does not see them. It does see the operators defined with ``torch.library`` (``custom_op``,
``Library.define``) where torch's mode would: below autograd, when a kernel of the op runs (a
CompositeImplicitAutograd kernel decomposes into built-in ops first, so there torch's mode sees those and
jtorch's nothing). ``torch.library.register_torch_dispatch`` rules for a mode's class run in place of its
``__torch_dispatch__`` (jtorch/library/_torch_dispatch.py)."""

_STACK = []  # the active modes, innermost last


class TorchDispatchMode:
    """A context manager whose ``__torch_dispatch__(func, types, args, kwargs)`` gets the calls of library
    operators made inside it. While it runs, the mode is off (calling ``func`` runs the operator itself,
    or the next mode out)."""

    def __init__(self, _dispatch_key=None):
        self._dispatch_key = _dispatch_key

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        _STACK.append(self)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if _STACK and _STACK[-1] is self:
            _STACK.pop()
        elif self in _STACK:
            _STACK.remove(self)

    @classmethod
    def push(cls, *args, **kwargs):
        return cls(*args, **kwargs)

    @classmethod
    def is_infra_mode(cls):
        return False


def _get_current_dispatch_mode():
    return _STACK[-1] if _STACK else None


def _get_current_dispatch_mode_stack():
    return list(_STACK)


def _len_torch_dispatch_stack():
    return len(_STACK)


def is_in_torch_dispatch_mode(include_infra_modes=True):
    return bool(_STACK)


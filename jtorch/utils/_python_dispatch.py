"""torch.utils._python_dispatch: ``TorchDispatchMode``.

While a mode is entered it sees every jtorch op as it runs eagerly (a Tensor subclass's ``__torch_dispatch__``
sees every op on its instances the same way), as the aten overload torch would run
(``aten.add.Tensor``, ``aten.mm.default``, ...; jtorch/utils/_dispatch_road.py), and what it returns is the
op's result; with no mode entered this costs nothing. It also sees the operators defined with
``torch.library`` (``custom_op``, ``Library.define``) where torch's mode would: below autograd, when a kernel
of the op runs. ``torch.library.register_torch_dispatch`` rules for a mode's class run in place of its
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
        from . import _dispatch_road
        _dispatch_road.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if _STACK and _STACK[-1] is self:
            _STACK.pop()
        elif self in _STACK:
            _STACK.remove(self)
        if not _STACK:
            from . import _dispatch_road
            _dispatch_road.stop()

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


"""Grad modes: context managers that are also decorators, like torch's."""
import contextlib
import functools
import inspect

import jax

from .. import _dispatch
from .._dispatch import GRAD, set_inference_mode


# The user's grad mode inside torch.func transforms: their functions run with jtorch's tape off while JAX
# differentiates them, so there grad mode is kept in _FUNC (what is_grad_enabled() says) and grad mode
# off makes what is computed a constant for the reverse-mode levels (``_stopped``, _untracked.py).
_FUNC = _dispatch.TRANSFORMS


def _grad_mode():
    return _FUNC.enabled if _FUNC.depth else GRAD.enabled


# Whether an inference_mode block ran inside the running transforms: from then on, with grad mode on,
# every op is checked (``_inference_guard``) for an inference tensor a reverse level would save.
_INFERENCE_SEEN = [False]


def _set_grad_mode(on):
    if _FUNC.depth:
        _FUNC.enabled = on
        _dispatch.STOP_GRADIENT[0] = _stopped if not on else _inference_guard if _INFERENCE_SEEN[0] else None
    else:
        GRAD.enabled = on


@contextlib.contextmanager
def transform_running(kind="reverse"):
    """The body of a torch.func transform: the tape off. As torch's: a ``"reverse"`` one (grad, vjp,
    jacrev) turns grad mode on (an outer no_grad is ignored); a ``"forward"`` (jvp, jacfwd) or
    ``"batch"`` (vmap) one keeps the caller's. Grad mode off inside stops the derivatives of the reverse
    levels only (forward ones see through no_grad; detach() stops all). Lazy batching off: it takes no
    JAX tracers, and every op then goes through ``_dispatch.apply`` (``_stopped``)."""
    prev = (GRAD.enabled, _FUNC.depth, _FUNC.enabled, _dispatch.STOP_GRADIENT[0], _dispatch.LAZY[0],
            _INFERENCE_SEEN[0])
    mode = True if kind == "reverse" else _grad_mode()
    outermost = not _FUNC.depth
    GRAD.enabled = False
    _dispatch.LAZY[0] = False
    _FUNC.depth += 1
    _set_grad_mode(mode)
    if outermost:  # the caller's grad mode off: no reverse level outside to stop for (the tape is off)
        _dispatch.STOP_GRADIENT[0] = None
    try:
        yield
    finally:
        (GRAD.enabled, _FUNC.depth, _FUNC.enabled, _dispatch.STOP_GRADIENT[0], _dispatch.LAZY[0],
         _INFERENCE_SEEN[0]) = prev


def untracked_alias(t):
    """``t``'s storage seen as grad mode off sees it inside a transform: a constant for the reverse
    levels; writes through it keep ``t``'s derivative (a view link, _ops/shape.py)."""
    from .._ops.shape import _untracked_alias
    if t._vfn and t._vfn[-1][0].untracked is not None:
        return t
    return _dispatch._apply_view(_untracked_alias, [t], ())


def detached(t):
    """``t.detach()`` inside a transform: an alias of ``t``'s storage whose value no level differentiates
    (writes through it reach ``t``, untracked); no view, as torch's."""
    from .._ops.shape import _detached
    prev = _dispatch.STOP_GRADIENT[0]
    _dispatch.STOP_GRADIENT[0] = None
    try:
        d = _dispatch._apply_view(_detached, [t], ())
    finally:
        _dispatch.STOP_GRADIENT[0] = prev
    d._base, d._avfn = None, ()
    return d


def _stopped(op, dyn, statics, raw):
    """``_dispatch.apply`` inside a transform with grad mode off: the op's results are constants for the
    reverse levels (for every level in inference mode, as torch's). A view op views an untracked alias of
    its source (writes through it reach the source); an in-place result (``raw``) keeps its destination's
    derivative, as torch's untracked in-place write does (``untracked_write``)."""
    from ..tensor import Tensor
    from .._untracked import untracked
    everywhere = GRAD.inference
    _dispatch.STOP_GRADIENT[0] = None
    try:
        if op.view is not None and isinstance(dyn[0], Tensor):
            src = detached(dyn[0]) if everywhere else untracked_alias(dyn[0])
            return _dispatch._apply_view(op, [src, *dyn[1:]], statics)
        res = _dispatch.apply(op, dyn, statics, raw)
    finally:
        _dispatch.STOP_GRADIENT[0] = _stopped
    inputs = {id(a._st) for a in dyn if isinstance(a, Tensor)}

    def stop(t):
        if not isinstance(t, Tensor):
            return t
        if t._vfn or id(t._st) in inputs:  # its storage is an input's: an alias of it
            return detached(t) if everywhere else untracked_alias(t)
        t._st.array = untracked(t._st.array, everywhere=everywhere)  # a new result: stopped in place
        return t
    if isinstance(res, Tensor):
        return stop(res)
    if isinstance(res, (tuple, list)):
        items = [stop(t) for t in res]
        if all(a is b for a, b in zip(items, res)):
            return res
        return type(res)(*items) if hasattr(res, "_fields") else type(res)(items)
    if raw and isinstance(res, jax.Array):
        return untracked_write(dyn[0]._value, res)
    return res


def untracked_write(dest, res):
    """The value an in-place write with grad mode off inside a transform leaves: ``res``, with the
    destination's derivative at the reverse levels (torch's untracked in-place write keeps the tensor's
    history)."""
    from .._untracked import untracked
    same = dest.shape == res.shape and dest.dtype == res.dtype
    return untracked(res, dest if same else None, everywhere=GRAD.inference)


def _inference_guard(op, dyn, statics, raw):
    """``_dispatch.apply`` inside a transform, grad mode on, after an inference_mode block there: an op
    that would save an inference tensor for a reverse level's backward (an input that level
    differentiates beside it) raises torch's error."""
    from ..tensor import Tensor
    from .._untracked import level_requires_grad
    from .graph import _inference_saved_error
    if op.view is None and op.differentiable:
        tensors = [isinstance(a, Tensor) for a in dyn]
        if any(is_t and a._st.inference for a, is_t in zip(dyn, tensors)):
            tracked = [is_t and not a._st.inference and bool(level_requires_grad(a._value))
                       for a, is_t in zip(dyn, tensors)]
            saves = op.saves(tracked) if callable(op.saves) else op.saves
            if any(tracked) and any(is_t and a._st.inference and (saves is None or i in saves)
                                    for i, (a, is_t) in enumerate(zip(dyn, tensors))):
                raise _inference_saved_error()
    _dispatch.STOP_GRADIENT[0] = None
    try:
        if op.view is not None:
            return _dispatch._apply_view(op, dyn, statics)
        return _dispatch.apply(op, dyn, statics, raw)
    finally:
        _dispatch.STOP_GRADIENT[0] = _inference_guard


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
        self._prev = (_grad_mode(), GRAD.inference)
        self._apply()
        return self

    def __exit__(self, *exc):
        _set_grad_mode(self._prev[0])
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
        _set_grad_mode(False)


class enable_grad(_Mode):
    def _apply(self):
        _set_grad_mode(True)


class set_grad_enabled(_Mode):
    def __init__(self, mode):
        self.mode = bool(mode)
        self._prev = (_grad_mode(), GRAD.inference)
        _set_grad_mode(self.mode)  # takes effect immediately, like torch's function form

    def clone(self):
        return set_grad_enabled(self.mode)

    def __repr__(self):  # scripts print `torch.set_grad_enabled(False)` at a REPL or by accident
        return f"torch.autograd.grad_mode.set_grad_enabled(mode={self.mode})"

    def __enter__(self):
        return self

    def _apply(self):
        _set_grad_mode(self.mode)


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
        if mode and _FUNC.depth:
            _INFERENCE_SEEN[0] = True
        _set_grad_mode(not mode)
        set_inference_mode(mode)


def is_grad_enabled():
    return _grad_mode()


def is_inference_mode_enabled():
    return GRAD.inference

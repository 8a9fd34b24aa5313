"""torch._dynamo's decorators and markers (``torch.compiler`` re-exports several).

jtorch.compile traces the Python it runs, so marking a function as graph-safe (``allow_in_graph``) or
constant (``assume_constant_result``) changes nothing: its calls are traced, and the Python values it
returns while tracing are constants of the program, as Dynamo assumes for a constant result. The dimension
markers set the attributes torch sets; jtorch compiles one program per input shape all the same (XLA's
shapes are static), so ``mark_dynamic`` saves no recompiles and ``mark_static`` is what it does anyway.
"""
import collections
import functools


__all__ = ["allow_in_graph", "assume_constant_result", "disable", "disallow_in_graph", "forbid_in_graph",
           "mark_dynamic", "mark_static", "maybe_mark_dynamic", "mark_static_address", "set_stance",
           "nonstrict_trace"]


def _each(fn, mark):
    if isinstance(fn, (list, tuple)):
        return type(fn)(_each(f, mark) for f in fn)
    if not callable(fn):
        raise TypeError(f"expected a callable, got {type(fn).__name__}")
    try:
        setattr(fn, mark, True)
    except (AttributeError, TypeError):  # a builtin: nothing to mark
        pass
    return fn


def allow_in_graph(fn):
    """``fn`` (or each of a list) as it is: jtorch traces its calls in any case."""
    return _each(fn, "_dynamo_allow_in_graph")


def disallow_in_graph(fn):
    return _each(fn, "_dynamo_disallow_in_graph")


def forbid_in_graph(fn):
    return _each(fn, "_dynamo_forbid_in_graph")


def nonstrict_trace(fn):
    return _each(fn, "_dynamo_nonstrict_trace")


def assume_constant_result(fn):
    """``fn`` marked as torch does; the Python values it returns while tracing are constants anyway."""
    return _each(fn, "_dynamo_marked_constant")


def disable(fn=None, recursive=True, *, reason=None):
    """``fn`` never compiled: ``torch.compile`` of it (or of a function it decorates) runs it eagerly.
    Called while a compiled function is traced, it is traced with it (the same values as eager)."""
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)
    try:
        from ..nn import Module
    except ImportError:
        Module = ()
    if isinstance(fn, Module):
        fn._torchdynamo_disable = True
        return fn

    from ..compile import _IN_DISABLED

    @functools.wraps(fn)
    def disabled(*args, **kwargs):
        _IN_DISABLED[0] += 1  # is_compiling() is False inside, as in torch (where it runs eagerly)
        try:
            return fn(*args, **kwargs)
        finally:
            _IN_DISABLED[0] -= 1
    disabled._torchdynamo_disable = True
    disabled._torchdynamo_disable_recursive = recursive
    return disabled


_DimRange = collections.namedtuple("_DimRange", ["dim", "min", "max"])


def _indices(t, index):
    if index is None:
        return list(range(t.dim()))
    return list(index) if isinstance(index, (list, tuple)) else [index]


def _add(t, attr, values):
    s = getattr(t, attr, None)
    if s is None:
        s = set()
        setattr(t, attr, s)
    s.update(values)


def mark_dynamic(t, index, *, hint_override=None, min=None, max=None, specialize_on=None):
    """Mark dimension(s) ``index`` of tensor ``t`` dynamic (torch's ``_dynamo_dynamic_indices``)."""
    idx = _indices(t, index)
    _add(t, "_dynamo_dynamic_indices", idx)
    _add(t, "_dynamo_dynamic_range", [_DimRange(d, min, max) for d in idx])
    t._has_dynamo_dim_marking = True


def maybe_mark_dynamic(t, index):
    """Mark dimension(s) dynamic where the program allows it (``_dynamo_weak_dynamic_indices``)."""
    _add(t, "_dynamo_weak_dynamic_indices", _indices(t, index))


def mark_static(t, index=None):
    """Mark dimension(s) of ``t`` (all with ``index=None``) static, or an nn.Module class static."""
    if isinstance(t, type):
        t._dynamo_marked_static = True
        return t
    try:
        from ..nn import Module
    except ImportError:
        Module = ()
    if isinstance(t, Module):
        t._dynamo_marked_static = True
        return t
    _add(t, "_dynamo_static_indices", _indices(t, index))
    t._has_dynamo_dim_marking = True


def mark_static_address(t, guard=True):
    """Mark ``t``'s storage as one fixed address (CUDA graphs); jtorch has none to fix."""
    t._dynamo_static_input_type = "guarded" if guard else "unguarded"


class set_stance:
    """``torch.compiler.set_stance(stance)``: how compiled functions run from now on (a call), inside a
    ``with`` block, or during each call of a decorated function. ``"default"``; ``"force_eager"`` (they
    run eagerly); ``"eager_on_recompile"`` / ``"fail_on_recompile"`` (a call that needs a new program runs
    eagerly / raises RuntimeError); ``"eager_then_compile"`` (jtorch's default already). An unknown stance
    raises RuntimeError at the next compiled call, as in torch. ``skip_guard_eval_unsafe`` and
    ``force_backend`` are accepted (jtorch has one backend and always checks its guards)."""

    def __init__(self, stance="default", *, skip_guard_eval_unsafe=False, force_backend=None):
        from ..compile import _STANCE
        self.stance = stance
        self.prev = _STANCE[0]
        _STANCE[0] = stance

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        from ..compile import _STANCE
        _STANCE[0] = self.prev
        return False

    def __call__(self, fn):
        from ..compile import _STANCE
        _STANCE[0] = self.prev  # as a decorator it applies during the calls only
        stance = self.stance

        @functools.wraps(fn)
        def with_stance(*args, **kwargs):
            prev, _STANCE[0] = _STANCE[0], stance
            try:
                return fn(*args, **kwargs)
            finally:
                _STANCE[0] = prev
        return with_stance

"""A custom autograd Function under torch.func transforms (grad, vjp, jvp, vmap, jac*, ...).

torch runs such a Function level by level: at a reverse level its ``backward`` gives the gradients, at a
forward level its ``jvp`` the tangents, at a vmap level its ``vmap`` staticmethod (or, with
``generate_vmap_rule = True``, the other rules vmapped). At each level the forward runs one level down, so
a forward written with numpy (``.numpy()``, ``torch.tensor(...)``) runs on concrete values once the
transforms are peeled off. Here each level is JAX's innermost trace: a reverse level (``jax.vjp``'s
LinearizeTrace) binds a ``jax.custom_vjp``, a forward one (JVPTrace) a ``jax.custom_jvp``, whose rules call
the Function's; a vmap level (BatchTrace) calls the ``vmap`` staticmethod on the unbatched values one level
down and wraps what it returns, or (``generate_vmap_rule``) lets JAX batch the rules of the next
differentiation level. Inside, ``Function.apply`` runs again one level down.
"""
import contextlib
import inspect

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import core
from jax._src.interpreters import ad, batching

from .. import _dispatch

_DIFF_TRACES = (ad.JVPTrace, ad.LinearizeTrace)
# How many of a Function's rules are running: JAX calls a pullback (jacrev's vmap of it) after the
# transform's body returned, and the Function applications in ``backward`` still see a transform.
_IN_RULE = [0]


@contextlib.contextmanager
def _rule():
    _IN_RULE[0] += 1
    try:
        yield
    finally:
        _IN_RULE[0] -= 1


def traced(args):
    """Whether the Function runs inside a torch.func transform: on JAX tracers, a transform's body running
    (not jtorch's own JAX tracing: compile, an op's VJP)."""
    T = _dispatch.Tensor
    return (_dispatch.TRANSFORMS.depth or _IN_RULE[0]) and any(isinstance(a, T) and isinstance(a._value, core.Tracer) for a in args) \
        and isinstance(_current(), (batching.BatchTrace,) + _DIFF_TRACES)


def _current():
    return core.unsafe_get_current_trace()


def _levels(trace):
    while trace is not None:
        yield trace
        trace = getattr(trace, "parent_trace", None)


def _overrides(cls, name):
    from .function import Function
    return getattr(cls, name) is not getattr(Function, name)


def _check_transformable(cls, trace):
    if not _overrides(cls, "setup_context"):
        raise RuntimeError("In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, "
                           "jacrev, ...), it must override the setup_context staticmethod. For more details, "
                           "please see https://pytorch.org/docs/main/notes/extending.func.html")
    if any(isinstance(t, batching.BatchTrace) for t in _levels(trace)) and not (
            getattr(cls, "generate_vmap_rule", False) or _overrides(cls, "vmap")):
        raise RuntimeError(f"To use autograd.Function with vmap, you must either override the vmap staticmethod "
                           f"or set generate_vmap_rule=True. Got {cls.__name__} with neither.")


def apply(cls, args, kwargs):
    """``cls.apply(*args)`` at JAX's innermost trace (see the module's docstring)."""
    trace = _current()
    _check_transformable(cls, trace)
    args, kwargs = bind_defaults(cls, args, kwargs), {}  # (the rules get a value for every forward argument)
    if isinstance(trace, batching.BatchTrace):
        if not getattr(cls, "generate_vmap_rule", False):
            return _vmap_rule(cls, trace, args, kwargs)
        diff = next((t for t in _levels(trace) if isinstance(t, _DIFF_TRACES)), None)
        if diff is None:  # no derivative below: the forward, batched as any jtorch code
            return _forward_only(cls, args, kwargs)
        return _differentiated(cls, isinstance(diff, ad.LinearizeTrace), args, kwargs)
    if isinstance(trace, _DIFF_TRACES):
        return _differentiated(cls, isinstance(trace, ad.LinearizeTrace), args, kwargs)
    return _forward_only(cls, args, kwargs)


def _forward_only(cls, args, kwargs):
    from .function import run_forward
    out, _ = run_forward(cls, args, kwargs)
    return out


# ------------------------------------------------------------------ vmap
class VmapInfo:
    def __init__(self, batch_size, randomness="error"):
        self.batch_size, self.randomness = batch_size, randomness


def _vmap_rule(cls, trace, args, kwargs):
    """The ``vmap`` staticmethod one level down, its outputs batched at this level."""
    T = _dispatch.Tensor
    unbatched, in_dims = [], []
    for a in args:
        if isinstance(a, T):
            val, dim = trace.to_batch_info(a._value)
            unbatched.append(T._wrap(val))
            in_dims.append(dim if isinstance(dim, int) else None)
        else:
            unbatched.append(a)
            in_dims.append(None)
    with core.set_current_trace(trace.parent_trace), _rule():
        res = cls.vmap(VmapInfo(trace.axis_data.size), tuple(in_dims), *unbatched, **kwargs)
    if not (isinstance(res, tuple) and len(res) == 2):
        raise RuntimeError(f"{cls.__name__}.vmap: must return a tuple of two things: (output, out_dims)")
    out, out_dims = res
    single = not isinstance(out, tuple)
    outs, dims = (out,) if single else out, (out_dims,) if single or isinstance(out_dims, int) or out_dims is None \
        else out_dims
    if len(dims) == 1 and len(outs) > 1:
        dims = dims * len(outs)
    wrapped = []
    for o, d in zip(outs, dims):
        if isinstance(o, T) and d is not None:
            o = T._wrap(batching.BatchTracer(trace, o._value, d % o.ndim if o.ndim else d))
        elif isinstance(o, T):  # the same for every batch element: broadcast at this level
            o = T._wrap(o._value)
        wrapped.append(o)
    return wrapped[0] if single else tuple(wrapped)


# ------------------------------------------------------------------ reverse and forward levels
def _split(args):
    T = _dispatch.Tensor
    pos = [i for i, a in enumerate(args) if isinstance(a, T)]
    return pos, [args[i]._value for i in pos]


def _rebuild(args, pos, arrays):
    T = _dispatch.Tensor
    a = list(args)
    for i, v in zip(pos, arrays):
        a[i] = T._wrap(v)
    return a


def _inexact(x):
    return jnp.issubdtype(jnp.result_type(x), jnp.inexact)


def _zero_for(x):
    return jnp.zeros(jnp.shape(x), jnp.result_type(x)) if _inexact(x) else np.zeros(jnp.shape(x), jax.dtypes.float0)


def _sum_to(g, shape):
    """A gradient the Function returned larger than its input (broadcast), summed back, as torch's engine."""
    g = jnp.asarray(g)
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    return jnp.sum(g, axis=axes, keepdims=False).reshape(shape) if axes else g.reshape(shape)


def _differentiated(cls, reverse, args, kwargs):
    """``cls`` at a differentiation level: a custom_vjp (reverse) or custom_jvp (forward) whose forward is
    the Function one level down."""
    from .function import new_ctx
    T = _dispatch.Tensor
    pos, arrays = _split(args)
    state = {}

    def forward_below(arrs):  # (JAX runs the rules one level down: so does apply)
        inputs = _rebuild(args, pos, arrs)
        with _rule():
            out = cls.apply(*inputs, **kwargs)
        ctx = new_ctx(inputs, for_transform=True)
        prev, _dispatch.GRAD.enabled = _dispatch.GRAD.enabled, False
        try:
            cls.setup_context(ctx, tuple(inputs), out)
        finally:
            _dispatch.GRAD.enabled = prev
        outs = out if isinstance(out, tuple) else (out,)
        state["single"], state["outs"] = not isinstance(out, tuple), outs
        state["ctx"] = ctx
        tensor_out = [o._value for o in outs if isinstance(o, T)]
        return tensor_out, ctx

    def restore(out_arrays):
        it = iter(out_arrays)
        outs = [T._wrap(next(it)) if isinstance(o, T) else o for o in state["outs"]]
        return outs[0] if state["single"] else tuple(outs)

    def saved_arrays(ctx):
        return [None if t is None else t._value for t in getattr(ctx, "_saved", ())], \
               [None if t is None else t._value for t in getattr(ctx, "_saved_fwd", ())]

    def with_saved(ctx, saved, saved_fwd):
        ctx._saved = tuple(None if a is None else T._wrap(a) for a in saved)
        ctx._saved_versions = [None] * len(ctx._saved)
        ctx._packed = None  # (JAX's residuals are what backward reads, not saved-tensor hooks' packs)
        ctx._saved_fwd = tuple(None if a is None else T._wrap(a) for a in saved_fwd)
        return ctx

    if reverse:
        @jax.custom_vjp
        def f(*arrs):
            return forward_below(arrs)[0]

        def fwd(*arrs):
            out, ctx = forward_below(arrs)
            state["shapes"], state["dtypes"] = [jnp.shape(a) for a in arrs], [jnp.result_type(a) for a in arrs]
            return out, saved_arrays(ctx)

        def bwd(res, cts):
            (saved, saved_fwd), shapes, dtypes = res, state["shapes"], state["dtypes"]
            ctx = with_saved(state["ctx"], saved, saved_fwd)
            it = iter(cts)
            grads_out = []
            for o in state["outs"]:
                if isinstance(o, T):
                    c = next(it)
                    grads_out.append(T._wrap(c if c.dtype != jax.dtypes.float0 else jnp.zeros(o.shape, o._value.dtype)))
                else:
                    grads_out.append(None)
            with _rule():
                res_g = cls.backward(ctx, *grads_out)
            res_g = res_g if isinstance(res_g, tuple) else (res_g,)
            if len(res_g) < len(args):
                raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients "
                                   f"(expected {len(args)}, got {len(res_g)})")
            grads = []
            for i, shape, dt in zip(pos, shapes, dtypes):
                g = res_g[i]
                if not jnp.issubdtype(dt, jnp.inexact):
                    grads.append(np.zeros(shape, jax.dtypes.float0))
                elif g is None:
                    grads.append(jnp.zeros(shape, dt))
                else:
                    grads.append(_sum_to(g._value if isinstance(g, T) else g, shape).astype(dt))
            return tuple(grads)

        f.defvjp(fwd, bwd)
        return restore(f(*arrays))

    @jax.custom_jvp
    def g(*arrs):
        return forward_below(arrs)[0]

    def jvp_rule(primals, tangents):
        out, ctx = forward_below(primals)
        tan_in = [None if (isinstance(t, np.ndarray) and t.dtype == jax.dtypes.float0) or type(t).__name__ == "Zero"
                  else T._wrap(t) for t in tangents]
        full = [None] * len(args)
        for i, t in zip(pos, tan_in):
            full[i] = t
        with _rule():
            res_t = cls.jvp(ctx, *full)
        res_t = res_t if isinstance(res_t, tuple) else (res_t,)
        t_out, k = [], 0
        for o in state["outs"]:
            if not isinstance(o, T):
                k += 1
                continue
            t = res_t[k] if k < len(res_t) else None
            k += 1
            a = o._value
            if not _inexact(a):
                t_out.append(np.zeros(a.shape, jax.dtypes.float0))
            elif t is None:
                t_out.append(jnp.zeros(a.shape, a.dtype))
            else:
                t_out.append(jnp.broadcast_to(jnp.asarray(t._value if isinstance(t, T) else t, a.dtype), a.shape))
        return out, t_out

    g.defjvp(jvp_rule)
    return restore(g(*arrays))


def bind_defaults(cls, args, kwargs):
    """``forward``'s arguments with its defaults filled in (setup_context's ``inputs``, as torch's)."""
    sig = cls.__dict__.get("_forward_signature")
    if sig is None:
        try:
            sig = inspect.signature(cls.forward)
        except (TypeError, ValueError):
            return args
        cls._forward_signature = sig
        cls._forward_arity = len(sig.parameters) if all(
            p.kind is p.POSITIONAL_OR_KEYWORD for p in sig.parameters.values()) else -1
    if not kwargs and len(args) == cls.__dict__["_forward_arity"]:  # (every argument given: nothing to fill)
        return args
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return args
    bound.apply_defaults()
    return tuple(bound.args)

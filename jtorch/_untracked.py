"""Values torch.func's levels do not track, as a JAX primitive.

Inside a torch.func transform JAX differentiates, so torch's grad modes become rules about derivatives:
``no_grad`` makes what it computes a constant for the reverse-mode levels (grad, vjp, jacrev, and the
eager tape around a transform) while forward-mode levels (jvp, jacfwd, linearize) still see through it;
an in-place write that autograd does not track leaves the destination's derivative where it was, with
the new value. ``jax.lax.stop_gradient`` cuts every level at once, so these need a primitive of their
own, ``untracked(res, dest)``: the value of ``res``; at a reverse level the derivative of ``dest`` (none
without one); at a forward level the derivative of ``res`` (or ``dest``'s with ``everywhere``), that
derivative itself untracked for the levels outside. JAX tells a rule whether its level is reverse
(``is_vjp`` of a linearize rule); jax.jvp's levels use the JVP rule.
"""
import jax
import jax.numpy as jnp
from jax._src import core
from jax._src.interpreters import ad, batching, mlir

untracked_p = core.Primitive("jtorch_untracked")


def untracked(res, dest=None, everywhere=False):
    """``res`` with ``dest``'s derivative at the reverse-mode levels (at all levels if ``everywhere``);
    see the module docstring. ``dest``: an array of ``res``'s shape and dtype, or None."""
    if not jnp.issubdtype(res.dtype, jnp.inexact):
        return res
    if dest is None:
        return jax.lax.stop_gradient(res) if everywhere else untracked_p.bind(res, everywhere=False)
    return untracked_p.bind(res, dest, everywhere=everywhere)


def reverse_traced(a):
    """Whether jax value ``a`` carries a derivative of a reverse-mode level (what ``requires_grad`` means
    inside torch.func's grad, vjp and jacrev), vmap's levels looked through."""
    return bool(level_requires_grad(a, through_vmap=True))


# the traces of the VJPs the eager tape runs a transform under (func._run_under_vjp): no torch.func level,
# so what they trace answers as the values under them do
TAPE_TRACES = []


def tape_traced(a):
    """Whether jax value ``a`` is a tracer of the eager tape's own VJP (``TAPE_TRACES``)."""
    return isinstance(a, core.Tracer) and any(a._trace is t for t in TAPE_TRACES)


def level_requires_grad(a, through_vmap=False):
    """What ``requires_grad`` says of jax value ``a`` inside torch.func: True where the innermost level
    that holds it differentiates in reverse mode (grad's inputs and what is computed from them), False
    where it is vmap's (a batched tensor says False, as torch's); forward-mode levels look through to
    the level outside. None for a value no level holds (a captured tensor: its own flag answers)."""
    while isinstance(a, core.Tracer):
        if type(a) is ad.LinearizeTracer:
            if a._trace.is_vjp and not tape_traced(a):
                return True
            a = a.primal
        elif type(a) is ad.JVPTracer:
            a = a.primal
        elif type(a) is batching.BatchTracer:
            if not through_vmap:
                return False
            a = a.val
        else:
            return None
    return None


def _zero(x):
    return ad.Zero(core.typeof(x).to_tangent_aval())


def _forward_tangent(res_t, dest_t):
    """A forward level's derivative of ``untracked(res, dest)``: ``res``'s, itself untracked for the levels
    outside (``dest``'s derivative at their reverse levels)."""
    if dest_t is not None and type(dest_t) is ad.Zero:
        dest_t = None
    if type(res_t) is ad.Zero:
        if dest_t is None:
            return res_t
        res_t = res_t.instantiate()
    return untracked(res_t, dest_t)


def _jvp(primals, tangents, *, everywhere):
    out = untracked_p.bind(*primals, everywhere=everywhere)
    dest_t = tangents[1] if len(tangents) > 1 else None
    if everywhere:
        return out, dest_t if dest_t is not None and type(dest_t) is not ad.Zero else _zero(out)
    return out, _forward_tangent(tangents[0], dest_t)


def _linearize(is_vjp, nonzeros, *primals, everywhere):
    out = untracked_p.bind(*primals, everywhere=everywhere)
    if is_vjp or everywhere:  # dest's derivative (position 1)
        if len(nonzeros) < 2 or not nonzeros[1]:
            return out, False, None, lambda _, *ts: _zero(out)
        return out, True, None, lambda _, *ts: ts[1]
    if not any(nonzeros):  # (a forward level, as _jvp's: jax.linearize)
        return out, False, None, lambda _, *ts: _zero(out)
    return out, True, None, lambda _, *ts: _forward_tangent(ts[0], ts[1] if len(ts) > 1 else None)


def _transpose(ct, *args, everywhere):
    # (only a forward level's derivative, linear in ``res``, is ever transposed)
    return [ct] + [None] * (len(args) - 1)


def _batch(args, dims, *, everywhere):
    if len(args) == 1 or dims[0] == dims[1]:
        return untracked_p.bind(*args, everywhere=everywhere), dims[0]
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)  # (None: not mapped)
    args = [batching.bdim_at_front(a, d, size) for a, d in zip(args, dims)]
    return untracked_p.bind(*args, everywhere=everywhere), 0


untracked_p.def_impl(lambda res, *dest, everywhere: res)
untracked_p.def_abstract_eval(lambda res, *dest, everywhere: res)
mlir.register_lowering(untracked_p, lambda ctx, res, *dest, everywhere: [res])
ad.primitive_jvps[untracked_p] = _jvp
ad.primitive_linearizations[untracked_p] = _linearize
ad.primitive_transposes[untracked_p] = _transpose
batching.primitive_batchers[untracked_p] = _batch

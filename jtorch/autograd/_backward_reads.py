"""Which saved inputs a backward depends on differentiably, for ``create_graph``.

With ``create_graph=True`` a node's backward runs as an op whose arguments are the node's saved
inputs, and each input is connected to the graph so that a second derivative can flow back into
it. torch connects only what its backward formula reads: ``sum``, ``mean``, views, ``add`` save
nothing, ``abs`` reads its input only through ``sgn`` (zero derivative). Connecting more is not
harmless: the second-order gradient of such an input is a structural zero, and a zero sent back
through an op with a pole (``log``, ``1/x`` at 0) becomes ``0 * inf = nan`` where torch, which has
no edge there, gives ``inf``. So an input is connected only when the tangent of the backward's
result depends on it: JAX's JVP of the backward drops symbolic zeros (linear uses, comparisons,
``sign``, shapes), and dead-code elimination of that JVP's program says which input tangents are
still read. The answer is cached per backward op and argument shapes; it is asked only under
``create_graph``.
"""
import jax
from jax._src.interpreters import partial_eval as _pe

from .._dispatch import of_diff_args

_CACHE = {}


def _abstract(v):
    if isinstance(v, tuple):
        return tuple(_abstract(x) for x in v)
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        return jax.ShapeDtypeStruct(tuple(v.shape), v.dtype)
    return v  # a Python number (traced like at run time) or None


def _key(v):
    if isinstance(v, tuple):
        return tuple(_key(x) for x in v)
    if isinstance(v, jax.ShapeDtypeStruct):
        return (v.shape, str(v.dtype))
    return type(v)


def read_differentiably(vop, diff, primals, cts):
    """The positions of ``diff`` (a node's differentiable inputs, as ``(i, j)`` pairs) that the
    backward op ``vop`` (``vop(*primals, *cts)``) depends on differentiably; ``cts`` as
    (shape, dtype) pairs or None."""
    ps = [_abstract(p) for p in primals]
    cs = [None if c is None else jax.ShapeDtypeStruct(tuple(c[0]), c[1]) for c in cts]
    key = (vop, diff, _key(tuple(ps)), _key(tuple(cs)))
    hit = _CACHE.get(key)
    if hit is None:
        hit = _CACHE[key] = _analyse(vop, diff, ps, cs)
    return hit


def _analyse(vop, diff, ps, cs):
    seq = vop.seq

    def tangents_out(primals, cts, tangents):
        f, args = of_diff_args(lambda *p: vop.fn(*p, *cts), primals, diff, seq)
        return jax.jvp(f, tuple(args), tuple(tangents))[1]

    try:
        _, args = of_diff_args(None, ps, diff, seq)
        closed = jax.make_jaxpr(tangents_out)(ps, cs, args)
    except Exception:  # (a backward JAX cannot trace abstractly: keep every edge, as before)
        return frozenset(diff)
    jaxpr = closed.jaxpr
    _, used = _pe.dce_jaxpr(jaxpr, [True] * len(jaxpr.outvars))
    tangent_used = used[len(used) - len(diff):]
    return frozenset(d for d, u in zip(diff, tangent_used) if u)

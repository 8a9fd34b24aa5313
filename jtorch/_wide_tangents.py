"""torch.func.jvp with tangents of a wider dtype than their primals (a float64 tangent of a float32 input).

torch keeps such a tangent's dtype: each op's derivative formula combines it with values of the primal's
dtype under the usual promotion, so the output tangent is float64 where it depends on it (and the
float32 output's own dtype where it does not; a cast such as ``.half()`` casts the tangent too), computed
at float64 precision. JAX's tangents always have their primal's dtype, so here the function is linearized
at the primals as usual and its linear part, a jaxpr of JAX primitives, is evaluated again with the wide
tangents: each primitive that meets one runs on its operands promoted to the wider dtype.

A complex tangent of a real primal is wider too: torch keeps it complex through linear and arithmetic ops,
while its elementwise functions (sin, exp, abs, sigmoid, ...) cast their tangent to their real output's dtype
(``_REAL_TANGENT``: the imaginary part is dropped there) and some activations have no complex derivative
kernel (``_NO_COMPLEX``: torch's errors). jtorch ops appear in the jaxpr as jit equations named after them.
"""
import warnings

import jax
import jax.numpy as jnp
from jax._src import core

from ._ops.blas import _NAMES


_REAL_TANGENT = frozenset(
    "abs acos acosh asin asinh atan atanh ceil clamp clamp_min clamp_max cos cosh deg2rad digamma erf erfc erfinv "
    "exp exp2 expm1 floor i0 lgamma log log10 log1p log2 logit mish mvlgamma nan_to_num neg polygamma _pow "
    "rad2deg reciprocal round rsqrt sigmoid sign silu sin sinc sinh sqrt square tan tanh trunc".split())
_NO_COMPLEX = {**dict.fromkeys("celu elu hardshrink hardsigmoid hardswish hardtanh leaky_relu relu relu6 rrelu selu "
                               "softplus softshrink threshold xlogy".split(), NotImplementedError),
               "gelu": RuntimeError, "logsigmoid": RuntimeError}


def is_wider(tangent_dtype, primal_dtype):
    """Whether a tangent of ``tangent_dtype`` is wider than its primal: more bytes of the same kind (real
    or complex), or complex for a real primal."""
    t, p = jnp.dtype(tangent_dtype), jnp.dtype(primal_dtype)
    if not (jnp.issubdtype(t, jnp.inexact) and jnp.issubdtype(p, jnp.inexact)):
        return False
    t_complex, p_complex = jnp.issubdtype(t, jnp.complexfloating), jnp.issubdtype(p, jnp.complexfloating)
    return t_complex and not p_complex or t.itemsize > p.itemsize and t_complex == p_complex


def _narrow(t, p):
    """Tangent ``t`` in its primal ``p``'s dtype (the linear part is traced with those)."""
    if jnp.issubdtype(t.dtype, jnp.complexfloating) and not jnp.issubdtype(p.dtype, jnp.complexfloating):
        t = jnp.real(t)
    return jnp.asarray(t, p.dtype)


def jvp(f, primals, tangents):
    """``jax.jvp(f, primals, tangents, has_aux=True)`` where a tangent leaf may be wider than its primal
    (``is_wider``); the others have their primal's dtype already."""
    out, linear, aux = jax.linearize(f, *primals, has_aux=True)
    narrow = jax.tree_util.tree_map(_narrow, tangents, primals)
    closed = jax.make_jaxpr(linear)(*narrow)
    leaves = jax.tree_util.tree_leaves
    args = [t if is_wider(t.dtype, p.dtype) else n
            for t, n, p in zip(leaves(tangents), leaves(narrow), leaves(primals))]
    flat = _evaluate(closed.jaxpr, closed.consts, args)
    return out, jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(out), flat), aux


def _dtype(a):
    return a.dtype if hasattr(a, "dtype") else jnp.result_type(a)


def _evaluate(jaxpr, consts, args):
    """``jaxpr`` evaluated primitive by primitive; where an operand is wider than the jaxpr says, the
    primitive runs widened (``_bind_wide``)."""
    env = {}

    def read(v):
        return v.val if isinstance(v, core.Literal) else env[v]
    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        wide = [_dtype(a) for a, v in zip(ins, eqn.invars) if _dtype(a) != v.aval.dtype]
        outs = _bind_wide(eqn, ins, wide) if wide else _bind(eqn, ins)
        if not eqn.primitive.multiple_results:
            outs = [outs]
        for v, o in zip(eqn.outvars, outs):
            if not isinstance(v, core.DropVar):
                env[v] = o
    return [read(v) for v in jaxpr.outvars]


def _bind(eqn, ins):
    with eqn.ctx.manager:
        return eqn.primitive.bind(*ins, **eqn.primitive.get_bind_params(eqn.params))


def _bind_wide(eqn, ins, wide):
    prim, params = eqn.primitive, eqn.params
    if isinstance(params.get("jaxpr"), core.ClosedJaxpr) and prim.name in ("jit", "pjit"):  # a jitted op: inside it
        name = params.get("name")
        complex_in = any(jnp.issubdtype(d, jnp.complexfloating) for d in wide)
        if complex_in and name in _NO_COMPLEX:
            raise _NO_COMPLEX[name](f"\"{name}_backward\" not implemented for 'ComplexFloat'")
        if complex_in and name in _REAL_TANGENT:  # (real coefficients: the real part of the tangent's image)
            warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=2)
            ins = [_real(a, v.aval.dtype) for a, v in zip(ins, eqn.invars)]
            outs = _evaluate(params["jaxpr"].jaxpr, params["jaxpr"].consts, ins)
            return [jnp.asarray(o, v.aval.dtype) for o, v in zip(outs, eqn.outvars)]  # (the output's own dtype)
        return _evaluate(params["jaxpr"].jaxpr, params["jaxpr"].consts, ins)
    if prim.name == "convert_element_type":
        if params["new_dtype"] == eqn.invars[0].aval.dtype:  # (a cast to the primal's own dtype: none)
            return ins[0]
        return jax.lax.convert_element_type(ins[0], params["new_dtype"])  # (torch's .to() casts the tangent)
    if prim.name == "dot_general" and _dtype(ins[0]) != _dtype(ins[1]):  # torch's matmuls never promote
        a, b = (_dtype(x).name for x in ins)
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_NAMES.get(a, a)} != "
                           f"{_NAMES.get(b, b)}")
    dt = jnp.result_type(*wide)
    promoted = [jax.lax.convert_element_type(a, jnp.promote_types(v.aval.dtype, dt))
                if jnp.issubdtype(v.aval.dtype, jnp.inexact) else a for a, v in zip(ins, eqn.invars)]
    try:
        return _bind(eqn, promoted)
    except (TypeError, ValueError):  # a primitive whose parameters fix its dtypes: at the primal's precision
        narrow = [jax.lax.convert_element_type(a, v.aval.dtype) for a, v in zip(ins, eqn.invars)]
        outs = _bind(eqn, narrow)
        widen = lambda o: jax.lax.convert_element_type(o, jnp.promote_types(o.dtype, dt)) \
            if jnp.issubdtype(o.dtype, jnp.inexact) else o  # noqa: E731
        return [widen(o) for o in outs] if prim.multiple_results else widen(outs)



def _real(a, dtype):
    """A complex operand where the jaxpr has a real one: its real part."""
    if jnp.issubdtype(_dtype(a), jnp.complexfloating) and not jnp.issubdtype(dtype, jnp.complexfloating):
        return jnp.real(a)
    return a

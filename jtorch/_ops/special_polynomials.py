"""torch.special's orthogonal polynomials: p_n(x) for a tensor (or number) x and degree n.

Like torch: the degree is truncated towards zero, a negative (or NaN) degree gives 0, results are
floating point (integer inputs give the default float dtype) and there is no gradient. Each polynomial
is its three-term recurrence p_{k+1} = a_k(x) p_k - b_k p_{k-1}, run in one ``lax.while_loop`` up to
the largest degree present, each element keeping the value at its own degree (n may be a tensor).
"""
import jax
import jax.numpy as jnp

from .._dispatch import defop


def _recurrence(x, n, p1, step):
    """p_n(x) given p_0 = 1, p_1 = ``p1`` and ``step(k, p_{k-1}, p_k) -> p_{k+1}``."""
    x, n = jnp.broadcast_arrays(x, n)
    deg = jnp.where(jnp.isnan(n), -1, jnp.trunc(n)).astype(jnp.int64)
    one = jnp.ones_like(x)
    p1 = jnp.broadcast_to(p1, x.shape).astype(x.dtype)
    top = jnp.max(deg, initial=1)

    def body(c):
        k, prev, cur = c
        nxt = step(k.astype(x.dtype), prev, cur)
        live = k < deg
        return k + 1, jnp.where(live, cur, prev), jnp.where(live, nxt, cur)

    _, _, pn = jax.lax.while_loop(lambda c: c[0] < top, body, (jnp.asarray(1, jnp.int64), one, p1))
    return jnp.where(deg < 0, 0, jnp.where(deg == 0, 1, pn)).astype(x.dtype)


def _chebyshev(x, n, first):
    """T, U, V, W share 2x p_k - p_{k-1} and differ in p_1."""
    return _recurrence(x, n, first(x), lambda k, a, b: 2 * x * b - a)


_FIRST = {"t": lambda x: x, "u": lambda x: 2 * x, "v": lambda x: 2 * x - 1, "w": lambda x: 2 * x + 1}


# (x or n may be a Python number, not both: torch's Scalar overloads)
_OPTS = dict(promote="float", differentiable=False, method=False, function=False, tensors=(("input", "n"),))


def _declare_chebyshev(kind):
    def chebyshev(input, n):
        return _chebyshev(input, n, _FIRST[kind])

    def shifted(input, n):  # the same polynomial on [0, 1]: p(2x - 1)
        return _chebyshev(2 * input - 1, n, _FIRST[kind])

    return (defop(chebyshev, name=f"_special_chebyshev_polynomial_{kind}", **_OPTS),
            defop(shifted, name=f"_special_shifted_chebyshev_polynomial_{kind}", **_OPTS))


chebyshev_polynomial_t, shifted_chebyshev_polynomial_t = _declare_chebyshev("t")
chebyshev_polynomial_u, shifted_chebyshev_polynomial_u = _declare_chebyshev("u")
chebyshev_polynomial_v, shifted_chebyshev_polynomial_v = _declare_chebyshev("v")
chebyshev_polynomial_w, shifted_chebyshev_polynomial_w = _declare_chebyshev("w")



@defop(name="_special_hermite_polynomial_h", **_OPTS)
def hermite_polynomial_h(input, n):
    """Physicists' Hermite: H_{k+1} = 2x H_k - 2k H_{k-1}."""
    return _recurrence(input, n, 2 * input, lambda k, a, b: 2 * input * b - 2 * k * a)


@defop(name="_special_hermite_polynomial_he", **_OPTS)
def hermite_polynomial_he(input, n):
    """Probabilists' Hermite: He_{k+1} = x He_k - k He_{k-1}."""
    return _recurrence(input, n, input, lambda k, a, b: input * b - k * a)


@defop(name="_special_laguerre_polynomial_l", **_OPTS)
def laguerre_polynomial_l(input, n):
    """L_{k+1} = ((2k + 1 - x) L_k - k L_{k-1}) / (k + 1)."""
    return _recurrence(input, n, 1 - input, lambda k, a, b: ((2 * k + 1 - input) * b - k * a) / (k + 1))


@defop(name="_special_legendre_polynomial_p", **_OPTS)
def legendre_polynomial_p(input, n):
    """P_{k+1} = ((2k + 1) x P_k - k P_{k-1}) / (k + 1)."""
    return _recurrence(input, n, input, lambda k, a, b: ((2 * k + 1) * input * b - k * a) / (k + 1))

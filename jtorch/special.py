"""torch.special: special functions. Ops torch also has at top level (erf, digamma, ...)
are the same op objects as ``jtorch.erf`` etc.; the rest are declared here once."""
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np

from ._dispatch import REGISTRY, defop
from ._ops import pointwise as P
from ._ops import reduction as R

__all__ = ["erf", "erfc", "erfcx", "erfinv", "expit", "logit", "exp2", "expm1", "log1p", "logsumexp", "softmax",
           "log_softmax", "xlogy", "xlog1py", "gammaln", "digamma", "psi", "polygamma", "multigammaln", "i0", "i0e",
           "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "sinc", "round", "entr", "zeta", "gammainc", "gammaincc",
           "bessel_j0", "bessel_j1", "spherical_bessel_j0"]

erf = P.erf
erfc = P.erfc
erfinv = P.erfinv
expit = P.sigmoid
logit = P.logit
exp2 = P.exp2
expm1 = P.expm1
log1p = P.log1p
xlogy = P.xlogy
gammaln = P.lgamma
digamma = psi = P.digamma
i0 = P.i0
sinc = P.sinc
round = P.round
logsumexp = R.logsumexp


def _unary(name, f, **kw):
    def fn(input):
        return f(input)
    return defop(fn, name="_special_" + name, promote="float", method=False, function=False, opmath=True,
                 tensors=("input",), **kw)


erfcx = _unary("erfcx", jss.erfcx, saves_result=True)
i0e = _unary("i0e", jss.i0e, saves_result=True)
i1 = _unary("i1", jss.i1, saves_result=True)
i1e = _unary("i1e", jss.i1e, saves_result=True)


def _ndtr(input):
    r = P._half_steps(input.dtype)
    if r is None:
        return jss.ndtr(input)
    # torch's half kernel: (1 + erf(x / sqrt(2))) / 2 with each step rounded to the half type
    x = input.astype(jnp.float32)
    return r(0.5 * r(1 + r(jss.erf(r(x * np.float32(0.7071067811865476)))))).astype(input.dtype)


ndtr = defop(_ndtr, name="_special_ndtr", promote="float", method=False, function=False, saves=(), saves_hidden=True,
            tensors=("input",))
ndtri = _unary("ndtri", jss.ndtri, saves=(), saves_result=True)
log_ndtr = _unary("log_ndtr", jss.log_ndtr, saves_result=True)


def _spherical_bessel_j0(x):
    # sin(x) / x: 1 at 0, and 0 at the infinities (its limit, as torch's)
    safe = jnp.where((x == 0) | jnp.isinf(x), 1.0, x)
    return jnp.where(x == 0, 1.0, jnp.where(jnp.isinf(x), 0.0, jnp.sin(safe) / safe)).astype(x.dtype)


spherical_bessel_j0 = _unary("spherical_bessel_j0", _spherical_bessel_j0)


def _entr(x):
    # -x log x; 0 at 0, -inf for negative x and nan kept (torch)
    safe = jnp.where(x > 0, x, 1)
    return jnp.where(x > 0, -x * jnp.log(safe), jnp.where(x == 0, 0.0, jnp.where(x < 0, -jnp.inf, x))).astype(x.dtype)


entr = _unary("entr", _entr)


def _bessel(n):
    """J_n (n = 0, 1): the periodic integral (1/2pi) int cos(n t - x sin t) dt, for which the trapezoid
    rule converges exponentially (128 nodes: exact to rounding for |x| <= 60), and Hankel's asymptotic
    expansion beyond."""
    def f(x):
        t = jnp.arange(128, dtype=x.dtype) * (2 * jnp.pi / 128)
        xs = jnp.clip(x, -60, 60)[..., None]
        near = jnp.mean(jnp.cos(n * t - xs * jnp.sin(t)), -1)
        ax = jnp.maximum(jnp.abs(x), 60)
        mu, z = 4.0 * n * n, 8 * ax
        P = 1 - (mu - 1) * (mu - 9) / (2 * z ** 2)
        Q = (mu - 1) / z - (mu - 1) * (mu - 9) * (mu - 25) / (6 * z ** 3)
        chi = ax - (n / 2 + 0.25) * jnp.pi
        far = jnp.sqrt(2 / (jnp.pi * ax)) * (P * jnp.cos(chi) - Q * jnp.sin(chi))
        far = far * jnp.sign(x) if n == 1 else far  # J1 is odd, J0 even
        return jnp.where(jnp.abs(x) <= 60, near, far).astype(x.dtype)
    return f


bessel_j0 = _unary("bessel_j0", _bessel(0))
bessel_j1 = _unary("bessel_j1", _bessel(1))


@defop(promote="float", method=False, function=False, name="_special_xlog1py", tensors=P.NUMBERS["either"])
def xlog1py(input, other):
    return jss.xlog1py(input, other)


@defop(promote="float", method=False, function=False, name="_special_zeta", tensors=P.NUMBERS["either"])
def zeta(input, other):
    # At a pole of the Hurwitz zeta (q a non-positive integer) torch gives inf for x > 1 and NaN for
    # x < 1 (where the function is undefined); jax's result there depends on the parity of x.
    pole = (other <= 0) & (other == jnp.floor(other)) & (input != 1)
    return jnp.where(pole, jnp.where(input > 1, jnp.inf, jnp.nan), jss.zeta(input, other))


@defop(promote="float", method=False, function=False, name="_special_gammainc", tensors=("input", "other"))
def gammainc(input, other):
    return jss.gammainc(input, other)


@defop(promote="float", method=False, function=False, name="_special_gammaincc", tensors=("input", "other"))
def gammaincc(input, other):
    return jss.gammaincc(input, other)


def polygamma(n, input, *, out=None):
    return REGISTRY["polygamma"](n, input, out=out)


def multigammaln(input, p, *, out=None):
    return REGISTRY["mvlgamma"](input, p, out=out)


def softmax(input, dim, dtype=None):
    return REGISTRY["softmax"](input, dim, dtype=dtype)


def log_softmax(input, dim, dtype=None):
    return REGISTRY["log_softmax"](input, dim, dtype=dtype)


from ._ops.special_polynomials import (  # noqa: E402
    chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v, chebyshev_polynomial_w,
    shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w, hermite_polynomial_h, hermite_polynomial_he, laguerre_polynomial_l,
    legendre_polynomial_p)

__all__ += ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
            "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
            "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
            "laguerre_polynomial_l", "legendre_polynomial_p"]

from ._ops.special_bessel import (  # noqa: E402
    bessel_y0, bessel_y1, modified_bessel_i0, modified_bessel_i1, modified_bessel_k0, modified_bessel_k1,
    scaled_modified_bessel_k0, scaled_modified_bessel_k1, airy_ai)

__all__ += ["bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0",
            "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai"]

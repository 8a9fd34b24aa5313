"""torch.special's Bessel-type functions that jax.scipy.special lacks: Y0, Y1, K0, K1 (and e^x K0, e^x K1),
I0, I1 under torch's names, and Airy's Ai.

torch gives no gradient for any of them (``differentiable=False``). Values are computed in float64 and
rounded to the result dtype, from textbook forms chosen for where each is accurate:

* small arguments: the power series (ascending series of Y_n and K_n, Maclaurin series of Ai);
* K_nu(x) for moderate x: the integral  e^x K_nu(x) = int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt,
  whose integrand is even and analytic, so the trapezoid rule converges exponentially;
* K_nu(x) for large x: the asymptotic expansion in 1/x (its smallest term is far below rounding);
* H_nu^(1)(x) = J_nu + i Y_nu for x beyond the series: the integral of Hankel's form
  sqrt(2/(pi x)) e^{i(x - nu pi/2 - pi/4)} / Gamma(nu + 1/2) int_0^inf e^{-u} u^{nu - 1/2} (1 + iu/2x)^{nu - 1/2} du,
  with u = s^2 (nu = 0, 1) or u = s^6 (nu = 1/3), which makes the integrand even and smooth in s, again
  summed with the trapezoid rule.

Sums run in ``lax.fori_loop`` so memory stays that of the input whatever the number of terms.
"""
import math

import jax
import jax.numpy as jnp
import jax.scipy.special as jss

from .._dispatch import defop

_EULER = 0.5772156649015329
_OPTS = dict(promote="float", differentiable=False, method=False, function=False, tensors=("input",))


def _fsum(n, term, init):
    """sum_{k < n} term(k) (k a float64 scalar), as a loop."""
    return jax.lax.fori_loop(0, n, lambda k, acc: acc + term(k.astype(jnp.float64)), init)


def _in_f64(f):
    """Compute ``f`` in float64 and return the input's (floating) dtype."""
    def g(x):
        return f(x.astype(jnp.float64)).astype(x.dtype)
    return g


# ---- K_nu ------------------------------------------------------------------------------------------------

def _scaled_k_integral(x, nu):
    """e^x K_nu(x) for 1.5 <= x <= 25: trapezoid rule on t in [0, 4.5] (beyond, exp(-x (cosh t - 1)) < e^-80)."""
    h = 0.1
    xs = jnp.clip(x, 1.5, 25.0)
    f = lambda t: jnp.exp(-xs * (jnp.cosh(t) - 1)) * jnp.cosh(nu * t)  # noqa: E731
    return h * (0.5 * f(0.0) + _fsum(45, lambda k: f((k + 1) * h), jnp.zeros_like(x)))


def _scaled_k_asymptotic(x, nu):
    """e^x K_nu(x) = sqrt(pi / 2x) sum_k prod_{j <= k} (4 nu^2 - (2j - 1)^2) / (8 j x), for x >= 25."""
    xs = jnp.maximum(x, 25.0)
    mu = 4.0 * nu * nu

    def body(k, c):
        term, acc = c
        term = term * (mu - (2 * k - 1.0) ** 2) / (8.0 * k * xs)
        return term, acc + term

    _, acc = jax.lax.fori_loop(1, 40, body, (jnp.ones_like(x), jnp.ones_like(x)))
    return jnp.sqrt(jnp.pi / (2 * xs)) * acc


def _k_series(x, n):
    """K_0 / K_1 for 0 < x < 2 from their ascending series (with I_n's)."""
    xs = jnp.clip(x, 1e-300, 2.0)
    q = xs * xs / 4
    lg = jnp.log(xs / 2) + _EULER

    def body(k, c):  # k = 1, 2, ...: c = (q^k / (k! (k+n)!), harmonic H_k, sums)
        t, hk, s_i, s_h = c
        kf = k.astype(jnp.float64)
        t = t * q / (kf * (kf + n))
        hk_new = hk + 1 / kf
        h_term = hk_new if n == 0 else 2 * hk_new + 1 / (kf + 1)  # K1 uses H_k + H_{k+1}
        return t, hk_new, s_i + t, s_h + t * h_term

    t0 = jnp.ones_like(xs)
    h0 = jnp.zeros_like(xs) if n == 0 else jnp.ones_like(xs)  # K1's k = 0 term has H_0 + H_1 = 1
    _, _, s_i, s_h = jax.lax.fori_loop(1, 30, body, (t0, jnp.zeros_like(xs), t0, h0))
    if n == 0:  # K0 = -(ln(x/2) + gamma) I0 + sum H_k q^k / k!^2
        return -lg * s_i + (s_h - h0)
    # K1 = 1/x + (ln(x/2) + gamma) I1 - (x/4) sum (H_k + H_{k+1}) q^k / (k! (k+1)!)
    return 1 / xs + lg * (xs / 2) * s_i - (xs / 4) * s_h


def _scaled_k(x, n):
    """e^x K_n(x) for float64 x (NaN below 0, +inf at 0, 0 at +inf like torch)."""
    small = jnp.exp(jnp.clip(x, 0, 2.0)) * _k_series(x, n)
    mid = _scaled_k_integral(x, float(n))
    big = _scaled_k_asymptotic(x, float(n))
    r = jnp.where(x < 2, small, jnp.where(x <= 25, mid, big))
    r = jnp.where(x == 0, jnp.inf, r)
    return jnp.where(x < 0, jnp.nan, jnp.where(x == jnp.inf, 0.0, r))


def _k(n):
    def f(x):
        return _scaled_k(x, n) * jnp.exp(-x)  # underflows to 0 for large x, like K_n
    return f


@defop(name="_special_modified_bessel_k0", **_OPTS)
def modified_bessel_k0(input):
    return _in_f64(_k(0))(input)


@defop(name="_special_modified_bessel_k1", **_OPTS)
def modified_bessel_k1(input):
    return _in_f64(_k(1))(input)


@defop(name="_special_scaled_modified_bessel_k0", **_OPTS)
def scaled_modified_bessel_k0(input):
    return _in_f64(lambda x: _scaled_k(x, 0))(input)


@defop(name="_special_scaled_modified_bessel_k1", **_OPTS)
def scaled_modified_bessel_k1(input):
    return _in_f64(lambda x: _scaled_k(x, 1))(input)


def _modified_i(f):
    def g(x):  # torch gives NaN at +-inf
        return jnp.where(jnp.isinf(x), jnp.nan, f(x))
    return g


@defop(name="_special_modified_bessel_i0", **_OPTS)
def modified_bessel_i0(input):
    return _in_f64(_modified_i(jss.i0))(input)


@defop(name="_special_modified_bessel_i1", **_OPTS)
def modified_bessel_i1(input):
    return _in_f64(_modified_i(jss.i1))(input)


# ---- Hankel's integral: H_nu^(1)(x) for x away from 0 ----------------------------------------------------

def _hankel(x, nu, lo):
    """H_nu^(1)(x) = J_nu(x) + i Y_nu(x) for x >= lo (nu in 0, 1, 1/3), as a complex128 array."""
    xs = jnp.maximum(x, lo)
    if nu == 1 / 3:  # u = s^6: 6 s^4 e^{-s^6} (1 + i s^6 / 2x)^{-1/6}, s in [0, 2.1]
        h, n = 0.025, 84
        g = lambda s: 6 * s ** 4 * jnp.exp(-s ** 6) * (1 + 1j * s ** 6 / (2 * xs)) ** (-1 / 6)  # noqa: E731
    else:  # u = s^2: 2 s^{2 nu} e^{-s^2} (1 + i s^2 / 2x)^{nu - 1/2}, s in [0, 7]
        h, n = 0.125, 56
        g = lambda s: 2 * s ** (2 * nu) * jnp.exp(-s * s) * (1 + 1j * s * s / (2 * xs)) ** (nu - 0.5)  # noqa: E731
    # the integrand is even in s: the half-line trapezoid sum is h (g(0)/2 + sum_k g(k h))
    integral = h * (0.5 * g(0.0) + _fsum(n, lambda k: g((k + 1) * h), jnp.zeros(x.shape, jnp.complex128)))
    phase = jnp.exp(1j * (xs - nu * jnp.pi / 2 - jnp.pi / 4))
    return jnp.sqrt(2 / (jnp.pi * xs)) * phase * integral / math.gamma(nu + 0.5)


# ---- Y0, Y1 ----------------------------------------------------------------------------------------------

def _y_series(x, n):
    """Y_0 / Y_1 for 0 < x <= 8 from their ascending series (with J_n's)."""
    xs = jnp.clip(x, 1e-300, 8.0)
    q = -xs * xs / 4
    lg = jnp.log(xs / 2) + _EULER

    def body(k, c):
        t, hk, s_j, s_h = c
        kf = k.astype(jnp.float64)
        t = t * q / (kf * (kf + n))
        hk_new = hk + 1 / kf
        h_term = hk_new if n == 0 else 2 * hk_new + 1 / (kf + 1)
        return t, hk_new, s_j + t, s_h + t * h_term

    t0 = jnp.ones_like(xs)
    h0 = jnp.zeros_like(xs) if n == 0 else jnp.ones_like(xs)
    _, _, s_j, s_h = jax.lax.fori_loop(1, 45, body, (t0, jnp.zeros_like(xs), t0, h0))
    if n == 0:  # Y0 = (2/pi) [(ln(x/2) + gamma) J0 - sum_{k>=1} H_k (-q)^k... ] with the signs of q^k above
        return (2 / jnp.pi) * (lg * s_j - (s_h - h0))
    # Y1 = -2/(pi x) + (2/pi)(ln(x/2) + gamma) J1 - (x / 2pi) sum (H_k + H_{k+1}) (-x^2/4)^k / (k! (k+1)!)
    return -2 / (jnp.pi * xs) + (2 / jnp.pi) * lg * (xs / 2) * s_j - (xs / (2 * jnp.pi)) * s_h


def _y(n):
    def f(x):
        r = jnp.where(x <= 8, _y_series(x, n), jnp.imag(_hankel(x, float(n), 8.0)))
        r = jnp.where(x == 0, -jnp.inf, r)
        return jnp.where((x < 0) | jnp.isinf(x), jnp.nan, r)  # torch: NaN for x < 0 and at +inf
    return f


@defop(name="_special_bessel_y0", **_OPTS)
def bessel_y0(input):
    return _in_f64(_y(0))(input)


@defop(name="_special_bessel_y1", **_OPTS)
def bessel_y1(input):
    return _in_f64(_y(1))(input)


# ---- Airy Ai ---------------------------------------------------------------------------------------------

_AI0 = 1 / (3 ** (2 / 3) * math.gamma(2 / 3))    # Ai(0)
_DAI0 = 1 / (3 ** (1 / 3) * math.gamma(1 / 3))   # -Ai'(0)


def _airy_series(x):
    """Ai(x) = Ai(0) f(x) - (-Ai'(0)) g(x), f = sum x^{3k} / prod (3j-1)(3j), g = sum x^{3k+1} / prod (3j)(3j+1)."""
    xs = jnp.clip(x, -2.0, 2.0)
    c = xs ** 3

    def body(k, s):
        a, b, fa, gb = s
        kf = k.astype(jnp.float64)
        a = a * c / ((3 * kf - 1) * (3 * kf))
        b = b * c / ((3 * kf) * (3 * kf + 1))
        return a, b, fa + a, gb + b

    one = jnp.ones_like(xs)
    _, _, f, g = jax.lax.fori_loop(1, 30, body, (one, one, one, one))
    return _AI0 * f - _DAI0 * xs * g


def _airy(x):
    z = jnp.abs(x)
    zeta = (2 / 3) * jnp.maximum(z, 2.0) ** 1.5
    zs = jnp.maximum(zeta, 2.0 / 3 * 2 ** 1.5)
    # x > 2: Ai(x) = sqrt(x/3) K_{1/3}(zeta) / pi
    k13 = jnp.where(zs <= 25, _scaled_k_integral(zs, 1 / 3), _scaled_k_asymptotic(zs, 1 / 3)) * jnp.exp(-zs)
    pos = jnp.sqrt(jnp.maximum(z, 2.0) / 3) * k13 / jnp.pi
    # x < -2: Ai(-z) = (sqrt(z) / 2) (J_{1/3}(zeta) - Y_{1/3}(zeta) / sqrt(3))
    hk = _hankel(zs, 1 / 3, 2.0 / 3 * 2 ** 1.5)
    neg = jnp.sqrt(jnp.maximum(z, 2.0)) / 2 * (jnp.real(hk) - jnp.imag(hk) / jnp.sqrt(3.0))
    r = jnp.where(z <= 2, _airy_series(x), jnp.where(x > 0, pos, neg))
    return jnp.where(jnp.isinf(x), jnp.nan, r)  # torch: NaN at +-inf


@defop(name="_special_airy_ai", **_OPTS)
def airy_ai(input):
    return _in_f64(_airy)(input)

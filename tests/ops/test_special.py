"""jtorch.special against torch.special: values, dtypes (ints -> float32), gradients."""
import numpy as np
import pytest

from tests.ops.mathcheck import check

# name -> (input domain low, high, differentiable in torch)
UNARY = {
    "erf": (-3, 3, True), "erfc": (-3, 3, True), "erfcx": (-2, 5, True), "erfinv": (-0.9, 0.9, True),
    "expit": (-5, 5, True), "exp2": (-3, 3, True), "expm1": (-2, 2, True), "log1p": (-0.5, 3, True),
    "gammaln": (0.1, 5, True), "digamma": (0.1, 5, True), "psi": (0.1, 5, True), "i0": (-3, 3, True),
    "i0e": (-3, 3, True), "i1": (-3, 3, True), "i1e": (-3, 3, True), "ndtr": (-3, 3, True),
    "ndtri": (0.05, 0.95, True), "log_ndtr": (-5, 3, True), "sinc": (-3, 3, True), "entr": (0.05, 3, True),
    "round": (-3, 3, True), "bessel_j0": (-8, 8, False), "bessel_j1": (-8, 8, False),
    "spherical_bessel_j0": (-8, 8, False),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(rng, name):
    lo, hi, diff = UNARY[name]
    x = rng.uniform(lo, hi, (2, 5)).astype(np.float32)
    f = lambda L, a: getattr(L.special, name)(a)  # noqa: E731
    check(f, x, grad=(0,) if diff else (), rtol=1e-4, atol=1e-5)
    check(f, x.astype(np.float64), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["erf", "expit", "i0", "ndtr", "log1p", "sinc", "entr", "i1e"])
def test_integer_input_is_float32(name):
    check(lambda L, a: getattr(L.special, name)(a), np.arange(0, 4), rtol=1e-5)


def test_special_values(rng):
    check(lambda L, a: L.special.sinc(a), np.array([0.0, 1.0, -0.5], np.float32), grad=(0,))   # sinc(0) = 1
    check(lambda L, a: L.special.entr(a), np.array([-1.0, 0.0, 0.5], np.float32))            # -inf, 0, ...
    check(lambda L, a: L.special.erfinv(a), np.array([-1.0, 1.0, 0.0], np.float32))          # +-inf
    check(lambda L, a: L.special.round(a, decimals=1), np.array([1.25, -2.37, 0.04]), grad=(0,))
    check(lambda L, a: L.special.logit(a, eps=0.3), np.array([0.1, 0.5, 0.95], np.float32), grad=(0,))
    check(lambda L, a: L.special.logit(a), rng.uniform(0.1, 0.9, 5).astype(np.float32), grad=(0,), rtol=1e-4)


def test_binary(rng):
    x = rng.uniform(0.1, 3, 5).astype(np.float32)
    y = rng.uniform(0.1, 3, 5).astype(np.float32)
    check(lambda L, a, b: L.special.xlogy(a, b), x, y, grad=(0, 1), rtol=1e-4)
    check(lambda L, a, b: L.special.xlog1py(a, b), x, y, grad=(0, 1), rtol=1e-4)
    check(lambda L, a, b: L.special.xlogy(a, b), np.array([0.0, 1.0]), np.array([0.0, 2.0]))  # 0 * log 0 = 0
    check(lambda L, a, b: L.special.zeta(a, b), x + 1.5, y, grad=(), rtol=1e-4)
    check(lambda L, a, b: L.special.gammainc(a, b), x, y, grad=(1,), rtol=1e-4, atol=1e-5)
    check(lambda L, a, b: L.special.gammaincc(a, b), x, y, grad=(1,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.special.xlogy(a, 2.0), x, grad=(0,))           # Python scalar operand


def test_polygamma_multigammaln(rng):
    x = rng.uniform(1.5, 4, 5).astype(np.float32)
    for n in (0, 1, 2):
        check(lambda L, a: L.special.polygamma(n, a), x, grad=(0,), rtol=1e-4)
        check(lambda L, a: (L.polygamma(n, a), a.polygamma(n)), x, rtol=1e-4)
    check(lambda L, a: a.clone().polygamma_(1), x, rtol=1e-4)
    check(lambda L, a: L.special.multigammaln(a, 3), x, grad=(0,), rtol=1e-4)
    check(lambda L, a: a.mvlgamma(2), x, rtol=1e-4)


def test_reductions(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    check(lambda L, a: L.special.logsumexp(a, 1), x, grad=(0,))
    check(lambda L, a: L.special.logsumexp(a, (0, 1), keepdim=True), x, grad=(0,))
    check(lambda L, a: L.special.softmax(a, 0), x, grad=(0,))
    check(lambda L, a: L.special.log_softmax(a, 1), x, grad=(0,))
    check(lambda L, a: L.special.softmax(a, 1, dtype=L.float64), np.arange(6).reshape(2, 3))

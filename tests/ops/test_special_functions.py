"""torch.special's orthogonal polynomials and Bessel/Airy functions against torch (values and dtypes over
wide argument ranges, tensor and scalar degrees, no gradient like torch), and the Bessel/Airy values against
scipy at float64 precision (torch's own float64 Y0/Y1/Ai carry errors up to ~1e-6)."""
import numpy as np
import pytest
import scipy.special as sp
import torch

import jtorch
from tests.helpers import assert_close

POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
               "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
               "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
               "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]


def _both(name, x, n):
    t = getattr(torch.special, name)(torch.tensor(x) if isinstance(x, np.ndarray) else x,
                                     torch.tensor(n) if isinstance(n, np.ndarray) else n)
    j = getattr(jtorch.special, name)(jtorch.tensor(x) if isinstance(x, np.ndarray) else x,
                                      jtorch.tensor(n) if isinstance(n, np.ndarray) else n)
    return j, t


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_tensor_degrees(rng, name):
    x = rng.uniform(-1.5, 1.5, (3, 8))
    n = rng.integers(-2, 12, (3, 8))
    j, t = _both(name, x, n)
    assert_close(j, t, rtol=1e-9, atol=1e-9)
    j, t = _both(name, x.astype(np.float32), n.astype(np.float32) + 0.6)  # a float degree is truncated
    assert_close(j, t, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_scalar_degrees_and_dtypes(rng, name):
    x = rng.integers(-9, 10, 7)  # integer inputs give float32, large values too
    for n in (0, 1, 2, 5, 9):
        j, t = _both(name, x, n)
        assert_close(j, t, rtol=1e-5, atol=1e-5)
    j, t = _both(name, x.astype(np.float32), np.array([-1.0, 0.0, 3.0, float("nan"), 7.0, 2.0, 1.0], np.float32))
    assert_close(j, t, rtol=1e-4, atol=1e-4)
    j, t = _both(name, 0.3, np.array([0, 3, 6]))  # a Python number x
    assert_close(j, t, rtol=1e-5, atol=1e-6)
    j, t = _both(name, np.array([0.25, -0.5]), np.array(4, np.int64))  # float64 x, 0-dim integer degree
    assert_close(j, t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", POLYNOMIALS[:1] + POLYNOMIALS[-4:])
def test_polynomial_has_no_gradient(name):
    x = jtorch.tensor([0.5, 0.2], requires_grad=True)
    y = getattr(jtorch.special, name)(x, 3)
    assert not y.requires_grad  # torch: "element 0 of tensors does not require grad"
    with pytest.raises(RuntimeError):
        y.sum().backward()


BESSEL = {"bessel_y0": sp.y0, "bessel_y1": sp.y1, "modified_bessel_i0": sp.i0, "modified_bessel_i1": sp.i1,
          "modified_bessel_k0": sp.k0, "modified_bessel_k1": sp.k1, "scaled_modified_bessel_k0": sp.k0e,
          "scaled_modified_bessel_k1": sp.k1e, "airy_ai": lambda v: sp.airy(v)[0]}


def _args(rng):
    mags = np.concatenate([np.geomspace(1e-9, 700, 60), rng.uniform(0, 30, 40), [1.5, 2.0, 8.0, 25.0]])
    return np.concatenate([mags, -mags, [0.0, np.inf, -np.inf, np.nan]])


@pytest.mark.parametrize("name", sorted(BESSEL))
def test_bessel_against_torch(rng, name):
    x = _args(rng)
    f = lambda L, a: getattr(L.special, name)(a)  # noqa: E731
    # torch's float64 kernels are accurate to ~1e-6 relative for Y0/Y1/Ai (see the scipy test)
    assert_close(f(jtorch, jtorch.tensor(x)), f(torch, torch.tensor(x)), rtol=2e-5, atol=1e-8)
    x32 = x[np.abs(x) < 80].astype(np.float32)  # beyond, torch's float32 I0/I1 overflow early and Ai's phase drifts
    assert_close(f(jtorch, jtorch.tensor(x32)), f(torch, torch.tensor(x32)), rtol=1e-4, atol=1e-6)
    ints = np.arange(-5, 12)
    assert_close(f(jtorch, jtorch.tensor(ints)), f(torch, torch.tensor(ints)), rtol=1e-4, atol=1e-6)  # -> float32


@pytest.mark.parametrize("name", sorted(BESSEL))
def test_bessel_against_scipy_float64(rng, name):
    x = _args(rng)
    x = x[np.isfinite(x)]
    ref = BESSEL[name](x)
    got = np.asarray(getattr(jtorch.special, name)(jtorch.tensor(x)))
    finite = np.isfinite(ref) & (ref != 0)
    np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-11, atol=1e-300)
    assert np.array_equal(np.isnan(got[~finite]), np.isnan(ref[~finite]))


def test_bessel_has_no_gradient():
    x = jtorch.tensor([0.5, 2.0], requires_grad=True)
    assert not jtorch.special.bessel_y0(x).requires_grad
    assert not jtorch.special.airy_ai(x).requires_grad


def test_zeta_at_poles():
    x = np.arange(-3, 10, dtype=np.float64)[None, :].repeat(6, 0)
    q = np.arange(-4, 2, dtype=np.float64)[:, None].repeat(13, 1)
    for dt in (np.float64, np.int64):
        assert_close(jtorch.special.zeta(jtorch.tensor(x.astype(dt)), jtorch.tensor(q.astype(dt))),
                     torch.special.zeta(torch.tensor(x.astype(dt)), torch.tensor(q.astype(dt))), rtol=1e-6, atol=1e-8)

"""Cases found by op_db's reference inputs (``scripts/conformance.py --reference``): larger, extremal and
broadcasting samples than its sample inputs. Seeded inputs through torch and jtorch."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_interpolate_float32_uneven_downscale(rng, mode):
    # 345 -> 270 rows: torch computes each source coordinate with one fused multiply-add in float32 (and the
    # antialias weights in float32), so a coordinate near 200 differs by an ulp (1.5e-5) from the plainly
    # rounded one, and the output by that times the neighbours' difference (2e-4 on values in [-9, 9])
    x = rng.uniform(-9, 9, (1, 2, 345, 24)).astype(np.float32)
    for antialias in (False, True):
        for size in ((270, 17), (401, 30)):
            kw = dict(size=size, mode=mode, align_corners=False, antialias=antialias)
            assert_close(jtorch.nn.functional.interpolate(jtorch.tensor(x), **kw),
                         torch.nn.functional.interpolate(torch.from_numpy(x), **kw), rtol=1e-5, atol=1e-5)


def test_interpolate_float32_linear_1d(rng):
    x = rng.uniform(-9, 9, (2, 3, 345)).astype(np.float32)
    kw = dict(size=270, mode="linear", align_corners=False)
    assert_close(jtorch.nn.functional.interpolate(jtorch.tensor(x), **kw),
                 torch.nn.functional.interpolate(torch.from_numpy(x), **kw), rtol=1e-5, atol=1e-5)


def _extremal(rng):
    # op_db's extremal reference values among seeded ordinary ones
    x = rng.standard_normal(24).astype(np.float32)
    x[:6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, 0.5]
    return x


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_and_signed_zero_pass_through(rng, dtype):
    # nan passes through the shrink/threshold activations (torch's kernels keep x where no comparison holds);
    # the angle of -0.0 is 0 (atan2 gives pi); nextafter of an infinity is the largest finite value; entr keeps
    # nan; spherical_bessel_j0 is 0 at the infinities
    x = _extremal(rng).astype(dtype)
    cases = [lambda m, t: m.nn.functional.hardshrink(t, 0.5), lambda m, t: m.nn.functional.softshrink(t, 0.5),
             lambda m, t: m.nn.functional.threshold(t, 0.1, -3.0), lambda m, t: m.angle(t),
             lambda m, t: m.nextafter(t, m.flip(t, [0])), lambda m, t: m.special.entr(t),
             lambda m, t: m.special.spherical_bessel_j0(t)]
    for f in cases:
        assert_close(f(jtorch, jtorch.tensor(x)), f(torch, torch.from_numpy(x)))


def test_nextafter_gradient_at_infinities(rng):
    x = _extremal(rng).astype(np.float64)
    tx, jx = torch.from_numpy(x).requires_grad_(), jtorch.tensor(x).requires_grad_()
    torch.nextafter(tx, torch.zeros(())).sum().backward()
    jtorch.nextafter(jx, jtorch.zeros((), dtype=jtorch.float64)).sum().backward()
    assert_close(jx.grad, tx.grad)

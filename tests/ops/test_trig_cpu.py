"""float32 sin/cos/tan written out for XLA CPU (jtorch/_ops/trig_cpu.py): values, special values,
gradients and every argument range against torch; float64 and large arguments keep XLA's functions."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both


def _ulp(out, x, f):
    ref = f(x.astype(np.float64))
    return np.abs(out.astype(np.float64) - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
@pytest.mark.parametrize("scale", [1e-3, 3, 100, 8000])
def test_matches_torch_over_ranges(rng, name, scale):
    x = (rng.uniform(-1, 1, (300, 400)) * scale).astype(np.float32)
    t, j = both(x)
    out = getattr(jtorch, name)(j)
    assert_close(out, getattr(torch, name)(t), rtol=1.3e-6, atol=1e-6)
    # against the exact values, near zeros and poles too
    err = _ulp(out.numpy(), x, getattr(np, name))
    assert err.max() <= (4.0 if name == "tan" else 2.5), err.max()


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_near_zeros_and_poles(rng, name):
    k = rng.integers(-5000, 5000, 20000)
    x = (k * (np.pi / 2) + rng.standard_normal(k.size) * 1e-4).astype(np.float32)
    t, j = both(x)
    out = getattr(jtorch, name)(j)
    assert_close(out, getattr(torch, name)(t), rtol=1.3e-6, atol=1e-6)
    err = _ulp(out.numpy(), x, getattr(np, name))
    assert err.max() <= (4.0 if name == "tan" else 2.5), err.max()


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_special_and_large_values(name):
    vals = [0.0, -0.0, 1e-30, -1e-30, 8191.9, 8192.5, 1e5, -3e7, 1e38, float("inf"), float("-inf"), float("nan"),
            np.pi, -np.pi / 2, 1.5707964]
    x = np.array(vals, dtype=np.float32)
    t, j = both(x)
    out, ref = getattr(jtorch, name)(j), getattr(torch, name)(t)
    assert_close(out, ref, rtol=1.3e-6, atol=1e-6)
    # the sign of zero and NaN positions are torch's
    np.testing.assert_array_equal(np.signbit(out.numpy()), np.signbit(ref.numpy()))
    np.testing.assert_array_equal(np.isnan(out.numpy()), np.isnan(ref.numpy()))
    # one large element sends the whole tensor through XLA's own function: still torch's values
    y = np.concatenate([np.linspace(-3, 3, 1000), [1e6]]).astype(np.float32)
    ty, jy = both(y)
    assert_close(getattr(jtorch, name)(jy), getattr(torch, name)(ty), rtol=1.3e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_gradients_and_other_dtypes(rng, name):
    x = (rng.standard_normal((64, 48)) * 4).astype(np.float32)
    t, j = both(x, requires_grad=True)
    getattr(torch, name)(t).pow(2).sum().backward()
    getattr(jtorch, name)(j).pow(2).sum().backward()
    assert_close(j.grad, t.grad, rtol=1e-5, atol=1e-5)
    # second derivative through the custom JVP
    gt = torch.autograd.grad(getattr(torch, name)(t).sum(), t, create_graph=True)[0].sum()
    gj = jtorch.autograd.grad(getattr(jtorch, name)(j).sum(), j, create_graph=True)[0].sum()
    assert_close(jtorch.autograd.grad(gj, j)[0], torch.autograd.grad(gt, t)[0], rtol=1e-5, atol=1e-5)
    for dt in (np.float64, np.int64):
        a = (rng.standard_normal(50) * 5).astype(dt)
        ta, ja = both(a)
        tol = 1e-12 if dt == np.float64 else 1.3e-6  # int64 computes in float32 (the default dtype)
        assert_close(getattr(jtorch, name)(ja), getattr(torch, name)(ta), rtol=tol, atol=tol)
    te, je = both(np.zeros((0, 3), np.float32))
    assert_close(getattr(jtorch, name)(je), getattr(torch, name)(te))


def test_in_compiled_and_vmapped_code(rng):
    x = (rng.standard_normal((32, 16)) * 3).astype(np.float32)
    t, j = both(x)
    f = jtorch.compile(lambda a: a.sin() * a.cos() + a.sin_().cos() - a.tan())
    assert_close(f(j.clone()), (lambda a: a.sin() * a.cos() + a.sin_().cos() - a.tan())(t.clone()), rtol=1e-5,
                 atol=1e-6)
    v = jtorch.func.vmap(jtorch.sin)(j)
    assert_close(v, torch.func.vmap(torch.sin)(t), rtol=1.3e-6, atol=1e-6)

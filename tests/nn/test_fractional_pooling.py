"""Fractional max pooling against torch with the same _random_samples: values, indices, gradients; random
samples drawn by jtorch: shapes, windows inside the input; modules; errors."""
import numpy as np
import pytest
import torch

import jtorch

CASES = [((2, 3, 9, 9), 3, dict(output_size=2)), ((2, 3, 9, 9), (4, 4), dict(output_size=(2, 3))),
         ((1, 3, 9, 9), 3, dict(output_ratio=(0.5, 0.5))), ((3, 10, 7), (2, 3), dict(output_size=(4, 3))),
         ((3, 7, 9, 8), (2, 3), dict(output_size=(5, 4))), ((2, 3, 5, 6, 7), 2, dict(output_size=(2, 3, 4))),
         ((2, 3, 5, 6, 7), (1, 2, 3), dict(output_size=(3, 3, 4))), ((1, 2, 6, 5, 4), 2, dict(output_ratio=0.5)),
         ((2, 8, 6, 5), (1, 3, 2), dict(output_size=(4, 3, 3)))]


def _n(shape, k):
    return 3 if len(shape) == 5 or (isinstance(k, tuple) and len(k) == 3) else 2


@pytest.mark.parametrize("shape, k, kw", CASES)
def test_fractional_max_pool_matches_torch(rng, shape, k, kw):
    n = _n(shape, k)
    x = rng.standard_normal(shape).astype(np.float32)
    x.reshape(-1)[::7] = x.reshape(-1)[1]  # ties: the first maximum wins in both
    N, C = (shape[0], shape[1]) if len(shape) == n + 2 else (1, shape[0])
    u = rng.random((N, C, n)).astype(np.float32)
    f, g = (getattr(L.nn.functional, f"fractional_max_pool{n}d") for L in (torch, jtorch))
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    tv, ti = f(tx, k, return_indices=True, _random_samples=torch.tensor(u), **kw)
    jv, ji = g(jx, k, return_indices=True, _random_samples=jtorch.tensor(u), **kw)
    assert tuple(jv.shape) == tuple(tv.shape) and ji.dtype == jtorch.int64
    np.testing.assert_allclose(np.asarray(jv.detach()), tv.detach().numpy())
    np.testing.assert_array_equal(np.asarray(ji), ti.numpy())
    w = rng.standard_normal(tuple(tv.shape)).astype(np.float32)
    (tv * torch.tensor(w)).sum().backward()
    (jv * jtorch.tensor(w)).sum().backward()
    np.testing.assert_allclose(np.asarray(jx.grad), tx.grad.numpy(), rtol=1e-6)
    jv2 = g(jtorch.tensor(x), k, _random_samples=jtorch.tensor(u), **kw)  # values only
    np.testing.assert_allclose(np.asarray(jv2), tv.detach().numpy())


def test_fractional_max_pool_own_samples(rng):
    x = jtorch.tensor(rng.standard_normal((2, 3, 11, 10)).astype(np.float32))
    jtorch.manual_seed(3)
    v, i = jtorch.nn.functional.fractional_max_pool2d(x, (3, 2), output_size=(4, 5), return_indices=True)
    assert tuple(v.shape) == (2, 3, 4, 5)
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.asarray(flat.gather(2, i.reshape(2, 3, -1)).reshape(v.shape)), np.asarray(v))
    jtorch.manual_seed(3)
    v2 = jtorch.nn.functional.fractional_max_pool2d(x, (3, 2), output_size=(4, 5))
    np.testing.assert_array_equal(np.asarray(v2), np.asarray(v))  # reproducible under a seed


def test_fractional_max_pool_empty_batch():
    t = torch.nn.functional.fractional_max_pool3d(torch.zeros(0, 1, 4, 5, 4), (2, 2, 1), output_size=(2, 3, 2))
    j = jtorch.nn.functional.fractional_max_pool3d(jtorch.zeros(0, 1, 4, 5, 4), (2, 2, 1), output_size=(2, 3, 2))
    assert tuple(j.shape) == tuple(t.shape)


def test_fractional_max_pool_modules(rng):
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    u = rng.random((2, 3, 2)).astype(np.float32)
    t = torch.nn.FractionalMaxPool2d(3, output_ratio=0.5, _random_samples=torch.tensor(u))(torch.tensor(x))
    j = jtorch.nn.FractionalMaxPool2d(3, output_ratio=0.5, _random_samples=jtorch.tensor(u))(jtorch.tensor(x))
    np.testing.assert_allclose(np.asarray(j), t.numpy())
    x3 = rng.standard_normal((2, 3, 5, 6, 7)).astype(np.float32)
    m = jtorch.nn.FractionalMaxPool3d(2, output_size=(2, 3, 2), return_indices=True)
    v, i = m(jtorch.tensor(x3))
    assert tuple(v.shape) == tuple(i.shape) == (2, 3, 2, 3, 2)


@pytest.mark.parametrize("make", [
    lambda L: L.nn.functional.fractional_max_pool2d(L.ones(1, 2, 5, 5), 3),
    lambda L: L.nn.FractionalMaxPool2d(3),
    lambda L: L.nn.FractionalMaxPool2d(3, output_ratio=1.5),
    lambda L: L.nn.FractionalMaxPool2d(3, output_size=2, output_ratio=0.5)])
def test_fractional_value_errors(make):
    with pytest.raises(ValueError):
        make(torch)
    with pytest.raises(ValueError):
        make(jtorch)


def test_fractional_runtime_errors():
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError):
            L.nn.functional.fractional_max_pool2d(L.ones(1, 2, 5, 5), 4, output_size=3)
        with pytest.raises(IndexError):
            L.nn.functional.fractional_max_pool2d(L.ones(5, 5), 2, output_size=3)
        with pytest.raises(IndexError):
            L.nn.functional.fractional_max_pool3d(L.ones(5, 5, 5), 2, output_size=3)
        with pytest.raises(RuntimeError):
            L.nn.functional.fractional_max_pool2d(L.ones(1, 1, 2, 5, 5), 2, output_size=3)

"""hash_tensor, grid_sampler(_2d/_3d), svd_lowrank and pca_lowrank against torch."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close
from tests.ops.mathcheck import check


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int8, np.uint8, np.bool_, np.float16])
def test_hash_tensor(rng, dtype):
    x = (rng.standard_normal((3, 4)) * 50).astype(dtype)
    check(lambda L, a: L.hash_tensor(a), x)
    check(lambda L, a: L.hash_tensor(a, 1), x)
    check(lambda L, a: a.hash_tensor([0, 1], keepdim=True), x)
    check(lambda L, a: L.hash_tensor(a, -2, keepdim=True), x)


def test_hash_tensor_special_values_and_errors():
    check(lambda L, a: L.hash_tensor(a), np.array([-0.0, np.nan, np.inf, 1.5]))
    check(lambda L, a: L.hash_tensor(a), np.array(2.5, np.float32))
    check(lambda L, a: L.hash_tensor(a, 1), np.zeros((0, 3), np.float32))
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError):
            L.hash_tensor(L.zeros(0, 3))
        with pytest.raises(IndexError):
            L.hash_tensor(L.zeros(0, 3), 0)
        with pytest.raises(RuntimeError):
            L.hash_tensor(L.ones(2), mode=1)
        with pytest.raises(NotImplementedError):
            L.hash_tensor(L.ones(2, dtype=L.complex64))


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("padding", [0, 1, 2])
def test_grid_sampler_2d(rng, mode, padding):
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    g = rng.uniform(-1.2, 1.2, (2, 4, 3, 2)).astype(np.float32)
    for align in (False, True):
        check(lambda L, a, b: L.grid_sampler_2d(a, b, mode, padding, align), x, g, grad=(0,) if mode != 1 else (),
              rtol=1e-4, atol=1e-5)


def test_grid_sampler_3d_and_generic(rng):
    x = rng.standard_normal((1, 2, 3, 4, 5)).astype(np.float32)
    g = rng.uniform(-1, 1, (1, 2, 3, 2, 3)).astype(np.float32)
    check(lambda L, a, b: L.grid_sampler_3d(a, b, 0, 1, True), x, g, grad=(0, 1), rtol=1e-4, atol=1e-5)
    check(lambda L, a, b: L.grid_sampler(a, b, 1, 0, False), x, g, rtol=1e-4, atol=1e-5)
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError):
            L.grid_sampler_2d(L.tensor(x), L.tensor(g), 0, 0, False)   # 5-D input


def test_lowrank_factors(rng):
    a = rng.standard_normal((6, 3)) @ rng.standard_normal((3, 8))
    m = rng.standard_normal((1, 8))
    for L in (torch, jtorch):
        A = L.tensor(a)
        U, S, V = L.svd_lowrank(A, q=3)
        assert tuple(U.shape) == (6, 3) and tuple(S.shape) == (3,) and tuple(V.shape) == (8, 3)
        np.testing.assert_allclose(np.asarray((U @ L.diag(S) @ V.mT).numpy()), a, rtol=1e-9, atol=1e-9)
        _, S2, _ = L.svd_lowrank(A, q=4, M=L.tensor(m))
        _, S3, _ = L.pca_lowrank(A, q=3)
        _, S4, _ = L.pca_lowrank(A, center=False)
        if L is torch:
            want = (S, S2[:3], S3, S4[:3])
        else:
            got = (S, S2[:3], S3, S4[:3])
    for g, w in zip(got, want):
        assert_close(g, w, rtol=1e-8, atol=1e-8)
    for L in (torch, jtorch):
        with pytest.raises(ValueError):
            L.pca_lowrank(L.tensor(a), q=7)


def test_svd_lowrank_gradient_flows(rng):
    a = rng.standard_normal((5, 4))
    j = jtorch.tensor(a, requires_grad=True)
    jtorch.svd_lowrank(j, q=4)[1].sum().backward()
    t = torch.tensor(a, requires_grad=True)
    torch.linalg.svdvals(t).sum().backward()   # full rank, q = n: the nuclear norm's gradient
    assert_close(j.grad, t.grad, rtol=1e-6, atol=1e-8)

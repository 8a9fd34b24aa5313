"""jtorch.masked against torch.masked: values, dtypes, fully masked-out slices, broadcast masks, gradients, errors."""
import math

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close

REDUCTIONS = ["sum", "prod", "amax", "amin", "mean", "logsumexp", "norm", "var", "std"]


def _pair(a, requires_grad=False):
    t = torch.tensor(a, requires_grad=requires_grad)
    j = jtorch.tensor(a, requires_grad=requires_grad)
    return t, j


def _masks(rng, shape):
    m = rng.random(shape) > 0.4
    m[0] = False  # one fully masked-out slice along every reduced dim through row 0
    yield m
    yield rng.random(shape[1:]) > 0.3         # fewer dims than the input
    yield rng.random(shape[:-1] + (1,)) > 0.3  # broadcast last dim


@pytest.mark.parametrize("name", REDUCTIONS)
def test_masked_reductions(rng, name):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    for m in _masks(rng, x.shape):
        for dim, keepdim in [(None, False), (1, False), ((0, 2), True), (-1, True)]:
            t_in, j_in = _pair(x, True)
            kw = dict(mask=torch.tensor(m), keepdim=keepdim)
            t = getattr(torch.masked, name)(t_in, dim=dim, **kw)
            j = getattr(jtorch.masked, name)(j_in, dim=dim, mask=jtorch.tensor(m), keepdim=keepdim)
            assert_close(j, t, rtol=1e-5, atol=1e-5)
            finite = torch.isfinite(t)
            if finite.any():
                g = np.asarray(rng.standard_normal(tuple(t.shape)), np.float32)
                (t * torch.tensor(g) * finite).nansum().backward()
                (j * jtorch.tensor(g) * jtorch.tensor(finite.numpy())).nansum().backward()
                assert_close(j_in.grad, t_in.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["sum", "prod", "amax", "amin", "argmax", "argmin", "mean"])
def test_masked_reductions_no_mask_and_ints(rng, name):
    x = rng.integers(-5, 6, (4, 6))
    m = rng.random((4, 6)) > 0.3
    for dt in (np.int64, np.float64):
        for mask in (None, m):
            for dim in ([None, 0, 1] if name not in ("argmax", "argmin") else [None, 1]):
                t_in, j_in = _pair(x.astype(dt))
                tm = None if mask is None else torch.tensor(mask)
                jm = None if mask is None else jtorch.tensor(mask)
                if name == "mean" and dt == np.int64:
                    with pytest.raises(ValueError):
                        torch.masked.mean(t_in, dim, mask=tm)
                    with pytest.raises(ValueError):
                        jtorch.masked.mean(j_in, dim, mask=jm)
                    continue
                t = getattr(torch.masked, name)(t_in, dim, mask=tm)
                j = getattr(jtorch.masked, name)(j_in, dim, mask=jm)
                assert_close(j, t)


def test_masked_sum_prod_dtype_promotion():
    x = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    m = np.array([[True, False, True], [False, True, True]])
    for name in ("sum", "prod"):
        t = getattr(torch.masked, name)(torch.tensor(x), 1, mask=torch.tensor(m))
        j = getattr(jtorch.masked, name)(jtorch.tensor(x), 1, mask=jtorch.tensor(m))
        assert_close(j, t)
        t = getattr(torch.masked, name)(torch.tensor(x), 0, mask=torch.tensor(m), dtype=torch.float64)
        j = getattr(jtorch.masked, name)(jtorch.tensor(x), 0, mask=jtorch.tensor(m), dtype=jtorch.float64)
        assert_close(j, t)


@pytest.mark.parametrize("ord", [2.0, 1, math.inf, -math.inf, 0, 3.5])
def test_masked_norm_ords(rng, ord):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    m = rng.random((4, 5)) > 0.4
    m[1] = False
    t_in, j_in = _pair(x, True)
    t = torch.masked.norm(t_in, ord, 1, mask=torch.tensor(m))
    j = jtorch.masked.norm(j_in, ord, 1, mask=jtorch.tensor(m))
    assert_close(j, t, rtol=1e-5, atol=1e-6)
    if ord not in (0, -math.inf):  # fully masked-out row: torch's gradient is finite here
        t.sum().backward()
        j.sum().backward()
        assert_close(j_in.grad, t_in.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_masked_normalizations(rng, name):
    x = rng.standard_normal((3, 6)).astype(np.float32)
    m = rng.random((3, 6)) > 0.4
    m[:, 0] = True
    for dim in (0, 1, -1):
        t_in, j_in = _pair(x, True)
        t = getattr(torch.masked, name)(t_in, dim, mask=torch.tensor(m))
        j = getattr(jtorch.masked, name)(j_in, dim, mask=jtorch.tensor(m))
        assert_close(j, t, rtol=1e-5, atol=1e-6)
        g = rng.standard_normal(x.shape).astype(np.float32)
        fin = torch.isfinite(t)
        (torch.where(fin, t, 0) * torch.tensor(g)).sum().backward()
        (jtorch.where(jtorch.tensor(fin.numpy()), j, 0) * jtorch.tensor(g)).sum().backward()
        assert_close(j_in.grad, t_in.grad, rtol=1e-4, atol=1e-5)
    t = getattr(torch.masked, name)(torch.tensor(x), 1, mask=torch.tensor(m), dtype=torch.float64)
    j = getattr(jtorch.masked, name)(jtorch.tensor(x), 1, mask=jtorch.tensor(m), dtype=jtorch.float64)
    assert_close(j, t, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("ord", [2.0, 1, math.inf, 0])
def test_masked_normalize(rng, ord):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    m = rng.random((4, 5)) > 0.4
    t_in, j_in = _pair(x, True)
    t = torch.masked.normalize(t_in, ord, 1, mask=torch.tensor(m))
    j = jtorch.masked.normalize(j_in, ord, 1, mask=jtorch.tensor(m))
    assert_close(j, t, rtol=1e-5, atol=1e-6)
    if ord != 0:
        t.sum().backward()
        j.sum().backward()
        assert_close(j_in.grad, t_in.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_masked_cumops(rng, name):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    m = rng.random((3, 5)) > 0.4
    for dim in (0, 1):
        t_in, j_in = _pair(x, True)
        t = getattr(torch.masked, name)(t_in, dim, mask=torch.tensor(m))
        j = getattr(jtorch.masked, name)(j_in, dim, mask=jtorch.tensor(m))
        assert_close(j, t, rtol=1e-5, atol=1e-6)
        t.sum().backward()
        j.sum().backward()
        assert_close(j_in.grad, t_in.grad, rtol=1e-4, atol=1e-5)


def test_masked_median_and_logaddexp(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    m = rng.random((4, 5)) > 0.4
    m[2] = False
    for dim in (0, 1):
        t = torch.masked.median(torch.tensor(x), dim, mask=torch.tensor(m))
        j = jtorch.masked.median(jtorch.tensor(x), dim, mask=jtorch.tensor(m))
        assert_close(j, t)
    xi = rng.integers(-9, 9, (4, 5))
    t = torch.masked.median(torch.tensor(xi), 1, mask=torch.tensor(m | True))
    j = jtorch.masked.median(jtorch.tensor(xi), 1, mask=jtorch.tensor(m | True))
    assert_close(j, t)
    with pytest.raises(ValueError):
        torch.masked.median(torch.tensor(xi), 1, mask=torch.tensor(m))
    with pytest.raises(ValueError):
        jtorch.masked.median(jtorch.tensor(xi), 1, mask=jtorch.tensor(m))
    y = rng.standard_normal((4, 5)).astype(np.float32)
    m2 = rng.random(5) > 0.5
    (ta, ja), (tb, jb) = _pair(x, True), _pair(y, True)
    t = torch.masked.logaddexp(ta, tb, input_mask=torch.tensor(m), other_mask=torch.tensor(m2))
    j = jtorch.masked.logaddexp(ja, jb, input_mask=jtorch.tensor(m), other_mask=jtorch.tensor(m2))
    assert_close(j, t, rtol=1e-5, atol=1e-6)
    fin = torch.isfinite(t)
    torch.where(fin, t, 0).sum().backward()
    jtorch.where(jtorch.tensor(fin.numpy()), j, 0).sum().backward()
    assert_close(ja.grad, ta.grad, atol=1e-6)
    assert_close(jb.grad, tb.grad, atol=1e-6)


def test_masked_var_std_options(rng):
    x = rng.standard_normal((5, 6)).astype(np.float32)
    m = rng.random((5, 6)) > 0.3
    for kw in [dict(unbiased=False), dict(correction=0), dict(correction=2), dict(unbiased=True)]:
        for name in ("var", "std"):
            t = getattr(torch.masked, name)(torch.tensor(x), 1, mask=torch.tensor(m), **kw)
            j = getattr(jtorch.masked, name)(jtorch.tensor(x), 1, mask=jtorch.tensor(m), **kw)
            assert_close(j, t, rtol=1e-5, atol=1e-6)
    xi = rng.integers(-9, 9, (5, 6))
    t = torch.masked.var(torch.tensor(xi), 0, mask=torch.tensor(m))
    j = jtorch.masked.var(jtorch.tensor(xi), 0, mask=jtorch.tensor(m))
    assert_close(j, t, rtol=1e-5, atol=1e-6)


def test_masked_errors(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    t, j = _pair(x)
    cases = [(IndexError, lambda mod, a: mod.masked.sum(a, 2)),
             (RuntimeError, lambda mod, a: mod.masked.sum(a, (0, 0))),
             (IndexError, lambda mod, a: mod.masked.sum(a, 0, mask=mod.ones(2, 3, 4, dtype=mod.bool))),
             (RuntimeError, lambda mod, a: mod.masked.sum(a, 0, mask=mod.ones(5, dtype=mod.bool))),
             (AssertionError, lambda mod, a: mod.masked.var(a, 0, unbiased=True, correction=1)),
             (IndexError, lambda mod, a: mod.masked.softmax(a, 3))]
    for exc, f in cases:
        with pytest.raises(exc):
            f(torch, t)
        with pytest.raises(exc):
            f(jtorch, j)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_masked_logsumexp_complex(rng, dtype):
    # masked-out elements count as -inf (+0j); a fully masked row gives -inf, as torch
    a = (rng.standard_normal((3, 5)) + 1j * rng.standard_normal((3, 5))).astype(dtype)
    m = rng.random((3, 5)) > 0.3
    m[1] = False
    for dim, keepdim in ((1, False), (0, True)):
        ours = jtorch.masked.logsumexp(jtorch.tensor(a), dim, keepdim=keepdim, mask=jtorch.tensor(m))
        theirs = torch.masked.logsumexp(torch.tensor(a), dim, keepdim=keepdim, mask=torch.tensor(m))
        assert str(ours.dtype) == str(theirs.dtype)
        assert_close(ours, theirs, rtol=1e-5, atol=1e-5)

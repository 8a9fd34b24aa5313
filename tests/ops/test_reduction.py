"""Reductions and scans against torch: values, result dtypes (int/bool inputs), dim/keepdim/dtype
arguments, gradients (ties: full max splits evenly, max(dim) picks the returned index), errors."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close
from tests.ops.mathcheck import check, outcome

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch: degrees of freedom <= 0

SHAPE = (3, 4)

# op -> whether torch differentiates it
REDUCE = {"sum": True, "nansum": True, "prod": True, "mean": True, "nanmean": True, "var": True, "std": True,
          "amax": True, "amin": True, "logsumexp": True, "all": False, "any": False, "count_nonzero": False,
          "argmax": False, "argmin": False}
NEEDS_DIM = {"logsumexp"}


def _x(rng):
    return rng.uniform(-2, 2, SHAPE).astype(np.float32)


@pytest.mark.parametrize("name", sorted(REDUCE))
def test_reduce(rng, name):
    x = _x(rng)
    g = (0,) if REDUCE[name] else ()
    f = getattr
    if name not in NEEDS_DIM:
        outcome(lambda L, a: f(L, name)(a), x, grad=g, rtol=1e-5, atol=1e-5)
        outcome(lambda L, a: f(a, name)(), x, grad=g, rtol=1e-5, atol=1e-5)
    outcome(lambda L, a: f(L, name)(a, 1), x, grad=g, rtol=1e-5, atol=1e-5)
    outcome(lambda L, a: f(L, name)(a, -2, keepdim=True), x, grad=g, rtol=1e-5, atol=1e-5)
    if name not in ("argmax", "argmin", "count_nonzero"):
        outcome(lambda L, a: f(L, name)(a, (0, 1)), x, grad=g, rtol=1e-5, atol=1e-5)
        outcome(lambda L, a: f(L, name)(a, dim=(1,), keepdim=True), x, grad=g, rtol=1e-5, atol=1e-5)
    # integer / bool inputs: torch's result dtypes (sum of ints is int64, mean of ints raises, ...)
    ints = rng.integers(-3, 4, SHAPE)
    for arr in (ints, ints > 0, ints.astype(np.int32)):
        if name not in NEEDS_DIM:
            outcome(lambda L, a: f(L, name)(a), arr)
        outcome(lambda L, a: f(L, name)(a, 0), arr)
    # 0-dim input and out-of-range dims
    outcome(lambda L, a: f(L, name)(a, 0), np.array(1.5, np.float32))
    outcome(lambda L, a: f(L, name)(a, 2), x)


def test_dtype_argument(rng):
    x = _x(rng)
    ints = rng.integers(-3, 4, SHAPE)
    for name in ("sum", "prod", "mean", "nansum", "cumsum", "cumprod"):
        dim = 0 if name.startswith("cum") else None
        call = (lambda L, a, d: getattr(L, name)(a, 0, dtype=d)) if dim is not None else \
            (lambda L, a, d: getattr(L, name)(a, dtype=d))
        check(lambda L, a: call(L, a, L.float64), x, grad=(0,))
        outcome(lambda L, a: call(L, a, L.float32), ints)
        outcome(lambda L, a: call(L, a, L.int32), ints)


def test_var_std(rng):
    x = _x(rng)
    for name in ("var", "std"):
        f = lambda L, *a, **k: getattr(L, name)(*a, **k)  # noqa: E731
        check(lambda L, a: f(L, a, unbiased=False), x, grad=(0,))
        check(lambda L, a: f(L, a, 1, unbiased=False, keepdim=True), x, grad=(0,))
        check(lambda L, a: f(L, a, dim=0, correction=0), x, grad=(0,))
        check(lambda L, a: f(L, a, dim=(0, 1), correction=2), x, grad=(0,))
        check(lambda L, a: f(L, a, False), x, grad=(0,))          # old positional 'unbiased'
        check(lambda L, a: f(L, a, 0), x[:1], grad=())            # one sample, correction 1: nan (torch warns)
        outcome(lambda L, a: f(L, a), np.arange(6))               # integers: error
        check(lambda L, a: getattr(L, name + "_mean")(a, 1), x, grad=(0,))
        check(lambda L, a: getattr(L, name + "_mean")(a, dim=0, correction=0, keepdim=True), x, grad=(0,))
    check(lambda L, a: L.std(a), np.full(4, 2.0, np.float32), grad=(0,))  # std of a constant: grad nan like torch


def test_max_min(rng):
    x = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 0.5, 2.0], [0.0, -4.0, 5.0, 5.0]], np.float32)
    for name in ("max", "min"):
        f = getattr
        # full reduction: ties split the gradient evenly
        check(lambda L, a: f(L, name)(a), x, grad=(0,))
        check(lambda L, a: f(L, "a" + name)(a, 1), x, grad=(0,))         # amax/amin also split
        # along a dim: (values, indices); the gradient goes to the returned (first) index
        rt, rj = check(lambda L, a: f(L, name)(a, 1), x, grad=(0,), outputs=[0])
        assert type(rj).__name__ == name and rj.indices.dtype == jtorch.int64
        check(lambda L, a: f(a, name)(dim=0, keepdim=True), x, grad=(0,), outputs=[0])
        check(lambda L, a, b: f(L, name)(a, b), x, x[::-1].copy(), grad=(0, 1))  # pairwise (= maximum/minimum)
        check(lambda L, a: f(L, name)(a, 0), np.array([[1, 5], [3, 2]]))
        check(lambda L, a: f(L, "arg" + name)(a), x)
        check(lambda L, a: f(L, "arg" + name)(a, 1, keepdim=True), x)
        outcome(lambda L, a: f(L, name)(a), np.zeros((0, 3), np.float32))   # empty: error
        outcome(lambda L, a: f(L, name)(a, 1), np.zeros((0, 3), np.float32))
        outcome(lambda L, a: f(L, name)(a, 0), np.zeros((0, 3), np.float32))
    nan = np.array([[1.0, np.nan, 2.0], [0.0, 1.0, -1.0]], np.float32)
    check(lambda L, a: (L.max(a), L.min(a, 1), L.argmax(a, 1), L.amax(a, 0)), nan)   # NaN propagates
    check(lambda L, a: L.aminmax(a), x, grad=(0,))
    check(lambda L, a: L.aminmax(a, dim=1, keepdim=True), x, grad=(0,))


def test_scans(rng):
    x = _x(rng)
    for name in ("cumsum", "cumprod", "logcumsumexp"):
        check(lambda L, a: getattr(L, name)(a, 1), x, grad=(0,), rtol=1e-5)
        check(lambda L, a: getattr(a, name)(dim=0), x, grad=(0,), rtol=1e-5)
        outcome(lambda L, a: getattr(L, name)(a, 0), np.arange(6).reshape(2, 3))
        outcome(lambda L, a: getattr(L, name)(a, 0), np.array([True, False, True]))
        outcome(lambda L, a: getattr(L, name)(a, 3), x)
    check(lambda L, a: a.clone().cumsum_(1), x, grad=(0,))
    ties = np.array([[1.0, 3.0, 3.0, 2.0, 5.0], [2.0, 1.0, 1.0, 0.0, 4.0]], np.float32)
    for name in ("cummax", "cummin"):
        check(lambda L, a: getattr(L, name)(a, 1), ties, grad=(0,), outputs=[0])
        check(lambda L, a: getattr(L, name)(a, 0), np.array([[3, 1], [2, 5], [3, 0]]))
    check(lambda L, a: L.cumprod(a, 0), np.array([2.0, 0.0, 3.0, 0.0, 4.0], np.float32), grad=(0,))  # zeros


def test_logsumexp_extremes(rng):
    x = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [np.inf, 1.0]], np.float32)
    check(lambda L, a: L.logsumexp(a, 1), x)
    check(lambda L, a: L.logsumexp(a, 1), np.arange(6).reshape(2, 3))   # ints -> float32


def test_nan_reductions(rng):
    x = _x(rng)
    x[0, 1] = x[2, 3] = np.nan
    check(lambda L, a: (L.nansum(a), L.nanmean(a, 1), L.nansum(a, 0)), x, grad=(0,))
    check(lambda L, a: (L.sum(a), L.mean(a, 1)), x)


def test_quantile(rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    for interp in ("linear", "lower", "higher", "midpoint", "nearest"):
        check(lambda L, a: L.quantile(a, 0.3, dim=1, interpolation=interp), x, grad=(0,))
    q = np.array([0.0, 0.25, 0.5, 1.0], np.float32)
    check(lambda L, a, b: L.quantile(a, b), x, q, grad=(0,))
    check(lambda L, a, b: L.quantile(a, b, dim=0, keepdim=True), x, q, grad=(0,))
    check(lambda L, a: a.quantile(0.5, 1), x, grad=(0,))
    y = x.copy()
    y[0, 2] = np.nan
    check(lambda L, a: (L.quantile(a, 0.5, dim=1), L.nanquantile(a, 0.5, dim=1), L.nanquantile(a, 0.2)), y)
    outcome(lambda L, a: L.quantile(a, 1.5), x)
    outcome(lambda L, a: L.quantile(a, 0.5), np.arange(4))
    outcome(lambda L, a: L.quantile(a, 0.5, interpolation="bad"), x)


def test_frexp(rng):
    x = np.array([0.0, 1.0, -3.5, 1e-3, 1024.0], np.float32)
    check(lambda L, a: L.frexp(a), x)
    check(lambda L, a: a.frexp(), x.astype(np.float64))
    outcome(lambda L, a: L.frexp(a), np.arange(3))


def test_out_and_errors(rng):
    x = _x(rng)
    ot, oj = torch.empty(4), jtorch.empty(4)
    torch.sum(torch.tensor(x), 0, out=ot)
    jtorch.sum(jtorch.tensor(x), 0, out=oj)
    assert_close(oj, ot)
    outcome(lambda L, a: L.sum(a, (0, 0)), x)      # repeated dim
    outcome(lambda L, a: L.mean(a), np.arange(3))  # mean of integers


def test_gradcheck_float64(rng):
    x = jtorch.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    for fn in (lambda a: a.sum(1), lambda a: a.prod(), lambda a: a.var(0), lambda a: a.std(1),
               lambda a: a.logsumexp(1), lambda a: a.cumprod(1), lambda a: a.amax(1), lambda a: a.mean()):
        assert jtorch.autograd.gradcheck(fn, (x,))
        assert jtorch.autograd.gradgradcheck(fn, (x,))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_dim_of_0dim_tensor(name, rng):
    """A 0-dim tensor reduces over dim 0/-1 to itself with index 0 (keepdim too); dim 1 is out of range."""
    v = float(rng.standard_normal())
    for dim, keepdim in ((0, False), (-1, True)):
        t = torch.tensor(v, requires_grad=True)
        j = jtorch.tensor(v, requires_grad=True)
        rt = getattr(torch, name)(t, dim, keepdim=keepdim)
        rj = getattr(jtorch, name)(j, dim, keepdim=keepdim)
        assert_close(rj.values, rt.values)
        assert rj.indices.shape == tuple(rt.indices.shape) and int(rj.indices) == int(rt.indices) == 0
        (rt.values * 3).backward()
        (rj.values * 3).backward()
        assert_close(j.grad, t.grad)
    with pytest.raises(IndexError):
        getattr(torch, name)(torch.tensor(v), 1)
    with pytest.raises(IndexError):
        getattr(jtorch, name)(jtorch.tensor(v), 1)

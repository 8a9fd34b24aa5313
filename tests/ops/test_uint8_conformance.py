"""Differences found by the uint8 op_db run (scripts/conformance.py --dtypes uint8): torch's all/any keep
uint8 for uint8 input, and integer trapezoid/cumulative_trapezoid add neighbours and take steps in the operands'
integer types (uint8 sums wrap).
Seeded inputs through torch and jtorch."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close


@pytest.mark.parametrize("dt", ["uint8", "int8", "int16", "bool", "float32"])
def test_all_any_result_type(rng, dt):
    a = rng.integers(0, 3, size=(4, 5)).astype(dt)
    t, j = torch.tensor(a), jtorch.tensor(a)
    for name in ("all", "any"):
        assert_close(getattr(j, name)(), getattr(t, name)())
        assert_close(getattr(jtorch, name)(j, 1), getattr(torch, name)(t, 1))
        assert_close(getattr(j, name)(dim=0, keepdim=True), getattr(t, name)(dim=0, keepdim=True))


@pytest.mark.parametrize("dt", ["uint8", "int8", "int16", "int64"])
def test_integer_cumulative_trapezoid(rng, dt):
    info = np.iinfo(dt) if dt != "int64" else np.iinfo(np.int16)  # (int64: values whose sums stay exact in float)
    a = rng.integers(info.min, info.max, size=(3, 6), endpoint=True).astype(dt)
    t, j = torch.tensor(a), jtorch.tensor(a)
    assert_close(jtorch.cumulative_trapezoid(j), torch.cumulative_trapezoid(t), rtol=1e-6)
    assert_close(jtorch.cumulative_trapezoid(j, dim=0, dx=2.5), torch.cumulative_trapezoid(t, dim=0, dx=2.5), rtol=1e-6)
    x = np.sort(rng.normal(size=6)).astype(np.float32)
    assert_close(jtorch.cumulative_trapezoid(j, x=jtorch.tensor(x)), torch.cumulative_trapezoid(t, x=torch.tensor(x)),
                 rtol=1e-5)
    xi = rng.integers(info.min, info.max, size=6, endpoint=True).astype(dt)  # integer x: steps wrap too
    assert_close(jtorch.cumulative_trapezoid(j, jtorch.tensor(xi)), torch.cumulative_trapezoid(t, torch.tensor(xi)),
                 rtol=1e-6)
    assert_close(jtorch.cumulative_trapezoid(j[0], j[1]), torch.cumulative_trapezoid(t[0], t[1]), rtol=1e-6)


def _ints(rng, dt, size):
    info = np.iinfo(dt) if dt != "int64" else np.iinfo(np.int16)  # (int64: values whose sums stay exact in float)
    return rng.integers(info.min, info.max, size=size, endpoint=True).astype(dt)


@pytest.mark.parametrize("name", ["trapezoid", "trapz", "cumulative_trapezoid"])
@pytest.mark.parametrize("yt,xt", [("uint8", "uint8"), ("int16", "int16"), ("int8", "uint8"), ("uint8", "float32"),
                                   ("float32", "uint8"), ("float64", "int16"), ("int64", "int64")])
def test_trapezoid_integer_operands_wrap_like_torch(rng, name, yt, xt):
    # integer neighbour sums of y and integer steps of x wrap in their own types in torch's kernels
    y = _ints(rng, yt, (3, 6)) if yt[0] in "ui" else (rng.normal(size=(3, 6)) * 50).astype(yt)
    x1 = _ints(rng, xt, 6) if xt[0] in "ui" else np.sort(rng.normal(size=6) * 50).astype(xt)
    x2 = _ints(rng, xt, (3, 6)) if xt[0] in "ui" else (rng.normal(size=(3, 6)) * 50).astype(xt)
    jf, tf = getattr(jtorch, name), getattr(torch, name)
    for x in (x1, x2):
        assert_close(jf(jtorch.tensor(y), jtorch.tensor(x)), tf(torch.tensor(y), torch.tensor(x)), rtol=1e-5)
    assert_close(jf(jtorch.tensor(y), jtorch.tensor(x1[:3]), dim=0), tf(torch.tensor(y), torch.tensor(x1[:3]), dim=0),
                 rtol=1e-5)
    for kw in ({}, {"dx": 3}, {"dx": 0.7, "dim": 0}):
        assert_close(jf(jtorch.tensor(y), **kw), tf(torch.tensor(y), **kw), rtol=1e-5)


@pytest.mark.parametrize("name", ["trapezoid", "cumulative_trapezoid"])
@pytest.mark.parametrize("yt,xt", [("uint8", "float64"), ("int32", "int16"), ("float16", "float64"), ("float32", "uint8")])
def test_trapezoid_empty_dim_like_torch(name, yt, xt):
    # trapezoid over an empty dim: zeros of y's own type; cumulative_trapezoid: empty, of the promoted type
    jf, tf = getattr(jtorch, name), getattr(torch, name)
    assert_close(jf(jtorch.ones(2, 0, dtype=getattr(jtorch, yt)), jtorch.ones(0, dtype=getattr(jtorch, xt))),
                 tf(torch.ones(2, 0, dtype=getattr(torch, yt)), torch.ones(0, dtype=getattr(torch, xt))))
    assert_close(jf(jtorch.ones(2, 0, dtype=getattr(jtorch, yt)), dx=2), tf(torch.ones(2, 0, dtype=getattr(torch, yt)), dx=2))


@pytest.mark.parametrize("name", ["trapezoid", "cumulative_trapezoid"])
def test_trapezoid_bool_raises_like_torch(rng, name):
    b = rng.integers(0, 2, size=(2, 4)).astype(bool)
    f = rng.normal(size=(2, 4)).astype(np.float32)
    for y, x in ((b, None), (b, f[0]), (f, b[0])):
        with pytest.raises(RuntimeError):
            getattr(torch, name)(torch.tensor(y), *(() if x is None else (torch.tensor(x),)))
        with pytest.raises(RuntimeError, match="bool"):
            getattr(jtorch, name)(jtorch.tensor(y), *(() if x is None else (jtorch.tensor(x),)))


@pytest.mark.parametrize("dt", ["uint8", "int16", "int32"])
def test_integer_distances_and_losses_subtract_in_the_integer_type(rng, dt):
    # torch takes x1 - x2 (and -target * ...) in the operands' integer type, so uint8 differences wrap,
    # before eps/margin make them float
    a, b, c = (_ints(rng, dt, (4, 6)) for _ in range(3))
    tgt = rng.choice([-1, 1], size=4).astype(dt if dt != "uint8" else "int16").astype(dt)
    T = [torch.tensor(v) for v in (a, b, c, tgt)]
    J = [jtorch.tensor(v) for v in (a, b, c, tgt)]
    tF, jF = torch.nn.functional, jtorch.nn.functional
    for p in (2.0, 1.0, 3.0):
        assert_close(jF.pairwise_distance(J[0], J[1], p=p), tF.pairwise_distance(T[0], T[1], p=p), rtol=1e-5)
    assert_close(jtorch.pairwise_distance(J[0], J[1], keepdim=True), torch.pairwise_distance(T[0], T[1], keepdim=True),
                 rtol=1e-5)
    for red in ("none", "mean", "sum"):
        assert_close(jF.margin_ranking_loss(J[0][:, 0], J[1][:, 0], J[3], margin=0.5, reduction=red),
                     tF.margin_ranking_loss(T[0][:, 0], T[1][:, 0], T[3], margin=0.5, reduction=red), rtol=1e-5)
        for swap in (False, True):
            assert_close(jF.triplet_margin_loss(J[0], J[1], J[2], swap=swap, reduction=red),
                         tF.triplet_margin_loss(T[0], T[1], T[2], swap=swap, reduction=red), rtol=1e-5)
            assert_close(jF.triplet_margin_with_distance_loss(J[0], J[1], J[2], swap=swap, reduction=red),
                         tF.triplet_margin_with_distance_loss(T[0], T[1], T[2], swap=swap, reduction=red), rtol=1e-5)


def test_softmin_with_dtype_negates_in_the_input_type(rng):
    # -x of uint8 wraps (0 stays the smallest), and only then is cast to dtype
    a = rng.integers(0, 6, size=(5, 5)).astype(np.uint8)
    a[0, 0] = 0
    for dim in (0, 1):
        assert_close(jtorch.nn.functional.softmin(jtorch.tensor(a), dim, dtype=jtorch.float64),
                     torch.nn.functional.softmin(torch.tensor(a), dim, dtype=torch.float64))
    f = rng.normal(size=(3, 4)).astype(np.float16)
    assert_close(jtorch.nn.functional.softmin(jtorch.tensor(f), 1, dtype=jtorch.float32),
                 torch.nn.functional.softmin(torch.tensor(f), 1, dtype=torch.float32))

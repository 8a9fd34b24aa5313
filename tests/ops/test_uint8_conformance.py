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

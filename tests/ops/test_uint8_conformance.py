"""Differences found by the uint8 op_db run (scripts/conformance.py --dtypes uint8): torch's all/any keep
uint8 for uint8 input, and integer cumulative_trapezoid adds neighbours in the integer type (uint8 sums wrap).
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

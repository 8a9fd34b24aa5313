"""Cases found by scripts/conformance.py (torch's op_db samples), checked against torch."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"])
def test_scans_of_a_zero_dim_tensor_stay_zero_dim(name, rng):
    v = float(rng.standard_normal())
    for dim in (0, -1):
        assert_close(getattr(jtorch, name)(jtorch.tensor(v), dim), getattr(torch, name)(torch.tensor(v), dim))
    if name in ("cumsum", "cumprod"):
        assert_close(getattr(jtorch, name)(jtorch.tensor(3), 0), getattr(torch, name)(torch.tensor(3), 0))
    with pytest.raises(IndexError):
        getattr(jtorch, name)(jtorch.tensor(v), 1)


def test_flip_dims_keyword(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    t, j = torch.from_numpy(a), jtorch.tensor(a)
    assert_close(jtorch.flip(j, dims=(0, 2)), torch.flip(t, dims=(0, 2)))
    assert_close(j.flip(dims=[1]), t.flip(dims=[1]))
    assert_close(j.flip(0, 1), t.flip(0, 1))
    assert_close(jtorch.flip(j, [2]), torch.flip(t, [2]))


def test_inner_general_shapes(rng):
    for sa, sb in [((3,), (3,)), ((2, 3), (4, 3)), ((), (2, 3)), ((2, 3), ())]:
        a = rng.standard_normal(sa).astype(np.float32)
        b = rng.standard_normal(sb).astype(np.float32)
        assert_close(jtorch.inner(jtorch.tensor(a), jtorch.tensor(b)),
                     torch.inner(torch.from_numpy(np.asarray(a)), torch.from_numpy(np.asarray(b))), rtol=1e-5)
    with pytest.raises(RuntimeError):
        jtorch.inner(jtorch.ones(2, 3), jtorch.ones(2, 4))


def test_tensor_split_with_tensor_sections_and_unfold_of_scalar(rng):
    a = rng.standard_normal((5, 4)).astype(np.float32)
    t, j = torch.from_numpy(a), jtorch.tensor(a)
    assert_close(jtorch.tensor_split(j, jtorch.tensor(3)), torch.tensor_split(t, torch.tensor(3)))
    assert_close(jtorch.tensor_split(j, jtorch.tensor([1, 3])), torch.tensor_split(t, torch.tensor([1, 3])))
    assert_close(jtorch.tensor(2.5).unfold(0, 1, 1), torch.tensor(2.5).unfold(0, 1, 1))
    assert_close(j.cfloat(memory_format=jtorch.preserve_format), t.cfloat(memory_format=torch.preserve_format))


def test_quantile_of_a_scalar_and_corrcoef_of_one_variable(rng):
    v = float(rng.standard_normal())
    for q in (0.5, 0.25):
        assert_close(jtorch.quantile(jtorch.tensor(v), q, dim=0), torch.quantile(torch.tensor(v), q, dim=0))
        assert_close(jtorch.nanquantile(jtorch.tensor(v), q, dim=0, keepdim=True),
                     torch.nanquantile(torch.tensor(v), q, dim=0, keepdim=True))
    a = rng.standard_normal(6).astype(np.float32)
    assert_close(jtorch.corrcoef(jtorch.tensor(a)), torch.corrcoef(torch.from_numpy(a)))
    b = rng.standard_normal((3, 6)).astype(np.float32)
    assert_close(jtorch.corrcoef(jtorch.tensor(b)), torch.corrcoef(torch.from_numpy(b)), rtol=1e-5, atol=1e-6)

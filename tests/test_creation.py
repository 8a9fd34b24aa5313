"""Creation functions against torch."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


CASES = [
    lambda m: m.tensor([1, 2, 3]),
    lambda m: m.tensor([[1.5, 2], [3, 4]]),
    lambda m: m.tensor(True),
    lambda m: m.tensor([1, 2], dtype=m.float64),
    lambda m: m.tensor(np.array([1, 2], dtype=np.int32)),
    lambda m: m.tensor(np.array([1.5], dtype=np.float64)),
    lambda m: m.tensor([]),
    lambda m: m.tensor([1 + 2j]),
    lambda m: m.zeros(2, 3),
    lambda m: m.zeros((2, 3), dtype=m.int32),
    lambda m: m.ones([4]),
    lambda m: m.empty(2, 2).shape,
    lambda m: m.full((2, 2), 7),
    lambda m: m.full((2,), 1.5),
    lambda m: m.full((2,), True),
    lambda m: m.zeros_like(m.ones(2, 3, dtype=m.int16)),
    lambda m: m.ones_like(m.ones(2)),
    lambda m: m.full_like(m.ones(3), 4),
    lambda m: m.eye(3),
    lambda m: m.eye(2, 4, dtype=m.int64),
    lambda m: m.arange(5),
    lambda m: m.arange(0, 10, step=1),
    lambda m: m.arange(1.0, 2.0, 0.25),
    lambda m: m.arange(0, 1, 0.1),
    lambda m: m.arange(10, 0, -3),
    lambda m: m.arange(5, dtype=m.float32),
    lambda m: m.linspace(0, 10, steps=5),
    lambda m: m.linspace(-1, 1, 7),
    lambda m: m.linspace(0, 10, 5, dtype=m.int64),
    lambda m: m.logspace(0, 3, 4),
    lambda m: m.logspace(0, 2, 3, base=2),
    lambda m: m.scalar_tensor(3),
    lambda m: m.as_tensor([1, 2]),
    lambda m: m.as_tensor(np.arange(3.0), dtype=m.float32),
    lambda m: m.Tensor([1, 2]),
    lambda m: m.Tensor(2, 3).shape,
    lambda m: m.tensor([m.tensor(1.0), m.tensor(2.0)]),
]


@pytest.mark.parametrize("k", range(len(CASES)))
def test_creation_matches_torch(k):
    j, t = CASES[k](jtorch), CASES[k](torch)
    if isinstance(t, torch.Size):
        assert tuple(j) == tuple(t)
    else:
        assert_close(j, t, rtol=1e-6, atol=1e-6)


def test_creation_errors():
    with pytest.raises(RuntimeError):
        jtorch.zeros(-1)
    with pytest.raises(TypeError):
        jtorch.zeros(2.5)
    with pytest.raises(RuntimeError):
        jtorch.arange(0, 10, 0)
    with pytest.raises(ValueError):
        jtorch.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        jtorch.from_numpy([1, 2])


def test_requires_grad_and_from_numpy(rng):
    x = jtorch.zeros(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    a = rng.standard_normal(4)
    t = jtorch.from_numpy(a)
    assert t.dtype == jtorch.float64
    np.testing.assert_array_equal(t.numpy(), a)
    # the seed's creation snippet
    np_array = np.array([1, 2, 3])
    tensor = jtorch.from_numpy(np_array)
    assert tensor.dtype == jtorch.int64 and tensor.tolist() == [1, 2, 3]

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


FILL_VALUES = {
    "np_float64": lambda m: np.float64(1.5), "np_float32": lambda m: np.float32(1.5), "np_float16": lambda m: np.float16(1.5),
    "np_int64": lambda m: np.int64(2), "np_int32": lambda m: np.int32(2), "np_bool": lambda m: np.bool_(True),
    "np_complex": lambda m: np.complex128(1 + 2j), "tensor_float64": lambda m: m.tensor(1.5, dtype=m.float64),
    "tensor_int": lambda m: m.tensor(3), "tensor_bool": lambda m: m.tensor(True), "py_bool": lambda m: True,
    "py_complex": lambda m: 1 + 2j,
}


@pytest.mark.parametrize("name", sorted(FILL_VALUES))
@pytest.mark.parametrize("fn", ["full", "full_like", "new_full"])
def test_full_fill_value_is_a_number(name, fn):
    """torch takes fill_value as a Number: np.float64(x) fills float32 like x does (the VAE's
    torch.full(shape, 2 * np.log(3.0))); a one-element tensor counts as its value."""
    def run(m):
        v = FILL_VALUES[name](m)
        if fn == "full":
            return m.full((2, 3), v)
        if fn == "full_like":
            return m.full_like(m.zeros(2, dtype=m.int32), v)
        return m.tensor([1.0, 2.0]).new_full((3,), v)
    try:
        expected = run(torch)
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e)):
            run(jtorch)
        return
    assert_close(run(jtorch), expected)


@pytest.mark.parametrize("fn", [lambda m: m.full((2,), np.array([1.5])), lambda m: m.full((2,), m.tensor([1.0, 2.0])),
                                lambda m: m.ones(2).new_full((2,), np.array(1.5))])
def test_full_rejects_arrays(fn):
    with pytest.raises(TypeError):
        fn(torch)
    with pytest.raises(TypeError, match="must be Number"):
        fn(jtorch)

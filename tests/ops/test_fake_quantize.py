"""fake_quantize_per_tensor_affine / fake_quantize_per_channel_affine against torch: values, dtypes, the
straight-through gradient, and exception types."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both


def outcome(f):
    try:
        f()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the type is compared
        return type(e).__name__


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale,zp,qmin,qmax", [(0.1, 0, -128, 127), (0.05, 10, 0, 255), (0.3, -3, -8, 7)])
def test_per_tensor_values_and_grad(rng, dtype, scale, zp, qmin, qmax):
    x = (rng.standard_normal((4, 5)) * 8).astype(dtype)
    t, j = both(x, requires_grad=True)
    yt = torch.fake_quantize_per_tensor_affine(t, scale, zp, qmin, qmax)
    yj = jtorch.fake_quantize_per_tensor_affine(j, scale, zp, qmin, qmax)
    assert_close(yj, yt)
    g = rng.standard_normal((4, 5)).astype(dtype)
    yt.backward(torch.tensor(g))
    yj.backward(jtorch.tensor(g))
    assert_close(j.grad, t.grad)
    assert float(t.grad.eq(0).sum()) > 0  # some values were clamped


def test_per_tensor_tensor_qparams_and_half(rng):
    x = (rng.standard_normal(10) * 3).astype(np.float32)
    t, j = both(x)
    assert_close(jtorch.fake_quantize_per_tensor_affine(j, jtorch.tensor(0.2), jtorch.tensor(3), 0, 40),
                 torch.fake_quantize_per_tensor_affine(t, torch.tensor(0.2), torch.tensor(3), 0, 40))
    assert_close(jtorch.fake_quantize_per_tensor_affine(j.half(), 0.1, 0, -128, 127),
                 torch.fake_quantize_per_tensor_affine(t.half(), 0.1, 0, -128, 127))
    assert_close(jtorch.fake_quantize_per_tensor_affine(j.bfloat16(), 0.1, 0, -128, 127),
                 torch.fake_quantize_per_tensor_affine(t.bfloat16(), 0.1, 0, -128, 127))


@pytest.mark.parametrize("zp_dtype", ["int32", "float32"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_per_channel_values_and_grad(rng, zp_dtype, axis):
    shape = (3, 4, 5)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    c = shape[axis]
    scale = rng.uniform(0.05, 0.5, c).astype(np.float32)
    zp = rng.integers(-5, 5, c).astype(zp_dtype)
    if zp_dtype == "float32":
        zp = zp + rng.uniform(-0.4, 0.4, c).astype(np.float32)
    t, j = both(x, requires_grad=True)
    yt = torch.fake_quantize_per_channel_affine(t, torch.tensor(scale), torch.tensor(zp), axis, -16, 15)
    yj = jtorch.fake_quantize_per_channel_affine(j, jtorch.tensor(scale), jtorch.tensor(zp), axis, -16, 15)
    assert_close(yj, yt)
    yt.sum().backward()
    yj.sum().backward()
    assert_close(j.grad, t.grad)


ERRORS = [
    lambda m: m.fake_quantize_per_tensor_affine(m.tensor([0.05]), 0.1, 0.5, -128, 127),
    lambda m: m.fake_quantize_per_tensor_affine(m.tensor([0.05]), 0.1, 0, 127, -128),
    lambda m: m.fake_quantize_per_tensor_affine(m.tensor([0.05]), 0.1, 300, -128, 127),
    lambda m: m.fake_quantize_per_tensor_affine(m.tensor([1]), 0.1, 0, -128, 127),
    lambda m: m.fake_quantize_per_tensor_affine(m.tensor([0.2]), m.tensor(0.1, requires_grad=True),
                                                m.tensor(0), -128, 127),
    lambda m: m.fake_quantize_per_channel_affine(m.ones(2, 3), m.ones(3, dtype=m.float64), m.zeros(3, dtype=m.int32),
                                                 1, 0, 9),
    lambda m: m.fake_quantize_per_channel_affine(m.ones(2, 3), m.ones(3), m.zeros(3, dtype=m.long), 1, 0, 9),
    lambda m: m.fake_quantize_per_channel_affine(m.ones(2, 3), m.ones(3), m.zeros(3, dtype=m.int32), 5, 0, 9),
    lambda m: m.fake_quantize_per_channel_affine(m.ones(2, 3), m.ones(3), m.zeros(3, dtype=m.int32), -1, 0, 9),
    lambda m: m.fake_quantize_per_channel_affine(m.ones(2, 3), m.ones(2), m.zeros(2, dtype=m.int32), 1, 0, 9),
    lambda m: m.fake_quantize_per_channel_affine(m.ones(2, 3), m.ones(3), m.zeros(2, dtype=m.int32), 1, 0, 9),
    lambda m: m.fake_quantize_per_channel_affine(m.ones(2, 3), m.ones(3), m.full((3,), 20, dtype=m.int32), 1, 0, 9),
    lambda m: m.fake_quantize_per_channel_affine(m.ones(2, 3), m.ones(3), m.zeros(3, dtype=m.int32), 1, 9, 0),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    assert outcome(lambda: ERRORS[i](jtorch)) == outcome(lambda: ERRORS[i](torch))

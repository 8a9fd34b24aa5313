"""Elementwise functions and average pooling on quantized tensors against torch (x86/fbgemm): output dtype,
parameters and integers."""
import warnings

import numpy as np
import pytest
import torch
import torch.ao.nn.quantized.functional as tqF

import jtorch
import jtorch.ao.nn.quantized.functional as jqF

warnings.filterwarnings("ignore")


def _pair(rng, dtype, zp, shape=(2, 3, 9, 9)):
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    return (torch.quantize_per_tensor(torch.tensor(x), 0.05, zp, getattr(torch, dtype)),
            jtorch.quantize_per_tensor(jtorch.tensor(x), 0.05, zp, getattr(jtorch, dtype)))


def _same(j, t, max_off=0):
    assert str(j.dtype) == str(t.dtype) and tuple(j.shape) == tuple(t.shape)
    assert j.q_scale() == t.q_scale() and j.q_zero_point() == t.q_zero_point()
    d = np.abs(j.int_repr().numpy().astype(np.int64) - t.int_repr().numpy().astype(np.int64))
    assert d.max() <= max_off


OPS = {
    "sigmoid": lambda m, t: m.sigmoid(t),
    "tanh": lambda m, t: m.tanh(t),
    "hardsigmoid": lambda m, t: m.nn.functional.hardsigmoid(t),
    "relu6": lambda m, t: m.nn.functional.relu6(t),
    "relu6_inplace": lambda m, t: m.nn.functional.relu6(t.clone(), inplace=True),
    "hardtanh": lambda m, t: m.nn.functional.hardtanh(t, -0.5, 0.8),
    "clamp": lambda m, t: m.clamp(t, -0.3, 1.2),
    "clamp_min": lambda m, t: m.clamp(t, min=-0.3),
    "avg_pool2d": lambda m, t: m.nn.functional.avg_pool2d(t, 2),
    "avg_pool2d_pad": lambda m, t: m.nn.functional.avg_pool2d(t, 3, 2, 1),
    "avg_pool2d_no_pad_count": lambda m, t: m.nn.functional.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
    "avg_pool2d_ceil": lambda m, t: m.nn.functional.avg_pool2d(t, 2, 2, 1, True),
    "avg_pool2d_divisor": lambda m, t: m.nn.functional.avg_pool2d(t, 3, 1, 1, divisor_override=4),
    "AvgPool2d": lambda m, t: m.nn.AvgPool2d(2)(t),
    "avg_pool1d": lambda m, t: m.nn.functional.avg_pool1d(t[0], 3, 2),
    "avg_pool3d": lambda m, t: m.nn.functional.avg_pool3d(t.unsqueeze(0), 2),
    "adaptive_avg_pool2d": lambda m, t: m.nn.functional.adaptive_avg_pool2d(t, (4, 3)),
    "adaptive_avg_pool2d_1": lambda m, t: m.nn.AdaptiveAvgPool2d(1)(t),
    "adaptive_avg_pool3d": lambda m, t: m.nn.functional.adaptive_avg_pool3d(t.unsqueeze(0), (2, 3, 4)),
}


@pytest.mark.parametrize("dtype,zp", [("quint8", 61), ("qint8", -5)])
@pytest.mark.parametrize("name", list(OPS))
def test_quantized_op(rng, name, dtype, zp):
    qt, qj = _pair(rng, dtype, zp)
    _same(OPS[name](jtorch, qj), OPS[name](torch, qt))


@pytest.mark.parametrize("dtype,zp", [("quint8", 61), ("qint8", -5)])
def test_leaky_relu(rng, dtype, zp):
    """torch's quantized leaky_relu rounds some slopes its own way: within one integer step of it."""
    qt, qj = _pair(rng, dtype, zp)
    for slope in (0.01, 0.2, 0.3):
        _same(jtorch.nn.functional.leaky_relu(qj, slope), torch.nn.functional.leaky_relu(qt, slope), max_off=1)
    _same(jqF.leaky_relu(qj, 0.1, scale=0.03, zero_point=7), tqF.leaky_relu(qt, 0.1, scale=0.03, zero_point=7),
          max_off=1)


def test_quantized_functional(rng):
    qt, qj = _pair(rng, "quint8", 30)
    _same(jqF.avg_pool2d(qj, 3, 2, 1), tqF.avg_pool2d(qt, 3, 2, 1))
    _same(jqF.avg_pool3d(qj.unsqueeze(0), 2), tqF.avg_pool3d(qt.unsqueeze(0), 2))
    _same(jqF.adaptive_avg_pool2d(qj, (3, 5)), tqF.adaptive_avg_pool2d(qt, (3, 5)))
    _same(jqF.adaptive_avg_pool3d(qj.unsqueeze(0), 2), tqF.adaptive_avg_pool3d(qt.unsqueeze(0), 2))
    _same(jqF.hardsigmoid(qj), tqF.hardsigmoid(qt))
    for fn in ("avg_pool2d", "adaptive_avg_pool2d", "hardsigmoid"):
        args = {"avg_pool2d": (2,), "adaptive_avg_pool2d": (2,), "hardsigmoid": ()}[fn]
        with pytest.raises(ValueError):
            getattr(jqF, fn)(jtorch.randn(1, 2, 4, 4), *args)
        with pytest.raises(ValueError):
            getattr(tqF, fn)(torch.randn(1, 2, 4, 4), *args)
    # still refused, as torch: no quantized kernel
    for mod in (torch, jtorch):
        q = qt if mod is torch else qj
        with pytest.raises(NotImplementedError):
            mod.exp(q)
        with pytest.raises(NotImplementedError):
            mod.nn.functional.hardswish(q)

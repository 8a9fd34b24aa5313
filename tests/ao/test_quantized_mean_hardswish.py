"""Quantized ops the quantizable vision models need, against torch: ``mean`` of a quantized tensor (ShuffleNetV2's
pooling), the quantized ``Hardswish`` / ``LeakyReLU`` modules' state dicts and Hardswish's integers on every
input value under the x86 and qnnpack engines (MobileNetV3)."""
import warnings

import numpy as np
import pytest
import torch

import jtorch

warnings.filterwarnings("ignore")


@pytest.fixture
def engine():
    before_t, before_j = torch.backends.quantized.engine, jtorch.backends.quantized.engine
    yield
    torch.backends.quantized.engine, jtorch.backends.quantized.engine = before_t, before_j


def _pair(x, scale, zp, dtype):
    return (torch.quantize_per_tensor(torch.tensor(x), scale, zp, getattr(torch, dtype)),
            jtorch.quantize_per_tensor(jtorch.tensor(x), scale, zp, getattr(jtorch, dtype)))


def _same(j, t, max_off=0):
    assert str(j.dtype) == str(t.dtype) and tuple(j.shape) == tuple(t.shape)
    assert j.q_scale() == t.q_scale() and j.q_zero_point() == t.q_zero_point()
    d = np.abs(j.int_repr().numpy().astype(np.int64) - t.int_repr().numpy().astype(np.int64))
    assert d.max() <= max_off
    return d


@pytest.mark.parametrize("dtype", ["quint8", "qint8"])
@pytest.mark.parametrize("shape,dim,keepdim", [
    ((2, 8, 2, 2), [2, 3], False),  # 4 values: many exact ties (half to even)
    ((2, 8, 3, 5), [2, 3], True),
    ((2, 8, 4, 4), [-1], False),
    ((2, 3, 4, 5), [-1, -2], False),
    ((2, 8, 2, 2), None, False),
])
def test_quantized_mean_innermost(rng, engine, dtype, shape, dim, keepdim):
    """Over the innermost dims (or all), torch averages the integers: the same integers exactly."""
    torch.backends.quantized.engine = jtorch.backends.quantized.engine = "x86"
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t, j = _pair(x, 0.05, 3 if dtype == "quint8" else -2, dtype)
    if dim is None:
        _same(j.mean(), t.mean())
    else:
        _same(j.mean(dim, keepdim=keepdim), t.mean(dim, keepdim=keepdim))
        _same(jtorch.mean(j, dim, keepdim), torch.mean(t, dim, keepdim))


@pytest.mark.parametrize("shape,dim", [((3, 6, 40), [1]), ((2, 3, 4, 5), [1, 2]), ((6, 40), [0])])
def test_quantized_mean_other_dims(rng, engine, shape, dim):
    """Over other dims torch quantizes the float mean of the dequantized values; its float32 summation order can
    move an exact tie, so the integers agree to one step (and mostly exactly)."""
    torch.backends.quantized.engine = jtorch.backends.quantized.engine = "x86"
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t, j = _pair(x, 0.05, 3, "qint8")
    d = _same(j.mean(dim), t.mean(dim), max_off=1)
    assert (d == 0).mean() > 0.9


def test_quantized_mean_per_channel_raises():
    x = jtorch.quantize_per_channel(jtorch.randn(3, 4), jtorch.tensor([0.1, 0.2, 0.3]), jtorch.tensor([0, 1, 2]),
                                    0, jtorch.quint8)
    with pytest.raises(NotImplementedError):
        x.mean([1])


@pytest.mark.parametrize("backend", ["x86", "qnnpack"])
def test_quantized_hardswish_every_input(rng, engine, backend):
    """All 256 quint8 inputs under random input / output parameters give torch's integers."""
    torch.backends.quantized.engine = jtorch.backends.quantized.engine = backend
    for _ in range(6):
        in_scale, out_scale = float(rng.uniform(0.005, 0.1)), float(rng.uniform(0.005, 0.05))
        in_zp, out_zp = int(rng.integers(0, 256)), int(rng.integers(0, 256))
        t = torch.quantize_per_tensor(torch.arange(256.0), 1.0, 0, torch.quint8)
        t = torch.quantize_per_tensor(t.dequantize().sub(in_zp).mul(in_scale), in_scale, in_zp, torch.quint8)
        j = jtorch.quantize_per_tensor(jtorch.tensor(t.dequantize().numpy()), in_scale, in_zp, jtorch.quint8)
        assert (j.int_repr().numpy() == t.int_repr().numpy()).all()
        _same(jtorch.ao.nn.quantized.Hardswish(out_scale, out_zp)(j),
              torch.ao.nn.quantized.Hardswish(out_scale, out_zp)(t))


@pytest.mark.parametrize("name", ["Hardswish", "LeakyReLU"])
def test_quantized_activation_state_dict(tmp_path, name):
    """scale / zero_point are buffers, as torch's: in the state dict, saved and loaded both ways."""
    tm = getattr(torch.ao.nn.quantized, name)(0.125, 7)
    jm = getattr(jtorch.ao.nn.quantized, name)(0.125, 7)
    ts, js = tm.state_dict(), jm.state_dict()
    assert list(ts) == list(js) == ["scale", "zero_point"]
    for k in ts:
        assert str(js[k].dtype) == str(ts[k].dtype) and js[k].item() == ts[k].item()
    torch.save(getattr(torch.ao.nn.quantized, name)(0.5, 3).state_dict(), tmp_path / "t.pt")
    jm.load_state_dict(jtorch.load(tmp_path / "t.pt"))
    assert jm.scale.item() == 0.5 and jm.zero_point.item() == 3
    jtorch.save(jm.state_dict(), tmp_path / "j.pt")
    tm.load_state_dict(torch.load(tmp_path / "j.pt"))
    assert tm.scale.item() == 0.5 and tm.zero_point.item() == 3

"""Observers, FakeQuantize and QConfigs against torch: the chosen scales/zero points exactly, outputs,
straight-through gradients, state dicts and reprs."""
import warnings

import numpy as np
import pytest
import torch
import torch.ao.quantization as tq

import jtorch
import jtorch.ao.quantization as jq

warnings.filterwarnings("ignore")


def _batches(rng, shape, n=3):
    return [(rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-1, 1)).astype(np.float32)
            for _ in range(n)]


def _run(make_t, make_j, batches):
    t, j = make_t(), make_j()
    for x in batches:
        rt = t(torch.tensor(x))
        rj = j(jtorch.tensor(x))
        np.testing.assert_array_equal(rj.numpy(), rt.numpy())  # observers pass their input through
    st, zt = t.calculate_qparams()
    sj, zj = j.calculate_qparams()
    np.testing.assert_array_equal(sj.numpy(), st.numpy())
    np.testing.assert_array_equal(zj.numpy(), zt.numpy())
    assert str(sj.dtype) == str(st.dtype) and str(zj.dtype) == str(zt.dtype)
    assert tuple(sj.shape) == tuple(st.shape)
    return t, j


CASES = [
    ("MinMaxObserver", {}),
    ("MinMaxObserver", {"dtype": "qint8", "qscheme": "per_tensor_symmetric"}),
    ("MinMaxObserver", {"reduce_range": True}),
    ("MinMaxObserver", {"quant_min": 0, "quant_max": 127}),
    ("MinMaxObserver", {"dtype": "qint8", "quant_min": -100, "quant_max": 50}),
    ("MinMaxObserver", {"dtype": "quint8", "qscheme": "per_tensor_symmetric"}),
    ("MovingAverageMinMaxObserver", {}),
    ("MovingAverageMinMaxObserver", {"averaging_constant": 0.3, "dtype": "qint8"}),
    ("PerChannelMinMaxObserver", {}),
    ("PerChannelMinMaxObserver", {"ch_axis": 1, "dtype": "qint8", "qscheme": "per_channel_symmetric"}),
    ("PerChannelMinMaxObserver", {"qscheme": "per_channel_affine_float_qparams"}),
    ("MovingAveragePerChannelMinMaxObserver", {"ch_axis": 2, "averaging_constant": 0.5}),
    ("HistogramObserver", {}),
    ("HistogramObserver", {"reduce_range": True}),
    ("HistogramObserver", {"dtype": "qint8", "qscheme": "per_tensor_symmetric"}),
]


def _kw(mod, kw):
    return {k: getattr(mod, v) if isinstance(v, str) else v for k, v in kw.items()}


@pytest.mark.parametrize("name,kw", CASES)
def test_observer_qparams(rng, name, kw):
    for nb in (1, 3):
        batches = _batches(rng, (4, 5, 6), nb)
        t, j = _run(lambda: getattr(tq, name)(**_kw(torch, kw)), lambda: getattr(jq, name)(**_kw(jtorch, kw)),
                    batches)
        np.testing.assert_allclose(j.min_val.numpy(), t.min_val.numpy(), rtol=1e-6)
        np.testing.assert_allclose(j.max_val.numpy(), t.max_val.numpy(), rtol=1e-6)
        assert list(j.state_dict()) == list(t.state_dict())
        if name != "PerChannelMinMaxObserver" and "PerChannel" not in name:
            assert repr(j) == repr(t)


def test_histogram_counts(rng):
    """The histogram itself: the first batch exactly; widened ranges redistribute the old counts (within one
    count per bin: torch's float32 rounding of bin midpoints can move a sub-bin across an edge)."""
    t, j = tq.HistogramObserver(bins=256), jq.HistogramObserver(bins=256)
    for k, x in enumerate(_batches(rng, (64, 16), 3)):
        t(torch.tensor(x * (k + 1)))
        j(jtorch.tensor(x * (k + 1)))
        if k == 0:
            np.testing.assert_array_equal(j.histogram.numpy(), t.histogram.numpy())
        np.testing.assert_allclose(j.histogram.numpy(), t.histogram.numpy(), atol=1.0)
        assert abs(j.histogram.numpy().sum() - t.histogram.numpy().sum()) < 1e-2


def test_uninitialized_and_errors():
    st, zt = tq.MinMaxObserver().calculate_qparams()
    sj, zj = jq.MinMaxObserver().calculate_qparams()
    assert sj.tolist() == st.tolist() and zj.tolist() == zt.tolist()
    for m, M in ((tq, torch), (jq, jtorch)):
        with pytest.raises(NotImplementedError):
            m.MinMaxObserver(qscheme=M.per_channel_affine)
        with pytest.raises(NotImplementedError):
            m.PerChannelMinMaxObserver(qscheme=M.per_tensor_affine)
        with pytest.raises(AssertionError):
            m.MinMaxObserver(quant_min=3, quant_max=100)
        with pytest.raises(ValueError):
            m.QConfig(activation=m.MinMaxObserver(), weight=m.default_weight_observer)


def test_with_args_and_qconfigs():
    assert repr(jq.MinMaxObserver.with_args(dtype=jtorch.qint8)).endswith("MinMaxObserver'>, dtype=torch.qint8){}")
    for backend in ("x86", "fbgemm", "qnnpack", "onednn"):
        qt, qj = tq.get_default_qconfig(backend), jq.get_default_qconfig(backend)
        for a, b in ((qt.activation(), qj.activation()), (qt.weight(), qj.weight())):
            assert type(a).__name__ == type(b).__name__
            assert (a.dtype is not None) and str(a.dtype) == str(b.dtype) and str(a.qscheme) == str(b.qscheme)
            assert (a.quant_min, a.quant_max, a.reduce_range) == (b.quant_min, b.quant_max, b.reduce_range)
    for name in ("default_qconfig", "default_dynamic_qconfig", "default_per_channel_qconfig", "default_qat_qconfig"):
        qt, qj = getattr(tq, name), getattr(jq, name)
        assert type(qt.weight()).__name__ == type(qj.weight()).__name__
        assert str(qt.weight().dtype) == str(qj.weight().dtype)
    assert jtorch.quantization.QConfig is jq.QConfig
    with pytest.raises(AssertionError):
        jq.get_default_qconfig("nope")


@pytest.mark.parametrize("per_channel", [False, True])
def test_fake_quantize_module(rng, per_channel):
    if per_channel:
        mt, mj = tq.default_per_channel_weight_fake_quant(), jq.default_per_channel_weight_fake_quant()
    else:
        mt, mj = tq.default_fake_quant(), jq.default_fake_quant()
    for x in _batches(rng, (3, 4, 5), 3):
        xt = torch.tensor(x, requires_grad=True)
        xj = jtorch.tensor(x, requires_grad=True)
        yt, yj = mt(xt), mj(xj)
        np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), rtol=1e-6, atol=1e-7)
        g = rng.standard_normal(x.shape).astype(np.float32)
        yt.backward(torch.tensor(g))
        yj.backward(jtorch.tensor(g))
        np.testing.assert_array_equal(xj.grad.numpy(), xt.grad.numpy())  # straight-through, zero where clamped
    np.testing.assert_array_equal(mj.scale.numpy(), mt.scale.numpy())
    np.testing.assert_array_equal(mj.zero_point.numpy(), mt.zero_point.numpy())
    assert list(mj.state_dict()) == list(mt.state_dict())
    if not per_channel:
        assert repr(mj) == repr(mt)
    mj.disable_fake_quant()
    mt.disable_fake_quant()
    x = _batches(rng, (3, 4, 5), 1)[0]
    np.testing.assert_array_equal(mj(jtorch.tensor(x)).numpy(), mt(torch.tensor(x)).numpy())
    # a state dict round trip (torch's into jtorch's)
    fresh = jq.default_per_channel_weight_fake_quant() if per_channel else jq.default_fake_quant()
    fresh.load_state_dict({k: jtorch.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    np.testing.assert_array_equal(fresh.scale.numpy(), mt.scale.numpy())

"""Eager-mode static post-training quantization against torch: fuse, prepare, calibrate, convert; quantized
Linear/Conv kernels and QFunctional on random quantized inputs (integer outputs compared exactly)."""
import re
import warnings

import numpy as np
import pytest
import torch
import torch.ao.nn.quantized as tnnq
import torch.ao.quantization as tq

import jtorch
import jtorch.ao.nn.quantized as jnnq
import jtorch.ao.quantization as jq

warnings.filterwarnings("ignore")


def _round_floats(text):
    """A repr with its long floats (scales) cut to 5 significant digits: activations computed by XLA's and torch's
    float kernels can differ in the last bit, and observers' scales with them."""
    return re.sub(r"\d+\.\d{6,}(e-?\d+)?", lambda m: f"{float(m.group(0)):.5g}", text)


def _same_q(j, t, max_off=0, rtol=0.0):
    assert str(j.dtype) == str(t.dtype) and tuple(j.shape) == tuple(t.shape)
    a, b = j.int_repr().numpy().astype(np.int64), t.int_repr().numpy().astype(np.int64)
    if max_off == 0:
        np.testing.assert_array_equal(a, b)
    else:
        assert np.abs(a - b).max() <= max_off
    if t.qscheme() == torch.per_tensor_affine:
        assert j.q_zero_point() == t.q_zero_point()
        np.testing.assert_allclose(j.q_scale(), t.q_scale(), rtol=rtol)
    else:
        np.testing.assert_allclose(j.q_per_channel_scales().numpy(), t.q_per_channel_scales().numpy(), rtol=rtol)
        np.testing.assert_array_equal(j.q_per_channel_zero_points().numpy(), t.q_per_channel_zero_points().numpy())


def _qpair(rng, shape, scale, zp, dtype="quint8"):
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    return (torch.quantize_per_tensor(torch.tensor(x), scale, zp, getattr(torch, dtype)),
            jtorch.quantize_per_tensor(jtorch.tensor(x), scale, zp, getattr(jtorch, dtype)))


def _wpair(rng, shape, per_channel):
    w = (rng.standard_normal(shape) * 0.2).astype(np.float32)
    if per_channel:
        s = rng.uniform(0.002, 0.01, shape[0])
        z = np.zeros(shape[0], np.int64)
        return (torch.quantize_per_channel(torch.tensor(w), torch.tensor(s), torch.tensor(z), 0, torch.qint8),
                jtorch.quantize_per_channel(jtorch.tensor(w), jtorch.tensor(s), jtorch.tensor(z), 0, jtorch.qint8))
    s = float(rng.uniform(0.002, 0.01))
    return (torch.quantize_per_tensor(torch.tensor(w), s, 0, torch.qint8),
            jtorch.quantize_per_tensor(jtorch.tensor(w), s, 0, jtorch.qint8))


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("relu", [False, True])
def test_quantized_linear(rng, per_channel, relu):
    xt, xj = _qpair(rng, (6, 10), 0.03, 70)
    wt, wj = _wpair(rng, (5, 10), per_channel)
    b = rng.standard_normal(5).astype(np.float32)
    import torch.ao.nn.intrinsic.quantized as tnniq
    import jtorch.ao.nn.intrinsic.quantized as jnniq
    mt = (tnniq.LinearReLU if relu else tnnq.Linear)(10, 5)
    mj = (jnniq.LinearReLU if relu else jnnq.Linear)(10, 5)
    mt.set_weight_bias(wt, torch.tensor(b))
    mj.set_weight_bias(wj, jtorch.tensor(b))
    mt.scale, mt.zero_point = mj.scale, mj.zero_point = 0.05, 60
    _same_q(mj(xj), mt(xt))
    assert repr(mj) == repr(mt)
    assert list(mj.state_dict()) == list(mt.state_dict())


@pytest.mark.parametrize("cfg", [dict(), dict(stride=2, padding=1), dict(padding=2, dilation=2, groups=2),
                                 dict(bias=False, per_channel=True, relu=True)])
def test_quantized_conv2d(rng, cfg):
    cfg = dict(cfg)
    per_channel = cfg.pop("per_channel", False)
    relu = cfg.pop("relu", False)
    groups = cfg.get("groups", 1)
    xt, xj = _qpair(rng, (2, 4, 9, 9), 0.02, 100)
    wt, wj = _wpair(rng, (6, 4 // groups, 3, 3), per_channel)
    import torch.ao.nn.intrinsic.quantized as tnniq
    import jtorch.ao.nn.intrinsic.quantized as jnniq
    mt = (tnniq.ConvReLU2d if relu else tnnq.Conv2d)(4, 6, 3, **cfg)
    mj = (jnniq.ConvReLU2d if relu else jnnq.Conv2d)(4, 6, 3, **cfg)
    b = None if cfg.get("bias", True) is False else rng.standard_normal(6).astype(np.float32)
    mt.set_weight_bias(wt, None if b is None else torch.tensor(b))
    mj.set_weight_bias(wj, None if b is None else jtorch.tensor(b))
    mt.scale, mt.zero_point = mj.scale, mj.zero_point = 0.04, 30
    _same_q(mj(xj), mt(xt))
    assert repr(mj) == repr(mt)
    assert list(mj.state_dict()) == list(mt.state_dict())


def test_functional(rng):
    xt, xj = _qpair(rng, (2, 3, 8, 8), 0.05, 20)
    wt, wj = _wpair(rng, (4, 3, 3, 3), False)
    b = rng.standard_normal(4).astype(np.float32)
    _same_q(jnnq.functional.conv2d(xj, wj, jtorch.tensor(b), padding=1, scale=0.1, zero_point=10),
            tnnq.functional.conv2d(xt, wt, torch.tensor(b), padding=1, scale=0.1, zero_point=10))
    _same_q(jnnq.functional.max_pool2d(xj, 2), tnnq.functional.max_pool2d(xt, 2))
    _same_q(jnnq.functional.hardtanh(xj, -0.5, 0.7), tnnq.functional.hardtanh(xt, -0.5, 0.7))
    _same_q(jnnq.functional.clamp(xj, -0.3, 1.1), tnnq.functional.clamp(xt, -0.3, 1.1))
    _same_q(jnnq.ReLU6()(xj), tnnq.ReLU6()(xt))
    with pytest.raises(NotImplementedError):
        jnnq.functional.conv2d(xj, wj, None, padding_mode="circular")


def test_qfunctional(rng):
    (at, aj), (bt, bj) = _qpair(rng, (3, 7), 0.04, 64), _qpair(rng, (3, 7), 0.03, 80)
    ft, fj = tnnq.QFunctional(), jnnq.QFunctional()
    ft.scale, ft.zero_point = fj.scale, fj.zero_point = 0.06, 50
    for op in ("add", "mul", "add_relu"):
        _same_q(getattr(fj, op)(aj, bj), getattr(ft, op)(at, bt))
    _same_q(fj.cat([aj, bj], 1), ft.cat([at, bt], 1))
    assert repr(fj) == repr(ft)


class _Net:
    """The same small convnet in torch and jtorch (quant stub, conv-bn-relu, pooling, add, linear, dequant)."""

    @staticmethod
    def build(m, nnq):
        class Net(m.nn.Module):
            def __init__(self):
                super().__init__()
                Q = m.ao.quantization
                self.quant = Q.QuantStub()
                self.conv = m.nn.Conv2d(3, 8, 3, padding=1)
                self.bn = m.nn.BatchNorm2d(8)
                self.relu = m.nn.ReLU()
                self.pool = m.nn.MaxPool2d(2)
                self.conv2 = m.nn.Conv2d(8, 8, 3, padding=1)
                self.relu2 = m.nn.ReLU()
                self.ff = nnq.FloatFunctional()
                self.fc = m.nn.Linear(8 * 4 * 4, 10)
                self.dequant = Q.DeQuantStub()

            def forward(self, x):
                x = self.quant(x)
                x = self.pool(self.relu(self.bn(self.conv(x))))
                x = self.ff.add(x, self.relu2(self.conv2(x)))
                x = self.fc(x.flatten(1))
                return self.dequant(x)
        return Net()


def _pair_models(rng):
    tm, jm = _Net.build(torch, tnnq), _Net.build(jtorch, jnnq)
    sd = {}
    for k, v in tm.state_dict().items():
        if v.dtype == torch.float32:
            a = (rng.standard_normal(tuple(v.shape)) * 0.3).astype(np.float32)
            if k.endswith("running_var"):
                a = np.abs(a) + 0.5
            sd[k] = a
        else:
            sd[k] = v.numpy()
    tm.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    jm.load_state_dict({k: jtorch.tensor(v) for k, v in sd.items()})
    return tm.eval(), jm.eval()


@pytest.mark.parametrize("backend", ["x86", "qnnpack", "default"])
def test_static_ptq_end_to_end(rng, backend):
    tm, jm = _pair_models(rng)
    if backend == "default":
        tm.qconfig, jm.qconfig = tq.default_qconfig, jq.default_qconfig
    else:
        tm.qconfig, jm.qconfig = tq.get_default_qconfig(backend), jq.get_default_qconfig(backend)
    fuse = [["conv", "bn", "relu"], ["conv2", "relu2"]]
    tf, jf = tq.fuse_modules(tm, fuse), jq.fuse_modules(jm, fuse)
    assert repr(jf) == repr(tf)
    x0 = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(jf(jtorch.tensor(x0)).detach().numpy(), tf(torch.tensor(x0)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)  # folding batch norm keeps the function
    tp, jp = tq.prepare(tf), jq.prepare(jf)
    assert _round_floats(repr(jp)) == _round_floats(repr(tp))
    for _ in range(3):
        x = (rng.standard_normal((4, 3, 8, 8)) * 1.5).astype(np.float32)
        tp(torch.tensor(x))
        jp(jtorch.tensor(x))
    tc, jc = tq.convert(tp), jq.convert(jp)
    assert _round_floats(repr(jc)) == _round_floats(repr(tc))
    assert list(jc.state_dict()) == list(tc.state_dict())
    # the folded conv weights and the observed activation ranges are float32 computations that may differ from
    # torch's in the last bit: parameters agree to float32 rounding, integers to one step
    _same_q(jc.conv.weight(), tc.conv.weight(), max_off=1, rtol=1e-6)
    _same_q(jc.fc.weight(), tc.fc.weight())
    for name in ("conv", "conv2", "fc", "ff"):
        assert getattr(jc, name).zero_point == getattr(tc, name).zero_point
        np.testing.assert_allclose(getattr(jc, name).scale, getattr(tc, name).scale, rtol=1e-6)
    x = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    qt = tc.quant(torch.tensor(x))
    qj = jc.quant(jtorch.tensor(x))
    _same_q(qj, qt, rtol=1e-6, max_off=1)
    yt, yj = tc(torch.tensor(x)).numpy(), jc(jtorch.tensor(x)).numpy()
    step = tc.fc.scale
    assert np.abs(yt - yj).max() <= 2 * step + 1e-6  # at most a step or two from torch
    assert float(np.mean(np.abs(yt - yj) < step / 2)) > 0.8


def test_static_model_stages_exact(rng):
    """Converted modules given torch's own parameters run torch's integer arithmetic exactly."""
    tm, jm = _pair_models(rng)
    tm.qconfig = tq.get_default_qconfig("x86")
    tf = tq.fuse_modules(tm, [["conv", "bn", "relu"], ["conv2", "relu2"]])
    tp = tq.prepare(tf)
    tp(torch.tensor((rng.standard_normal((4, 3, 8, 8))).astype(np.float32)))
    tc = tq.convert(tp)
    jm.qconfig = jq.get_default_qconfig("x86")
    jc = jq.convert(jq.prepare(jq.fuse_modules(jm, [["conv", "bn", "relu"], ["conv2", "relu2"]])))
    for name in ("conv", "conv2"):
        w, b = getattr(tc, name).weight(), getattr(tc, name).bias()
        wj = jtorch.quantize_per_channel(jtorch.tensor(w.dequantize().numpy()),
                                         jtorch.tensor(w.q_per_channel_scales().numpy()),
                                         jtorch.tensor(w.q_per_channel_zero_points().numpy()), 0, jtorch.qint8)
        getattr(jc, name).set_weight_bias(wj, jtorch.tensor(b.detach().numpy()))
        getattr(jc, name).scale, getattr(jc, name).zero_point = getattr(tc, name).scale, getattr(tc, name).zero_point
    jc.ff.scale, jc.ff.zero_point = tc.ff.scale, tc.ff.zero_point
    x = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    s, z = float(tc.quant.scale), int(tc.quant.zero_point)
    qt = torch.quantize_per_tensor(torch.tensor(x), s, z, torch.quint8)
    qj = jtorch.quantize_per_tensor(jtorch.tensor(x), s, z, jtorch.quint8)
    ct, cj = tc.pool(tc.conv(qt)), jc.pool(jc.conv(qj))
    _same_q(cj, ct)
    _same_q(jc.conv2(cj), tc.conv2(ct))
    _same_q(jc.ff.add(cj, jc.conv2(cj)), tc.ff.add(ct, tc.conv2(ct)), max_off=1)


def test_quant_wrapper_and_errors(rng):
    lin_t, lin_j = torch.nn.Linear(4, 3), jtorch.nn.Linear(4, 3)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    lin_t.weight.data, lin_j.weight.data = torch.tensor(w), jtorch.tensor(w)
    lin_t.bias.data, lin_j.bias.data = torch.zeros(3), jtorch.zeros(3)
    wt, wj = tq.QuantWrapper(lin_t).eval(), jq.QuantWrapper(lin_j).eval()
    wt.qconfig, wj.qconfig = tq.default_qconfig, jq.default_qconfig
    x = rng.standard_normal((5, 4)).astype(np.float32)
    qt = tq.quantize(wt, lambda m, d: m(d), [torch.tensor(x)])
    qj = jq.quantize(wj, lambda m, d: m(d), [jtorch.tensor(x)])
    assert repr(qj) == repr(qt)
    np.testing.assert_array_equal(qj(jtorch.tensor(x)).numpy(), qt(torch.tensor(x)).numpy())
    with pytest.raises(NotImplementedError):
        jnnq.Linear(4, 3)(jtorch.tensor(x))  # a float input to a quantized module


def test_converted_state_dict_both_ways(rng, tmp_path):
    """A converted model's state dict (quantized conv weights, packed linear parameters, scales) saved by torch
    loads into jtorch's converted model and back."""
    tm, jm = _pair_models(rng)
    tm.qconfig, jm.qconfig = tq.default_qconfig, jq.default_qconfig
    fuse = [["conv", "bn", "relu"], ["conv2", "relu2"]]
    tp, jp = tq.prepare(tq.fuse_modules(tm, fuse)), jq.prepare(jq.fuse_modules(jm, fuse))
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    tp(torch.tensor(x))
    jp(jtorch.tensor(x))
    tc, jc = tq.convert(tp), jq.convert(jp)
    torch.save(tc.state_dict(), tmp_path / "t.pt")
    jc.load_state_dict(jtorch.load(tmp_path / "t.pt"))
    _same_q(jc.conv.weight(), tc.conv.weight())
    _same_q(jc.fc.weight(), tc.fc.weight())
    assert (jc.conv2.scale, jc.ff.zero_point) == (tc.conv2.scale, tc.ff.zero_point)
    qt = tc.quant(torch.tensor(x))
    qj = jtorch.quantize_per_tensor(jtorch.tensor(x), qt.q_scale(), qt.q_zero_point(), jtorch.quint8)
    _same_q(jc.conv2(jc.pool(jc.conv(qj))), tc.conv2(tc.pool(tc.conv(qt))))
    jtorch.save(jc.state_dict(), tmp_path / "j.pt")
    fresh = _pair_models(rng)[0]
    fresh.qconfig = tq.default_qconfig
    tp2 = tq.prepare(tq.fuse_modules(fresh, fuse))
    tp2(torch.tensor(x))
    tc2 = tq.convert(tp2)
    tc2.load_state_dict(torch.load(tmp_path / "j.pt"))
    np.testing.assert_array_equal(tc2(torch.tensor(x)).numpy(), tc(torch.tensor(x)).numpy())

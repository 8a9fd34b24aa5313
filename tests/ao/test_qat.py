"""Quantization-aware training against torch (x86/fbgemm engine): the fused observer + fake quantization, the
QAT modules, and a seeded training loop (fuse_modules_qat, prepare_qat, SGD steps, disable_observer,
freeze_bn_stats, convert) giving torch's losses, weights, fake-quantization parameters and, after convert,
integer outputs."""
import re
import warnings

import numpy as np
import pytest
import torch
import torch.ao.nn.intrinsic.qat as tnniqat
import torch.ao.nn.qat as tnnqat
import torch.ao.quantization as tq

import jtorch
import jtorch.ao.nn.intrinsic.qat as jnniqat
import jtorch.ao.nn.qat as jnnqat
import jtorch.ao.quantization as jq

warnings.filterwarnings("ignore")

FUSED = ["default_fused_act_fake_quant", "default_fused_wt_fake_quant", "default_fused_per_channel_wt_fake_quant",
         "fused_wt_fake_quant_range_neg_127_to_127", "fused_per_channel_wt_fake_quant_range_neg_127_to_127"]


def _round_floats(text):
    """A repr with long floats cut to 5 significant digits (scales observed from float convs may differ from
    torch's in the last bit)."""
    return re.sub(r"\d+\.\d{6,}(e-?\d+)?", lambda m: f"{float(m.group(0)):.5g}", text)


def _same_state(mj, mt, rtol=0.0, atol=0.0):
    sj, st = mj.state_dict(), mt.state_dict()
    assert list(sj) == list(st)
    for k, v in st.items():
        w = sj[k]
        assert str(w.dtype) == str(v.dtype), k
        assert tuple(w.shape) == tuple(v.shape), k
        np.testing.assert_allclose(w.numpy(), v.numpy(), rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("name", FUSED)
def test_fused_moving_avg_obs_fake_quant_module(rng, name):
    """FusedMovingAvgObsFakeQuantize: outputs, straight-through gradients and every buffer exactly torch's,
    through observer and fake-quant switches."""
    mt, mj = getattr(tq.fake_quantize, name)(), getattr(jq.fake_quantize, name)()
    assert repr(mj) == repr(mt)
    for i in range(5):
        x = (rng.standard_normal((4, 3, 2, 2)) * (i + 1) + 0.2).astype(np.float32)
        if i == 2:
            mt.disable_observer()
            mj.disable_observer()
        if i == 3:
            mt.enable_observer()
            mj.enable_observer()
        if i == 4:
            mt.disable_fake_quant()
            mj.disable_fake_quant()
        xt, xj = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
        yt, yj = mt(xt), mj(xj)
        (yt * torch.tensor(x)).sum().backward()
        (yj * jtorch.tensor(x)).sum().backward()
        np.testing.assert_array_equal(yj.detach().numpy(), yt.detach().numpy())
        np.testing.assert_array_equal(xj.grad.numpy(), xt.grad.numpy())
        _same_state(mj, mt)
    st, zt = mt.calculate_qparams()  # convert's parameters: the observer's own formula
    sj, zj = mj.calculate_qparams()
    np.testing.assert_array_equal(sj.numpy(), st.numpy())
    np.testing.assert_array_equal(zj.numpy(), zt.numpy())


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("qrange", [(0, 255), (-128, 127), (0, 127)])
def test_fused_op_ranges(rng, symmetric, qrange):
    """torch.fused_moving_avg_obs_fake_quant on ranges of every size (tiny ones raise the scale to 6.1e-5),
    one-sided ones, and a moving average over batches."""
    qmin, qmax = qrange
    for mag in (1e-7, 1e-4, 1.0, 300.0):
        state = {}
        for mod in (torch, jtorch):
            state[mod] = [mod.tensor(float("inf")).reshape(1), mod.tensor(float("-inf")).reshape(1),
                          mod.tensor([1.0]), mod.tensor([0], dtype=mod.int32)]
        for shift in (0.0, 2.0, -2.0):
            x = ((rng.standard_normal(50) + shift) * mag).astype(np.float32)
            outs = []
            for mod in (torch, jtorch):
                rmin, rmax, scale, zp = state[mod]
                outs.append(mod.fused_moving_avg_obs_fake_quant(
                    mod.tensor(x), mod.tensor([1]), mod.tensor([1]), rmin, rmax, scale, zp, 0.3, qmin, qmax, 0,
                    False, symmetric))
            np.testing.assert_array_equal(outs[1].numpy(), outs[0].numpy())
            for a, b in zip(state[jtorch], state[torch]):
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(RuntimeError):
        w = jtorch.randn(3, 4)
        jtorch.fused_moving_avg_obs_fake_quant(w, jtorch.tensor([1]), jtorch.tensor([1]), jtorch.tensor([]),
                                               jtorch.tensor([]), jtorch.tensor([1.0]),
                                               jtorch.tensor([0], dtype=jtorch.int32), 0.01, -128, 127, 1, True,
                                               True)


def _build(m, linear_bn=False):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            Q = m.ao.quantization
            self.quant = Q.QuantStub()
            self.conv = m.nn.Conv2d(3, 6, 3, padding=1)
            self.bn = m.nn.BatchNorm2d(6)
            self.relu = m.nn.ReLU()
            self.pool = m.nn.MaxPool2d(2)
            self.conv2 = m.nn.Conv2d(6, 6, 3, padding=1, bias=False)
            self.fc1 = m.nn.Linear(6 * 4 * 4, 16)
            self.bn1 = m.nn.BatchNorm1d(16) if linear_bn else m.nn.ReLU()
            self.fc2 = m.nn.Linear(16, 5)
            self.dequant = Q.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            x = self.pool(self.relu(self.bn(self.conv(x))))
            x = self.conv2(x)
            x = self.bn1(self.fc1(x.flatten(1)))
            return self.dequant(self.fc2(x))
    return Net()


def _same_random_state(rng, mt, mj, scale):
    """The same random float parameters and statistics (positive running variances) in torch's and jtorch's
    module."""
    sd = {}
    for k, v in mt.state_dict().items():
        if v.dtype == torch.float32:
            a = (rng.standard_normal(tuple(v.shape)) * scale).astype(np.float32)
            sd[k] = np.abs(a) + 0.5 if k.endswith("running_var") else a
        else:
            sd[k] = v.numpy()
    mt.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    mj.load_state_dict({k: jtorch.tensor(v) for k, v in sd.items()})


def _pair(rng, linear_bn=False):
    tm, jm = _build(torch, linear_bn), _build(jtorch, linear_bn)
    _same_random_state(rng, tm, jm, 0.3)
    return tm.train(), jm.train()


def _qparams_close(mj, mt):
    """Every fake quantization's scale (to float32 rounding: activations come from float convs that may differ
    in the last bit) and zero point (exactly)."""
    fj = {n: m for n, m in mj.named_modules() if isinstance(m, jq.FakeQuantizeBase)}
    ft = {n: m for n, m in mt.named_modules() if isinstance(m, tq.FakeQuantizeBase)}
    assert list(fj) == list(ft) and ft
    for n, m in ft.items():
        np.testing.assert_allclose(fj[n].scale.numpy(), m.scale.numpy(), rtol=1e-6, err_msg=n)
        np.testing.assert_array_equal(fj[n].zero_point.numpy(), m.zero_point.numpy(), err_msg=n)


@pytest.mark.parametrize("backend,version,linear_bn", [("x86", 1, False), ("x86", 0, False), ("qnnpack", 1, True)])
def test_qat_training_loop_and_convert(rng, tmp_path, backend, version, linear_bn):
    tm, jm = _pair(rng, linear_bn)
    tm.qconfig = tq.get_default_qat_qconfig(backend, version)
    jm.qconfig = jq.get_default_qat_qconfig(backend, version)
    fuse = [["conv", "bn", "relu"], ["fc1", "bn1"]]
    tf, jf = tq.fuse_modules_qat(tm, fuse), jq.fuse_modules_qat(jm, fuse)
    assert repr(jf) == repr(tf)
    tp, jp = tq.prepare_qat(tf), jq.prepare_qat(jf)
    assert repr(jp) == repr(tp)
    assert [type(m).__name__ for m in jp.modules()] == [type(m).__name__ for m in tp.modules()]
    ot = torch.optim.SGD(tp.parameters(), lr=0.05, momentum=0.9)
    oj = jtorch.optim.SGD(jp.parameters(), lr=0.05, momentum=0.9)
    for step in range(6):
        x = (rng.standard_normal((8, 3, 8, 8)) * 1.5).astype(np.float32)
        y = rng.integers(0, 5, 8)
        if step == 3:  # torch's recipe: stop observing, then freeze the batch norm statistics
            tp.apply(tq.disable_observer)
            jp.apply(jq.disable_observer)
        if step == 4:
            tp.apply(tnniqat.freeze_bn_stats)
            jp.apply(jnniqat.freeze_bn_stats)
        lt = torch.nn.functional.cross_entropy(tp(torch.tensor(x)), torch.tensor(y))
        lj = jtorch.nn.functional.cross_entropy(jp(jtorch.tensor(x)), jtorch.tensor(y))
        ot.zero_grad()
        lt.backward()
        ot.step()
        oj.zero_grad()
        lj.backward()
        oj.step()
        np.testing.assert_allclose(lj.item(), lt.item(), rtol=1e-5)
        _qparams_close(jp, tp)
    _same_state(jp, tp, rtol=1e-4, atol=1e-6)
    assert jp.conv.bn.training is tp.conv.bn.training is False  # frozen, though the model trains
    tp.eval()
    jp.eval()
    tc, jc = tq.convert(tp), jq.convert(jp)
    assert _round_floats(repr(jc)) == _round_floats(repr(tc))
    assert list(jc.state_dict()) == list(tc.state_dict())
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    # each quantized stage on torch's own input: integers equal
    qt = tc.quant(torch.tensor(x))
    qj = jtorch.quantize_per_tensor(jtorch.tensor(x), qt.q_scale(), qt.q_zero_point(), jtorch.quint8)
    for name in ("conv", "conv2", "fc1", "fc2"):
        assert getattr(jc, name).zero_point == getattr(tc, name).zero_point
        np.testing.assert_allclose(getattr(jc, name).scale, getattr(tc, name).scale, rtol=1e-6)
        wt, wj = getattr(tc, name).weight(), getattr(jc, name).weight()
        np.testing.assert_array_equal(wj.int_repr().numpy(), wt.int_repr().numpy())
    ct = tc.conv2(tc.pool(tc.conv(qt)))
    cj = jc.conv2(jc.pool(jc.conv(qj)))
    for name in ("conv", "conv2"):  # torch's output parameters, so integers compare exactly
        getattr(jc, name).scale = getattr(tc, name).scale
    cj = jc.conv2(jc.pool(jc.conv(qj)))
    np.testing.assert_array_equal(cj.int_repr().numpy(), ct.int_repr().numpy())
    ft = tc.fc2(tc.fc1(ct.flatten(1)))
    jc.fc1.scale, jc.fc2.scale = tc.fc1.scale, tc.fc2.scale
    fj = jc.fc2(jc.fc1(cj.flatten(1)))
    np.testing.assert_array_equal(fj.int_repr().numpy(), ft.int_repr().numpy())
    # torch's trained QAT state dict (torch.save) loads into a fresh jtorch QAT model: the same function, and
    # after convert the same quantized model
    fresh = _pair(rng, linear_bn)[1]
    fresh.qconfig = jq.get_default_qat_qconfig(backend, version)
    jp2 = jq.prepare_qat(jq.fuse_modules_qat(fresh, fuse))
    torch.save(tp.state_dict(), tmp_path / "qat.pt")
    jp2.load_state_dict(jtorch.load(tmp_path / "qat.pt"))
    jp2.eval()
    np.testing.assert_allclose(jp2(jtorch.tensor(x)).detach().numpy(), tp(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    jc2 = jq.convert(jp2)
    assert repr(jc2) == repr(tc)
    np.testing.assert_array_equal(jc2(jtorch.tensor(x)).numpy(), tc(torch.tensor(x)).numpy())


CONVBN = [("ConvBn1d", (2, 3, 9)), ("ConvBnReLU1d", (2, 3, 9)), ("ConvBn2d", (2, 3, 7, 7)),
          ("ConvBnReLU2d", (2, 3, 7, 7)), ("ConvBn3d", (2, 3, 5, 5, 5)), ("ConvBnReLU3d", (2, 3, 5, 5, 5)),
          ("ConvBnReLU2d-slow", (2, 3, 7, 7)), ("ConvBn1d-slow", (2, 3, 9))]


@pytest.mark.parametrize("name,shape", CONVBN)
def test_conv_bn_modules(rng, name, shape):
    """Each fused conv-bn QAT module from its float form: training steps (batch statistics), frozen (running
    statistics), to_float; gradients of every parameter as torch's."""
    n = len(shape) - 2
    relu = "ReLU" in name
    name, _, slow = name.partition("-")  # slow: torch's exact two-pass fold

    def float_fused(m):
        conv = getattr(m.nn, f"Conv{n}d")(3, 4, 3, padding=1, bias=True)
        bn = getattr(m.nn, f"BatchNorm{n}d")(4)
        mods = (conv, bn, m.nn.ReLU()) if relu else (conv, bn)
        return getattr(m.ao.nn.intrinsic, name)(*mods)
    ft, fj = float_fused(torch), float_fused(jtorch)
    _same_random_state(rng, ft, fj, 0.4)
    ft.qconfig, fj.qconfig = tq.get_default_qat_qconfig("x86"), jq.get_default_qat_qconfig("x86")
    mt, mj = getattr(tnniqat, name).from_float(ft), getattr(jnniqat, name).from_float(fj)
    assert repr(mj) == repr(mt)
    mt._enable_slow_path_for_better_numerical_stability = bool(slow)
    mj._enable_slow_path_for_better_numerical_stability = bool(slow)
    for step in range(3):
        if step == 2:
            mt.freeze_bn_stats()
            mj.freeze_bn_stats()
        x = rng.standard_normal(shape).astype(np.float32)
        xt, xj = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
        yt, yj = mt(xt), mj(xj)
        np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
        g = rng.standard_normal(yt.shape).astype(np.float32)
        yt.backward(torch.tensor(g))
        yj.backward(jtorch.tensor(g))
        np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        for (k, pt), (_, pj) in zip(mt.named_parameters(), mj.named_parameters()):
            np.testing.assert_allclose(pj.grad.numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=k)
        _same_state(mj, mt, rtol=1e-5, atol=1e-6)
    assert mj.bn.training is False and mj.freeze_bn
    mt.update_bn_stats()
    mj.update_bn_stats()
    assert mj.bn.training is True
    bt, bj = mt.to_float(), mj.to_float()
    assert repr(bj) == repr(bt)
    bt.eval()
    bj.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(bj(jtorch.tensor(x)).detach().numpy(), bt(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["Linear", "Conv2d", "Conv3d", "ConvReLU2d", "LinearReLU", "LinearBn1d"])
def test_qat_module_forms(rng, kind):
    """Each QAT module from its float form: repr, state dict, forward and weight gradient as torch's; to_float;
    from_float's and the constructor's errors."""
    qct, qcj = tq.default_qat_qconfig, jq.default_qat_qconfig
    shape = {"Linear": (4, 6), "LinearReLU": (4, 6), "LinearBn1d": (4, 6), "Conv2d": (2, 3, 6, 6),
             "ConvReLU2d": (2, 3, 6, 6), "Conv3d": (1, 3, 4, 4, 4)}[kind]

    def float_mod(m):
        if kind.startswith("Linear"):
            base = m.nn.Linear(6, 5)
            return {"Linear": base, "LinearReLU": m.ao.nn.intrinsic.LinearReLU(base, m.nn.ReLU()),
                    "LinearBn1d": m.ao.nn.intrinsic.LinearBn1d(base, m.nn.BatchNorm1d(5))}[kind]
        conv = (m.nn.Conv3d if kind == "Conv3d" else m.nn.Conv2d)(3, 4, 3, stride=2)
        return m.ao.nn.intrinsic.ConvReLU2d(conv, m.nn.ReLU()) if kind == "ConvReLU2d" else conv
    ft, fj = float_mod(torch), float_mod(jtorch)
    _same_random_state(rng, ft, fj, 0.4)
    ns_t = tnniqat if kind in ("ConvReLU2d", "LinearReLU", "LinearBn1d") else tnnqat
    ns_j = jnniqat if kind in ("ConvReLU2d", "LinearReLU", "LinearBn1d") else jnnqat
    with pytest.raises(AssertionError):
        getattr(ns_j, kind).from_float(fj)  # no qconfig
    ft.qconfig, fj.qconfig = qct, qcj
    if isinstance(fj, jtorch.nn.Sequential):
        fj[0].qconfig = qcj
        ft[0].qconfig = qct
    mt, mj = getattr(ns_t, kind).from_float(ft), getattr(ns_j, kind).from_float(fj)
    assert repr(mj) == repr(mt)
    x = rng.standard_normal(shape).astype(np.float32)
    yt, yj = mt(torch.tensor(x)), mj(jtorch.tensor(x))
    np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    yt.sum().backward()
    yj.sum().backward()
    np.testing.assert_allclose(mj.weight.grad.numpy(), mt.weight.grad.numpy(), rtol=1e-4, atol=1e-5)
    _same_state(mj, mt, rtol=1e-5, atol=1e-6)
    assert repr(mj.to_float()) == repr(mt.to_float())
    wrong = jtorch.nn.Conv1d(3, 4, 3) if kind.startswith("Linear") else jtorch.nn.Linear(3, 4)
    wrong.qconfig = qcj
    with pytest.raises(AssertionError):
        getattr(ns_j, kind).from_float(wrong)
    with pytest.raises(AssertionError):
        jnnqat.Linear(3, 4)  # a QAT module needs a qconfig


def test_prepare_qat_errors_and_special_outputs(rng):
    m = jtorch.nn.Sequential(jtorch.nn.Linear(4, 4), jtorch.nn.Sigmoid(), jtorch.nn.Tanh())
    m.qconfig = jq.get_default_qat_qconfig("x86")
    with pytest.raises(AssertionError):
        jq.prepare_qat(m.eval())
    t = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Sigmoid(), torch.nn.Tanh())
    t.qconfig = tq.get_default_qat_qconfig("x86")
    pt, pj = tq.prepare_qat(t.train()), jq.prepare_qat(m.train())
    assert repr(pj) == repr(pt)  # sigmoid/tanh outputs get fixed-parameter fake quantization
    assert isinstance(pj[1].activation_post_process, jq.FixedQParamsFakeQuantize)
    with pytest.raises(AssertionError):
        jq.fuse_modules_qat(jtorch.nn.Sequential(jtorch.nn.Conv2d(3, 4, 3), jtorch.nn.BatchNorm2d(5)), [["0", "1"]])
    assert jtorch.quantization.prepare_qat is jq.prepare_qat


def test_dynamic_qat_linear(rng):
    """torch.ao.nn.qat.dynamic.Linear: fake-quantized weight in training, then the dynamic quantized Linear."""
    import torch.ao.nn.qat.dynamic as tnnqatd
    import jtorch.ao.nn.qat.dynamic as jnnqatd
    ft, fj = torch.nn.Linear(6, 4), jtorch.nn.Linear(6, 4)
    _same_random_state(rng, ft, fj, 0.5)
    ft.qconfig, fj.qconfig = tq.default_dynamic_qat_qconfig, jq.default_dynamic_qat_qconfig
    mt, mj = tnnqatd.Linear.from_float(ft), jnnqatd.Linear.from_float(fj)
    assert repr(mj) == repr(mt)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_allclose(mj(jtorch.tensor(x)).detach().numpy(), mt(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    _same_state(mj, mt)
    qt = tq.convert(torch.nn.Sequential(mt), mapping=tq.get_default_dynamic_quant_module_mappings())
    qj = jq.convert(jtorch.nn.Sequential(mj), mapping=jq.get_default_dynamic_quant_module_mappings())
    assert repr(qj) == repr(qt)
    np.testing.assert_allclose(qj(jtorch.tensor(x)).numpy(), qt(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
    for ns, qc in ((tnnqatd, tq.default_qat_qconfig), (jnnqatd, jq.default_qat_qconfig)):
        with pytest.raises(ValueError):
            ns.Linear(6, 4, qconfig=qc)  # the activation observer keeps history: not dynamic


def test_legacy_nn_names():
    """torch.nn.quantized / qat / intrinsic are torch.ao.nn's modules under their old names (the same classes)."""
    import jtorch.nn.intrinsic.qat as legacy_iqat
    import jtorch.nn.quantized.dynamic as legacy_qd
    import jtorch.ao.nn.quantized.dynamic as qd
    assert legacy_qd.LSTM is qd.LSTM and legacy_iqat.ConvBn2d is jnniqat.ConvBn2d
    assert jtorch.nn.qat.Linear is jnnqat.Linear
    assert jtorch.nn.quantized.functional.conv2d is jtorch.ao.nn.quantized.functional.conv2d
    assert jtorch.nn.intrinsic.ConvReLU2d is jtorch.ao.nn.intrinsic.ConvReLU2d
    with pytest.raises(AttributeError):
        jtorch.nn.not_a_submodule

"""FX graph mode quantization of the patterns beyond conv/linear/add (tests/ao/test_quantize_fx.py): normalizations,
activations with their own output parameters, dropout, standalone batch norm, transposed convolutions, functional
linear/conv with weights as graph values, embeddings, dynamic RNNs, custom configs. The same float weights and
calibration data go through torch's and jtorch's prepare_fx / calibrate / convert_fx; module reprs (scales and zero
points included), graph ops and quantized weights are compared, outputs within one quantization step."""
import warnings

import numpy as np
import pytest
import torch
import torch.ao.quantization as tq
import torch.ao.quantization.quantize_fx as tqfx

import jtorch
import jtorch.ao.quantization as jq
import jtorch.ao.quantization.quantize_fx as jqfx
from test_quantize_fx import _close, _graph_ops, _module_repr, _module_types

warnings.filterwarnings("ignore")


def _same_weights(mt, mj, rng):
    """Random float weights (and batch norm statistics) loaded into both models."""
    state = {}
    for k, v in mt.state_dict().items():
        v = v.detach().numpy()
        if k.endswith("running_var"):
            state[k] = rng.uniform(0.5, 1.5, v.shape).astype(np.float32)
        elif v.dtype == np.float32:
            state[k] = (rng.standard_normal(v.shape) * 0.3).astype(np.float32)
        else:
            state[k] = v
    mt.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    mj.load_state_dict({k: jtorch.tensor(v) for k, v in state.items()})
    mt.eval()
    mj.eval()


def _seq(lib, name):
    """(model, input shape): a quantized conv/linear feeding the module under test, then its user."""
    nn = lib.nn
    models = {
        "layer_norm": (lambda: nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 3)), (5, 4)),
        "instance_norm1d": (lambda: nn.Sequential(nn.Conv1d(3, 4, 1), nn.InstanceNorm1d(4)), (2, 3, 7)),
        "instance_norm2d": (lambda: nn.Sequential(nn.Conv2d(3, 4, 1), nn.InstanceNorm2d(4, affine=True)),
                            (2, 3, 4, 4)),
        "instance_norm3d": (lambda: nn.Sequential(nn.Conv3d(3, 4, 1), nn.InstanceNorm3d(4)), (2, 3, 3, 3, 3)),
        "group_norm": (lambda: nn.Sequential(nn.Conv2d(3, 4, 1), nn.GroupNorm(2, 4)), (2, 3, 4, 4)),
        "prelu": (lambda: nn.Sequential(nn.Linear(4, 6), nn.PReLU(6)), (5, 4)),
        "elu": (lambda: nn.Sequential(nn.Linear(4, 6), nn.ELU(0.7), nn.Linear(6, 2)), (5, 4)),
        "softmax": (lambda: nn.Sequential(nn.Linear(4, 6), nn.Softmax(dim=1)), (5, 4)),
        "dropout": (lambda: nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.3), nn.Linear(6, 2)), (5, 4)),
        "batch_norm2d": (lambda: nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 2, 1)), (2, 3, 4, 4)),
        "batch_norm3d": (lambda: nn.Sequential(nn.BatchNorm3d(3)), (2, 3, 2, 3, 3)),
        "bn_relu2d": (lambda: nn.Sequential(nn.BatchNorm2d(3), nn.ReLU()), (2, 3, 4, 4)),
        "conv_transpose1d": (lambda: nn.Sequential(nn.ConvTranspose1d(3, 4, 3, stride=2)), (2, 3, 5)),
        "conv_transpose2d": (lambda: nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1,
                                                                      output_padding=1), nn.ReLU()), (2, 3, 4, 4)),
        "conv_transpose3d": (lambda: nn.Sequential(nn.ConvTranspose3d(4, 4, 2, groups=2, bias=False)),
                             (1, 4, 2, 3, 3)),
        "conv_transpose2d_bn": (lambda: nn.Sequential(nn.ConvTranspose2d(3, 4, 3), nn.BatchNorm2d(4)),
                                (2, 3, 3, 3)),
    }
    factory, shape = models[name]
    return factory(), shape


def _calibrated(mt, mj, shape, rng, qmap_fn, n=2, prepare_custom=lambda lib: None):
    xs = [rng.standard_normal(shape).astype(np.float32) for _ in range(n + 1)]
    pt = tqfx.prepare_fx(mt, qmap_fn(torch), (torch.tensor(xs[0]),), prepare_custom_config=prepare_custom(torch))
    pj = jqfx.prepare_fx(mj, qmap_fn(jtorch), (jtorch.tensor(xs[0]),), prepare_custom_config=prepare_custom(jtorch))
    with torch.no_grad():
        for x in xs[:n]:
            pt(torch.tensor(x))
    with jtorch.no_grad():
        for x in xs[:n]:
            pj(jtorch.tensor(x))
    return pt, pj, xs[n]


@pytest.fixture
def fbgemm():
    """torch's fbgemm engine: jtorch computes its arithmetic (torch's default x86 engine runs transposed
    convolutions through onednn, whose results are wrong when in_channels != out_channels)."""
    engine = torch.backends.quantized.engine
    torch.backends.quantized.engine = "fbgemm"
    yield
    torch.backends.quantized.engine = engine


def _default(lib):
    return lib.ao.quantization.get_default_qconfig_mapping("x86")


@pytest.mark.parametrize("name", ["layer_norm", "instance_norm1d", "instance_norm2d", "instance_norm3d",
                                  "group_norm", "prelu", "elu", "softmax", "dropout", "batch_norm2d",
                                  "batch_norm3d", "bn_relu2d", "conv_transpose1d", "conv_transpose2d",
                                  "conv_transpose3d", "conv_transpose2d_bn"])
def test_default_mapping_modules_match_torch(rng, name, fbgemm):
    (mt, shape), (mj, _) = _seq(torch, name), _seq(jtorch, name)
    _same_weights(mt, mj, rng)
    pt, pj, x = _calibrated(mt, mj, shape, rng, _default)
    assert _module_repr(pj) == _module_repr(pt)
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _module_repr(qj) == _module_repr(qt)
    assert _graph_ops(qj) == _graph_ops(qt)
    for (n, a), (_, b) in zip(qt.named_modules(), qj.named_modules()):
        if hasattr(a, "_weight_bias"):  # quantized convolutions: torch's integer weights
            wt, wj = a._weight_bias()[0], b._weight_bias()[0]
            np.testing.assert_array_equal(wj.int_repr().numpy(), wt.int_repr().numpy())
            np.testing.assert_allclose(wj.dequantize().numpy(), wt.dequantize().numpy(), rtol=1e-6)
        if type(a).__name__ == "PReLU":  # a quint8 weight of its own
            np.testing.assert_array_equal(b.weight.int_repr().numpy(), a.weight.int_repr().numpy())
        if hasattr(a, "scale") and not n == "":
            assert float(b.scale) == pytest.approx(float(a.scale), rel=1e-5)
            assert int(b.zero_point) == int(a.zero_point)
    _close(qj(jtorch.tensor(x)), qt(torch.tensor(x)))


def _functional(lib):
    nn, F = lib.nn, lib.nn.functional

    class Functional(nn.Module):
        """F.linear/F.conv2d with parameters read in forward, and the functional forms torch lowers."""

        def __init__(self):
            super().__init__()
            self.w1, self.b1 = nn.Parameter(lib.randn(6, 4)), nn.Parameter(lib.randn(6))
            self.w2 = nn.Parameter(lib.randn(5, 6))
            self.cw, self.cb = nn.Parameter(lib.randn(3, 2, 3, 3)), nn.Parameter(lib.randn(3))
            self.ln_w = nn.Parameter(lib.randn(6))

        def forward(self, x, y):
            a = F.relu(F.linear(x, self.w1, self.b1))
            b = F.linear(a, self.w2)
            # (torch's lowering needs the geometry as lists)
            c = F.conv2d(y, self.cw, self.cb, [1, 1], [1, 1], [1, 1], 1)
            d = F.layer_norm(a, (6,), self.ln_w)
            e = F.elu(a, 0.5)
            f = F.dropout(a, 0.2, False)
            g = F.instance_norm(c)
            return b, c, d, e, f, g
    return Functional


def test_functional_ops_match_torch(rng):
    mt, mj = _functional(torch)(), _functional(jtorch)()
    _same_weights(mt, mj, rng)
    xs = [(rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((2, 2, 4, 4)).astype(np.float32))
          for _ in range(3)]
    pt = tqfx.prepare_fx(mt, _default(torch), tuple(torch.tensor(v) for v in xs[0]))
    pj = jqfx.prepare_fx(mj, _default(jtorch), tuple(jtorch.tensor(v) for v in xs[0]))
    assert _module_repr(pj) == _module_repr(pt)
    for x, y in xs[:2]:
        pt(torch.tensor(x), torch.tensor(y))
        pj(jtorch.tensor(x), jtorch.tensor(y))
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _graph_ops(qj) == _graph_ops(qt)
    packed_t = [v for k, v in vars(qt).items() if k.startswith("_packed_weight")]
    packed_j = [v for k, v in vars(qj).items() if k.startswith("_packed_weight")]
    assert len(packed_j) == len(packed_t) == 3
    for pt_, pj_ in zip(packed_t, packed_j):
        wt, wj = pt_.unpack()[0], pj_.unpack()[0]
        np.testing.assert_array_equal(wj.int_repr().numpy(), wt.int_repr().numpy())
        np.testing.assert_allclose(wj.dequantize().numpy(), wt.dequantize().numpy(), rtol=1e-6)
    x, y = xs[2]
    _close(qj(jtorch.tensor(x), jtorch.tensor(y)), qt(torch.tensor(x), torch.tensor(y)))


def _rnns(lib):
    nn = lib.nn

    class RNNs(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 5, num_layers=2)
            self.gru = nn.GRU(4, 5, bidirectional=True)
            self.cell = nn.LSTMCell(4, 5)
            self.fc = nn.Linear(5, 3)

        def forward(self, x):
            y, (h, c) = self.lstm(x)
            z, _ = self.gru(x)
            hc = self.cell(x[0])
            return self.fc(y), h, c, z, hc[0]
    return RNNs


def test_dynamic_rnns_match_torch(rng):
    mt, mj = _rnns(torch)(), _rnns(jtorch)()
    _same_weights(mt, mj, rng)
    qmap = (lambda lib: lib.ao.quantization.QConfigMapping().set_global(lib.ao.quantization.default_dynamic_qconfig))
    pt, pj, x = _calibrated(mt, mj, (3, 2, 4), rng, qmap, n=1)
    assert _module_repr(pj) == _module_repr(pt)
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _module_repr(qj) == _module_repr(qt)
    assert _graph_ops(qj) == _graph_ops(qt)
    for j, t in zip(qj(jtorch.tensor(x)), qt(torch.tensor(x))):
        np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-5)


def _two_inputs(lib):
    nn = lib.nn

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.fc2 = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x, y):
            return self.fc(x) + y, lib.sigmoid(self.fc2(x)), lib.cat([x, self.fc(x)], 1)
    return TwoInputs


def test_quantized_input_output_indexes_match_torch(rng):
    """input_quantized_idxs: that input comes quantized (no observer, no quantize); output_quantized_idxs: that
    output is returned quantized."""
    from torch.ao.quantization.fx.custom_config import PrepareCustomConfig as TConfig
    from jtorch.ao.quantization.fx.custom_config import PrepareCustomConfig as JConfig
    mt, mj = _two_inputs(torch)(), _two_inputs(jtorch)()
    _same_weights(mt, mj, rng)
    xs = [(rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32))
          for _ in range(3)]
    pt = tqfx.prepare_fx(mt, _default(torch), tuple(torch.tensor(v) for v in xs[0]),
                         prepare_custom_config=TConfig().set_input_quantized_indexes([0])
                         .set_output_quantized_indexes([0, 2]))
    pj = jqfx.prepare_fx(mj, _default(jtorch), tuple(jtorch.tensor(v) for v in xs[0]),
                         prepare_custom_config=JConfig().set_input_quantized_indexes([0])
                         .set_output_quantized_indexes([0, 2]))
    assert _module_repr(pj) == _module_repr(pt)
    scale, zp = 0.03, 120
    for x, y in xs[:2]:  # (calibration with the float input: the observers see it, as torch's)
        pt(torch.tensor(x), torch.tensor(y))
        pj(jtorch.tensor(x), jtorch.tensor(y))
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _graph_ops(qj) == _graph_ops(qt)
    x, y = xs[2]
    ot = qt(torch.quantize_per_tensor(torch.tensor(x), scale, zp, torch.quint8), torch.tensor(y))
    oj = qj(jtorch.quantize_per_tensor(jtorch.tensor(x), scale, zp, jtorch.quint8), jtorch.tensor(y))
    # (torch leaves the cat of the quantized input in float: that output is float though its index is listed)
    assert [o.is_quantized for o in oj] == [o.is_quantized for o in ot] == [True, False, False]
    for j, t in zip(oj, ot):
        if t.is_quantized:
            assert j.q_zero_point() == t.q_zero_point()
            assert j.q_scale() == pytest.approx(t.q_scale(), rel=1e-5)
            j, t = j.dequantize(), t.dequantize()
        np.testing.assert_allclose(j.numpy(), t.numpy(), atol=0.06)


def _custom(lib):
    nn = lib.nn

    class Custom(nn.Module):
        """Not symbolically traceable (data-dependent branch): a custom module has its own observed and quantized
        forms."""

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(lib.randn(4, 4))

        def forward(self, x):
            return x @ self.w if x.sum() > -100 else x

    class ObservedCustom(Custom):
        @classmethod
        def from_float(cls, mod):
            out = cls()
            out.w, out.qconfig = mod.w, mod.qconfig
            return out

    class QuantizedCustom(nn.Module):
        """Its input quantized; its output quantized with the parameters observed after it."""

        def __init__(self, w, scale, zero_point):
            super().__init__()
            self.w, self.scale, self.zero_point = w, scale, zero_point

        def forward(self, x):
            return lib.quantize_per_tensor(x.dequantize() @ self.w, self.scale, self.zero_point, lib.quint8)

        @classmethod
        def from_observed(cls, mod):
            scale, zero_point = mod.activation_post_process.calculate_qparams()
            return cls(mod.w.detach(), float(scale), int(zero_point))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.custom, self.fc2 = nn.Linear(4, 4), Custom(), nn.Linear(4, 2)

        def forward(self, x):
            return self.fc2(self.custom(self.fc(x)))
    return Model, Custom, ObservedCustom, QuantizedCustom


def test_custom_module_matches_torch(rng):
    from torch.ao.quantization.fx.custom_config import PrepareCustomConfig as TP, ConvertCustomConfig as TC
    from jtorch.ao.quantization.fx.custom_config import PrepareCustomConfig as JP
    (Mt, Ct, Ot, Qt), (Mj, Cj, Oj, Qj) = _custom(torch), _custom(jtorch)
    mt, mj = Mt(), Mj()
    _same_weights(mt, mj, rng)
    pt, pj, x = _calibrated(mt, mj, (3, 4), rng, _default, prepare_custom=lambda lib: (
        TP().set_float_to_observed_mapping(Ct, Ot) if lib is torch else JP().set_float_to_observed_mapping(Cj, Oj)))
    assert _module_repr(pj) == _module_repr(pt)
    assert type(pj.custom) is Oj and pj.custom.qconfig is not None
    qt = tqfx.convert_fx(pt, convert_custom_config=TC().set_observed_to_quantized_mapping(Ot, Qt))
    # (the dict form)
    qj = jqfx.convert_fx(pj, convert_custom_config={"observed_to_quantized_custom_module_class": {"static": {Oj: Qj}}})
    assert _module_repr(qj) == _module_repr(qt)
    assert _graph_ops(qj) == _graph_ops(qt)
    assert qj.custom.scale == pytest.approx(qt.custom.scale, rel=1e-5) and qj.custom.zero_point == qt.custom.zero_point
    _close(qj(jtorch.tensor(x)), qt(torch.tensor(x)))
    d = JP().set_float_to_observed_mapping(Cj, Oj).to_dict()
    assert d == {"float_to_observed_custom_module_class": {"static": {Cj: Oj}}}
    assert JP.from_dict(d).float_to_observed_mapping == {jq.QuantType.STATIC: {Cj: Oj}}


def _embeddings(lib):
    nn = lib.nn

    class Embeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.bag = nn.EmbeddingBag(10, 4, mode="mean", include_last_offset=True)
            self.fc = nn.Linear(4, 3)

        def forward(self, idx, offsets):
            return self.fc(self.emb(idx)), self.bag(idx.flatten(), offsets)
    return Embeddings


@pytest.mark.parametrize("with_global", [False, True])
def test_embedding_weight_only_matches_torch(rng, with_global):
    """Embeddings with torch's float_qparams weight-only qconfig (per-row float scale and zero point); with a
    global static qconfig the linear after them is quantized too."""
    mt, mj = _embeddings(torch)(), _embeddings(jtorch)()
    _same_weights(mt, mj, rng)

    def qmap(lib):
        aq = lib.ao.quantization
        m = aq.QConfigMapping().set_object_type(lib.nn.Embedding, aq.float_qparams_weight_only_qconfig)
        m.set_object_type(lib.nn.EmbeddingBag, aq.float_qparams_weight_only_qconfig)
        return m.set_global(aq.default_qconfig) if with_global else m
    idx = rng.integers(0, 10, (3, 4))
    offsets = np.array([0, 5, 7, 12])
    pt = tqfx.prepare_fx(mt, qmap(torch), (torch.tensor(idx), torch.tensor(offsets)))
    pj = jqfx.prepare_fx(mj, qmap(jtorch), (jtorch.tensor(idx), jtorch.tensor(offsets)))
    assert _module_repr(pj) == _module_repr(pt)
    pt(torch.tensor(idx), torch.tensor(offsets))
    pj(jtorch.tensor(idx), jtorch.tensor(offsets))
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _module_repr(qj) == _module_repr(qt)
    assert _graph_ops(qj) == _graph_ops(qt)
    for name in ("emb", "bag"):
        wt, wj = getattr(qt, name).weight(), getattr(qj, name).weight()
        assert wj.qscheme() == jtorch.per_channel_affine_float_qparams
        assert wt.qscheme() == torch.per_channel_affine_float_qparams
        np.testing.assert_array_equal(wj.int_repr().numpy(), wt.int_repr().numpy())
        np.testing.assert_allclose(wj.q_per_channel_scales().numpy(), wt.q_per_channel_scales().numpy(), rtol=1e-6)
        np.testing.assert_allclose(wj.q_per_channel_zero_points().numpy(), wt.q_per_channel_zero_points().numpy(),
                                   rtol=1e-6)
    ot, oj = qt(torch.tensor(idx), torch.tensor(offsets)), qj(jtorch.tensor(idx), jtorch.tensor(offsets))
    if with_global:
        _close(oj[0], ot[0])
    else:
        np.testing.assert_allclose(oj[0].detach().numpy(), ot[0].detach().numpy(), rtol=1e-5, atol=1e-6)
    # (torch's quantized embedding bag sums whatever its mode)
    np.testing.assert_allclose(oj[1].numpy(), ot[1].numpy(), rtol=1e-5, atol=1e-6)


def _tensor_ops(lib):
    nn, F = lib.nn, lib.nn.functional

    class TensorOps(nn.Module):
        """Ops torch's lowering runs on quantized tensors (interpolate, stack, repeat, matmul) next to ones it
        leaves in float (indexing, nn.Flatten, pad)."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 1)
            self.flatten = nn.Flatten()

        def forward(self, x):
            y = self.conv(x)
            return (F.interpolate(y, scale_factor=2), F.interpolate(y, size=(4, 5), mode="bilinear"),
                    lib.stack([y, y], 1), y.repeat(1, 2, 1, 1), y.repeat_interleave(2, 1), lib.matmul(y, y),
                    y[:, :1], self.flatten(y), F.pad(y, (1, 1)))
    return TensorOps


def test_tensor_ops_match_torch(rng):
    mt, mj = _tensor_ops(torch)(), _tensor_ops(jtorch)()
    _same_weights(mt, mj, rng)
    pt, pj, x = _calibrated(mt, mj, (2, 2, 3, 3), rng, _default)
    assert _module_repr(pj) == _module_repr(pt)
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _graph_ops(qj) == _graph_ops(qt)
    _close(qj(jtorch.tensor(x)), qt(torch.tensor(x)))


def _eager(lib):
    nn, aq = lib.nn, lib.ao.quantization

    class Eager(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.dequant = aq.QuantStub(), aq.DeQuantStub()
            self.conv = nn.Conv2d(3, 4, 1)
            self.norm = nn.InstanceNorm2d(4, affine=True)
            self.elu = nn.ELU()
            self.up = nn.ConvTranspose2d(4, 2, 2, stride=2)
            self.bn = nn.BatchNorm2d(2)
            self.ln = nn.LayerNorm(6)
            self.drop = nn.Dropout()

        def forward(self, x):
            x = self.bn(self.up(self.elu(self.norm(self.conv(self.quant(x))))))
            return self.dequant(self.drop(self.ln(x)))
    return Eager


def test_eager_mode_new_modules_match_torch(rng, fbgemm):
    """The new quantized modules are in the default mapping: eager prepare/convert swap them as torch's."""
    mt, mj = _eager(torch)(), _eager(jtorch)()
    _same_weights(mt, mj, rng)
    mt.qconfig, mj.qconfig = tq.default_qconfig, jq.default_qconfig
    pt, pj = tq.prepare(mt), jq.prepare(mj)
    xs = [rng.standard_normal((2, 3, 3, 3)).astype(np.float32) for _ in range(3)]
    for x in xs[:2]:
        pt(torch.tensor(x))
        pj(jtorch.tensor(x))
    qt, qj = tq.convert(pt), jq.convert(pj)
    assert _module_repr(qj) == _module_repr(qt)
    _close(qj(jtorch.tensor(xs[2])), qt(torch.tensor(xs[2])))


@pytest.mark.parametrize("name", ["layer_norm", "prelu", "softmax", "bn_relu2d", "conv_transpose2d"])
def test_qat_modules_match_torch(rng, name, fbgemm):
    (mt, shape), (mj, _) = _seq(torch, name), _seq(jtorch, name)
    _same_weights(mt, mj, rng)
    mt.train()
    mj.train()
    xs = [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]
    pt = tqfx.prepare_qat_fx(mt, tq.get_default_qat_qconfig_mapping(), (torch.tensor(xs[0]),))
    pj = jqfx.prepare_qat_fx(mj, jq.get_default_qat_qconfig_mapping(), (jtorch.tensor(xs[0]),))
    assert _module_types(pj) == _module_types(pt)
    pt(torch.tensor(xs[0]))
    pj(jtorch.tensor(xs[0]))
    pt.eval()
    pj.eval()
    qt, qj = tqfx.convert_fx(pt), jqfx.convert_fx(pj)
    assert _module_repr(qj) == _module_repr(qt)
    assert _graph_ops(qj) == _graph_ops(qt)
    _close(qj(jtorch.tensor(xs[1])), qt(torch.tensor(xs[1])))


@pytest.mark.parametrize("name", ["conv_transpose2d", "layer_norm", "functional"])
def test_reference_models_match_torch(rng, name, fbgemm):
    """convert_to_reference_fx: transposed convolutions as reference modules, functional weights quantized and
    dequantized in the graph."""
    if name == "functional":
        mt, mj = _functional(torch)(), _functional(jtorch)()
        _same_weights(mt, mj, rng)
        xs = (rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((2, 2, 4, 4)).astype(np.float32))
        args_t, args_j = tuple(torch.tensor(v) for v in xs), tuple(jtorch.tensor(v) for v in xs)
        pt, pj = tqfx.prepare_fx(mt, _default(torch), args_t), jqfx.prepare_fx(mj, _default(jtorch), args_j)
        pt(*args_t)
        pj(*args_j)
    else:
        (mt, shape), (mj, _) = _seq(torch, name), _seq(jtorch, name)
        _same_weights(mt, mj, rng)
        pt, pj, x = _calibrated(mt, mj, shape, rng, _default)
        args_t, args_j = (torch.tensor(x),), (jtorch.tensor(x),)
    rt, rj = tqfx.convert_to_reference_fx(pt), jqfx.convert_to_reference_fx(pj)
    assert _module_types(rj) == _module_types(rt)
    assert _graph_ops(rj) == _graph_ops(rt)
    _close(rj(*args_j), rt(*args_t))

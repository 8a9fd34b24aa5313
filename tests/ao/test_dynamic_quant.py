"""Dynamic quantization against torch: quantize_dynamic of Linear layers (quantized weights exactly, outputs within
float32 rounding of torch's fbgemm kernel), printing, state dicts both ways."""
import warnings

import numpy as np
import pytest
import torch
import torch.ao.quantization as tq

import jtorch
import jtorch.ao.quantization as jq

warnings.filterwarnings("ignore")


def _models(rng, dims=(12, 20, 7)):
    tm = torch.nn.Sequential(torch.nn.Linear(dims[0], dims[1]), torch.nn.ReLU(), torch.nn.Linear(dims[1], dims[2]))
    jm = jtorch.nn.Sequential(jtorch.nn.Linear(dims[0], dims[1]), jtorch.nn.ReLU(),
                              jtorch.nn.Linear(dims[1], dims[2]))
    sd = {k: (rng.standard_normal(tuple(v.shape)) * 0.4).astype(np.float32) for k, v in tm.state_dict().items()}
    tm.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    jm.load_state_dict({k: jtorch.tensor(v) for k, v in sd.items()})
    return tm.eval(), jm.eval()


def _same_q(j, t):
    assert str(j.dtype) == str(t.dtype) and str(j.qscheme()) == str(t.qscheme())
    np.testing.assert_array_equal(j.int_repr().numpy(), t.int_repr().numpy())
    if t.qscheme() == torch.per_tensor_affine:
        assert (j.q_scale(), j.q_zero_point()) == (t.q_scale(), t.q_zero_point())
    else:
        np.testing.assert_array_equal(j.q_per_channel_scales().numpy(), t.q_per_channel_scales().numpy())


def _close(a, b, scale_like):
    # torch's kernel and ours sum the same integers exactly; they may round the float32 scaling differently
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * scale_like)


@pytest.mark.parametrize("spec", ["set", "dict", "default", "per_channel"])
def test_quantize_dynamic_linear(rng, spec):
    tm, jm = _models(rng)
    if spec == "set":
        qt = tq.quantize_dynamic(tm, {torch.nn.Linear}, dtype=torch.qint8)
        qj = jq.quantize_dynamic(jm, {jtorch.nn.Linear}, dtype=jtorch.qint8)
    elif spec == "dict":
        qt = tq.quantize_dynamic(tm, {"0": tq.default_dynamic_qconfig})
        qj = jq.quantize_dynamic(jm, {"0": jq.default_dynamic_qconfig})
    elif spec == "per_channel":
        qt = tq.quantize_dynamic(tm, {torch.nn.Linear: tq.per_channel_dynamic_qconfig})
        qj = jq.quantize_dynamic(jm, {jtorch.nn.Linear: jq.per_channel_dynamic_qconfig})
    else:
        qt = tq.quantize_dynamic(tm)
        qj = jq.quantize_dynamic(jm)
    assert repr(qj) == repr(qt)
    assert type(jm[0]).__name__ == "Linear"  # not in place: the float model is untouched
    for k in ("0", "2"):
        if type(getattr(qt, k)).__name__ != "Linear":
            _same_q(getattr(qj, k).weight(), getattr(qt, k).weight())
    for shape in [(5, 12), (3, 4, 12), (1, 12)]:
        x = (rng.standard_normal(shape) * rng.uniform(0.5, 4) + rng.uniform(-1, 1)).astype(np.float32)
        yt = qt(torch.tensor(x)).detach().numpy()
        yj = qj(jtorch.tensor(x)).detach().numpy()
        assert yj.shape == yt.shape and yj.dtype == yt.dtype
        _close(yj, yt, np.abs(yt).max())
    assert list(qj.state_dict()) == list(qt.state_dict())


def test_dynamic_linear_matches_fbgemm_arithmetic(rng):
    """One layer, many inputs (including all-positive and all-negative ones, where the zero point sits at a range
    end): torch's activation quantization and integer products, to float32 rounding."""
    for trial in range(6):
        lin_t = torch.nn.Linear(9, 4)
        w = (rng.standard_normal((4, 9)) * 0.3).astype(np.float32)
        b = rng.standard_normal(4).astype(np.float32)
        lin_t.weight.data, lin_t.bias.data = torch.tensor(w), torch.tensor(b)
        lin_j = jtorch.nn.Linear(9, 4)
        lin_j.weight.data, lin_j.bias.data = jtorch.tensor(w), jtorch.tensor(b)
        qt = torch.ao.nn.quantized.dynamic.Linear.from_float(_with_qconfig(lin_t, tq))
        qj = jtorch.ao.nn.quantized.dynamic.Linear.from_float(_with_qconfig(lin_j, jq))
        x = rng.standard_normal((6, 9)).astype(np.float32) * 2
        if trial % 3 == 1:
            x = np.abs(x)
        elif trial % 3 == 2:
            x = -np.abs(x)
        yt, yj = qt(torch.tensor(x)).numpy(), qj(jtorch.tensor(x)).numpy()
        _close(yj, yt, np.abs(yt).max())


def _with_qconfig(m, q):
    m.qconfig = q.default_dynamic_qconfig
    return m


def test_dynamic_state_dict_both_ways(rng, tmp_path):
    tm, jm = _models(rng)
    qt = tq.quantize_dynamic(tm, {torch.nn.Linear})
    qj = jq.quantize_dynamic(jm, {jtorch.nn.Linear})
    x = rng.standard_normal((4, 12)).astype(np.float32)
    # torch's saved state dict (quantized weights in QInt8Storage) into a fresh jtorch quantized model
    torch.save(qt.state_dict(), tmp_path / "t.pt")
    fresh = jq.quantize_dynamic(_models(rng)[1], {jtorch.nn.Linear})
    fresh.load_state_dict(jtorch.load(tmp_path / "t.pt"))
    np.testing.assert_array_equal(fresh(jtorch.tensor(x)).numpy(), qj(jtorch.tensor(x)).numpy())
    # and jtorch's into torch
    jtorch.save(qj.state_dict(), tmp_path / "j.pt")
    tfresh = tq.quantize_dynamic(_models(rng)[0], {torch.nn.Linear})
    tfresh.load_state_dict(torch.load(tmp_path / "j.pt"))
    np.testing.assert_array_equal(tfresh(torch.tensor(x)).numpy(), qt(torch.tensor(x)).numpy())
    with pytest.raises(RuntimeError):
        fresh.load_state_dict({"0.scale": jtorch.tensor(1.0)})


def test_float16_dynamic(rng):
    tm, jm = _models(rng)
    qt = tq.quantize_dynamic(tm, {torch.nn.Linear}, dtype=torch.float16)
    qj = jq.quantize_dynamic(jm, {jtorch.nn.Linear}, dtype=jtorch.float16)
    assert repr(qj) == repr(qt)
    x = rng.standard_normal((3, 12)).astype(np.float32)
    np.testing.assert_allclose(qj(jtorch.tensor(x)).numpy(), qt(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_legacy_namespace():
    import jtorch.quantization as legacy
    assert legacy.quantize_dynamic is jq.quantize_dynamic
    assert jtorch.quantization.default_dynamic_qconfig is jq.default_dynamic_qconfig
    assert jtorch.ao.quantization is jq


@pytest.mark.parametrize("cfg", [dict(num_layers=2, batch_first=True), dict(bidirectional=True),
                                 dict(num_layers=1, bias=False)])
def test_quantize_dynamic_lstm(rng, cfg):
    tl, jl = torch.nn.LSTM(5, 7, **cfg), jtorch.nn.LSTM(5, 7, **cfg)
    if cfg.get("bias") is False:  # torch's dynamic RNNs need biases
        with pytest.raises(AssertionError):
            tq.quantize_dynamic(torch.nn.Sequential(tl), {torch.nn.LSTM})
        with pytest.raises(AssertionError):
            jq.quantize_dynamic(jtorch.nn.Sequential(jl), {jtorch.nn.LSTM})
        return
    sd = {k: (rng.standard_normal(tuple(v.shape)) * 0.4).astype(np.float32) for k, v in tl.state_dict().items()}
    tl.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    jl.load_state_dict({k: jtorch.tensor(v) for k, v in sd.items()})
    qt = tq.quantize_dynamic(torch.nn.Sequential(tl), {torch.nn.LSTM}, dtype=torch.qint8)
    qj = jq.quantize_dynamic(jtorch.nn.Sequential(jl), {jtorch.nn.LSTM}, dtype=jtorch.qint8)
    assert repr(qj) == repr(qt)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    D = 2 if cfg.get("bidirectional") else 1
    h0 = rng.standard_normal((cfg.get("num_layers", 1) * D, 3 if cfg.get("batch_first") else 4, 7)).astype(np.float32)
    for hx in (None, (h0, h0 * 0.5)):
        yt, (ht, ct) = qt(torch.tensor(x)) if hx is None else qt[0](torch.tensor(x), tuple(map(torch.tensor, hx)))
        yj, (hj, cj) = qj(jtorch.tensor(x)) if hx is None else qj[0](jtorch.tensor(x), tuple(map(jtorch.tensor, hx)))
        for a, b in ((yj, yt), (hj, ht), (cj, ct)):
            assert tuple(a.shape) == tuple(b.shape)
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)


def _same_weights(rng, tm, jm):
    sd = {k: (rng.standard_normal(tuple(v.shape)) * 0.4).astype(np.float32) for k, v in tm.state_dict().items()}
    tm.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    jm.load_state_dict({k: jtorch.tensor(v) for k, v in sd.items()})


def _close_t(a, b):
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cfg", [dict(num_layers=2, batch_first=True), dict(bidirectional=True), dict()])
def test_quantize_dynamic_gru(rng, cfg):
    tg, jg = torch.nn.GRU(5, 7, **cfg), jtorch.nn.GRU(5, 7, **cfg)
    _same_weights(rng, tg, jg)
    qt = tq.quantize_dynamic(torch.nn.Sequential(tg))  # the default spec includes nn.GRU
    qj = jq.quantize_dynamic(jtorch.nn.Sequential(jg))
    assert repr(qj) == repr(qt)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    D = 2 if cfg.get("bidirectional") else 1
    h0 = rng.standard_normal((cfg.get("num_layers", 1) * D, 3 if cfg.get("batch_first") else 4, 7)).astype(np.float32)
    for hx in (None, h0):
        yt, ht = qt(torch.tensor(x)) if hx is None else qt[0](torch.tensor(x), torch.tensor(hx))
        yj, hj = qj(jtorch.tensor(x)) if hx is None else qj[0](jtorch.tensor(x), jtorch.tensor(hx))
        _close_t(yj, yt)
        _close_t(hj, ht)
    for lib, q in ((torch, qt), (jtorch, qj)):  # torch's dynamic RNNs take batches only
        with pytest.raises(RuntimeError):
            q(lib.tensor(x[:, 0]))


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "RNNCell", "RNNCell-relu"])
def test_quantize_dynamic_cells(rng, kind):
    name, _, act = kind.partition("-")
    kw = {"nonlinearity": act} if act else {}
    tc, jc = getattr(torch.nn, name)(5, 6, **kw), getattr(jtorch.nn, name)(5, 6, **kw)
    _same_weights(rng, tc, jc)
    qt, qj = tq.quantize_dynamic(torch.nn.Sequential(tc)), jq.quantize_dynamic(jtorch.nn.Sequential(jc))
    assert repr(qj) == repr(qt)
    x = (rng.standard_normal((4, 5)) * 2).astype(np.float32)
    h = rng.standard_normal((4, 6)).astype(np.float32)
    state_t = (torch.tensor(h), torch.tensor(h * 0.5)) if name == "LSTMCell" else torch.tensor(h)
    state_j = (jtorch.tensor(h), jtorch.tensor(h * 0.5)) if name == "LSTMCell" else jtorch.tensor(h)
    for args_t, args_j in (((torch.tensor(x),), (jtorch.tensor(x),)),
                           ((torch.tensor(x), state_t), (jtorch.tensor(x), state_j))):
        ot, oj = qt[0](*args_t), qj[0](*args_j)
        for a, b in zip(oj if isinstance(oj, tuple) else (oj,), ot if isinstance(ot, tuple) else (ot,)):
            _close_t(a, b)
    for bad, err in ((x[0], IndexError), (x[:, :4], RuntimeError)):  # 2-D inputs of input_size only
        for lib, q in ((torch, qt), (jtorch, qj)):
            with pytest.raises(err):
                q(lib.tensor(bad))


def test_dynamic_linear_tiny_ranges(rng):
    """Inputs whose range would give a scale under 6.1e-5: torch raises the scale to it (tiny inputs quantize to
    the zero point), in quantize_per_tensor_dynamic and the dynamic linear."""
    tl, jl = torch.nn.Linear(16, 4), jtorch.nn.Linear(16, 4)
    _same_weights(rng, tl, jl)
    qt, qj = tq.quantize_dynamic(torch.nn.Sequential(tl)), jq.quantize_dynamic(jtorch.nn.Sequential(jl))
    for mag in (1e-7, 1e-5, 1e-4):
        for shift in (0.0, 3.0):
            x = ((rng.standard_normal((3, 16)) + shift) * mag).astype(np.float32)
            np.testing.assert_array_equal(qj(jtorch.tensor(x)).numpy(), qt(torch.tensor(x)).numpy())
            a = torch.quantize_per_tensor_dynamic(torch.tensor(x), torch.quint8, False)
            b = jtorch.quantize_per_tensor_dynamic(jtorch.tensor(x), jtorch.quint8, False)
            assert (a.q_scale(), a.q_zero_point()) == (b.q_scale(), b.q_zero_point())
            np.testing.assert_array_equal(b.int_repr().numpy(), a.int_repr().numpy())


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell"])
def test_float16_dynamic_rnns(rng, kind):
    """float16 dynamic RNNs: weights rounded to float16 once, projections and gates in float32."""
    layered = kind in ("LSTM", "GRU")
    args = (5, 7, 2) if layered else (5, 7)
    tm, jm = getattr(torch.nn, kind)(*args), getattr(jtorch.nn, kind)(*args)
    _same_weights(rng, tm, jm)
    qt = tq.quantize_dynamic(torch.nn.Sequential(tm), {getattr(torch.nn, kind)}, dtype=torch.float16)
    qj = jq.quantize_dynamic(jtorch.nn.Sequential(jm), {getattr(jtorch.nn, kind)}, dtype=jtorch.float16)
    assert repr(qj) == repr(qt)
    attr = "dtype" if layered else "weight_dtype"
    assert str(getattr(qj[0], attr)) == str(getattr(qt[0], attr)) == "torch.float16"
    x = rng.standard_normal((4, 3, 5) if layered else (3, 5)).astype(np.float32)
    ot, oj = qt(torch.tensor(x)), qj(jtorch.tensor(x))
    flat_t = ot[:1] + tuple(ot[1]) if layered and kind == "LSTM" else (ot if isinstance(ot, tuple) else (ot,))
    flat_j = oj[:1] + tuple(oj[1]) if layered and kind == "LSTM" else (oj if isinstance(oj, tuple) else (oj,))
    for a, b in zip(flat_j, flat_t):
        _close_t(a, b)
    # float32 weights give other numbers: the rounding to float16 is part of the result
    float_out = tm(torch.tensor(x))
    float_out = float_out[0] if isinstance(float_out, tuple) else float_out
    assert not np.allclose(float_out.detach().numpy(), flat_t[0].detach().numpy(), rtol=0, atol=1e-7)

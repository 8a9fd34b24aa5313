"""RNN / LSTM / GRU (+ cells, PackedSequence, rnn utils) against torch with the same weights."""
import math

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn

import jtorch
import jtorch.nn as nn
import jtorch.nn.utils.rnn as jrnn
from tests.helpers import assert_close

TOL = dict(rtol=1e-4, atol=1e-5)


def make_pair(cls, *args, **kw):
    t = getattr(torch.nn, cls)(*args, **kw)
    j = getattr(nn, cls)(*args, **kw)
    assert list(j.state_dict()) == list(t.state_dict())
    j.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, j


def compare_grads(t, j):
    for (n, a), (m, b) in zip(j.named_parameters(), t.named_parameters()):
        assert n == m
        assert_close(a.grad, b.grad, **TOL)


CONFIGS = [
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=3)),
    ("GRU", dict(num_layers=2, batch_first=True)),
    ("RNN", dict(nonlinearity="relu", bidirectional=True)),
    ("RNN", dict(bias=False)),
]


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=["lstm-bi-proj", "gru-2layer-bf", "rnn-relu-bi", "rnn-nobias"])
def test_rnn_matches_torch(rng, cls, kw):
    H = 5
    t, j = make_pair(cls, 4, H, **kw)
    assert repr(j) == repr(t)
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    h_out = kw.get("proj_size", H)
    x = rng.standard_normal((2, 6, 4) if kw.get("batch_first") else (6, 2, 4)).astype(np.float32)
    h0 = rng.standard_normal((L * D, 2, h_out)).astype(np.float32)
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    th, jh = torch.tensor(h0, requires_grad=True), jtorch.tensor(h0, requires_grad=True)
    if cls == "LSTM":
        c0 = rng.standard_normal((L * D, 2, H)).astype(np.float32)
        tc, jc = torch.tensor(c0, requires_grad=True), jtorch.tensor(c0, requires_grad=True)
        to, (thn, tcn) = t(tx, (th, tc))
        jo, (jhn, jcn) = j(jx, (jh, jc))
        assert_close(jcn, tcn, **TOL)
        tl, jl = (to ** 2).sum() + thn.sum() + (tcn * 3).sum(), (jo ** 2).sum() + jhn.sum() + (jcn * 3).sum()
    else:
        to, thn = t(tx, th)
        jo, jhn = j(jx, jh)
        tl, jl = (to ** 2).sum() + thn.sum(), (jo ** 2).sum() + jhn.sum()
    assert_close(jo, to, **TOL)
    assert_close(jhn, thn, **TOL)
    tl.backward()
    jl.backward()
    assert_close(jx.grad, tx.grad, **TOL)
    assert_close(jh.grad, th.grad, **TOL)
    compare_grads(t, j)
    # default zero initial state and an unbatched sequence
    x1 = x[0] if kw.get("batch_first") else x[:, 0]
    to, jo = t(torch.tensor(x1)), j(jtorch.tensor(x1))
    assert_close(jo[0], to[0], **TOL)


def test_lstm_packed_sequence(rng):
    t, j = make_pair("LSTM", 3, 4, num_layers=2, bidirectional=True)
    lengths = [3, 5, 2]
    x = rng.standard_normal((5, 3, 3)).astype(np.float32)
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    tp = trnn.pack_padded_sequence(tx, lengths, enforce_sorted=False)
    jp = jrnn.pack_padded_sequence(jx, lengths, enforce_sorted=False)
    assert_close(jp.data, tp.data)
    assert_close(jp.batch_sizes, tp.batch_sizes)
    assert_close(jp.sorted_indices, tp.sorted_indices)
    h0 = rng.standard_normal((4, 3, 4)).astype(np.float32)
    c0 = rng.standard_normal((4, 3, 4)).astype(np.float32)
    to, (th, tc) = t(tp, (torch.tensor(h0), torch.tensor(c0)))
    jo, (jh, jc) = j(jp, (jtorch.tensor(h0), jtorch.tensor(c0)))
    assert isinstance(jo, jrnn.PackedSequence)
    assert_close(jo.data, to.data, **TOL)
    assert_close(jh, th, **TOL)
    assert_close(jc, tc, **TOL)
    tpad, tlen = trnn.pad_packed_sequence(to, batch_first=True)
    jpad, jlen = jrnn.pad_packed_sequence(jo, batch_first=True)
    assert_close(jpad, tpad, **TOL)
    assert_close(jlen, tlen)
    ((tpad ** 2).sum() + th.sum()).backward()
    ((jpad ** 2).sum() + jh.sum()).backward()
    assert_close(jx.grad, tx.grad, **TOL)
    compare_grads(t, j)


def test_gru_packed_sorted(rng):
    t, j = make_pair("GRU", 3, 4, batch_first=True)
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in (4, 4, 1)]
    tp = trnn.pack_sequence([torch.tensor(s) for s in seqs])
    jp = jrnn.pack_sequence([jtorch.tensor(s) for s in seqs])
    to, th = t(tp)
    jo, jh = j(jp)
    assert_close(jo.data, to.data, **TOL)
    assert_close(jh, th, **TOL)
    for a, b in zip(jrnn.unpack_sequence(jo), trnn.unpack_sequence(to)):
        assert_close(a, b, **TOL)


def test_rnn_dropout_and_modes(rng):
    t, j = make_pair("LSTM", 3, 4, num_layers=3, dropout=0.5)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    t.eval()
    j.eval()
    assert_close(j(jtorch.tensor(x))[0], t(torch.tensor(x))[0], **TOL)
    j.train()
    jtorch.manual_seed(0)
    a = j(jtorch.tensor(x))[0]
    b = j(jtorch.tensor(x))[0]
    assert a.shape == (5, 2, 4)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())   # fresh masks each call
    with pytest.warns(UserWarning, match="dropout"):
        nn.GRU(3, 4, dropout=0.2)


def test_rnn_errors():
    m = nn.LSTM(3, 4)
    with pytest.raises(RuntimeError):
        m(jtorch.randn(5, 2, 7))
    with pytest.raises(ValueError):
        m(jtorch.randn(5, 2, 3, 1))
    with pytest.raises(RuntimeError):
        m(jtorch.randn(5, 2, 3), (jtorch.zeros(2, 2, 4), jtorch.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError):
        nn.GRU(3, 4)(jtorch.randn(5, 2, 3), jtorch.zeros(1, 3, 4))
    with pytest.raises(ValueError):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError):
        nn.LSTM(3, 4, dropout=1.5)


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("weights,inputs", [("float32", "float64"), ("float64", "float32")])
def test_rnn_input_dtype_must_match_weights(rng, cls, weights, inputs):
    # torch raises ValueError naming both dtypes instead of promoting; packed input too
    x = rng.standard_normal((2, 4, 3))
    t = getattr(torch.nn, cls)(3, 5).to(getattr(torch, weights))
    j = getattr(nn, cls)(3, 5).to(getattr(jtorch, weights))
    tx, jx = torch.tensor(x, dtype=getattr(torch, inputs)), jtorch.tensor(x, dtype=getattr(jtorch, inputs))
    with pytest.raises(ValueError) as expected:
        t(tx)
    with pytest.raises(ValueError) as got:
        j(jx)
    assert str(got.value) == str(expected.value)
    # packed: torch's LSTM without hx leaves the mismatch to its kernel (RuntimeError)
    error = RuntimeError if cls == "LSTM" else ValueError
    with pytest.raises(error):
        t(trnn.pack_padded_sequence(tx, [2, 1], batch_first=True))
    with pytest.raises(error):
        j(jrnn.pack_padded_sequence(jx, [2, 1], batch_first=True))


def test_rnn_default_init():
    m = nn.LSTM(10, 64, num_layers=2)
    bound = 1 / math.sqrt(64)
    allw = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(allw).max() <= bound
    assert abs(allw.std() - bound / math.sqrt(3)) < 0.01 * bound * 3
    names = [n for n, _ in torch.nn.LSTM(10, 64, num_layers=2).named_parameters()]
    assert [n for n, _ in m.named_parameters()] == names


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(rng, cls):
    t, j = make_pair(cls, 3, 4)
    assert repr(j) == repr(t)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    h = rng.standard_normal((2, 4)).astype(np.float32)
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    if cls == "LSTMCell":
        c = rng.standard_normal((2, 4)).astype(np.float32)
        to = t(tx, (torch.tensor(h), torch.tensor(c)))
        jo = j(jx, (jtorch.tensor(h), jtorch.tensor(c)))
        assert_close(jo[1], to[1], **TOL)
        tl, jl = to[0].sum() + (to[1] ** 2).sum(), jo[0].sum() + (jo[1] ** 2).sum()
        assert_close(j(jtorch.tensor(x[0]))[0], t(torch.tensor(x[0]))[0], **TOL)
    else:
        to, jo = t(tx, torch.tensor(h)), j(jx, jtorch.tensor(h))
        tl, jl = (to ** 2).sum(), (jo ** 2).sum()
        assert_close(j(jtorch.tensor(x[0])), t(torch.tensor(x[0])), **TOL)
        assert_close(j(jtorch.tensor(x)), t(torch.tensor(x)), **TOL)
    assert_close(jo[0], to[0], **TOL)
    tl.backward()
    jl.backward()
    assert_close(jx.grad, tx.grad, **TOL)
    compare_grads(t, j)
    with pytest.raises(RuntimeError):
        j(jtorch.randn(2, 5))


def test_rnn_relu_cell_and_no_bias(rng):
    t, j = make_pair("RNNCell", 3, 4, bias=False, nonlinearity="relu")
    assert repr(j) == repr(t)
    assert list(j.state_dict()) == ["weight_ih", "weight_hh"]
    x = rng.standard_normal((2, 3)).astype(np.float32)
    assert_close(j(jtorch.tensor(x)), t(torch.tensor(x)), **TOL)


def test_pad_sequence_family(rng):
    seqs = [rng.standard_normal((n, 2)).astype(np.float32) for n in (3, 1, 4)]
    ts = [torch.tensor(s, requires_grad=True) for s in seqs]
    js = [jtorch.tensor(s, requires_grad=True) for s in seqs]
    for kw in [{}, dict(batch_first=True, padding_value=-1.0), dict(batch_first=True, padding_side="left")]:
        assert_close(jrnn.pad_sequence(js, **kw), trnn.pad_sequence(ts, **kw))
    tp, jp = trnn.pad_sequence(ts, batch_first=True), jrnn.pad_sequence(js, batch_first=True)
    (tp * torch.arange(8.0).reshape(1, 4, 2)).sum().backward()
    (jp * jtorch.arange(8.0).reshape(1, 4, 2)).sum().backward()
    for a, b in zip(js, ts):
        assert_close(a.grad, b.grad)
    for a, b in zip(jrnn.unpad_sequence(jp, jtorch.tensor([3, 1, 4]), batch_first=True),
                    trnn.unpad_sequence(tp, torch.tensor([3, 1, 4]), batch_first=True)):
        assert_close(a, b)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        jrnn.pack_padded_sequence(jp, [3, 1, 4], batch_first=True)
    tk = trnn.pack_padded_sequence(tp, [3, 1, 4], batch_first=True, enforce_sorted=False)
    jk = jrnn.pack_padded_sequence(jp, [3, 1, 4], batch_first=True, enforce_sorted=False)
    assert_close(jk.data, tk.data)
    assert_close(jk.unsorted_indices, tk.unsorted_indices)
    assert_close(jrnn.pad_packed_sequence(jk, total_length=6)[0], trnn.pad_packed_sequence(tk, total_length=6)[0])
    with pytest.raises(ValueError):
        jrnn.pad_packed_sequence(jk, total_length=2)
    jk2 = jk.to(jtorch.float64)
    assert jk2.data.dtype == jtorch.float64 and isinstance(jk2, jrnn.PackedSequence)


def test_float64_gru(rng):
    t, j = make_pair("GRU", 3, 4, bidirectional=True)
    t.double()
    j.double()
    x = rng.standard_normal((5, 2, 3))
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    to, jo = t(tx)[0], j(jx)[0]
    assert jo.dtype == jtorch.float64
    assert_close(jo, to, rtol=1e-10, atol=1e-12)
    to.sum().backward()
    jo.sum().backward()
    assert_close(jx.grad, tx.grad, rtol=1e-10, atol=1e-12)


def test_compiled_step_matches_eager(rng):
    # the value checks (class targets, embedding indices) step aside while tracing: no eager fallback
    import warnings
    import jtorch.nn.functional as F
    jtorch.manual_seed(0)
    emb, gru, head = nn.Embedding(11, 4), nn.GRU(4, 6, batch_first=True), nn.Linear(6, 3)
    params = list(emb.parameters()) + list(gru.parameters()) + list(head.parameters())
    x = jtorch.tensor(rng.integers(0, 11, (2, 5)))
    y = jtorch.tensor(rng.integers(0, 3, 2))

    def step(x, y):
        for p in params:
            p.grad = None
        out, _ = gru(emb(x))
        loss = F.cross_entropy(head(out[:, -1]), y, label_smoothing=0.1)
        loss.backward()
        return loss

    eager = step(x, y).item()
    grads = [p.grad.numpy().copy() for p in params]
    compiled = jtorch.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):
            got = compiled(x, y)
    assert abs(got.item() - eager) < 1e-5
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("args,kwargs", [((3, 5), {"bias": 0}), ((3, 5), {"bias": "True"}),
                                         ((3, 5), {"batch_first": 1}), ((0, 5), {}), ((-1, 5), {})])
def test_rnn_constructor_argument_errors(cls, args, kwargs):
    with pytest.raises(Exception) as expected:
        getattr(torch.nn, cls)(*args, **kwargs)
    with pytest.raises(type(expected.value)) as got:
        getattr(nn, cls)(*args, **kwargs)
    assert str(got.value) == str(expected.value)

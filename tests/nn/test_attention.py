"""scaled_dot_product_attention and MultiheadAttention against torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtorch
import jtorch.nn as nn
import jtorch.nn.functional as F
from tests.helpers import assert_close

TOL = dict(rtol=1e-4, atol=1e-5)


def _qkv(rng, hq=2, hk=2, L=3, S=5, E=4):
    return (rng.standard_normal((2, hq, L, E)).astype(np.float32),
            rng.standard_normal((2, hk, S, E)).astype(np.float32),
            rng.standard_normal((2, hk, S, E)).astype(np.float32))


def run_sdpa(arrays, **kw):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    js = [jtorch.tensor(a, requires_grad=True) for a in arrays]
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    jkw = {k: jtorch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    t = TF.scaled_dot_product_attention(*ts, **tkw)
    j = F.scaled_dot_product_attention(*js, **jkw)
    assert_close(j, t, **TOL)
    ct = np.random.default_rng(1).standard_normal(tuple(t.shape)).astype(np.float32)
    t.backward(torch.tensor(ct))
    j.backward(jtorch.tensor(ct))
    for a, b in zip(js, ts):
        assert_close(a.grad, b.grad, **TOL)


def test_sdpa_masks(rng):
    q, k, v = _qkv(rng)
    run_sdpa((q, k, v))
    run_sdpa((q, k, v), is_causal=True, scale=0.3)
    bool_mask = rng.random((3, 5)) > 0.3
    bool_mask[1] = False   # a fully masked query row gives zeros
    run_sdpa((q, k, v), attn_mask=bool_mask)
    run_sdpa((q, k, v), attn_mask=bool_mask, is_causal=True)
    float_mask = rng.standard_normal((2, 1, 3, 5)).astype(np.float32)
    run_sdpa((q, k, v), attn_mask=float_mask)


def test_sdpa_gqa_and_shapes(rng):
    q, k, v = _qkv(rng, hq=4, hk=2)
    run_sdpa((q, k, v), enable_gqa=True)
    run_sdpa((q[0, 0], k[0, 0], v[0, 0]))   # plain (L, E) matrices
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(jtorch.tensor(q), jtorch.tensor(k), jtorch.tensor(v))
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(jtorch.randn(2, 3, 4), jtorch.randn(2, 5, 3), jtorch.randn(2, 5, 4))


def test_sdpa_dropout(rng):
    q, k, v = (jtorch.tensor(a) for a in _qkv(rng, L=64, S=64))
    v = jtorch.ones_like(v)
    jtorch.manual_seed(0)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    # each output entry is sum(kept weights)/0.7 with weights summing to 1: mean stays 1
    assert abs(out.mean().item() - 1) < 0.05
    assert out.std().item() > 0.05
    out2 = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    assert not np.allclose(out.numpy(), out2.numpy())
    assert_close(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0), torch.zeros(tuple(out.shape)))


def _mha_pair(**kw):
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(8, 2, **kw)
    j = nn.MultiheadAttention(8, 2, **kw)
    assert list(j.state_dict()) == list(t.state_dict())
    assert repr(j) == repr(t)
    j.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, j


MHA_CASES = [
    (dict(), dict()),
    (dict(batch_first=True), dict(kpm=True, bool_mask=True)),
    (dict(kdim=5, vdim=6, add_bias_kv=True, add_zero_attn=True), dict(kpm=True, need_weights=False)),
    (dict(bias=False), dict(float_mask3=True, average_attn_weights=False)),
]


@pytest.mark.parametrize("ctor,call", MHA_CASES, ids=["default", "batch-first-masks", "kdim-biaskv-zeroattn",
                                                       "nobias-3dmask"])
def test_multihead_attention(rng, ctor, call):
    t, j = _mha_pair(**ctor)
    L, S, N = 3, 4, 2
    bf = ctor.get("batch_first", False)
    shp = (lambda s: (N, s, None)) if bf else (lambda s: (s, N, None))
    q = rng.standard_normal(shp(L)[:2] + (8,)).astype(np.float32)
    k = rng.standard_normal(shp(S)[:2] + (ctor.get("kdim", 8),)).astype(np.float32)
    v = rng.standard_normal(shp(S)[:2] + (ctor.get("vdim", 8),)).astype(np.float32)
    tkw, jkw = {}, {}
    if call.get("kpm"):
        kpm = np.zeros((N, S), bool)
        kpm[0, 1] = kpm[1, 3] = True
        tkw["key_padding_mask"], jkw["key_padding_mask"] = torch.tensor(kpm), jtorch.tensor(kpm)
    if call.get("bool_mask"):
        m = np.triu(np.ones((L, S), bool), 1)
        tkw["attn_mask"], jkw["attn_mask"] = torch.tensor(m), jtorch.tensor(m)
    if call.get("float_mask3"):
        m = rng.standard_normal((N * 2, L, S)).astype(np.float32)
        tkw["attn_mask"], jkw["attn_mask"] = torch.tensor(m), jtorch.tensor(m)
    for key in ("need_weights", "average_attn_weights"):
        if key in call:
            tkw[key] = jkw[key] = call[key]
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    jq, jk, jv = (jtorch.tensor(a, requires_grad=True) for a in (q, k, v))
    to, tw = t(tq, tk, tv, **tkw)
    jo, jw = j(jq, jk, jv, **jkw)
    assert_close(jo, to, **TOL)
    if tw is None:
        assert jw is None
    else:
        assert_close(jw, tw, **TOL)
    ct = rng.standard_normal(tuple(to.shape)).astype(np.float32)
    to.backward(torch.tensor(ct))
    jo.backward(jtorch.tensor(ct))
    for a, b in zip((jq, jk, jv), (tq, tk, tv)):
        assert_close(a.grad, b.grad, **TOL)
    for (n, a), (m_, b) in zip(j.named_parameters(), t.named_parameters()):
        assert n == m_
        assert_close(a.grad, b.grad, **TOL)


def test_mha_self_attention_unbatched_and_errors(rng):
    t, j = _mha_pair()
    x = rng.standard_normal((3, 8)).astype(np.float32)
    to, tw = t(torch.tensor(x), torch.tensor(x), torch.tensor(x))
    jo, jw = j(jtorch.tensor(x), jtorch.tensor(x), jtorch.tensor(x))
    assert_close(jo, to, **TOL)
    assert_close(jw, tw, **TOL)
    xx = jtorch.tensor(rng.standard_normal((3, 2, 8)).astype(np.float32))
    with pytest.raises(RuntimeError):
        j(xx, xx, xx, attn_mask=jtorch.zeros(2, 2, dtype=jtorch.bool))
    with pytest.raises(RuntimeError):
        j(xx, xx, xx, is_causal=True)
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(6, 4)
    j.eval()
    t.eval()
    mask = np.triu(np.full((3, 3), -np.inf, np.float32), 1)
    assert_close(j(xx, xx, xx, attn_mask=jtorch.tensor(mask), is_causal=True, need_weights=False)[0],
                 t(torch.tensor(xx.numpy()), torch.tensor(xx.numpy()), torch.tensor(xx.numpy()),
                   attn_mask=torch.tensor(mask), is_causal=True, need_weights=False)[0], **TOL)


def test_mha_default_init():
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = m.in_proj_weight.detach().numpy()
    bound = np.sqrt(6 / (64 + 3 * 64))   # xavier_uniform over the (3E, E) matrix
    assert np.abs(w).max() <= bound and w.std() > 0.8 * bound / np.sqrt(3)
    assert float(m.in_proj_bias.abs().sum()) == 0 and float(m.out_proj.bias.abs().sum()) == 0
    assert m.bias_k.shape == (1, 1, 64)

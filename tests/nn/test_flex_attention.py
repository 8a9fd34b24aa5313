"""torch.nn.attention against torch: sdpa_kernel backend selection and flags, causal biases, and
flex_attention (block masks, score/mask mods, logsumexp, masked rows, GQA, errors)."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch.nn.attention import SDPBackend as TB, sdpa_kernel as t_sdpa_kernel
from torch.nn.attention import bias as tbias
from torch.nn.attention import flex_attention as tflex

import jtorch
import jtorch.nn.functional as F
from jtorch.nn.attention import SDPBackend as JB, sdpa_kernel as j_sdpa_kernel
from jtorch.nn.attention import bias as jbias
from jtorch.nn.attention import flex_attention as jflex
from tests.helpers import assert_close

warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")


def _both(rng, *shape):
    a = rng.standard_normal(shape).astype(np.float32)
    return torch.tensor(a), jtorch.tensor(a)


def _outcome(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, str(e)


@pytest.mark.parametrize("backends", [[0], [1], [2], [3], [4], [1, 2], [0, 3], []])
@pytest.mark.parametrize("dropout_p", [0.0, 0.5])
def test_sdpa_kernel_allows_what_torch_allows_on_cpu(rng, backends, dropout_p):
    (tq, jq) = _both(rng, 2, 2, 5, 4)
    with t_sdpa_kernel([TB(b) for b in backends]):
        t_out = _outcome(lambda: TF.scaled_dot_product_attention(tq, tq, tq, dropout_p=dropout_p))
        t_flags = (torch.backends.cuda.math_sdp_enabled(), torch.backends.cuda.flash_sdp_enabled(),
                   torch.backends.cuda.mem_efficient_sdp_enabled(), torch.backends.cuda.cudnn_sdp_enabled())
    with j_sdpa_kernel([JB(b) for b in backends]):
        j_out = _outcome(lambda: F.scaled_dot_product_attention(jq, jq, jq, dropout_p=dropout_p))
        j_flags = (jtorch.backends.cuda.math_sdp_enabled(), jtorch.backends.cuda.flash_sdp_enabled(),
                   jtorch.backends.cuda.mem_efficient_sdp_enabled(), jtorch.backends.cuda.cudnn_sdp_enabled())
    assert j_flags == t_flags
    if isinstance(t_out, tuple):
        assert j_out == t_out
    else:
        assert not isinstance(j_out, tuple), j_out
        if dropout_p == 0.0:
            assert_close(j_out, t_out, rtol=1e-5, atol=1e-6)
    assert jtorch.backends.cuda.math_sdp_enabled() and jtorch.backends.cuda.flash_sdp_enabled()
    assert not jtorch.backends.cuda._sdp_restricted
    assert [str(JB(b)) for b in backends] == [str(TB(b)) for b in backends]


@pytest.mark.parametrize("lq,lkv", [(3, 5), (5, 5), (2, 7)])
def test_causal_bias_variants_like_torch(rng, lq, lkv):
    tq, jq = _both(rng, 2, 3, lq, 4)
    tk, jk = _both(rng, 2, 3, lkv, 4)
    for name in ("causal_upper_left", "causal_lower_right"):
        tb, jb = getattr(tbias, name)(lq, lkv), getattr(jbias, name)(lq, lkv)
        assert np.array_equal(jb._materialize().numpy(), tb._materialize().numpy())
        assert int(jb.variant) == int(tb.variant)
        assert_close(F.scaled_dot_product_attention(jq, jk, jk, jb),
                     TF.scaled_dot_product_attention(tq, tk, tk, tb), rtol=1e-5, atol=1e-6)


def _mods(lib, L):
    doc = lib.tensor([0] * 3 + [1] * (L - 5) + [2] * 2)
    table = lib.tensor(np.linspace(-1, 1, 2 * L - 1).astype(np.float32))
    masks = {
        "causal": lambda b, h, q, kv: q >= kv,
        "window": lambda b, h, q, kv: (q - kv).abs() <= 2,
        "document": lambda b, h, q, kv: doc[q] == doc[kv],
        "per_batch": lambda b, h, q, kv: kv <= q + b * 3,
        "per_head": lambda b, h, q, kv: (kv + h) % 3 != 0,
        "dead_rows": lambda b, h, q, kv: (q % 4 != 1) & (kv <= q),
    }
    scores = {
        "identity": None,
        "relative": lambda s, b, h, q, kv: s + (q - kv) * 0.1,
        "softcap": lambda s, b, h, q, kv: 3.0 * lib.tanh(s / 3.0),
        "table": lambda s, b, h, q, kv: s + table[q - kv + L - 1],
        "head_batch": lambda s, b, h, q, kv: s * (1.0 + 0.1 * h) - 0.2 * b,
    }
    return masks, scores


@pytest.mark.parametrize("mask", ["causal", "window", "document", "per_batch", "per_head", "dead_rows"])
@pytest.mark.parametrize("block", [4, (2, 8), 128])
def test_create_block_mask_like_torch(mask, block):
    L = 16
    tm, _ = _mods(torch, L)
    jm, _ = _mods(jtorch, L)
    for B, H in ((None, None), (2, 3)):
        t = tflex.create_block_mask(tm[mask], B, H, L, L - 2, device="cpu", BLOCK_SIZE=block)
        j = jflex.create_block_mask(jm[mask], B, H, L, L - 2, device="cpu", BLOCK_SIZE=block)
        assert j.shape == t.shape and j.BLOCK_SIZE == t.BLOCK_SIZE and j.seq_lengths == t.seq_lengths
        assert math.isclose(j.sparsity(), t.sparsity())
        for name in ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks",
                     "q_indices", "full_q_num_blocks", "full_q_indices"):
            a, b = getattr(j, name), getattr(t, name)
            assert str(a.dtype) == str(b.dtype) and np.array_equal(a.numpy(), b.numpy()), name
        assert np.array_equal(j.to_dense().numpy(), t.to_dense().numpy())
        assert str(j) == str(t)
        assert np.array_equal(jflex.create_mask(jm[mask], B, H, L, L - 2, "cpu").numpy(),
                              tflex.create_mask(tm[mask], B, H, L, L - 2, "cpu").numpy())


def test_create_mask_of_a_score_mod_like_torch():
    def make(lib):
        return lambda s, b, h, q, kv: lib.where(q >= kv + h, s + 1.0, -float("inf"))
    t = tflex.create_mask(make(torch), 2, 3, 6, 5, "cpu")
    j = jflex.create_mask(make(jtorch), 2, 3, 6, 5, "cpu")
    assert j.dtype == jtorch.bool and np.array_equal(j.numpy(), t.numpy())


@pytest.mark.parametrize("mask", [None, "causal", "window", "document", "per_batch", "per_head", "dead_rows"])
@pytest.mark.parametrize("score", ["identity", "relative", "softcap", "table", "head_batch"])
def test_flex_attention_like_torch(rng, mask, score):
    L, B, H = 12, 2, 3
    (tq, jq), (tk, jk), (tv, jv) = (_both(rng, B, H, L, 4) for _ in range(3))
    tm, ts = _mods(torch, L)
    jm, js = _mods(jtorch, L)
    tbm = None if mask is None else tflex.create_block_mask(tm[mask], B, H, L, L, device="cpu", BLOCK_SIZE=4)
    jbm = None if mask is None else jflex.create_block_mask(jm[mask], B, H, L, L, device="cpu", BLOCK_SIZE=4)
    t_out, t_aux = tflex.flex_attention(tq, tk, tv, score_mod=ts[score], block_mask=tbm,
                                        return_aux=tflex.AuxRequest(lse=True))
    j_out, j_aux = jflex.flex_attention(jq, jk, jv, score_mod=js[score], block_mask=jbm,
                                        return_aux=jflex.AuxRequest(lse=True))
    assert_close(j_out, t_out, rtol=1e-5, atol=1e-6)
    assert_close(j_aux.lse, t_aux.lse, rtol=1e-5, atol=1e-6)
    assert j_aux.max_scores is None and t_aux.max_scores is None
    t_out, t_lse = tflex.flex_attention(tq, tk, tv, score_mod=ts[score], block_mask=tbm, scale=0.3, return_lse=True)
    j_out, j_lse = jflex.flex_attention(jq, jk, jv, score_mod=js[score], block_mask=jbm, scale=0.3, return_lse=True)
    assert_close(j_out, t_out, rtol=1e-5, atol=1e-6)
    assert_close(j_lse, t_lse, rtol=1e-5, atol=1e-6)


def test_flex_attention_gqa_combinators_and_errors(rng):
    L = 8
    tq, jq = _both(rng, 2, 4, L, 4)
    tk, jk = _both(rng, 2, 2, L, 4)
    tv, jv = _both(rng, 2, 2, L, 4)
    tm, _ = _mods(torch, L)
    jm, _ = _mods(jtorch, L)
    tbm = tflex.create_block_mask(tflex.or_masks(tflex.and_masks(tm["causal"], tm["window"]), tm["per_head"]),
                                  None, 4, L, L, device="cpu", BLOCK_SIZE=2)
    jbm = jflex.create_block_mask(jflex.or_masks(jflex.and_masks(jm["causal"], jm["window"]), jm["per_head"]),
                                  None, 4, L, L, device="cpu", BLOCK_SIZE=2)
    assert_close(jflex.flex_attention(jq, jk, jv, block_mask=jbm, enable_gqa=True),
                 tflex.flex_attention(tq, tk, tv, block_mask=tbm, enable_gqa=True), rtol=1e-5, atol=1e-6)
    calls = {
        "heads": lambda lib, q, k, v, bm: lib.flex_attention(q, k, v),
        "length": lambda lib, q, k, v, bm: lib.flex_attention(q[:, :, :4], k[:, :, :4], v[:, :, :4], block_mask=bm,
                                                              enable_gqa=True),
        "backward": lambda lib, q, k, v, bm: lib.flex_attention(q.clone().requires_grad_(), k, v, enable_gqa=True),
        "lse_and_aux": lambda lib, q, k, v, bm: lib.flex_attention(q, k, v, enable_gqa=True, return_lse=True,
                                                                   return_aux=lib.AuxRequest(lse=True)),
        "max_on_cpu": lambda lib, q, k, v, bm: lib.flex_attention(q, k, v, enable_gqa=True,
                                                                  return_aux=lib.AuxRequest(max_scores=True)),
        "three_d": lambda lib, q, k, v, bm: lib.flex_attention(q[0], k[0], v[0]),
    }
    for name, call in calls.items():
        t = _outcome(lambda: call(tflex, tq, tk, tv, tbm))
        j = _outcome(lambda: call(jflex, jq, jk, jv, jbm))
        assert isinstance(t, tuple) and isinstance(j, tuple) and j[0] == t[0], (name, j, t)

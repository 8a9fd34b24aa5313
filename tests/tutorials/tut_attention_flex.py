"""Attention recipes: `torch.nn.attention.sdpa_kernel` choosing SDPA backends (MATH, FLASH_ATTENTION, a
backend the CPU lacks, dropout that the CPU flash kernel refuses, the `torch.backends.cuda` flags it
sets), `is_causal` against explicit bool/float masks, `torch.nn.attention.bias.causal_upper_left` /
`causal_lower_right` for queries shorter than keys (KV-cache decoding against full recomputation), a
causal self-attention block trained under `sdpa_kernel`; and `flex_attention`: `create_block_mask`
(BLOCK_SIZE, printing, sparsity, block counts and indices), causal / sliding-window / prefix-LM /
document masks combined with `and_masks` / `or_masks`, score_mods (relative position, ALiBi, tanh
soft-capping, a captured bias table), `return_aux=AuxRequest(lse=True)`, fully masked rows, GQA,
`create_mask`, and the errors for wrong lengths, head counts and CPU backward."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.bias import causal_lower_right, causal_upper_left
from torch.nn.attention.flex_attention import (AuxRequest, and_masks, create_block_mask, create_mask,
                                               flex_attention, or_masks)

from tut_common import finish, np_params, record

rng = np.random.RandomState(521)


def randn(*shape):
    return torch.tensor(rng.randn(*shape).astype(np.float32))


B, H, L, E = 2, 4, 16, 8
q, k, v = randn(B, H, L, E), randn(B, H, L, E), randn(B, H, L, E)

# --- backends -------------------------------------------------------------------------------
ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
with sdpa_kernel(SDPBackend.MATH):
    record("math", F.scaled_dot_product_attention(q, k, v, is_causal=True))
    record("flags_in_math", (torch.backends.cuda.math_sdp_enabled(), torch.backends.cuda.flash_sdp_enabled(),
                             torch.backends.cuda.mem_efficient_sdp_enabled()))
with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
    record("flash_or_math", F.scaled_dot_product_attention(q, k, v, is_causal=True))
with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
    record("flash", F.scaled_dot_product_attention(q, k, v, is_causal=True))
    try:
        F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    except RuntimeError as e:
        record("flash_dropout", str(e))
for only in (SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION):
    with sdpa_kernel([only]):
        try:
            F.scaled_dot_product_attention(q, k, v)
        except RuntimeError as e:
            record(f"no_backend_{only.name}", str(e))
record("flags_restored", (torch.backends.cuda.math_sdp_enabled(), torch.backends.cuda.flash_sdp_enabled(),
                          torch.backends.cuda.mem_efficient_sdp_enabled()))
record("backend_values", [int(b) for b in (SDPBackend.MATH, SDPBackend.FLASH_ATTENTION,
                                           SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION)])

# --- masks ----------------------------------------------------------------------------------
tril = torch.ones(L, L, dtype=torch.bool).tril()
float_mask = torch.zeros(L, L).masked_fill(~tril, float("-inf"))
record("causal_forms", (torch.allclose(ref, F.scaled_dot_product_attention(q, k, v, attn_mask=tril), atol=1e-6),
                        torch.allclose(ref, F.scaled_dot_product_attention(q, k, v, attn_mask=float_mask), atol=1e-6)))
q_new = q[:, :, -3:]  # three new queries attending to all 16 keys (a cache)
upper = F.scaled_dot_product_attention(q_new, k, v, attn_mask=causal_upper_left(3, L))
lower = F.scaled_dot_product_attention(q_new, k, v, attn_mask=causal_lower_right(3, L))
record("causal_bias", (upper, lower))
record("lower_right_is_cache", torch.allclose(lower, ref[:, :, -3:], atol=1e-6))
record("bias_masks", (causal_upper_left(3, 5)._materialize(), causal_lower_right(3, 5)._materialize()))


class CausalSelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


attn = np_params(CausalSelfAttention(16, 4), 522)
opt = torch.optim.Adam(attn.parameters(), lr=1e-2)
x = randn(3, 10, 16)
target = randn(3, 10, 16)
losses = []
with sdpa_kernel([SDPBackend.MATH]):
    for _ in range(4):
        opt.zero_grad()
        loss = F.mse_loss(attn(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
record("sdpa_train_losses", losses)
record("sdpa_train_qkv", attn.qkv.weight)


# --- flex attention -------------------------------------------------------------------------
def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def sliding_window(b, h, q_idx, kv_idx):
    return q_idx - kv_idx <= 4


block_mask = create_block_mask(causal, None, None, L, L, device="cpu", BLOCK_SIZE=4)
print(block_mask)
record("block_mask", (block_mask.shape, block_mask.sparsity(), block_mask.BLOCK_SIZE, block_mask.kv_num_blocks,
                      block_mask.full_kv_num_blocks, block_mask.kv_indices, block_mask.to_dense()))
flex_causal = flex_attention(q, k, v, block_mask=block_mask)
record("flex_causal_is_sdpa", torch.allclose(flex_causal, ref, atol=1e-5))
record("flex_causal", flex_causal)
record("flex_plain_is_sdpa", torch.allclose(flex_attention(q, k, v), F.scaled_dot_product_attention(q, k, v),
                                             atol=1e-5))

window_mask = create_block_mask(and_masks(causal, sliding_window), None, None, L, L, device="cpu", BLOCK_SIZE=4)
print(window_mask)
window_out = flex_attention(q, k, v, block_mask=window_mask)
dense_window = create_mask(and_masks(causal, sliding_window), 1, 1, L, L, device="cpu")
record("window", (window_out, window_mask.sparsity(), dense_window[0, 0, 8]))
record("window_is_sdpa", torch.allclose(window_out, F.scaled_dot_product_attention(q, k, v, attn_mask=dense_window),
                                        atol=1e-5))

prefix_len = torch.tensor([3, 7])  # per sequence: bidirectional over its prefix, causal after


def prefix(b, h, q_idx, kv_idx):
    return kv_idx < prefix_len[b]


prefix_mask = create_block_mask(or_masks(prefix, causal), B, None, L, L, device="cpu", BLOCK_SIZE=4)
print(prefix_mask.to_string(limit=1))
record("prefix_lm", (flex_attention(q, k, v, block_mask=prefix_mask), prefix_mask.kv_num_blocks,
                     prefix_mask.full_kv_num_blocks))

document_id = torch.tensor([0] * 5 + [1] * 7 + [2] * 4)  # three packed documents


def document_causal(b, h, q_idx, kv_idx):
    return (document_id[q_idx] == document_id[kv_idx]) & (q_idx >= kv_idx)


doc_mask = create_block_mask(document_causal, 1, 1, L, L, device="cpu", BLOCK_SIZE=4)
doc_out = flex_attention(q, k, v, block_mask=doc_mask)
separately = torch.cat([F.scaled_dot_product_attention(q[:, :, s:e], k[:, :, s:e], v[:, :, s:e], is_causal=True)
                        for s, e in ((0, 5), (5, 12), (12, 16))], dim=2)
record("documents", (doc_out, torch.allclose(doc_out, separately, atol=1e-5), doc_mask.sparsity()))


def relative_positional(score, b, h, q_idx, kv_idx):
    return score + (q_idx - kv_idx) * 0.1


slopes = torch.tensor([2.0 ** (-8 * (i + 1) / H) for i in range(H)])


def alibi(score, b, h, q_idx, kv_idx):
    return score + slopes[h] * (kv_idx - q_idx)


def soft_cap(score, b, h, q_idx, kv_idx):
    return 2.0 * torch.tanh(score / 2.0)


rel_table = randn(2 * L - 1) * 0.3


def learned_relative(score, b, h, q_idx, kv_idx):
    return score + rel_table[q_idx - kv_idx + L - 1]


mods = {}
for name, mod in (("relative", relative_positional), ("alibi", alibi), ("soft_cap", soft_cap),
                  ("table", learned_relative)):
    mods[name] = flex_attention(q, k, v, score_mod=mod, block_mask=block_mask)
record("score_mods", mods)
# the same by hand: scores, the mod, the causal mask, softmax
scores = q @ k.transpose(-2, -1) / math.sqrt(E)
pos = torch.arange(L)
by_hand = (scores + slopes.view(1, H, 1, 1) * (pos.view(1, -1) - pos.view(-1, 1))).masked_fill(~tril, float("-inf"))
record("alibi_by_hand", torch.allclose(mods["alibi"], by_hand.softmax(-1) @ v, atol=1e-5))

out, aux = flex_attention(q, k, v, score_mod=soft_cap, block_mask=block_mask, return_aux=AuxRequest(lse=True))
capped = (2.0 * torch.tanh(scores / 2.0)).masked_fill(~tril, float("-inf"))
record("lse", (aux.lse, torch.allclose(aux.lse, capped.logsumexp(-1), atol=1e-5), aux.max_scores is None))


def first_query_blind(b, h, q_idx, kv_idx):
    return (q_idx > 0) & (kv_idx <= q_idx)


blind = create_block_mask(first_query_blind, None, None, L, L, device="cpu", BLOCK_SIZE=8)
out, aux = flex_attention(q, k, v, block_mask=blind, return_aux=AuxRequest(lse=True))
record("fully_masked_row", (out[:, :, 0], aux.lse[:, :, 0], out[:, :, 1:]))

kv_heads = 2
k2, v2 = randn(B, kv_heads, L, E), randn(B, kv_heads, L, E)
gqa = flex_attention(q, k2, v2, block_mask=block_mask, enable_gqa=True)
record("gqa", (gqa, torch.allclose(gqa, F.scaled_dot_product_attention(q, k2, v2, is_causal=True, enable_gqa=True),
                                   atol=1e-5)))
record("scale", flex_attention(q, k, v, block_mask=block_mask, scale=0.5))

errors = {}
for name, call in (
        ("wrong_length", lambda: flex_attention(q[:, :, :8], k[:, :, :8], v[:, :, :8], block_mask=block_mask)),
        ("heads", lambda: flex_attention(q, k2, v2)),
        ("cpu_backward", lambda: flex_attention(q.clone().requires_grad_(), k, v)),
        ("lse_and_aux", lambda: flex_attention(q, k, v, return_lse=True, return_aux=AuxRequest(lse=True)))):
    try:
        call()
        errors[name] = None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        errors[name] = type(e).__name__
record("errors", errors)
finish()

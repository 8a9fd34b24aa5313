"""Transformer building blocks: a multi-head attention layer written with `F.scaled_dot_product_attention`
(packed in-projection, heads split/merged, `is_causal`, a key-padding mask turned into a boolean
attn_mask, dropout off in eval) loaded with nn.MultiheadAttention's weights and compared with it;
nn.MultiheadAttention itself with `need_weights` / `average_attn_weights=False`, `key_padding_mask`
(bool and float), `attn_mask` (2-D and per-head 3-D), `batch_first`, separate `kdim` / `vdim`,
`add_bias_kv` / `add_zero_attn`, unbatched inputs; SDPA with `scale=`, GQA (`enable_gqa`), bool
and additive masks, gradients through SDPA against the explicit softmax formula; and a pre-norm
causal block built from these parts trained a few AdamW steps with gradient clipping."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, np_params, record

rng = np.random.RandomState(131)


def randn(*shape):
    return torch.from_numpy(rng.randn(*shape).astype(np.float32))


E, H, B, L, S = 16, 4, 3, 5, 7


class SDPAttention(nn.Module):
    """nn.MultiheadAttention's computation (batch_first) through F.scaled_dot_product_attention."""

    def __init__(self, E, H, dropout=0.0):
        super().__init__()
        self.H = H
        self.in_proj = nn.Linear(E, 3 * E)
        self.out_proj = nn.Linear(E, E)
        self.dropout = dropout

    def forward(self, query, key, value, key_padding_mask=None, is_causal=False):
        w_q, w_k, w_v = self.in_proj.weight.chunk(3)
        b_q, b_k, b_v = self.in_proj.bias.chunk(3)
        q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
        split = lambda t: t.unflatten(-1, (self.H, -1)).transpose(1, 2)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        mask = None
        if key_padding_mask is not None:
            mask = ~key_padding_mask[:, None, None, :]  # True = attend
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).flatten(-2))


mha = np_params(nn.MultiheadAttention(E, H, batch_first=True), 132).eval()
mine = SDPAttention(E, H).eval()
with torch.no_grad():
    mine.in_proj.weight.copy_(mha.in_proj_weight)
    mine.in_proj.bias.copy_(mha.in_proj_bias)
    mine.out_proj.load_state_dict(mha.out_proj.state_dict())
q, kv = randn(B, L, E), randn(B, S, E)
pad = torch.zeros(B, S, dtype=torch.bool)
pad[0, -2:] = True
pad[2, -4:] = True
ref, w = mha(q, kv, kv, key_padding_mask=pad)
record("mha_out", ref)
record("mha_weights", w)
record("sdpa_block_eq", torch.allclose(mine(q, kv, kv, key_padding_mask=pad), ref, atol=1e-5))
x = randn(B, L, E)
causal = nn.Transformer.generate_square_subsequent_mask(L)
record("causal_mask", causal)
ref_causal, _ = mha(x, x, x, attn_mask=causal, need_weights=False)
record("sdpa_causal_eq", torch.allclose(mine(x, x, x, is_causal=True), ref_causal, atol=1e-5))
record("mha_causal", ref_causal)
_, per_head = mha(q, kv, kv, key_padding_mask=pad, average_attn_weights=False)
record("per_head_weights", per_head)
record("no_weights", mha(q, kv, kv, need_weights=False)[1])
float_pad = torch.zeros(B, S).masked_fill(pad, float("-inf"))
record("float_pad_eq", torch.allclose(mha(q, kv, kv, key_padding_mask=float_pad)[0], ref, atol=1e-6))
mask3d = torch.from_numpy(rng.rand(B * H, L, S) > 0.3)
mask3d[..., 0] = False  # every query keeps a key
record("mask3d", mha(q, kv, kv, attn_mask=mask3d)[0])

# sequence-first, kdim/vdim, bias_kv, zero attention, unbatched
seq_first = np_params(nn.MultiheadAttention(E, H, kdim=6, vdim=10), 133)
record("kdim_vdim", seq_first(randn(L, B, E), randn(S, B, 6), randn(S, B, 10)))
record("kdim_params", sorted(n for n, _ in seq_first.named_parameters()))
extra = np_params(nn.MultiheadAttention(E, H, add_bias_kv=True, add_zero_attn=True, batch_first=True), 134)
out, wts = extra(q, kv, kv, key_padding_mask=pad)
record("bias_kv_zero_attn", (out, wts))
record("unbatched", mha(randn(L, E), randn(S, E), randn(S, E)))
print(mha)

# plain SDPA features against the formula
qh, kh, vh = randn(2, H, L, 8), randn(2, H, S, 8), randn(2, H, S, 8)
scores = qh @ kh.transpose(-2, -1)
record("sdpa_scale", torch.allclose(F.scaled_dot_product_attention(qh, kh, vh, scale=0.3),
                                    torch.softmax(scores * 0.3, -1) @ vh, atol=1e-5))
bias = randn(L, S)
record("sdpa_additive", torch.allclose(F.scaled_dot_product_attention(qh, kh, vh, attn_mask=bias),
                                       torch.softmax(scores / math.sqrt(8) + bias, -1) @ vh, atol=1e-5))
kg, vg = randn(2, 2, S, 8), randn(2, 2, S, 8)
gqa = F.scaled_dot_product_attention(qh, kg, vg, enable_gqa=True)
record("gqa", (gqa, torch.allclose(gqa, F.scaled_dot_product_attention(qh, kg.repeat_interleave(2, 1),
                                                                       vg.repeat_interleave(2, 1)), atol=1e-6)))
qg, kgr, vgr = (t.clone().requires_grad_() for t in (qh, kh, vh))
F.scaled_dot_product_attention(qg, kgr, vgr, attn_mask=bias).pow(2).sum().backward()
q2, k2, v2 = (t.clone().requires_grad_() for t in (qh, kh, vh))
(torch.softmax(q2 @ k2.transpose(-2, -1) / math.sqrt(8) + bias, -1) @ v2).pow(2).sum().backward()
record("sdpa_grads", (qg.grad, kgr.grad, vgr.grad))
record("sdpa_grads_eq", all(torch.allclose(a.grad, b.grad, atol=1e-4) for a, b in ((qg, q2), (kgr, k2), (vgr, v2))))


# a pre-norm decoder-only block trained with AdamW
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(E), nn.LayerNorm(E)
        self.attn = SDPAttention(E, H)
        self.mlp = nn.Sequential(nn.Linear(E, 4 * E), nn.GELU(approximate="tanh"), nn.Linear(4 * E, E))

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, is_causal=True)
        return x + self.mlp(self.ln2(x))


block = np_params(Block(), 135)
opt = torch.optim.AdamW(block.parameters(), lr=3e-3, weight_decay=0.1)
target = randn(B, L, E)
losses = []
for step in range(4):
    opt.zero_grad()
    loss = F.mse_loss(block(x), target)
    loss.backward()
    nn.utils.clip_grad_norm_(block.parameters(), 1.0)
    opt.step()
    losses.append(loss.item())
record("block_losses", losses)
params = dict(block.named_parameters())
# the key bias's gradient is zero in exact arithmetic (it shifts every score of a query by the same amount):
# Adam normalises float32 noise there into full-size steps whose sign is the noise's; record the rest
in_bias = params.pop("attn.in_proj.bias")
params["attn.q_and_v_bias"] = torch.cat([in_bias[:E], in_bias[2 * E:]])
record("block_params", params)
finish()

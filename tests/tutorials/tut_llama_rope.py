"""A LLaMA-style decoder as its reference code writes it: nn.RMSNorm beside a hand-written RMSNorm
(x * rsqrt(mean(x**2) + eps) in float32, cast back with type_as), rotary position embeddings as
complex numbers (precompute_freqs_cis with torch.outer + torch.polar, view_as_complex of the
(..., d/2, 2) pairs, multiplied and flattened back with view_as_real(...).flatten(3)) checked
against the rotate-half real form, SwiGLU feed-forward (F.silu(w1(x)) * w3(x)), grouped-query
attention with repeat_interleave of the key/value heads, a preallocated key/value cache written
by slice assignment under torch.inference_mode, a few AdamW steps with a cosine schedule, then
incremental decoding against full recomputation, and top-p (nucleus) filtering with sort /
cumsum / scatter whose draw uses a numpy uniform over the kept probabilities."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tut_common import finish, np_params, record

torch.manual_seed(0)
rng = np.random.RandomState(7)

DIM, N_HEADS, N_KV_HEADS, N_LAYERS, VOCAB, MAX_SEQ = 32, 4, 2, 2, 29, 24
HEAD_DIM = DIM // N_HEADS


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def _norm(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        output = self._norm(x.float()).type_as(x)
        return output * self.weight


def precompute_freqs_cis(dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device, dtype=torch.float32)
    freqs = torch.outer(t, freqs)
    return torch.polar(torch.ones_like(freqs), freqs)  # complex64


def reshape_for_broadcast(freqs_cis, x):
    ndim = x.ndim
    assert freqs_cis.shape == (x.shape[1], x.shape[-1])
    shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
    return freqs_cis.view(*shape)


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def rotate_pairs_real(x, cos, sin):
    """The same rotation without complex numbers: interleaved pairs (a, b) -> (a cos - b sin, a sin + b cos)."""
    a, b = x[..., 0::2], x[..., 1::2]
    cos = cos[None, :, None, :]
    sin = sin[None, :, None, :]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)


def repeat_kv(x, n_rep):
    bs, slen, n_kv_heads, head_dim = x.shape
    if n_rep == 1:
        return x
    return (x[:, :, :, None, :].expand(bs, slen, n_kv_heads, n_rep, head_dim)
            .reshape(bs, slen, n_kv_heads * n_rep, head_dim))


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.n_rep = N_HEADS // N_KV_HEADS
        self.wq = nn.Linear(DIM, N_HEADS * HEAD_DIM, bias=False)
        self.wk = nn.Linear(DIM, N_KV_HEADS * HEAD_DIM, bias=False)
        self.wv = nn.Linear(DIM, N_KV_HEADS * HEAD_DIM, bias=False)
        self.wo = nn.Linear(N_HEADS * HEAD_DIM, DIM, bias=False)
        self.register_buffer("cache_k", torch.zeros(2, MAX_SEQ, N_KV_HEADS, HEAD_DIM), persistent=False)
        self.register_buffer("cache_v", torch.zeros(2, MAX_SEQ, N_KV_HEADS, HEAD_DIM), persistent=False)

    def forward(self, x, start_pos, freqs_cis, mask, use_cache):
        bsz, seqlen, _ = x.shape
        xq = self.wq(x).view(bsz, seqlen, N_HEADS, HEAD_DIM)
        xk = self.wk(x).view(bsz, seqlen, N_KV_HEADS, HEAD_DIM)
        xv = self.wv(x).view(bsz, seqlen, N_KV_HEADS, HEAD_DIM)
        xq, xk = apply_rotary_emb(xq, xk, freqs_cis=freqs_cis)
        if use_cache:
            self.cache_k[:bsz, start_pos: start_pos + seqlen] = xk
            self.cache_v[:bsz, start_pos: start_pos + seqlen] = xv
            keys = self.cache_k[:bsz, : start_pos + seqlen]
            values = self.cache_v[:bsz, : start_pos + seqlen]
        else:
            keys, values = xk, xv
        keys = repeat_kv(keys, self.n_rep)
        values = repeat_kv(values, self.n_rep)
        xq, keys, values = xq.transpose(1, 2), keys.transpose(1, 2), values.transpose(1, 2)
        scores = torch.matmul(xq, keys.transpose(2, 3)) / math.sqrt(HEAD_DIM)
        if mask is not None:
            scores = scores + mask
        scores = F.softmax(scores.float(), dim=-1).type_as(xq)
        output = torch.matmul(scores, values)
        output = output.transpose(1, 2).contiguous().view(bsz, seqlen, -1)
        return self.wo(output)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim, multiple_of=16):
        super().__init__()
        hidden_dim = int(2 * hidden_dim / 3)
        hidden_dim = multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = Attention()
        self.feed_forward = FeedForward(DIM, 4 * DIM)
        self.attention_norm = RMSNorm(DIM)
        self.ffn_norm = nn.RMSNorm(DIM, eps=1e-6)

    def forward(self, x, start_pos, freqs_cis, mask, use_cache):
        h = x + self.attention(self.attention_norm(x), start_pos, freqs_cis, mask, use_cache)
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_embeddings = nn.Embedding(VOCAB, DIM)
        self.layers = nn.ModuleList(TransformerBlock() for _ in range(N_LAYERS))
        self.norm = RMSNorm(DIM)
        self.output = nn.Linear(DIM, VOCAB, bias=False)
        self.register_buffer("freqs_cis", precompute_freqs_cis(HEAD_DIM, MAX_SEQ * 2), persistent=False)

    def forward(self, tokens, start_pos=0, use_cache=False):
        _bsz, seqlen = tokens.shape
        h = self.tok_embeddings(tokens)
        freqs_cis = self.freqs_cis[start_pos: start_pos + seqlen]
        mask = None
        if seqlen > 1:
            mask = torch.full((seqlen, seqlen), float("-inf"), device=tokens.device)
            mask = torch.triu(mask, diagonal=1)
            # with a cache, the new rows see every cached position
            mask = torch.hstack([torch.zeros((seqlen, start_pos), device=tokens.device), mask]).type_as(h)
        for layer in self.layers:
            h = layer(h, start_pos, freqs_cis, mask, use_cache)
        return self.output(self.norm(h)).float()


# the pieces on their own
x = torch.tensor(rng.randn(2, 5, DIM).astype(np.float32))
mine, builtin = RMSNorm(DIM), nn.RMSNorm(DIM, eps=1e-6)
record("rmsnorm_mine", mine(x))
record("rmsnorm_builtin", builtin(x))
record("rmsnorm_functional", F.rms_norm(x, (DIM,), eps=1e-6))
print("rmsnorm max diff small:", bool((mine(x) - builtin(x)).abs().max() < 1e-5))
print(nn.RMSNorm(DIM), nn.RMSNorm([5, DIM], elementwise_affine=False))

freqs = precompute_freqs_cis(HEAD_DIM, 8)
print(freqs.dtype, freqs.shape)
record("freqs_real", torch.view_as_real(freqs))
xq = torch.tensor(rng.randn(2, 8, N_HEADS, HEAD_DIM).astype(np.float32))
xk = torch.tensor(rng.randn(2, 8, N_KV_HEADS, HEAD_DIM).astype(np.float32))
rq, rk = apply_rotary_emb(xq, xk, freqs)
record("rope_q", rq)
record("rope_k", rk)
real_q = rotate_pairs_real(xq, freqs.real, freqs.imag)
print("rope complex == real:", torch.allclose(rq, real_q, atol=1e-5))
# rotation keeps norms, and the score of (q at m, k at n) depends on m - n only
record("rope_norm_kept", torch.allclose(rq.norm(dim=-1), xq.norm(dim=-1), atol=1e-4))
record("repeat_kv", repeat_kv(xk, 2))
print("repeat_kv == repeat_interleave:", torch.equal(repeat_kv(xk, 2), xk.repeat_interleave(2, dim=2)))

model = np_params(Transformer(), seed=3)
nparams = sum(p.numel() for p in model.parameters())
print("parameters:", nparams, "buffers:", [n for n, _ in model.named_buffers()][:3])
print(sorted(model.state_dict().keys())[:6])

# a tiny corpus of token ids: repeating patterns the model can learn
data = torch.tensor(np.concatenate([(np.arange(40) * k) % VOCAB for k in (1, 2, 3, 5)]).astype(np.int64))
starts = np.arange(0, len(data) - 13, 9)

decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=3e-3, betas=(0.9, 0.95), eps=1e-8)
steps = 8
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
losses, lrs = [], []
model.train()
for step in range(steps):
    idx = starts[(np.arange(4) + step * 4) % len(starts)]
    batch = torch.stack([data[i: i + 13] for i in idx])
    inp, tgt = batch[:, :-1], batch[:, 1:]
    logits = model(inp)
    loss = F.cross_entropy(logits.view(-1, VOCAB), tgt.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    losses.append(loss.item())
    lrs.append(sched.get_last_lr()[0])
    print(f"step {step} loss {loss.item():.4f} grad norm {norm.item():.4f}")
record("losses", losses)
record("lrs", lrs)
record("params", dict(model.named_parameters()))

# incremental decoding with the cache against full recomputation
model.eval()
prompt = torch.tensor([[1, 2, 3, 4, 5], [3, 6, 9, 12, 15]])
with torch.inference_mode():
    full = model(prompt)
    cached_first = model(prompt[:, :3], start_pos=0, use_cache=True)
    cached_rest = [model(prompt[:, i: i + 1], start_pos=i, use_cache=True) for i in range(3, 5)]
    print("is inference tensor:", full.is_inference(), "requires grad:", full.requires_grad)
cached = torch.cat([cached_first] + cached_rest, dim=1)
record("full_logits", full)
record("cache_matches", torch.allclose(full, cached, atol=1e-4))
record("cache_k_written", model.layers[0].attention.cache_k[:, :5])

# greedy generation with the cache
with torch.inference_mode():
    tokens = prompt.clone()
    logits = model(tokens, start_pos=0, use_cache=True)
    for pos in range(tokens.shape[1], tokens.shape[1] + 6):
        next_token = torch.argmax(logits[:, -1], dim=-1, keepdim=True)
        tokens = torch.cat([tokens, next_token], dim=1)
        logits = model(next_token, start_pos=pos, use_cache=True)
record("greedy_tokens", tokens)
print("greedy:", tokens.tolist())


def sample_top_p(probs, p, u):
    """Nucleus filtering; the draw is an inverse-CDF lookup of the numpy uniform u."""
    probs_sort, probs_idx = torch.sort(probs, dim=-1, descending=True)
    probs_sum = torch.cumsum(probs_sort, dim=-1)
    mask = probs_sum - probs_sort > p
    probs_sort[mask] = 0.0
    probs_sort.div_(probs_sort.sum(dim=-1, keepdim=True))
    filtered = torch.zeros_like(probs).scatter(-1, probs_idx, probs_sort)
    cdf = torch.cumsum(probs_sort, dim=-1)
    pick = torch.searchsorted(cdf, u.unsqueeze(-1)).clamp_max(probs.shape[-1] - 1)
    return torch.gather(probs_idx, -1, pick), filtered


with torch.no_grad():
    probs = torch.softmax(model(prompt)[:, -1] / 0.8, dim=-1)
    u = torch.tensor(rng.uniform(0, 1, 2).astype(np.float32))
    tok, filtered = sample_top_p(probs, 0.9, u)
record("top_p_filtered", filtered)
record("top_p_token", tok)
print("kept per row:", (filtered > 0).sum(-1).tolist())
finish()

"""nanoGPT / minGPT style: a GPTConfig dataclass, CausalSelfAttention with one fused c_attn Linear
split into q, k, v, F.scaled_dot_product_attention(is_causal=True), GELU(approximate='tanh'),
pre-LayerNorm blocks, tied wte/lm_head weights, the special scaled init of c_proj replaced by numpy
weights, configure_optimizers with decay/no-decay AdamW parameter groups, a warmup-then-cosine
learning rate set by hand in param_group['lr'], clip_grad_norm_, then generation: a KV cache
(past keys/values concatenated per layer) against the full recomputation, greedy decoding,
temperature + top-k filtering (logits < v[:, [-1]] set to -inf) and torch.multinomial with a seeded
torch.Generator (the draws come from each framework's own stream: only that every drawn token
lies in the top-k set is recorded), and an SDPA with an explicit boolean mask and a float mask
against is_causal."""
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

from tut_common import finish, np_params, record


@dataclass
class GPTConfig:
    block_size: int = 16
    vocab_size: int = 29
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 16
    dropout: float = 0.0
    bias: bool = True


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout

    def forward(self, x, past=None):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if past is not None:
            pk, pv = past
            k = torch.cat((pk, k), dim=-2)
            v = torch.cat((pv, v), dim=-2)
        present = (k, v)
        if past is None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=None,
                                               dropout_p=self.dropout if self.training else 0,
                                               is_causal=True)
        else:
            # new queries see every cached key (they come after all of them)
            y = F.scaled_dot_product_attention(q, k, v)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        y = self.resid_dropout(self.c_proj(y))
        return y, present


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, past=None):
        a, present = self.attn(self.ln_1(x), past)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, present


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying

    def get_num_params(self, non_embedding=True):
        n_params = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def forward(self, idx, targets=None, past=None, pos_offset=0):
        device = idx.device
        b, t = idx.size()
        assert pos_offset + t <= self.config.block_size
        pos = torch.arange(pos_offset, pos_offset + t, dtype=torch.long, device=device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        presents = []
        for i, block in enumerate(self.transformer.h):
            x, present = block(x, None if past is None else past[i])
            presents.append(present)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        else:
            logits = self.lm_head(x[:, [-1], :])
            loss = None
        return logits, loss, presents

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {"params": decay_params, "weight_decay": weight_decay},
            {"params": nodecay_params, "weight_decay": 0.0},
        ]
        print(f"num decayed parameter tensors: {len(decay_params)}, with {sum(p.numel() for p in decay_params):,} parameters")
        print(f"num non-decayed parameter tensors: {len(nodecay_params)}, with {sum(p.numel() for p in nodecay_params):,} parameters")
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)

    @torch.no_grad()
    def generate_full(self, idx, max_new_tokens):
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
            logits, _, _ = self(idx_cond)
            idx_next = logits[:, -1, :].argmax(dim=-1, keepdim=True)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx

    @torch.no_grad()
    def generate_cached(self, idx, max_new_tokens):
        logits, _, past = self(idx)
        steps = []
        for _ in range(max_new_tokens):
            idx_next = logits[:, -1, :].argmax(dim=-1, keepdim=True)
            idx = torch.cat((idx, idx_next), dim=1)
            logits, _, past = self(idx_next, past=past, pos_offset=idx.size(1) - 1)
            steps.append(logits[:, -1, :])
        return idx, torch.stack(steps, 1)


config = GPTConfig()
model = GPT(config)
np_params(model, 0)
print(f"number of parameters: {model.get_num_params() / 1e3:.2f}K")
record("tied", model.transformer.wte.weight is model.lm_head.weight)
record("state_keys", list(model.state_dict().keys()))

rng = np.random.RandomState(1)
text = rng.randint(0, config.vocab_size, size=600)
data = torch.from_numpy(text.astype(np.int64))
n = int(0.9 * len(data))
train_data, val_data = data[:n], data[n:]
batch_size = 4


def get_batch(split, offsets):
    d = train_data if split == "train" else val_data
    ix = torch.from_numpy(offsets % (len(d) - config.block_size))
    x = torch.stack([d[i:i + config.block_size] for i in ix])
    y = torch.stack([d[i + 1:i + 1 + config.block_size] for i in ix])
    return x, y


learning_rate, warmup_iters, lr_decay_iters, min_lr = 3e-3, 2, 6, 3e-4


def get_lr(it):
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


@torch.no_grad()
def estimate_loss():
    out = {}
    model.eval()
    for split in ["train", "val"]:
        losses = torch.zeros(2)
        for k in range(2):
            X, Y = get_batch(split, rng.randint(0, 10_000, size=batch_size))
            _, loss, _ = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out


optimizer = model.configure_optimizers(0.1, learning_rate, (0.9, 0.95))
losses = []
for it in range(8):
    lr = get_lr(it)
    for param_group in optimizer.param_groups:
        param_group["lr"] = lr
    if it % 4 == 0:
        est = estimate_loss()
        print(f"step {it}: train loss {est['train']:.4f}, val loss {est['val']:.4f}")
    X, Y = get_batch("train", rng.randint(0, 10_000, size=batch_size))
    logits, loss, _ = model(X, Y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    losses.append(loss.item())
    print(f"iter {it}: loss {loss.item():.4f}, lr {lr:.6f}, grad norm {norm.item():.4f}")
record("losses", losses)
record("params", {k: v for k, v in model.state_dict().items()})

# generation: the KV cache gives the full recomputation's tokens and logits
model.eval()
prompt = torch.from_numpy(rng.randint(0, config.vocab_size, size=(2, 4)).astype(np.int64))
full = model.generate_full(prompt, 6)
cached, step_logits = model.generate_cached(prompt, 6)
record("greedy", full)
record("cached_equal", torch.equal(full, cached))
record("cached_logits", step_logits)
ref_logits = torch.stack([model(cached[:, :5 + i])[0][:, -1, :] for i in range(6)], 1)
record("cache_vs_full", torch.allclose(step_logits, ref_logits, atol=1e-5))
print("generated:", full.tolist())

# temperature + top-k sampling with a seeded generator
g = torch.Generator().manual_seed(1337)
idx = prompt.clone()
in_topk = []
top_k, temperature = 5, 0.8
with torch.no_grad():
    for _ in range(5):
        logits, _, _ = model(idx)
        logits = logits[:, -1, :] / temperature
        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
        logits[logits < v[:, [-1]]] = -float("Inf")
        probs = F.softmax(logits, dim=-1)
        idx_next = torch.multinomial(probs, num_samples=1, generator=g)
        in_topk.append(bool((probs.gather(1, idx_next) > 0).all()))
        record(f"topk_probs_nonzero_{len(in_topk)}", int((probs > 0).sum()))
        idx = torch.cat((idx, idx_next), dim=1)
record("in_topk", in_topk)
record("sampled_shape", idx.shape)
record("sampled_dtype", idx.dtype)

# SDPA masks: a boolean lower-triangular mask and an additive float mask equal is_causal
q, k, v = (torch.from_numpy(rng.randn(2, 2, 5, 8).astype(np.float32)) for _ in range(3))
causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
bool_mask = torch.ones(5, 5, dtype=torch.bool).tril(diagonal=0)
float_mask = torch.zeros(5, 5).masked_fill(~bool_mask, float("-inf"))
record("sdpa_causal", causal)
record("sdpa_bool_eq", torch.allclose(causal, F.scaled_dot_product_attention(q, k, v, attn_mask=bool_mask), atol=1e-6))
record("sdpa_float_eq", torch.allclose(causal, F.scaled_dot_product_attention(q, k, v, attn_mask=float_mask), atol=1e-6))
record("sdpa_scale", F.scaled_dot_product_attention(q, k, v, scale=0.5, is_causal=True))
# grouped-query attention: 2 query heads share 1 key/value head
kv1 = k[:, :1], v[:, :1]
record("sdpa_gqa", F.scaled_dot_product_attention(q, kv1[0], kv1[1], is_causal=True, enable_gqa=True))
manual = (q @ k.transpose(-2, -1) / math.sqrt(8)).masked_fill(~bool_mask, float("-inf")).softmax(-1) @ v
record("sdpa_manual_eq", torch.allclose(causal, manual, atol=1e-5))
finish()

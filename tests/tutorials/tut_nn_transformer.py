"""Seq2seq nn.Transformer (translation tutorial) style: token embedding scaled by sqrt(d_model),
positional encoding, nn.Transformer with generate_square_subsequent_mask as tgt_mask, src/tgt/memory
key_padding_mask from PAD tokens, CrossEntropyLoss(ignore_index=PAD), greedy decoding through
model.encode/decode; nn.MultiheadAttention on its own (attn_mask, key_padding_mask, need_weights,
average_attn_weights, kdim/vdim, batch_first); an einsum attention written by hand against
F.scaled_dot_product_attention (is_causal, boolean and float masks)."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Transformer

from tut_common import finish, np_params, record

rng = np.random.RandomState(41)
PAD_IDX, BOS_IDX, EOS_IDX = 1, 2, 3
SRC_VOCAB, TGT_VOCAB = 12, 11
torch.manual_seed(0)


def make_pair():
    n = rng.randint(2, 6)
    src = list(rng.randint(4, SRC_VOCAB, n))
    # the "translation": a fixed map of the reversed source
    tgt = [4 + (s * 3) % (TGT_VOCAB - 4) for s in reversed(src)]
    return src, tgt


pairs = [make_pair() for _ in range(24)]


def tensor_transform(ids):
    return torch.cat((torch.tensor([BOS_IDX]), torch.tensor(ids), torch.tensor([EOS_IDX])))


def collate_fn(batch):
    src_batch, tgt_batch = [], []
    for src_sample, tgt_sample in batch:
        src_batch.append(tensor_transform(src_sample))
        tgt_batch.append(tensor_transform(tgt_sample))
    src_batch = nn.utils.rnn.pad_sequence(src_batch, padding_value=PAD_IDX)
    tgt_batch = nn.utils.rnn.pad_sequence(tgt_batch, padding_value=PAD_IDX)
    return src_batch, tgt_batch


class PositionalEncoding(nn.Module):
    def __init__(self, emb_size: int, dropout: float, maxlen: int = 50):
        super().__init__()
        den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pos_embedding = torch.zeros((maxlen, emb_size))
        pos_embedding[:, 0::2] = torch.sin(pos * den)
        pos_embedding[:, 1::2] = torch.cos(pos * den)
        pos_embedding = pos_embedding.unsqueeze(-2)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pos_embedding", pos_embedding)

    def forward(self, token_embedding: Tensor):
        return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size: int, emb_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens: Tensor):
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead, src_vocab_size,
                 tgt_vocab_size, dim_feedforward=32, dropout=0.1):
        super().__init__()
        self.transformer = Transformer(d_model=emb_size, nhead=nhead, num_encoder_layers=num_encoder_layers,
                                       num_decoder_layers=num_decoder_layers, dim_feedforward=dim_feedforward,
                                       dropout=dropout)
        self.generator = nn.Linear(emb_size, tgt_vocab_size)
        self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

    def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, memory_key_padding_mask):
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
        return self.generator(outs)

    def encode(self, src: Tensor, src_mask: Tensor):
        return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

    def decode(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor):
        return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)


def generate_square_subsequent_mask(sz):
    mask = (torch.triu(torch.ones((sz, sz))) == 1).transpose(0, 1)
    mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))
    return mask


def create_mask(src, tgt):
    src_seq_len = src.shape[0]
    tgt_seq_len = tgt.shape[0]
    tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
    src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
    src_padding_mask = (src == PAD_IDX).transpose(0, 1)
    tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


record("mask_equals_builtin", torch.equal(generate_square_subsequent_mask(5),
                                          Transformer.generate_square_subsequent_mask(5)))
record("builtin_mask", nn.Transformer.generate_square_subsequent_mask(4))

# dropout=0: the runs stay off the framework's random stream
transformer = Seq2SeqTransformer(2, 2, 16, 4, SRC_VOCAB, TGT_VOCAB, dim_feedforward=32, dropout=0.0)
for p in transformer.parameters():
    if p.dim() > 1:
        nn.init.xavier_uniform_(p)
np_params(transformer, 42, scale=0.3)
record("n_params", sum(p.numel() for p in transformer.parameters()))
loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
optimizer = torch.optim.Adam(transformer.parameters(), lr=0.002, betas=(0.9, 0.98), eps=1e-9)
train_dataloader = torch.utils.data.DataLoader(pairs, batch_size=8, collate_fn=collate_fn)
first_src, first_tgt = next(iter(train_dataloader))
record("first_batch", (first_src, first_tgt))
losses = []
for epoch in range(1, 4):
    transformer.train()
    total = 0.0
    for src, tgt in train_dataloader:
        tgt_input = tgt[:-1, :]
        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
        logits = transformer(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                             src_padding_mask)
        optimizer.zero_grad()
        tgt_out = tgt[1:, :]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        total += loss.item()
    print(f"Epoch: {epoch}, Train loss: {total / len(train_dataloader):.3f}")
record("losses", losses)
# the key part of in_proj_bias has a zero gradient in exact arithmetic (softmax does not see a
# constant added to a row of scores): its float rounding noise, which Adam (eps=1e-9) turns into
# full-size steps, is not comparable between frameworks, so that slice is left out
E = 16
record("params_after", {n: torch.cat([p[:E], p[2 * E:]]) if n.endswith("in_proj_bias") else p
                        for n, p in transformer.named_parameters()})


def greedy_decode(model, src, src_mask, max_len, start_symbol):
    memory = model.encode(src, src_mask)
    ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long)
    for i in range(max_len - 1):
        tgt_mask = (generate_square_subsequent_mask(ys.size(0)).type(torch.bool))
        out = model.decode(ys, memory, tgt_mask)
        out = out.transpose(0, 1)
        prob = model.generator(out[:, -1])
        _, next_word = torch.max(prob, dim=1)
        next_word = next_word.item()
        ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
        if next_word == EOS_IDX:
            break
    return ys


transformer.eval()
src = tensor_transform(pairs[0][0]).view(-1, 1)
num_tokens = src.shape[0]
src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
decoded = greedy_decode(transformer, src, src_mask, max_len=num_tokens + 5, start_symbol=BOS_IDX).flatten()
print("decoded:", decoded.tolist())
with torch.no_grad():
    memory = transformer.encode(src, src_mask)
record("memory", memory)

# nn.MultiheadAttention on its own
mha = np_params(nn.MultiheadAttention(8, 2), 43)
q = torch.tensor(rng.randn(5, 3, 8).astype(np.float32), requires_grad=True)
k = torch.tensor(rng.randn(6, 3, 8).astype(np.float32))
v = torch.tensor(rng.randn(6, 3, 8).astype(np.float32))
kpm = torch.tensor([[False] * 6, [False] * 4 + [True] * 2, [False] * 5 + [True]])
attn_mask = torch.tensor(rng.rand(5, 6) < 0.2)
out, weights = mha(q, k, v, key_padding_mask=kpm, attn_mask=attn_mask)
out.sum().backward()
record("mha", (out, weights, q.grad, mha.in_proj_weight.grad, mha.out_proj.bias.grad))
out, weights = mha(q, k, v, need_weights=True, average_attn_weights=False)
record("mha_per_head", (out, weights))
out, weights = mha(q, k, v, need_weights=False)
record("mha_no_weights", (out, weights))
float_mask = torch.tensor(rng.randn(3 * 2, 5, 6).astype(np.float32))
record("mha_3d_float_mask", mha(q, k, v, attn_mask=float_mask))
mha_kv = np_params(nn.MultiheadAttention(8, 4, kdim=5, vdim=3, batch_first=True, bias=False, add_bias_kv=True), 44)
record("mha_kdim_names", [n for n, _ in mha_kv.named_parameters()])
kq = torch.tensor(rng.randn(2, 4, 8).astype(np.float32))
kk = torch.tensor(rng.randn(2, 7, 5).astype(np.float32))
kv = torch.tensor(rng.randn(2, 7, 3).astype(np.float32))
record("mha_kdim", mha_kv(kq, kk, kv))
self_attn = np_params(nn.MultiheadAttention(8, 2, batch_first=True), 45)
x = torch.tensor(rng.randn(2, 4, 8).astype(np.float32))
causal = nn.Transformer.generate_square_subsequent_mask(4)
record("mha_self_causal", self_attn(x, x, x, attn_mask=causal, is_causal=True))


# attention by einsum, checked against the fused function
def einsum_attention(q, k, v, mask=None):
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    attn = scores.softmax(dim=-1)
    return torch.einsum("bhqk,bhkd->bhqd", attn, v), attn


Q = torch.tensor(rng.randn(2, 3, 5, 4).astype(np.float32), requires_grad=True)
K = torch.tensor(rng.randn(2, 3, 5, 4).astype(np.float32), requires_grad=True)
V = torch.tensor(rng.randn(2, 3, 5, 4).astype(np.float32), requires_grad=True)
causal_bool = torch.ones(5, 5, dtype=torch.bool).tril()
mine, attn = einsum_attention(Q, K, V, causal_bool)
fused = F.scaled_dot_product_attention(Q, K, V, is_causal=True)
print("einsum vs fused:", torch.allclose(mine, fused, atol=1e-5))
grads = torch.autograd.grad((mine * fused.detach()).sum(), (Q, K, V))
record("einsum_attention", (mine, attn, grads))
bias = torch.tensor(rng.randn(5, 5).astype(np.float32))
record("sdpa_float_mask", F.scaled_dot_product_attention(Q, K, V, attn_mask=bias))
record("sdpa_bool_mask", F.scaled_dot_product_attention(Q, K, V, attn_mask=causal_bool, scale=0.3))
record("einsum_other", (torch.einsum("ii->i", bias), torch.einsum("ij,jk", bias, bias), torch.einsum("...ij->...ji", Q)))
finish()

"""Transformer language model style: TransformerEncoder(Layer) with batch_first True and False,
sinusoidal PositionalEncoding with register_buffer, generate_square_subsequent_mask,
src_key_padding_mask, CrossEntropyLoss over view(-1, ntokens), StepLR, clip_grad_norm_, perplexity."""
import math
import os

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import TransformerEncoder, TransformerEncoderLayer

from tut_common import OUT, finish, np_params, record


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.pe[:x.size(0)]
        return self.dropout(x)


class TransformerModel(nn.Module):
    def __init__(self, ntoken: int, d_model: int, nhead: int, d_hid: int, nlayers: int, dropout: float = 0.5):
        super().__init__()
        self.model_type = "Transformer"
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
        self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers, enable_nested_tensor=False)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)
        self.init_weights()

    def init_weights(self) -> None:
        initrange = 0.1
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.linear.bias.data.zero_()
        self.linear.weight.data.uniform_(-initrange, initrange)

    def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        if src_mask is None:
            src_mask = nn.Transformer.generate_square_subsequent_mask(len(src))
        output = self.transformer_encoder(src, src_mask)
        output = self.linear(output)
        return output


rng = np.random.RandomState(8)
ntokens = 29
train_data = torch.tensor(rng.randint(0, ntokens, 168))
val_data = torch.tensor(rng.randint(0, ntokens, 80))


def batchify(data: Tensor, bsz: int) -> Tensor:
    seq_len = data.size(0) // bsz
    data = data[:seq_len * bsz]
    data = data.view(bsz, seq_len).t().contiguous()
    return data


batch_size, eval_batch_size = 4, 2
train_data = batchify(train_data, batch_size)
val_data = batchify(val_data, eval_batch_size)
record("batchified", (train_data, val_data))
bptt = 12


def get_batch(source: Tensor, i: int):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].reshape(-1)
    return data, target


emsize, d_hid, nlayers, nhead, dropout = 16, 32, 2, 2, 0.2
model = TransformerModel(ntokens, emsize, nhead, d_hid, nlayers, dropout)
record("pe_buffer", model.pos_encoder.pe[:20])
record("state_keys", list(model.state_dict().keys()))
record("buffer_names", [n for n, _ in model.named_buffers()])
np_params(model, 60)
model.pos_encoder.pe.copy_(torch.tensor(np.asarray(model.pos_encoder.pe)))

criterion = nn.CrossEntropyLoss()
lr = 1.0
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
mask = nn.Transformer.generate_square_subsequent_mask(bptt)
record("mask", mask)


def train(model: nn.Module) -> None:
    # dropout draws from the framework's RNG: the exact comparison trains with dropout off (eval
    # mode), which is also what the fast path of TransformerEncoderLayer checks for
    model.eval()
    total_loss = 0.0
    losses = []
    num_batches = len(train_data) // bptt
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        output = model(data)
        output_flat = output.view(-1, ntokens)
        loss = criterion(output_flat, targets)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        total_loss += loss.item()
        losses.append(loss.item())
        log_interval = 2
        if batch % log_interval == 0 and batch > 0:
            lr = scheduler.get_last_lr()[0]
            cur_loss = total_loss / log_interval
            ppl = math.exp(cur_loss)
            print(f"| epoch {epoch:3d} | {batch:5d}/{num_batches:5d} batches | lr {lr:02.2f} | "
                  f"loss {cur_loss:5.2f} | ppl {ppl:8.2f}")
            total_loss = 0
    return losses


def evaluate(model: nn.Module, eval_data: Tensor) -> float:
    model.eval()
    total_loss = 0.0
    with torch.no_grad():
        for i in range(0, eval_data.size(0) - 1, bptt):
            data, targets = get_batch(eval_data, i)
            seq_len = data.size(0)
            output = model(data)
            output_flat = output.view(-1, ntokens)
            total_loss += seq_len * criterion(output_flat, targets).item()
    return total_loss / (len(eval_data) - 1)


best_val_loss = float("inf")
best_model_params_path = os.path.join(OUT, "best_model_params.pt")
for epoch in range(1, 3):
    record(f"train_losses{epoch}", train(model))
    val_loss = evaluate(model, val_data)
    val_ppl = math.exp(val_loss)
    print("-" * 89)
    print(f"| end of epoch {epoch:3d} | valid loss {val_loss:5.2f} | valid ppl {val_ppl:8.2f}")
    print("-" * 89)
    record(f"val{epoch}", (val_loss, val_ppl))
    if val_loss < best_val_loss:
        best_val_loss = val_loss
        torch.save(model.state_dict(), best_model_params_path)
    scheduler.step()
record("lr_after", scheduler.get_last_lr())
model.load_state_dict(torch.load(best_model_params_path))
record("best_val_reloaded", evaluate(model, val_data))
record("final_state", model.state_dict())

# --- batch_first encoder with a key padding mask, trained a few Adam steps
layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, dropout=0.1, batch_first=True,
                                   activation="gelu", norm_first=True)
encoder = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(16), enable_nested_tensor=False)
head = nn.Linear(16, 3)
np_params(encoder, 61)
np_params(head, 62)
x = torch.tensor(rng.randn(3, 7, 16).astype(np.float32))
lengths = torch.tensor([7, 5, 3])
pad = torch.arange(7)[None, :] >= lengths[:, None]
record("pad_mask", pad)
y = torch.tensor([0, 2, 1])
params = list(encoder.parameters()) + list(head.parameters())
opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.01)
encoder.eval()  # dropout off for the exact comparison
bf_losses = []
for step in range(3):
    h = encoder(x, mask=nn.Transformer.generate_square_subsequent_mask(7), src_key_padding_mask=pad)
    valid = (~pad).unsqueeze(-1).float()
    pooled = (h * valid).sum(1) / valid.sum(1)
    loss = nn.functional.cross_entropy(head(pooled), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    bf_losses.append(loss.item())
record("bf_losses", bf_losses)
record("bf_out", h.masked_fill(pad.unsqueeze(-1), 0.0))
record("bf_state", encoder.state_dict())

# the inference fast path (no grad, eval): same values as the slow path
with torch.no_grad():
    h2 = encoder(x, src_key_padding_mask=pad)
record("fast_path", h2.masked_fill(pad.unsqueeze(-1), 0.0))

# full nn.Transformer with masks, batch_first=False
tr = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=24, dropout=0.0)
np_params(tr, 63)
src = torch.tensor(rng.randn(6, 2, 16).astype(np.float32))
tgt = torch.tensor(rng.randn(5, 2, 16).astype(np.float32))
out = tr(src, tgt, tgt_mask=tr.generate_square_subsequent_mask(5), src_key_padding_mask=torch.tensor(
    [[False] * 6, [False] * 4 + [True] * 2]), memory_key_padding_mask=torch.tensor([[False] * 6, [False] * 4 + [True] * 2]))
out.sum().backward()
record("transformer_out", out)
record("transformer_grads", {n: p.grad for n, p in tr.named_parameters()})
mha = nn.MultiheadAttention(16, 4, batch_first=True)
np_params(mha, 64)
q = torch.tensor(rng.randn(2, 5, 16).astype(np.float32))
attn_out, attn_w = mha(q, q, q, need_weights=True)
record("mha", (attn_out, attn_w))
attn_out2, attn_w2 = mha(q, q, q, need_weights=True, average_attn_weights=False, attn_mask=torch.ones(5, 5).triu(1).bool())
record("mha_heads", (attn_out2, attn_w2))
finish()

"""A text generator: a character decoder-only model built from nn.TransformerDecoder (self-attention
with a causal mask over a learned "memory" of one vector), trained on a small corpus, then greedy and
beam-search decoding with log-probabilities; and variable-length sequences through an LSTM with
pad_sequence, pack_padded_sequence(enforce_sorted=False), pad_packed_sequence, masked mean pooling."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from tut_common import finish, np_params, record

corpus = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat. "
chars = sorted(set(corpus))
stoi = {c: i for i, c in enumerate(chars)}
itos = {i: c for c, i in stoi.items()}
V = len(chars)
data = torch.tensor([stoi[c] for c in corpus], dtype=torch.long)


class CharDecoder(nn.Module):
    def __init__(self, vocab, d=32, heads=4, layers=2, ctx=24):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(ctx, d)
        self.memory = nn.Parameter(torch.zeros(1, 1, d))
        layer = nn.TransformerDecoderLayer(d, heads, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers)
        self.out = nn.Linear(d, vocab)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.emb(idx) + self.pos(torch.arange(T))
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        mem = self.memory.expand(idx.shape[0], -1, -1)
        return self.out(self.decoder(x, mem, tgt_mask=mask, tgt_is_causal=True))


model = np_params(CharDecoder(V), 1)
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
rng = np.random.RandomState(0)
ctx = 16
losses = []
for step in range(60):
    starts = rng.randint(0, len(data) - ctx - 1, 8)
    xb = torch.stack([data[s:s + ctx] for s in starts])
    yb = torch.stack([data[s + 1:s + ctx + 1] for s in starts])
    loss = F.cross_entropy(model(xb).reshape(-1, V), yb.reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
record("losses", losses)
model.eval()


@torch.no_grad()
def greedy(prompt, n):
    idx = torch.tensor([[stoi[c] for c in prompt]])
    logps = []
    for _ in range(n):
        logits = model(idx[:, -ctx:])[:, -1]
        lp = F.log_softmax(logits, -1)
        nxt = lp.argmax(-1, keepdim=True)
        logps.append(lp.gather(1, nxt).item())
        idx = torch.cat([idx, nxt], dim=1)
    return "".join(itos[i] for i in idx[0].tolist()), sum(logps)


@torch.no_grad()
def beam_search(prompt, n, beam=3):
    beams = [(torch.tensor([stoi[c] for c in prompt]), 0.0)]
    for _ in range(n):
        seqs = torch.stack([b[0] for b in beams])
        lp = F.log_softmax(model(seqs[:, -ctx:])[:, -1], -1)
        scores = torch.tensor([b[1] for b in beams]).unsqueeze(1) + lp
        top = scores.flatten().topk(beam)
        beams = [(torch.cat([seqs[i // V], torch.tensor([i % V])]), s)
                 for s, i in zip(top.values.tolist(), top.indices.tolist())]
    return [("".join(itos[i] for i in b[0].tolist()), b[1]) for b in beams]


text, lp = greedy("the ", 12)
print("greedy:", repr(text))
record("greedy", (text, lp))
beams = beam_search("the ", 8)
for t, s in beams:
    print("beam:", repr(t), round(s, 3))
record("beams", beams)

# variable-length sequences through an LSTM
words = corpus.split()
seqs = [torch.tensor([stoi[c] for c in w]) for w in words[:10]]
lengths = torch.tensor([len(s) for s in seqs])
padded = pad_sequence(seqs, batch_first=True, padding_value=0)
record("padded", padded)
emb = np_params(nn.Embedding(V, 8), 2)
lstm = np_params(nn.LSTM(8, 12, batch_first=True, bidirectional=True), 3)
packed = pack_padded_sequence(emb(padded), lengths, batch_first=True, enforce_sorted=False)
out, (h, c) = lstm(packed)
unpacked, out_len = pad_packed_sequence(out, batch_first=True)
record("packed_batch_sizes", packed.batch_sizes)
record("unpacked", unpacked)
record("out_len", out_len)
record("h_n", h)
mask = (torch.arange(unpacked.shape[1])[None] < out_len[:, None]).unsqueeze(-1)
pooled = (unpacked * mask).sum(1) / out_len[:, None]
record("pooled", pooled)
# gradients through the packed path
pooled.pow(2).sum().backward()
record("lstm_grad", lstm.weight_hh_l0_reverse.grad)
finish()

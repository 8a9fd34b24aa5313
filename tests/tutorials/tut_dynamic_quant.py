"""(beta) Dynamic quantization as its tutorials apply it: an LSTM word language model (embedding,
2-layer LSTM, decoder Linear) and a BERT-style stack of Linear layers passed through
`torch.ao.quantization.quantize_dynamic` ({nn.LSTM, nn.Linear}, dtype=qint8) and the float16 variant;
the converted modules' types and printed reprs, the quantized weights (int values, scales, zero
points: the same per-tensor affine quantization in both frameworks), outputs of the quantized models
against the float ones (recorded as values: the int8 matmuls with per-call activation quantization
must agree with torch's kernels), the model size before and after (state_dict saved to a buffer),
hidden-state propagation over a sequence in chunks (each chunk quantized with its own scale), and a model evaluated on a batch of sentences."""
import io

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import quantize_dynamic

from tut_common import finish, np_params, record

rng = np.random.RandomState(111)


class LSTMModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid, self.nlayers = nhid, nlayers

    def forward(self, tokens, hidden):
        out, hidden = self.rnn(self.encoder(tokens), hidden)
        return self.decoder(out), hidden

    def init_hidden(self, bsz):
        return (torch.zeros(self.nlayers, bsz, self.nhid), torch.zeros(self.nlayers, bsz, self.nhid))


def size_of(model):
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell()


ntokens = 50
lm = np_params(LSTMModel(ntokens, 16, 24, 2), 112).eval()
qlm = quantize_dynamic(lm, {nn.LSTM, nn.Linear}, dtype=torch.qint8)
print(qlm)
record("lm_types", [(n, type(m).__name__) for n, m in qlm.named_children()])
tokens = torch.from_numpy(rng.randint(0, ntokens, size=(12, 3)).astype(np.int64))
with torch.no_grad():
    ref_out, ref_h = lm(tokens, lm.init_hidden(3))
    q_out, q_h = qlm(tokens, qlm.init_hidden(3))
record("lm_float", ref_out)
record("lm_quant", (q_out, q_h))
record("lm_close", (float((q_out - ref_out).abs().max()) < 0.05, q_out.argmax(-1).eq(ref_out.argmax(-1)).float().mean()))

# chunks carrying the hidden state equal one pass over the whole sequence
hidden = qlm.init_hidden(3)
chunks = []
with torch.no_grad():
    for i in range(0, 12, 4):
        out, hidden = qlm(tokens[i:i + 4], hidden)
        hidden = tuple(h.detach() for h in hidden)
        chunks.append(out)
# (not equal to one pass: each call quantizes its own input with its own scale)
record("lm_chunks", torch.cat(chunks))
record("lm_loss", nn.functional.cross_entropy(q_out[:-1].reshape(-1, ntokens), tokens[1:].reshape(-1)).item())

dec = qlm.decoder
w = dec.weight()
record("decoder_weight", (w.dtype, str(w.qscheme()), w.q_scale(), w.q_zero_point(), w.int_repr(), w.dequantize()))
record("decoder_bias", dec.bias())
print(dec)

# a stack of Linear layers like a BERT encoder's feed-forward parts
class FeedForward(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.dense_in = nn.Linear(d, hidden)
        self.dense_out = nn.Linear(hidden, d)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(x + self.dense_out(nn.functional.gelu(self.dense_in(x))))


encoder = np_params(nn.Sequential(FeedForward(32, 64), FeedForward(32, 64), nn.Linear(32, 2)), 113).eval()
qenc = quantize_dynamic(encoder, {nn.Linear}, dtype=torch.qint8)
sentences = torch.from_numpy(rng.randn(5, 7, 32).astype(np.float32))
with torch.no_grad():
    f_logits = encoder(sentences)
    q_logits = qenc(sentences)
record("enc_quant", q_logits)
record("enc_agree", q_logits.argmax(-1).eq(f_logits.argmax(-1)).float().mean())
record("sizes", (size_of(encoder) > 2 * size_of(qenc), size_of(lm) > size_of(qlm)))
record("enc_repr", repr(qenc[2]))

# float16 dynamic quantization: weights stored in half precision
h_enc = quantize_dynamic(encoder, {nn.Linear}, dtype=torch.float16)
with torch.no_grad():
    h_logits = h_enc(sentences)
record("fp16_repr", repr(h_enc[2]))
record("fp16_out", h_logits)
record("fp16_close", torch.allclose(h_logits, f_logits, atol=1e-2))
h_lm = quantize_dynamic(lm, {nn.LSTM}, dtype=torch.float16)
with torch.no_grad():
    record("fp16_lstm", h_lm(tokens, h_lm.init_hidden(3))[0])
print(type(h_lm.rnn).__name__, type(h_lm.decoder).__name__)
finish()

"""Word-level language model (pytorch/examples word_language_model) style: a Dictionary/Corpus
built from text made here, batchify with narrow/view/t().contiguous(), get_batch with truncated
BPTT, an Embedding + LSTM/GRU + Linear decoder with tied weights, repackage_hidden (detach of a
tuple of hidden states), clip_grad_norm_, the manual update p.data.add_(p.grad, alpha=-lr), lr
annealing on validation loss, perplexity with math.exp, and generation with torch.multinomial
replaced by argmax (multinomial draws from the framework's stream). Then pack_padded_sequence
(enforce_sorted=False) into a bidirectional multi-layer LSTM and pad_packed_sequence back."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from tut_common import finish, np_params, record

rng = np.random.RandomState(31)
words = "the cat sat on mat dog ran to park a big small red blue house tree".split()
# a text with some structure: a bigram table decides the next word most of the time
nxt = {w: words[(i * 5 + 3) % len(words)] for i, w in enumerate(words)}


def make_lines(n):
    lines = []
    for _ in range(n):
        w = rng.choice(words)
        line = [w]
        for _ in range(rng.randint(5, 11)):
            w = nxt[w] if rng.rand() < 0.7 else rng.choice(words)
            line.append(w)
        lines.append(" ".join(line))
    return lines


class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus:
    def __init__(self, splits):
        self.dictionary = Dictionary()
        self.train, self.valid, self.test = (self.tokenize(lines) for lines in splits)

    def tokenize(self, lines):
        idss = []
        for line in lines:
            words_ = line.split() + ["<eos>"]
            ids = [self.dictionary.add_word(word) for word in words_]
            idss.append(torch.tensor(ids).type(torch.int64))
        return torch.cat(idss)


corpus = Corpus((make_lines(40), make_lines(8), make_lines(8)))
print(len(corpus.dictionary), corpus.train.shape, corpus.valid.shape, corpus.test.shape)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).t().contiguous()
    return data


eval_batch_size = 4
train_data = batchify(corpus.train, 6)
val_data = batchify(corpus.valid, eval_batch_size)
test_data = batchify(corpus.test, eval_batch_size)
record("train_data", train_data)
bptt = 7


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


class RNNModel(nn.Module):
    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


ntokens = len(corpus.dictionary)
criterion = nn.NLLLoss()


def evaluate(model, data_source):
    model.eval()
    total_loss = 0.0
    hidden = model.init_hidden(eval_batch_size)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


def train_model(rnn_type, tied, seed, epochs=3):
    # dropout=0 keeps the runs off the framework's random stream
    model = np_params(RNNModel(rnn_type, ntokens, 12, 12, 2, dropout=0.0, tie_weights=tied), seed, scale=0.3)
    print(model)
    record(f"{rnn_type}_nparams", sum(p.numel() for p in model.parameters()))
    lr, clip = 5.0, 0.25
    best_val_loss = None
    losses = []
    for epoch in range(1, epochs + 1):
        model.train()
        hidden = model.init_hidden(6)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            hidden = repackage_hidden(hidden)
            model.zero_grad()
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            losses.append(loss.item())
        val_loss = evaluate(model, val_data)
        print(f"| end of epoch {epoch:3d} | lr {lr:02.2f} | valid loss {val_loss:5.2f} | "
              f"valid ppl {math.exp(val_loss):8.2f}")
        if not best_val_loss or val_loss < best_val_loss:
            best_val_loss = val_loss
        else:
            lr /= 4.0
    record(f"{rnn_type}_losses", losses)
    record(f"{rnn_type}_test_loss", evaluate(model, test_data))
    record(f"{rnn_type}_params", dict(model.named_parameters()))
    return model


lstm = train_model("LSTM", True, 32)
record("tied_is_same", lstm.decoder.weight is lstm.encoder.weight)
gru = train_model("GRU", False, 33, epochs=2)
rnn = train_model("RNN_TANH", False, 34, epochs=2)

# generation: feed the argmax back in (generate.py samples with multinomial instead)
lstm.eval()
hidden = lstm.init_hidden(1)
inp = torch.tensor([[corpus.dictionary.word2idx["the"]]])
out_words = []
with torch.no_grad():
    for _ in range(12):
        output, hidden = lstm(inp, hidden)
        word_weights = output.squeeze().div(0.8).exp()
        word_idx = int(torch.argmax(word_weights))
        inp.fill_(word_idx)
        out_words.append(corpus.dictionary.idx2word[word_idx])
print(" ".join(out_words))
# multinomial: only the shape/dtype and range depend on nothing but the framework
draw = torch.multinomial(word_weights, 5, replacement=True)
record("multinomial_meta", (draw.shape, draw.dtype, bool(((draw >= 0) & (draw < ntokens)).all())))

# variable-length sequences through a packed bidirectional LSTM
seqs = [torch.tensor(rng.randn(n, 5).astype(np.float32)) for n in (3, 6, 2, 5)]
lengths = torch.tensor([len(s) for s in seqs])
padded = pad_sequence(seqs, batch_first=True)
bilstm = np_params(nn.LSTM(5, 4, num_layers=2, batch_first=True, bidirectional=True), 35)
head = np_params(nn.Linear(8, 1), 36)
opt = torch.optim.Adam(list(bilstm.parameters()) + list(head.parameters()), lr=0.05)
target = torch.tensor(rng.randn(4).astype(np.float32))
packed_losses = []
for step in range(5):
    opt.zero_grad()
    packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
    out_packed, (h_n, c_n) = bilstm(packed)
    out, out_lens = pad_packed_sequence(out_packed, batch_first=True)
    # last valid step of the forward direction and first step of the backward one
    last = out[torch.arange(4), out_lens - 1, :4]
    first = out[:, 0, 4:]
    pred = head(torch.cat([last, first], 1)).squeeze(1)
    loss = F.mse_loss(pred, target)
    loss.backward()
    opt.step()
    packed_losses.append(loss.item())
record("packed_meta", (packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices, out_lens))
record("packed_out", (out, h_n, c_n))
record("packed_losses", packed_losses)
record("bilstm_after", dict(bilstm.named_parameters()))
finish()

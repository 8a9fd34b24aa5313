"""Char-RNN name classification style: one-hot letters, a hand-written RNN cell looped over
characters with initHidden, nn.RNN/LSTM/GRU with batch_first, topk, NLLLoss + LogSoftmax,
gradient clipping, packed sequences."""
import string

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from tut_common import finish, np_params, record

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)
all_categories = ["English", "French", "Greek", "Japanese"]
n_categories = len(all_categories)
names = [("Smith", 0), ("Dubois", 1), ("Papadopoulos", 2), ("Tanaka", 3), ("Jones", 0), ("Lefevre", 1),
         ("Nikolaou", 2), ("Suzuki", 3), ("Brown", 0), ("Moreau", 1), ("Georgiou", 2), ("Sato", 3)]


def letterToIndex(letter):
    return all_letters.find(letter)


def letterToTensor(letter):
    tensor = torch.zeros(1, n_letters)
    tensor[0][letterToIndex(letter)] = 1
    return tensor


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


print(letterToTensor("J"))
print(lineToTensor("Jones").size())
record("one_hot", lineToTensor("Jones"))


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.h2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = self.i2h(combined)
        output = self.h2o(combined)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


n_hidden = 32
rnn = np_params(RNN(n_letters, n_hidden, n_categories), 21)
input = lineToTensor("Albert")
hidden = torch.zeros(1, n_hidden)
output, next_hidden = rnn(input[0], hidden)
print(output)


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i


print(categoryFromOutput(output))
criterion = nn.NLLLoss()
learning_rate = 0.05


def train(category_tensor, line_tensor):
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()


losses = []
for it in range(2):
    for name, cat in names:
        output, loss = train(torch.tensor([cat], dtype=torch.long), lineToTensor(name))
        losses.append(loss)
        guess, guess_i = categoryFromOutput(output)
print(f"{it} {loss:.4f} {name} / {guess} {'✓' if guess_i == cat else '✗'}")
record("manual_rnn_losses", losses)
record("manual_rnn_state", rnn.state_dict())


def evaluate(line_tensor):
    hidden = rnn.initHidden()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    return output


with torch.no_grad():
    output = evaluate(lineToTensor("Dovesky"))
    topv, topi = output.topk(3, 1, True)
    for i in range(3):
        value = topv[0][i].item()
        category_index = topi[0][i].item()
        print("(%.2f) %s" % (value, all_categories[category_index]))
record("topk", (topv, topi))


# --- batched recurrent modules
class Classifier(nn.Module):
    def __init__(self, kind, hidden=16, layers=1, bidirectional=False):
        super().__init__()
        self.rnn = getattr(nn, kind)(n_letters, hidden, num_layers=layers, batch_first=True,
                                     bidirectional=bidirectional)
        self.h2o = nn.Linear(hidden * (2 if bidirectional else 1), n_categories)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, packed):
        out, h = self.rnn(packed)
        if isinstance(h, tuple):
            h = h[0]
        return self.softmax(self.h2o(torch.cat(list(h[-2:]), 1) if self.rnn.bidirectional else h[-1])), out


seqs = [lineToTensor(n).squeeze(1) for n, _ in names]
lengths = torch.tensor([len(n) for n, _ in names])
targets = torch.tensor([c for _, c in names])
padded = pad_sequence(seqs, batch_first=True)
record("padded_shape", padded.shape)
for kind, layers, bidir in [("RNN", 1, False), ("LSTM", 2, False), ("GRU", 1, True)]:
    model = np_params(Classifier(kind, layers=layers, bidirectional=bidir), 30 + layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step_losses, norms = [], []
    for step in range(3):
        packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
        logp, out = model(packed)
        loss = criterion(logp, targets)
        opt.zero_grad()
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5))
        opt.step()
        step_losses.append(loss.item())
    unpacked, out_lens = pad_packed_sequence(out, batch_first=True)
    record(f"{kind}_losses", step_losses)
    record(f"{kind}_norms", norms)
    record(f"{kind}_unpacked", unpacked)
    record(f"{kind}_lens", out_lens)
    record(f"{kind}_state", model.state_dict())
    print(kind, f"{step_losses[-1]:.4f}", tuple(unpacked.shape))

# sorted packing, total_length, and a plain (unpacked) batch_first=False call with h0
order = torch.argsort(lengths, descending=True)
packed = pack_padded_sequence(padded[order], lengths[order], batch_first=True)
record("batch_sizes", packed.batch_sizes)
gru = np_params(nn.GRU(n_letters, 8, num_layers=2), 41)
out, h = gru(packed)
record("sorted_packed_out", pad_packed_sequence(out, total_length=14)[0])
record("sorted_h", h)
lstm = np_params(nn.LSTM(n_letters, 8), 42)
h0 = (torch.zeros(1, 12, 8), torch.ones(1, 12, 8) * 0.5)
out, (hn, cn) = lstm(padded.transpose(0, 1), h0)
record("lstm_time_major", (out, hn, cn))
cell = np_params(nn.LSTMCell(n_letters, 8), 43)
hx, cx = torch.zeros(12, 8), torch.zeros(12, 8)
for t in range(padded.size(1)):
    hx, cx = cell(padded[:, t], (hx, cx))
record("lstm_cell", (hx, cx))
finish()

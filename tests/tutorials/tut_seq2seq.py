"""Seq2seq translation style: Embedding + GRU encoder, attention decoder with bmm, teacher
forcing chosen by a seeded Python RNG, greedy decoding with topk, NLLLoss per step."""
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

from tut_common import finish, np_params, record

SOS_token, EOS_token = 0, 1
MAX_LENGTH = 7
input_vocab, output_vocab = 13, 11
rng = np.random.RandomState(5)
pairs = []
for _ in range(6):
    n_in, n_out = rng.randint(3, MAX_LENGTH), rng.randint(3, MAX_LENGTH)
    pairs.append((list(rng.randint(2, input_vocab, n_in)) + [EOS_token],
                  list(rng.randint(2, output_vocab, n_out)) + [EOS_token]))


def tensorFromIndexes(ix):
    return torch.tensor([int(i) for i in ix], dtype=torch.long).view(-1, 1)


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size):
        super(EncoderRNN, self).__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size)

    def forward(self, input, hidden):
        embedded = self.embedding(input).view(1, 1, -1)
        output = embedded
        output, hidden = self.gru(output, hidden)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, 1, self.hidden_size)


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1, max_length=MAX_LENGTH):
        super(AttnDecoderRNN, self).__init__()
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.dropout_p = dropout_p
        self.max_length = max_length
        self.embedding = nn.Embedding(self.output_size, self.hidden_size)
        self.attn = nn.Linear(self.hidden_size * 2, self.max_length)
        self.attn_combine = nn.Linear(self.hidden_size * 2, self.hidden_size)
        self.dropout = nn.Dropout(self.dropout_p)
        self.gru = nn.GRU(self.hidden_size, self.hidden_size)
        self.out = nn.Linear(self.hidden_size, self.output_size)

    def forward(self, input, hidden, encoder_outputs):
        embedded = self.embedding(input).view(1, 1, -1)
        embedded = self.dropout(embedded)
        attn_weights = F.softmax(self.attn(torch.cat((embedded[0], hidden[0]), 1)), dim=1)
        attn_applied = torch.bmm(attn_weights.unsqueeze(0), encoder_outputs.unsqueeze(0))
        output = torch.cat((embedded[0], attn_applied[0]), 1)
        output = self.attn_combine(output).unsqueeze(0)
        output = F.relu(output)
        output, hidden = self.gru(output, hidden)
        output = F.log_softmax(self.out(output[0]), dim=1)
        return output, hidden, attn_weights


hidden_size = 16
encoder = np_params(EncoderRNN(input_vocab, hidden_size), 50)
decoder = np_params(AttnDecoderRNN(hidden_size, output_vocab), 51)
# dropout draws from the framework's RNG: the exact comparison runs the decoder in eval mode,
# and a train-mode pass is checked for its statistics below
decoder.eval()
teacher_forcing_ratio = 0.5
random.seed(1234)  # teacher forcing is chosen by Python's random module: the same in both


def train(input_tensor, target_tensor, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion,
          max_length=MAX_LENGTH):
    encoder_hidden = encoder.initHidden()
    encoder_optimizer.zero_grad()
    decoder_optimizer.zero_grad()
    input_length = input_tensor.size(0)
    target_length = target_tensor.size(0)
    encoder_outputs = torch.zeros(max_length, encoder.hidden_size)
    loss = 0
    for ei in range(input_length):
        encoder_output, encoder_hidden = encoder(input_tensor[ei], encoder_hidden)
        encoder_outputs[ei] = encoder_output[0, 0]
    decoder_input = torch.tensor([[SOS_token]])
    decoder_hidden = encoder_hidden
    use_teacher_forcing = True if random.random() < teacher_forcing_ratio else False
    if use_teacher_forcing:
        for di in range(target_length):
            decoder_output, decoder_hidden, decoder_attention = decoder(decoder_input, decoder_hidden, encoder_outputs)
            loss += criterion(decoder_output, target_tensor[di])
            decoder_input = target_tensor[di]
    else:
        for di in range(target_length):
            decoder_output, decoder_hidden, decoder_attention = decoder(decoder_input, decoder_hidden, encoder_outputs)
            topv, topi = decoder_output.topk(1)
            decoder_input = topi.squeeze().detach()
            loss += criterion(decoder_output, target_tensor[di])
            if decoder_input.item() == EOS_token:
                break
    loss.backward()
    encoder_optimizer.step()
    decoder_optimizer.step()
    return loss.item() / target_length, use_teacher_forcing


encoder_optimizer = optim.SGD(encoder.parameters(), lr=0.05)
decoder_optimizer = optim.SGD(decoder.parameters(), lr=0.05)
criterion = nn.NLLLoss()
losses, forced = [], []
for it in range(1):
    for inp, tgt in pairs:
        loss, tf = train(tensorFromIndexes(inp), tensorFromIndexes(tgt), encoder, decoder, encoder_optimizer,
                         decoder_optimizer, criterion)
        losses.append(loss)
        forced.append(tf)
    print(f"iter {it} loss {np.mean(losses[-len(pairs):]):.4f}")
record("losses", losses)
record("forced", forced)
record("encoder", encoder.state_dict())
record("decoder", decoder.state_dict())


def evaluate(encoder, decoder, input_tensor, max_length=MAX_LENGTH):
    with torch.no_grad():
        input_length = input_tensor.size()[0]
        encoder_hidden = encoder.initHidden()
        encoder_outputs = torch.zeros(max_length, encoder.hidden_size)
        for ei in range(input_length):
            encoder_output, encoder_hidden = encoder(input_tensor[ei], encoder_hidden)
            encoder_outputs[ei] += encoder_output[0, 0]
        decoder_input = torch.tensor([[SOS_token]])
        decoder_hidden = encoder_hidden
        decoded_words = []
        decoder_attentions = torch.zeros(max_length, max_length)
        for di in range(max_length):
            decoder_output, decoder_hidden, decoder_attention = decoder(decoder_input, decoder_hidden, encoder_outputs)
            decoder_attentions[di] = decoder_attention.data
            topv, topi = decoder_output.data.topk(1)
            if topi.item() == EOS_token:
                decoded_words.append("<EOS>")
                break
            decoded_words.append(topi.item())
            decoder_input = topi.squeeze().detach()
        return decoded_words, decoder_attentions[:di + 1]


words, attentions = evaluate(encoder, decoder, tensorFromIndexes(pairs[0][0]))
print("output:", words)
record("words", words)
record("attentions", attentions)

# --- batched encoder/decoder with batch_first GRUs and Bahdanau-style attention
class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class BatchedSeq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.src_emb = nn.Embedding(input_vocab, hidden_size)
        self.enc = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.tgt_emb = nn.Embedding(output_vocab, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.dec = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_vocab)

    def forward(self, src, tgt):
        keys, hidden = self.enc(self.src_emb(src))
        outputs, attns = [], []
        dec_in = torch.full((src.size(0), 1), SOS_token, dtype=torch.long)
        for i in range(tgt.size(1)):
            emb = self.tgt_emb(dec_in)
            query = hidden.permute(1, 0, 2)
            context, w = self.attention(query, keys)
            out, hidden = self.dec(torch.cat((emb, context), dim=2), hidden)
            outputs.append(self.out(out))
            attns.append(w)
            dec_in = tgt[:, i].unsqueeze(1)  # teacher forcing
        return F.log_softmax(torch.cat(outputs, dim=1), dim=-1), torch.cat(attns, dim=1)


src = torch.tensor(rng.randint(2, input_vocab, (4, 6)))
tgt = torch.tensor(rng.randint(2, output_vocab, (4, 5)))
model = np_params(BatchedSeq2Seq(), 52)
opt = optim.Adam(model.parameters(), lr=0.01)
batched_losses = []
for step in range(4):
    logp, attn = model(src, tgt)
    loss = F.nll_loss(logp.view(-1, logp.size(-1)), tgt.view(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    batched_losses.append(loss.item())
record("batched_losses", batched_losses)
record("batched_attn", attn)
# Va's bias shifts every score alike, and softmax ignores that: its true gradient is 0, and Adam
# normalises float rounding noise there into full steps of lr. Everything else must agree.
record("batched_state", {k: v for k, v in model.state_dict().items() if k != "attention.Va.bias"})
record("Va_bias_grad_is_tiny", model.attention.Va.bias.grad.abs().max().item() < 1e-5)

# dropout in train mode: statistics only (the mask comes from the framework's RNG)
torch.manual_seed(0)
drop = nn.Dropout(0.25)
z = drop(torch.ones(200, 200))
kept = (z != 0).float().mean().item()
record("dropout_kept_close", abs(kept - 0.75) < 0.01)
record("dropout_scale", z.max())
record("dropout_values", sorted(set(z.unique().tolist())))
finish()

"""A character-level LSTM language model trained on text that ships with jtorch.

    python -m jtorch run examples/char_lstm.py [--steps 300]
"""
import argparse
import os

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = os.path.join(HERE, "..", "jtorch", "data", "corpus.txt")


class CharLM(nn.Module):
    def __init__(self, vocab, emb=32, hidden=128):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=1, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        h, state = self.lstm(self.embed(x), state)
        return self.head(h), state


def sample(model, stoi, itos, prompt, n=120, temperature=0.8):
    model.eval()
    x = torch.tensor([[stoi[c] for c in prompt]])
    out, state = model(x)
    chars = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            probs = torch.softmax(out[0, -1] / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1)
            chars.append(itos[nxt.item()])
            out, state = model(nxt.view(1, 1), state)
    return "".join(chars)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seq", type=int, default=48)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args(argv)
    torch.manual_seed(0)
    text = open(TEXT).read()
    vocab = sorted(set(text))
    stoi = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([stoi[c] for c in text])
    model = CharLM(len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    crit = nn.CrossEntropyLoss()

    def train_step(x, y):
        opt.zero_grad()
        logits, _ = model(x)
        loss = crit(logits.reshape(-1, len(vocab)), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    train_step = torch.compile(train_step)
    first = None
    for step in range(args.steps):
        starts = torch.randint(0, len(data) - args.seq - 1, (args.batch,))
        idx = starts[:, None] + torch.arange(args.seq + 1)
        chunk = data[idx]
        loss = train_step(chunk[:, :-1], chunk[:, 1:])
        if first is None:
            first = loss.item()
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step:4d} loss {loss.item():.3f}")
    print(sample(model, stoi, vocab, "The "))
    return first, loss.item()


if __name__ == "__main__":
    main()

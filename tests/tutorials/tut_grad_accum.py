"""Everyday training-loop bits: gradient accumulation over micro-batches (equal to the full batch),
clip_grad_norm_ (its returned total norm, norm_type 2/inf/1, error_if_nonfinite) and clip_grad_value_,
zero_grad(set_to_none=True/False) and what `.grad` is afterwards, a custom Dataset with a custom
Sampler, BatchSampler and collate_fn; WeightedRandomSampler with a seeded Generator, Subset,
random_split with a seeded Generator and ConcatDataset (framework-drawn orders recorded only by
stream-independent facts)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, Sampler, Subset,
                              WeightedRandomSampler, random_split)

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)
X = rng.randn(48, 6).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)


class TableDataset(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"features": torch.from_numpy(self.x[i]), "label": int(self.y[i]), "index": i}


class EvenOddSampler(Sampler):
    """Even indices first, then odd ones (deterministic)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(list(range(0, self.n, 2)) + list(range(1, self.n, 2)))

    def __len__(self):
        return self.n


def collate(batch):
    feats = torch.stack([b["features"] for b in batch])
    labels = torch.tensor([b["label"] for b in batch])
    return feats, labels, [b["index"] for b in batch]


ds = TableDataset(X, Y)
loader = DataLoader(ds, batch_sampler=BatchSampler(EvenOddSampler(len(ds)), batch_size=16, drop_last=False),
                    collate_fn=collate)
record("batch_indices", [idx for _, _, idx in loader])

model = np_params(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)), 1)
ref = np_params(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)), 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
accum = 4
norms, losses = [], []
for epoch in range(2):
    for feats, labels, _ in loader:
        # accumulated over 4 micro-batches of 4...
        opt.zero_grad(set_to_none=True)
        for mb in range(accum):
            sl = slice(mb * 4, mb * 4 + 4)
            loss = F.cross_entropy(model(feats[sl]), labels[sl]) / accum
            loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5))
        opt.step()
        # ... equal to one batch of 16
        ref_opt.zero_grad(set_to_none=False)
        full = F.cross_entropy(ref(feats), labels)
        full.backward()
        torch.nn.utils.clip_grad_norm_(ref.parameters(), max_norm=0.5)
        ref_opt.step()
        losses.append(full.item())
record("clip_norms", norms)
record("losses", losses)
record("params", [p for p in model.parameters()])
record("ref_params", [p for p in ref.parameters()])

# zero_grad semantics
opt.zero_grad(set_to_none=True)
record("grads_none", [p.grad is None for p in model.parameters()])
F.cross_entropy(model(torch.from_numpy(X[:8])), torch.from_numpy(Y[:8])).backward()
opt.zero_grad(set_to_none=False)
record("grads_zero", [p.grad for p in model.parameters()])

# clip variants
F.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
grads = [p.grad.clone() for p in model.parameters()]
for nt in (2.0, float("inf"), 1.0):
    for p, g in zip(model.parameters(), grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1, norm_type=nt)
    record(f"clip_{nt}", (total, [p.grad for p in model.parameters()]))
for p, g in zip(model.parameters(), grads):
    p.grad = g.clone()
torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01)
record("clip_value", [p.grad for p in model.parameters()])
model[0].weight.grad[0, 0] = float("nan")
try:
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
    record("nonfinite", "no error")
except RuntimeError as e:
    record("nonfinite", type(e).__name__)
print("non-finite total norm raises a RuntimeError")

# samplers and dataset algebra (draws from the framework's RNG: stream-independent facts only)
g = torch.Generator().manual_seed(0)
weights = torch.tensor([0.0 if y == 0 else (1.0 if y == 1 else 3.0) for y in Y], dtype=torch.double)
ws = WeightedRandomSampler(weights, num_samples=200, replacement=True, generator=g)
drawn = list(ws)
record("weighted_len", len(drawn))
record("weighted_no_zero_class", all(Y[i] != 0 for i in drawn))
train, val, test = random_split(ds, [0.5, 0.25, 0.25], generator=torch.Generator().manual_seed(42))
record("split_sizes", (len(train), len(val), len(test)))
record("split_partition", sorted(list(train.indices) + list(val.indices) + list(test.indices)) == list(range(48)))
sub = Subset(ds, [5, 1, 7])
cat = ConcatDataset([sub, Subset(ds, range(40, 48))])
record("concat", (len(cat), cat[0]["index"], cat[3]["index"], cat.cumulative_sizes))
loader2 = DataLoader(cat, batch_size=4, shuffle=False, collate_fn=collate)
record("concat_batches", [idx for _, _, idx in loader2])
loader3 = DataLoader(ds, batch_size=10, sampler=WeightedRandomSampler(weights, 30, generator=g), collate_fn=collate,
                     drop_last=True)
record("weighted_loader", [(tuple(f.shape), all(Y[i] != 0 for i in idx)) for f, _, idx in loader3])
finish()

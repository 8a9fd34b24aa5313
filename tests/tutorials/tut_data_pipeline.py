"""Data pipelines as training scripts write them: a map-style Dataset returning dicts (tensors,
numpy arrays, ints, floats, strings, nested dicts and tuples) batched by default_collate, a
collate_fn that pads variable-length sequences with pad_sequence and returns lengths and a mask,
WeightedRandomSampler for class balance (with and without replacement), SubsetRandomSampler for a
train/valid split, RandomSampler(replacement, num_samples), SequentialSampler, BatchSampler with
drop_last, DistributedSampler over replicas with set_epoch, random_split with fractions and a
seeded generator, Subset/ConcatDataset/TensorDataset/StackDataset, an IterableDataset with
get_worker_info and a ChainDataset, DataLoader(batch_size=None), default_convert, and a small
classifier trained over the padded batches. Draws from the framework's RNG (samplers, shuffling)
are recorded through what does not depend on the stream: sizes, counts, set equalities, that
weights zero are never drawn, and the training run uses a deterministic sampler."""
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset,
                              RandomSampler, SequentialSampler, StackDataset, Subset, SubsetRandomSampler,
                              TensorDataset, WeightedRandomSampler, get_worker_info, random_split)
from torch.utils.data.dataloader import default_collate
from torch.utils.data.distributed import DistributedSampler
from torch.utils.data._utils.collate import default_convert

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)
N_CLASSES, VOCAB = 3, 20
lengths = rng.randint(2, 7, size=24)
labels = rng.choice(N_CLASSES, size=24, p=[0.6, 0.3, 0.1])
seqs = [rng.randint(1, VOCAB, size=n) for n in lengths]


class SequenceDataset(Dataset):
    def __init__(self, seqs, labels):
        self.seqs, self.labels = seqs, labels

    def __len__(self):
        return len(self.seqs)

    def __getitem__(self, idx):
        seq = self.seqs[idx]
        return {
            "tokens": torch.as_tensor(seq, dtype=torch.long),
            "label": int(self.labels[idx]),
            "weight": float(1.0 / (1 + idx % 3)),
            "stats": np.array([len(seq), seq.sum()], dtype=np.float32),
            "name": f"s{idx}",
            "meta": {"idx": idx, "pair": (idx, torch.tensor(idx * 0.5))},
        }


ds = SequenceDataset(seqs, labels)
# default_collate of dicts: fixed-size fields only
fixed = [{k: v for k, v in ds[i].items() if k != "tokens"} for i in range(4)]
batch = default_collate(fixed)
record("collate_keys", list(batch.keys()))
record("collate_label", batch["label"])
record("collate_weight", batch["weight"])
record("collate_stats", batch["stats"])
record("collate_name", batch["name"])
record("collate_meta_idx", batch["meta"]["idx"])
record("collate_meta_pair", batch["meta"]["pair"])
print({k: type(v).__name__ for k, v in batch.items()})
print(batch["label"].dtype, batch["weight"].dtype, batch["stats"].dtype, batch["meta"]["pair"][1].dtype)
record("default_convert", default_convert({"a": np.arange(3), "b": [np.float32(1.5), 2]}))
record("collate_tuples", default_collate([(1, 2.0, torch.ones(2)), (3, 4.0, torch.zeros(2))]))


def pad_collate(items):
    tokens = [it["tokens"] for it in items]
    lens = torch.tensor([len(t) for t in tokens])
    padded = pad_sequence(tokens, batch_first=True, padding_value=0)
    mask = torch.arange(padded.size(1))[None, :] < lens[:, None]
    return {"tokens": padded, "lengths": lens, "mask": mask,
            "label": torch.tensor([it["label"] for it in items]),
            "weight": torch.tensor([it["weight"] for it in items])}


loader = DataLoader(ds, batch_size=5, shuffle=False, collate_fn=pad_collate, drop_last=True)
record("n_batches", len(loader))
first = next(iter(loader))
record("padded_first", first["tokens"])
record("mask_first", first["mask"])

# class-balanced sampling
class_counts = np.bincount(labels, minlength=N_CLASSES)
sample_weights = torch.tensor([1.0 / class_counts[c] for c in labels], dtype=torch.double)
sample_weights[5] = 0.0  # an item never drawn
wrs = WeightedRandomSampler(sample_weights, num_samples=200, replacement=True)
drawn = torch.tensor(list(wrs))
record("wrs_len", len(wrs))
record("wrs_never_zero", bool((drawn != 5).all()))
record("wrs_in_range", bool(((drawn >= 0) & (drawn < 24)).all()))
wrs_norep = WeightedRandomSampler(sample_weights, num_samples=10, replacement=False,
                                  generator=torch.Generator().manual_seed(0))
drawn_norep = list(wrs_norep)
record("wrs_norep_unique", len(set(drawn_norep)) == 10 and 5 not in drawn_norep)
balanced = DataLoader(ds, batch_size=8, sampler=wrs, collate_fn=pad_collate)
record("balanced_batches", len(balanced))
n_seen = sum(b["label"].numel() for b in balanced)
record("balanced_seen", n_seen)

# train/valid split by index subsets
idx = np.arange(24)
split = 18
train_sampler = SubsetRandomSampler(idx[:split].tolist(), generator=torch.Generator().manual_seed(1))
valid_sampler = SubsetRandomSampler(idx[split:].tolist())
record("subset_train_set", sorted(train_sampler))
record("subset_valid_set", sorted(valid_sampler))
record("subset_lens", (len(train_sampler), len(valid_sampler)))

rs = RandomSampler(ds, replacement=True, num_samples=30)
record("random_rep_len", (len(rs), len(list(rs))))
rs2 = RandomSampler(ds, generator=torch.Generator().manual_seed(3))
record("random_perm", sorted(rs2) == list(range(24)))
record("sequential", list(SequentialSampler(range(5))))
record("batch_sampler", list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)))
record("batch_sampler_drop", list(BatchSampler(range(10), batch_size=3, drop_last=True)))

# DistributedSampler: each replica's shard, padded to equal size
shards = [list(DistributedSampler(ds, num_replicas=4, rank=r, shuffle=False)) for r in range(4)]
record("dist_shards", shards)
shuffled = []
for r in range(3):
    s = DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=True, seed=7, drop_last=False)
    s.set_epoch(2)
    shuffled.append(list(s))
record("dist_sizes", [len(s) for s in shuffled])
record("dist_cover", sorted(set(sum(shuffled, []))) == list(range(10)))
ds_drop = [len(DistributedSampler(range(10), num_replicas=3, rank=r, drop_last=True)) for r in range(3)]
record("dist_drop_sizes", ds_drop)

# random_split by fractions, Subset, ConcatDataset, TensorDataset, StackDataset
tr, va, te = random_split(ds, [0.5, 0.25, 0.25], generator=torch.Generator().manual_seed(42))
record("split_lens", [len(tr), len(va), len(te)])
record("split_disjoint", sorted(tr.indices + va.indices + te.indices) == list(range(24)))
sub = Subset(ds, [3, 1, 4])
record("subset_labels", [sub[i]["label"] for i in range(len(sub))])
X = torch.from_numpy(rng.randn(6, 2).astype(np.float32))
Y = torch.arange(6)
tds = TensorDataset(X, Y)
cat = ConcatDataset([tds, TensorDataset(X[:2] * 2, Y[:2] + 10)])
record("concat_len", len(cat))
record("concat_item", cat[7])
record("concat_cumsizes", cat.cumulative_sizes)
stack = StackDataset(x=tds, label=range(6))
record("stack_item", stack[2])
record("tensor_loader", [b for b in DataLoader(tds, batch_size=4)])
record("batch_none", [b for b in DataLoader(tds, batch_size=None)][:2])


class RangeStream(IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = get_worker_info()
        assert info is None  # num_workers=0: the main process
        for i in range(self.start, self.end):
            yield torch.tensor([i, i * i], dtype=torch.float32)


stream = DataLoader(RangeStream(0, 7), batch_size=3)
record("stream", list(stream))
record("chain", [t[0].item() for t in ChainDataset([RangeStream(0, 2), RangeStream(5, 7)])])


# a small classifier trained over the padded batches (deterministic order)
class BagClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 8, padding_idx=0)
        self.fc = nn.Linear(8, N_CLASSES)

    def forward(self, tokens, mask):
        e = self.emb(tokens) * mask.unsqueeze(-1)
        return self.fc(e.sum(1) / mask.sum(1, keepdim=True))


model = np_params(BagClassifier(), 5)
with torch.no_grad():
    model.emb.weight[0].zero_()
opt = torch.optim.Adam(model.parameters(), lr=0.05)
crit = nn.CrossEntropyLoss(reduction="none")
train_loader = DataLoader(Subset(ds, list(range(18))), batch_size=6, shuffle=False, collate_fn=pad_collate)
valid_loader = DataLoader(Subset(ds, list(range(18, 24))), batch_size=6, collate_fn=pad_collate)
hist = []
for epoch in range(3):
    model.train()
    for b in train_loader:
        opt.zero_grad()
        loss = (crit(model(b["tokens"], b["mask"]), b["label"]) * b["weight"]).sum() / b["weight"].sum()
        loss.backward()
        opt.step()
        hist.append(loss.item())
    model.eval()
    correct = 0
    with torch.no_grad():
        for b in valid_loader:
            correct += (model(b["tokens"], b["mask"]).argmax(1) == b["label"]).sum().item()
    print(f"epoch {epoch}: loss {hist[-1]:.4f} valid acc {correct}/6")
record("train_losses", hist)
record("emb", model.emb.weight)
finish()

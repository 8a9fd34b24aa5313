"""Bits of real training scripts: random_split with a seeded generator, Subset, ConcatDataset,
collate_fn, a dict checkpoint with optimizer state loaded with map_location, device selection,
autocast to bfloat16 on the CPU, GradScaler(enabled=False), cudnn.benchmark, printing with
f-strings of tensors and set_printoptions."""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, random_split

from tut_common import OUT, finish, np_params, record

torch.backends.cudnn.benchmark = True
torch.backends.cudnn.deterministic = False
device = "cuda" if torch.cuda.is_available() else "cpu"
device = "cpu"
record("cuda_available_type", type(torch.cuda.is_available()))
rng = np.random.RandomState(100)
X = torch.tensor(rng.randn(50, 6).astype(np.float32))
Y = torch.tensor(rng.randint(0, 3, 50))
full = TensorDataset(X, Y)

# random_split draws its permutation from the framework's RNG: check sizes, disjointness and
# repeatability with the same seed; the exact comparison uses Subset with numpy-chosen indices
train_set, val_set = random_split(full, [40, 10], generator=torch.Generator().manual_seed(42))
again, _ = random_split(full, [40, 10], generator=torch.Generator().manual_seed(42))
record("split_sizes", (len(train_set), len(val_set)))
record("split_disjoint_cover", sorted(train_set.indices + val_set.indices) == list(range(50)))
record("split_repeatable", list(train_set.indices) == list(again.indices))
record("split_types", (type(train_set).__name__, type(train_set.indices).__name__))
a, b, c = random_split(full, [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(0))
record("fraction_split", (len(a), len(b), len(c)))
perm = rng.permutation(50)
train_set, val_set = Subset(full, perm[:40].tolist()), Subset(full, perm[40:].tolist())


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": torch.full((6,), float(i) / 10), "y": i % 3, "name": f"sq{i}"}


def collate_dicts(batch):
    return (torch.stack([b["x"] for b in batch]), torch.tensor([b["y"] for b in batch]), [b["name"] for b in batch])


concat = ConcatDataset([Squares(5), Squares(3)])
record("concat_len", len(concat))
record("concat_item", concat[6]["x"])
record("cumulative_sizes", concat.cumulative_sizes)
loader = DataLoader(concat, batch_size=3, collate_fn=collate_dicts)
record("collated", [b for b in loader])
default = DataLoader(concat, batch_size=4)
batch = next(iter(default))
record("default_collate", (batch["x"], batch["y"], batch["name"]))
record("default_collate_float", next(iter(DataLoader([(1.5, 2), (2.5, 3)], batch_size=2))))
record("drop_last_len", (len(DataLoader(full, batch_size=16, drop_last=True)), len(DataLoader(full, batch_size=16))))
record("sampler_batches", [b[1] for b in DataLoader(full, batch_sampler=[[0, 1], [5, 7, 9]])])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


model = np_params(Net(), 101).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
scaler = torch.cuda.amp.GradScaler(enabled=False)
train_loader = DataLoader(train_set, batch_size=10)
losses = []
for epoch in range(2):
    model.train()
    for step, (xb, yb) in enumerate(train_loader):
        xb, yb = xb.to(device, non_blocking=True), yb.to(device)
        optimizer.zero_grad(set_to_none=True)
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
        if step % 2 == 0:
            print(f"epoch {epoch} step {step} loss {loss:.4f} grad_norm {gn:.3f} lr {scheduler.get_last_lr()[0]:.5f}")
    scheduler.step()
record("losses", losses)
record("scaler_scale", scaler.get_scale())
record("scaler_enabled", scaler.is_enabled())

ckpt = os.path.join(OUT, "checkpoint.pt")
torch.save({"epoch": 2, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "loss": loss, "note": "best"}, ckpt)
checkpoint = torch.load(ckpt, map_location=torch.device("cpu"), weights_only=False)
model2 = Net()
model2.load_state_dict(checkpoint["model_state_dict"])
optimizer2 = torch.optim.Adam(model2.parameters(), lr=1e-2, weight_decay=1e-4)
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
scheduler2 = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer2, T_max=4)
scheduler2.load_state_dict(checkpoint["scheduler"])
record("ckpt_meta", (checkpoint["epoch"], checkpoint["note"], checkpoint["loss"]))
record("ckpt_opt_state", checkpoint["optimizer_state_dict"]["state"][0])
record("ckpt_param_groups", checkpoint["optimizer_state_dict"]["param_groups"])
record("sched_state", {k: v for k, v in scheduler2.state_dict().items() if k != "_get_lr_called_within_step"})
for m in (model, model2):
    m.train()
    o = torch.optim.Adam(m.parameters()) if False else None
xb, yb = next(iter(train_loader))
for m, opt in ((model, optimizer), (model2, optimizer2)):
    opt.zero_grad()
    F.cross_entropy(m(xb), yb).backward()
    opt.step()
record("resumed_equal", all(torch.equal(p, q) for p, q in zip(model.parameters(), model2.parameters())))
ckpt2 = os.path.join(OUT, "map_loc.pt")
torch.save(model.state_dict(), ckpt2)
record("map_location_str", torch.load(ckpt2, map_location="cpu")["fc1.weight"])
record("map_location_fn", torch.load(ckpt2, map_location=lambda storage, loc: storage)["bn.running_mean"])

# autocast to bfloat16 on the CPU: matmuls run in bf16, reductions stay float32
model.eval()
with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
    out = model.fc1(xb)
    sm = F.softmax(out, dim=-1)
    loss_bf = F.cross_entropy(model(xb), yb)
    mm = xb @ xb.t()
record("autocast_dtypes", (out.dtype, sm.dtype, loss_bf.dtype, mm.dtype, torch.is_autocast_enabled("cpu")))
record("lowp_autocast_out", out.float())
record("lowp_autocast_loss", loss_bf)
with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=False):
    record("autocast_disabled", model.fc1(xb).dtype)
with torch.no_grad():
    mp = model.fc1(xb.to(torch.bfloat16).float())
record("bf16_roundtrip", mp)

# printing: f-strings of tensors and print options
t = torch.tensor(rng.randn(3, 4).astype(np.float32)) * 1000
print(f"{t}")
print(f"loss={loss.item():.3f} t0={t[0, 0]:.2f} mean={t.mean():.1f}")
torch.set_printoptions(precision=2, sci_mode=False)
print(t)
print(torch.tensor([1e-8, 1.0, 12345.678]))
torch.set_printoptions(profile="default")
torch.set_printoptions(threshold=5, edgeitems=2, linewidth=60)
print(torch.arange(20).view(4, 5).float())
torch.set_printoptions(profile="default")
print(torch.tensor([1.0, float("nan"), float("inf")]), torch.tensor([True, False]), torch.tensor([1, 2], dtype=torch.int32))
print(torch.zeros(2, 0), torch.tensor(3.5, dtype=torch.float64), torch.tensor([1.5, 2.5], dtype=torch.bfloat16))
print(torch.tensor([0.1, 0.25], requires_grad=True) * 2)
print(model.fc1.weight.shape, model.fc1.weight.dtype, model.fc1.weight.device, X.size(0), X.dim())
print(repr(model.bn))
print(torch.tensor([[1e10, 1.0], [2.0, 3.0]]))
print(torch.tensor([123456789.0, 0.5]))
finish()

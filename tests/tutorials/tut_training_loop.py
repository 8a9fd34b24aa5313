"""A full fine-tuning script's pieces: torchvision resnet18 (every layer trained) on small fake
images through transforms (RandomHorizontalFlip(p=0) / ToTensor / Normalize), a custom Dataset, a
custom Sampler and BatchSampler, DataLoader(num_workers=0), gradient accumulation over two batches,
autocast('cpu', dtype=torch.bfloat16) with the GradScaler(enabled=False) pattern, an enabled
GradScaler (unscale_, clipping, a skipped inf step, scale growth), SGD with
momentum + weight decay, StepLR and a checkpoint (model, optimizer, scheduler, epoch) saved with
torch.save and resumed with torch.load into fresh objects, training continuing identically."""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler

from tut_common import OUT, finish, np_params, record  # noqa: I001  (before torchvision: see tut_common)
from PIL import Image
from torchvision import models, transforms

rng = np.random.RandomState(101)
N = 8
images = [Image.fromarray(rng.randint(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in range(N)]
labels = [int(v) for v in rng.randint(0, 3, N)]


class ImageList(Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


class EveryOtherSampler(Sampler):
    """Even indices, then odd ones (a deterministic custom order)."""

    def __init__(self, data_source):
        self.n = len(data_source)

    def __iter__(self):
        return iter(list(range(0, self.n, 2)) + list(range(1, self.n, 2)))

    def __len__(self):
        return self.n


tf = transforms.Compose([transforms.RandomHorizontalFlip(p=0.0), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
ds = ImageList(images, labels, tf)
sampler = EveryOtherSampler(ds)
record("sampler_order", list(sampler))
batch_sampler = BatchSampler(sampler, batch_size=4, drop_last=False)
record("batches", list(batch_sampler))
loader = DataLoader(ds, batch_sampler=batch_sampler, num_workers=0)
x0, y0 = next(iter(loader))
record("first_batch", (x0, y0))
record("loader_len", len(loader))


def make_model():
    model = models.resnet18(weights=None)
    model.fc = nn.Linear(model.fc.in_features, 3)
    return np_params(model, 102, scale=0.05)


model = make_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
scaler = torch.amp.GradScaler("cpu", enabled=False)
accum = 2
losses, lrs = [], []


def run_epoch(model, optimizer, scheduler):
    model.train()
    optimizer.zero_grad()
    for i, (x, y) in enumerate(loader):
        out = model(x)
        loss = F.cross_entropy(out, y) / accum
        scaler.scale(loss).backward()
        losses.append(loss.item())
        if (i + 1) % accum == 0:  # one optimizer step per two batches
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
    scheduler.step()
    lrs.append(scheduler.get_last_lr()[0])


for epoch in range(2):
    run_epoch(model, optimizer, scheduler)
    print(f"epoch {epoch} loss {np.mean(losses[-2:]):.4f} lr {lrs[-1]:.4f}")
ckpt = os.path.join(OUT, "checkpoint.pt")
torch.save({"epoch": 2, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
            "scheduler_state_dict": scheduler.state_dict(), "losses": losses}, ckpt)

# the uninterrupted run goes on for one more epoch...
run_epoch(model, optimizer, scheduler)
straight = {k: v.clone() for k, v in model.state_dict().items()}
straight_losses = losses[4:]

# ...and a resumed run starts from the checkpoint in fresh objects
checkpoint = torch.load(ckpt, weights_only=True)
model2 = models.resnet18(weights=None)
model2.fc = nn.Linear(model2.fc.in_features, 3)
print(model2.load_state_dict(checkpoint["model_state_dict"]))
optimizer2 = torch.optim.SGD(model2.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
scheduler2 = torch.optim.lr_scheduler.StepLR(optimizer2, step_size=2, gamma=0.5)
scheduler2.load_state_dict(checkpoint["scheduler_state_dict"])
record("resumed_epoch", checkpoint["epoch"])
record("resumed_lr", (optimizer2.param_groups[0]["lr"], scheduler2.last_epoch))
record("momentum_keys", sorted(optimizer2.state_dict()["state"][0].keys()))
losses = []
run_epoch(model2, optimizer2, scheduler2)
record("first_losses", checkpoint["losses"])
record("straight_losses", straight_losses)
record("resumed_losses", losses)
resumed = model2.state_dict()
record("resume_matches", all(torch.allclose(resumed[k].float(), straight[k].float(), atol=1e-6) for k in straight))
record("final_state", {k: v for k, v in straight.items() if k.startswith(("fc", "layer4.1", "bn1"))})
record("num_batches_tracked", straight["bn1.num_batches_tracked"])

# autocast: bfloat16 matmuls/convs inside, float32 outside
model2.eval()
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
    out = model2(x0)
    lin = F.linear(x0.flatten(1)[:, :8], torch.ones(2, 8))
    summed = out.float().sum(1)
record("autocast_dtypes", (out.dtype, lin.dtype, summed.dtype, torch.is_autocast_enabled("cpu")))
record("lowp_autocast_out", out.float())
record("autocast_off", torch.is_autocast_enabled("cpu"))
record("eval_out", model2(x0))

# GradScaler enabled: scaled loss, unscale_ before clipping, inf/nan steps skipped, scale growth
mlp = np_params(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2)), 103)
opt = torch.optim.Adam(mlp.parameters(), lr=1e-2)
gs = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=2)
xs = torch.tensor(rng.randn(10, 6).astype(np.float32))
ys = torch.tensor(rng.randn(10, 2).astype(np.float32))
scaler_log = []
for step in range(5):
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=False):
        loss = F.mse_loss(mlp(xs), ys)
    if step == 2:
        loss = loss * float("inf")  # an overflowing step: skipped, the scale backs off
    scaled = gs.scale(loss)
    scaled.backward()
    gs.unscale_(opt)
    norm = torch.nn.utils.clip_grad_norm_(mlp.parameters(), 1.0)
    gs.step(opt)
    gs.update()
    scaler_log.append((scaled.item(), norm.item(), gs.get_scale()))
record("scaler_log", scaler_log)
record("scaler_state", gs.state_dict())
record("scaler_params", dict(mlp.named_parameters()))
finish()

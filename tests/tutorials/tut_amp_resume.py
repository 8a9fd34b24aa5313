"""Mixed precision and resumable training as scripts write it: torch.autocast('cpu', dtype=float16)
around the forward and loss, torch.amp.GradScaler('cpu') with scale / unscale_ before
clip_grad_norm_ / step / update (a forced overflow skips the step and halves the scale, growth
after growth_interval good steps), activation checkpointing (torch.utils.checkpoint with
use_reentrant=False) inside the model, AdamW with a warmup LambdaLR chained into a CosineAnnealing
via SequentialLR, and a checkpoint dict (epoch, step, model, optimizer, scheduler, scaler, the
best metric) written with torch.save to a temporary directory every epoch; training stops after
two epochs, fresh objects are built, torch.load(weights_only=True) restores them and training
resumes: the resumed run's losses, parameters, optimizer state, learning rates and scale equal
an uninterrupted run's. Also the dtypes autocast gives (matmul in float16, softmax and losses in
float32, a nested autocast(enabled=False) region) and bfloat16 autocast of the same model."""
import copy
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)
X = torch.from_numpy(rng.randn(48, 10).astype(np.float32))
Y = torch.from_numpy(rng.randint(0, 4, size=48).astype(np.int64))


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1, self.fc2, self.norm = nn.Linear(d, 2 * d), nn.Linear(2 * d, d), nn.LayerNorm(d)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class Net(nn.Module):
    def __init__(self, use_ckpt):
        super().__init__()
        self.inp = nn.Linear(10, 16)
        self.blocks = nn.ModuleList([Block(16) for _ in range(2)])
        self.out = nn.Linear(16, 4)
        self.use_ckpt = use_ckpt

    def forward(self, x):
        x = self.inp(x)
        for b in self.blocks:
            x = checkpoint(b, x, use_reentrant=False) if self.use_ckpt and self.training else b(x)
        return self.out(x)


def build(use_ckpt=True):
    model = np_params(Net(use_ckpt), 1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    warm = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / 3)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[3])
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=3)
    return model, opt, sched, scaler


def train_epoch(model, opt, sched, scaler, epoch, log):
    model.train()
    for i in range(3):
        xb, yb = X[i * 16:(i + 1) * 16], Y[i * 16:(i + 1) * 16]
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.float16):
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
        scaler.scale(loss).backward()
        if epoch == 1 and i == 1:  # an overflow: the step is skipped and the scale halves
            model.out.weight.grad[0, 0] = float("inf")
        scaler.unscale_(opt)
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        sched.step()
        log.append((loss.item(), scaler.get_scale(), sched.get_last_lr()[0], bool(torch.isfinite(gnorm))))


@torch.no_grad()
def evaluate(model):
    model.eval()
    with torch.autocast("cpu", dtype=torch.float16):
        logits = model(X)
    return F.cross_entropy(logits.float(), Y).item()


# uninterrupted reference run
model, opt, sched, scaler = build()
ref_log = []
for epoch in range(4):
    train_epoch(model, opt, sched, scaler, epoch, ref_log)
ref_params = copy.deepcopy(model.state_dict())
ref_opt = copy.deepcopy(opt.state_dict())

# interrupted run: checkpoint every epoch, stop after two
model, opt, sched, scaler = build()
log = []
best = float("inf")
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "checkpoint.pt")
    for epoch in range(2):
        train_epoch(model, opt, sched, scaler, epoch, log)
        val = evaluate(model)
        best = min(best, val)
        torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "scaler": scaler.state_dict(), "best": best}, path)
        print(f"epoch {epoch}: val {val:.3f} scale {scaler.get_scale():.0f}")
    del model, opt, sched, scaler
    model, opt, sched, scaler = build()
    ckpt = torch.load(path, weights_only=True)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    scaler.load_state_dict(ckpt["scaler"])
    start = ckpt["epoch"] + 1
    record("ckpt_keys", sorted(ckpt))
    record("scaler_state", ckpt["scaler"])
    record("ckpt_best", ckpt["best"])
for epoch in range(start, 4):
    train_epoch(model, opt, sched, scaler, epoch, log)
record("lowp_ref_log", ref_log)
record("lowp_resumed_log", log)
record("resumed_equal_log", [a[1:] for a in log] == [a[1:] for a in ref_log])
record("lowp_params", model.state_dict())
record("resumed_equal_params", all(torch.equal(model.state_dict()[k], v) for k, v in ref_params.items()))
record("resumed_equal_opt", all(torch.equal(opt.state_dict()["state"][i]["exp_avg"], s["exp_avg"])
                                 for i, s in ref_opt["state"].items()))
record("skipped", [not a[3] for a in log])
print("scales", [a[1] for a in log])

# dtypes under autocast
a = torch.from_numpy(rng.randn(4, 4).astype(np.float32))
with torch.autocast("cpu", dtype=torch.float16):
    mm = a @ a
    lin = F.linear(a, a)
    sm = torch.softmax(mm, -1)
    ls = F.log_softmax(mm, -1)
    ce = F.cross_entropy(mm, torch.tensor([0, 1, 2, 3]))
    add = a + 1
    with torch.autocast("cpu", enabled=False):
        inner = a @ a
    record("autocast_dtypes", [t.dtype for t in (mm, lin, sm, ls, ce, add, inner)])
    record("autocast_enabled", (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
record("lowp_mm", mm)
record("autocast_after", torch.is_autocast_enabled("cpu"))
with torch.autocast("cpu", dtype=torch.bfloat16):
    bf = Net(False)
    np_params(bf, 1)
    out = bf(X[:8])
    record("bf16_dtype", out.dtype)
    record("lowp_bf16_out", out)
finish()

"""Hooks for saved tensors (the autograd saved-tensors tutorial): `torch.autograd.graph.save_on_cpu`
around the forward of a training step, `saved_tensors_hooks` that offload saved activations to disk
(`torch.save` to a temporary directory on pack, `torch.load(weights_only=True)` on unpack) with a size
threshold below which tensors stay in memory, nested hooks (the innermost pair handles the saves), a
custom `autograd.Function` whose `ctx.saved_tensors` go through the hooks, and
`disable_saved_tensors_hooks`. Each variant trains like the plain loop. What is compared: losses,
parameters, gradients and which hooks ran; how many tensors are packed depends on which tensors each
library's backward formulas read, so counts are checked only for being positive."""
import os
import tempfile
import uuid

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.graph import disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks

from tut_common import finish, np_params, record

rng = np.random.RandomState(561)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.fc1 = nn.Linear(4 * 6 * 6, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        h = F.relu(self.conv(x))
        return self.fc2(torch.tanh(self.fc1(h.flatten(1))))


xs = torch.tensor(rng.randn(5, 8, 2, 6, 6).astype(np.float32))
ys = torch.tensor(rng.randint(0, 3, (5, 8)).astype(np.int64))
tmp_dir = tempfile.mkdtemp()
stats = {"disk": 0, "memory": 0, "loaded": 0}


class SaveToDisk(saved_tensors_hooks):
    """Saved tensors with at least `threshold` elements go to files; small ones stay in memory."""

    def __init__(self, threshold):
        def pack(t):
            if t.numel() < threshold:
                stats["memory"] += 1
                return t
            path = os.path.join(tmp_dir, uuid.uuid4().hex + ".pt")
            torch.save(t.detach(), path)
            stats["disk"] += 1
            return path

        def unpack(packed):
            if isinstance(packed, str):
                stats["loaded"] += 1
                t = torch.load(packed, weights_only=True)
                os.remove(packed)
                return t
            return packed

        super().__init__(pack, unpack)


def train(context):
    net = np_params(Net(), 562)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(5):
        opt.zero_grad()
        with context():
            loss = F.cross_entropy(net(xs[step]), ys[step])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, net


plain_losses, plain = train(lambda: torch.enable_grad())
cpu_losses, on_cpu = train(lambda: save_on_cpu(pin_memory=False))
disk_losses, on_disk = train(lambda: SaveToDisk(threshold=64))
record("plain_losses", plain_losses)
record("cpu_losses", cpu_losses)
record("disk_losses", disk_losses)
print("losses", " ".join(f"{v:.4f}" for v in disk_losses))
record("same_params", [all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain.parameters(), m.parameters()))
                       for m in (on_cpu, on_disk)])
record("params", dict(on_disk.named_parameters()))
record("disk_used", (stats["disk"] > 0, stats["memory"] > 0, stats["loaded"] == stats["disk"],
                     len(os.listdir(tmp_dir))))

# nested hooks: the innermost pair is the one that runs
used = set()


def tagged(tag):
    return saved_tensors_hooks(lambda t: (used.add("pack " + tag), t)[1], lambda t: (used.add("unpack " + tag), t)[1])


a = torch.tensor(rng.randn(4, 5).astype(np.float32), requires_grad=True)
b = torch.tensor(rng.randn(5, 3).astype(np.float32), requires_grad=True)
with tagged("outer"):
    with tagged("inner"):
        y = torch.sigmoid(a @ b).pow(2).sum()
y.backward()
record("nested", sorted(used))
record("nested_grads", (a.grad, b.grad))
used.clear()
with tagged("outer"):
    with tagged("inner"):
        pass
    y = (a * b.sum(1)).exp().sum()
torch.autograd.grad(y, a)
record("after_inner_exit", sorted(used))


class ScaledSquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return w * x * x

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return 2 * w * x * g, (x * x * g).sum(0)


events = []
x = torch.tensor(rng.randn(6, 3).astype(np.float32), requires_grad=True)
w = torch.tensor(rng.randn(3).astype(np.float32), requires_grad=True)
with saved_tensors_hooks(lambda t: (events.append(("pack", tuple(t.shape))), t.clone())[1],
                         lambda t: (events.append(("unpack", tuple(t.shape))), t)[1]):
    out = ScaledSquare.apply(x, w)
out.sum().backward()
record("function_events", events)
record("function_grads", (x.grad, w.grad))

with disable_saved_tensors_hooks("saved tensors hooks are disabled in this block"):
    z = (x * w).sum()  # ordinary ops still work
    try:
        with saved_tensors_hooks(lambda t: t, lambda t: t):
            pass
        record("disabled", None)
    except RuntimeError as e:
        record("disabled", str(e))
z.backward()
record("disabled_grad", w.grad)
finish()

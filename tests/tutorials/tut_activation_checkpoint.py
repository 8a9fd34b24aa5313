"""Activation checkpointing in training: a residual MLP-mixer-ish stack whose blocks run through
`torch.utils.checkpoint.checkpoint(use_reentrant=False)` trained beside the plain stack (same losses,
gradients, parameters), `checkpoint_sequential` over an `nn.Sequential` in segments (also with
`use_reentrant=True` and an input that requires grad), dropout inside a checkpoint (the recomputation
redraws the forward's mask: gradients equal the uncheckpointed run from the same seed), keyword and
non-tensor arguments/outputs, `autograd.grad` and double backward through a checkpoint, recomputation
counts, no recomputation under `no_grad`, the reentrant variant with no input requiring grad, and the
`CheckpointError` for a segment that recomputes differently."""
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

from tut_common import finish, np_params, record

warnings.simplefilter("ignore")  # the reentrant variant's "None of the inputs have requires_grad" warning
rng = np.random.RandomState(531)


class Block(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x, scale=1.0):
        return x + scale * self.fc2(F.gelu(self.fc1(self.norm(x))))


class Net(nn.Module):
    def __init__(self, use_checkpoint):
        super().__init__()
        self.use_checkpoint = use_checkpoint
        self.inp = nn.Linear(5, 12)
        self.blocks = nn.ModuleList(Block(12, 24) for _ in range(4))
        self.out = nn.Linear(12, 3)

    def forward(self, x):
        h = self.inp(x)
        for i, blk in enumerate(self.blocks):
            if self.use_checkpoint:
                h = checkpoint(blk, h, scale=0.5 + 0.1 * i, use_reentrant=False)
            else:
                h = blk(h, scale=0.5 + 0.1 * i)
        return self.out(h)


xs = torch.tensor(rng.randn(6, 10, 5).astype(np.float32))
ys = torch.tensor(rng.randint(0, 3, (6, 10)).astype(np.int64))
runs = {}
for use in (False, True):
    net = np_params(Net(use), 532)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    losses = []
    for step in range(6):
        opt.zero_grad()
        loss = F.cross_entropy(net(xs[step]), ys[step])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    runs[use] = (losses, {n: p.detach().clone() for n, p in net.named_parameters()})
    print(f"checkpoint={use}: " + " ".join(f"{v:.4f}" for v in losses))
record("losses_plain", runs[False][0])
record("losses_checkpointed", runs[True][0])
record("same_params", all(torch.allclose(runs[False][1][n], runs[True][1][n], atol=1e-6) for n in runs[False][1]))
record("params", runs[True][1])

# checkpoint_sequential over segments
seq = np_params(nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16),
                              nn.Tanh(), nn.Linear(16, 2)), 533)
x = torch.tensor(rng.randn(7, 5).astype(np.float32))
plain = seq(x)
plain.pow(2).sum().backward()
ref_grads = [p.grad.clone() for p in seq.parameters()]
results = {}
for segments in (1, 2, 3, 7):
    for reentrant in (False, True):
        seq.zero_grad()
        xi = x.clone().requires_grad_(reentrant)  # the reentrant variant needs an input that requires grad
        out = checkpoint_sequential(seq, segments, xi, use_reentrant=reentrant)
        out.pow(2).sum().backward()
        results[f"{segments}_{reentrant}"] = (torch.allclose(out, plain, atol=1e-6),
                                              all(torch.allclose(a.grad, b, atol=1e-6)
                                                  for a, b in zip(seq.parameters(), ref_grads)))
record("sequential", results)
record("sequential_grads", ref_grads)

# dropout inside a checkpoint: the recomputation restores the RNG state, so the mask is the same
drop_block = np_params(nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 6)), 534)
xd = torch.tensor(rng.randn(8, 6).astype(np.float32), requires_grad=True)
torch.manual_seed(0)
ref_out = drop_block(xd)
ref_out.sum().backward()
ref = (xd.grad.clone(), [p.grad.clone() for p in drop_block.parameters()])
xd.grad = None
drop_block.zero_grad()
torch.manual_seed(0)
ck_out = checkpoint(drop_block, xd, use_reentrant=False, preserve_rng_state=True)
ck_out.sum().backward()
record("dropout_same_forward", torch.equal(ck_out, ref_out))
record("dropout_same_grads", (torch.allclose(xd.grad, ref[0], atol=1e-6),
                              all(torch.allclose(p.grad, g, atol=1e-6) for p, g in zip(drop_block.parameters(), ref[1]))))

# recomputation count, no_grad, several outputs with non-tensors
calls = [0]


def segment(a, b, power=2):
    calls[0] += 1
    return (a * b).sin() ** power, "label", b.exp().sum()


a = torch.tensor(rng.randn(4, 3).astype(np.float32), requires_grad=True)
b = torch.tensor(rng.randn(4, 3).astype(np.float32), requires_grad=True)
y, label, s = checkpoint(segment, a, b, power=3, use_reentrant=False)
after_forward = calls[0]
(y.sum() + s).backward()
record("recompute_calls", (after_forward, calls[0], label))
record("multi_output_grads", (a.grad, b.grad))
calls[0] = 0
with torch.no_grad():
    y, _, _ = checkpoint(segment, a, b, use_reentrant=False)
record("no_grad_calls", (calls[0], y.requires_grad))

# autograd.grad and a second derivative through the checkpoint
w = torch.tensor(rng.randn(3).astype(np.float32), requires_grad=True)


def energy(w):
    return (w.sin() * w).sum() ** 2


e = checkpoint(energy, w, use_reentrant=False)
(g,) = torch.autograd.grad(e, w, create_graph=True)
(h,) = torch.autograd.grad(g.sum(), w)
e_ref = energy(w)
(g_ref,) = torch.autograd.grad(e_ref, w, create_graph=True)
(h_ref,) = torch.autograd.grad(g_ref.sum(), w)
record("grad_and_double", (g, h, torch.allclose(g, g_ref), torch.allclose(h, h_ref, atol=1e-5)))

# the reentrant variant with no input requiring grad: the output is cut from the parameters
lin = np_params(nn.Linear(3, 2), 535)
out = checkpoint(lin, torch.ones(2, 3), use_reentrant=True)
record("reentrant_no_grad_input", (out.requires_grad, out.grad_fn is None))
out = checkpoint(lin, torch.ones(2, 3), use_reentrant=False)
out.sum().backward()
record("non_reentrant_param_grads", (lin.weight.grad, lin.bias.grad))
try:
    checkpoint(lin, torch.ones(2, 3), use_reentrant=True, extra=1)
except ValueError as err:
    record("reentrant_kwargs", str(err))

# a segment that recomputes differently is caught
state = {"n": 0}


def unstable(t):
    state["n"] += 1
    return t[: 3 if state["n"] == 1 else 2].exp()


try:
    checkpoint(unstable, torch.ones(4, 2, requires_grad=True), use_reentrant=False).sum().backward()
    record("unstable", None)
except CheckpointError as err:
    record("unstable", ("Recomputed values" in str(err), type(err).__mro__[1].__name__))
finish()

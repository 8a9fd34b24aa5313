"""Optimizer step in backward: one optimizer per parameter stepped from
`Tensor.register_post_accumulate_grad_hook` (so each gradient is used and freed as soon as it is
accumulated) trained beside the usual `zero_grad`/`backward`/`step` loop (the two must agree step for
step), per-parameter LR schedulers, a hook that clips each gradient in place, hooks seeing gradient
accumulation over micro-batches, a hook removed by its handle, `Optimizer.register_step_pre_hook` /
`register_step_post_hook` counters, and `grad_fn.register_hook` / `register_prehook` on a node."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, np_params, record

rng = np.random.RandomState(501)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Linear(6, 16)
        self.norm = nn.LayerNorm(16)
        self.hidden = nn.Linear(16, 16)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        h = F.gelu(self.norm(self.emb(x)))
        return self.head(h + torch.tanh(self.hidden(h)))


xs = torch.tensor(rng.randn(8, 12, 6).astype(np.float32))
ys = torch.tensor(rng.randint(0, 3, (8, 12)).astype(np.int64))


def make():
    return np_params(Net(), 502)


# the usual loop
ref = make()
opt = torch.optim.AdamW(ref.parameters(), lr=3e-2, weight_decay=0.05)
ref_losses = []
for step in range(8):
    opt.zero_grad()
    loss = F.cross_entropy(ref(xs[step]), ys[step])
    loss.backward()
    opt.step()
    ref_losses.append(loss.item())
record("ref_losses", ref_losses)

# the same training with the optimizer inside backward
model = make()
optimizer_dict = {p: torch.optim.AdamW([p], lr=3e-2, weight_decay=0.05) for p in model.parameters()}
seen = []


def optimizer_hook(parameter):
    seen.append(tuple(parameter.shape))
    optimizer_dict[parameter].step()
    optimizer_dict[parameter].zero_grad()


handles = [p.register_post_accumulate_grad_hook(optimizer_hook) for p in model.parameters()]
losses = []
for step in range(8):
    loss = F.cross_entropy(model(xs[step]), ys[step])
    loss.backward()  # no optimizer.step(): the hooks did it
    losses.append(loss.item())
    print(f"step {step} loss {loss.item():.4f}")
record("in_backward_losses", losses)
record("same_as_loop", all(torch.allclose(a, b, atol=1e-5) for a, b in zip(model.parameters(), ref.parameters())))
record("params", dict(model.named_parameters()))
record("grads_freed", [p.grad is None for p in model.parameters()])
record("hook_calls", (len(seen), sorted(set(seen))))
record("opt_state_steps", [float(o.state[p]["step"]) for p, o in optimizer_dict.items()])
for h in handles:
    h.remove()
loss = F.cross_entropy(model(xs[0]), ys[0])
loss.backward()
record("after_remove_grads_kept", [p.grad is not None for p in model.parameters()])
model.zero_grad()

# per-parameter schedulers: one StepLR per optimizer, stepped after each iteration
model = make()
optimizer_dict = {p: torch.optim.SGD([p], lr=0.2, momentum=0.9) for p in model.parameters()}
scheduler_dict = {p: torch.optim.lr_scheduler.StepLR(optimizer_dict[p], step_size=2, gamma=0.5)
                  for p in model.parameters()}


def sgd_hook(p):
    p.grad.clamp_(-0.05, 0.05)  # per-parameter gradient clipping, in place, before the step
    optimizer_dict[p].step()
    optimizer_dict[p].zero_grad(set_to_none=True)


for p in model.parameters():
    p.register_post_accumulate_grad_hook(sgd_hook)
sched_losses, lrs = [], []
for step in range(6):
    loss = F.cross_entropy(model(xs[step]), ys[step])
    loss.backward()
    for s in scheduler_dict.values():
        s.step()
    sched_losses.append(loss.item())
    lrs.append(scheduler_dict[model.head.weight].get_last_lr()[0])
record("sched_losses", sched_losses)
record("sched_lrs", lrs)
record("sched_params", dict(model.named_parameters()))

# the same with the ordinary loop: clamp_ on every grad then one SGD
ref = make()
opt = torch.optim.SGD(ref.parameters(), lr=0.2, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
for step in range(6):
    opt.zero_grad()
    F.cross_entropy(ref(xs[step]), ys[step]).backward()
    for p in ref.parameters():
        p.grad.clamp_(-0.05, 0.05)
    opt.step()
    sched.step()
record("sched_same_as_loop", all(torch.allclose(a, b, atol=1e-5) for a, b in zip(model.parameters(), ref.parameters())))

# the hook fires once per accumulation: with micro-batches it sees the running sum
model = make()
running = {}


def watch(p):
    running.setdefault(id(p), []).append(p.grad.norm().item())


for p in model.parameters():
    p.register_post_accumulate_grad_hook(watch)
for micro in range(3):
    (F.cross_entropy(model(xs[micro]), ys[micro]) / 3).backward()
names = {id(p): n for n, p in model.named_parameters()}
# (sorted by name: the order in which one node's leaves fire is the engine's scheduling)
record("accumulated_norms", dict(sorted((names[k], v) for k, v in running.items())))
record("accumulated_grad", model.head.weight.grad)

# a hook on a non-leaf refuses
try:
    model(xs[0]).register_post_accumulate_grad_hook(watch)
except RuntimeError as e:
    record("non_leaf", "leaf" in str(e))

# optimizer step hooks
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
calls = []
pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
post = opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))
for step in range(2):
    opt.zero_grad()
    F.cross_entropy(model(xs[step]), ys[step]).backward()
    opt.step()
pre.remove()
opt.step()
post.remove()
opt.step()
record("step_hook_calls", calls)

# hooks on a graph node: the prehook sees grad_outputs, the hook also grad_inputs
x = torch.tensor(rng.randn(4, 6).astype(np.float32), requires_grad=True)
h = model.emb(x)
y = h.exp()
node_seen = []
y.grad_fn.register_prehook(lambda grad_outputs: node_seen.append(("pre", grad_outputs[0].clone())))
y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: node_seen.append(("post", grad_inputs[0].clone())))
y.sum().backward()
record("node_hooks", node_seen)
record("x_grad", x.grad)
finish()

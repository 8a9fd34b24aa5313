"""Writing optimizers: a `torch.optim.Optimizer` subclass (Lion: defaults, param_groups, per-parameter
`self.state`, `@torch.no_grad()` step with an optional closure), its `state_dict` saved mid-training
and loaded into a fresh instance (the resumed run equals the uninterrupted one), per-group options and
`add_param_group`, a SAM (sharpness-aware minimisation) wrapper that perturbs the weights, re-evaluates
through a closure and steps a base optimizer, a Lookahead wrapper with slow weights, the optimizer
state-dict hooks (`register_state_dict_post_hook`, `register_load_state_dict_pre_hook` /
`post_hook`), and torch's errors for bad arguments."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import Optimizer

from tut_common import finish, np_params, record

rng = np.random.RandomState(571)


class Lion(Optimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        if lr <= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid betas: {betas}")
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["exp_avg"] = torch.zeros_like(p)
                    state["step"] = 0
                exp_avg = state["exp_avg"]
                state["step"] += 1
                p.mul_(1 - group["lr"] * group["weight_decay"])
                update = exp_avg * beta1 + p.grad * (1 - beta1)
                p.add_(torch.sign(update), alpha=-group["lr"])
                exp_avg.mul_(beta2).add_(p.grad, alpha=1 - beta2)
        return loss


def make():
    return np_params(nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)), 572)


xs = torch.tensor(rng.randn(10, 12, 4).astype(np.float32))
ys = torch.tensor(rng.randint(0, 3, (10, 12)).astype(np.int64))


def loss_of(model, step):
    return F.cross_entropy(model(xs[step]), ys[step])


def run(model, opt, steps):
    losses = []
    for s in steps:
        opt.zero_grad()
        loss = loss_of(model, s)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


model = make()
opt = Lion([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 3e-3}], lr=1e-2,
           weight_decay=0.1)
full = run(model, opt, range(10))
record("lion_losses", full)
record("lion_params", dict(model.named_parameters()))
record("lion_groups", [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups])

# resume from a mid-training state_dict into fresh objects
model = make()
opt = Lion(model.parameters(), lr=1e-2, weight_decay=0.1)
first = run(model, opt, range(4))
saved_model, saved_opt = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
record("opt_state_keys", (list(saved_opt), sorted(saved_opt["state"]), sorted(saved_opt["state"][0]),
                          saved_opt["param_groups"][0]["params"]))
model2 = make()
model2.load_state_dict(saved_model)
opt2 = Lion(model2.parameters(), lr=1e-2, weight_decay=0.1)
opt2.load_state_dict(saved_opt)
rest = run(model2, opt2, range(4, 10))
straight = run(model, opt, range(4, 10))
record("resumed", (first + rest, torch.allclose(model2[0].weight, model[0].weight)))
record("uninterrupted", first + straight)

# add_param_group: a new head joins the optimizer
head = np_params(nn.Linear(3, 3), 573)
opt2.add_param_group({"params": head.parameters(), "lr": 1e-3, "weight_decay": 0.0})
record("added_group", (len(opt2.param_groups), opt2.param_groups[-1]["betas"], opt2.param_groups[-1]["lr"]))
opt2.zero_grad()
F.cross_entropy(head(model2(xs[0])), ys[0]).backward()
opt2.step()
record("added_group_step", (head.weight, opt2.state[head.weight]["step"]))


class SAM(Optimizer):
    """Sharpness-aware minimisation around a base optimizer class."""

    def __init__(self, params, base_optimizer, rho=0.05, **kwargs):
        super().__init__(params, dict(rho=rho, **kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups

    @torch.no_grad()
    def first_step(self):
        grad_norm = torch.norm(torch.stack([p.grad.norm(2) for g in self.param_groups for p in g["params"]
                                            if p.grad is not None]), 2)
        for group in self.param_groups:
            scale = group["rho"] / (grad_norm + 1e-12)
            for p in group["params"]:
                if p.grad is None:
                    continue
                e_w = p.grad * scale
                p.add_(e_w)
                self.state[p]["e_w"] = e_w
        self.zero_grad()

    @torch.no_grad()
    def second_step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.sub_(self.state[p]["e_w"])
        self.base_optimizer.step()
        self.zero_grad()

    @torch.no_grad()
    def step(self, closure):
        with torch.enable_grad():
            closure()
        self.first_step()
        with torch.enable_grad():
            loss = closure()
        self.second_step()
        return loss


model = make()
sam = SAM(model.parameters(), torch.optim.SGD, rho=0.1, lr=0.1, momentum=0.9)
sam_losses = []
for s in range(6):
    def closure():
        loss = loss_of(model, s)
        loss.backward()
        return loss
    sam_losses.append(sam.step(closure).item())
record("sam_losses", sam_losses)
record("sam_params", dict(model.named_parameters()))


class Lookahead:
    def __init__(self, optimizer, k=3, alpha=0.5):
        self.optimizer, self.k, self.alpha, self.counter = optimizer, k, alpha, 0
        self.slow = [[p.detach().clone() for p in g["params"]] for g in optimizer.param_groups]

    def zero_grad(self):
        self.optimizer.zero_grad()

    @torch.no_grad()
    def step(self):
        self.optimizer.step()
        self.counter += 1
        if self.counter % self.k == 0:
            for group, slow in zip(self.optimizer.param_groups, self.slow):
                for p, q in zip(group["params"], slow):
                    q.add_(p - q, alpha=self.alpha)
                    p.copy_(q)


model = make()
look = Lookahead(torch.optim.Adam(model.parameters(), lr=2e-2), k=3, alpha=0.5)
record("lookahead_losses", run(model, look, range(9)))
record("lookahead_params", dict(model.named_parameters()))

# optimizer state-dict hooks
opt = torch.optim.Adam(make().parameters(), lr=1e-3)
log = []


def add_note(optimizer, state_dict):
    state_dict["note"] = "saved by the tutorial"
    return state_dict


def drop_note(optimizer, state_dict):
    log.append(state_dict.pop("note", None))
    return state_dict


opt.register_state_dict_post_hook(add_note)
opt.register_load_state_dict_pre_hook(drop_note)
opt.register_load_state_dict_post_hook(lambda optimizer: log.append(optimizer.param_groups[0]["lr"]))
sd = opt.state_dict()
sd["param_groups"][0]["lr"] = 5e-4
opt.load_state_dict(sd)
record("opt_hooks", (sd.get("note"), log, opt.param_groups[0]["lr"]))

shared = list(make().parameters())[:1]
errors = {}
for name, call in (("lion_lr", lambda: Lion(make().parameters(), lr=-1.0)),
                   ("sgd_lr", lambda: torch.optim.SGD(make().parameters(), lr=-0.1)),
                   ("adam_betas", lambda: torch.optim.Adam(make().parameters(), betas=(1.0, 0.9))),
                   ("empty", lambda: torch.optim.SGD([], lr=0.1)),
                   ("tensor_params", lambda: torch.optim.SGD(torch.zeros(3, requires_grad=True), lr=0.1)),
                   ("duplicate_group", lambda: torch.optim.SGD([{"params": shared}, {"params": shared}], lr=0.1))):
    try:
        call()
        errors[name] = None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        errors[name] = type(e).__name__
record("errors", errors)
finish()

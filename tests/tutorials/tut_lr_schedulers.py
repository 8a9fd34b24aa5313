"""Learning-rate schedules and optimizers as training scripts combine them: linear warmup with
LambdaLR, SequentialLR(warmup -> CosineAnnealingLR) with milestones, ChainedScheduler, OneCycleLR
(cos and linear annealing, three_phase), CyclicLR (triangular2, exp_range), CosineAnnealingWarmRestarts
stepped with fractional epochs, PolynomialLR, MultiplicativeLR, MultiStepLR, ConstantLR/LinearLR,
ReduceLROnPlateau (min/max modes, threshold_mode, cooldown, min_lr) on a validation metric, per-group
learning rates, get_last_lr, scheduler state_dict save/load into a fresh scheduler mid-schedule; then
the optimizers a model zoo uses (SGD nesterov, AdamW amsgrad, NAdam with decoupled weight decay,
RAdam, Adagrad, Adadelta, Adamax, RMSprop centered, Rprop, ASGD) training the same small regression
model, add_param_group, and optimizer.state_dict() round trips."""
import copy

import numpy as np
import torch
import torch.nn as nn
from torch.optim import lr_scheduler as S

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)


def make_model():
    return np_params(nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 1)), 3)


X = torch.from_numpy(rng.randn(32, 6).astype(np.float32))
y = torch.from_numpy((rng.randn(32, 1) * 0.1).astype(np.float32)) + X[:, :1] * 0.5 - X[:, 1:2]


def lrs_of(make_sched, steps, base_lr=0.1, groups=1, metric=None):
    model = make_model()
    params = list(model.parameters())
    if groups == 2:
        opt = torch.optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": base_lr * 10}],
                              lr=base_lr, momentum=0.9)
    else:
        opt = torch.optim.SGD(params, lr=base_lr, momentum=0.9)
    sched = make_sched(opt)
    out = []
    for i in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        opt.step()
        if metric is not None:
            sched.step(metric[i])
        else:
            sched.step()
        out.append([g["lr"] for g in opt.param_groups])
    return out, model


warm = 3
schedules = {
    "warmup_lambda": lambda o: S.LambdaLR(o, lambda e: min(1.0, (e + 1) / warm)),
    "two_lambdas": lambda o: S.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1.0 / (1 + e)]),
    "sequential": lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=warm),
                                                S.CosineAnnealingLR(o, T_max=7, eta_min=1e-4)],
                                           milestones=[warm]),
    "sequential3": lambda o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=2),
                                                 S.ExponentialLR(o, gamma=0.8),
                                                 S.StepLR(o, step_size=2, gamma=0.5)], milestones=[2, 5]),
    "chained": lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.1, total_iters=2),
                                             S.ExponentialLR(o, gamma=0.9)]),
    "onecycle_cos": lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=10),
    "onecycle_lin3": lambda o: S.OneCycleLR(o, max_lr=[0.3, 1.0], epochs=2, steps_per_epoch=5,
                                            anneal_strategy="linear", three_phase=True, pct_start=0.25),
    "cyclic_tri2": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2, mode="triangular2"),
    "cyclic_exp": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=2,
                                       mode="exp_range", gamma=0.9),
    "poly": lambda o: S.PolynomialLR(o, total_iters=6, power=2.0),
    "multiplicative": lambda o: S.MultiplicativeLR(o, lambda e: 0.95),
    "multistep": lambda o: S.MultiStepLR(o, milestones=[2, 5, 7], gamma=0.3),
    "linear": lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=5),
    "cosine_restarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
}
for name, make in schedules.items():
    groups = 2 if name in ("two_lambdas", "onecycle_lin3") else 1
    lrs, model = lrs_of(make, 10, groups=groups)
    record(f"lr_{name}", lrs)
    record(f"w_{name}", model[2].weight)
    print(f"{name:16s} " + " ".join(f"{g[0]:.5f}" for g in lrs))

# ReduceLROnPlateau on a validation metric
val = [1.0, 0.9, 0.91, 0.92, 0.93, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86]
record("plateau_min", lrs_of(lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1), 12, metric=val)[0])
record("plateau_max_abs", lrs_of(lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.2, patience=0,
                                                               threshold=0.05, threshold_mode="abs",
                                                               cooldown=1, min_lr=0.005), 12, metric=val)[0])

# CosineAnnealingWarmRestarts stepped with fractional epochs inside the batch loop
model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
sched = S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1, eta_min=0.0)
iters = 4
frac = []
for epoch in range(3):
    for i in range(iters):
        opt.step()
        sched.step(epoch + i / iters)
        frac.append(sched.get_last_lr()[0])
record("restarts_fractional", frac)

# scheduler state saved mid-schedule and loaded into fresh objects continues the same way
model = make_model()
opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
mk = lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.2, total_iters=2), S.CosineAnnealingLR(o, T_max=6)],
                              milestones=[2])
sched = mk(opt)
trail = []
for i in range(8):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    opt.step()
    sched.step()
    trail.append(sched.get_last_lr()[0])
    if i == 3:
        saved = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()), sched.state_dict())
model2 = make_model()
model2.load_state_dict(saved[0])
opt2 = torch.optim.AdamW(model2.parameters(), lr=1e-2)
opt2.load_state_dict(saved[1])
sched2 = mk(opt2)
sched2.load_state_dict(saved[2])
resumed = []
for i in range(4, 8):
    opt2.zero_grad()
    nn.functional.mse_loss(model2(X), y).backward()
    opt2.step()
    sched2.step()
    resumed.append(sched2.get_last_lr()[0])
record("trail", trail)
record("resumed_lrs", resumed)
record("resumed_params_equal", all(torch.allclose(a, b, atol=1e-6) for a, b in zip(model.parameters(), model2.parameters())))
record("sched_state_keys", sorted(k for k in saved[2] if k != "_schedulers"))

# optimizers a model zoo uses, on the same model
optims = {
    "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "sgd_dampening": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, maximize=False),
    "adamw_amsgrad": lambda p: torch.optim.AdamW(p, lr=0.01, amsgrad=True, weight_decay=0.05),
    "adam_l2": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01, betas=(0.8, 0.99)),
    "nadam_decoupled": lambda p: torch.optim.NAdam(p, lr=0.01, weight_decay=0.01, decoupled_weight_decay=True),
    "nadam": lambda p: torch.optim.NAdam(p, lr=0.01, momentum_decay=0.004),
    "radam": lambda p: torch.optim.RAdam(p, lr=0.01, weight_decay=0.01),
    "radam_decoupled": lambda p: torch.optim.RAdam(p, lr=0.01, weight_decay=0.01, decoupled_weight_decay=True),
    "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    "adadelta": lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.8, weight_decay=0.01),
    "adamax": lambda p: torch.optim.Adamax(p, lr=0.02, weight_decay=0.01),
    "rmsprop_centered": lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    "rprop": lambda p: torch.optim.Rprop(p, lr=0.01, etas=(0.4, 1.3), step_sizes=(1e-5, 1.0)),
    "asgd": lambda p: torch.optim.ASGD(p, lr=0.05, t0=2, lambd=1e-3),
}
for name, make in optims.items():
    model = make_model()
    opt = make(model.parameters())
    losses = []
    for i in range(6):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    record(f"opt_{name}_losses", losses)
    record(f"opt_{name}_w", model[0].weight)
    sd = opt.state_dict()
    record(f"opt_{name}_state_keys", sorted(sd["state"][0].keys()))
    record(f"opt_{name}_group_keys", sorted(k for k in sd["param_groups"][0] if k != "params"))
    print(f"{name:18s} {losses[0]:.5f} -> {losses[-1]:.5f}")

# add_param_group: a new head joins the optimizer part-way, with its own lr
model = make_model()
head = np_params(nn.Linear(1, 1), 9)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
sched = S.StepLR(opt, step_size=2, gamma=0.5)
hist = []
for i in range(6):
    if i == 2:
        opt.add_param_group({"params": head.parameters(), "lr": 0.05})
    opt.zero_grad()
    nn.functional.mse_loss(head(model(X)), y).backward()
    opt.step()
    sched.step()
    hist.append([g["lr"] for g in opt.param_groups])
record("add_group_lrs", hist)
record("add_group_head", head.weight)
record("initial_lrs", [g.get("initial_lr") for g in opt.param_groups])
finish()

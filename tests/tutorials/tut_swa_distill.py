"""Training-recipe pieces from recent papers' reference code: stochastic weight averaging
(torch.optim.swa_utils.AveragedModel, SWALR with cos/linear annealing, update_bn over a loader for
a BatchNorm model), an exponential moving average of the weights (AveragedModel with
get_ema_multi_avg_fn and use_buffers=True), knowledge distillation (KL divergence between
temperature-softened teacher and student: nn.KLDivLoss(reduction='batchmean') with log_softmax
inputs and log_target=True against F.kl_div, the T**2 factor, blended with the hard-label loss),
a SimCLR NT-Xent contrastive loss (F.normalize, a similarity matrix with the diagonal masked by
fill_diagonal_, cross_entropy over positives), mixup with a numpy-drawn lambda, label smoothing
in CrossEntropyLoss, and the same distillation step under torch.compile (numbers equal eager)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)
X = torch.from_numpy(rng.randn(40, 6).astype(np.float32))
Y = torch.from_numpy((X[:, 0] + X[:, 1] > 0).numpy().astype(np.int64) + (X[:, 2] > 1).numpy().astype(np.int64))


def make_net(hidden=16, seed=0):
    # no bias before BatchNorm: its gradient is zero in exact arithmetic, and Adam would turn the
    # two frameworks' different rounding noise in it into full-size steps
    return np_params(nn.Sequential(nn.Linear(6, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, 3)), seed)


loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=10, shuffle=False)

# SWA
model = make_net()
swa_model = AveragedModel(model)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
swa_start = 2
swa_sched = SWALR(opt, swa_lr=0.05, anneal_epochs=2, anneal_strategy="cos")
lrs, losses = [], []
for epoch in range(5):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    if epoch >= swa_start:
        swa_model.update_parameters(model)
        swa_sched.step()
    lrs.append(opt.param_groups[0]["lr"])
record("swa_lrs", lrs)
record("swa_losses", losses)
record("swa_n_averaged", swa_model.n_averaged)
record("swa_params", {k: v for k, v in swa_model.module.state_dict().items()})
update_bn(loader, swa_model)
record("swa_bn_after_update", (swa_model.module[1].running_mean, swa_model.module[1].running_var,
                               swa_model.module[1].num_batches_tracked))
swa_model.eval()
with torch.no_grad():
    record("swa_logits", swa_model(X[:5]))
record("swa_keys", list(swa_model.state_dict().keys()))
lin_sched = SWALR(torch.optim.SGD(make_net().parameters(), lr=0.2), swa_lr=0.01, anneal_epochs=3,
                  anneal_strategy="linear")
lin = []
for _ in range(5):
    lin_sched.optimizer.step()
    lin_sched.step()
    lin.append(lin_sched.get_last_lr()[0])
record("swalr_linear", lin)

# EMA of weights and buffers
model = make_net(seed=1)
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(2):
    for xb, yb in loader:
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
        ema.update_parameters(model)
record("ema_state", {k: v for k, v in ema.module.state_dict().items()})
ema.eval()
with torch.no_grad():
    record("ema_logits", ema(X[:5]))

# knowledge distillation
teacher = make_net(hidden=32, seed=2).eval()
student = make_net(hidden=8, seed=3)
T, alpha = 3.0, 0.7
kl_batchmean = nn.KLDivLoss(reduction="batchmean", log_target=True)
ce_smooth = nn.CrossEntropyLoss(label_smoothing=0.1)


def distill_step(xb, yb, s_model, s_opt):
    with torch.no_grad():
        t_logits = teacher(xb)
    s_logits = s_model(xb)
    soft = kl_batchmean(F.log_softmax(s_logits / T, -1), F.log_softmax(t_logits / T, -1)) * T * T
    hard = ce_smooth(s_logits, yb)
    loss = alpha * soft + (1 - alpha) * hard
    s_opt.zero_grad()
    loss.backward()
    s_opt.step()
    return loss.detach(), soft.detach()


s_opt = torch.optim.AdamW(student.parameters(), lr=1e-2)
kd = []
for xb, yb in loader:
    loss, soft = distill_step(xb, yb, student, s_opt)
    kd.append((loss.item(), soft.item()))
record("kd", kd)
record("kd_student", dict(student.named_parameters()))
sl, tl = student(X[:6]), teacher(X[:6])
record("kl_forms", (F.kl_div(F.log_softmax(sl, -1), F.softmax(tl, -1), reduction="batchmean"),
                    F.kl_div(F.log_softmax(sl, -1), F.log_softmax(tl, -1), reduction="sum", log_target=True),
                    F.kl_div(F.log_softmax(sl, -1), F.softmax(tl, -1), reduction="none")))

# the same distillation step compiled: numbers equal eager
s_eager, s_comp = make_net(hidden=8, seed=4), make_net(hidden=8, seed=4)
o_eager = torch.optim.AdamW(s_eager.parameters(), lr=1e-2)
o_comp = torch.optim.AdamW(s_comp.parameters(), lr=1e-2)
comp_step = torch.compile(distill_step)
pairs = []
for xb, yb in loader:
    pairs.append((distill_step(xb, yb, s_eager, o_eager)[0].item(), comp_step(xb, yb, s_comp, o_comp)[0].item()))
record("compiled_vs_eager", pairs)
record("compiled_params_equal", all(torch.allclose(a, b, atol=1e-5) for a, b in
                                    zip(s_eager.parameters(), s_comp.parameters())))


# SimCLR NT-Xent
def nt_xent(z1, z2, tau=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / tau
    sim.fill_diagonal_(float("-inf"))
    n = z1.size(0)
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


enc = np_params(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4)), 5)
eopt = torch.optim.SGD(enc.parameters(), lr=0.1)
clr = []
for step in range(4):
    noise1 = torch.from_numpy(rng.randn(16, 6).astype(np.float32)) * 0.1
    noise2 = torch.from_numpy(rng.randn(16, 6).astype(np.float32)) * 0.1
    loss = nt_xent(enc(X[:16] + noise1), enc(X[:16] * 0.9 + noise2))
    eopt.zero_grad()
    loss.backward()
    eopt.step()
    clr.append(loss.item())
record("ntxent", clr)
print("nt-xent", " ".join(f"{v:.4f}" for v in clr))

# mixup
model = make_net(seed=6)
mopt = torch.optim.SGD(model.parameters(), lr=0.05)
mix = []
for xb, yb in loader:
    lam = float(rng.beta(0.4, 0.4))
    perm = torch.from_numpy(rng.permutation(xb.size(0)))
    xm = lam * xb + (1 - lam) * xb[perm]
    out = model(xm)
    loss = lam * F.cross_entropy(out, yb) + (1 - lam) * F.cross_entropy(out, yb[perm])
    mopt.zero_grad()
    loss.backward()
    mopt.step()
    mix.append(loss.item())
record("mixup", mix)
record("mixup_w", model[3].weight)
finish()

"""torch.compile and torch.func in training code: a CNN compiled with torch.compile (default and
fullgraph=True, dynamic=False) whose outputs, losses and parameters over a few Adam steps equal the
eager model's, a whole train step (forward, backward, clip_grad_norm_, optimizer.step, zero_grad)
compiled, an ensemble of small MLPs trained together through torch.func.stack_module_state +
functional_call + vmap (and its equality with a loop over the members), a compiled vmapped
ensemble forward, feature capture with register_forward_hook on a compiled module's submodules,
register_full_backward_hook gradient capture, the legacy nn.utils.weight_norm / spectral_norm
hooks (weight_g / weight_v / weight_orig, removed again) in a training loop, and
nn.utils.parametrize.register_parametrization with a cached() forward."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap
from torch.nn.utils import parametrize

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)
imgs = torch.from_numpy(rng.rand(6, 1, 12, 12).astype(np.float32))
labels = torch.from_numpy(rng.randint(0, 3, size=6).astype(np.int64))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2)
        x = F.silu(self.conv2(x))
        return self.fc(torch.flatten(self.pool(x), 1))


eager = np_params(SmallCNN(), 0)
comp_model = copy.deepcopy(eager)
compiled = torch.compile(comp_model, fullgraph=True, dynamic=False)
record("compiled_forward_eq", torch.allclose(compiled(imgs), eager(imgs), atol=1e-6))
opt_e = torch.optim.Adam(eager.parameters(), lr=1e-2)
opt_c = torch.optim.Adam(comp_model.parameters(), lr=1e-2)
le, lc = [], []
for step in range(3):
    for model, opt, log in ((eager, opt_e, le), (compiled, opt_c, lc)):
        opt.zero_grad()
        loss = F.cross_entropy(model(imgs), labels)
        loss.backward()
        opt.step()
        log.append(loss.item())
record("eager_losses", le)
record("compiled_losses", lc)
record("compiled_params", dict(comp_model.named_parameters()))
record("compiled_state_keys", list(compiled.state_dict().keys()))
print(type(compiled).__name__, hasattr(compiled, "_orig_mod"))

# a whole train step compiled
step_model = np_params(SmallCNN(), 1)
step_opt = torch.optim.SGD(step_model.parameters(), lr=0.05, momentum=0.9)
ref_model = copy.deepcopy(step_model)
ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.05, momentum=0.9)


def train_step(model, opt, x, y):
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.detach(), norm


compiled_step = torch.compile(train_step)
steps = []
for i in range(3):
    a = train_step(ref_model, ref_opt, imgs, labels)
    b = compiled_step(step_model, step_opt, imgs, labels)
    steps.append((a[0].item(), b[0].item(), a[1].item(), b[1].item()))
record("compiled_step", steps)
record("compiled_step_params", dict(step_model.named_parameters()))
record("compiled_step_grads_none", all(p.grad is None for p in step_model.parameters()))

# hooks on a compiled module's submodules
features = {}


def save(name):
    def hook(module, inp, out):
        features[name] = out.detach()
    return hook


handles = [eager.conv1.register_forward_hook(save("conv1")), eager.fc.register_forward_hook(save("fc"))]
grads = {}
handles.append(eager.conv2.register_full_backward_hook(
    lambda m, gin, gout: grads.update(gin=gin[0], gout=gout[0])))
out = eager(imgs)
F.cross_entropy(out, labels).backward()
record("hook_conv1", features["conv1"])
record("hook_fc_eq_out", torch.equal(features["fc"], out.detach()))
record("hook_grad_in", grads["gin"])
record("hook_grad_out", grads["gout"])
for h in handles:
    h.remove()
features.clear()
eager(imgs)
record("hooks_removed", len(features))


# an ensemble trained together through vmap over stacked parameters
def make_member(seed):
    return np_params(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)), seed)


members = [make_member(10 + i) for i in range(4)]
params, buffers = stack_module_state(members)
base = copy.deepcopy(members[0])
X = torch.from_numpy(rng.randn(16, 4).astype(np.float32))
Yr = torch.from_numpy(rng.randn(16, 1).astype(np.float32))


def fmodel(p, b, x):
    return functional_call(base, (p, b), (x,))


ens_out = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, X)
record("ensemble_out", ens_out)
record("ensemble_eq_loop", torch.allclose(ens_out, torch.stack([m(X) for m in members]), atol=1e-6))
ens_opt = torch.optim.Adam(params.values(), lr=1e-2)
ens_losses = []
for step in range(4):
    preds = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, X)
    per_member = ((preds - Yr) ** 2).mean(dim=(1, 2))
    ens_opt.zero_grad()
    per_member.sum().backward()
    ens_opt.step()
    ens_losses.append(per_member.detach())
record("ensemble_losses", ens_losses)
record("ensemble_params", params)
cvm = torch.compile(vmap(fmodel, in_dims=(0, 0, None)))
record("compiled_vmap_eq", torch.allclose(cvm(params, buffers, X), vmap(fmodel, in_dims=(0, 0, None))(params, buffers, X),
                                          atol=1e-6))

# legacy weight_norm / spectral_norm hooks in training
wn = nn.utils.weight_norm(np_params(nn.Linear(4, 3), 20), name="weight", dim=0)
record("wn_params", sorted(n for n, _ in wn.named_parameters()))
sn = nn.utils.spectral_norm(np_params(nn.Linear(3, 1), 21), n_power_iterations=3)
record("sn_params", sorted(n for n, _ in sn.named_parameters()))
record("sn_buffers", sorted(n for n, _ in sn.named_buffers()))
# the power iteration starts from random u: set it from numpy in both
with torch.no_grad():
    sn.weight_u.copy_(F.normalize(torch.from_numpy(rng.randn(1).astype(np.float32)), dim=0))
    sn.weight_v.copy_(F.normalize(torch.from_numpy(rng.randn(3).astype(np.float32)), dim=0))
lopt = torch.optim.SGD(list(wn.parameters()) + list(sn.parameters()), lr=0.1)
legacy = []
for step in range(3):
    lopt.zero_grad()
    loss = ((sn(torch.tanh(wn(X))) - Yr) ** 2).mean()
    loss.backward()
    lopt.step()
    legacy.append(loss.item())
record("legacy_losses", legacy)
record("wn_g", wn.weight_g)
record("wn_v", wn.weight_v)
nn.utils.remove_weight_norm(wn)
nn.utils.remove_spectral_norm(sn)
record("legacy_removed", (sorted(n for n, _ in wn.named_parameters()), sorted(n for n, _ in sn.named_parameters())))
record("wn_weight_after", wn.weight)


# a parametrization with a cached forward
class Skew(nn.Module):
    def forward(self, X):
        A = X.triu(1)
        return A - A.T


lin = np_params(nn.Linear(4, 4), 22)
parametrize.register_parametrization(lin, "weight", Skew())
with parametrize.cached():
    y1 = lin(X)
    y2 = lin(X)
record("skew_weight", lin.weight)
record("cached_eq", torch.equal(y1, y2))
popt = torch.optim.SGD(lin.parameters(), lr=0.1)
for step in range(2):
    popt.zero_grad()
    lin(X).pow(2).mean().backward()
    popt.step()
record("skew_original", lin.parametrizations.weight.original)
record("skew_is_skew", torch.allclose(lin.weight, -lin.weight.T))
finish()

"""Hooks and parametrizations: feature extraction with register_forward_hook on named submodules,
forward pre-hooks that change the input, hooks with kwargs, full backward hooks (grad_input /
grad_output) and backward pre-hooks, tensor hooks that scale gradients, handle.remove(); the
parametrizations tutorial (a Symmetric and a MatrixExponential parametrization with right_inverse,
parametrize.cached(), original access, remove_parametrizations with leave_parametrized) and
torch.nn.utils.parametrizations weight_norm / orthogonal / spectral_norm in a small training loop."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as P
from torch.nn.utils import parametrizations

from tut_common import finish, np_params, record

rng = np.random.RandomState(61)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(6, 3)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


model = np_params(CNN(), 62)
x = torch.tensor(rng.randn(2, 3, 8, 8).astype(np.float32))

# feature extraction
activation = {}


def get_activation(name):
    def hook(model, input, output):
        activation[name] = output.detach()
    return hook


handles = [model.features[2].register_forward_hook(get_activation("relu1")),
           model.pool.register_forward_hook(get_activation("pool"))]
model.eval()
out = model(x)
record("features", (activation["relu1"], activation["pool"], out))
print(sorted(activation), activation["relu1"].shape, activation["pool"].shape)
for h in handles:
    h.remove()
activation.clear()
model(x)
record("after_remove", sorted(activation))


# a pre-hook that rescales the input, a hook that replaces the output, hooks with kwargs
def pre(module, args):
    return (args[0] * 0.5,)


def replace_out(module, args, output):
    return output + 1.0


h1 = model.classifier.register_forward_pre_hook(pre)
h2 = model.classifier.register_forward_hook(replace_out)
record("changed", model(x))
h1.remove()
h2.remove()
record("restored", model(x))


class Scaled(nn.Module):
    def forward(self, x, scale=1.0):
        return x * scale


sm = Scaled()
seen = []
sm.register_forward_pre_hook(lambda m, args, kwargs: (args, {"scale": kwargs.get("scale", 1.0) * 3}),
                             with_kwargs=True)
sm.register_forward_hook(lambda m, args, kwargs, out: seen.append(kwargs["scale"]), with_kwargs=True)
record("kwargs_hooks", sm(torch.ones(2), scale=2.0))
record("kwargs_seen", seen)

# backward hooks
model.train()
grads = {}


def bwd_hook(name):
    def hook(module, grad_input, grad_output):
        grads[name] = ([g for g in grad_input if g is not None], [g for g in grad_output if g is not None])
    return hook


def bwd_pre(module, grad_output):
    return (grad_output[0] * 2,)


hb = model.classifier.register_full_backward_hook(bwd_hook("classifier"))
hf = model.features[5].register_full_backward_hook(bwd_hook("relu2"))
hp = model.classifier.register_full_backward_pre_hook(bwd_pre)
xr = x.clone().requires_grad_()
out = model(xr)
tensor_grads = []
out.register_hook(lambda g: tensor_grads.append(g.clone()))
feat = model.features(xr)
feat.register_hook(lambda g: g * 0)  # this branch's gradient is dropped
loss = out.pow(2).sum() + feat.sum()
loss.backward()
record("bwd_hooks", (grads["classifier"], grads["relu2"], tensor_grads, xr.grad))
record("param_grads", {n: p.grad for n, p in model.named_parameters()})
for h in (hb, hf, hp):
    h.remove()
record("state_hooks_dict_type", type(model.classifier._forward_hooks).__name__)


# the parametrizations tutorial
class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class Skew(nn.Module):
    def forward(self, X):
        A = X.triu(1)
        return A - A.transpose(-1, -2)


class MatrixExponential(nn.Module):
    def forward(self, X):
        return torch.matrix_exp(X)

    def right_inverse(self, A):
        return torch.zeros_like(A)  # only the identity is handled here


layer = np_params(nn.Linear(3, 3), 63)
P.register_parametrization(layer, "weight", Symmetric())
A = layer.weight
record("symmetric", (A, torch.allclose(A, A.T)))
print(layer)
record("param_names", [n for n, _ in layer.named_parameters()])
record("original", layer.parametrizations.weight.original)
layer_orth = np_params(nn.Linear(3, 3), 65)
P.register_parametrization(layer_orth, "weight", Skew())
P.register_parametrization(layer_orth, "weight", MatrixExponential())
X = layer_orth.weight
record("orthogonal_from_identity", (X, torch.dist(X.T @ X, torch.eye(3)) < 1e-5))
with torch.no_grad():
    layer_orth.parametrizations.weight.original.copy_(torch.tensor(rng.randn(3, 3).astype(np.float32)))
X = layer_orth.weight
record("orthogonal", (X, float(torch.dist(X.T @ X, torch.eye(3))) < 1e-5))
with P.cached():
    a1, a2 = layer.weight, layer.weight
record("cached_same_object", a1 is a2)
layer.weight = torch.tensor(np.arange(9, dtype=np.float32).reshape(3, 3) / 9)  # assignment goes through right_inverse
record("assigned", (layer.weight, layer.parametrizations.weight.original))
try:
    layer_orth.weight = torch.eye(3)  # Skew has no right_inverse
except RuntimeError as e:
    record("no_right_inverse", "does not implement right_inverse" in str(e))
P.remove_parametrizations(layer, "weight", leave_parametrized=True)
record("removed", (type(layer.weight).__name__, layer.weight, P.is_parametrized(layer)))

# the built-in parametrizations in training
net = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 2))
np_params(net, 64)
parametrizations.weight_norm(net[0], name="weight", dim=0)
parametrizations.orthogonal(net[2])
parametrizations.spectral_norm(net[4])
record("net_param_names", [n for n, _ in net.named_parameters()])
record("net_buffer_names", [n for n, _ in net.named_buffers()])
g0 = net[0].parametrizations.weight.original0
record("weight_norm_parts", (g0, net[0].parametrizations.weight.original1, net[0].weight))
W2 = net[2].weight
record("orthogonal_init", float(torch.dist(W2 @ W2.T, torch.eye(6))) < 1e-4)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
xs = torch.tensor(rng.randn(16, 5).astype(np.float32))
ys = torch.tensor(rng.randn(16, 2).astype(np.float32))
net.eval()  # spectral_norm's power iteration starts from a random vector drawn by the framework:
# in eval mode it only reuses it, so the records below depend on u/v only through sigma
losses = []
orth_err = []
for step in range(6):
    opt.zero_grad()
    loss = F.mse_loss(net[:4](xs).sum(1, keepdim=True).expand(-1, 2), ys)
    loss.backward()
    opt.step()
    losses.append(loss.item())
    W2 = net[2].weight
    orth_err.append(float(torch.dist(W2 @ W2.T, torch.eye(6))) < 1e-4)
record("param_losses", losses)
record("stays_orthogonal", orth_err)
record("weight_norm_after", (net[0].parametrizations.weight.original0, net[0].parametrizations.weight.original1))
sn = net[4].weight
record("spectral_norm_top_sv", float(torch.linalg.matrix_norm(sn, ord=2)) < 1.5)
finish()

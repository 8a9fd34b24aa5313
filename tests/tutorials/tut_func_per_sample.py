"""torch.func tutorials: per-sample gradients (functional_call + grad + vmap with in_dims=(None,
None, 0, 0), checked against a loop of backward calls), model ensembling (stack_module_state, vmap
over parameters with in_dims=(0, 0, None) and (0, 0, 0), a 'meta' base model), Jacobians and
Hessians (jacrev, jacfwd, hessian, vjp, jvp), a per-sample-gradient DP-SGD style step (clipped
per-sample gradients averaged into .grad), and torch.func.grad_and_value with has_aux."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import (functional_call, grad, grad_and_value, hessian, jacfwd, jacrev, jvp, stack_module_state,
                        vjp, vmap)

from tut_common import finish, np_params, record

rng = np.random.RandomState(81)


class SimpleCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 6, 3, 1)
        self.fc1 = nn.Linear(6 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def loss_fn(predictions, targets):
    return F.nll_loss(predictions, targets)


batch_size = 8
data = torch.tensor(rng.randn(batch_size, 1, 8, 8).astype(np.float32))
targets = torch.tensor(rng.randint(0, 5, batch_size))
model = np_params(SimpleCNN(), 82)


def compute_grad(sample, target):
    sample = sample.unsqueeze(0)
    target = target.unsqueeze(0)
    prediction = model(sample)
    loss = loss_fn(prediction, target)
    return torch.autograd.grad(loss, list(model.parameters()))


per_sample_grads = [compute_grad(data[i], targets[i]) for i in range(batch_size)]
per_sample_grads = list(zip(*per_sample_grads))
per_sample_grads = [torch.stack(shards) for shards in per_sample_grads]

params = {k: v.detach() for k, v in model.named_parameters()}
buffers = {k: v.detach() for k, v in model.named_buffers()}


def compute_loss(params, buffers, sample, target):
    batch = sample.unsqueeze(0)
    targets = target.unsqueeze(0)
    predictions = functional_call(model, (params, buffers), (batch,))
    return loss_fn(predictions, targets)


ft_compute_grad = grad(compute_loss)
ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)
for per_sample_grad, ft_per_sample_grad in zip(per_sample_grads, ft_per_sample_grads.values()):
    assert torch.allclose(per_sample_grad, ft_per_sample_grad, atol=3e-3, rtol=1e-5)
record("per_sample_loop", per_sample_grads)
record("per_sample_vmap", ft_per_sample_grads)
print({k: tuple(v.shape) for k, v in ft_per_sample_grads.items()})

# a DP-SGD style step: clip each sample's gradient, average, write into .grad, step
max_norm = 0.5
norms = torch.stack([g.flatten(1).norm(dim=1) for g in ft_per_sample_grads.values()], 1).norm(dim=1)
factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
record("per_sample_norms", norms)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for (name, p), g in zip(model.named_parameters(), ft_per_sample_grads.values()):
    p.grad = (g * factor.view(-1, *([1] * (g.dim() - 1)))).mean(0)
opt.step()
record("dp_step_params", dict(model.named_parameters()))

# model ensembling
num_models = 4
minibatches = torch.tensor(rng.randn(num_models, 6, 10).astype(np.float32))


class SimpleMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 12)
        self.fc2 = nn.Linear(12, 8)
        self.fc3 = nn.Linear(8, 3)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


models = [np_params(SimpleMLP(), 83 + i) for i in range(num_models)]
minibatch = minibatches[0]
predictions_diff_minibatch_loop = [model(minibatch) for model, minibatch in zip(models, minibatches)]
predictions2 = [model(minibatch) for model in models]
params, buffers = stack_module_state(models)
record("stacked_shapes", {k: v.shape for k, v in params.items()})
record("stacked_requires_grad", [v.requires_grad for v in params.values()])
# as the tutorial: the copy goes to the "meta" device (shapes without storage); functional_call
# supplies the stacked parameters
base_model = copy.deepcopy(models[0])
base_model = base_model.to("meta")
record("base_model_meta", [p.is_meta for p in base_model.parameters()])


def fmodel(params, buffers, x):
    return functional_call(base_model, (params, buffers), (x,))


predictions1_vmap = vmap(fmodel)(params, buffers, minibatches)
assert torch.allclose(predictions1_vmap, torch.stack(predictions_diff_minibatch_loop), atol=1e-3, rtol=1e-5)
predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
assert torch.allclose(predictions2_vmap, torch.stack(predictions2), atol=1e-3, rtol=1e-5)
record("ensemble", (predictions1_vmap, predictions2_vmap))
# training the ensemble through the stacked parameters
ens_loss = vmap(fmodel)(params, buffers, minibatches).pow(2).mean()
ens_grads = torch.autograd.grad(ens_loss, list(params.values()))
record("ensemble_grads", ens_grads)

# Jacobians and Hessians
lin = np_params(nn.Linear(3, 3), 88)
x = torch.tensor(rng.randn(3).astype(np.float32))


def predict(weight, bias, x):
    return F.linear(x, weight, bias).tanh()


jac_w = jacrev(predict, argnums=0)(lin.weight, lin.bias, x)
jac_x_rev = jacrev(predict, argnums=2)(lin.weight, lin.bias, x)
jac_x_fwd = jacfwd(predict, argnums=2)(lin.weight, lin.bias, x)
record("jacobians", (jac_w, jac_x_rev, jac_x_fwd))
xb = torch.tensor(rng.randn(4, 3).astype(np.float32))
record("batched_jac", vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))(lin.weight, lin.bias, xb))
record("hessian", hessian(lambda x: predict(lin.weight, lin.bias, x).sum(), argnums=0)(x))
record("jacrev_of_jacrev", jacrev(jacrev(lambda x: (x.sin() * x).sum()))(x))
(_, vjp_fn) = vjp(lambda x: predict(lin.weight, lin.bias, x), x)
record("vjp", vjp_fn(torch.ones(3)))
record("jvp", jvp(lambda x: predict(lin.weight, lin.bias, x), (x,), (torch.ones(3),)))


def loss_with_aux(w, x):
    out = (x @ w).tanh()
    return out.pow(2).sum(), {"out": out, "mean": out.mean()}


w0 = torch.tensor(rng.randn(3, 2).astype(np.float32))
gv = grad_and_value(loss_with_aux, has_aux=True)(w0, xb)
record("grad_and_value", gv)
finish()

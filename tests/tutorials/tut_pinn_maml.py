"""Higher-order autograd in research code: a physics-informed network for the 1-D Poisson problem
u'' = f on [0, 1] with u(0) = u(1) = 0 (collocation points that require grad, u_x and u_xx by
torch.autograd.grad(create_graph=True) with grad_outputs=torch.ones_like, a residual + boundary loss,
Adam then LBFGS with a closure), its error against the exact solution; the torch.autograd.functional
API (jacobian with create_graph and vectorize, hessian, vjp, jvp, hvp, vhp) on the trained network and
on small functions, checked against each other; and MAML on sine-wave regression tasks: an inner loop
of gradient steps on a functional copy of the weights (torch.func.functional_call with a dict of
fast weights, autograd.grad with create_graph=True so the meta-gradient flows through the
adaptation), the outer Adam step on the query loss, first-order MAML beside it (no create_graph),
and adaptation of the meta-trained model to a new task."""
import math

import numpy as np
import torch
from torch import nn
from torch.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp
from torch.func import functional_call

from tut_common import finish, np_params, record

rng = np.random.RandomState(13)


class PINN(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(),
                                 nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x)


def exact(x):
    return torch.sin(math.pi * x)


def forcing(x):
    return -(math.pi ** 2) * torch.sin(math.pi * x)


pinn = np_params(PINN(), seed=1)
x_col = torch.linspace(0, 1, 24).unsqueeze(1).requires_grad_(True)
x_bc = torch.tensor([[0.0], [1.0]])


def pinn_loss():
    u = pinn(x_col)
    u_x = torch.autograd.grad(u, x_col, grad_outputs=torch.ones_like(u), create_graph=True)[0]
    u_xx = torch.autograd.grad(u_x, x_col, grad_outputs=torch.ones_like(u_x), create_graph=True)[0]
    residual = u_xx - forcing(x_col)
    return residual.pow(2).mean() + 10 * pinn(x_bc).pow(2).mean(), u_x, u_xx


loss, u_x, u_xx = pinn_loss()
record("initial_u_x", u_x)
record("initial_u_xx", u_xx)
print("u_xx requires grad:", u_xx.requires_grad, "grad_fn set:", u_xx.grad_fn is not None)

adam = torch.optim.Adam(pinn.parameters(), lr=1e-2)
adam_losses = []
for it in range(25):
    adam.zero_grad()
    loss, _, _ = pinn_loss()
    loss.backward()
    adam.step()
    adam_losses.append(loss.item())
record("adam_losses", adam_losses)
print(f"after adam: {adam_losses[-1]:.5f}")
x_test = torch.linspace(0, 1, 11).unsqueeze(1)
# the network's values after Adam; LBFGS's line searches then amplify float32 rounding differences
# (1e-7 relative after Adam, 1e-5 after LBFGS), so its results are recorded as losses and weights
record("pinn_prediction_adam", pinn(x_test))

lbfgs = torch.optim.LBFGS(pinn.parameters(), lr=0.5, max_iter=8, history_size=5, line_search_fn="strong_wolfe")
lbfgs_losses = []


def closure():
    lbfgs.zero_grad()
    loss, _, _ = pinn_loss()
    loss.backward()
    return loss


for it in range(3):
    lbfgs_losses.append(lbfgs.step(closure).item())
record("lbfgs_losses", lbfgs_losses)
with torch.no_grad():
    err = (pinn(x_test) - exact(x_test)).abs().max()
print(f"lbfgs losses {[round(v, 5) for v in lbfgs_losses]} max error {err.item():.4f}")
record("pinn_params", dict(pinn.named_parameters()))

# torch.autograd.functional on the trained network and on small functions
x0 = torch.tensor([[0.3], [0.7]])


def u_sum(x):
    return pinn(x).sum()


def f_vec(x):
    return torch.stack([x[0] * x[1] ** 2, torch.sin(x[2]) * x[0], x.pow(3).sum()])


xv = torch.tensor(rng.randn(3).astype(np.float32))
record("jacobian_pinn", jacobian(pinn, x0))
record("jacobian_vec", jacobian(f_vec, xv))
record("jacobian_vectorized", jacobian(f_vec, xv, vectorize=True))
record("jacobian_two_inputs", jacobian(lambda a, b: a * b.sum() + b[:2], (xv[:2], xv)))
record("hessian_pinn", hessian(u_sum, x0))
h = hessian(lambda x: (x[0] ** 2 * x[1] + torch.exp(x[2]) * x[1]), xv)
record("hessian_vec", h)
v = torch.tensor(rng.randn(3).astype(np.float32))
_, vjp_out = vjp(f_vec, xv, v)
_, jvp_out = jvp(f_vec, xv, v)
fun = lambda x: (x[0] ** 2 * x[1] + torch.exp(x[2]) * x[1])  # noqa: E731
_, hvp_out = hvp(fun, xv, v)
_, vhp_out = vhp(fun, xv, v)
record("vjp", vjp_out)
record("jvp", jvp_out)
record("hvp", hvp_out)
record("vhp", vhp_out)
print("hvp == H v:", torch.allclose(hvp_out, h @ v, atol=1e-5), "vhp == v H:", torch.allclose(vhp_out, v @ h, atol=1e-5))
jac = jacobian(f_vec, xv)
print("vjp == v J:", torch.allclose(vjp_out, v @ jac, atol=1e-5), "jvp == J v:", torch.allclose(jvp_out, jac @ v, atol=1e-5))
# create_graph: a Jacobian that can be differentiated again
xg = xv.clone().requires_grad_(True)
jg = jacobian(f_vec, xg, create_graph=True)
jg.trace().backward()
record("grad_of_jacobian_trace", xg.grad)


# MAML on sine waves
def sample_task(r):
    return r.uniform(0.5, 2.0), r.uniform(0, math.pi)


def task_batch(task, r, n):
    amp, phase = task
    x = r.uniform(-5, 5, (n, 1)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy((amp * np.sin(x + phase)).astype(np.float32))


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 1))

    def forward(self, x):
        return self.net(x)


def adapt(model, params, x, y, steps, inner_lr, first_order):
    for _ in range(steps):
        loss = nn.functional.mse_loss(functional_call(model, params, (x,)), y)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=not first_order)
        params = {name: p - inner_lr * g for (name, p), g in zip(params.items(), grads)}
    return params


def meta_train(first_order):
    model = np_params(Regressor(), seed=6)
    meta_opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    r = np.random.RandomState(2)
    losses = []
    for it in range(6):
        meta_opt.zero_grad()
        total = 0.0
        for _ in range(3):
            task = sample_task(r)
            xs, ys = task_batch(task, r, 5)
            xq, yq = task_batch(task, r, 5)
            fast = adapt(model, dict(model.named_parameters()), xs, ys, 2, 0.01, first_order)
            qloss = nn.functional.mse_loss(functional_call(model, fast, (xq,)), yq)
            (qloss / 3).backward()
            total += qloss.item() / 3
        meta_opt.step()
        losses.append(total)
    return model, losses


maml, maml_losses = meta_train(first_order=False)
fomaml, fomaml_losses = meta_train(first_order=True)
record("maml_losses", maml_losses)
record("fomaml_losses", fomaml_losses)
record("maml_params", dict(maml.named_parameters()))
record("fomaml_params", dict(fomaml.named_parameters()))
print("maml:", [round(v, 4) for v in maml_losses])
print("fomaml:", [round(v, 4) for v in fomaml_losses])
# second-order terms make the two differ
print("first-order differs:", not torch.allclose(maml.net[0].weight, fomaml.net[0].weight))

r = np.random.RandomState(99)
task = sample_task(r)
xs, ys = task_batch(task, r, 10)
xq, yq = task_batch(task, r, 10)
params = {k: v.detach() for k, v in maml.named_parameters()}
before = nn.functional.mse_loss(functional_call(maml, params, (xq,)), yq)
params = {k: v.requires_grad_() for k, v in params.items()}
adapted = adapt(maml, params, xs, ys, 5, 0.01, first_order=True)
after = nn.functional.mse_loss(functional_call(maml, adapted, (xq,)), yq)
record("adapt_before_after", [before.item(), after.item()])
print(f"new task query loss {before.item():.4f} -> {after.item():.4f}")
finish()

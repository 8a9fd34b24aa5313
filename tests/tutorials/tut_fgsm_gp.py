"""Adversarial examples (FGSM tutorial: epsilon sweep, sign of the input gradient, clamping, accuracy
under attack, an iterated PGD variant) and double backward: a WGAN-GP gradient penalty through
autograd.grad(create_graph=True), also through a custom autograd.Function whose backward is itself
differentiable (x**3 with saved input), gradgradcheck, and a Hessian-vector product by double backward."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, np_params, record

rng = np.random.RandomState(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.fc = nn.Linear(8 * 2 * 2, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.relu(self.conv2(x))
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


model = np_params(Net(), 1, scale=0.5)
X = torch.from_numpy(rng.rand(24, 1, 10, 10).astype(np.float32))
Y = torch.from_numpy(rng.randint(0, 3, 24).astype(np.int64))
# a few steps so the model fits its data a little
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for _ in range(15):
    opt.zero_grad()
    F.nll_loss(model(X), Y).backward()
    opt.step()
model.eval()


def fgsm_attack(image, epsilon, data_grad):
    perturbed = image + epsilon * data_grad.sign()
    return torch.clamp(perturbed, 0, 1)


def test(epsilon):
    correct, examples = 0, []
    for i in range(len(X)):
        data, target = X[i:i + 1].clone(), Y[i:i + 1]
        data.requires_grad = True
        output = model(data)
        init_pred = output.max(1, keepdim=True)[1]
        if init_pred.item() != target.item():
            continue
        loss = F.nll_loss(output, target)
        model.zero_grad()
        loss.backward()
        perturbed = fgsm_attack(data, epsilon, data.grad.data)
        final_pred = model(perturbed).max(1, keepdim=True)[1]
        if final_pred.item() == target.item():
            correct += 1
        elif len(examples) < 3:
            examples.append((init_pred.item(), final_pred.item(), perturbed.squeeze().detach()))
    acc = correct / float(len(X))
    print(f"Epsilon: {epsilon}\tTest Accuracy = {correct} / {len(X)} = {acc}")
    return acc, examples


accs = []
for eps in [0, 0.05, 0.1, 0.2, 0.3]:
    acc, ex = test(eps)
    accs.append(acc)
    record(f"examples_{eps}", ex)
record("accuracies", accs)

# PGD: iterated FGSM projected onto the epsilon ball
x0 = X[:8].clone()
adv = x0.clone()
for _ in range(5):
    adv.requires_grad_(True)
    loss = F.nll_loss(model(adv), Y[:8])
    (g,) = torch.autograd.grad(loss, adv)
    adv = adv.detach() + 0.02 * g.sign()
    adv = torch.min(torch.max(adv, x0 - 0.1), x0 + 0.1).clamp(0, 1)
record("pgd_adv", adv)
record("pgd_loss", F.nll_loss(model(adv), Y[:8]).item())


# --- double backward: WGAN-GP
critic = np_params(nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Softplus(), nn.Linear(16, 1)), 2)
real = torch.from_numpy(rng.randn(10, 6).astype(np.float32))
fake = torch.from_numpy(rng.randn(10, 6).astype(np.float32) + 1.0)
alpha = torch.from_numpy(rng.rand(10, 1).astype(np.float32))


def gradient_penalty(critic, real, fake):
    interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    out = critic(interp)
    grads = torch.autograd.grad(outputs=out, inputs=interp, grad_outputs=torch.ones_like(out),
                                create_graph=True, retain_graph=True)[0]
    return ((grads.norm(2, dim=1) - 1) ** 2).mean()


copt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
gp_losses = []
for _ in range(4):
    copt.zero_grad()
    gp = gradient_penalty(critic, real, fake)
    loss = critic(fake).mean() - critic(real).mean() + 10 * gp
    loss.backward()
    copt.step()
    gp_losses.append((loss.item(), gp.item()))
record("gp_losses", gp_losses)
record("critic_grads", [p.grad for p in critic.parameters()])


class Cube(torch.autograd.Function):
    """x**3 whose backward is written with differentiable ops, so it can be differentiated again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 3 * x ** 2


x = torch.from_numpy(rng.randn(5).astype(np.float64)).requires_grad_()
y = Cube.apply(x).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
(gg,) = torch.autograd.grad(g.sum(), x)
record("cube_grad", g)
record("cube_gradgrad", gg)
record("gradgradcheck", torch.autograd.gradgradcheck(Cube.apply, (x,)))
# gradient penalty through the custom Function
w = torch.from_numpy(rng.randn(5).astype(np.float32)).requires_grad_()
inp = torch.from_numpy(rng.randn(5).astype(np.float32)).requires_grad_()
out = (Cube.apply(inp * w) * w).sum()
(gi,) = torch.autograd.grad(out, inp, create_graph=True)
(gi.pow(2).sum()).backward()
record("penalty_w_grad", w.grad)

# Hessian-vector product by double backward
p = torch.from_numpy(rng.randn(4).astype(np.float32)).requires_grad_()
v = torch.from_numpy(rng.randn(4).astype(np.float32))
f = (p.sin() * p.exp()).sum() + (p[:-1] * p[1:]).sum() ** 2
(gp_,) = torch.autograd.grad(f, p, create_graph=True)
(hv,) = torch.autograd.grad(gp_, p, grad_outputs=v)
record("hvp", hv)
record("hvp_check", torch.autograd.functional.hessian(lambda q: (q.sin() * q.exp()).sum() +
                                                       (q[:-1] * q[1:]).sum() ** 2, p.detach()) @ v)
finish()

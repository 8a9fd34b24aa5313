"""'Learning PyTorch with examples' style: fitting sin(x) with a cubic polynomial by tensors and
manual gradients, by autograd, by a custom autograd.Function (Legendre P3), by nn.Sequential with
Flatten(0, 1), by optim.RMSprop, and a dynamic network sharing weights across a
random (Python random, seeded) number of layers."""
import math
import random

import numpy as np
import torch

from tut_common import finish, record

dtype = torch.float
device = torch.device("cpu")
x = torch.linspace(-math.pi, math.pi, 200, device=device, dtype=dtype)
y = torch.sin(x)
init = np.random.RandomState(7).randn(4).astype(np.float32) * 0.1
a, b, c, d = (torch.tensor(v, device=device, dtype=dtype) for v in init)
learning_rate = 1e-4
losses = []
for t in range(300):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum().item()
    if t % 100 == 99:
        print(t, loss)
    losses.append(loss)
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x ** 2).sum()
    grad_d = (grad_y_pred * x ** 3).sum()
    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d
print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
record("manual_losses", losses)
record("manual_coeffs", torch.stack([a, b, c, d]))

a, b, c, d = (torch.tensor(v, device=device, dtype=dtype, requires_grad=True) for v in init)
losses = []
for t in range(300):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
record("autograd_losses", losses)
record("autograd_coeffs", torch.stack([a, b, c, d]).detach())


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
learning_rate = 5e-6
losses = []
for t in range(200):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= learning_rate * p.grad
            p.grad = None
print(f"Result: y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)")
print(y_pred.grad_fn.__class__.__name__, P3(c + d * x).grad_fn.__class__.__name__)
record("legendre_losses", losses)
record("legendre_coeffs", torch.stack([a, b, c, d]).detach())

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
record("xx", (xx.shape, xx.dtype))
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
with torch.no_grad():
    model[0].weight.copy_(torch.tensor(init[None, :3]))
    model[0].bias.fill_(float(init[3]))
loss_fn = torch.nn.MSELoss(reduction="sum")
learning_rate = 1e-6
losses = []
for t in range(200):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    losses.append(loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
linear_layer = model[0]
print(f"Result: y = {linear_layer.bias.item():.4f} + {linear_layer.weight[:, 0].item():.4f} x + "
      f"{linear_layer.weight[:, 1].item():.4f} x^2 + {linear_layer.weight[:, 2].item():.4f} x^3")
record("nn_losses", losses)
record("nn_state", model.state_dict())

optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
losses = []
for t in range(100):
    loss = loss_fn(model(xx), y)
    losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
record("rmsprop_losses", losses)
record("rmsprop_state", model.state_dict())
record("rmsprop_square_avg", optimizer.state_dict()["state"][0]["square_avg"])


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(float(init[0])))
        self.b = torch.nn.Parameter(torch.tensor(float(init[1])))
        self.c = torch.nn.Parameter(torch.tensor(float(init[2])))
        self.d = torch.nn.Parameter(torch.tensor(float(init[3])))
        self.e = torch.nn.Parameter(torch.tensor(0.01))

    def forward(self, x):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3 + " \
               f"{self.e.item()} x^4 ? + {self.e.item()} x^5 ?"


random.seed(0)
model = DynamicNet()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
losses = []
for t in range(100):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"Result: {model.string()}")
record("dynamic_losses", losses)
record("dynamic_params", dict(model.named_parameters()))
finish()

"""Autograd tutorial patterns: backward of scalar and non-scalar outputs, autograd.grad,
vector-Jacobian products, requires_grad toggling, detach, no_grad, hooks, retain_graph."""
import numpy as np
import torch

from tut_common import finish, record

rng = np.random.RandomState(11)
x = torch.ones(5)
y = torch.zeros(3)
w = torch.tensor(rng.randn(5, 3).astype(np.float32), requires_grad=True)
b = torch.tensor(rng.randn(3).astype(np.float32), requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn}".split(" object")[0])
print(f"Gradient function for loss = {type(loss.grad_fn).__name__}")
loss.backward()
print(w.grad)
print(b.grad)
record("w_grad", w.grad)
record("b_grad", b.grad)

z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad, z_det.is_leaf)

# Jacobian-vector products of a non-scalar output
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")
record("inp_grad", inp.grad)

# the blitz's y = x * 2 until the norm is large, then y.backward(v)
a = torch.tensor(rng.randn(3).astype(np.float32), requires_grad=True)
yy = a * 2
steps = 0
while yy.data.norm() < 1000:
    yy = yy * 2
    steps += 1
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
yy.backward(v)
record("blitz_steps", steps)
record("blitz_grad", a.grad)
print(a.grad)

# torch.autograd.grad, create_graph and second derivatives
s = torch.tensor(rng.randn(6).astype(np.float32), requires_grad=True)
f = (s ** 3).sum()
(g,) = torch.autograd.grad(f, s, create_graph=True)
(h,) = torch.autograd.grad(g.sum(), s)
record("grad1", g)
record("grad2", h)
record("grad1_requires_grad", g.requires_grad)
gs = torch.autograd.grad(outputs=[(s * 2).sum(), (s.sin()).sum()], inputs=[s])
record("grad_multi", gs)
q = torch.tensor(rng.randn(3).astype(np.float32), requires_grad=True)
unused = torch.tensor(1.0, requires_grad=True)
record("allow_unused", torch.autograd.grad((q * q).sum(), [q, unused], allow_unused=True)[1] is None)
try:
    torch.autograd.grad((q * q).sum(), [q, unused])
    record("unused_error", None)
except RuntimeError:
    record("unused_error", "RuntimeError")

# retain_graph: the second backward without it raises
m = torch.tensor(rng.randn(4).astype(np.float32), requires_grad=True)
n = (m.exp() * m).sum()
n.backward(retain_graph=True)
n.backward()
record("retained_twice", m.grad)
try:
    n.backward()
    record("third_backward", None)
except RuntimeError:
    record("third_backward", "RuntimeError")

# hooks on tensors
seen = []
t = torch.tensor(rng.randn(4).astype(np.float32), requires_grad=True)
u = t * 3
handle = u.register_hook(lambda grad: seen.append(grad.clone()))
t.register_hook(lambda grad: grad * 2)  # a hook may replace the gradient
(u ** 2).sum().backward()
handle.remove()
record("hook_seen", seen)
record("hook_doubled", t.grad)
u2 = t * 3
u2.retain_grad()
(u2 ** 2).sum().backward()
record("retain_grad", u2.grad)
record("hook_after_remove", len(seen))

# requires_grad toggling, freezing parts of a model
lin = torch.nn.Linear(3, 2)
with torch.no_grad():
    lin.weight.copy_(torch.tensor(rng.randn(2, 3).astype(np.float32)))
    lin.bias.copy_(torch.tensor(rng.randn(2).astype(np.float32)))
lin.weight.requires_grad_(False)
xin = torch.tensor(rng.randn(5, 3).astype(np.float32))
lin(xin).pow(2).mean().backward()
record("frozen_weight_grad", lin.weight.grad is None)
record("bias_grad", lin.bias.grad)
lin.weight.requires_grad = True
lin(xin).pow(2).mean().backward()
record("unfrozen_weight_grad", lin.weight.grad)

# detach breaks the graph; no_grad results are leaves
p = torch.tensor(rng.randn(3).astype(np.float32), requires_grad=True)
d = p.detach()
d[0] = 5.0  # shares storage with p
record("detach_shares", p)
with torch.no_grad():
    r = p * 2
record("no_grad_leaf", (r.requires_grad, r.is_leaf, r.grad_fn is None))
with torch.enable_grad():
    r2 = p * 2
record("enable_grad", r2.requires_grad)
torch.set_grad_enabled(False)
r3 = p * 2
torch.set_grad_enabled(True)
record("set_grad_enabled", (r3.requires_grad, torch.is_grad_enabled()))
with torch.inference_mode():
    r4 = p * 2
record("inference_mode", (r4.requires_grad, r4.is_inference(), p.is_inference(), (r4 + 1).is_inference()))
try:
    (p * r4).sum().backward()  # an inference tensor saved for backward outside the mode
    record("inference_saved", "no error")
except RuntimeError as e:
    record("inference_saved", str(e)[:40])

# jacobian / vjp / hessian helpers
fn = lambda v: v.sin() * v.sum()
pt = torch.tensor(rng.randn(3).astype(np.float32))
record("jacobian", torch.autograd.functional.jacobian(fn, pt))
record("vjp", torch.autograd.functional.vjp(fn, pt, torch.ones(3)))
record("jvp", torch.autograd.functional.jvp(fn, pt, torch.ones(3)))
record("hessian", torch.autograd.functional.hessian(lambda v: (v ** 3).sum(), pt))

# leaf error messages
leaf = torch.ones(2, requires_grad=True)
try:
    leaf.add_(1)
    record("leaf_inplace", None)
except RuntimeError:
    record("leaf_inplace", "RuntimeError")
try:
    torch.ones(2).backward()
    record("no_grad_backward", None)
except RuntimeError:
    record("no_grad_backward", "RuntimeError")
try:
    (leaf * 2).backward()
    record("non_scalar_backward", None)
except RuntimeError:
    record("non_scalar_backward", "RuntimeError")
print(leaf.grad)
finish()

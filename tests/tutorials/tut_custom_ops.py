"""Custom Python operators: a numpy-backed op wrapped with `torch.library.custom_op` (a function that
leaves the framework through `.numpy()`), its shape-only `register_fake` kernel, a backward added with
`register_autograd` + `setup_context` (saved tensors, `ctx.needs_input_grad`-style None grads for
non-tensor inputs), an op with two outputs, an op that mutates its input (`mutates_args`), a
CPU-only kernel added through `register_kernel`, `torch.library.opcheck` on each, the ops inside an
nn.Module trained a few SGD steps (against the same model written with plain torch ops), and the
model under `torch.compile(fullgraph=True)`; also the errors for returning an input unchanged and for
calling an op with a wrong argument type."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from tut_common import finish, np_params, record

rng = np.random.RandomState(71)


def randn(*shape):
    return torch.from_numpy(rng.randn(*shape).astype(np.float32))


# --- an op whose kernel is numpy -------------------------------------------------------------
@torch.library.custom_op("tut::numpy_tanh_shift", mutates_args=())
def numpy_tanh_shift(x: Tensor, shift: float) -> Tensor:
    out = np.tanh(x.numpy(force=True)) + shift
    return torch.from_numpy(out.astype(np.float32)).to(x.device)


@numpy_tanh_shift.register_fake
def _(x, shift):
    return torch.empty_like(x)


def tanh_shift_setup(ctx, inputs, output):
    x, shift = inputs
    ctx.save_for_backward(output)
    ctx.shift = shift


def tanh_shift_backward(ctx, grad):
    (out,) = ctx.saved_tensors
    t = out - ctx.shift
    return grad * (1 - t * t), None


numpy_tanh_shift.register_autograd(tanh_shift_backward, setup_context=tanh_shift_setup)

x = randn(3, 5).requires_grad_()
y = numpy_tanh_shift(x, 0.5)
y.pow(2).sum().backward()
x2 = x.detach().clone().requires_grad_()
(torch.tanh(x2) + 0.5).pow(2).sum().backward()
record("tanh_shift", (y, x.grad))
record("tanh_shift_matches", (torch.allclose(y, torch.tanh(x) + 0.5, atol=1e-6), torch.allclose(x.grad, x2.grad, atol=1e-5)))
record("op_overload", (str(torch.ops.tut.numpy_tanh_shift.default), type(numpy_tanh_shift).__name__))
record("via_ops", torch.ops.tut.numpy_tanh_shift(x.detach(), -1.0))


# --- two outputs, backward through both ------------------------------------------------------
@torch.library.custom_op("tut::split_norm", mutates_args=())
def split_norm(x: Tensor) -> tuple[Tensor, Tensor]:
    a = x.numpy(force=True)
    n = np.sqrt((a * a).sum(-1, keepdims=True))
    return torch.from_numpy((a / n).astype(np.float32)), torch.from_numpy(n[..., 0].astype(np.float32))


@split_norm.register_fake
def _(x):
    return torch.empty_like(x), x.new_empty(x.shape[:-1])


def split_norm_setup(ctx, inputs, output):
    ctx.save_for_backward(*output)


def split_norm_backward(ctx, g_unit, g_norm):
    unit, n = ctx.saved_tensors
    n = n.unsqueeze(-1)
    g = (g_unit - unit * (g_unit * unit).sum(-1, keepdim=True)) / n
    return g + g_norm.unsqueeze(-1) * unit


split_norm.register_autograd(split_norm_backward, setup_context=split_norm_setup)
v = randn(4, 6).requires_grad_()
unit, norm = split_norm(v)
w = randn(4, 6)
((unit * w).sum() + norm.sum() * 0.3).backward()
v2 = v.detach().clone().requires_grad_()
n2 = v2.norm(dim=-1)
((v2 / n2.unsqueeze(-1) * w).sum() + n2.sum() * 0.3).backward()
record("split_norm", (unit, norm, v.grad))
record("split_norm_grad_matches", torch.allclose(v.grad, v2.grad, atol=1e-5))


# --- a mutating op --------------------------------------------------------------------------
@torch.library.custom_op("tut::numpy_clip_", mutates_args={"x"})
def numpy_clip_(x: Tensor, lo: float, hi: float) -> None:
    a = x.numpy()
    np.clip(a, lo, hi, out=a)


@numpy_clip_.register_fake
def _(x, lo, hi):
    return None


buf = randn(10)
before = buf.clone()
res = numpy_clip_(buf, -0.5, 0.5)
record("clip_inplace", (res, buf, torch.equal(buf, before.clamp(-0.5, 0.5))))


# --- a device-specific kernel ----------------------------------------------------------------
@torch.library.custom_op("tut::scale", mutates_args=(), device_types="cpu")
def scale(x: Tensor, k: float) -> Tensor:
    return x * k


@scale.register_fake
def _(x, k):
    return torch.empty_like(x)


scale.register_autograd(lambda ctx, g: (g * ctx.k, None), setup_context=lambda ctx, inputs, output: setattr(ctx, "k", inputs[1]))
record("scale", scale(randn(4), 3.0))

# --- opcheck ---------------------------------------------------------------------------------
checks = {}
for name, op, args in (("tanh_shift", numpy_tanh_shift, (randn(3, 4).requires_grad_(), 0.25)),
                       ("split_norm", split_norm, (randn(2, 5).requires_grad_(),)),
                       ("clip", numpy_clip_, (randn(6), -0.2, 0.2)),
                       ("scale", scale, (randn(3).requires_grad_(), 2.0))):
    result = torch.library.opcheck(op, args)
    checks[name] = sorted(result.items())
record("opcheck", checks)


# --- inside a model, trained, and compiled ---------------------------------------------------
class Net(nn.Module):
    def __init__(self, custom):
        super().__init__()
        self.custom = custom
        self.fc1 = nn.Linear(6, 12)
        self.fc2 = nn.Linear(12, 3)

    def forward(self, x):
        h = self.fc1(x)
        if self.custom:
            h = numpy_tanh_shift(h, 0.1)
            h, n = split_norm(h)
        else:
            h = torch.tanh(h) + 0.1
            n = h.norm(dim=-1)
            h = h / n.unsqueeze(-1)
        return self.fc2(h) * n.unsqueeze(-1)


X, Y = randn(16, 6), torch.from_numpy(rng.randint(0, 3, 16).astype(np.int64))
log = {}
for custom in (True, False):
    model = np_params(Net(custom), 72)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for step in range(4):
        opt.zero_grad()
        loss = F.cross_entropy(model(X), Y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    log[custom] = (losses, model.fc1.weight.detach().clone())
record("trained_custom", log[True])
record("custom_vs_plain", (np.allclose(log[True][0], log[False][0], atol=1e-5),
                           torch.allclose(log[True][1], log[False][1], atol=1e-5)))
model = np_params(Net(True), 73)
compiled = torch.compile(model, fullgraph=True)
record("compiled_eq", torch.allclose(compiled(X), model(X), atol=1e-5))
record("compiled_out", compiled(X))

# --- errors ----------------------------------------------------------------------------------
@torch.library.custom_op("tut::bad_alias", mutates_args=())
def bad_alias(x: Tensor) -> Tensor:
    return x


errors = {}
for name, call in (("alias", lambda: bad_alias(randn(3))),
                   ("arg_type", lambda: numpy_tanh_shift(randn(3), "a")),
                   ("no_annotation", lambda: torch.library.custom_op("tut::noann", lambda x: x, mutates_args=()))):
    try:
        call()
        errors[name] = None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        errors[name] = type(e).__name__
record("errors", errors)
print(errors)
finish()

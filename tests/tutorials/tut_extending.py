"""'Extending PyTorch' and memory-saving style: custom autograd Functions (LinearFunction with
ctx.needs_input_grad, MulConstant with a non-tensor argument, a Function with setup_context, one
saving its output, once_differentiable, mark_non_differentiable), gradcheck/gradgradcheck in float64,
a custom nn.Module using a Function with a non-persistent buffer, ModuleDict/ParameterList,
torch.utils.checkpoint (use_reentrant=False) and checkpoint_sequential against the plain model,
clip_grad_value_, and a double-backward gradient penalty (WGAN-GP style)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Function, gradcheck, gradgradcheck
from torch.autograd.function import once_differentiable
from torch.utils.checkpoint import checkpoint, checkpoint_sequential

from tut_common import finish, np_params, record

rng = np.random.RandomState(131)


class LinearFunction(Function):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


class MulConstant(Function):
    @staticmethod
    def forward(tensor, constant):
        return tensor * constant

    @staticmethod
    def setup_context(ctx, inputs, output):
        tensor, constant = inputs
        ctx.constant = constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


class MyExp(Function):
    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result


class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, x):
        values, idx = x.sort(dim=-1)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return values, idx

    @staticmethod
    @once_differentiable
    def backward(ctx, g_values, g_idx):
        (idx,) = ctx.saved_tensors
        grad = torch.zeros_like(g_values)
        grad.scatter_(-1, idx, g_values)
        return grad


linear = LinearFunction.apply
x64 = torch.tensor(rng.randn(4, 5), dtype=torch.double, requires_grad=True)
w64 = torch.tensor(rng.randn(3, 5), dtype=torch.double, requires_grad=True)
b64 = torch.tensor(rng.randn(3), dtype=torch.double, requires_grad=True)
record("gradcheck_linear", gradcheck(linear, (x64, w64, b64), eps=1e-6, atol=1e-4))
record("gradcheck_exp", gradcheck(MyExp.apply, (x64,)))
record("gradgradcheck_exp", gradgradcheck(MyExp.apply, (x64,)))
record("gradcheck_mulconst", gradcheck(lambda t: MulConstant.apply(t, 2.5), (x64,)))

x = torch.tensor(rng.randn(4, 5).astype(np.float32), requires_grad=True)
w = torch.tensor(rng.randn(3, 5).astype(np.float32), requires_grad=True)
out = linear(x, w)  # no bias
out.pow(2).sum().backward()
record("linear_no_bias", (out, x.grad, w.grad, out.grad_fn.__class__.__name__))
y = MulConstant.apply(x, 3.0)
e = MyExp.apply(y)
e.sum().backward()
record("mulconst_exp", (e, x.grad))
v, i = SortWithIndex.apply(x)
(v * torch.arange(5.0)).sum().backward()
record("sort_fn", (v, i, i.requires_grad, x.grad))


class MyLinear(nn.Module):
    def __init__(self, input_features, output_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(output_features, input_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(output_features))
        else:
            self.register_parameter("bias", None)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long), persistent=False)
        nn.init.uniform_(self.weight, -0.1, 0.1)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -0.1, 0.1)

    def forward(self, input):
        self.calls += 1
        return LinearFunction.apply(input, self.weight, self.bias)

    def extra_repr(self):
        return "input_features={}, output_features={}, bias={}".format(
            self.weight.shape[1], self.weight.shape[0], self.bias is not None)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleDict({"inp": MyLinear(6, 8), "hid": nn.Linear(8, 8), "out": MyLinear(8, 2, bias=False)})
        self.scales = nn.ParameterList([nn.Parameter(torch.ones(8)) for _ in range(2)])

    def forward(self, x):
        h = torch.tanh(self.blocks["inp"](x)) * self.scales[0]
        h = torch.tanh(self.blocks["hid"](h)) * self.scales[1]
        return self.blocks["out"](h)


net = np_params(Net(), 132)
print(net)
record("state_keys", list(net.state_dict().keys()))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
xs = torch.tensor(rng.randn(16, 6).astype(np.float32))
ys = torch.tensor(rng.randn(16, 2).astype(np.float32))
losses = []
for step in range(5):
    opt.zero_grad()
    loss = F.mse_loss(net(xs), ys)
    loss.backward()
    torch.nn.utils.clip_grad_value_(net.parameters(), clip_value=0.05)
    opt.step()
    losses.append(loss.item())
record("losses", losses)
record("calls", net.blocks["inp"].calls)
record("params", dict(net.named_parameters()))

# activation checkpointing gives the plain model's gradients
seq = np_params(nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Linear(16, 16), nn.LayerNorm(16), nn.SiLU(),
                              nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)), 133)
xin = torch.tensor(rng.randn(10, 6).astype(np.float32), requires_grad=True)
results = {}
for mode in ("plain", "checkpoint", "sequential"):
    seq.zero_grad()
    xin.grad = None
    if mode == "plain":
        out = seq(xin)
    elif mode == "checkpoint":
        h = checkpoint(seq[:4], xin, use_reentrant=False)
        out = checkpoint(lambda t: seq[4:](t), h, use_reentrant=False)
    else:
        out = checkpoint_sequential(seq, 3, xin, use_reentrant=False)
    out.pow(2).mean().backward()
    results[mode] = (out, xin.grad, [p.grad.clone() for p in seq.parameters()])
record("ckpt_plain", results["plain"])
record("ckpt_checkpoint", results["checkpoint"])
record("ckpt_sequential", results["sequential"])

# a gradient penalty: the gradient of D's output w.r.t. its input, differentiated again
D = np_params(nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 8), nn.Softplus(), nn.Linear(8, 1)), 134)
real = torch.tensor(rng.randn(6, 4).astype(np.float32))
fake = torch.tensor(rng.randn(6, 4).astype(np.float32))
alpha = torch.tensor(rng.rand(6, 1).astype(np.float32))
interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
d_interpolates = D(interpolates)
gradients = torch.autograd.grad(outputs=d_interpolates, inputs=interpolates,
                                grad_outputs=torch.ones_like(d_interpolates), create_graph=True, retain_graph=True,
                                only_inputs=True)[0]
gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
d_loss = D(fake).mean() - D(real).mean() + 10 * gradient_penalty
d_loss.backward()
record("gp", (gradients, gradient_penalty, {n: p.grad for n, p in D.named_parameters()}))
finish()

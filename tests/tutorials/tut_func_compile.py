"""PyTorch 2 and functional-style bits: torch.compile of a module and of a step, jit.trace/script,
torch.func (functional_call, grad, vmap, jacrev), parametrizations, parameter vectors, module
bookkeeping (dtype casts, requires_grad_, buffers, state_dict loading errors). Printed output
must match torch's."""
import numpy as np
import torch
import torch.nn as nn

from tut_common import finish
rng = np.random.RandomState(0)
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(4, 8); self.l2 = nn.Linear(8, 2)
    def forward(self, x):
        return self.l2(torch.relu(self.l1(x)))
m = MLP()
sd = {k: torch.tensor(rng.uniform(-0.5, 0.5, tuple(v.shape)).astype(np.float32)) for k, v in m.state_dict().items()}
m.load_state_dict(sd)
x = torch.tensor(rng.randn(5, 4).astype(np.float32))
cm = torch.compile(m)
print(torch.allclose(cm(x), m(x)), cm(x).shape)
def step(x):
    return (m(x) ** 2).mean()
cstep = torch.compile(step, mode="reduce-overhead")
print(f"{cstep(x).item():.5f}", f"{step(x).item():.5f}")
ts = torch.jit.trace(m, x)
print(torch.allclose(ts(x), m(x)))
sc = torch.jit.script(m)
print(torch.allclose(sc(x), m(x)))
from torch.func import functional_call, grad, vmap, jacrev
params = dict(m.named_parameters())
def loss_fn(p, x):
    return functional_call(m, p, (x,)).pow(2).sum()
g = grad(loss_fn)(params, x)
print({k: tuple(v.shape) for k, v in g.items()})
print(f"{g['l1.weight'].sum().item():.5f}")
print(vmap(lambda r: r.sum())(x))
print(jacrev(lambda v: v.sin())(x[0]).shape)
from torch.nn.utils import parametrize
class Sym(nn.Module):
    def forward(self, X): return X.triu() + X.triu(1).T
lin = nn.Linear(3, 3)
with torch.no_grad(): lin.weight.copy_(torch.tensor(rng.randn(3, 3).astype(np.float32)))
parametrize.register_parametrization(lin, "weight", Sym())
print(torch.allclose(lin.weight, lin.weight.T), [n for n, _ in lin.named_parameters()])
wn = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2))
print([n for n, _ in wn.named_parameters()])
sn = nn.utils.parametrizations.spectral_norm(nn.Linear(3, 2))
print([n for n, _ in sn.named_parameters()])
print(nn.utils.parameters_to_vector(m.parameters()).shape)
v = nn.utils.parameters_to_vector(m.parameters()); nn.utils.vector_to_parameters(v * 2, m.parameters()); print(f"{m.l1.bias.sum().item():.5f}")

print(torch.nn.utils.rnn.pad_sequence([torch.ones(2), torch.ones(3)], batch_first=True, padding_value=-1))
print(sum(p.numel() for p in m.parameters() if p.requires_grad))
m.half(); print(m.l1.weight.dtype); m.float(); m.double(); print(m.l2.bias.dtype); m.to(torch.float32)
m.requires_grad_(False); print(all(not p.requires_grad for p in m.parameters()))
print(m.training, m.eval().training, m.train(False).training)
m.zero_grad(); print(m.l1.weight.grad)
print(type(m.state_dict()).__name__, list(m.state_dict())[:2])
m.register_buffer("steps", torch.tensor(0)); print([n for n, _ in m.named_buffers()], "steps" in m.state_dict())
m.register_buffer("tmp", torch.zeros(1), persistent=False); print("tmp" in m.state_dict())
print(m.get_submodule("l1"), m.get_parameter("l1.bias").shape)
m2 = MLP(); print(m2.load_state_dict(m.state_dict(), strict=False))
try:
    m2.load_state_dict({"l1.weight": torch.zeros(8, 4)})
except RuntimeError as e:
    print(str(e).splitlines()[0])
try:
    m2.load_state_dict({**m2.state_dict(), "l1.weight": torch.zeros(3, 3)})
except RuntimeError as e:
    print(str(e).splitlines()[0])
finish()

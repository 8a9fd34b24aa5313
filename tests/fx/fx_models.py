"""Model code written once and built against either library (``T`` is torch or jtorch), so the same
source is traced by real torch.fx and by jtorch.fx."""
import math
import operator

import numpy as np
import torch

import jtorch


def models(T):
    nn, F = T.nn, T.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 8)
            self.act = nn.ReLU()
            self.drop = nn.Dropout(0.0)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            h = self.drop(self.act(self.fc1(x)))
            h = F.relu(h) + T.sigmoid(h) * 2
            return self.fc2(h).softmax(dim=-1)

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(c)

        def forward(self, x):
            return F.relu(self.bn(self.conv(x)) + x)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
            self.block = Block(4)
            self.head = nn.Linear(4 * 4 * 4, 5)

        def forward(self, x):
            x = self.block(self.stem(x))
            x = F.max_pool2d(x, 2)
            x = T.flatten(x, 1)
            return self.head(x.view(x.size(0), -1))

    class Attention(nn.Module):
        def __init__(self, dim=8, heads=2, block=5):
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
            self.norm = nn.LayerNorm(dim)
            self.register_buffer("mask", T.tril(T.ones(block, block)).view(1, 1, block, block))

        def forward(self, x):
            B, L, C = x.size()
            q, k, v = self.qkv(self.norm(x)).split(C, dim=2)
            q = q.view(B, L, self.heads, C // self.heads).transpose(1, 2)
            k = k.view(B, L, self.heads, C // self.heads).transpose(1, 2)
            v = v.view(B, L, self.heads, C // self.heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.mask == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, L, C)
            return x + self.proj(y)

    class Flagged(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)
            self.scale = nn.Parameter(T.ones(4) * 0.5)

        def forward(self, x, double=False, bias=None, repeat=2):
            for _ in range(repeat):
                x = self.lin(x) * self.scale
            if double:
                x = x * 2
            if bias is not None:
                x = x + bias
            return x, x.shape[-1]

    return dict(MLP=MLP, CNN=CNN, Attention=Attention, Flagged=Flagged)


INPUTS = {"MLP": (5, 6), "CNN": (2, 3, 8, 8), "Attention": (2, 5, 8), "Flagged": (3, 4)}


def pair(name, seed=0):
    """The same model (same weights) in torch and jtorch, in eval mode."""
    torch.manual_seed(seed)
    t = models(torch)[name]()
    j = models(jtorch)[name]()
    j.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return t.eval(), j.eval()


def qualified(op, target):
    """A node's target as text comparable across the libraries: functions by where they live
    (operator / builtins / torch's namespaces), methods, modules and attributes by name."""
    if not callable(target):
        return str(target)
    if getattr(operator, getattr(target, "__name__", ""), None) is target:
        return "operator." + target.__name__
    from torch.fx.node import _get_qualified_name
    if isinstance(target, jtorch._dispatch.OpDef) or (getattr(target, "__module__", "") or "").startswith("jtorch"):
        from jtorch.fx.graph import _qualified_name
        q = _qualified_name(target)
    else:
        q = _get_qualified_name(target)
        short = q.rpartition(".")[2]
        if q == "torch." + short and getattr(torch.nn.functional, short, None) is target:
            q = "torch.nn.functional." + short  # torch.conv2d is also F.conv2d
    # torch keeps some functional ops in private modules (torch._C._nn.linear): compare the public name
    if q.startswith("torchvision."):  # the module layouts differ: torchvision's function by name
        return "torchvision:" + q.rpartition(".")[2]
    return q.replace("torch._C._nn.", "torch.nn.functional.")


def structure(gm):
    return [(n.op, n.name, qualified(n.op, n.target)) for n in gm.graph.nodes]


def np_of(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x.detach())

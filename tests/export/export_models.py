"""Models written once against either library (``T`` is torch or jtorch), exported by both."""
import numpy as np


def models(T):
    nn, F = T.nn, T.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.bn = nn.BatchNorm1d(3)
            self.register_buffer("shift", T.linspace(-1.0, 1.0, 3))
            self.register_buffer("scratch", T.zeros(3), persistent=False)
            self.k = T.arange(3.0)  # a plain tensor attribute: a lifted constant

        def forward(self, xs, d, scale=2):
            h = self.bn(self.fc(xs[0]) + d["b"]) + self.shift + self.k
            return {"out": F.gelu(h) * scale, "aux": (xs[1] + 1).sum(dim=-1)}

    class Attention(nn.Module):
        def __init__(self, dim=8, heads=2):
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            B, L, C = x.shape
            q, k, v = self.qkv(x).view(B, L, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
            att = (q @ k.transpose(-2, -1)) * (1.0 / (C // self.heads) ** 0.5)
            y = att.softmax(dim=-1) @ v
            return self.proj(y.transpose(1, 2).reshape(B, L, C))

    class Branchy(nn.Module):
        def forward(self, x):
            if x.shape[0] > 4:
                return x + 1
            return x - 1

    class DataBranch(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x + 1
            return x - 1

    class ItemValue(nn.Module):
        def forward(self, x):
            return x * 2 + T.full((2,), 1.5) * x.max().item()

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            h = F.relu(self.bn(self.conv(x)))
            h = F.adaptive_avg_pool2d(h, 1).flatten(1)
            return self.head(h)

    return dict(Net=Net, Attention=Attention, Branchy=Branchy, DataBranch=DataBranch, ItemValue=ItemValue,
                CNN=CNN)


def both(name, seed=0):
    """The same model in torch and jtorch (jtorch gets torch's initial weights)."""
    import torch
    import jtorch
    torch.manual_seed(seed)
    t = models(torch)[name]()
    j = models(jtorch)[name]()
    sd = {k: v.detach().numpy().copy() for k, v in t.state_dict().items()}
    j.load_state_dict(sd)
    return t, j


def arrays(rng, *shapes):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def np_of(x):
    import jtorch
    if isinstance(x, jtorch.Tensor):
        return x.detach().numpy()
    return x.detach().numpy()

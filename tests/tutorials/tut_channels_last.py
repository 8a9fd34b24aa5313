"""(beta) Channels Last memory format: `x.to(memory_format=torch.channels_last)` keeps the shape and
changes the strides (printed), `is_contiguous()` with and without a memory format, `contiguous(
memory_format=...)`, `empty(..., memory_format=)`, `torch.channels_last_3d`, which ops keep the format
(pointwise, conv, batch norm, relu, pooling, `empty_like`/`clone` with `preserve_format`), a
channels-last conv model (`model.to(memory_format=...)` converts 4-d parameters only) trained a few SGD
steps with outputs, losses and weights equal to the contiguous model's, and a batch of size 1 or one
channel (ambiguous strides)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, np_params, record

rng = np.random.RandomState(101)
cl = torch.channels_last
x = torch.from_numpy(rng.randn(4, 3, 8, 6).astype(np.float32))
print(x.shape, x.stride(), x.is_contiguous())
y = x.to(memory_format=cl)
print(y.shape, y.stride(), y.is_contiguous(), y.is_contiguous(memory_format=cl))
record("cl_values_equal", torch.equal(x, y))
record("cl_strides", (x.stride(), y.stride(), y.contiguous().stride()))
record("cl_contig_flags", (y.is_contiguous(), y.is_contiguous(memory_format=cl), x.is_contiguous(memory_format=cl)))
z = x.contiguous(memory_format=cl)
record("contiguous_cl", (z.stride(), torch.equal(z, x)))
e = torch.empty(2, 3, 4, 5, memory_format=cl)
record("empty_cl", (e.stride(), e.is_contiguous(memory_format=cl)))
v = torch.from_numpy(rng.randn(2, 3, 4, 5, 6).astype(np.float32)).to(memory_format=torch.channels_last_3d)
record("cl3d", (v.stride(), v.is_contiguous(memory_format=torch.channels_last_3d)))
# a permuted NHWC tensor viewed back as NCHW is channels-last without a copy
nhwc = torch.from_numpy(rng.randn(2, 5, 4, 3).astype(np.float32))
as_nchw = nhwc.permute(0, 3, 1, 2)
record("permuted_is_cl", (as_nchw.stride(), as_nchw.is_contiguous(memory_format=cl), as_nchw.is_contiguous()))

# which ops keep the format
ops = {
    "add": y + 1,
    "mul": y * y,
    "relu": F.relu(y),
    "clone": y.clone(),
    "clone_contig": y.clone(memory_format=torch.contiguous_format),
    "empty_like": torch.empty_like(y),
    "zeros_like": torch.zeros_like(y),
    "sigmoid": torch.sigmoid(y),
    "max_pool": F.max_pool2d(y, 2),
    "avg_pool": F.avg_pool2d(y, 2),
}
record("op_formats", {k: (t.is_contiguous(memory_format=cl), t.is_contiguous()) for k, t in ops.items()})
record("op_values", {k: t for k, t in ops.items() if k not in ("empty_like",)})


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        h = F.relu(self.bn(self.conv1(x)))
        h = F.relu(self.conv2(h))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


ref = np_params(Net(), 102)
model = np_params(Net(), 102).to(memory_format=cl)
record("param_formats", {n: (p.dim(), p.is_contiguous(memory_format=cl) if p.dim() == 4 else None, p.stride())
                         for n, p in model.named_parameters()})
feat = model.conv1(y)
record("conv_out_cl", (feat.is_contiguous(memory_format=cl), feat.stride()))
record("bn_out_cl", model.bn(feat).is_contiguous(memory_format=cl))
labels = torch.from_numpy(rng.randint(0, 5, 4).astype(np.int64))
logs = []
for net in (ref, model):
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    inp = x if net is ref else y
    losses = []
    for step in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(net(inp), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    logs.append(losses)
record("losses", logs)
record("cl_weights", dict(model.named_parameters()))
record("cl_grad_format", model.conv1.weight.grad.is_contiguous(memory_format=cl))
record("weights_match", all(torch.allclose(a, b, atol=1e-5) for a, b in zip(ref.parameters(), model.parameters())))
record("bn_stats", (model.bn.running_mean, model.bn.running_var))

# ambiguous cases: N=1 or C=1 tensors are both formats at once
one = torch.from_numpy(rng.randn(1, 3, 4, 4).astype(np.float32)).to(memory_format=cl)
mono = torch.from_numpy(rng.randn(2, 1, 4, 4).astype(np.float32)).to(memory_format=cl)
record("ambiguous", [(t.stride(), t.is_contiguous(), t.is_contiguous(memory_format=cl)) for t in (one, mono)])
errors = {}
for name, call in (("3d_input", lambda: torch.randn(3, 4, 5).to(memory_format=cl)),
                   ("cl3d_on_4d", lambda: torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last_3d))):
    try:
        call()
        errors[name] = None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        errors[name] = type(e).__name__
record("errors", errors)
finish()

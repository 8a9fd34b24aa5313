"""Model surgery and inference recipes: fusing Conv2d+BatchNorm2d and Linear+BatchNorm1d for inference
(`torch.nn.utils.fusion.fuse_conv_bn_eval` / `fuse_linear_bn_eval`, equal outputs), replacing every
ReLU by GELU through `named_modules` + `set_submodule`, `get_submodule` / `get_parameter` /
`get_buffer`, freezing a backbone (`requires_grad_(False)`) and fine-tuning the head with an optimizer on
the trainable parameters only, `parameters_to_vector` / `vector_to_parameters` for a weight perturbation,
`get_total_norm` + `clip_grads_with_norm_`, global `register_module_forward_hook`, `Module.apply`
initialisation, `double()` / `half()` conversions, `skip_init`, `torch.inference_mode`."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import clip_grads_with_norm_, get_total_norm, parameters_to_vector, vector_to_parameters
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from tut_common import finish, np_params, record

rng = np.random.RandomState(551)


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.bn2 = nn.BatchNorm2d(8)
        self.act2 = nn.ReLU()

    def forward(self, x):
        return self.act2(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)
        self.bn = nn.BatchNorm1d(10)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(10, 4))

    def forward(self, x):
        h = torch.flatten(self.pool(self.backbone(x)), 1)
        return self.head(self.bn(self.fc(h)))


model = np_params(Classifier(), 552).eval()
x = torch.tensor(rng.randn(5, 3, 9, 9).astype(np.float32))
ref = model(x)
record("ref", ref)

# fuse conv+bn and linear+bn for inference
fused = copy.deepcopy(model)
fused.backbone.conv1 = fuse_conv_bn_eval(fused.backbone.conv1, fused.backbone.bn1)
fused.backbone.bn1 = nn.Identity()
fused.backbone.conv2 = fuse_conv_bn_eval(fused.backbone.conv2, fused.backbone.bn2)
fused.backbone.bn2 = nn.Identity()
fused.fc = fuse_linear_bn_eval(fused.fc, fused.bn)
fused.bn = nn.Identity()
out = fused(x)
record("fused", (out, torch.allclose(out, ref, atol=1e-5), fused.backbone.conv1.weight, fused.fc.bias))
print(fused.backbone)
record("fused_param_count", sum(p.numel() for p in fused.parameters()))

# replace every ReLU by GELU
surgery = copy.deepcopy(model)
relus = [name for name, m in surgery.named_modules() if isinstance(m, nn.ReLU)]
for name in relus:
    surgery.set_submodule(name, nn.GELU(approximate="tanh"))
record("replaced", relus)
record("gelu_out", surgery(x))
record("lookups", (type(surgery.get_submodule("head.0")).__name__, surgery.get_parameter("backbone.conv2.bias"),
                   surgery.get_buffer("backbone.bn1.running_var")))
try:
    surgery.get_submodule("backbone.conv9")
except AttributeError as e:
    record("missing_submodule", "conv9" in str(e))

# freeze the backbone, fine-tune the rest
tune = copy.deepcopy(model).train()
tune.backbone.requires_grad_(False)
tune.backbone.eval()  # frozen BatchNorm statistics too
trainable = [p for p in tune.parameters() if p.requires_grad]
record("trainable", [n for n, p in tune.named_parameters() if p.requires_grad])
opt = torch.optim.SGD(trainable, lr=0.1, momentum=0.9)
target = torch.tensor(rng.randint(0, 4, 5).astype(np.int64))
losses, norms = [], []
for _ in range(5):
    opt.zero_grad()
    loss = F.cross_entropy(tune(x), target)
    loss.backward()
    grads = [p.grad for p in trainable]
    total = get_total_norm(grads, norm_type=2.0)
    clip_grads_with_norm_(trainable, max_norm=0.5, total_norm=total)
    norms.append(total.item())
    opt.step()
    losses.append(loss.item())
record("tune_losses", losses)
record("tune_norms", norms)
record("backbone_untouched", (torch.equal(tune.backbone.conv1.weight, model.backbone.conv1.weight),
                              tune.backbone.conv1.weight.grad is None,
                              torch.equal(tune.backbone.bn1.running_mean, model.backbone.bn1.running_mean)))
record("tuned_head", (tune.head[1].weight, tune.bn.running_mean))

# flatten all parameters to one vector and back
vec = parameters_to_vector(model.parameters())
record("vector", (vec.shape, vec[:6], vec.norm()))
perturbed = copy.deepcopy(model)
noise = torch.tensor(rng.randn(vec.numel()).astype(np.float32)) * 1e-2
vector_to_parameters(vec + noise, perturbed.parameters())
record("perturbed", (perturbed(x), (parameters_to_vector(perturbed.parameters()) - vec - noise).abs().max() < 1e-6))

# a global forward hook sees every module call
seen = []
handle = nn.modules.module.register_module_forward_hook(
    lambda module, args, output: seen.append(type(module).__name__))
model(x)
handle.remove()
model(x)
record("global_hook", seen)


def init_weights(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.weight.copy_(torch.linspace(-0.5, 0.5, m.weight.numel()).view_as(m.weight))
            m.bias.fill_(0.01)


fresh = Classifier().apply(init_weights)
record("applied", (fresh.fc.weight, fresh.head[1].bias))
skipped = torch.nn.utils.skip_init(nn.Linear, 4, 3)
record("skip_init", (tuple(skipped.weight.shape), skipped.weight.requires_grad, type(skipped.weight).__name__))

# dtype conversions and inference mode
d = copy.deepcopy(model).double()
record("double", (d(x.double()), str(d.backbone.bn1.running_mean.dtype), str(d.backbone.bn1.num_batches_tracked.dtype)))
h = copy.deepcopy(model).half()
record("half_dtypes", sorted({str(p.dtype) for p in h.parameters()}))
with torch.inference_mode():
    inf = model(x)
record("inference_mode", (inf.requires_grad, inf.is_inference(), torch.allclose(inf, ref)))
finish()

"""Pruning tutorial style: torch.nn.utils.prune on a LeNet — l1_unstructured on weights and biases,
ln_structured along a dimension, iterative pruning (the masks multiply: PruningContainer),
named_parameters/named_buffers (weight_orig, weight_mask), the forward pre-hook, state_dict keys,
prune.remove making it permanent, global_unstructured over several layers, a custom
BasePruningMethod with prune.identity, and training a pruned net (pruned weights stay zero)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune

from tut_common import finish, np_params, record

rng = np.random.RandomState(111)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, int(x.nelement() / x.shape[0]))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


model = np_params(LeNet(), 112)
module = model.conv1
print(list(module.named_parameters())[0][0], list(module.named_buffers()))
prune.l1_unstructured(module, name="weight", amount=0.3)
record("after_l1_params", [n for n, _ in module.named_parameters()])
record("after_l1_buffers", [n for n, _ in module.named_buffers()])
record("mask", module.weight_mask)
record("pruned_weight", module.weight)
print(type(module._forward_pre_hooks[next(iter(module._forward_pre_hooks))]).__name__)
prune.l1_unstructured(module, name="bias", amount=3)
record("bias_mask", module.bias_mask)
prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
record("iterative_mask", module.weight_mask)
hook = next(h for h in module._forward_pre_hooks.values() if getattr(h, "_tensor_name", "") == "weight")
record("container", (type(hook).__name__, [type(m).__name__ for m in hook]))
record("state_dict_keys", list(model.state_dict().keys()))
prune.remove(module, "weight")
record("after_remove", ([n for n, _ in module.named_parameters()], [n for n, _ in module.named_buffers()],
                        module.weight))

new_model = np_params(LeNet(), 113)
for name, mod in new_model.named_modules():
    if isinstance(mod, torch.nn.Conv2d):
        prune.l1_unstructured(mod, name="weight", amount=0.2)
    elif isinstance(mod, torch.nn.Linear):
        prune.l1_unstructured(mod, name="weight", amount=0.4)
record("all_buffers", list(dict(new_model.named_buffers()).keys()))

model = np_params(LeNet(), 114)
parameters_to_prune = ((model.conv1, "weight"), (model.conv2, "weight"), (model.fc1, "weight"),
                       (model.fc2, "weight"), (model.fc3, "weight"))
prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured, amount=0.2)
sparsity = []
for m in (model.conv1, model.conv2, model.fc1, model.fc2, model.fc3):
    sparsity.append(100. * float(torch.sum(m.weight == 0)) / float(m.weight.nelement()))
total = sum(float(torch.sum(m.weight == 0)) for m, _ in parameters_to_prune)
print("Sparsity per layer: " + ", ".join(f"{s:.2f}%" for s in sparsity))
print(f"Global sparsity: {100. * total / sum(m.weight.nelement() for m, _ in parameters_to_prune):.2f}%")
record("global_sparsity", sparsity)


class FooBarPruningMethod(prune.BasePruningMethod):
    """Prune every other entry in a tensor"""
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        mask = default_mask.clone()
        mask.view(-1)[::2] = 0
        return mask


def foobar_unstructured(module, name):
    FooBarPruningMethod.apply(module, name)
    return module


foobar_unstructured(model.fc3, name="bias")
record("custom_mask", model.fc3.bias_mask)
prune.identity(model.fc2, "bias")
record("identity_mask", model.fc2.bias_mask)

# training keeps pruned weights at zero (the gradient reaches weight_orig through the mask)
x = torch.tensor(rng.randn(8, 1, 28, 28).astype(np.float32))
y = torch.tensor(rng.randint(0, 10, 8))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
losses = []
for step in range(4):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
record("losses", losses)
record("orig_grad", model.fc1.weight_orig.grad)
record("zeros_kept", [int((m.weight == 0).sum()) for m, _ in parameters_to_prune])
record("is_pruned", (prune.is_pruned(model), prune.is_pruned(nn.Linear(2, 2))))
for m, n in parameters_to_prune:
    prune.remove(m, n)
record("final_params", dict(model.named_parameters()))
finish()

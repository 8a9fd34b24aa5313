"""torchvision model zoo as fine-tuning scripts use it, beyond ResNet, each model class built small
from its public config (the stock sizes cost minutes of compilation): MobileNetV2 (width_mult,
inverted_residual_setting), MobileNetV3 (InvertedResidualConfig: Hardswish, squeeze-excitation
with Hardsigmoid), ShuffleNetV2 (channel shuffle, chunk), EfficientNet from MBConvConfig and
FusedMBConvConfig (SiLU, StochasticDepth at p=0), DenseNet, ConvNeXt (CNBlockConfig: LayerNorm2d,
layer scale, depthwise 7x7), RegNet (BlockParams, grouped convs, SE), VisionTransformer (class
token, encoder) and SwinTransformer (shifted windows, relative position bias), each with
num_classes set and dropout 0, its weights from numpy; for each: eval-mode logits, a train-mode step (BatchNorm batch
statistics, running stats updated, SGD with momentum and weight decay), the classifier replaced
the way transfer-learning scripts do (model.classifier[-1] / model.fc / model.heads.head) with the
backbone frozen, and the parameter count and state_dict keys."""
import numpy as np
import torch
import torch.nn as nn

from tut_common import finish, np_params, record  # noqa: I001 (before torchvision: see tut_common)
import torchvision
from torchvision.models import convnext as cnx
from torchvision.models import efficientnet as eff
from torchvision.models import mobilenetv3 as mnv3
from torchvision.models import regnet as rgn

rng = np.random.RandomState(0)
images = torch.from_numpy(rng.rand(4, 3, 32, 32).astype(np.float32))
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
images = (images - mean) / std
labels = torch.tensor([1, 3, 0, 7])
M = torchvision.models

V3 = mnv3.InvertedResidualConfig  # (in, kernel, expanded, out, use_se, activation, stride, dilation, width)
builders = {
    "mobilenet_v2": lambda: M.MobileNetV2(num_classes=10, width_mult=0.5, dropout=0.0,
                                          inverted_residual_setting=[[1, 8, 1, 1], [6, 16, 2, 2]]),
    "mobilenet_v3": lambda: M.MobileNetV3([V3(8, 3, 16, 8, True, "RE", 2, 1, 1.0),
                                           V3(8, 5, 24, 16, True, "HS", 2, 1, 1.0),
                                           V3(16, 3, 32, 16, False, "HS", 1, 1, 1.0)],
                                          last_channel=32, num_classes=10, dropout=0.0),
    "shufflenet_v2": lambda: M.ShuffleNetV2([2, 1, 1], [8, 16, 32, 48, 64], num_classes=10),
    "efficientnet": lambda: M.EfficientNet([eff.MBConvConfig(1, 3, 1, 8, 8, 1), eff.MBConvConfig(4, 5, 2, 8, 16, 2)],
                                           dropout=0.0, stochastic_depth_prob=0.0, num_classes=10),
    "efficientnet_v2": lambda: M.EfficientNet([eff.FusedMBConvConfig(1, 3, 1, 8, 8, 1),
                                               eff.FusedMBConvConfig(4, 3, 2, 8, 16, 1),
                                               eff.MBConvConfig(4, 3, 2, 16, 24, 1)],
                                              dropout=0.0, stochastic_depth_prob=0.0, num_classes=10,
                                              last_channel=32),
    "densenet": lambda: M.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16, bn_size=2,
                                   num_classes=10),
    "convnext": lambda: M.ConvNeXt([cnx.CNBlockConfig(8, 16, 1), cnx.CNBlockConfig(16, None, 2)],
                                   stochastic_depth_prob=0.0, layer_scale=0.5, num_classes=10),
    "regnet": lambda: M.RegNet(rgn.BlockParams.from_init_params(depth=3, w_0=8, w_a=4.0, w_m=2.0,
                                                                group_width=4, se_ratio=0.25),
                               stem_width=8, num_classes=10),
    "vit": lambda: M.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                       hidden_dim=16, mlp_dim=32, num_classes=10),
    "swin": lambda: M.SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[2, 1], num_heads=[2, 2],
                                      window_size=[4, 4], stochastic_depth_prob=0.0, num_classes=10),
}


def head_of(name, model):
    if name in ("shufflenet_v2", "regnet"):
        return "fc"
    if name in ("vit",):
        return "heads"
    if name == "swin":
        return "head"
    return "classifier"


for i, (name, build) in enumerate(builders.items()):
    model = np_params(build(), 10 + i)
    n_params = sum(p.numel() for p in model.parameters())
    record(f"{name}_nparams", n_params)
    record(f"{name}_keys", list(model.state_dict().keys()))
    model.eval()
    with torch.no_grad():
        logits = model(images)
    record(f"{name}_eval", logits)
    pred = logits.argmax(1)
    print(f"{name:18s} params {n_params:7d} eval logits {tuple(logits.shape)} pred {pred.tolist()}")

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    losses = []
    for step in range(1):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    record(f"{name}_train_losses", losses)
    bufs = {k: v for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    if bufs:
        last = list(bufs)[-3:]
        record(f"{name}_buffers", {k: bufs[k] for k in last})
    model.eval()
    with torch.no_grad():
        record(f"{name}_eval_after", model(images))

    # transfer learning: freeze the backbone, a new last layer
    for p in model.parameters():
        p.requires_grad = False
    attr = head_of(name, model)
    head = getattr(model, attr)
    if isinstance(head, nn.Sequential):
        idx = len(head) - 1
        while not isinstance(head[idx], (nn.Linear, nn.Conv2d)):
            idx -= 1
        old = head[idx]
        if isinstance(old, nn.Conv2d):
            head[idx] = nn.Conv2d(old.in_channels, 5, kernel_size=1)
        else:
            head[idx] = nn.Linear(old.in_features, 5)
        new = head[idx]
    else:
        new = nn.Linear(head.in_features, 5)
        setattr(model, attr, new)
    np_params(new, 99)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    record(f"{name}_trainable", trainable)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    model.train()
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(images), labels % 5)
    loss.backward()
    opt.step()
    record(f"{name}_ft_loss", loss.item())
    record(f"{name}_ft_weight", new.weight)
finish()

"""A small Vision Transformer trained on synthetic images: torchvision transforms v2 (RandomResizedCrop,
RandomHorizontalFlip, ToImage/ToDtype/Normalize, Resize/CenterCrop) and CutMix/MixUp through
RandomChoice after the DataLoader; a patch embedding by Conv2d, class token and learned positions,
nn.TransformerEncoder (pre-norm, GELU, batch_first), AdamW with warmup + cosine, soft-label
cross-entropy. Random crops and CutMix/MixUp draws come from the framework's RNG: the program records
what does not depend on the stream (shapes, label sums, that a mixed image is its labels' mixture);
the recorded training uses deterministic preprocessing and numpy-drawn MixUp."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from tut_common import finish, np_params, record  # (before torchvision: see tut_common)
from torchvision.transforms import v2  # noqa: E402

NUM_CLASSES = 4
rng = np.random.RandomState(0)
# synthetic "images": class-dependent stripes and blobs plus noise, uint8 CHW
N, H = 32, 20
labels_np = np.arange(N) % NUM_CLASSES
imgs = np.zeros((N, 3, H, H), np.float32)
yy, xx = np.mgrid[:H, :H]
for i, c in enumerate(labels_np):
    pattern = [np.sin(xx / 2.0), np.sin(yy / 2.0), np.exp(-((xx - 10) ** 2 + (yy - 10) ** 2) / 20.0),
               ((xx + yy) % 6 < 3).astype(np.float32)][c]
    imgs[i] = pattern[None] * rng.uniform(0.6, 1.0, (3, 1, 1)) + rng.uniform(0, 0.3, (3, H, H))
imgs_u8 = torch.from_numpy((np.clip(imgs, 0, 1.5) / 1.5 * 255).astype(np.uint8))
labels = torch.from_numpy(labels_np.astype(np.int64))

# 1. augmentation pipeline (random): only stream-independent facts recorded
train_tf = v2.Compose([
    v2.RandomResizedCrop(16, scale=(0.5, 1.0), antialias=True),
    v2.RandomHorizontalFlip(),
    v2.ToDtype(torch.float32, scale=True),
    v2.Normalize(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25]),
])
aug = train_tf(imgs_u8[0])
record("aug_shape_dtype", (aug.shape, aug.dtype))
# (resized as float: torchvision v2 resizes uint8 with torch's fixed-point antialias kernel, whose
# rounding jtorch does not reproduce; see the README)
eval_tf = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Resize(18, antialias=True), v2.CenterCrop(16),
                      v2.Normalize(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])])
X = torch.stack([eval_tf(im) for im in imgs_u8])
record("eval_images", X)

cutmix = v2.CutMix(num_classes=NUM_CLASSES)
mixup = v2.MixUp(alpha=0.4, num_classes=NUM_CLASSES)
cutmix_or_mixup = v2.RandomChoice([cutmix, mixup])
# (checked on images of distinct float pixels, so a pasted pixel never equals the one it replaces)
Z = torch.from_numpy(rng.rand(N, 3, 16, 16).astype(np.float32))
loader = DataLoader(TensorDataset(Z, labels), batch_size=8, shuffle=False)
checks = []
for xb, yb in loader:
    for name, t in (("cutmix", cutmix), ("mixup", mixup), ("choice", cutmix_or_mixup)):
        mx, my = t(xb, yb)
        ok_shape = tuple(mx.shape) == tuple(xb.shape) and tuple(my.shape) == (8, NUM_CLASSES)
        ok_sum = bool(torch.allclose(my.sum(1), torch.ones(8)))
        # the weight of each sample's own class (neighbours have other classes here)
        lam = my[torch.arange(8), yb]
        prev = xb.roll(1, 0)
        if name == "mixup":
            ok_mix = bool(torch.allclose(mx, lam.view(-1, 1, 1, 1) * xb + (1 - lam.view(-1, 1, 1, 1)) * prev,
                                         atol=1e-5))
        elif name == "cutmix":
            own = (mx == xb).all(1).float().mean((1, 2))
            ok_mix = bool(((mx == xb) | (mx == prev)).all()) and bool(torch.allclose(own, lam, atol=1e-6))
        else:
            ok_mix = True
        checks.append((name, ok_shape, ok_sum, ok_mix, my.dtype))
record("mix_checks", checks)
print("CutMix/MixUp:", cutmix, mixup)


# 2. the model
class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # (N, patches, dim)


class ViT(nn.Module):
    def __init__(self, img=16, patch=4, dim=32, depth=2, heads=4, classes=NUM_CLASSES):
        super().__init__()
        self.patch_embed = PatchEmbed(patch, dim)
        n = (img // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        x = self.encoder(x)
        return self.head(self.norm(x[:, 0]))


model = np_params(ViT(), 1)
record("n_params", sum(p.numel() for p in model.parameters()))
decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos_embed" not in n and "cls_token" not in n]
no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "pos_embed" not in n and
                                                              "cls_token" not in n)]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=2e-3, betas=(0.9, 0.99))
steps, warmup = 12, 3
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / (steps - warmup))))

# 3. training with numpy-drawn MixUp (same mixing in both runs) and soft-label cross-entropy
mix_rng = np.random.RandomState(5)
losses, lrs = [], []
model.train()
for step in range(steps):
    idx = mix_rng.choice(N, 8, replace=False)
    xb, yb = X[torch.from_numpy(idx)], labels[torch.from_numpy(idx)]
    lam = float(mix_rng.beta(0.4, 0.4))
    soft = F.one_hot(yb, NUM_CLASSES).float()
    xb = lam * xb + (1 - lam) * xb.roll(1, 0)
    soft = lam * soft + (1 - lam) * soft.roll(1, 0)
    loss = F.cross_entropy(model(xb), soft, label_smoothing=0.1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    losses.append(loss.item())
    lrs.append(sched.get_last_lr()[0])
record("losses", losses)
record("lrs", lrs)
model.eval()
with torch.no_grad():
    logits = model(X)
record("eval_logits", logits)
record("eval_acc", (logits.argmax(1) == labels).float().mean())
record("attn_in_proj", model.encoder.layers[0].self_attn.in_proj_weight)
print(f"final loss {losses[-1]:.4f}")
finish()

"""Segmentation training style (a small U-Net): DoubleConv blocks with BatchNorm and ReLU(inplace=True),
MaxPool2d down, ConvTranspose2d and F.interpolate(bilinear, align_corners=True) up, F.pad to match
odd sizes, torch.cat skip connections, BCEWithLogitsLoss(pos_weight) + a soft Dice loss, Adam with
ReduceLROnPlateau, sigmoid > 0.5 masks, IoU per image; a multi-class head with CrossEntropyLoss over
(N, C, H, W) with ignore_index and class weights, and F.one_hot(...).permute for the Dice term."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, np_params, record

rng = np.random.RandomState(141)
H, W = 19, 21  # odd sizes: the up path pads to the skip connection's size
imgs, masks = [], []
yy, xx = np.mgrid[0:H, 0:W]
for _ in range(8):
    cy, cx, r = rng.uniform(5, 14), rng.uniform(5, 16), rng.uniform(3, 6)
    m = ((yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2).astype(np.float32)
    img = np.stack([m * 0.8 + 0.2 * rng.rand(H, W), 0.5 * rng.rand(H, W), (1 - m) * 0.6 + 0.1 * rng.rand(H, W)])
    imgs.append(img)
    masks.append(m)
images = torch.tensor(np.stack(imgs).astype(np.float32))
targets = torch.tensor(np.stack(masks)[:, None])


class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, in_channels, out_channels, bilinear=True):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, bilinear=False):
        super().__init__()
        factor = 2 if bilinear else 1
        self.inc = DoubleConv(n_channels, 8)
        self.down1 = Down(8, 16)
        self.down2 = Down(16, 32 // factor)
        self.up1 = Up(32, 16 // factor, bilinear)
        self.up2 = Up(16, 8, bilinear)
        self.outc = nn.Conv2d(8, n_classes, kernel_size=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        return self.outc(x)


def dice_loss(logits, target, eps=1e-6):
    probs = torch.sigmoid(logits)
    inter = (probs * target).sum(dim=(2, 3))
    union = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3))
    return 1 - ((2 * inter + eps) / (union + eps)).mean()


for bilinear in (False, True):
    model = np_params(UNet(3, 1, bilinear=bilinear), 142, scale=0.3)
    criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0]))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min", patience=0, factor=0.5)
    losses, lrs = [], []
    for epoch in range(4):
        model.train()
        for i in range(0, 8, 4):
            x, t = images[i:i + 4], targets[i:i + 4]
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = criterion(logits, t) + dice_loss(logits, t)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            val = criterion(model(images), targets).item()
        scheduler.step(val if epoch != 2 else val + 1.0)  # a worse epoch: the lr halves
        lrs.append(optimizer.param_groups[0]["lr"])
    with torch.no_grad():
        pred = torch.sigmoid(model(images)) > 0.5
        inter = (pred & targets.bool()).sum(dim=(1, 2, 3)).float()
        union = (pred | targets.bool()).sum(dim=(1, 2, 3)).float()
        iou = inter / union.clamp(min=1)
    print(f"bilinear={bilinear} final loss {losses[-1]:.4f} mean IoU {iou.mean().item():.3f} lrs {lrs}")
    record(f"losses_{bilinear}", losses)
    record(f"iou_{bilinear}", iou)
    record(f"params_{bilinear}", {k: v for k, v in model.state_dict().items() if "up" in k or "outc" in k})

# a multi-class head: CrossEntropyLoss over (N, C, H, W), ignore_index, class weights, one-hot Dice
n_classes = 3
labels = targets[:, 0].long() + (images[:, 1] > 0.4).long() * (1 - targets[:, 0].long()) * 2
labels[:, 0, :] = 255  # an ignored border row
multi = np_params(UNet(3, n_classes, bilinear=True), 143, scale=0.3)
ce = nn.CrossEntropyLoss(weight=torch.tensor([0.5, 2.0, 1.0]), ignore_index=255)
opt = torch.optim.SGD(multi.parameters(), lr=0.05, momentum=0.9, nesterov=True)
mc_losses = []
for step in range(4):
    opt.zero_grad()
    logits = multi(images)
    valid = labels != 255
    one_hot = F.one_hot(labels.clamp(max=n_classes - 1), n_classes).permute(0, 3, 1, 2).float()
    probs = logits.softmax(dim=1) * valid.unsqueeze(1)
    dice = 1 - (2 * (probs * one_hot).sum((0, 2, 3)) / (probs.sum((0, 2, 3)) + one_hot.sum((0, 2, 3)) + 1e-6)).mean()
    loss = ce(logits, labels) + dice
    loss.backward()
    opt.step()
    mc_losses.append(loss.item())
record("multiclass_losses", mc_losses)
record("multiclass_pred", multi(images).argmax(1))
record("interp", (F.interpolate(images[:2], size=(7, 9), mode="bilinear", align_corners=False),
                  F.interpolate(images[:2], scale_factor=1.5, mode="nearest"),
                  F.interpolate(images[:2], scale_factor=0.5, mode="bicubic", align_corners=True),
                  F.interpolate(images[:2], size=(10, 10), mode="area")))
finish()

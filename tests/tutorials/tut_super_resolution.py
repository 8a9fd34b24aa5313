"""Image restoration scripts (the super_resolution example and what follows it): RGB images converted to
YCbCr with a 3x3 matrix (torch.tensordot / einsum over the channel axis) and back, low-resolution
inputs made by F.interpolate(bicubic, antialias=True) and F.avg_pool2d, an ESPCN model (Conv2d +
Tanh, nn.PixelShuffle(3)) trained with Adam on the Y channel and a Charbonnier loss, PSNR with
torch.log10, SSIM from a Gaussian window applied per channel (conv2d with groups=3), a total-variation
term from shifted differences, nn.PixelUnshuffle as the inverse of PixelShuffle, bicubic /
bilinear(align_corners) / nearest-exact upscaling baselines, and patch-based inference: F.unfold
into overlapping patches, each patch run through the model, F.fold back with overlap counts
(fold of ones) to average the seams, against the whole-image output."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tut_common import finish, np_params, record

rng = np.random.RandomState(8)
SCALE = 3
HR = 18

RGB2YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
OFFSET = torch.tensor([0.0, 0.5, 0.5])


def rgb_to_ycbcr(img):  # (N, 3, H, W)
    return torch.tensordot(img.permute(0, 2, 3, 1), RGB2YCBCR.t(), dims=1).permute(0, 3, 1, 2) + OFFSET.view(1, 3, 1, 1)


def ycbcr_to_rgb(img):
    inv = torch.linalg.inv(RGB2YCBCR)
    return torch.einsum("ij,njhw->nihw", inv, img - OFFSET.view(1, 3, 1, 1))


# smooth random "photos": sums of a few oriented sinusoids
yy, xx = np.meshgrid(np.linspace(0, 1, HR), np.linspace(0, 1, HR), indexing="ij")
imgs = []
for _ in range(10):
    chans = []
    for c in range(3):
        a, b, ph = rng.uniform(1, 4, 2).tolist() + [rng.uniform(0, 6)]
        chans.append(0.5 + 0.4 * np.sin(2 * np.pi * (a * xx + b * yy) + ph) * rng.uniform(0.5, 1))
    imgs.append(np.stack(chans))
hr = torch.tensor(np.stack(imgs).astype(np.float32))
ycc = rgb_to_ycbcr(hr)
record("ycbcr", ycc[:2])
record("roundtrip_err_small", (ycbcr_to_rgb(ycc) - hr).abs().max().item() < 1e-5)
lr_bicubic = F.interpolate(hr, scale_factor=1 / SCALE, mode="bicubic", antialias=True, align_corners=False)
lr_area = F.avg_pool2d(hr, SCALE)
record("lr_bicubic_aa", lr_bicubic)
record("lr_area_eq_adaptive", torch.allclose(lr_area, F.adaptive_avg_pool2d(hr, HR // SCALE)))
print("lr shape:", tuple(lr_bicubic.shape), "hr shape:", tuple(hr.shape))
y_hr = ycc[:, :1]
y_lr = rgb_to_ycbcr(lr_bicubic)[:, :1]


class ESPCN(nn.Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(8, upscale_factor ** 2, 3, padding=1)
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

    def forward(self, x):
        x = torch.tanh(self.conv1(x))
        x = torch.tanh(self.conv2(x))
        return self.pixel_shuffle(self.conv3(x))


def charbonnier(pred, target, eps=1e-3):
    return torch.sqrt((pred - target) ** 2 + eps ** 2).mean()


def psnr(pred, target):
    mse = F.mse_loss(pred, target, reduction="none").flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse)


def gaussian_window(size, sigma, channels):
    coords = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] @ g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(a, b, window_size=5, sigma=1.5):
    c = a.shape[1]
    w = gaussian_window(window_size, sigma, c)
    mu_a = F.conv2d(a, w, padding=window_size // 2, groups=c)
    mu_b = F.conv2d(b, w, padding=window_size // 2, groups=c)
    s_aa = F.conv2d(a * a, w, padding=window_size // 2, groups=c) - mu_a ** 2
    s_bb = F.conv2d(b * b, w, padding=window_size // 2, groups=c) - mu_b ** 2
    s_ab = F.conv2d(a * b, w, padding=window_size // 2, groups=c) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mu_a * mu_b + c1) * (2 * s_ab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (s_aa + s_bb + c2))
    return m.mean(dim=(1, 2, 3))


def total_variation(img):
    return (img[:, :, 1:, :] - img[:, :, :-1, :]).abs().mean() + (img[:, :, :, 1:] - img[:, :, :, :-1]).abs().mean()


model = np_params(ESPCN(SCALE), seed=3)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
train_idx, test_idx = slice(0, 8), slice(8, 10)
losses = []
for epoch in range(12):
    opt.zero_grad()
    out = model(y_lr[train_idx])
    loss = charbonnier(out, y_hr[train_idx]) + 0.01 * total_variation(out)
    loss.backward()
    opt.step()
    losses.append(loss.item())
    if epoch % 4 == 0:
        print(f"epoch {epoch} loss {loss.item():.5f}")
record("losses", losses)
record("params", dict(model.named_parameters()))

model.eval()
with torch.no_grad():
    sr = model(y_lr[test_idx]).clamp(0, 1)
baselines = {
    "bicubic": F.interpolate(y_lr[test_idx], scale_factor=SCALE, mode="bicubic", align_corners=False),
    "bilinear_ac": F.interpolate(y_lr[test_idx], size=(HR, HR), mode="bilinear", align_corners=True),
    "nearest_exact": F.interpolate(y_lr[test_idx], scale_factor=SCALE, mode="nearest-exact"),
    "upsample_module": nn.Upsample(scale_factor=SCALE, mode="bilinear")(y_lr[test_idx]),
}
record("sr", sr)
record("sr_psnr", psnr(sr, y_hr[test_idx]))
record("sr_ssim", ssim(sr, y_hr[test_idx]))
for name, up in baselines.items():
    record(f"{name}_up", up)
    print(f"{name}: psnr {psnr(up, y_hr[test_idx]).mean().item():.3f} ssim {ssim(up, y_hr[test_idx]).mean().item():.4f}")
print(f"espcn: psnr {psnr(sr, y_hr[test_idx]).mean().item():.3f}")
record("ssim_rgb", ssim(hr[:2], (hr[:2] + 0.05).clamp(0, 1)))

# full-colour reconstruction: SR luminance with bicubic chroma
chroma = F.interpolate(rgb_to_ycbcr(lr_bicubic[test_idx])[:, 1:], scale_factor=SCALE, mode="bicubic",
                       align_corners=False)
rgb_sr = ycbcr_to_rgb(torch.cat([sr, chroma], 1)).clamp(0, 1)
record("rgb_sr", rgb_sr)

# PixelUnshuffle inverts PixelShuffle
shuffled = nn.PixelShuffle(2)(torch.arange(2 * 8 * 3 * 3, dtype=torch.float32).view(2, 8, 3, 3))
record("pixel_shuffle", shuffled)
print("unshuffle inverts:", torch.equal(nn.PixelUnshuffle(2)(shuffled), torch.arange(144.).view(2, 8, 3, 3)))

# patch-based inference with overlapping tiles averaged by fold
patch, stride = 4, 2
inp = y_lr[test_idx]  # (2, 1, 6, 6)
cols = F.unfold(inp, kernel_size=patch, stride=stride)  # (N, patch*patch, L)
n_patches = cols.shape[-1]
tiles = cols.transpose(1, 2).reshape(-1, 1, patch, patch)
with torch.no_grad():
    tile_out = model(tiles)  # (N*L, 1, patch*S, patch*S)
cols_out = tile_out.reshape(inp.shape[0], n_patches, -1).transpose(1, 2)
out_size = (inp.shape[-2] * SCALE, inp.shape[-1] * SCALE)
summed = F.fold(cols_out, out_size, kernel_size=patch * SCALE, stride=stride * SCALE)
counts = F.fold(torch.ones_like(cols_out), out_size, kernel_size=patch * SCALE, stride=stride * SCALE)
tiled = summed / counts
record("unfold_cols", cols)
record("fold_counts", counts[0, 0])
record("tiled_sr", tiled)
with torch.no_grad():
    whole = model(inp)
print("patches:", n_patches, f"tiled vs whole max diff {(tiled - whole).abs().max().item():.4f}")
# fold(unfold(x)) == x * counts
x = torch.tensor(rng.randn(1, 2, 5, 7).astype(np.float32))
u = F.unfold(x, kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(1, 2))
record("fold_unfold", F.fold(u, (5, 7), kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(1, 2)))
record("unfold_module", nn.Unfold(kernel_size=2, stride=2)(x[..., :6]))
finish()

"""A denoising diffusion model (DDPM) as its reference implementations write it: a linear and a cosine
beta schedule (torch.linspace, torch.cumprod, F.pad of alphas_cumprod_prev, clip), an `extract`
helper that gathers per-timestep coefficients and reshapes them to broadcast over images, sinusoidal
timestep embeddings (torch.exp of a scaled arange, cat of sin/cos), a small time-conditioned U-Net
(GroupNorm, SiLU, Conv2d, nn.Upsample(nearest), avg pooling, class embeddings for conditioning),
q_sample with numpy-drawn noise, the epsilon-prediction MSE loss trained by AdamW, an EMA copy of
the weights updated with torch._foreach_mul_ / _foreach_add_ (and checked against lerp_), then
ancestral sampling (p_sample loop under @torch.no_grad() with posterior mean/variance and
log-variance clipping), DDIM sampling with eta=0, and classifier-free guidance mixing conditional and
unconditional predictions. Every noise draw comes from numpy."""
import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tut_common import finish, np_params, record

rng = np.random.RandomState(5)
T = 50
IMG = 8


def linear_beta_schedule(timesteps):
    scale = 1000 / timesteps
    return torch.linspace(scale * 0.0001, scale * 0.02, timesteps, dtype=torch.float64)


def cosine_beta_schedule(timesteps, s=0.008):
    steps = timesteps + 1
    x = torch.linspace(0, timesteps, steps, dtype=torch.float64)
    alphas_cumprod = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
    return torch.clip(betas, 0, 0.999)


betas = cosine_beta_schedule(T)
record("linear_betas", linear_beta_schedule(T))
record("cosine_betas", betas)
alphas = 1.0 - betas
alphas_cumprod = torch.cumprod(alphas, dim=0)
alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
buffers = {
    "sqrt_alphas_cumprod": torch.sqrt(alphas_cumprod),
    "sqrt_one_minus_alphas_cumprod": torch.sqrt(1.0 - alphas_cumprod),
    "sqrt_recip_alphas_cumprod": torch.sqrt(1.0 / alphas_cumprod),
    "sqrt_recipm1_alphas_cumprod": torch.sqrt(1.0 / alphas_cumprod - 1),
    "posterior_log_variance_clipped": torch.log(posterior_variance.clamp(min=1e-20)),
    "posterior_mean_coef1": betas * torch.sqrt(alphas_cumprod_prev) / (1.0 - alphas_cumprod),
    "posterior_mean_coef2": (1.0 - alphas_cumprod_prev) * torch.sqrt(alphas) / (1.0 - alphas_cumprod),
}
buffers = {k: v.to(torch.float32) for k, v in buffers.items()}
record("schedule", buffers)
print("alphas_cumprod ends:", round(alphas_cumprod[0].item(), 6), round(alphas_cumprod[-1].item(), 6))


def extract(a, t, x_shape):
    b, *_ = t.shape
    out = a.gather(-1, t)
    return out.reshape(b, *((1,) * (len(x_shape) - 1)))


class SinusoidalPosEmb(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        half_dim = self.dim // 2
        emb = math.log(10000) / (half_dim - 1)
        emb = torch.exp(torch.arange(half_dim, device=x.device) * -emb)
        emb = x[:, None] * emb[None, :]
        return torch.cat((emb.sin(), emb.cos()), dim=-1)


class ResBlock(nn.Module):
    def __init__(self, dim_in, dim_out, time_dim, groups=4):
        super().__init__()
        self.mlp = nn.Sequential(nn.SiLU(), nn.Linear(time_dim, dim_out * 2))
        self.norm1 = nn.GroupNorm(groups, dim_in)
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, dim_out)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, padding=1)
        self.res_conv = nn.Conv2d(dim_in, dim_out, 1) if dim_in != dim_out else nn.Identity()

    def forward(self, x, time_emb):
        scale, shift = self.mlp(time_emb)[:, :, None, None].chunk(2, dim=1)
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.norm2(h) * (scale + 1) + shift
        h = self.conv2(F.silu(h))
        return h + self.res_conv(x)


class Unet(nn.Module):
    def __init__(self, dim=8, channels=1, num_classes=3):
        super().__init__()
        time_dim = dim * 4
        self.num_classes = num_classes
        self.time_mlp = nn.Sequential(SinusoidalPosEmb(dim), nn.Linear(dim, time_dim), nn.GELU(),
                                      nn.Linear(time_dim, time_dim))
        # the last class index is the "null" label used for classifier-free guidance
        self.class_emb = nn.Embedding(num_classes + 1, time_dim)
        self.init_conv = nn.Conv2d(channels, dim, 3, padding=1)
        self.down = ResBlock(dim, dim * 2, time_dim)
        self.mid = ResBlock(dim * 2, dim * 2, time_dim)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.up_block = ResBlock(dim * 4, dim, time_dim)
        self.final = nn.Conv2d(dim, channels, 1)

    def forward(self, x, time, classes):
        t = self.time_mlp(time) + self.class_emb(classes)
        x = self.init_conv(x)
        h = self.down(x, t)
        m = self.mid(F.avg_pool2d(h, 2), t)
        u = torch.cat((self.up(m), h), dim=1)
        return self.final(self.up_block(u, t))


model = np_params(Unet(), seed=11)
print("params:", sum(p.numel() for p in model.parameters()))
ema = copy.deepcopy(model)
ema.requires_grad_(False)
record("pos_emb", SinusoidalPosEmb(8)(torch.tensor([0.0, 3.0, 49.0])))

# data: two blob shapes and a stripe, labelled
yy, xx = np.meshgrid(np.arange(IMG), np.arange(IMG), indexing="ij")
protos = np.stack([np.exp(-((yy - 3.5) ** 2 + (xx - 3.5) ** 2) / 6.0),
                   ((xx + yy) % 4 < 2).astype(np.float64),
                   (np.abs(yy - xx) < 2).astype(np.float64)]) * 2 - 1
labels_np = rng.randint(0, 3, 48)
data = torch.tensor((protos[labels_np] + 0.05 * rng.randn(48, IMG, IMG))[:, None].astype(np.float32))
labels = torch.tensor(labels_np)


def q_sample(x_start, t, noise):
    return (extract(buffers["sqrt_alphas_cumprod"], t, x_start.shape) * x_start
            + extract(buffers["sqrt_one_minus_alphas_cumprod"], t, x_start.shape) * noise)


opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
ema_decay = 0.9
losses = []
for step in range(8):
    idx = rng.choice(48, 12, replace=False)
    x0, y = data[idx], labels[idx].clone()
    # drop labels for classifier-free guidance: the null class
    y[torch.from_numpy(rng.rand(12) < 0.2)] = model.num_classes
    t = torch.from_numpy(rng.randint(0, T, 12)).long()
    noise = torch.from_numpy(rng.randn(12, 1, IMG, IMG).astype(np.float32))
    x_noisy = q_sample(x0, t, noise)
    pred = model(x_noisy, t.float(), y)
    loss = F.mse_loss(pred, noise)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        ema_params = list(ema.parameters())
        new_params = list(model.parameters())
        torch._foreach_mul_(ema_params, ema_decay)
        torch._foreach_add_(ema_params, new_params, alpha=1 - ema_decay)
    losses.append(loss.item())
    print(f"step {step}: loss {loss.item():.5f}")
record("losses", losses)
record("ema", dict(ema.named_parameters()))

# the foreach EMA equals lerp_ on each parameter
check = copy.deepcopy(ema)
with torch.no_grad():
    for pe, pm in zip(check.parameters(), model.parameters()):
        pe.lerp_(pm, 1 - ema_decay)
    ema_params = list(ema.parameters())
    torch._foreach_lerp_(ema_params, list(model.parameters()), 1 - ema_decay)
print("foreach lerp == lerp_:", all(torch.allclose(a, b, atol=1e-6) for a, b in zip(check.parameters(),
                                                                                   ema.parameters())))
record("foreach_norm", torch._foreach_norm(list(model.parameters())))


@torch.no_grad()
def p_sample(net, x, t_index, classes, noise, guidance=None):
    t = torch.full((x.shape[0],), t_index, dtype=torch.long)
    eps = net(x, t.float(), classes)
    if guidance is not None:
        eps_uncond = net(x, t.float(), torch.full_like(classes, net.num_classes))
        eps = eps_uncond + guidance * (eps - eps_uncond)
    x_start = (extract(buffers["sqrt_recip_alphas_cumprod"], t, x.shape) * x
               - extract(buffers["sqrt_recipm1_alphas_cumprod"], t, x.shape) * eps).clamp_(-1.0, 1.0)
    mean = (extract(buffers["posterior_mean_coef1"], t, x.shape) * x_start
            + extract(buffers["posterior_mean_coef2"], t, x.shape) * x)
    if t_index == 0:
        return mean
    log_var = extract(buffers["posterior_log_variance_clipped"], t, x.shape)
    return mean + (0.5 * log_var).exp() * noise


ema.eval()
classes = torch.tensor([0, 1, 2, 0])
img = torch.from_numpy(rng.randn(4, 1, IMG, IMG).astype(np.float32))
img_cfg = img.clone()
for i in reversed(range(0, T, 5)):
    noise = torch.from_numpy(rng.randn(4, 1, IMG, IMG).astype(np.float32))
    img = p_sample(ema, img, i, classes, noise)
    img_cfg = p_sample(ema, img_cfg, i, classes, noise, guidance=2.0)
record("ancestral_samples", img)
record("cfg_samples", img_cfg)
print("sample range:", img.min().item() >= -1.5, img.max().item() <= 1.5, img.requires_grad)


@torch.no_grad()
def ddim_sample(net, shape, steps, x):
    times = torch.linspace(-1, T - 1, steps=steps + 1).int().tolist()
    times = list(reversed(times))
    pairs = list(zip(times[:-1], times[1:]))
    ac = alphas_cumprod.float()
    for time, time_next in pairs:
        t = torch.full((shape[0],), time, dtype=torch.long)
        eps = net(x, t.float(), classes)
        x_start = (ac[time].rsqrt() * x - (1 / ac[time] - 1).sqrt() * eps).clamp(-1, 1)
        if time_next < 0:
            x = x_start
            continue
        x = ac[time_next].sqrt() * x_start + (1 - ac[time_next]).sqrt() * eps
    return x, pairs


ddim, pairs = ddim_sample(ema, (4, 1, IMG, IMG), 6, torch.from_numpy(rng.randn(4, 1, IMG, IMG).astype(np.float32)))
print("ddim pairs:", pairs)
record("ddim_samples", ddim)
finish()

"""A tiny NeRF as the NeRF-pytorch / tiny-nerf notebooks write it: camera rays from torch.meshgrid
(indexing='xy') and a camera-to-world matrix (broadcast sum of directions times rotation), stratified
sample depths along each ray (torch.linspace expanded, mid-points, jitter from numpy), a positional
encoding of sines and cosines at powers of two, an MLP with a skip connection (torch.cat) giving
density and colour, volume rendering (deltas with a 1e10 far bin, alpha = 1 - exp(-relu(sigma) *
delta * norm(dir)), transmittance by an exclusive torch.cumprod, weights, rgb / depth / accumulated
opacity maps, a white background), hierarchical sampling of a fine pass by inverse-transform sampling
of the coarse weights (cumsum into a CDF, torch.searchsorted(right=True), gather of the bracketing
bins, numpy uniforms) with the merged depths sorted, a photometric MSE trained by Adam with an
exponential learning-rate decay, and PSNR from the MSE. The target "images" are rendered from a
known analytic density field with the same renderer."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tut_common import finish, np_params, record

rng = np.random.RandomState(4)
H = W = 6
FOCAL = 5.0
N_SAMPLES, N_FINE = 8, 8
NEAR, FAR = 2.0, 6.0


def pose(theta, phi, radius=4.0):
    """A camera on a sphere looking at the origin (camera-to-world, 3x4)."""
    th, ph = math.radians(theta), math.radians(phi)
    trans = torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, radius], [0, 0, 0, 1]], dtype=torch.float32)
    rot_phi = torch.tensor([[1, 0, 0, 0], [0, math.cos(ph), -math.sin(ph), 0], [0, math.sin(ph), math.cos(ph), 0],
                            [0, 0, 0, 1]], dtype=torch.float32)
    rot_theta = torch.tensor([[math.cos(th), 0, -math.sin(th), 0], [0, 1, 0, 0], [math.sin(th), 0, math.cos(th), 0],
                              [0, 0, 0, 1]], dtype=torch.float32)
    return (rot_theta @ rot_phi @ trans)[:3, :4]


def get_rays(H, W, focal, c2w):
    i, j = torch.meshgrid(torch.linspace(0, W - 1, W), torch.linspace(0, H - 1, H), indexing="xy")
    dirs = torch.stack([(i - W * 0.5) / focal, -(j - H * 0.5) / focal, -torch.ones_like(i)], -1)
    rays_d = torch.sum(dirs[..., None, :] * c2w[:3, :3], -1)
    rays_o = c2w[:3, -1].expand(rays_d.shape)
    return rays_o, rays_d


def positional_encoding(x, n_freqs=4):
    out = [x]
    for freq in 2.0 ** torch.arange(n_freqs):
        out += [torch.sin(freq * x), torch.cos(freq * x)]
    return torch.cat(out, -1)


class NeRF(nn.Module):
    def __init__(self, width=32, in_ch=3 * 9, in_dir=3 * 5):
        super().__init__()
        self.pts1 = nn.Linear(in_ch, width)
        self.pts2 = nn.Linear(width, width)
        self.pts3 = nn.Linear(width + in_ch, width)  # skip connection
        self.sigma = nn.Linear(width, 1)
        self.feature = nn.Linear(width, width)
        self.rgb1 = nn.Linear(width + in_dir, width // 2)
        self.rgb2 = nn.Linear(width // 2, 3)

    def forward(self, pts, dirs):
        h = F.relu(self.pts1(pts))
        h = F.relu(self.pts2(h))
        h = F.relu(self.pts3(torch.cat([pts, h], -1)))
        sigma = self.sigma(h)
        h = torch.cat([self.feature(h), dirs], -1)
        rgb = torch.sigmoid(self.rgb2(F.relu(self.rgb1(h))))
        return torch.cat([rgb, sigma], -1)


def raw2outputs(raw, z_vals, rays_d, white_bkgd=True):
    dists = z_vals[..., 1:] - z_vals[..., :-1]
    dists = torch.cat([dists, torch.full_like(dists[..., :1], 1e10)], -1)
    dists = dists * torch.norm(rays_d[..., None, :], dim=-1)
    rgb = raw[..., :3]
    alpha = 1.0 - torch.exp(-F.relu(raw[..., 3]) * dists)
    trans = torch.cumprod(torch.cat([torch.ones_like(alpha[..., :1]), 1.0 - alpha + 1e-10], -1), -1)[..., :-1]
    weights = alpha * trans
    rgb_map = torch.sum(weights[..., None] * rgb, -2)
    depth_map = torch.sum(weights * z_vals, -1)
    acc_map = torch.sum(weights, -1)
    disp_map = 1.0 / torch.max(1e-10 * torch.ones_like(depth_map), depth_map / acc_map.clamp_min(1e-10))
    if white_bkgd:
        rgb_map = rgb_map + (1.0 - acc_map[..., None])
    return rgb_map, depth_map, acc_map, disp_map, weights


def sample_pdf(bins, weights, u):
    weights = weights + 1e-5
    pdf = weights / torch.sum(weights, -1, keepdim=True)
    cdf = torch.cumsum(pdf, -1)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], -1)
    u = u.contiguous()
    inds = torch.searchsorted(cdf, u, right=True)
    below = torch.max(torch.zeros_like(inds - 1), inds - 1)
    above = torch.min((cdf.shape[-1] - 1) * torch.ones_like(inds), inds)
    inds_g = torch.stack([below, above], -1)
    matched_shape = [inds_g.shape[0], inds_g.shape[1], cdf.shape[-1]]
    cdf_g = torch.gather(cdf.unsqueeze(1).expand(matched_shape), 2, inds_g)
    bins_g = torch.gather(bins.unsqueeze(1).expand(matched_shape), 2, inds_g)
    denom = cdf_g[..., 1] - cdf_g[..., 0]
    denom = torch.where(denom < 1e-5, torch.ones_like(denom), denom)
    t = (u - cdf_g[..., 0]) / denom
    return bins_g[..., 0] + t * (bins_g[..., 1] - bins_g[..., 0])


def stratified(n_rays, jitter):
    t_vals = torch.linspace(0.0, 1.0, steps=N_SAMPLES)
    z_vals = NEAR * (1.0 - t_vals) + FAR * t_vals
    z_vals = z_vals.expand([n_rays, N_SAMPLES])
    mids = 0.5 * (z_vals[..., 1:] + z_vals[..., :-1])
    upper = torch.cat([mids, z_vals[..., -1:]], -1)
    lower = torch.cat([z_vals[..., :1], mids], -1)
    return lower + (upper - lower) * jitter


def embed_dirs(rays_d, n):
    viewdirs = rays_d / torch.norm(rays_d, dim=-1, keepdim=True)
    return positional_encoding(viewdirs, 2)[:, None].expand(-1, n, -1)


def render(fn, rays_o, rays_d, jitter, u_fine):
    z_vals = stratified(rays_o.shape[0], jitter)
    pts = rays_o[..., None, :] + rays_d[..., None, :] * z_vals[..., :, None]
    raw = fn(positional_encoding(pts), embed_dirs(rays_d, N_SAMPLES))
    rgb0, depth0, acc0, _, weights = raw2outputs(raw, z_vals, rays_d)
    z_mid = 0.5 * (z_vals[..., 1:] + z_vals[..., :-1])
    z_samples = sample_pdf(z_mid, weights[..., 1:-1], u_fine).detach()
    z_all, _ = torch.sort(torch.cat([z_vals, z_samples], -1), -1)
    pts = rays_o[..., None, :] + rays_d[..., None, :] * z_all[..., :, None]
    raw = fn(positional_encoding(pts), embed_dirs(rays_d, z_all.shape[-1]))
    rgb, depth, acc, disp, _ = raw2outputs(raw, z_all, rays_d)
    return {"rgb": rgb, "depth": depth, "acc": acc, "disp": disp, "rgb0": rgb0, "z_all": z_all}


def true_field(pts, dirs):
    """A soft red ball at the origin in a blue haze: the scene the network learns."""
    r = pts[..., :3].norm(dim=-1, keepdim=True)
    sigma = 8.0 * torch.sigmoid(6 * (1.0 - r))
    rgb = torch.cat([torch.sigmoid(4 * (1 - r)), 0.2 * torch.ones_like(r), torch.sigmoid(4 * (r - 1))], -1)
    return torch.cat([rgb, sigma], -1)


poses = [pose(th, -30.0) for th in (0.0, 90.0, 200.0)]
record("pose0", poses[0])
rays = [get_rays(H, W, FOCAL, c) for c in poses]
rays_o = torch.cat([o.reshape(-1, 3) for o, _ in rays])
rays_d = torch.cat([d.reshape(-1, 3) for _, d in rays])
record("rays_d", rays_d[:8])
n_rays = rays_o.shape[0]
fixed_jitter = torch.full((n_rays, N_SAMPLES), 0.5)
fixed_u = torch.linspace(0, 1, N_FINE).expand(n_rays, N_FINE)
with torch.no_grad():
    target = render(lambda p, d: true_field(p, d), rays_o, rays_d, fixed_jitter, fixed_u)
record("target_rgb", target["rgb"])
record("target_depth", target["depth"])
record("target_z_all", target["z_all"][:4])
print("target acc range:", round(target["acc"].min().item(), 4), round(target["acc"].max().item(), 4))

model = np_params(NeRF(), seed=12)
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.1 ** (1 / 50))
losses, psnrs = [], []
for it in range(10):
    batch = torch.from_numpy(rng.choice(n_rays, 32, replace=False))
    jitter = torch.from_numpy(rng.rand(32, N_SAMPLES).astype(np.float32))
    u = torch.from_numpy(np.sort(rng.rand(32, N_FINE), -1).astype(np.float32))
    out = render(model, rays_o[batch], rays_d[batch], jitter, u)
    img_loss = F.mse_loss(out["rgb"], target["rgb"][batch])
    loss = img_loss + F.mse_loss(out["rgb0"], target["rgb"][batch])
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    losses.append(loss.item())
    psnrs.append((-10.0 * torch.log10(img_loss)).item())
    if it % 3 == 0:
        print(f"iter {it} loss {loss.item():.5f} psnr {psnrs[-1]:.3f} lr {sched.get_last_lr()[0]:.6f}")
record("losses", losses)
record("psnrs", psnrs)
record("params", dict(model.named_parameters()))
with torch.no_grad():
    test = render(model, rays_o[:H * W], rays_d[:H * W], fixed_jitter[:H * W], fixed_u[:H * W])
record("test_rgb", test["rgb"].reshape(H, W, 3))
record("test_disp", test["disp"].reshape(H, W))
record("test_z_sorted", bool((test["z_all"][:, 1:] >= test["z_all"][:, :-1]).all()))
finish()

"""Optical-flow helpers: sampling at absolute pixel coordinates, coordinate grids, flow upsampling."""
import jtorch as torch
import jtorch.nn.functional as F


def grid_sample(img, absolute_grid, mode="bilinear", align_corners=None):
    """F.grid_sample with (x, y) pixel coordinates instead of [-1, 1] ones (a single-row image
    keeps y as given)."""
    h, w = img.shape[-2:]
    xgrid, ygrid = absolute_grid.split([1, 1], dim=-1)
    xgrid = 2 * xgrid / (w - 1) - 1
    if h > 1:
        ygrid = 2 * ygrid / (h - 1) - 1
    return F.grid_sample(img, torch.cat([xgrid, ygrid], dim=-1), mode=mode, align_corners=align_corners)


def make_coords_grid(batch_size, h, w, device="cpu"):
    """(batch_size, 2, h, w) float pixel coordinates, x first."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    return torch.stack([xs, ys], dim=0).float()[None].repeat(batch_size, 1, 1, 1)


def upsample_flow(flow, up_mask=None, factor=8):
    """Flow at ``factor`` times the resolution (values scaled by it): bilinear without a mask, else
    each fine pixel a convex combination (softmax of ``up_mask``) of its coarse 3x3 neighbourhood."""
    batch_size, num_channels, h, w = flow.shape
    if up_mask is None:
        return factor * F.interpolate(flow, size=(h * factor, w * factor), mode="bilinear", align_corners=True)
    up_mask = torch.softmax(up_mask.reshape(batch_size, 1, 9, factor, factor, h, w), dim=2)
    neighbours = F.unfold(factor * flow, kernel_size=3, padding=1).reshape(batch_size, num_channels, 9, 1, 1, h, w)
    up = torch.sum(up_mask * neighbours, dim=2)  # (B, C, factor, factor, h, w)
    return up.permute(0, 1, 4, 2, 5, 3).reshape(batch_size, num_channels, h * factor, w * factor)

"""Region-of-interest pooling: roi_align, roi_pool, ps_roi_align, ps_roi_pool (and their modules).

The sampling plan (which pixels each output bin reads, with which weights) depends only on the
boxes, so it is built in numpy; the values are then gathered from the input with jtorch ops,
which makes the outputs differentiable with respect to the input like torchvision's kernels
(torchvision gives boxes no gradient either)."""
import math

import numpy as np

import jtorch as torch
import jtorch.nn as nn

from ..._ops import roi_ops as _roi_ops

__all__ = ["roi_align", "RoIAlign", "roi_pool", "RoIPool", "ps_roi_align", "PSRoIAlign", "ps_roi_pool", "PSRoIPool"]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _rois(boxes):
    """Tensor[K, 5] (batch index, x1, y1, x2, y2), or a list of Tensor[L, 4] (one per image)."""
    if isinstance(boxes, (list, tuple)):
        for b in boxes:
            if b.ndim != 2 or b.shape[1] != 4:
                raise AssertionError("The shape of the tensor in the boxes list is not correct as List[Tensor[L, 4]]")
        parts = [np.concatenate([np.full((b.shape[0], 1), i, np.float64), np.asarray(b.detach().numpy(), np.float64)],
                                axis=1) for i, b in enumerate(boxes)]
        return np.concatenate(parts) if parts else np.zeros((0, 5))
    if not isinstance(boxes, torch.Tensor):
        raise AssertionError("boxes is expected to be a Tensor[L, 5] or a List[Tensor[K, 4]]")
    if boxes.ndim != 2 or boxes.shape[1] != 5:
        raise AssertionError("The boxes tensor shape is not correct as Tensor[K, 5]")
    return np.asarray(boxes.detach().numpy(), np.float64)


def _bilinear_plan(y, x, H, W):
    """Flat pixel indices (..., 4) and weights (..., 4) of bilinear samples at (y, x), with
    roi_align's border rule: samples more than one pixel outside read zero, the rest clamp."""
    out = (y < -1.0) | (y > H) | (x < -1.0) | (x > W)
    y, x = np.maximum(y, 0.0), np.maximum(x, 0.0)
    y0, x0 = y.astype(np.int64), x.astype(np.int64)
    top, left = y0 >= H - 1, x0 >= W - 1
    y0, x0 = np.where(top, H - 1, y0), np.where(left, W - 1, x0)
    y, x = np.where(top, y0, y), np.where(left, x0, x)
    y1, x1 = np.where(top, y0, y0 + 1), np.where(left, x0, x0 + 1)
    ly, lx = y - y0, x - x0
    hy, hx = 1.0 - ly, 1.0 - lx
    idx = np.stack([y0 * W + x0, y0 * W + x1, y1 * W + x0, y1 * W + x1], -1)
    w = np.stack([hy * hx, hy * lx, ly * hx, ly * lx], -1) * ~out[..., None]
    return idx, w


def _align_plan(rois, H, W, ph, pw, scale, sampling_ratio, offset, min_one, clamp_count):
    """For each roi: indices/weights (ph*pw, S) averaging a grid of bilinear samples per bin."""
    plans = []
    for _, x1, y1, x2, y2 in rois:
        sw, sh = x1 * scale - offset, y1 * scale - offset
        rw, rh = x2 * scale - offset - sw, y2 * scale - offset - sh
        if min_one:  # legacy (not aligned) roi_align: boxes at least one pixel
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = sampling_ratio if sampling_ratio > 0 else int(math.ceil(rh / ph))
        gw = sampling_ratio if sampling_ratio > 0 else int(math.ceil(rw / pw))
        count = max(gh * gw, 1) if clamp_count else gh * gw
        ys = sh + np.arange(ph)[:, None] * bh + (np.arange(gh)[None, :] + 0.5) * bh / gh  # (ph, gh)
        xs = sw + np.arange(pw)[:, None] * bw + (np.arange(gw)[None, :] + 0.5) * bw / gw  # (pw, gw)
        Y = np.broadcast_to(ys[:, None, :, None], (ph, pw, gh, gw))
        X = np.broadcast_to(xs[None, :, None, :], (ph, pw, gh, gw))
        idx, w = _bilinear_plan(Y, X, H, W)
        with np.errstate(divide="ignore", invalid="ignore"):
            plans.append((idx.reshape(ph * pw, -1), w.reshape(ph * pw, -1) / count))
    return plans


def _pool_plan(rois, H, W, ph, pw, scale, plus_one):
    """For each roi: the integer pixel windows of each bin, as indices (ph*pw, S) and a mask."""
    plans = []
    for _, x1, y1, x2, y2 in rois:
        # C's round(): halves away from zero
        sx, sy, ex, ey = (int(math.copysign(math.floor(abs(v * scale) + 0.5), v * scale)) for v in (x1, y1, x2, y2))
        rw, rh = max(ex - sx + plus_one, 1), max(ey - sy + plus_one, 1)
        bh, bw = rh / ph, rw / pw
        hs = np.clip(np.floor(np.arange(ph) * bh).astype(np.int64) + sy, 0, H)
        he = np.clip(np.ceil((np.arange(ph) + 1) * bh).astype(np.int64) + sy, 0, H)
        ws = np.clip(np.floor(np.arange(pw) * bw).astype(np.int64) + sx, 0, W)
        we = np.clip(np.ceil((np.arange(pw) + 1) * bw).astype(np.int64) + sx, 0, W)
        mh, mw = max(int((he - hs).max()), 1), max(int((we - ws).max()), 1)
        yy = hs[:, None] + np.arange(mh)[None, :]  # (ph, mh)
        xx = ws[:, None] + np.arange(mw)[None, :]  # (pw, mw)
        my, mx = yy < he[:, None], xx < we[:, None]
        idx = np.minimum(yy, H - 1)[:, None, :, None] * W + np.minimum(xx, W - 1)[None, :, None, :]
        mask = my[:, None, :, None] & mx[None, :, None, :]
        plans.append((idx.reshape(ph * pw, -1), mask.reshape(ph * pw, -1)))
    return plans


def _stack_plans(plans, fill):
    """Pad the per-roi plans to a common sample count."""
    P = plans[0][0].shape[0]
    S = max(max(p[0].shape[1] for p in plans), 1)
    idx = np.zeros((len(plans), P, S), np.int64)
    val = np.full((len(plans), P, S), fill, plans[0][1].dtype)
    for k, (i, v) in enumerate(plans):
        idx[k, :, :i.shape[1]] = i
        val[k, :, :v.shape[1]] = v
    return idx, val


def _check_input(input, rois):
    if input.ndim != 4:
        raise ValueError(f"input should be a 4-d tensor (N, C, H, W), got {input.ndim} dims")
    if len(rois) and (rois[:, 0].min() < 0 or rois[:, 0].max() >= input.shape[0]):
        raise IndexError("roi batch index out of range")


def _gather(input, rois, idx, position_sensitive, ph, pw):
    """values[k, c, p, s] = input[batch(k), channel, idx[k, p, s]] where the channel is c, or
    for position-sensitive pooling the channel of bin p in group c."""
    n, c, h, w = input.shape
    k, (_, p, s) = len(rois), idx.shape
    index = torch.from_numpy(idx)
    if position_sensitive:
        bidx = torch.from_numpy(rois[:, 0].astype(np.int64))
        feats = input.reshape(n, c, h * w).index_select(0, bidx)  # (K, C, HW)
        c_out = c // (ph * pw)
        feats = feats.reshape(k, c_out, p, h * w)
        return torch.gather(feats, 3, index[:, None].expand(k, c_out, p, s)), c_out
    # rows of the (N*H*W, C) pixel table: the index is one entry per sample, not one per sample and channel
    # (an expanded (K, C, P*S) int64 index and its gradient's scatter took 13 GB for 2000 RoIs of an FPN)
    rows = (torch.from_numpy(rois[:, 0].astype(np.int64) * (h * w))[:, None, None] + index).reshape(-1)
    table = input.permute(0, 2, 3, 1).reshape(n * h * w, c)
    return table.index_select(0, rows).reshape(k, p, s, c).permute(0, 3, 1, 2), c


def _empty(input, rois, c, ph, pw):
    return torch.zeros((len(rois), c, ph, pw), dtype=input.dtype)


def _align(input, boxes, output_size, spatial_scale, sampling_ratio, offset, min_one, clamp_count, ps):
    ph, pw = _pair(output_size)
    rois = _rois(boxes)
    _check_input(input, rois)
    c = input.shape[1] // (ph * pw) if ps else input.shape[1]
    if len(rois) == 0:
        return _empty(input, rois, c, ph, pw)
    plans = _align_plan(rois, input.shape[2], input.shape[3], ph, pw, spatial_scale, sampling_ratio, offset, min_one,
                        clamp_count)
    idx, wts = _stack_plans(plans, 0.0)
    if not ps:
        # one weighted sum of pixel-table rows per (roi, bin): the (K, P, S, C) samples are never held
        n, c, h, w = input.shape
        k, p, s = idx.shape
        rows = torch.from_numpy((rois[:, 0].astype(np.int64) * (h * w))[:, None, None] + idx).reshape(k * p, s)
        table = input.permute(0, 2, 3, 1).reshape(n * h * w, c)
        out = _roi_ops._weighted_row_sum(table, rows, torch.from_numpy(wts.reshape(k * p, s)).to(input.dtype))
        return out.reshape(k, p, c).permute(0, 2, 1).reshape(k, c, ph, pw)
    vals, c = _gather(input, rois, idx, ps, ph, pw)
    weights = torch.from_numpy(wts).to(input.dtype)[:, None]
    return (vals * weights).sum(-1).reshape(len(rois), c, ph, pw)


def roi_align(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """Average of bilinear samples on a grid inside each of output_size bins of each box
    (Mask R-CNN). ``aligned=True`` shifts boxes by half a pixel so that pixel centres line up."""
    return _align(input, boxes, output_size, spatial_scale, sampling_ratio, 0.5 if aligned else 0.0,
                  not aligned, True, False)


def ps_roi_align(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1):
    """Position-sensitive roi_align (R-FCN): bin (i, j) of output channel c reads input channel
    (c * PH + i) * PW + j."""
    ph, pw = _pair(output_size)
    if input.shape[1] % (ph * pw) != 0:
        raise ValueError("input channels must be a multiple of pooling height * pooling width")
    return _align(input, boxes, output_size, spatial_scale, sampling_ratio, 0.5, False, False, True)


def _pool(input, boxes, output_size, spatial_scale, ps):
    ph, pw = _pair(output_size)
    rois = _rois(boxes)
    _check_input(input, rois)
    c = input.shape[1] // (ph * pw) if ps else input.shape[1]
    if len(rois) == 0:
        return _empty(input, rois, c, ph, pw)
    plans = _pool_plan(rois, input.shape[2], input.shape[3], ph, pw, spatial_scale, 0 if ps else 1)
    idx, mask = _stack_plans(plans, False)
    vals, c = _gather(input, rois, idx, ps, ph, pw)
    m = torch.from_numpy(mask)[:, None]
    area = mask.sum(-1)
    if ps:  # average over the window; empty windows give 0
        weights = torch.from_numpy(mask / np.maximum(area, 1)[..., None]).to(input.dtype)[:, None]
        out = (vals * weights).sum(-1)
    else:  # max over the window (the gradient goes to the first maximum, like the kernel's argmax)
        low = torch.finfo(input.dtype).min
        out = torch.where(m, vals, torch.full_like(vals, low)).max(dim=-1).values
        out = torch.where(torch.from_numpy(area > 0)[:, None], out, torch.zeros_like(out))
    return out.reshape(len(rois), c, ph, pw)


def roi_pool(input, boxes, output_size, spatial_scale=1.0):
    """Max over the integer pixel window of each bin (Fast R-CNN)."""
    return _pool(input, boxes, output_size, spatial_scale, False)


def ps_roi_pool(input, boxes, output_size, spatial_scale=1.0):
    """Position-sensitive average pooling (R-FCN); channels as in ps_roi_align."""
    ph, pw = _pair(output_size)
    if input.shape[1] % (ph * pw) != 0:
        raise ValueError("input channels must be a multiple of pooling height * pooling width")
    return _pool(input, boxes, output_size, spatial_scale, True)


class RoIAlign(nn.Module):
    def __init__(self, output_size, spatial_scale, sampling_ratio, aligned=False):
        super().__init__()
        self.output_size, self.spatial_scale = output_size, spatial_scale
        self.sampling_ratio, self.aligned = sampling_ratio, aligned

    def forward(self, input, rois):
        return roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)

    def __repr__(self):
        return (f"{self.__class__.__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned})")


class PSRoIAlign(nn.Module):
    def __init__(self, output_size, spatial_scale, sampling_ratio):
        super().__init__()
        self.output_size, self.spatial_scale, self.sampling_ratio = output_size, spatial_scale, sampling_ratio

    def forward(self, input, rois):
        return ps_roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio)

    def __repr__(self):
        return (f"{self.__class__.__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio})")


class RoIPool(nn.Module):
    def __init__(self, output_size, spatial_scale):
        super().__init__()
        self.output_size, self.spatial_scale = output_size, spatial_scale

    def forward(self, input, rois):
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self):
        return f"{self.__class__.__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale})"


class PSRoIPool(RoIPool):
    def forward(self, input, rois):
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale)

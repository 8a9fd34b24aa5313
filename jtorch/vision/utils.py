"""torchvision.utils: make_grid and save_image."""
import math
import os

import numpy as np
from PIL import Image

import jtorch as torch
from .._atomic import atomic_open

__all__ = ["make_grid", "save_image"]


def _as_batch(tensor):
    """(B, C, H, W) numpy array; 1-channel images become 3-channel like torchvision."""
    if isinstance(tensor, (list, tuple)):
        if not all(isinstance(t, torch.Tensor) for t in tensor):
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
        tensor = torch.stack(list(tensor), dim=0)
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    a = np.asarray(tensor.detach().numpy())
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        if a.shape[0] == 1:
            a = np.concatenate([a, a, a], axis=0)
        a = a[None]
    if a.ndim == 4 and a.shape[1] == 1:
        a = np.concatenate([a, a, a], axis=1)
    return a


def _norm(a, value_range):
    lo, hi = value_range if value_range is not None else (float(a.min()), float(a.max()))
    a = np.clip(a, lo, hi)
    return ((a - a.dtype.type(lo)) / a.dtype.type(max(hi - lo, 1e-5))).astype(a.dtype)


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """Tile a batch of images (B, C, H, W) into one image, ``nrow`` images per row."""
    a = _as_batch(tensor).copy()
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")
        if scale_each:
            a = np.stack([_norm(img, value_range) for img in a])
        else:
            a = _norm(a, value_range)
    if a.shape[0] == 1:
        return torch.from_numpy(np.ascontiguousarray(a[0]))
    n, c, h, w = a.shape
    cols = min(nrow, n)
    rows = int(math.ceil(n / cols))
    ch, cw = h + padding, w + padding
    grid = np.full((c, ch * rows + padding, cw * cols + padding), pad_value, dtype=a.dtype)
    for k in range(n):
        y, x = divmod(k, cols)
        grid[:, y * ch + padding:(y + 1) * ch, x * cw + padding:(x + 1) * cw] = a[k]
    return torch.from_numpy(grid)


def save_image(tensor, fp, format=None, **kwargs):
    """make_grid, scale [0, 1] to uint8 (rounding), and write with Pillow. A path is written
    atomically: to a temporary file beside it, then renamed over the target."""
    grid = make_grid(tensor, **kwargs)
    g = np.asarray(grid.numpy()).astype(np.float32)
    arr = np.clip(g * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    im = Image.fromarray(arr)
    if not isinstance(fp, (str, bytes, os.PathLike)):
        im.save(fp, format=format)
        return
    path = os.fspath(fp)
    if format is None:
        ext = os.path.splitext(path)[1].lower()
        format = Image.registered_extensions().get(ext)
        if format is None:
            raise ValueError(f"unknown file extension: {ext}")
    with atomic_open(path) as f:
        im.save(f, format=format)

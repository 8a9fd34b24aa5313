"""Tensor-image kernels (numpy, (..., C, H, W)) of the histogram/tone ops and the warps that
AutoAugment and friends use: posterize, solarize, sharpness, autocontrast, equalize,
perspective and elastic grids. Same float32 arithmetic and rounding as torchvision."""
import numpy as np

from ._functional_tensor import _blend, _is_float, _max_value, grid_sample, invert


def posterize(img, bits):
    mask = (-(2 ** (8 - bits))) & 0xFF  # keep the top ``bits`` bits
    return img & np.uint8(mask)


def solarize(img, threshold):
    return np.where(img >= threshold, invert(img), img).astype(img.dtype)


def adjust_sharpness(img, factor):
    """Blend with a 3x3 smoothing (centre weight 5 of 13); the border keeps the original pixels."""
    if img.shape[-1] <= 2 or img.shape[-2] <= 2:
        return img
    work = img.astype(img.dtype if _is_float(img) else np.float32)
    k = np.ones((3, 3), work.dtype)
    k[1, 1] = 5.0
    k /= k.sum()
    H, W = img.shape[-2:]
    inner = sum(k[i, j] * work[..., i:i + H - 2, j:j + W - 2] for i in range(3) for j in range(3))
    if not _is_float(img):
        inner = np.round(inner).astype(img.dtype)
    blurred = img.copy()
    blurred[..., 1:-1, 1:-1] = inner
    return _blend(img, blurred, factor)


def autocontrast(img):
    bound = _max_value(img.dtype)
    dtype = img.dtype.type if _is_float(img) else np.float32
    lo = img.min(axis=(-2, -1), keepdims=True).astype(dtype)
    hi = img.max(axis=(-2, -1), keepdims=True).astype(dtype)
    with np.errstate(divide="ignore"):
        scale = (dtype(1) / (hi - lo)) * dtype(bound)  # torch's scalar / tensor is reciprocal() * scalar
    flat = ~np.isfinite(scale)  # constant channels stay as they are
    lo = np.where(flat, 0, lo).astype(dtype)
    scale = np.where(flat, 1, scale).astype(dtype)
    return np.clip((img - lo) * scale, 0, bound).astype(img.dtype)


def _equalize_channel(ch):
    hist = np.bincount(ch.reshape(-1), minlength=256)
    nonzero = hist[hist != 0]
    step = nonzero[:-1].sum() // 255
    if step == 0:
        return ch
    lut = (np.cumsum(hist) + step // 2) // step
    lut = np.clip(np.concatenate([[0], lut[:-1]]), 0, 255)
    return lut[ch.astype(np.int64)].astype(np.uint8)


def equalize(img):
    """Histogram equalisation of each channel of each image (uint8)."""
    lead = img.shape[:-3]
    flat = img.reshape((-1,) + img.shape[-3:])
    out = np.stack([np.stack([_equalize_channel(c) for c in im]) for im in flat])
    return out.reshape(lead + img.shape[-3:])


def perspective(img, coeffs, mode="bilinear", fill=None):
    """Output pixel (x, y) reads the input at ((a x + b y + c) / (g x + h y + 1), (d x + e y + f) / (...)),
    computed in float32 on pixel centres like torchvision's grid."""
    oh, ow = img.shape[-2:]
    f32 = np.float32
    c = np.asarray(coeffs, f32)
    xs = np.linspace(0.5, ow - 0.5, ow, dtype=f32)
    ys = np.linspace(0.5, oh - 0.5, oh, dtype=f32)
    X, Y = np.meshgrid(xs, ys)
    den = X * c[6] + Y * c[7] + f32(1.0)
    gx = (X * (c[0] / f32(0.5 * ow)) + Y * (c[1] / f32(0.5 * ow)) + c[2] / f32(0.5 * ow)) / den - f32(1.0)
    gy = (X * (c[3] / f32(0.5 * oh)) + Y * (c[4] / f32(0.5 * oh)) + c[5] / f32(0.5 * oh)) / den - f32(1.0)
    return grid_sample(img, gx, gy, mode, fill)


def elastic(img, displacement, mode="bilinear", fill=None):
    """Identity grid (pixel centres in [-1, 1]) plus a (1, H, W, 2) displacement."""
    h, w = img.shape[-2:]
    f32 = np.float32
    ys = np.linspace((-h + 1) / h, (h - 1) / h, h, dtype=f32)
    xs = np.linspace((-w + 1) / w, (w - 1) / w, w, dtype=f32)
    X, Y = np.meshgrid(xs, ys)
    d = np.asarray(displacement, f32)[0]
    return grid_sample(img, X + d[..., 0], Y + d[..., 1], mode, fill)

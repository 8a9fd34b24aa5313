"""Image kernels for tensor images, written on numpy arrays of shape (..., C, H, W).

functional.py moves a tensor to numpy, calls these, and wraps the result back, so
the kernels are plain array code: the same arithmetic torchvision does with torch ops
(float compute, then round or truncate back to integer dtypes where it does).
"""
import math

import numpy as np


def _is_float(a):
    return np.issubdtype(a.dtype, np.floating)


def _max_value(dtype):
    if np.issubdtype(dtype, np.floating) or dtype == np.bool_:
        return 1.0
    return np.iinfo(dtype).max


def _to_float(a):
    """float32 working copy (float64 kept) and the dtype to come back to."""
    if a.dtype in (np.float32, np.float64):
        return a, a.dtype
    return a.astype(np.float32), a.dtype


def _back(a, dtype, round_=True):
    """Return from the float working copy: integer dtypes are rounded (torchvision rounds
    after interpolation and convolution)."""
    if a.dtype == dtype:
        return a
    if not np.issubdtype(dtype, np.floating):
        if round_:
            a = np.round(a)
        info = np.iinfo(dtype)
        a = np.clip(a, info.min, info.max)
    return a.astype(dtype)


# ---------------------------------------------------------------------------- pad / crop
def pad(img, left, top, right, bottom, fill=0, mode="constant"):
    # negative padding crops
    if min(left, top, right, bottom) < 0:
        h, w = img.shape[-2:]
        img = img[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
        left, top, right, bottom = (max(v, 0) for v in (left, top, right, bottom))
    widths = [(0, 0)] * (img.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "constant":
        return np.pad(img, widths, mode="constant", constant_values=fill)
    np_mode = {"edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}[mode]
    return np.pad(img, widths, mode=np_mode)


def crop(img, top, left, height, width):
    h, w = img.shape[-2:]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        # out-of-image parts are zeros, as torchvision pads before cropping
        pl, pt = max(-left, 0), max(-top, 0)
        pr, pb = max(right - w, 0), max(bottom - h, 0)
        sub = img[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
        return pad(sub, pl, pt, pr, pb, 0)
    return img[..., top:bottom, left:right]


# ---------------------------------------------------------------------------- color
def rgb_to_grayscale(img, num_output_channels=1):
    if img.shape[-3] == 1:
        gray = img
    else:
        r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
        gray = (0.2989 * r.astype(np.float32) + 0.587 * g + 0.114 * b).astype(img.dtype)[..., None, :, :]
    if num_output_channels == 3:
        gray = np.broadcast_to(gray, gray.shape[:-3] + (3,) + gray.shape[-2:])
    return np.ascontiguousarray(gray)


def _blend(img1, img2, ratio):
    bound = _max_value(img1.dtype)
    work = np.float32 if img1.dtype != np.float64 else np.float64  # both sides in float32, like torch
    out = work(ratio) * img1.astype(work) + work(1.0 - ratio) * np.asarray(img2).astype(work)
    return np.clip(out, 0, bound).astype(img1.dtype)


def adjust_brightness(img, factor):
    return _blend(img, np.zeros_like(img), factor)


def adjust_contrast(img, factor):
    dtype = img.dtype if _is_float(img) else np.float32
    gray = rgb_to_grayscale(img) if img.shape[-3] == 3 else img
    mean = gray.astype(dtype).mean(axis=(-3, -2, -1), keepdims=True)
    return _blend(img, mean, factor)


def adjust_saturation(img, factor):
    if img.shape[-3] == 1:
        return img
    return _blend(img, rgb_to_grayscale(img), factor)


def _rgb2hsv(img):
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_div = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_div, (maxc - g) / cr_div, (maxc - b) / cr_div
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = hr + hg + hb
    h = np.fmod(h / 6.0 + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3)


def _hsv2rgb(img):
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = [np.select([i == k for k in range(6)], [table[k][c] for k in range(6)]) for c in range(3)]
    return np.stack(out, axis=-3).astype(img.dtype)


def adjust_hue(img, hue_factor):
    if img.shape[-3] == 1:
        return img
    dtype = img.dtype
    a = img.astype(np.float32) / 255.0 if not _is_float(img) else img
    hsv = _rgb2hsv(a)
    hsv[..., 0, :, :] = np.fmod(hsv[..., 0, :, :] + hue_factor, 1.0)
    hsv[..., 0, :, :] = np.where(hsv[..., 0, :, :] < 0, hsv[..., 0, :, :] + 1.0, hsv[..., 0, :, :])
    out = _hsv2rgb(hsv)
    if not _is_float(img):
        out = (out * 255.0).astype(dtype)
    return out


def convert_image_dtype(img, dtype):
    """torchvision's rules: floats are in [0, 1], integers in [0, max of the dtype]."""
    dtype = np.dtype(dtype)
    if img.dtype == dtype:
        return img
    if _is_float(img):
        if np.issubdtype(dtype, np.floating):
            return img.astype(dtype)
        if (img.dtype == np.float32 and dtype in (np.int32, np.int64)) or (img.dtype == np.float64 and dtype == np.int64):
            raise RuntimeError(f"The cast from torch.{img.dtype} to torch.{dtype} cannot be performed safely.")
        eps = 1e-3  # so that 1.0 maps to max, not max + 1
        return (img * (_max_value(dtype) + 1.0 - eps)).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return img.astype(dtype) / _max_value(img.dtype)
    in_max, out_max = _max_value(img.dtype), _max_value(dtype)
    if in_max > out_max:
        return (img // ((in_max + 1) // (out_max + 1))).astype(dtype)
    return img.astype(dtype) * ((out_max + 1) // (in_max + 1))


def adjust_gamma(img, gamma, gain=1.0):
    a = img if _is_float(img) else convert_image_dtype(img, np.float32)
    out = np.clip(gain * np.power(a, gamma), 0, 1).astype(a.dtype)
    return convert_image_dtype(out, img.dtype)


def invert(img):
    if _is_float(img):
        return 1.0 - img
    return (_max_value(img.dtype) - img).astype(img.dtype)


# ---------------------------------------------------------------------------- blur
def _gaussian_kernel1d(ksize, sigma):
    half = (ksize - 1) * 0.5
    x = np.linspace(-half, half, ksize, dtype=np.float32)
    pdf = np.exp(-0.5 * (x / np.float32(sigma)) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img, kernel_size, sigma):
    a, dtype = _to_float(img)
    kx = _gaussian_kernel1d(kernel_size[0], sigma[0]).astype(a.dtype)
    ky = _gaussian_kernel1d(kernel_size[1], sigma[1]).astype(a.dtype)
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    p = pad(a, px, py, px, py, mode="reflect")
    H, W = a.shape[-2:]
    # separable correlation: along width, then height
    tmp = sum(kx[k] * p[..., :, k:k + W] for k in range(kernel_size[0]))
    out = sum(ky[k] * tmp[..., k:k + H, :] for k in range(kernel_size[1]))
    return _back(out.astype(a.dtype), dtype)


# ---------------------------------------------------------------------------- geometry
def affine_sample(img, inv_matrix, out_size, mode="nearest", fill=None):
    """Sample ``img`` at ``inv_matrix @ (x, y, 1)`` for every output pixel, in the
    coordinates torchvision's tensor affine uses (origin at the image centre, pixel
    centres at half-integers), like grid_sample(align_corners=False, zeros padding)."""
    h, w = img.shape[-2:]
    oh, ow = out_size
    a, dtype = _to_float(img)
    ys = np.arange(oh, dtype=np.float64) - oh * 0.5 + 0.5
    xs = np.arange(ow, dtype=np.float64) - ow * 0.5 + 0.5
    X, Y = np.meshgrid(xs, ys)
    # torchvision builds the grid in float32 with theta pre-divided by the half sizes
    m = np.asarray(inv_matrix, np.float32).reshape(2, 3)
    rx = m[0] / np.float32(0.5 * w)
    ry = m[1] / np.float32(0.5 * h)
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    gx = X * rx[0] + Y * rx[1] + rx[2]
    gy = X * ry[0] + Y * ry[1] + ry[2]
    return grid_sample(img, gx, gy, mode, fill)


def grid_sample(img, gx, gy, mode="nearest", fill=None):
    """Sample ``img`` (..., C, H, W) at normalised coordinates gx, gy in [-1, 1] (shape (oh, ow)),
    like grid_sample(align_corners=False, zeros padding); with ``fill``, pixels from outside the
    image take the fill colour (an extra all-ones channel tells how much of each came from inside)."""
    h, w = img.shape[-2:]
    oh, ow = gx.shape
    a, dtype = _to_float(img)
    sx = ((gx + 1) * w - 1) / 2
    sy = ((gy + 1) * h - 1) / 2
    lead = a.shape[:-3]
    c = a.shape[-3]
    src = a.reshape((-1, c, h, w))
    if fill is not None:  # an extra all-ones channel tells how much of each pixel came from the image
        src = np.concatenate([src, np.ones_like(src[:, :1])], axis=1)

    def gather(iy, ix):
        valid = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        v = src[:, :, np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]
        return v * valid

    if mode == "nearest":
        out = gather(np.rint(sy).astype(np.int64), np.rint(sx).astype(np.int64))
    elif mode == "bilinear":
        x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
        fx, fy = (sx - x0).astype(a.dtype), (sy - y0).astype(a.dtype)
        out = (gather(y0, x0) * ((1 - fx) * (1 - fy)) + gather(y0, x0 + 1) * (fx * (1 - fy))
               + gather(y0 + 1, x0) * ((1 - fx) * fy) + gather(y0 + 1, x0 + 1) * (fx * fy))
    else:
        raise ValueError(f"Unsupported interpolation mode {mode} for tensors")
    out = out.astype(a.dtype)
    if fill is not None:
        mask, out = out[:, -1:], out[:, :-1]
        fill_img = np.broadcast_to(np.asarray(fill, a.dtype).reshape(1, -1, 1, 1), out.shape)
        if mode == "nearest":
            out = np.where(mask < 0.5, fill_img, out)
        else:
            out = out * mask + (1.0 - mask) * fill_img
    out = out.reshape(lead + (c, oh, ow))
    return _back(out, dtype)


def erase(img, i, j, h, w, v):
    out = img.copy()
    out[..., i:i + h, j:j + w] = v
    return out


def inverse_affine_matrix(center, angle, translate, scale, shear):
    """The inverse of  T(translate) C(center) R(angle) Sh(shear) S(scale) C(center)^-1,
    as a flat 2x3 list (the form PIL's Image.transform wants)."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # forward RSS matrix without scale: [[a, b], [c, d]]
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    # its inverse (det = 1), divided by scale
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def affine_output_size(matrix, w, h):
    """Bounding box of the image under the forward transform (rotate with expand=True)."""
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], np.float32)
    theta = np.asarray(matrix, np.float32).reshape(2, 3)
    new = pts @ theta.T
    lo = new.min(axis=0) + np.array([w * 0.5, h * 0.5], np.float32)
    hi = new.max(axis=0) + np.array([w * 0.5, h * 0.5], np.float32)
    tol = np.float32(1e-4)  # truncate to 1e-4 so that 1e-15 above an integer does not ceil up
    size = np.ceil(np.trunc(hi / tol) * tol) - np.floor(np.trunc(lo / tol) * tol)
    return int(size[0]), int(size[1])

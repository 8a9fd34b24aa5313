"""torchvision.transforms.functional: each function takes a PIL image or a tensor image
of shape (..., C, H, W) and returns the same kind.

PIL images go to Pillow (_functional_pil); tensor images go through numpy kernels
(_functional_tensor) and come back as jtorch tensors of the input's dtype. resize is
nn.functional.interpolate as torchvision's; normalize and erase use jtorch ops so that their
in-place semantics are torch's.
"""
import numbers
import warnings
from enum import Enum

import numpy as np
from PIL import Image

import jtorch as torch

from . import _functional_pil as F_pil
from . import _functional_tensor as F_t


class InterpolationMode(Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


pil_modes_mapping = {
    InterpolationMode.NEAREST: 0, InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3,
    InterpolationMode.NEAREST_EXACT: 0, InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5,
    InterpolationMode.LANCZOS: 1,
}
_INT_TO_MODE = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR, 3: InterpolationMode.BICUBIC,
                4: InterpolationMode.BOX, 5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interpolation_modes_from_int(i):
    return _INT_TO_MODE[int(i)]


def _interp(interpolation):
    """Accept an InterpolationMode or a Pillow integer constant (Image.BILINEAR...)."""
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int) and int(interpolation) in _INT_TO_MODE:
        return _INT_TO_MODE[int(interpolation)]
    raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding Pillow integer constant")


def _is_pil_image(img):
    return isinstance(img, Image.Image)


def _np(t):
    return np.asarray(t.detach().numpy())


def _wrap(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _check_tensor_image(img):
    if not isinstance(img, torch.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    if img.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def _tensor_op(img, fn, *args, **kwargs):
    """Run a numpy kernel on a tensor image; 2-D images get a channel axis for the call."""
    _check_tensor_image(img)
    a = _np(img)
    squeeze = a.ndim == 2
    out = fn(a[None] if squeeze else a, *args, **kwargs)
    return _wrap(out[0] if squeeze else out)


def _check_image(img):
    if not (_is_pil_image(img) or isinstance(img, torch.Tensor)):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


# ---------------------------------------------------------------------------- sizes
def get_dimensions(img):
    """[channels, height, width]."""
    if isinstance(img, torch.Tensor):
        _check_tensor_image(img)
        c = 1 if img.ndim == 2 else img.shape[-3]
        return [int(c), int(img.shape[-2]), int(img.shape[-1])]
    return F_pil.get_dimensions(img)


def get_image_size(img):
    """[width, height]."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]


# ---------------------------------------------------------------------------- conversions
_MODE_TO_NP = {"I": np.int32, "I;16": np.int16, "F": np.float32}


def to_tensor(pic):
    """PIL image or HWC ndarray -> CHW tensor; uint8 data becomes float in [0, 1]."""
    if not (_is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        arr = np.array(pic, _MODE_TO_NP.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            arr = 255 * arr
        arr = arr.reshape(pic.size[1], pic.size[0], len(pic.getbands()))
    img = _wrap(arr.transpose(2, 0, 1))
    if img.dtype == torch.uint8:
        return img.to(dtype=torch.get_default_dtype()).div(255)
    return img


def pil_to_tensor(pic):
    """PIL image -> CHW tensor, keeping the pixel dtype (no scaling)."""
    if not _is_pil_image(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    arr = arr.reshape(pic.size[1], pic.size[0], len(pic.getbands()))
    return _wrap(arr.transpose(2, 0, 1))


_ONE_CHANNEL_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16", np.dtype(np.int32): "I",
                      np.dtype(np.float32): "F"}


def to_pil_image(pic, mode=None):
    """CHW tensor or HWC ndarray -> PIL image; floats are scaled by 255 (unless mode 'F')."""
    if isinstance(pic, torch.Tensor):
        a = _np(pic)
        if a.ndim == 3:
            a = a.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        a = pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"pic should be 2/3 dimensional. Got {a.ndim} dimensions.")
    if a.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {a.shape[-1]} channels.")
    if np.issubdtype(a.dtype, np.floating) and mode != "F":
        a = (a * 255).astype(np.uint8)
    c = a.shape[2]
    allowed = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}
    if c == 1:
        a = a[:, :, 0]
        expected = _ONE_CHANNEL_MODES.get(a.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {a.dtype}. Should be {expected}")
        mode = expected
    else:
        if mode is not None and mode not in allowed[c]:
            raise ValueError(f"Only modes {allowed[c]} are supported for {c}D inputs")
        if mode is None and a.dtype == np.uint8:
            mode = allowed[c][0]
    if mode is None:
        raise TypeError(f"Input type {a.dtype} is not supported")
    return F_pil.fromarray(a, mode)


def convert_image_dtype(image, dtype=torch.float):
    if not isinstance(image, torch.Tensor):
        raise TypeError("Input img should be Tensor Image")
    np_dtype = np.dtype(str(dtype).split(".")[-1])
    return _tensor_op(image, F_t.convert_image_dtype, np_dtype)


# ---------------------------------------------------------------------------- normalize
def normalize(tensor, mean, std, inplace=False):
    """(x - mean) / std per channel, on a float tensor image."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    if not inplace:
        tensor = tensor.clone()
    mean = torch.as_tensor(mean, dtype=tensor.dtype)
    std = torch.as_tensor(std, dtype=tensor.dtype)
    if bool((std == 0).any()):
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
    if mean.ndim == 1:
        mean = mean.view(-1, 1, 1)
    if std.ndim == 1:
        std = std.view(-1, 1, 1)
    return tensor.sub_(mean).div_(std)


# ---------------------------------------------------------------------------- resize / crop / pad
def _compute_resized_output_size(image_size, size, max_size=None, allow_size_none=False):
    h, w = image_size
    short, long = (w, h) if w <= h else (h, w)
    if size is None:
        if not allow_size_none:
            raise ValueError("This should never happen!!")
        new_short, new_long = int(max_size * short / long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    elif len(size) == 1:
        requested = size[0]
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for the "
                                 f"smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        new_w, new_h = size[1], size[0]
    return [new_h, new_w]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size`` ([h, w]) or, for an int / 1-sequence, the shorter side to it."""
    interpolation = _interp(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(f"Size must be an int or a 1 or 2 element tuple/list, not a {len(size)} element "
                             "tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size is None or specifies the length of the "
                             "smaller edge, i.e. size should be an int or a sequence of length 1 in torchscript mode.")
    elif isinstance(size, int):
        size = [size]
    elif size is not None or max_size is None:
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    _check_image(img)
    _, h, w = get_dimensions(img)
    out_size = _compute_resized_output_size((h, w), size, max_size, allow_size_none=True)
    if [h, w] == out_size:
        return img
    if _is_pil_image(img):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument antialias is ignored.")
        return F_pil.resize(img, out_size, pil_modes_mapping[interpolation])
    if interpolation.value not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError("Input tensor should be resized with nearest, nearest-exact, bilinear or bicubic "
                         f"interpolation, got {interpolation.value}")
    _check_tensor_image(img)
    return interpolate_image(img, out_size, interpolation.value, bool(antialias))


_INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def interpolate_image(img, size, mode, antialias, native_uint8=False):
    """Resize a tensor image (..., C, H, W) with nn.functional.interpolate as torchvision does: other
    dtypes than float32/float64 work in float32 and come back rounded (bicubic clamped to [0, 255] for
    uint8), unless ``native_uint8`` lets uint8 go through interpolate's own uint8 kernel (v2 does that
    for bilinear and bicubic) or the mode is nearest (exact on any dtype)."""
    smooth = mode in ("bilinear", "bicubic")
    shape = img.shape
    x = img.reshape(-1, *shape[-3:]) if img.ndim > 2 else img.reshape(1, 1, *shape)
    dtype = x.dtype
    keep = dtype in (torch.float32, torch.float64) or (
        dtype == torch.uint8 and (not smooth or native_uint8))
    if not keep:
        x = x.to(torch.float32)
    x = torch.nn.functional.interpolate(x, size=list(size), mode=mode, align_corners=False if smooth else None,
                                        antialias=bool(antialias) and smooth)
    if not keep:
        if mode == "bicubic" and dtype == torch.uint8:
            x = x.clamp_(min=0, max=255)
        if dtype in _INTEGER_DTYPES:
            x = x.round_()
        x = x.to(dtype)
    return x.reshape(*shape[:-2], *size)


def crop(img, top, left, height, width):
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.crop(img, top, left, height, width)
    return _tensor_op(img, F_t.crop, int(top), int(left), int(height), int(width))


def _pair(size, what="size"):
    if isinstance(size, numbers.Number):
        return (int(size), int(size))
    if isinstance(size, (list, tuple)) and len(size) == 1:
        return (size[0], size[0])
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise ValueError(f"Please provide only two dimensions (h, w) for {what}.")
    return tuple(size)


def center_crop(img, output_size):
    """Crop the centre; an output larger than the image is padded with zeros first."""
    ch, cw = _pair(output_size)
    _, h, w = get_dimensions(img)
    if cw > w or ch > h:
        pads = [(cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0]
        img = pad(img, pads, fill=0)
        _, h, w = get_dimensions(img)
        if cw == w and ch == h:
            return img
    top = int(round((h - ch) / 2.0))
    left = int(round((w - cw) / 2.0))
    return crop(img, top, left, ch, cw)


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR, antialias=True):
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def _parse_padding(padding):
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")
    if isinstance(padding, numbers.Number):
        padding = [int(padding)]
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    return padding


def pad(img, padding, fill=0, padding_mode="constant"):
    """padding: int (all sides), [left/right, top/bottom] or [left, top, right, bottom]."""
    left, top, right, bottom = _parse_padding(padding)
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.pad(img, left, top, right, bottom, fill, padding_mode)
    if fill is None:
        fill = 0
    if isinstance(fill, (tuple, list)):
        if len(fill) != 1:
            raise ValueError("Tensor images take a single number as padding fill")
        fill = fill[0]
    return _tensor_op(img, F_t.pad, left, top, right, bottom, fill, padding_mode)


def five_crop(img, size):
    ch, cw = _pair(size)
    _, h, w = get_dimensions(img)
    if cw > w or ch > h:
        raise ValueError(f"Requested crop size {(ch, cw)} is bigger than input size {(h, w)}")
    tl = crop(img, 0, 0, ch, cw)
    tr = crop(img, 0, w - cw, ch, cw)
    bl = crop(img, h - ch, 0, ch, cw)
    br = crop(img, h - ch, w - cw, ch, cw)
    return tl, tr, bl, br, center_crop(img, [ch, cw])


def ten_crop(img, size, vertical_flip=False):
    first = five_crop(img, size)
    flipped = vflip(img) if vertical_flip else hflip(img)
    return first + five_crop(flipped, size)


# ---------------------------------------------------------------------------- flips / geometry
def hflip(img):
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.hflip(img)
    return _tensor_op(img, lambda a: a[..., ::-1])


def vflip(img):
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.vflip(img)
    return _tensor_op(img, lambda a: a[..., ::-1, :])


def _tensor_fill(fill, channels):
    if fill is None:
        return None
    if isinstance(fill, (int, float)):
        return [float(fill)]
    fill = [float(f) for f in fill]
    if len(fill) not in (1, channels):
        raise ValueError(f"The number of elements in 'fill' cannot broadcast to match the number of channels of "
                         f"the image ({len(fill)} != {channels})")
    return fill


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default: the image centre)."""
    interpolation = _interp(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.rotate(img, angle, pil_modes_mapping[interpolation], expand, center, fill)
    c, h, w = get_dimensions(img)
    center_f = [0.0, 0.0] if center is None else [1.0 * (ci - s * 0.5) for ci, s in zip(center, [w, h])]
    matrix = F_t.inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    ow, oh = F_t.affine_output_size(matrix, w, h) if expand else (w, h)
    return _tensor_op(img, F_t.affine_sample, matrix, (oh, ow), interpolation.value, _tensor_fill(fill, c))


def _affine_args(angle, translate, scale, shear, center):
    """affine's arguments checked as torchvision does: (angle, translate, shear as two floats, center)."""
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    return float(angle), [float(t) for t in translate], [float(v) for v in shear], center


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotation (degrees), translation (pixels), scale and shear (degrees) about the centre."""
    interpolation = _interp(interpolation)
    angle, translate, shear, center = _affine_args(angle, translate, scale, shear, center)
    _check_image(img)
    c, h, w = get_dimensions(img)
    translate_f = translate
    if _is_pil_image(img):
        center_p = [w * 0.5, h * 0.5] if center is None else center
        matrix = F_t.inverse_affine_matrix(center_p, angle, translate_f, scale, shear)
        return F_pil.affine(img, matrix, pil_modes_mapping[interpolation], fill)
    center_f = [0.0, 0.0] if center is None else [1.0 * (ci - s * 0.5) for ci, s in zip(center, [w, h])]
    matrix = F_t.inverse_affine_matrix(center_f, angle, translate_f, scale, shear)
    return _tensor_op(img, F_t.affine_sample, matrix, (h, w), interpolation.value, _tensor_fill(fill, c))


# ---------------------------------------------------------------------------- color
def _check_channels(img, allowed=(1, 3)):
    c = get_dimensions(img)[0]
    if c not in allowed:
        raise TypeError(f"Input image tensor permitted channel values are {list(allowed)}, but found {c}")


def _nonneg(value, name):
    if value < 0:
        raise ValueError(f"{name} ({value}) is not non-negative.")


def adjust_brightness(img, brightness_factor):
    _nonneg(brightness_factor, "brightness_factor")
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.adjust_brightness(img, brightness_factor)
    _check_channels(img)
    return _tensor_op(img, F_t.adjust_brightness, brightness_factor)


def adjust_contrast(img, contrast_factor):
    _nonneg(contrast_factor, "contrast_factor")
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.adjust_contrast(img, contrast_factor)
    _check_channels(img)
    return _tensor_op(img, F_t.adjust_contrast, contrast_factor)


def adjust_saturation(img, saturation_factor):
    _nonneg(saturation_factor, "saturation_factor")
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.adjust_saturation(img, saturation_factor)
    _check_channels(img)
    return _tensor_op(img, F_t.adjust_saturation, saturation_factor)


def adjust_hue(img, hue_factor):
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.adjust_hue(img, hue_factor)
    _check_channels(img)
    return _tensor_op(img, F_t.adjust_hue, hue_factor)


def adjust_gamma(img, gamma, gain=1):
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.adjust_gamma(img, gamma, gain)
    return _tensor_op(img, F_t.adjust_gamma, gamma, gain)


def rgb_to_grayscale(img, num_output_channels=1):
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.to_grayscale(img, num_output_channels)
    _check_channels(img)
    return _tensor_op(img, F_t.rgb_to_grayscale, num_output_channels)


def to_grayscale(img, num_output_channels=1):
    if _is_pil_image(img):
        return F_pil.to_grayscale(img, num_output_channels)
    raise TypeError("Input should be PIL Image")


def invert(img):
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.invert(img)
    return _tensor_op(img, F_t.invert)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a separable Gaussian kernel (reflect padding), like torchvision."""
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got {type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got {len(kernel_size)}")
    for k in kernel_size:
        if k % 2 == 0 or k < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    _check_image(img)
    if _is_pil_image(img):
        out = F_t.gaussian_blur(_np(pil_to_tensor(img)), list(kernel_size), list(sigma))
        return to_pil_image(_wrap(out), mode=img.mode)
    return _tensor_op(img, F_t.gaussian_blur, list(kernel_size), list(sigma))


def erase(img, i, j, h, w, v, inplace=False):
    """Write ``v`` into the box [i:i+h, j:j+w] of a tensor image."""
    if not isinstance(img, torch.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    if not inplace:
        img = img.clone()
    img[..., i:i + h, j:j + w] = v
    return img


# ---------------------------------------------------------------------------- tone / histogram / warps
from ._functional_enhance_api import (adjust_sharpness, autocontrast, elastic_transform, equalize,  # noqa: E402,F401
                                      perspective, posterize, solarize)

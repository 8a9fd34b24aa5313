"""functional posterize, solarize, adjust_sharpness, autocontrast, equalize, perspective and
elastic_transform: argument checks like torchvision, then Pillow or the numpy kernels."""
import numpy as np

import jtorch as torch

from . import _functional_enhance as F_e
from . import _functional_pil as F_pil
from . import functional as F
from .functional import InterpolationMode, _check_image, _interp, _is_pil_image, _tensor_fill, _tensor_op


def _tensor_checks(img, allowed=(1, 3), min_dims=3):
    F._check_tensor_image(img)
    if img.ndim < min_dims:
        raise TypeError(f"Input image tensor should have at least {min_dims} dimensions, but found {img.ndim}")
    c = F.get_dimensions(img)[0]
    if c not in allowed:
        raise TypeError(f"Input image tensor permitted channel values are {list(allowed)}, but found {c}")


def _uint8_only(img):
    if img.dtype != torch.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")


def posterize(img, bits):
    """Keep the top ``bits`` bits of each uint8 value."""
    if not (0 <= bits <= 8):
        raise ValueError(f"The number if bits should be between 0 and 8. Got {bits}")
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.posterize(img, bits)
    _tensor_checks(img)
    _uint8_only(img)
    return _tensor_op(img, F_e.posterize, bits)


def solarize(img, threshold):
    """Invert the values at or above ``threshold``."""
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.solarize(img, threshold)
    _tensor_checks(img)
    bound = 1.0 if img.is_floating_point() else float(torch.iinfo(img.dtype).max)
    if threshold > bound:
        raise TypeError("Threshold should be less than bound of img.")
    return _tensor_op(img, F_e.solarize, threshold)


def adjust_sharpness(img, sharpness_factor):
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.adjust_sharpness(img, sharpness_factor)
    if sharpness_factor < 0:
        raise ValueError(f"sharpness_factor ({sharpness_factor}) is not non-negative.")
    _tensor_checks(img, min_dims=2)
    return _tensor_op(img, F_e.adjust_sharpness, float(sharpness_factor))


def autocontrast(img):
    """Stretch each channel to the full range."""
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.autocontrast(img)
    _tensor_checks(img)
    return _tensor_op(img, F_e.autocontrast)


def equalize(img):
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.equalize(img)
    F._check_tensor_image(img)
    if not 3 <= img.ndim <= 4:
        raise TypeError(f"Input image tensor should have 3 or 4 dimensions, but found {img.ndim}")
    _uint8_only(img)
    _tensor_checks(img)
    return _tensor_op(img, F_e.equalize)


def _get_perspective_coeffs(startpoints, endpoints):
    """The 8 coefficients mapping output (end) points to input (start) points, by least squares
    in float64, then rounded to float32 like torchvision."""
    if len(startpoints) != 4 or len(endpoints) != 4:
        raise ValueError(f"Please provide exactly four corners, got {len(startpoints)} startpoints and "
                         f"{len(endpoints)} endpoints.")
    a = np.zeros((8, 8), np.float64)
    for i, ((x, y), (u, v)) in enumerate(zip(endpoints, startpoints)):
        a[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
    b = np.asarray(startpoints, np.float64).reshape(8)
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    return [float(c) for c in sol.astype(np.float32)]


def perspective(img, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR, fill=None):
    interpolation = _interp(interpolation)
    coeffs = _get_perspective_coeffs(startpoints, endpoints)
    _check_image(img)
    if _is_pil_image(img):
        return F_pil.perspective(img, coeffs, F.pil_modes_mapping[interpolation], fill)
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"Interpolation mode '{interpolation.value}' is unsupported with Tensor input")
    c = F.get_dimensions(img)[0]
    return _tensor_op(img, F_e.perspective, coeffs, interpolation.value, _tensor_fill(fill, c))


def elastic_transform(img, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Warp by a displacement field (1, H, W, 2) given in normalised [-1, 1] coordinates."""
    interpolation = _interp(interpolation)
    if not isinstance(displacement, torch.Tensor):
        raise TypeError("Argument displacement should be a Tensor")
    if not (_is_pil_image(img) or isinstance(img, torch.Tensor)):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
    t_img = F.pil_to_tensor(img) if _is_pil_image(img) else img
    shape = (1,) + tuple(t_img.shape[-2:]) + (2,)
    if shape != tuple(displacement.shape):
        raise ValueError(f"Argument displacement shape should be {shape}, but given {tuple(displacement.shape)}")
    c = F.get_dimensions(t_img)[0]
    out = _tensor_op(t_img, F_e.elastic, np.asarray(displacement.detach().numpy()), interpolation.value,
                     _tensor_fill(fill, c))
    return F.to_pil_image(out, mode=img.mode) if _is_pil_image(img) else out

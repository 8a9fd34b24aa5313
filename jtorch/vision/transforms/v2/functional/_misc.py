"""normalize, gaussian_blur, gaussian_noise, to_dtype, convert_image_dtype, sanitize_bounding_boxes, erase."""
from PIL import Image as _PIL

import jtorch as torch
from jtorch.vision import tv_tensors
from jtorch.vision.transforms import functional as F1

from ._meta import _convert_format
from ._utils import _register, dispatcher, is_pure_tensor

_TENSORS = (torch.Tensor, tv_tensors.Image, tv_tensors.Video)


@dispatcher
def normalize(inpt, mean, std, inplace=False):
    """(image - mean) / std per channel, on a float image."""


@_register(normalize, *_TENSORS)
def normalize_image(image, mean, std, inplace=False):
    if not image.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {image.dtype}.")
    if image.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got {tuple(image.shape)}.")
    if isinstance(std, (tuple, list)) and not all(std) or isinstance(std, (int, float)) and std == 0:
        raise ValueError("std evaluated to zero, leading to division by zero.")
    mean = torch.as_tensor(mean, dtype=image.dtype)
    std = torch.as_tensor(std, dtype=image.dtype)
    if mean.ndim == 1:
        mean = mean.view(-1, 1, 1)
    if std.ndim == 1:
        std = std.view(-1, 1, 1)
    out = image.sub_(mean) if inplace else image.sub(mean)
    return out.div_(std)


normalize_video = normalize_image


@dispatcher
def gaussian_blur(inpt, kernel_size, sigma=None):
    """Separable Gaussian blur with reflect padding."""


@_register(gaussian_blur, *_TENSORS, _PIL.Image)
def gaussian_blur_image(image, kernel_size, sigma=None):
    return F1.gaussian_blur(image, kernel_size, sigma)


gaussian_blur_video = gaussian_blur_image


@dispatcher
def gaussian_noise(inpt, mean=0.0, sigma=0.1, clip=True):
    """Add N(mean, sigma) noise (in [0, 1] units; uint8 images scaled by 255), clipped to the range."""


@_register(gaussian_noise, *_TENSORS)
def gaussian_noise_image(image, mean=0.0, sigma=0.1, clip=True):
    if sigma < 0:
        raise ValueError(f"sigma shouldn't be negative. Got {sigma}")
    if image.is_floating_point():
        out = image + (mean + torch.randn_like(image) * sigma)
        return out.clamp(0, 1) if clip else out
    if image.dtype == torch.uint8:
        # the noise truncated to int16, added there, clipped, back to uint8
        noise = (mean * 255 + torch.randn_like(image, dtype=torch.float32) * (sigma * 255)).to(torch.int16)
        out = image + noise
        return (out.clamp(0, 255) if clip else out).to(torch.uint8)
    raise ValueError(f"Input tensor is expected to be in uint8 or float dtype, got dtype={image.dtype}")


gaussian_noise_video = gaussian_noise_image


@_register(gaussian_noise, _PIL.Image)
def _gaussian_noise_pil(image, mean=0.0, sigma=0.1, clip=True):
    raise ValueError("Gaussian Noise is not implemented for PIL images.")


# ---------------------------------------------------------------------------- dtypes
def _max_value(dtype):
    if dtype.is_floating_point or dtype == torch.bool:
        return 1.0
    return torch.iinfo(dtype).max


def _value_bits(dtype):
    return {torch.uint8: 8, torch.int8: 7, torch.int16: 15, torch.uint16: 16, torch.int32: 31,
            torch.int64: 63}[dtype]


@dispatcher
def to_dtype(inpt, dtype=torch.float, scale=False):
    """Cast; with ``scale`` the values move between the ranges [0, 1] (float) and [0, max] (integers)."""


@_register(to_dtype, *_TENSORS)
def to_dtype_image(image, dtype=torch.float, scale=False):
    if image.dtype == dtype:
        return image
    if not scale:
        return image.to(dtype)
    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype == torch.float32 and dtype in (torch.int32, torch.int64)) or (
                image.dtype == torch.float64 and dtype == torch.int64):
            raise RuntimeError(f"The conversion from {image.dtype} to {dtype} cannot be performed safely.")
        eps = 1e-3  # so that 1.0 lands on max, not max + 1
        return image.mul(float(_max_value(dtype)) + 1.0 - eps).to(dtype)
    if dtype.is_floating_point:
        return image.to(dtype).mul_(1.0 / _max_value(image.dtype))
    bits_in, bits_out = _value_bits(image.dtype), _value_bits(dtype)
    factor = 2 ** abs(bits_in - bits_out)
    if bits_in > bits_out:
        return image.div(factor, rounding_mode="floor").to(dtype)
    return image.to(dtype).mul_(factor)


to_dtype_video = to_dtype_image


@_register(to_dtype, tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints)
def _to_dtype_plain(inpt, dtype=torch.float, scale=False):
    return inpt.to(dtype)


def convert_image_dtype(image, dtype=torch.float32):
    """v1's name: to_dtype(image, dtype, scale=True)."""
    return to_dtype_image(image, dtype=dtype, scale=True)


# ---------------------------------------------------------------------------- boxes
def _sanitize_mask(boxes, format, canvas_size, min_size, min_area):
    h, w = canvas_size
    if tv_tensors.is_rotated_bounding_format(format):
        b = _convert_format(boxes, format, tv_tensors.BoundingBoxFormat.XYXYXYXY)
        # torchvision 0.28's side lengths: the first side, then a "side" from coordinates 3..6 (y2 - x3,
        # x3 - y3), not the second side; kept for the same boxes kept
        ws = (b[..., 0] - b[..., 2]).pow(2).add((b[..., 1] - b[..., 3]).pow(2)).sqrt()
        hs = (b[..., 3] - b[..., 5]).pow(2).add((b[..., 4] - b[..., 6]).pow(2)).sqrt()
    else:
        b = _convert_format(boxes, format, tv_tensors.BoundingBoxFormat.XYXY)
        ws, hs = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    valid = (ws >= min_size) & (hs >= min_size) & (b >= 0).all(dim=-1) & (ws * hs >= min_area)
    valid &= (b[:, 0] <= w) & (b[:, 2] <= w) & (b[:, 1] <= h) & (b[:, 3] <= h)
    if tv_tensors.is_rotated_bounding_format(format):
        valid &= (b[..., 4] <= w) & (b[..., 5] <= h) & (b[..., 6] <= w) & (b[..., 7] <= h)
    return valid


def sanitize_bounding_boxes(bounding_boxes, format=None, canvas_size=None, min_size=1.0, min_area=1.0):
    """Drop boxes smaller than min_size / min_area or reaching outside the canvas: (kept boxes, kept mask)."""
    if is_pure_tensor(bounding_boxes):
        if format is None or canvas_size is None:
            raise ValueError("format and canvas_size cannot be None if bounding_boxes is a pure tensor. "
                             f"Got format={format} and canvas_size={canvas_size}."
                             "Set those to appropriate values or pass bounding_boxes as a tv_tensors.BoundingBoxes "
                             "object.")
        if isinstance(format, str):
            format = tv_tensors.BoundingBoxFormat[format.upper()]
        valid = _sanitize_mask(bounding_boxes, format, canvas_size, min_size, min_area)
        return bounding_boxes[valid], valid
    if not isinstance(bounding_boxes, tv_tensors.BoundingBoxes):
        raise ValueError("bounding_boxes must be a tv_tensors.BoundingBoxes instance or a pure tensor.")
    if format is not None or canvas_size is not None:
        raise ValueError("format and canvas_size must be None when bounding_boxes is a tv_tensors.BoundingBoxes "
                         f"instance. Got format={format} and canvas_size={canvas_size}. Leave those to None or pass "
                         "bounding_boxes as a pure tensor.")
    valid = _sanitize_mask(bounding_boxes.as_subclass(torch.Tensor), bounding_boxes.format,
                           bounding_boxes.canvas_size, min_size, min_area)
    return tv_tensors.wrap(bounding_boxes.as_subclass(torch.Tensor)[valid], like=bounding_boxes), valid


def sanitize_keypoints(key_points, canvas_size=None):
    """Drop points (or groups of points, for 3-D and up) outside the canvas: (kept, kept mask)."""
    if is_pure_tensor(key_points):
        if canvas_size is None:
            raise ValueError("canvas_size cannot be None if key_points is a pure tensor. Set it to an appropriate "
                             "value or pass key_points as a tv_tensors.KeyPoints object.")
        size = canvas_size
    elif isinstance(key_points, tv_tensors.KeyPoints):
        if canvas_size is not None:
            raise ValueError("canvas_size must be None when key_points is a tv_tensors.KeyPoints instance. "
                             f"Got canvas_size={canvas_size}. Leave it to None or pass key_points as a pure tensor.")
        size = key_points.canvas_size
    else:
        raise ValueError("key_points must be a tv_tensors.KeyPoints instance or a pure tensor.")
    plain = key_points.as_subclass(torch.Tensor)
    h, w = size
    inside = (plain[..., 0] >= 0) & (plain[..., 0] < w) & (plain[..., 1] >= 0) & (plain[..., 1] < h)
    valid = inside.reshape(inside.shape[0], -1).all(dim=1) if plain.ndim > 2 else inside
    out = plain[valid]
    return (out if is_pure_tensor(key_points) else tv_tensors.wrap(out, like=key_points)), valid


# ---------------------------------------------------------------------------- erase
@dispatcher
def erase(inpt, i, j, h, w, v, inplace=False):
    """Write ``v`` into the box [i:i+h, j:j+w]."""


@_register(erase, *_TENSORS)
def erase_image(image, i, j, h, w, v, inplace=False):
    return F1.erase(image, i, j, h, w, v, inplace)


erase_video = erase_image


@_register(erase, _PIL.Image)
def _erase_pil(image, i, j, h, w, v, inplace=False):
    return F1.to_pil_image(erase_image(F1.pil_to_tensor(image), i, j, h, w, v), mode=image.mode)


# ---------------------------------------------------------------------------- jpeg
@dispatcher
def jpeg(image, quality):
    """Encode to JPEG at ``quality`` and decode back (compression artefacts as augmentation)."""


@_register(jpeg, *_TENSORS)
def jpeg_image(image, quality):
    from jtorch.vision.io import decode_jpeg, encode_jpeg
    shape = image.shape
    flat = image.reshape(-1, *shape[-3:])
    if flat.shape[0] == 0:
        return image.clone()
    return torch.stack([decode_jpeg(encode_jpeg(x, quality=quality)) for x in flat]).reshape(shape)


jpeg_video = jpeg_image


@_register(jpeg, _PIL.Image)
def _jpeg_pil(image, quality):
    import io
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return _PIL.open(buffer).copy()

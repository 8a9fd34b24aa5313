"""Geometry functionals and their kernels per input type. Image (and video, mask) kernels are the v1
functionals of jtorch.vision.transforms.functional; boxes and key points move their corners / points
through the same geometry, as torchvision does (boxes: the four corners transformed, then their
enclosing box, clamped by the boxes' clamping_mode; rotated boxes: the four corners transformed, then the
rectangle torchvision makes of the parallelogram, see _rotated.py)."""
import math
import numbers

from PIL import Image as _PIL

import jtorch as torch
from jtorch.vision import tv_tensors
from jtorch.vision.transforms import _functional_tensor as F_t
from jtorch.vision.transforms import functional as F1
from jtorch.vision.transforms._functional_enhance_api import _get_perspective_coeffs
from jtorch.vision.transforms.functional import InterpolationMode, _compute_resized_output_size

from ._meta import _clamp, _convert_format, _from_xyxy, _to_xyxy
from ._rotated import parallelogram_to_rectangle
from ._utils import _register, _squeezed, dispatcher

BoundingBoxFormat = tv_tensors.BoundingBoxFormat
_IMAGES = (torch.Tensor, tv_tensors.Image, tv_tensors.Video, _PIL.Image)
_BOXES = tv_tensors.BoundingBoxes
_POINTS = tv_tensors.KeyPoints


def _check_interpolation(interpolation):
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int):
        return F1._interp(interpolation)
    if isinstance(interpolation, str):
        return InterpolationMode(interpolation)
    raise ValueError(f"Argument interpolation should be an `InterpolationMode` or a corresponding Pillow integer "
                     f"constant, but got {interpolation}.")


def _plain(t):
    return t.as_subclass(torch.Tensor)


def _corners(xyxy):
    """(N, 4) boxes -> (N * 4, 2) corners: top-left, top-right, bottom-right, bottom-left."""
    return xyxy[:, [[0, 1], [2, 1], [2, 3], [0, 3]]].reshape(-1, 2)


def _enclosing(points):
    """(N * 4, 2) corners -> (N, 4) XYXY boxes around them."""
    p = points.reshape(-1, 4, 2)
    return torch.cat([p.amin(dim=1), p.amax(dim=1)], dim=1)


# ---------------------------------------------------------------------------- flips
@dispatcher
def horizontal_flip(inpt):
    """Flip left-right."""


@_register(horizontal_flip, *_IMAGES, tv_tensors.Mask)
def horizontal_flip_image(image):
    return F1.hflip(image)


horizontal_flip_mask = horizontal_flip_video = horizontal_flip_image


def horizontal_flip_bounding_boxes(bounding_boxes, format, canvas_size):
    b = bounding_boxes.clone().reshape(-1, bounding_boxes.shape[-1])
    w = canvas_size[1]
    if format == BoundingBoxFormat.XYXYXYXY:  # mirrored corners, reordered to stay clockwise
        b = torch.stack([w - b[:, k] if k % 2 == 0 else b[:, k] for k in range(8)], 1)[:, [2, 3, 0, 1, 6, 7, 4, 5]]
    elif format == BoundingBoxFormat.XYWHR:  # the mirrored top-right corner becomes the top-left one
        r = b[:, 4].mul(math.pi).div(180)
        b = torch.stack([w - (b[:, 0] + b[:, 2] * r.cos()), b[:, 1] - b[:, 2] * r.sin(), b[:, 2], b[:, 3],
                         -b[:, 4]], 1)
    elif format == BoundingBoxFormat.CXCYWHR:
        b = torch.stack([w - b[:, 0], b[:, 1], b[:, 2], b[:, 3], -b[:, 4]], 1)
    elif format == BoundingBoxFormat.XYXY:
        b = torch.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], 1)
    elif format == BoundingBoxFormat.XYWH:
        b = torch.stack([w - (b[:, 0] + b[:, 2]), b[:, 1], b[:, 2], b[:, 3]], 1)
    else:
        b = torch.stack([w - b[:, 0], b[:, 1], b[:, 2], b[:, 3]], 1)
    return b.reshape(bounding_boxes.shape)


def vertical_flip_bounding_boxes(bounding_boxes, format, canvas_size):
    b = bounding_boxes.clone().reshape(-1, bounding_boxes.shape[-1])
    h = canvas_size[0]
    if format == BoundingBoxFormat.XYXYXYXY:
        b = torch.stack([h - b[:, k] if k % 2 == 1 else b[:, k] for k in range(8)], 1)[:, [2, 3, 0, 1, 6, 7, 4, 5]]
    elif format == BoundingBoxFormat.XYWHR:
        r = b[:, 4].mul(math.pi).div(180)
        b = torch.stack([b[:, 0] + b[:, 2] * r.cos(), h - (b[:, 1] - b[:, 2] * r.sin()), b[:, 2], b[:, 3],
                         180 - b[:, 4]], 1)
    elif format == BoundingBoxFormat.CXCYWHR:
        b = torch.stack([b[:, 0], h - b[:, 1], b[:, 2], b[:, 3], 180 - b[:, 4]], 1)
    elif format == BoundingBoxFormat.XYXY:
        b = torch.stack([b[:, 0], h - b[:, 3], b[:, 2], h - b[:, 1]], 1)
    elif format == BoundingBoxFormat.XYWH:
        b = torch.stack([b[:, 0], h - (b[:, 1] + b[:, 3]), b[:, 2], b[:, 3]], 1)
    else:
        b = torch.stack([b[:, 0], h - b[:, 1], b[:, 2], b[:, 3]], 1)
    return b.reshape(bounding_boxes.shape)


def horizontal_flip_keypoints(keypoints, canvas_size):
    p = keypoints.reshape(-1, 2)
    return torch.stack([canvas_size[1] - 1 - p[:, 0], p[:, 1]], 1).reshape(keypoints.shape)


def vertical_flip_keypoints(keypoints, canvas_size):
    p = keypoints.reshape(-1, 2)
    return torch.stack([p[:, 0], canvas_size[0] - 1 - p[:, 1]], 1).reshape(keypoints.shape)


def _is_rotated(fmt):
    return tv_tensors.is_rotated_bounding_format(fmt)


def _rotated_through(bounding_boxes, format, canvas_size, move_corners, clamping_mode, shift=None):
    """Rotated boxes through a map of their corners ((N * 4, 2) -> (N * 4, 2)): the moved parallelogram made a
    rectangle, less ``shift`` (1, 2), clamped into ``canvas_size`` and back in ``format`` and dtype."""
    corners = _convert_format(bounding_boxes, format, BoundingBoxFormat.XYXYXYXY).reshape(-1, 8)
    out = parallelogram_to_rectangle(move_corners(corners.reshape(-1, 2)).reshape(-1, 8))
    if shift is not None:
        out = out - shift.repeat(1, 4)
    out = _clamp(out, BoundingBoxFormat.XYXYXYXY, canvas_size, clamping_mode)
    out = _convert_format(out, BoundingBoxFormat.XYXYXYXY, format)
    return out.to(bounding_boxes.dtype).reshape(bounding_boxes.shape)


@_register(horizontal_flip, _BOXES, tv_tensor_wrapper=False)
def _hflip_boxes(inpt):
    return tv_tensors.wrap(horizontal_flip_bounding_boxes(_plain(inpt), inpt.format, inpt.canvas_size), like=inpt)


@_register(horizontal_flip, _POINTS, tv_tensor_wrapper=False)
def _hflip_points(inpt):
    return tv_tensors.wrap(horizontal_flip_keypoints(_plain(inpt), inpt.canvas_size), like=inpt)


@dispatcher
def vertical_flip(inpt):
    """Flip upside down."""


@_register(vertical_flip, *_IMAGES, tv_tensors.Mask)
def vertical_flip_image(image):
    return F1.vflip(image)


vertical_flip_mask = vertical_flip_video = vertical_flip_image


@_register(vertical_flip, _BOXES, tv_tensor_wrapper=False)
def _vflip_boxes(inpt):
    return tv_tensors.wrap(vertical_flip_bounding_boxes(_plain(inpt), inpt.format, inpt.canvas_size), like=inpt)


@_register(vertical_flip, _POINTS, tv_tensor_wrapper=False)
def _vflip_points(inpt):
    return tv_tensors.wrap(vertical_flip_keypoints(_plain(inpt), inpt.canvas_size), like=inpt)


hflip, vflip = horizontal_flip, vertical_flip


# ---------------------------------------------------------------------------- resize
@dispatcher
def resize(inpt, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size`` ([h, w], or the shorter side for one number; None with ``max_size``)."""


def _output_size(canvas_size, size, max_size):
    if isinstance(size, int):
        size = [size]
    return tuple(_compute_resized_output_size(canvas_size, size, max_size, allow_size_none=True))


@_register(resize, *_IMAGES)
def resize_image(image, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    interpolation = _check_interpolation(interpolation)
    if isinstance(image, _PIL.Image):
        if interpolation == InterpolationMode.NEAREST_EXACT:
            interpolation = InterpolationMode.NEAREST
        return F1.resize(image, size, interpolation, max_size=max_size, antialias=antialias)
    antialias = False if antialias is None else antialias
    if interpolation == InterpolationMode.LANCZOS and not antialias:
        raise ValueError("InterpolationMode.LANCZOS requires antialias=True")
    if interpolation.value not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"Interpolation mode {interpolation.value} is unsupported with Tensor input")
    h, w = image.shape[-2:]
    new = _output_size((h, w), size, max_size)
    if new == (h, w) or image.numel() == 0:
        return image if new == (h, w) else image.new_zeros(*image.shape[:-2], *new)
    # v2 resizes uint8 with interpolate's own uint8 kernels (bilinear, bicubic) on CPU
    return F1.interpolate_image(image, new, interpolation.value, antialias, native_uint8=True)


resize_video = resize_image


@_register(resize, tv_tensors.Mask)
@_squeezed
def resize_mask(mask, size, interpolation=InterpolationMode.NEAREST, max_size=None, antialias=None):
    interpolation = _check_interpolation(interpolation)
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        interpolation = InterpolationMode.NEAREST  # masks keep their labels
    return resize_image(mask, size, interpolation, max_size=max_size)


def resize_bounding_boxes(bounding_boxes, canvas_size, size, max_size=None, format=BoundingBoxFormat.XYXY,
                          clamping_mode="soft"):
    new = _output_size(canvas_size, size, max_size)
    if new == tuple(canvas_size):
        return bounding_boxes, canvas_size
    rw, rh = new[1] / canvas_size[1], new[0] / canvas_size[0]
    if _is_rotated(format):
        ratios = torch.tensor([rw, rh])
        return _rotated_through(bounding_boxes, format, new, lambda p: p.mul(ratios), clamping_mode), new
    ratios = torch.tensor([rw, rh, rw, rh])
    return bounding_boxes.mul(ratios).to(bounding_boxes.dtype), new


def resize_keypoints(keypoints, size, canvas_size, max_size=None):
    new = _output_size(canvas_size, size, max_size)
    if new == tuple(canvas_size):
        return keypoints, canvas_size
    ratios = torch.tensor([new[1] / canvas_size[1], new[0] / canvas_size[0]])
    return keypoints.mul(ratios).to(keypoints.dtype), new


@_register(resize, _BOXES, tv_tensor_wrapper=False)
def _resize_boxes(inpt, size, interpolation=None, max_size=None, antialias=None):
    out, canvas = resize_bounding_boxes(_plain(inpt), inpt.canvas_size, size, max_size, inpt.format,
                                        inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


@_register(resize, _POINTS, tv_tensor_wrapper=False)
def _resize_points(inpt, size, interpolation=None, max_size=None, antialias=None):
    out, canvas = resize_keypoints(_plain(inpt), size, inpt.canvas_size, max_size)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


# ---------------------------------------------------------------------------- crop / pad
@dispatcher
def crop(inpt, top, left, height, width):
    """Crop the box [top, top + height) x [left, left + width); outside the image is zeros."""


@_register(crop, *_IMAGES)
def crop_image(image, top, left, height, width):
    return F1.crop(image, top, left, height, width)


crop_video = crop_image
crop_mask = _register(crop, tv_tensors.Mask)(_squeezed(crop_image))


def _shift_vector(format, dx, dy):
    """What moving boxes by (dx, dy) adds to each coordinate of ``format``."""
    if format in (BoundingBoxFormat.XYXY, BoundingBoxFormat.XYXYXYXY):
        return [dx, dy] * (4 if format == BoundingBoxFormat.XYXYXYXY else 2)
    return [dx, dy, 0, 0, 0] if _is_rotated(format) else [dx, dy, 0, 0]


def crop_bounding_boxes(bounding_boxes, format, top, left, height, width, clamping_mode="soft"):
    sub = _shift_vector(format, left, top)
    out = bounding_boxes - torch.tensor(sub, dtype=bounding_boxes.dtype)
    canvas = (height, width)
    if format == BoundingBoxFormat.XYXYXYXY:
        out = parallelogram_to_rectangle(out)
    return _clamp(out, format, canvas, clamping_mode), canvas


def crop_keypoints(keypoints, top, left, height, width):
    return keypoints - torch.tensor([left, top], dtype=keypoints.dtype), (height, width)


@_register(crop, _BOXES, tv_tensor_wrapper=False)
def _crop_boxes(inpt, top, left, height, width):
    out, canvas = crop_bounding_boxes(_plain(inpt), inpt.format, top, left, height, width, inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


@_register(crop, _POINTS, tv_tensor_wrapper=False)
def _crop_points(inpt, top, left, height, width):
    out, canvas = crop_keypoints(_plain(inpt), top, left, height, width)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


def _center_crop_size(output_size):
    if isinstance(output_size, numbers.Number):
        s = int(output_size)
        return [s, s]
    if isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        return [output_size[0], output_size[0]]
    return list(output_size)


def _center_crop_anchor(crop_h, crop_w, h, w):
    return int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0))


@dispatcher
def center_crop(inpt, output_size):
    """Crop the centre (padded with zeros where the crop is larger than the image)."""


@_register(center_crop, *_IMAGES)
def center_crop_image(image, output_size):
    return F1.center_crop(image, output_size)


center_crop_video = center_crop_image
center_crop_mask = _register(center_crop, tv_tensors.Mask)(_squeezed(center_crop_image))


def center_crop_bounding_boxes(bounding_boxes, format, canvas_size, output_size, clamping_mode="soft"):
    ch, cw = _center_crop_size(output_size)
    top, left = _center_crop_anchor(ch, cw, *canvas_size)
    return crop_bounding_boxes(bounding_boxes, format, top, left, ch, cw, clamping_mode)


def center_crop_keypoints(keypoints, canvas_size, output_size):
    ch, cw = _center_crop_size(output_size)
    top, left = _center_crop_anchor(ch, cw, *canvas_size)
    return crop_keypoints(keypoints, top, left, ch, cw)


@_register(center_crop, _BOXES, tv_tensor_wrapper=False)
def _center_crop_boxes(inpt, output_size):
    out, canvas = center_crop_bounding_boxes(_plain(inpt), inpt.format, inpt.canvas_size, output_size,
                                             inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


@_register(center_crop, _POINTS, tv_tensor_wrapper=False)
def _center_crop_points(inpt, output_size):
    out, canvas = center_crop_keypoints(_plain(inpt), inpt.canvas_size, output_size)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


@dispatcher
def resized_crop(inpt, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR, antialias=True):
    """crop, then resize."""


@_register(resized_crop, *_IMAGES)
def resized_crop_image(image, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                       antialias=True):
    return resize_image(crop_image(image, top, left, height, width), size, interpolation, antialias=antialias)


resized_crop_video = resized_crop_image


@_register(resized_crop, tv_tensors.Mask)
def resized_crop_mask(mask, top, left, height, width, size, interpolation=None, antialias=None):
    return resize_mask(crop_mask(mask, top, left, height, width), size)


def resized_crop_bounding_boxes(bounding_boxes, format, top, left, height, width, size, clamping_mode="soft"):
    out, canvas = crop_bounding_boxes(bounding_boxes, format, top, left, height, width, clamping_mode)
    return resize_bounding_boxes(out, canvas, size, format=format, clamping_mode=clamping_mode)


def resized_crop_keypoints(keypoints, top, left, height, width, size):
    out, canvas = crop_keypoints(keypoints, top, left, height, width)
    return resize_keypoints(out, size, canvas)


@_register(resized_crop, _BOXES, tv_tensor_wrapper=False)
def _resized_crop_boxes(inpt, top, left, height, width, size, **kwargs):
    out, canvas = resized_crop_bounding_boxes(_plain(inpt), inpt.format, top, left, height, width, size,
                                              inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


@_register(resized_crop, _POINTS, tv_tensor_wrapper=False)
def _resized_crop_points(inpt, top, left, height, width, size, **kwargs):
    out, canvas = resized_crop_keypoints(_plain(inpt), top, left, height, width, size)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


def _parse_pad_padding(padding):
    """[left, right, top, bottom] from an int or a 1, 2 or 4-sequence ([left, top, right, bottom])."""
    if isinstance(padding, int):
        return [padding] * 4
    if isinstance(padding, (tuple, list)):
        if len(padding) == 1:
            return [padding[0]] * 4
        if len(padding) == 2:
            return [padding[0], padding[0], padding[1], padding[1]]
        if len(padding) == 4:
            return [padding[0], padding[2], padding[1], padding[3]]
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element list, not {padding}")


@dispatcher
def pad(inpt, padding, fill=None, padding_mode="constant"):
    """Pad the borders: an int, [left/right, top/bottom] or [left, top, right, bottom]."""


@_register(pad, *_IMAGES)
def pad_image(image, padding, fill=None, padding_mode="constant"):
    if isinstance(image, _PIL.Image):
        return F1.pad(image, padding, 0 if fill is None else fill, padding_mode)
    left, right, top, bottom = _parse_pad_padding(padding)
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"`padding_mode` should be either `'constant'`, `'edge'`, `'reflect'` or `'symmetric'`, "
                         f"but got `'{padding_mode}'`.")
    if isinstance(fill, (tuple, list)) and len(fill) > 1:
        if padding_mode != "constant":
            return F1.pad(image, [left, top, right, bottom], 0, padding_mode)
        if len(fill) != image.shape[-3]:
            raise ValueError(f"Padding image with a sequence of {len(fill)} fill values, but image has "
                             f"{image.shape[-3]} channels")
        # one constant per channel: pad each channel with its own value
        channels = [F1.pad(c.unsqueeze(-3), [left, top, right, bottom], f, "constant")
                    for c, f in zip(image.unbind(-3), fill)]
        return torch.cat(channels, dim=-3)
    if isinstance(fill, (tuple, list)):
        fill = fill[0]
    fill = 0 if fill is None else fill
    if not image.is_floating_point() and isinstance(fill, float):
        fill = int(fill)
    return F1.pad(image, [left, top, right, bottom], fill, padding_mode)


pad_video = pad_image


@_register(pad, tv_tensors.Mask)
@_squeezed
def pad_mask(mask, padding, fill=None, padding_mode="constant"):
    if isinstance(fill, (tuple, list)):
        raise ValueError("Non-scalar fill value is not supported")
    return pad_image(mask, padding, 0 if fill is None else fill, padding_mode)


def pad_bounding_boxes(bounding_boxes, format, canvas_size, padding, padding_mode="constant", clamping_mode="soft"):
    if padding_mode != "constant":
        raise ValueError(f"Padding mode '{padding_mode}' is not supported with bounding boxes")
    left, right, top, bottom = _parse_pad_padding(padding)
    add = _shift_vector(format, left, top)
    out = bounding_boxes + torch.tensor(add, dtype=bounding_boxes.dtype)
    canvas = (canvas_size[0] + top + bottom, canvas_size[1] + left + right)
    return _clamp(out, format, canvas, clamping_mode), canvas


def pad_keypoints(keypoints, canvas_size, padding, padding_mode="constant"):
    if padding_mode != "constant":
        raise ValueError(f"Padding mode '{padding_mode}' is not supported with KeyPoints (supported modes are "
                         "constant)")
    left, right, top, bottom = _parse_pad_padding(padding)
    canvas = (canvas_size[0] + top + bottom, canvas_size[1] + left + right)
    return keypoints + torch.tensor([left, top], dtype=keypoints.dtype), canvas


@_register(pad, _BOXES, tv_tensor_wrapper=False)
def _pad_boxes(inpt, padding, fill=None, padding_mode="constant"):
    out, canvas = pad_bounding_boxes(_plain(inpt), inpt.format, inpt.canvas_size, padding, padding_mode,
                                     inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


@_register(pad, _POINTS, tv_tensor_wrapper=False)
def _pad_points(inpt, padding, fill=None, padding_mode="constant"):
    out, canvas = pad_keypoints(_plain(inpt), inpt.canvas_size, padding, padding_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


# ---------------------------------------------------------------------------- affine / rotate
def _forward_affine_matrix(center, angle, translate, scale, shear):
    """T(translate) C(center) R(angle) Sh(shear) S(scale) C(center)^-1 as a flat 2x3 list (the direction
    points move, the inverse of the one images are sampled with)."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -(a * math.tan(sx) + math.sin(rot))
    c = math.sin(rot - sy) / math.cos(sy)
    d = math.cos(rot) - c * math.tan(sx)
    m = [a * scale, b * scale, 0.0, c * scale, d * scale, 0.0]
    m[2] = cx + tx - m[0] * cx - m[1] * cy
    m[5] = cy + ty - m[3] * cx - m[4] * cy
    return m


def _move_points(points, matrix, dtype):
    """(N, 2) points through a flat 2x3 affine matrix."""
    m = torch.tensor(matrix, dtype=dtype).reshape(2, 3)
    pts = torch.cat([points.to(dtype), torch.ones(points.shape[0], 1, dtype=dtype)], dim=-1)
    return pts.matmul(m.T)


def _expanded_canvas(matrix, center, angle, translate, scale, shear, canvas_size, dtype):
    """Shift that puts the transformed canvas at the origin, and its size (rotate with expand=True)."""
    h, w = canvas_size
    corners = torch.tensor([[0.0, 0.0], [0.0, float(h)], [float(w), float(h)], [float(w), 0.0]], dtype=dtype)
    shift = _move_points(corners, matrix, dtype).amin(dim=0, keepdim=True)
    # torchvision sizes the canvas with the inverse matrix about the absolute centre (the image uses the
    # centre-relative one), which can differ from the image's size by a pixel: kept for the same metadata
    inverse = F_t.inverse_affine_matrix(center, angle, translate, scale, shear)
    new_w, new_h = F_t.affine_output_size(inverse, w, h)
    return shift, (new_h, new_w)


def _affine_boxes(bounding_boxes, format, canvas_size, angle, translate, scale, shear, center=None, expand=False,
                  clamping_mode="soft"):
    if bounding_boxes.numel() == 0:
        return bounding_boxes, canvas_size
    angle, translate, shear, center = F1._affine_args(angle, translate, scale, shear, center)
    if center is None:
        center = [canvas_size[1] * 0.5, canvas_size[0] * 0.5]
    dtype = bounding_boxes.dtype if bounding_boxes.is_floating_point() else torch.float32
    matrix = _forward_affine_matrix(center, angle, translate, scale, shear)
    shift = None
    if expand:
        shift, canvas_size = _expanded_canvas(matrix, center, angle, translate, scale, shear, canvas_size, dtype)
    if _is_rotated(format):
        return _rotated_through(bounding_boxes, format, canvas_size, lambda p: _move_points(p, matrix, dtype),
                                clamping_mode, shift), canvas_size
    xyxy = _to_xyxy(bounding_boxes.to(dtype), format).reshape(-1, 4)
    out = _enclosing(_move_points(_corners(xyxy), matrix, dtype))
    if expand:
        out = out - shift.repeat(1, 2)
    out = _clamp(out, BoundingBoxFormat.XYXY, canvas_size, clamping_mode)
    return _from_xyxy(out, format).reshape(bounding_boxes.shape).to(bounding_boxes.dtype), canvas_size


def _affine_points(keypoints, canvas_size, angle, translate, scale, shear, center=None, expand=False):
    if keypoints.numel() == 0:
        return keypoints, canvas_size
    angle, translate, shear, center = F1._affine_args(angle, translate, scale, shear, center)
    if center is None:
        center = [canvas_size[1] * 0.5, canvas_size[0] * 0.5]
    dtype = keypoints.dtype if keypoints.is_floating_point() else torch.float32
    matrix = _forward_affine_matrix(center, angle, translate, scale, shear)
    out = _move_points(keypoints.reshape(-1, 2), matrix, dtype)
    if expand:
        shift, canvas_size = _expanded_canvas(matrix, center, angle, translate, scale, shear, canvas_size, dtype)
        out = out - shift
    return out.reshape(keypoints.shape).to(keypoints.dtype), canvas_size


@dispatcher
def affine(inpt, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotation (degrees), translation (pixels), scale and shear (degrees) about the centre."""


def _image_fill(fill):
    if isinstance(fill, (int, float)):
        return float(fill)
    return fill


@_register(affine, *_IMAGES)
def affine_image(image, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST, fill=None,
                 center=None):
    interpolation = _check_interpolation(interpolation)
    return F1.affine(image, angle, list(translate), scale, shear, interpolation, _image_fill(fill), center)


affine_video = affine_image


@_register(affine, tv_tensors.Mask)
@_squeezed
def affine_mask(mask, angle, translate, scale, shear, interpolation=None, fill=None, center=None):
    return affine_image(mask, angle, translate, scale, shear, InterpolationMode.NEAREST, fill, center)


def affine_bounding_boxes(bounding_boxes, format, canvas_size, angle, translate, scale, shear, center=None,
                          clamping_mode="soft"):
    return _affine_boxes(bounding_boxes, format, canvas_size, angle, translate, scale, shear, center,
                         clamping_mode=clamping_mode)[0]


def affine_keypoints(keypoints, canvas_size, angle, translate, scale, shear, center=None):
    return _affine_points(keypoints, canvas_size, angle, translate, scale, shear, center)


@_register(affine, _BOXES, tv_tensor_wrapper=False)
def _affine_boxes_dispatch(inpt, angle, translate, scale, shear, center=None, **kwargs):
    out = affine_bounding_boxes(_plain(inpt), inpt.format, inpt.canvas_size, angle, translate, scale, shear,
                                center, inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt)


@_register(affine, _POINTS, tv_tensor_wrapper=False)
def _affine_points_dispatch(inpt, angle, translate, scale, shear, center=None, **kwargs):
    out, canvas = affine_keypoints(_plain(inpt), inpt.canvas_size, angle, translate, scale, shear, center)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


@dispatcher
def rotate(inpt, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees."""


@_register(rotate, *_IMAGES)
def rotate_image(image, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    interpolation = _check_interpolation(interpolation)
    return F1.rotate(image, float(angle), interpolation, expand, center, _image_fill(fill))


rotate_video = rotate_image


@_register(rotate, tv_tensors.Mask)
@_squeezed
def rotate_mask(mask, angle, interpolation=None, expand=False, center=None, fill=None):
    return rotate_image(mask, angle, InterpolationMode.NEAREST, expand, center, fill)


def rotate_bounding_boxes(bounding_boxes, format, canvas_size, angle, expand=False, center=None,
                          clamping_mode="soft"):
    return _affine_boxes(bounding_boxes, format, canvas_size, -angle, [0.0, 0.0], 1.0, [0.0, 0.0], center, expand,
                         clamping_mode)


def rotate_keypoints(keypoints, canvas_size, angle, expand=False, center=None):
    return _affine_points(keypoints, canvas_size, -angle, [0.0, 0.0], 1.0, [0.0, 0.0], center, expand)


@_register(rotate, _BOXES, tv_tensor_wrapper=False)
def _rotate_boxes(inpt, angle, interpolation=None, expand=False, center=None, fill=None):
    out, canvas = rotate_bounding_boxes(_plain(inpt), inpt.format, inpt.canvas_size, angle, expand, center,
                                        inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


@_register(rotate, _POINTS, tv_tensor_wrapper=False)
def _rotate_points(inpt, angle, interpolation=None, expand=False, center=None, fill=None):
    out, canvas = rotate_keypoints(_plain(inpt), inpt.canvas_size, angle, expand, center)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


# ---------------------------------------------------------------------------- perspective / elastic
def _perspective_coefficients(startpoints, endpoints, coefficients):
    if coefficients is not None:
        if startpoints is not None and endpoints is not None:
            raise ValueError("The startpoints/endpoints and the coefficients shouldn't be defined concurrently.")
        if len(coefficients) != 8:
            raise ValueError("Argument coefficients should have 8 float values")
        return list(coefficients)
    if startpoints is not None and endpoints is not None:
        return _get_perspective_coeffs(startpoints, endpoints)
    raise ValueError("Either the startpoints/endpoints or the coefficients must have non `None` values.")


@dispatcher
def perspective(inpt, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR, fill=None,
                coefficients=None):
    """Warp so that ``startpoints`` land on ``endpoints`` (or by the 8 ``coefficients``)."""


@_register(perspective, *_IMAGES)
def perspective_image(image, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR, fill=None,
                      coefficients=None):
    coeffs = _perspective_coefficients(startpoints, endpoints, coefficients)
    interpolation = _check_interpolation(interpolation)
    if isinstance(image, _PIL.Image):
        from jtorch.vision.transforms import _functional_pil as F_pil
        return F_pil.perspective(image, coeffs, F1.pil_modes_mapping[interpolation], fill)
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"Interpolation mode '{interpolation.value}' is unsupported with Tensor input")
    from jtorch.vision.transforms import _functional_enhance as F_e
    return F1._tensor_op(image, F_e.perspective, coeffs, interpolation.value,
                         F1._tensor_fill(_image_fill(fill), F1.get_dimensions(image)[0]))


perspective_video = perspective_image


@_register(perspective, tv_tensors.Mask)
@_squeezed
def perspective_mask(mask, startpoints, endpoints, interpolation=None, fill=None, coefficients=None):
    return perspective_image(mask, startpoints, endpoints, InterpolationMode.NEAREST, fill, coefficients)


def _perspective_points(points, coeffs, dtype):
    """Points through the inverse of the sampling map (the coefficients map output to input)."""
    c = coeffs
    denom = c[0] * c[4] - c[1] * c[3]
    if denom == 0:
        raise RuntimeError(f"Provided perspective_coeffs {coeffs} can not be inverted to transform bounding boxes. "
                           f"Denominator is zero, denom={denom}")
    inv = [(c[4] - c[5] * c[7]) / denom, (-c[1] + c[2] * c[7]) / denom, (c[1] * c[5] - c[2] * c[4]) / denom,
           (-c[3] + c[5] * c[6]) / denom, (c[0] - c[2] * c[6]) / denom, (-c[0] * c[5] + c[2] * c[3]) / denom,
           (-c[4] * c[6] + c[3] * c[7]) / denom, (-c[0] * c[7] + c[1] * c[6]) / denom]
    numer = torch.tensor([inv[0:3], inv[3:6]], dtype=dtype)
    den = torch.tensor([[inv[6], inv[7], 1.0], [inv[6], inv[7], 1.0]], dtype=dtype)
    pts = torch.cat([points.to(dtype), torch.ones(points.shape[0], 1, dtype=dtype)], dim=-1)
    return pts.matmul(numer.T) / pts.matmul(den.T)


def perspective_bounding_boxes(bounding_boxes, format, canvas_size, startpoints, endpoints, coefficients=None,
                               clamping_mode="soft"):
    if bounding_boxes.numel() == 0:
        return bounding_boxes
    coeffs = _perspective_coefficients(startpoints, endpoints, coefficients)
    if _is_rotated(format):
        dtype = bounding_boxes.dtype
        return _rotated_through(bounding_boxes, format, canvas_size, lambda p: _perspective_points(p, coeffs, dtype),
                                clamping_mode)
    xyxy = _to_xyxy(bounding_boxes, format).reshape(-1, 4)
    dtype = bounding_boxes.dtype if bounding_boxes.is_floating_point() else torch.float32
    out = _enclosing(_perspective_points(_corners(xyxy), coeffs, dtype))
    out = _clamp(out, BoundingBoxFormat.XYXY, canvas_size, clamping_mode)
    return _from_xyxy(out, format).reshape(bounding_boxes.shape).to(bounding_boxes.dtype)


def perspective_keypoints(keypoints, canvas_size, startpoints, endpoints, coefficients=None):
    if keypoints.numel() == 0:
        return keypoints
    coeffs = _perspective_coefficients(startpoints, endpoints, coefficients)
    dtype = keypoints.dtype if keypoints.is_floating_point() else torch.float32
    return _perspective_points(keypoints.reshape(-1, 2), coeffs, dtype).to(keypoints.dtype).reshape(keypoints.shape)


@_register(perspective, _BOXES, tv_tensor_wrapper=False)
def _perspective_boxes(inpt, startpoints, endpoints, coefficients=None, **kwargs):
    out = perspective_bounding_boxes(_plain(inpt), inpt.format, inpt.canvas_size, startpoints, endpoints,
                                     coefficients, inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt)


@_register(perspective, _POINTS, tv_tensor_wrapper=False)
def _perspective_points_dispatch(inpt, startpoints, endpoints, coefficients=None, **kwargs):
    return tv_tensors.wrap(perspective_keypoints(_plain(inpt), inpt.canvas_size, startpoints, endpoints,
                                                 coefficients), like=inpt)


@dispatcher
def elastic(inpt, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Warp by a displacement field (1, H, W, 2) in normalised coordinates."""


elastic_transform = elastic


@_register(elastic, *_IMAGES)
def elastic_image(image, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    interpolation = _check_interpolation(interpolation)
    return F1.elastic_transform(image, displacement, interpolation, _image_fill(fill))


elastic_video = elastic_image


@_register(elastic, tv_tensors.Mask)
@_squeezed
def elastic_mask(mask, displacement, interpolation=None, fill=None):
    return elastic_image(mask, displacement, InterpolationMode.NEAREST, fill)


def _elastic_inverse_at(points, canvas_size, displacement, dtype, ceil):
    """Approximate the forward map at integer points (box corners rounded up, key points truncated): the
    identity grid minus the displacement there."""
    h, w = canvas_size
    xs = torch.linspace((-w + 1) / w, (w - 1) / w, w, dtype=dtype)
    ys = torch.linspace((-h + 1) / h, (h - 1) / h, h, dtype=dtype)
    grid = torch.stack([xs.expand(h, w), ys.unsqueeze(-1).expand(h, w)], -1).unsqueeze(0)
    inv_grid = grid - displacement.to(dtype)
    if ceil and points.is_floating_point():
        points = points.ceil()
    idx = points.to(torch.int64)
    ix, iy = idx[:, 0].clamp(0, w - 1), idx[:, 1].clamp(0, h - 1)
    size = torch.tensor([float(w), float(h)], dtype=dtype)
    return (inv_grid[0, iy, ix, :] + 1) * (0.5 * size) - 0.5


def _check_displacement(displacement, canvas_size):
    expected = (1, canvas_size[0], canvas_size[1], 2)
    if not isinstance(displacement, torch.Tensor):
        raise TypeError("Argument displacement should be a Tensor")
    if tuple(displacement.shape) != expected:
        raise ValueError(f"Argument displacement shape should be {expected}, but given {tuple(displacement.shape)}")


def elastic_bounding_boxes(bounding_boxes, format, canvas_size, displacement, clamping_mode="soft"):
    _check_displacement(displacement, canvas_size)
    if bounding_boxes.numel() == 0:
        return bounding_boxes
    dtype = bounding_boxes.dtype if bounding_boxes.is_floating_point() else torch.float32
    if _is_rotated(format):  # the centre moves; size and angle stay
        cxcywhr = _convert_format(bounding_boxes, format, BoundingBoxFormat.CXCYWHR).reshape(-1, 5)
        centres = _elastic_inverse_at(cxcywhr[:, :2], canvas_size, displacement, dtype, True)
        out = torch.cat([centres, cxcywhr[:, 2:]], 1).to(bounding_boxes.dtype)
        out = _clamp(out, BoundingBoxFormat.CXCYWHR, canvas_size, clamping_mode)
        return _convert_format(out, BoundingBoxFormat.CXCYWHR, format).reshape(bounding_boxes.shape)
    xyxy = _to_xyxy(bounding_boxes, format).reshape(-1, 4)
    corners = _elastic_inverse_at(_corners(xyxy), canvas_size, displacement, dtype, True)
    out = _enclosing(corners).to(bounding_boxes.dtype)
    out = _clamp(out, BoundingBoxFormat.XYXY, canvas_size, clamping_mode)
    return _from_xyxy(out, format).reshape(bounding_boxes.shape)


def elastic_keypoints(keypoints, canvas_size, displacement):
    _check_displacement(displacement, canvas_size)
    if keypoints.numel() == 0:
        return keypoints
    dtype = keypoints.dtype if keypoints.is_floating_point() else torch.float32
    out = _elastic_inverse_at(keypoints.reshape(-1, 2), canvas_size, displacement, dtype, False)
    return out.to(keypoints.dtype).reshape(keypoints.shape)


@_register(elastic, _BOXES, tv_tensor_wrapper=False)
def _elastic_boxes(inpt, displacement, **kwargs):
    out = elastic_bounding_boxes(_plain(inpt), inpt.format, inpt.canvas_size, displacement, inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt)


@_register(elastic, _POINTS, tv_tensor_wrapper=False)
def _elastic_points(inpt, displacement, **kwargs):
    return tv_tensors.wrap(elastic_keypoints(_plain(inpt), inpt.canvas_size, displacement), like=inpt)


# ---------------------------------------------------------------------------- five / ten crop
@dispatcher
def five_crop(inpt, size):
    """The four corners and the centre, each of ``size``."""


@_register(five_crop, *_IMAGES, tv_tensor_wrapper=False)
def five_crop_image(image, size):
    crops = F1.five_crop(_plain(image) if isinstance(image, torch.Tensor) else image, size)
    if isinstance(image, tv_tensors.TVTensor):
        return tuple(tv_tensors.wrap(c, like=image) for c in crops)
    return crops


five_crop_video = five_crop_image


@dispatcher
def ten_crop(inpt, size, vertical_flip=False):
    """five_crop of the image and of its flip."""


@_register(ten_crop, *_IMAGES, tv_tensor_wrapper=False)
def ten_crop_image(image, size, vertical_flip=False):
    crops = F1.ten_crop(_plain(image) if isinstance(image, torch.Tensor) else image, size, vertical_flip)
    if isinstance(image, tv_tensors.TVTensor):
        return tuple(tv_tensors.wrap(c, like=image) for c in crops)
    return crops


ten_crop_video = ten_crop_image

"""Sizes and bounding-box metadata: get_dimensions / get_size / get_num_channels / get_num_frames,
convert_bounding_box_format, clamp_bounding_boxes (all formats; rotated clamping in _rotated.py)."""
import math

from PIL import Image as _PIL

import jtorch as torch
from jtorch.vision import tv_tensors
from jtorch.vision.tv_tensors import BoundingBoxFormat
from jtorch.vision.transforms import functional as F1

from ._rotated import clamp_corners
from ._utils import _register, dispatcher, is_pure_tensor

_TENSORS = (torch.Tensor, tv_tensors.Image, tv_tensors.Video)


@dispatcher
def get_dimensions(inpt):
    """[C, H, W] of an image or video."""


@_register(get_dimensions, *_TENSORS, _PIL.Image, tv_tensor_wrapper=False)
def get_dimensions_image(image):
    if isinstance(image, _PIL.Image):
        return F1.get_dimensions(image)
    chw = list(image.shape[-3:])
    if len(chw) == 2:
        return [1] + chw
    if len(chw) < 2:
        raise TypeError(f"Input tensor should have at least two dimensions, but got {len(chw)}")
    return chw


get_dimensions_video = get_dimensions_image


@dispatcher
def get_num_channels(inpt):
    """C of an image or video."""


@_register(get_num_channels, *_TENSORS, _PIL.Image, tv_tensor_wrapper=False)
def get_num_channels_image(image):
    return get_dimensions_image(image)[0]


get_num_channels_video = get_num_channels_image
get_image_num_channels = get_num_channels


@dispatcher
def get_size(inpt):
    """[H, W] of an image, video, mask, or the canvas of boxes / key points."""


@_register(get_size, *_TENSORS, tv_tensors.Mask, _PIL.Image, tv_tensor_wrapper=False)
def get_size_image(image):
    if isinstance(image, _PIL.Image):
        return [image.height, image.width]
    if image.ndim < 2:
        raise TypeError(f"Input tensor should have at least two dimensions, but got {image.ndim}")
    return list(image.shape[-2:])


get_size_video = get_size_mask = get_size_image


@_register(get_size, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints, tv_tensor_wrapper=False)
def get_size_bounding_boxes(boxes):
    return list(boxes.canvas_size)


get_size_keypoints = get_size_bounding_boxes


@dispatcher
def get_num_frames(inpt):
    """T of a video (..., T, C, H, W)."""


@_register(get_num_frames, torch.Tensor, tv_tensors.Video, tv_tensor_wrapper=False)
def get_num_frames_video(video):
    return video.shape[-4]


# ---------------------------------------------------------------------------- box formats
def _floor_half(t):
    return t / 2 if t.is_floating_point() else t.div(2, rounding_mode="floor")


def _to_xyxy(boxes, fmt):
    """XYWH / CXCYWH -> XYXY; integer centre boxes go through float32 as torchvision does."""
    if fmt == BoundingBoxFormat.XYXY:
        return boxes
    if fmt == BoundingBoxFormat.XYWH:
        return torch.cat([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], -1)
    work = boxes if boxes.is_floating_point() else boxes.float()
    xy = work[..., :2] - work[..., 2:] / 2
    return torch.cat([xy, xy + work[..., 2:]], -1).to(boxes.dtype)


def _from_xyxy(boxes, fmt):
    if fmt == BoundingBoxFormat.XYXY:
        return boxes
    wh = boxes[..., 2:] - boxes[..., :2]
    if fmt == BoundingBoxFormat.XYWH:
        return torch.cat([boxes[..., :2], wh], -1)
    return torch.cat([_floor_half(boxes[..., :2] * 2 + wh), wh], -1)


# rotated boxes go through XYWHR (top-left corner, width, height, angle in degrees counter-clockwise)
def _radians(boxes):
    return boxes[..., 4].mul(math.pi).div(180.0)


def _cxcywhr_to_xywhr(b):
    hw, hh = b[..., 2].div(-2).abs(), b[..., 3].div(-2).abs()
    r = _radians(b)
    cos, sin = r.cos(), r.sin()
    x = b[..., 0].sub(hw.mul(cos)).sub(hh.mul(sin))
    y = b[..., 1].add(hw.mul(sin)).sub(hh.mul(cos))
    return torch.stack([x, y, b[..., 2], b[..., 3], b[..., 4]], -1)


def _xywhr_to_cxcywhr(b):
    hw, hh = b[..., 2].div(-2).abs(), b[..., 3].div(-2).abs()
    r = _radians(b)
    cos, sin = r.cos(), r.sin()
    cx = b[..., 0].add(hw.mul(cos)).add(hh.mul(sin))
    cy = b[..., 1].sub(hw.mul(sin)).add(hh.mul(cos))
    return torch.stack([cx, cy, b[..., 2], b[..., 3], b[..., 4]], -1)


def _xywhr_to_xyxyxyxy(b):
    x, y, w, h = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    r = _radians(b)
    cos, sin = r.cos(), r.sin()
    return torch.stack([x, y, x.add(w.mul(cos)), y.sub(w.mul(sin)), x.add(w.mul(cos).add(h.mul(sin))),
                        y.sub(w.mul(sin).sub(h.mul(cos))), x.add(h.mul(sin)), y.add(h.mul(cos))], -1)


def _xyxyxyxy_to_xywhr(b):
    dtype = b.dtype
    if dtype not in (torch.float32, torch.float64):
        b = b.to(torch.float32)
    r = torch.atan2(b[..., 1].sub(b[..., 3]), b[..., 2].sub(b[..., 0]))
    dx1, dy1 = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    dx2, dy2 = b[..., 4] - b[..., 2], b[..., 5] - b[..., 3]
    w = dx1.pow(2).add(dy1.pow(2)).sqrt()
    h = dx2.pow(2).add(dy2.pow(2)).sqrt()
    return torch.stack([b[..., 0], b[..., 1], w, h, r.div(math.pi).mul(180.0)], -1).to(dtype)


_TO_XYWHR = {BoundingBoxFormat.XYWHR: lambda b: b, BoundingBoxFormat.CXCYWHR: _cxcywhr_to_xywhr,
             BoundingBoxFormat.XYXYXYXY: _xyxyxyxy_to_xywhr}
_FROM_XYWHR = {BoundingBoxFormat.XYWHR: lambda b: b, BoundingBoxFormat.CXCYWHR: _xywhr_to_cxcywhr,
               BoundingBoxFormat.XYXYXYXY: _xywhr_to_xyxyxyxy}


def _convert_format(boxes, old_format, new_format):
    if old_format == new_format:
        return boxes.clone()
    rotated = tv_tensors.is_rotated_bounding_format(old_format)
    if rotated != tv_tensors.is_rotated_bounding_format(new_format):
        raise ValueError("Cannot convert between rotated and unrotated bounding boxes.")
    if rotated:
        return _FROM_XYWHR[new_format](_TO_XYWHR[old_format](boxes))
    if old_format == BoundingBoxFormat.XYWH and new_format == BoundingBoxFormat.CXCYWH:
        return torch.cat([boxes[..., :2] + _floor_half(boxes[..., 2:]), boxes[..., 2:]], -1)
    if old_format == BoundingBoxFormat.CXCYWH and new_format == BoundingBoxFormat.XYWH and \
            not boxes.is_floating_point():
        xyxy = _to_xyxy(boxes, old_format)
        return torch.cat([xyxy[..., :2], xyxy[..., 2:] - xyxy[..., :2]], -1)
    if old_format == BoundingBoxFormat.CXCYWH and new_format == BoundingBoxFormat.XYWH:
        return torch.cat([boxes[..., :2] - boxes[..., 2:] / 2, boxes[..., 2:]], -1)
    return _from_xyxy(_to_xyxy(boxes, old_format), new_format)


def _parse_format(fmt):
    return BoundingBoxFormat[fmt.upper()] if isinstance(fmt, str) else fmt


def convert_bounding_box_format(inpt, old_format=None, new_format=None, inplace=False):
    """Boxes from one format to another (a plain tensor needs ``old_format``)."""
    if new_format is None:
        raise TypeError("convert_bounding_box_format() missing 1 required argument: 'new_format'")
    old_format, new_format = _parse_format(old_format), _parse_format(new_format)
    if is_pure_tensor(inpt):
        if old_format is None:
            raise ValueError("For pure tensor inputs, `old_format` has to be passed.")
        out = _convert_format(inpt, old_format, new_format)
        return inpt.copy_(out) if inplace else out
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if old_format is not None:
            raise ValueError("For bounding box tv_tensor inputs, `old_format` must not be passed.")
        out = _convert_format(inpt.as_subclass(torch.Tensor), inpt.format, new_format)
        return tv_tensors.wrap(out, like=inpt, format=new_format)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got {type(inpt)} instead.")


def _clamp(boxes, format, canvas_size, clamping_mode):
    """Clamp the corners into the canvas (in float32 for integer boxes); None clamps nothing."""
    if clamping_mode is None:
        return boxes.clone()
    if tv_tensors.is_rotated_bounding_format(format):
        corners = _convert_format(boxes, format, BoundingBoxFormat.XYXYXYXY).reshape(-1, 8)
        corners = clamp_corners(corners, canvas_size, clamping_mode)
        return _convert_format(corners, BoundingBoxFormat.XYXYXYXY, format).reshape(boxes.shape)
    work = boxes if boxes.is_floating_point() else boxes.float()
    xyxy = _to_xyxy(work, format)
    h, w = canvas_size
    x = xyxy[..., 0::2].clamp(min=0, max=w)
    y = xyxy[..., 1::2].clamp(min=0, max=h)
    xyxy = torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], -1)
    return _from_xyxy(xyxy, format).to(boxes.dtype)


def clamp_bounding_boxes(inpt, format=None, canvas_size=None, clamping_mode="auto"):
    """Clamp boxes into their canvas; "auto" takes the boxes' own clamping_mode."""
    if clamping_mode is not None and clamping_mode not in ("soft", "hard", "auto"):
        raise ValueError(f"clamping_mode must be soft, hard, auto or None, got {clamping_mode}")
    if is_pure_tensor(inpt):
        if format is None or canvas_size is None or clamping_mode == "auto":
            raise ValueError("For pure tensor inputs, `format`, `canvas_size` and `clamping_mode` have to be passed.")
        return _clamp(inpt, _parse_format(format), canvas_size, clamping_mode)
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("For bounding box tv_tensor inputs, `format` and `canvas_size` must not be passed.")
        if clamping_mode == "auto":
            clamping_mode = inpt.clamping_mode
        out = _clamp(inpt.as_subclass(torch.Tensor), inpt.format, inpt.canvas_size, clamping_mode)
        return tv_tensors.wrap(out, like=inpt)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got {type(inpt)} instead.")


def clamp_keypoints(inpt, canvas_size=None):
    """Clamp points into their canvas [0, W-1] x [0, H-1]."""
    if is_pure_tensor(inpt):
        if canvas_size is None:
            raise ValueError("For pure tensor inputs, `canvas_size` has to be passed.")
        return _clamp_points(inpt, canvas_size)
    if isinstance(inpt, tv_tensors.KeyPoints):
        if canvas_size is not None:
            raise ValueError("For keypoints tv_tensor inputs, `canvas_size` must not be passed.")
        return tv_tensors.wrap(_clamp_points(inpt.as_subclass(torch.Tensor), inpt.canvas_size), like=inpt)
    raise TypeError(f"Input can either be a plain tensor or a keypoints tv_tensor, but got {type(inpt)} instead.")


def _clamp_points(points, canvas_size):
    work = points if points.is_floating_point() else points.float()
    x = work[..., 0].clamp(0, canvas_size[1] - 1)
    y = work[..., 1].clamp(0, canvas_size[0] - 1)
    return torch.stack([x, y], -1).to(points.dtype)

"""Distance / complete IoU (pairwise) and the IoU-based box regression losses (elementwise)."""
import math

import jtorch as torch

from .boxes import _check_boxes, _upcast, box_iou

__all__ = ["distance_box_iou", "complete_box_iou", "generalized_box_iou_loss", "distance_box_iou_loss",
           "complete_box_iou_loss", "masks_to_boxes"]


def _upcast_non_float(t):
    return t if t.is_floating_point() else t.float()


def _centers(b):
    return (b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2


def _box_diou_iou(boxes1, boxes2, eps):
    iou = box_iou(boxes1, boxes2)
    lti = torch.minimum(boxes1[:, None, :2], boxes2[None, :, :2])
    rbi = torch.maximum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    whi = _upcast(rbi - lti).clamp(min=0)
    diag = whi[:, :, 0] ** 2 + whi[:, :, 1] ** 2 + eps  # the enclosing box's squared diagonal
    xp, yp = _centers(boxes1)
    xg, yg = _centers(boxes2)
    dist = (xp[:, None] - xg[None, :]) ** 2 + (yp[:, None] - yg[None, :]) ** 2
    return iou - dist / diag, iou


def distance_box_iou(boxes1, boxes2, eps=1e-7):
    """[N, M] DIoU: IoU minus the squared centre distance over the enclosing box's squared diagonal."""
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    diou, _ = _box_diou_iou(_upcast(boxes1), _upcast(boxes2), eps)
    return diou


def _aspect_term(w1, h1, w2, h2):
    return (4 / (math.pi ** 2)) * (torch.atan(w1 / h1) - torch.atan(w2 / h2)) ** 2


def complete_box_iou(boxes1, boxes2, eps=1e-7):
    """[N, M] CIoU: DIoU minus an aspect-ratio consistency term (its weight alpha is a constant)."""
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    boxes1, boxes2 = _upcast(boxes1), _upcast(boxes2)
    diou, iou = _box_diou_iou(boxes1, boxes2, eps)
    w1 = (boxes1[:, 2] - boxes1[:, 0])[:, None]
    h1 = (boxes1[:, 3] - boxes1[:, 1])[:, None]
    w2 = (boxes2[:, 2] - boxes2[:, 0])[None, :]
    h2 = (boxes2[:, 3] - boxes2[:, 1])[None, :]
    v = _aspect_term(w1, h1, w2, h2)
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"Invalid Value for arg 'reduction': '{reduction} \n Supported reduction modes: "
                     "'none', 'mean', 'sum'")


def _loss_inter_union(boxes1, boxes2):
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xi1, yi1 = torch.maximum(x1, x1g), torch.maximum(y1, y1g)
    xi2, yi2 = torch.minimum(x2, x2g), torch.minimum(y2, y2g)
    overlap = (yi2 > yi1) & (xi2 > xi1)
    inter = torch.where(overlap, (xi2 - xi1) * (yi2 - yi1), torch.zeros_like(x1))
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    return inter, union


def _enclosing(boxes1, boxes2):
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    return torch.minimum(x1, x1g), torch.minimum(y1, y1g), torch.maximum(x2, x2g), torch.maximum(y2, y2g)


def generalized_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    """1 - GIoU of matched box pairs ([N, 4] each)."""
    boxes1, boxes2 = _upcast_non_float(boxes1), _upcast_non_float(boxes2)
    inter, union = _loss_inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    xc1, yc1, xc2, yc2 = _enclosing(boxes1, boxes2)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    return _reduce(1 - (iou - (area_c - union) / (area_c + eps)), reduction)


def _diou_iou_loss(boxes1, boxes2, eps):
    inter, union = _loss_inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    xc1, yc1, xc2, yc2 = _enclosing(boxes1, boxes2)
    diag = (xc2 - xc1) ** 2 + (yc2 - yc1) ** 2 + eps
    xp, yp = _centers(boxes1)
    xg, yg = _centers(boxes2)
    return 1 - iou + ((xp - xg) ** 2 + (yp - yg) ** 2) / diag, iou


def distance_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    """1 - DIoU of matched box pairs."""
    boxes1, boxes2 = _upcast_non_float(boxes1), _upcast_non_float(boxes2)
    loss, _ = _diou_iou_loss(boxes1, boxes2, eps)
    return _reduce(loss, reduction)


def complete_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    """1 - CIoU of matched box pairs."""
    boxes1, boxes2 = _upcast_non_float(boxes1), _upcast_non_float(boxes2)
    loss, iou = _diou_iou_loss(boxes1, boxes2, eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    v = _aspect_term(x2g - x1g, y2g - y1g, x2 - x1, y2 - y1)
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return _reduce(loss + alpha * v, reduction)


def masks_to_boxes(masks):
    """[N, H, W] masks -> [N, 4] float boxes (x1, y1, x2, y2) around their non-zero pixels."""
    if masks.numel() == 0:
        return torch.zeros((0, 4), dtype=torch.float)
    n, h, w = masks.shape
    nz = masks != 0
    ys = torch.arange(h, dtype=torch.float)[None, :, None]
    xs = torch.arange(w, dtype=torch.float)[None, None, :]
    big = float(max(h, w))
    y_in = torch.where(nz, ys.expand(n, h, w), torch.full((n, h, w), big))
    x_in = torch.where(nz, xs.expand(n, h, w), torch.full((n, h, w), big))
    y_out = torch.where(nz, ys.expand(n, h, w), torch.full((n, h, w), -1.0))
    x_out = torch.where(nz, xs.expand(n, h, w), torch.full((n, h, w), -1.0))
    boxes = torch.stack([x_in.amin(dim=(1, 2)), y_in.amin(dim=(1, 2)), x_out.amax(dim=(1, 2)),
                         y_out.amax(dim=(1, 2))], dim=1)
    empty = ~nz.reshape(n, -1).any(dim=1)
    return torch.where(empty[:, None], torch.zeros_like(boxes), boxes)  # empty masks give zeros

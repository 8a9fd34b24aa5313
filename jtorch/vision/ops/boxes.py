"""torchvision.ops box utilities (jtorch ops, differentiable like torchvision's), nms as an eager
numpy kernel (its output is indices), and the focal loss."""

import numpy as np

import jtorch as torch

__all__ = ["nms", "batched_nms", "box_area", "box_iou", "generalized_box_iou", "box_convert",
           "clip_boxes_to_image", "remove_small_boxes", "sigmoid_focal_loss"]


def _np(t):
    return np.asarray(t.detach().numpy())


def _upcast(t):
    """Integer boxes are promoted (float to float, int to int64) so products cannot overflow."""
    if t.is_floating_point():
        return t if t.dtype in (torch.float32, torch.float64) else t.float()
    return t if t.dtype in (torch.int32, torch.int64) else t.int()


def _check_boxes(boxes, name="boxes"):
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} should be a Tensor. Got {type(boxes)}")
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} should be of shape [N, 4], got {tuple(boxes.shape)}")


def _iou_np(box, others):
    xx1 = np.maximum(box[0], others[:, 0])
    yy1 = np.maximum(box[1], others[:, 1])
    xx2 = np.minimum(box[2], others[:, 2])
    yy2 = np.minimum(box[3], others[:, 3])
    inter = np.maximum(xx2 - xx1, 0) * np.maximum(yy2 - yy1, 0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / (area + areas - inter)


def nms(boxes, scores, iou_threshold):
    """Indices (int64) of the boxes kept, by decreasing score: a box is dropped when its
    IoU with a higher-scoring kept box is greater than ``iou_threshold``."""
    _check_boxes(boxes)
    if scores.ndim != 1 or scores.shape[0] != boxes.shape[0]:
        raise RuntimeError(f"boxes and scores should have the same number of elements in dimension 0, got "
                           f"{boxes.shape[0]} and {scores.shape[0]}")
    if boxes.dtype != scores.dtype:
        raise RuntimeError(f"dets should have the same type as scores, got {boxes.dtype} and {scores.dtype}")
    b = _np(boxes).astype(np.float64 if boxes.dtype == torch.float64 else np.float32)
    s = _np(scores)
    order = np.argsort(-s, kind="stable")
    suppressed = np.zeros(len(b), bool)
    keep = []
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[pos + 1:]
        rest = rest[~suppressed[rest]]
        if len(rest):
            suppressed[rest[_iou_np(b[i], b[rest]) > iou_threshold]] = True
    return torch.from_numpy(np.asarray(keep, np.int64))


def batched_nms(boxes, scores, idxs, iou_threshold):
    """nms within each category ``idxs``: boxes of different categories never suppress each other."""
    _check_boxes(boxes)
    if boxes.numel() == 0:
        return torch.from_numpy(np.zeros((0,), np.int64))
    b = _np(boxes)
    # shift each category far enough apart that their boxes cannot overlap
    offsets = _np(idxs).astype(b.dtype) * (b.max() + 1)
    shifted = torch.from_numpy(np.ascontiguousarray(b + offsets[:, None]))
    return nms(shifted, scores, iou_threshold)


def box_area(boxes):
    """(x2 - x1) * (y2 - y1) of boxes in (x1, y1, x2, y2) format."""
    boxes = _upcast(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _inter_union(boxes1, boxes2):
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    return inter, area1[:, None] + area2[None, :] - inter


def box_iou(boxes1, boxes2):
    """[N, M] pairwise intersection over union."""
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    inter, union = _inter_union(boxes1, boxes2)
    return inter / union


def generalized_box_iou(boxes1, boxes2):
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / union
    lti = torch.minimum(boxes1[:, None, :2], boxes2[None, :, :2])
    rbi = torch.maximum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    whi = _upcast(rbi - lti).clamp(min=0)
    areai = whi[:, :, 0] * whi[:, :, 1]
    return iou - (areai - union) / areai


def box_convert(boxes, in_fmt, out_fmt):
    """Convert between 'xyxy', 'xywh' and 'cxcywh'."""
    allowed = ("xyxy", "xywh", "cxcywh")
    if in_fmt not in allowed or out_fmt not in allowed:
        raise ValueError("Unsupported Bounding Box Conversions for given in_fmt and out_fmt")
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xywh":
        a, b, c, d = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        a, b, c, d = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    if out_fmt == "xywh":
        a, b, c, d = a, b, c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
    return torch.stack((a, b, c, d), dim=-1)


def clip_boxes_to_image(boxes, size):
    """Clamp x to [0, width] and y to [0, height]; size is (height, width)."""
    h, w = size
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack((x1.clamp(min=0, max=w), y1.clamp(min=0, max=h),
                        x2.clamp(min=0, max=w), y2.clamp(min=0, max=h)), dim=-1)


def remove_small_boxes(boxes, min_size):
    """Indices of the boxes whose sides are both at least ``min_size``."""
    b = _np(boxes)
    keep = ((b[:, 2] - b[:, 0]) >= min_size) & ((b[:, 3] - b[:, 1]) >= min_size)
    return torch.from_numpy(np.nonzero(keep)[0].astype(np.int64))


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    """RetinaNet's focal loss on logits."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"Invalid Value for arg 'reduction': '{reduction} \n Supported reduction modes: "
                         "'none', 'mean', 'sum'")
    p = torch.sigmoid(inputs)
    ce = inputs.clamp(min=0) - inputs * targets + torch.log1p(torch.exp(-inputs.abs()))
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss

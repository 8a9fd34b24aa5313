"""What the one-stage detectors (RetinaNet, FCOS, SSD) share around their heads: the checks of
the inputs and targets, the transform and backbone step, the per-level split of the outputs and
the selection of detections from them."""
from collections import OrderedDict

import jtorch as torch

from ...ops import boxes as box_ops


def check_targets(training, targets):
    if not training:
        return
    if targets is None:
        raise AssertionError("targets should not be none when in training mode")
    for target in targets:
        boxes = target["boxes"]
        if not isinstance(boxes, torch.Tensor):
            raise AssertionError("Expected target boxes to be of type Tensor.")
        if boxes.ndim != 2 or boxes.shape[-1] != 4:
            raise AssertionError("Expected target boxes to be a tensor of shape [N, 4].")


def original_sizes(images):
    sizes = []
    for img in images:
        if img.ndim < 2:
            raise AssertionError(f"expecting the last two dimensions of the Tensor to be H and W instead got "
                                 f"{img.shape[-2:]}")
        sizes.append((int(img.shape[-2]), int(img.shape[-1])))
    return sizes


def check_degenerate(targets):
    if targets is None:
        return
    for idx, target in enumerate(targets):
        boxes = target["boxes"]
        degenerate = (boxes[:, 2:] <= boxes[:, :2]).any(dim=1)
        if degenerate.any():
            bad = boxes[torch.where(degenerate)[0][0]].tolist()
            raise AssertionError("All bounding boxes should have positive height and width. "
                                 f"Found invalid box {bad} for target at index {idx}.")


def backbone_features(backbone, tensors):
    """The backbone's maps as a list (a lone tensor is one map)."""
    features = backbone(tensors)
    if isinstance(features, torch.Tensor):
        features = OrderedDict([("0", features)])
    return list(features.values())


def split_per_level(head_outputs, anchors, features):
    """Cut the (N, sum HWA, ...) head outputs and the anchors back into one piece per feature map
    (A anchors per location, the same on every map)."""
    hw = [int(f.shape[2]) * int(f.shape[3]) for f in features]
    per_location = int(next(iter(head_outputs.values())).shape[1]) // sum(hw)
    counts = [n * per_location for n in hw]
    outputs = {k: list(v.split(counts, dim=1)) for k, v in head_outputs.items()}
    return outputs, [list(a.split(counts)) for a in anchors]


def sum_list(values):
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def level_candidates(scores, regression, level_anchors, num_classes, model, decode, image_shape):
    """One level of one image: of the flattened (anchor, class) ``scores``, those over the model's
    ``score_thresh``, its best ``topk_candidates``; their boxes decoded from their anchors and clipped
    to the image, their scores and their labels."""
    candidates = torch.where(scores > model.score_thresh)[0]
    scores, order = scores[candidates].topk(min(model.topk_candidates, candidates.numel()))
    candidates = candidates[order]
    anchor_idx = torch.div(candidates, num_classes, rounding_mode="floor")
    boxes = decode(regression[anchor_idx], level_anchors[anchor_idx])
    return box_ops.clip_boxes_to_image(boxes, image_shape), scores, candidates % num_classes


def nms_detections(per_level, model):
    """The levels' candidates of one image joined, class-wise nms at the model's ``nms_thresh``, its
    ``detections_per_img`` best kept."""
    boxes, scores, labels = (torch.cat(list(x)) for x in zip(*per_level))
    keep = box_ops.batched_nms(boxes, scores, labels, model.nms_thresh)[:model.detections_per_img]
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}

"""What the one-stage detectors (RetinaNet, FCOS, SSD) share around their heads: the checks of
the inputs and targets, the transform and backbone step, and the per-level split of the outputs."""
from collections import OrderedDict

import jtorch as torch


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

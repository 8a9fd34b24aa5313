"""The shared segmentation wrapper: backbone features -> head -> upsampled to the input size."""
from collections import OrderedDict

import jtorch.nn as nn
import jtorch.nn.functional as F

from .._utils import _ovewrite_value_param


class _SimpleSegmentationModel(nn.Module):
    """``backbone`` returns {'out': ..., 'aux': ...}; each goes through its classifier and is
    resized bilinearly to the input's height and width."""
    __constants__ = ["aux_classifier"]

    def __init__(self, backbone, classifier, aux_classifier=None):
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x):
        size = tuple(x.shape[-2:])
        features = self.backbone(x)
        result = OrderedDict()
        result["out"] = F.interpolate(self.classifier(features["out"]), size=size, mode="bilinear",
                                      align_corners=False)
        if self.aux_classifier is not None:
            result["aux"] = F.interpolate(self.aux_classifier(features["aux"]), size=size, mode="bilinear",
                                          align_corners=False)
        return result


def _resolve(weights, num_classes, aux_loss):
    """Checkpoint weights fix the class count and need the aux head; else 21 VOC classes."""
    if weights is not None:
        num_classes = _ovewrite_value_param("num_classes", num_classes, len(weights.meta["categories"]))
        aux_loss = _ovewrite_value_param("aux_loss", aux_loss, True)
    elif num_classes is None:
        num_classes = 21
    return num_classes, aux_loss


def _stage_indices(features):
    """Positions in a MobileNetV3 ``features`` of the first layer, each strided block and the last layer."""
    return [0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)] + [len(features) - 1]

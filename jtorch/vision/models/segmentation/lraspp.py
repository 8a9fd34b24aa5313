"""Lite R-ASPP (the MobileNetV3 paper's segmentation head) on MobileNetV3-Large."""
from collections import OrderedDict

import jtorch.nn as nn
import jtorch.nn.functional as F

from .._api import _make_enum
from .._utils import IntermediateLayerGetter, _ovewrite_value_param, builder, load_weights
from ..mobilenetv3 import MobileNet_V3_Large_Weights, mobilenet_v3_large
from ._utils import _stage_indices

__all__ = ["LRASPP", "LRASPP_MobileNet_V3_Large_Weights", "lraspp_mobilenet_v3_large"]


class LRASPP(nn.Module):
    """``backbone`` returns {'low': stride-8 features, 'high': stride-16 features}."""

    def __init__(self, backbone, low_channels, high_channels, num_classes, inter_channels=128):
        super().__init__()
        self.backbone = backbone
        self.classifier = LRASPPHead(low_channels, high_channels, num_classes, inter_channels)

    def forward(self, input):
        out = self.classifier(self.backbone(input))
        result = OrderedDict()
        result["out"] = F.interpolate(out, size=tuple(input.shape[-2:]), mode="bilinear", align_corners=False)
        return result


class LRASPPHead(nn.Module):
    """High features gated by their global-pooled sigmoid, upsampled to the low features and both classified."""

    def __init__(self, low_channels, high_channels, num_classes, inter_channels):
        super().__init__()
        self.cbr = nn.Sequential(nn.Conv2d(high_channels, inter_channels, 1, bias=False),
                                 nn.BatchNorm2d(inter_channels), nn.ReLU(inplace=True))
        self.scale = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(high_channels, inter_channels, 1, bias=False),
                                   nn.Sigmoid())
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, input):
        low, high = input["low"], input["high"]
        x = self.cbr(high) * self.scale(high)
        x = F.interpolate(x, size=tuple(low.shape[-2:]), mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(x)


def _lraspp_mobilenetv3(backbone, num_classes):
    features = backbone.features
    stages = _stage_indices(features)
    low_pos, high_pos = stages[-4], stages[-1]
    body = IntermediateLayerGetter(features, return_layers={str(low_pos): "low", str(high_pos): "high"})
    return LRASPP(body, features[low_pos].out_channels, features[high_pos].out_channels, num_classes)


LRASPP_MobileNet_V3_Large_Weights = _make_enum("LRASPP_MobileNet_V3_Large_Weights", __name__)


@builder(LRASPP_MobileNet_V3_Large_Weights, "COCO_WITH_VOC_LABELS_V1",
         backbone=(MobileNet_V3_Large_Weights, "IMAGENET1K_V1"))
def lraspp_mobilenet_v3_large(*, weights=None, progress=True, num_classes=None,
                              weights_backbone=MobileNet_V3_Large_Weights.IMAGENET1K_V1, **kwargs):
    if kwargs.pop("aux_loss", False):
        raise NotImplementedError("This model does not use auxiliary loss")
    if weights is not None:
        weights_backbone = None
        num_classes = _ovewrite_value_param("num_classes", num_classes, len(weights.meta["categories"]))
    elif num_classes is None:
        num_classes = 21
    backbone = mobilenet_v3_large(weights=weights_backbone, dilated=True)
    return load_weights(_lraspp_mobilenetv3(backbone, num_classes), weights, progress)

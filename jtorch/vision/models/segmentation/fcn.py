"""Fully Convolutional Networks (FCN) on dilated ResNet-50/101."""
import jtorch.nn as nn

from .._api import _make_enum
from .._utils import IntermediateLayerGetter, builder, load_weights
from ..resnet import ResNet50_Weights, ResNet101_Weights, resnet50, resnet101
from ._utils import _SimpleSegmentationModel, _resolve

__all__ = ["FCN", "FCN_ResNet50_Weights", "FCN_ResNet101_Weights", "fcn_resnet50", "fcn_resnet101"]


class FCN(_SimpleSegmentationModel):
    """Fully Convolutional Networks for Semantic Segmentation (Long et al.)."""


class FCNHead(nn.Sequential):
    def __init__(self, in_channels, channels):
        inter = in_channels // 4
        super().__init__(nn.Conv2d(in_channels, inter, 3, padding=1, bias=False), nn.BatchNorm2d(inter), nn.ReLU(),
                         nn.Dropout(0.1), nn.Conv2d(inter, channels, 1))


def _fcn_resnet(backbone, num_classes, aux):
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    backbone = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return FCN(backbone, FCNHead(2048, num_classes), aux_classifier)


def _build(make_backbone, weights, progress, num_classes, aux_loss, weights_backbone):
    if weights is not None:
        weights_backbone = None  # the full checkpoint has the backbone too
    num_classes, aux_loss = _resolve(weights, num_classes, aux_loss)
    backbone = make_backbone(weights=weights_backbone, replace_stride_with_dilation=[False, True, True])
    return load_weights(_fcn_resnet(backbone, num_classes, aux_loss), weights, progress)


FCN_ResNet50_Weights = _make_enum("FCN_ResNet50_Weights", __name__)
FCN_ResNet101_Weights = _make_enum("FCN_ResNet101_Weights", __name__)

_LEGACY = "COCO_WITH_VOC_LABELS_V1"


@builder(FCN_ResNet50_Weights, _LEGACY, backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def fcn_resnet50(*, weights=None, progress=True, num_classes=None, aux_loss=None,
                 weights_backbone=ResNet50_Weights.IMAGENET1K_V1, **kwargs):
    """FCN with a ResNet-50 backbone (output stride 8)."""
    return _build(resnet50, weights, progress, num_classes, aux_loss, weights_backbone)


@builder(FCN_ResNet101_Weights, _LEGACY, backbone=(ResNet101_Weights, "IMAGENET1K_V1"))
def fcn_resnet101(*, weights=None, progress=True, num_classes=None, aux_loss=None,
                  weights_backbone=ResNet101_Weights.IMAGENET1K_V1, **kwargs):
    """FCN with a ResNet-101 backbone (output stride 8)."""
    return _build(resnet101, weights, progress, num_classes, aux_loss, weights_backbone)

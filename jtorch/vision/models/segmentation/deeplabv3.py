"""DeepLabV3 (atrous spatial pyramid pooling) on dilated ResNet-50/101 and MobileNetV3-Large."""
import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

from .._api import _make_enum
from .._utils import IntermediateLayerGetter, builder, load_weights
from ..mobilenetv3 import MobileNet_V3_Large_Weights, mobilenet_v3_large
from ..resnet import ResNet50_Weights, ResNet101_Weights, resnet50, resnet101
from ._utils import _SimpleSegmentationModel, _resolve, _stage_indices
from .fcn import FCNHead

__all__ = ["DeepLabV3", "DeepLabV3_ResNet50_Weights", "DeepLabV3_ResNet101_Weights",
           "DeepLabV3_MobileNet_V3_Large_Weights", "deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50",
           "deeplabv3_resnet101"]


class DeepLabV3(_SimpleSegmentationModel):
    """Rethinking Atrous Convolution for Semantic Image Segmentation (Chen et al.)."""


class DeepLabHead(nn.Sequential):
    def __init__(self, in_channels, num_classes, atrous_rates=(12, 24, 36)):
        super().__init__(ASPP(in_channels, atrous_rates), nn.Conv2d(256, 256, 3, padding=1, bias=False),
                         nn.BatchNorm2d(256), nn.ReLU(), nn.Conv2d(256, num_classes, 1))


class ASPPConv(nn.Sequential):
    def __init__(self, in_channels, out_channels, dilation):
        super().__init__(nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


class ASPPPooling(nn.Sequential):
    """Image-level features: global average, 1x1 conv, then spread back over the map."""

    def __init__(self, in_channels, out_channels):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())

    def forward(self, x):
        size = tuple(x.shape[-2:])
        for layer in self:
            x = layer(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """A 1x1 branch, one 3x3 branch per atrous rate and the pooling branch, concatenated and projected."""

    def __init__(self, in_channels, atrous_rates, out_channels=256):
        super().__init__()
        branches = [nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels),
                                  nn.ReLU())]
        branches += [ASPPConv(in_channels, out_channels, rate) for rate in tuple(atrous_rates)]
        branches.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(nn.Conv2d(len(branches) * out_channels, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels), nn.ReLU(), nn.Dropout(0.5))

    def forward(self, x):
        return self.project(torch.cat([conv(x) for conv in self.convs], dim=1))


def _deeplabv3_resnet(backbone, num_classes, aux):
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    backbone = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return DeepLabV3(backbone, DeepLabHead(2048, num_classes), aux_classifier)


def _deeplabv3_mobilenetv3(backbone, num_classes, aux):
    features = backbone.features
    stages = _stage_indices(features)
    out_pos, aux_pos = stages[-1], stages[-4]  # C5 (output stride 16) and C2 (stride 8)
    return_layers = {str(out_pos): "out"}
    if aux:
        return_layers[str(aux_pos)] = "aux"
    body = IntermediateLayerGetter(features, return_layers=return_layers)
    aux_classifier = FCNHead(features[aux_pos].out_channels, num_classes) if aux else None
    return DeepLabV3(body, DeepLabHead(features[out_pos].out_channels, num_classes), aux_classifier)


def _build_resnet(make_backbone, weights, progress, num_classes, aux_loss, weights_backbone):
    if weights is not None:
        weights_backbone = None
    num_classes, aux_loss = _resolve(weights, num_classes, aux_loss)
    backbone = make_backbone(weights=weights_backbone, replace_stride_with_dilation=[False, True, True])
    return load_weights(_deeplabv3_resnet(backbone, num_classes, aux_loss), weights, progress)


DeepLabV3_ResNet50_Weights = _make_enum("DeepLabV3_ResNet50_Weights", __name__)
DeepLabV3_ResNet101_Weights = _make_enum("DeepLabV3_ResNet101_Weights", __name__)
DeepLabV3_MobileNet_V3_Large_Weights = _make_enum("DeepLabV3_MobileNet_V3_Large_Weights", __name__)

_LEGACY = "COCO_WITH_VOC_LABELS_V1"


@builder(DeepLabV3_ResNet50_Weights, _LEGACY, backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def deeplabv3_resnet50(*, weights=None, progress=True, num_classes=None, aux_loss=None,
                       weights_backbone=ResNet50_Weights.IMAGENET1K_V1, **kwargs):
    return _build_resnet(resnet50, weights, progress, num_classes, aux_loss, weights_backbone)


@builder(DeepLabV3_ResNet101_Weights, _LEGACY, backbone=(ResNet101_Weights, "IMAGENET1K_V1"))
def deeplabv3_resnet101(*, weights=None, progress=True, num_classes=None, aux_loss=None,
                        weights_backbone=ResNet101_Weights.IMAGENET1K_V1, **kwargs):
    return _build_resnet(resnet101, weights, progress, num_classes, aux_loss, weights_backbone)


@builder(DeepLabV3_MobileNet_V3_Large_Weights, _LEGACY, backbone=(MobileNet_V3_Large_Weights, "IMAGENET1K_V1"))
def deeplabv3_mobilenet_v3_large(*, weights=None, progress=True, num_classes=None, aux_loss=None,
                                 weights_backbone=MobileNet_V3_Large_Weights.IMAGENET1K_V1, **kwargs):
    if weights is not None:
        weights_backbone = None
    num_classes, aux_loss = _resolve(weights, num_classes, aux_loss)
    backbone = mobilenet_v3_large(weights=weights_backbone, dilated=True)
    return load_weights(_deeplabv3_mobilenetv3(backbone, num_classes, aux_loss), weights, progress)

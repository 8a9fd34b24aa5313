"""Backbones for the detectors: a ResNet or MobileNet trunk feeding a Feature Pyramid Network,
with the first layers frozen (requires_grad False) as torchvision's trainable_layers asks."""
import warnings

import jtorch.nn as nn

from ...ops import misc as misc_nn_ops
from ...ops.feature_pyramid_network import ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool  # noqa: F401
from .. import mobilenetv2, mobilenetv3, resnet
from .._utils import IntermediateLayerGetter, _legacy_weights

__all__ = ["BackboneWithFPN", "resnet_fpn_backbone", "mobilenet_backbone"]


class BackboneWithFPN(nn.Module):
    """``body`` (IntermediateLayerGetter) returns the chosen stages; ``fpn`` turns them into
    ``out_channels``-channel maps named '0', '1', ... (and 'pool')."""

    def __init__(self, backbone, return_layers, in_channels_list, out_channels, extra_blocks=None, norm_layer=None):
        super().__init__()
        self.body = IntermediateLayerGetter(backbone, return_layers=return_layers)
        self.fpn = FeaturePyramidNetwork(in_channels_list=in_channels_list, out_channels=out_channels,
                                         extra_blocks=extra_blocks if extra_blocks is not None else LastLevelMaxPool(),
                                         norm_layer=norm_layer)
        self.out_channels = out_channels

    def forward(self, x):
        return self.fpn(self.body(x))


def _weights_enum_of(builder):
    return builder._weights_enum


def resnet_fpn_backbone(*, backbone_name, weights=None, norm_layer=misc_nn_ops.FrozenBatchNorm2d, trainable_layers=3,
                        returned_layers=None, extra_blocks=None, **kwargs):
    build = getattr(resnet, backbone_name)
    kwargs["weights"] = weights
    _legacy_weights(kwargs, "weights", "pretrained", _weights_enum_of(build), "IMAGENET1K_V1")
    backbone = build(weights=kwargs["weights"], norm_layer=norm_layer)
    return _resnet_fpn_extractor(backbone, trainable_layers, returned_layers, extra_blocks)


def _resnet_fpn_extractor(backbone, trainable_layers, returned_layers=None, extra_blocks=None, norm_layer=None):
    if trainable_layers < 0 or trainable_layers > 5:
        raise ValueError(f"Trainable layers should be in the range [0,5], got {trainable_layers}")
    train = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
    if trainable_layers == 5:
        train.append("bn1")
    for name, parameter in backbone.named_parameters():
        if not any(name.startswith(layer) for layer in train):
            parameter.requires_grad_(False)
    if returned_layers is None:
        returned_layers = [1, 2, 3, 4]
    if min(returned_layers) <= 0 or max(returned_layers) >= 5:
        raise ValueError(f"Each returned layer should be in the range [1,4]. Got {returned_layers}")
    return_layers = {f"layer{k}": str(v) for v, k in enumerate(returned_layers)}
    stage2 = backbone.inplanes // 8
    in_channels_list = [stage2 * 2 ** (i - 1) for i in returned_layers]
    return BackboneWithFPN(backbone, return_layers, in_channels_list, 256, extra_blocks=extra_blocks,
                           norm_layer=norm_layer)


def _validate_trainable_layers(is_trained, trainable_backbone_layers, max_value, default_value):
    if not is_trained:
        if trainable_backbone_layers is not None:
            warnings.warn("Changing trainable_backbone_layers has no effect if neither pretrained nor "
                          "pretrained_backbone have been set to True, falling back to "
                          f"trainable_backbone_layers={max_value} so that all layers are trainable")
        trainable_backbone_layers = max_value
    if trainable_backbone_layers is None:
        trainable_backbone_layers = default_value
    if trainable_backbone_layers < 0 or trainable_backbone_layers > max_value:
        raise ValueError(f"Trainable backbone layers should be in the range [0,{max_value}], got "
                         f"{trainable_backbone_layers} ")
    return trainable_backbone_layers


def mobilenet_backbone(*, backbone_name, weights=None, fpn, norm_layer=misc_nn_ops.FrozenBatchNorm2d,
                       trainable_layers=2, returned_layers=None, extra_blocks=None, **kwargs):
    build = getattr(mobilenetv3, backbone_name, None) or getattr(mobilenetv2, backbone_name)
    kwargs["weights"] = weights
    _legacy_weights(kwargs, "weights", "pretrained", _weights_enum_of(build), "IMAGENET1K_V1")
    backbone = build(weights=kwargs["weights"], norm_layer=norm_layer)
    return _mobilenet_extractor(backbone, fpn, trainable_layers, returned_layers, extra_blocks)


def _mobilenet_extractor(backbone, fpn, trainable_layers, returned_layers=None, extra_blocks=None, norm_layer=None):
    features = backbone.features
    stages = [0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)] + [len(features) - 1]
    n = len(stages)
    if trainable_layers < 0 or trainable_layers > n:
        raise ValueError(f"Trainable layers should be in the range [0,{n}], got {trainable_layers} ")
    freeze_before = len(features) if trainable_layers == 0 else stages[n - trainable_layers]
    for block in features[:freeze_before]:
        for parameter in block.parameters():
            parameter.requires_grad_(False)
    out_channels = 256
    if fpn:
        if returned_layers is None:
            returned_layers = [n - 2, n - 1]
        if min(returned_layers) < 0 or max(returned_layers) >= n:
            raise ValueError(f"Each returned layer should be in the range [0,{n - 1}], got {returned_layers} ")
        return_layers = {f"{stages[k]}": str(v) for v, k in enumerate(returned_layers)}
        in_channels_list = [features[stages[i]].out_channels for i in returned_layers]
        return BackboneWithFPN(features, return_layers, in_channels_list, out_channels, extra_blocks=extra_blocks,
                               norm_layer=norm_layer)
    m = nn.Sequential(features, nn.Conv2d(features[-1].out_channels, out_channels, 1))
    m.out_channels = out_channels
    return m

"""RetinaNet (Focal Loss for Dense Object Detection): an FPN backbone from P3 to P7, and two
conv towers predicting, for every anchor, per-class sigmoid logits and box deltas."""
import math
from functools import partial

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

from ...ops import boxes as box_ops
from ...ops import misc as misc_nn_ops
from ...ops.boxes import sigmoid_focal_loss
from ...ops.feature_pyramid_network import LastLevelP6P7
from .._api import _make_enum
from .._layers import Conv2dNormActivation
from .._utils import _ovewrite_value_param, builder, load_weights
from ..resnet import ResNet50_Weights, resnet50
from . import _one_stage as one_stage
from ._utils import BoxCoder, Matcher, _box_loss, overwrite_eps
from .anchor_utils import AnchorGenerator
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .transform import imagenet_transform

__all__ = ["RetinaNet", "RetinaNet_ResNet50_FPN_Weights", "RetinaNet_ResNet50_FPN_V2_Weights",
           "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2"]


def _default_anchorgen():
    # three scales per octave (2^0, 2^1/3, 2^2/3) on each of P3..P7
    sizes = tuple((s, int(s * 2 ** (1.0 / 3)), int(s * 2 ** (2.0 / 3))) for s in (32, 64, 128, 256, 512))
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))


def _conv_tower(in_channels, norm_layer):
    tower = nn.Sequential(*[Conv2dNormActivation(in_channels, in_channels, norm_layer=norm_layer) for _ in range(4)])
    for layer in tower.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, std=0.01)
            if layer.bias is not None:
                nn.init.constant_(layer.bias, 0)
    return tower


def _rename_v1_tower(state_dict, prefix):
    # version 1 checkpoints had bare convs at conv.0, conv.2, ... (ReLUs between)
    for i in range(4):
        for kind in ("weight", "bias"):
            old = f"{prefix}conv.{2 * i}.{kind}"
            if old in state_dict:
                state_dict[f"{prefix}conv.{i}.0.{kind}"] = state_dict.pop(old)


def _per_anchor(x, last):
    """(N, A * last, H, W) -> (N, H * W * A, last): location-major, as the anchors are."""
    n, _, h, w = x.shape
    return x.view(n, -1, last, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, last)


class _VersionedTower(nn.Module):
    _version = 2

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        if local_metadata.get("version") is None or local_metadata["version"] < 2:
            _rename_v1_tower(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


class RetinaNetClassificationHead(_VersionedTower):
    """Four 3x3 conv(-norm)-ReLU layers, then one conv giving num_anchors * num_classes logits;
    the logits' bias starts at the prior ``prior_probability`` of foreground."""

    def __init__(self, in_channels, num_anchors, num_classes, prior_probability=0.01, norm_layer=None):
        super().__init__()
        self.conv = _conv_tower(in_channels, norm_layer)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3, stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior_probability) / prior_probability))
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        self.BETWEEN_THRESHOLDS = Matcher.BETWEEN_THRESHOLDS

    def compute_loss(self, targets, head_outputs, matched_idxs):
        """Focal loss over the anchors that are not between the thresholds, per image divided by
        its number of foreground anchors, averaged over the images."""
        losses = []
        for target, logits, matched in zip(targets, head_outputs["cls_logits"], matched_idxs):
            foreground = matched >= 0
            if target["labels"].numel() == 0:  # an image without objects: every anchor is background
                gt = torch.zeros_like(logits)
            else:
                labels = target["labels"][matched.clamp(min=0)]
                gt = F.one_hot(labels, logits.shape[-1]).to(logits.dtype) * foreground[:, None].to(logits.dtype)
            valid = matched != self.BETWEEN_THRESHOLDS
            loss = sigmoid_focal_loss(logits[valid], gt[valid], reduction="sum")
            losses.append(loss / max(1, int(foreground.sum())))
        return one_stage.sum_list(losses) / len(targets)

    def forward(self, x):
        return torch.cat([_per_anchor(self.cls_logits(self.conv(f)), self.num_classes) for f in x], dim=1)


class RetinaNetRegressionHead(_VersionedTower):
    """Four 3x3 conv(-norm)-ReLU layers, then one conv giving 4 box deltas per anchor (L1 loss;
    v2 sets ``_loss_type = 'giou'``)."""

    def __init__(self, in_channels, num_anchors, norm_layer=None):
        super().__init__()
        self.conv = _conv_tower(in_channels, norm_layer)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1, padding=1)
        nn.init.normal_(self.bbox_reg.weight, std=0.01)
        nn.init.zeros_(self.bbox_reg.bias)
        self.box_coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self._loss_type = "l1"

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        losses = []
        for target, regression, anchors_i, matched in zip(targets, head_outputs["bbox_regression"], anchors,
                                                          matched_idxs):
            fg = torch.where(matched >= 0)[0]
            gt_boxes = target["boxes"][matched[fg]]
            loss = _box_loss(self._loss_type, self.box_coder, anchors_i[fg], gt_boxes, regression[fg])
            losses.append(loss / max(1, fg.numel()))
        return one_stage.sum_list(losses) / max(1, len(targets))

    def forward(self, x):
        return torch.cat([_per_anchor(self.bbox_reg(self.conv(f)), 4) for f in x], dim=1)


class RetinaNetHead(nn.Module):
    def __init__(self, in_channels, num_anchors, num_classes, norm_layer=None):
        super().__init__()
        self.classification_head = RetinaNetClassificationHead(in_channels, num_anchors, num_classes,
                                                               norm_layer=norm_layer)
        self.regression_head = RetinaNetRegressionHead(in_channels, num_anchors, norm_layer=norm_layer)

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        return {"classification": self.classification_head.compute_loss(targets, head_outputs, matched_idxs),
                "bbox_regression": self.regression_head.compute_loss(targets, head_outputs, anchors, matched_idxs)}

    def forward(self, x):
        return {"cls_logits": self.classification_head(x), "bbox_regression": self.regression_head(x)}


class RetinaNet(nn.Module):
    """``model(images, targets)`` in training mode returns {'classification', 'bbox_regression'};
    in eval mode a list of {'boxes', 'scores', 'labels'} per image. ``backbone`` must have
    ``out_channels``; the other arguments are torchvision's, with its defaults."""

    def __init__(self, backbone, num_classes, min_size=800, max_size=1333, image_mean=None, image_std=None,
                 anchor_generator=None, head=None, proposal_matcher=None, score_thresh=0.05, nms_thresh=0.5,
                 detections_per_img=300, fg_iou_thresh=0.5, bg_iou_thresh=0.4, topk_candidates=1000, **kwargs):
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the number of output "
                             "channels (assumed to be the same for all the levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("anchor_generator should be of type AnchorGenerator or None instead of "
                            f"{type(anchor_generator)}")
        self.anchor_generator = anchor_generator or _default_anchorgen()
        if head is None:
            head = RetinaNetHead(backbone.out_channels, self.anchor_generator.num_anchors_per_location()[0],
                                 num_classes)
        self.head = head
        self.proposal_matcher = proposal_matcher or Matcher(fg_iou_thresh, bg_iou_thresh,
                                                            allow_low_quality_matches=True)
        self.box_coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self.transform = imagenet_transform(min_size, max_size, image_mean, image_std, **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors):
        matched_idxs = []
        for anchors_i, target in zip(anchors, targets):
            if target["boxes"].numel() == 0:  # no objects: every anchor is background
                matched_idxs.append(torch.full((anchors_i.shape[0],), -1, dtype=torch.int64))
                continue
            matched_idxs.append(self.proposal_matcher(box_ops.box_iou(target["boxes"], anchors_i)))
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        """Per level: scores over ``score_thresh``, the best ``topk_candidates`` of them, decoded and
        clipped; then class-wise nms over the levels, ``detections_per_img`` at most."""
        detections = []
        for index, image_shape in enumerate(image_shapes):
            per_level = [one_stage.level_candidates(torch.sigmoid(logits[index]).flatten(), regression[index],
                                                    level_anchors, logits.shape[-1], self,
                                                    self.box_coder.decode_single, image_shape)
                         for regression, logits, level_anchors in zip(head_outputs["bbox_regression"],
                                                                      head_outputs["cls_logits"], anchors[index])]
            detections.append(one_stage.nms_detections(per_level, self))
        return detections

    def forward(self, images, targets=None):
        one_stage.check_targets(self.training, targets)
        sizes = one_stage.original_sizes(images)
        images, targets = self.transform(images, targets)
        one_stage.check_degenerate(targets)
        features = one_stage.backbone_features(self.backbone, images.tensors)
        head_outputs = self.head(features)
        anchors = self.anchor_generator(images, features)
        if self.training:
            return self.eager_outputs(self.compute_loss(targets, head_outputs, anchors), [])
        split_outputs, split_anchors = one_stage.split_per_level(head_outputs, anchors, features)
        detections = self.postprocess_detections(split_outputs, split_anchors, images.image_sizes)
        detections = self.transform.postprocess(detections, images.image_sizes, sizes)
        return self.eager_outputs({}, detections)


RetinaNet_ResNet50_FPN_Weights = _make_enum("RetinaNet_ResNet50_FPN_Weights", __name__)
RetinaNet_ResNet50_FPN_V2_Weights = _make_enum("RetinaNet_ResNet50_FPN_V2_Weights", __name__)


def _classes(weights, num_classes):
    if weights is not None:
        return _ovewrite_value_param("num_classes", num_classes, len(weights.meta["categories"]))
    return 91 if num_classes is None else num_classes


@builder(RetinaNet_ResNet50_FPN_Weights, "COCO_V1", backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def retinanet_resnet50_fpn(*, weights=None, progress=True, num_classes=None,
                           weights_backbone=ResNet50_Weights.IMAGENET1K_V1, trainable_backbone_layers=None, **kwargs):
    """RetinaNet, ResNet-50 FPN (P3-P7, P6 from P5). With pretrained weights the backbone's batch
    norms are frozen."""
    if weights is not None:
        weights_backbone = None
    num_classes = _classes(weights, num_classes)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    # no P2: it would give too many anchors
    backbone = _resnet_fpn_extractor(backbone, trainable, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    model = load_weights(RetinaNet(backbone, num_classes, **kwargs), weights, progress)
    if weights is not None and weights == RetinaNet_ResNet50_FPN_Weights.COCO_V1:
        overwrite_eps(model, 0.0)  # trained with eps 0
    return model


@builder(RetinaNet_ResNet50_FPN_V2_Weights, "COCO_V1", backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def retinanet_resnet50_fpn_v2(*, weights=None, progress=True, num_classes=None, weights_backbone=None,
                              trainable_backbone_layers=None, **kwargs):
    """RetinaNet v2 (Bridging the Gap Between Anchor-based and Anchor-free Detection): P6 from C5,
    GroupNorm in the head towers, GIoU box loss."""
    if weights is not None:
        weights_backbone = None
    num_classes = _classes(weights, num_classes)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    backbone = _resnet_fpn_extractor(resnet50(weights=weights_backbone, progress=progress), trainable,
                                     returned_layers=[2, 3, 4], extra_blocks=LastLevelP6P7(2048, 256))
    anchors = _default_anchorgen()
    head = RetinaNetHead(backbone.out_channels, anchors.num_anchors_per_location()[0], num_classes,
                         norm_layer=partial(nn.GroupNorm, 32))
    head.regression_head._loss_type = "giou"
    model = RetinaNet(backbone, num_classes, anchor_generator=anchors, head=head, **kwargs)
    return load_weights(model, weights, progress)

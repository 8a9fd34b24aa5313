"""FCOS (Fully Convolutional One-Stage object detection): anchor-free; every location of P3..P7
predicts class logits, its distances to the four sides of a box, and a centre-ness logit."""
import math
from functools import partial

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

from ...ops import misc as misc_nn_ops
from ...ops.box_losses import generalized_box_iou_loss
from ...ops.boxes import sigmoid_focal_loss
from ...ops.feature_pyramid_network import LastLevelP6P7
from .._api import _make_enum
from .._utils import _ovewrite_value_param, builder, load_weights
from ..resnet import ResNet50_Weights, resnet50
from . import _one_stage as one_stage
from ._utils import BoxLinearCoder
from .anchor_utils import AnchorGenerator
from .backbone_utils import _resnet_fpn_extractor, _validate_trainable_layers
from .retinanet import _per_anchor
from .transform import imagenet_transform

__all__ = ["FCOS", "FCOS_ResNet50_FPN_Weights", "fcos_resnet50_fpn"]


def _tower(in_channels, num_convs, norm_layer):
    """conv-norm-ReLU x num_convs, flat in one Sequential (state_dict indices 0, 1, 3, 4, ...)."""
    norm_layer = norm_layer or partial(nn.GroupNorm, 32)
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=1, padding=1), norm_layer(in_channels),
                   nn.ReLU()]
    tower = nn.Sequential(*layers)
    for layer in tower.children():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.constant_(layer.bias, 0)
    return tower


class FCOSClassificationHead(nn.Module):
    def __init__(self, in_channels, num_anchors, num_classes, num_convs=4, prior_probability=0.01, norm_layer=None):
        super().__init__()
        self.num_classes = num_classes
        self.num_anchors = num_anchors
        self.conv = _tower(in_channels, num_convs, norm_layer)
        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3, stride=1, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior_probability) / prior_probability))

    def forward(self, x):
        return torch.cat([_per_anchor(self.cls_logits(self.conv(f)), self.num_classes) for f in x], dim=1)


class FCOSRegressionHead(nn.Module):
    """One tower for both: the (ReLU'd, so non-negative) side distances and the centre-ness logit."""

    def __init__(self, in_channels, num_anchors, num_convs=4, norm_layer=None):
        super().__init__()
        self.conv = _tower(in_channels, num_convs, norm_layer)
        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1, padding=1)
        self.bbox_ctrness = nn.Conv2d(in_channels, num_anchors * 1, kernel_size=3, stride=1, padding=1)
        for layer in (self.bbox_reg, self.bbox_ctrness):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        regression, ctrness = [], []
        for f in x:
            t = self.conv(f)
            regression.append(_per_anchor(F.relu(self.bbox_reg(t)), 4))
            ctrness.append(_per_anchor(self.bbox_ctrness(t), 1))
        return torch.cat(regression, dim=1), torch.cat(ctrness, dim=1)


class FCOSHead(nn.Module):
    def __init__(self, in_channels, num_anchors, num_classes, num_convs=4):
        super().__init__()
        self.box_coder = BoxLinearCoder(normalize_by_size=True)
        self.classification_head = FCOSClassificationHead(in_channels, num_anchors, num_classes, num_convs)
        self.regression_head = FCOSRegressionHead(in_channels, num_anchors, num_convs)

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        """Focal loss on every location, GIoU and centre-ness BCE on the foreground ones; all three
        summed over the batch and divided by its number of foreground locations."""
        logits = head_outputs["cls_logits"]
        gt_classes, gt_boxes = [], []
        for target, matched in zip(targets, matched_idxs):
            if len(target["labels"]) == 0:
                classes = torch.full((len(matched),), -1, dtype=target["labels"].dtype)
                boxes = target["boxes"].new_zeros((len(matched), 4))
            else:
                classes = torch.where(matched >= 0, target["labels"][matched.clamp(min=0)], -1)
                boxes = target["boxes"][matched.clamp(min=0)]
            gt_classes.append(classes)
            gt_boxes.append(boxes)
        gt_classes, gt_boxes, anchors = torch.stack(gt_classes), torch.stack(gt_boxes), torch.stack(anchors)
        foreground = gt_classes >= 0
        num_foreground = max(1, int(foreground.sum()))
        one_hot = F.one_hot(gt_classes.clamp(min=0), logits.shape[-1]).to(logits.dtype)
        loss_cls = sigmoid_focal_loss(logits, one_hot * foreground[..., None].to(logits.dtype), reduction="sum")
        pred_boxes = self.box_coder.decode(head_outputs["bbox_regression"], anchors)
        loss_reg = generalized_box_iou_loss(pred_boxes[foreground], gt_boxes[foreground], reduction="sum")
        # centre-ness of the location inside its box: sqrt(min/max of left-right * min/max of top-bottom)
        sides = self.box_coder.encode(anchors[foreground], gt_boxes[foreground])
        lr, tb = sides[:, [0, 2]], sides[:, [1, 3]]
        ctrness = torch.sqrt((lr.min(dim=-1)[0] / lr.max(dim=-1)[0]) * (tb.min(dim=-1)[0] / tb.max(dim=-1)[0]))
        pred_ctrness = head_outputs["bbox_ctrness"].squeeze(dim=2)[foreground]
        loss_ctr = F.binary_cross_entropy_with_logits(pred_ctrness, ctrness, reduction="sum")
        return {"classification": loss_cls / num_foreground, "bbox_regression": loss_reg / num_foreground,
                "bbox_ctrness": loss_ctr / num_foreground}

    def forward(self, x):
        regression, ctrness = self.regression_head(x)
        return {"cls_logits": self.classification_head(x), "bbox_regression": regression, "bbox_ctrness": ctrness}


class FCOS(nn.Module):
    """``model(images, targets)`` in training mode returns {'classification', 'bbox_regression',
    'bbox_ctrness'}; in eval mode a list of {'boxes', 'scores', 'labels'} per image. The anchor
    generator gives one square per location whose side is the map's stride."""

    def __init__(self, backbone, num_classes, min_size=800, max_size=1333, image_mean=None, image_std=None,
                 anchor_generator=None, head=None, center_sampling_radius=1.5, score_thresh=0.2, nms_thresh=0.6,
                 detections_per_img=100, topk_candidates=1000, **kwargs):
        super().__init__()
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the number of output "
                             "channels (assumed to be the same for all the levels)")
        self.backbone = backbone
        if not isinstance(anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("anchor_generator should be of type AnchorGenerator or None, instead  got "
                            f"{type(anchor_generator)}")
        if anchor_generator is None:
            sizes = ((8,), (16,), (32,), (64,), (128,))  # the strides of P3..P7
            anchor_generator = AnchorGenerator(sizes, ((1.0,),) * len(sizes))
        self.anchor_generator = anchor_generator
        if anchor_generator.num_anchors_per_location()[0] != 1:
            raise ValueError("anchor_generator.num_anchors_per_location()[0] should be 1 instead of "
                             f"{anchor_generator.num_anchors_per_location()[0]}")
        self.head = head or FCOSHead(backbone.out_channels, 1, num_classes)
        self.box_coder = BoxLinearCoder(normalize_by_size=True)
        self.transform = imagenet_transform(min_size, max_size, image_mean, image_std, **kwargs)
        self.center_sampling_radius = center_sampling_radius
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def _match(self, anchors, gt_boxes, num_anchors_per_level):
        """The ground truth of each location (-1: background): among the boxes that contain the
        location, whose centre is within center_sampling_radius strides of it, and whose largest
        side distance is in the level's range (4 to 8 strides; open below on the first level and
        above on the last), the one of smallest area."""
        gt_centres = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
        centres = (anchors[:, :2] + anchors[:, 2:]) / 2
        sizes = anchors[:, 2] - anchors[:, 0]
        near = (centres[:, None, :] - gt_centres[None, :, :]).abs().max(dim=2).values < \
            self.center_sampling_radius * sizes[:, None]
        x, y = centres[:, 0:1], centres[:, 1:2]
        sides = torch.stack([x - gt_boxes[None, :, 0], y - gt_boxes[None, :, 1], gt_boxes[None, :, 2] - x,
                             gt_boxes[None, :, 3] - y], dim=2)
        inside = sides.min(dim=2).values > 0
        lower = sizes * 4
        lower[:num_anchors_per_level[0]] = 0
        upper = sizes * 8
        upper[-num_anchors_per_level[-1]:] = float("inf")
        reach = sides.max(dim=2).values
        match = near & inside & (reach > lower[:, None]) & (reach < upper[:, None])
        areas = (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
        # the smallest area wins: a large constant minus the area, in float32 (as torchvision: areas
        # within its rounding tie, and the first box wins)
        quality = match.to(torch.float32) * (1e8 - areas[None, :])
        best, matched = quality.max(dim=1)
        return torch.where(best < 1e-5, -1, matched)

    def compute_loss(self, targets, head_outputs, anchors, num_anchors_per_level):
        matched_idxs = []
        for anchors_i, target in zip(anchors, targets):
            if target["boxes"].numel() == 0:
                matched_idxs.append(torch.full((anchors_i.shape[0],), -1, dtype=torch.int64))
            else:
                matched_idxs.append(self._match(anchors_i, target["boxes"], num_anchors_per_level))
        return self.head.compute_loss(targets, head_outputs, anchors, matched_idxs)

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        """Per level: score sqrt(sigmoid(class) * sigmoid(centre-ness)) over ``score_thresh``, the
        best ``topk_candidates``, decoded and clipped; then class-wise nms, ``detections_per_img``."""
        detections = []
        for index, image_shape in enumerate(image_shapes):
            per_level = [one_stage.level_candidates(
                torch.sqrt(torch.sigmoid(logits[index]) * torch.sigmoid(ctrness[index])).flatten(), regression[index],
                level_anchors, logits.shape[-1], self, self.box_coder.decode, image_shape)
                for regression, logits, ctrness, level_anchors in zip(
                    head_outputs["bbox_regression"], head_outputs["cls_logits"], head_outputs["bbox_ctrness"],
                    anchors[index])]
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
            per_level = [int(f.shape[2]) * int(f.shape[3]) for f in features]
            return self.eager_outputs(self.compute_loss(targets, head_outputs, anchors, per_level), [])
        split_outputs, split_anchors = one_stage.split_per_level(head_outputs, anchors, features)
        detections = self.postprocess_detections(split_outputs, split_anchors, images.image_sizes)
        detections = self.transform.postprocess(detections, images.image_sizes, sizes)
        return self.eager_outputs({}, detections)


FCOS_ResNet50_FPN_Weights = _make_enum("FCOS_ResNet50_FPN_Weights", __name__)


@builder(FCOS_ResNet50_FPN_Weights, "COCO_V1", backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def fcos_resnet50_fpn(*, weights=None, progress=True, num_classes=None, weights_backbone=ResNet50_Weights.IMAGENET1K_V1,
                      trainable_backbone_layers=None, **kwargs):
    """FCOS, ResNet-50 FPN (P3-P7, P6 from P5). With pretrained weights the backbone's batch
    norms are frozen."""
    if weights is not None:
        weights_backbone = None
        num_classes = _ovewrite_value_param("num_classes", num_classes, len(weights.meta["categories"]))
    elif num_classes is None:
        num_classes = 91
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _resnet_fpn_extractor(backbone, trainable, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    return load_weights(FCOS(backbone, num_classes, **kwargs), weights, progress)

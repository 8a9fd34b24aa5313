"""SSD (Single Shot MultiBox Detector): default boxes on several feature maps of a fixed-size
input, one 3x3 conv per map for the class scores (softmax, background = 0) and one for the box
deltas; hard-negative mining in the loss. ``ssd300_vgg16`` is the VGG-16 300 px model."""
import warnings
from collections import OrderedDict

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

from ...ops import boxes as box_ops
from .._api import _make_enum
from .._utils import _ovewrite_value_param, builder, load_weights
from ..vgg import VGG16_Weights, vgg16
from . import _one_stage as one_stage
from ._utils import BoxCoder, SSDMatcher, retrieve_out_channels
from .anchor_utils import DefaultBoxGenerator
from .backbone_utils import _validate_trainable_layers
from .retinanet import _per_anchor
from .transform import imagenet_transform

__all__ = ["SSD300_VGG16_Weights", "ssd300_vgg16", "SSD", "SSDHead", "SSDClassificationHead",
           "SSDRegressionHead", "SSDScoringHead", "SSDFeatureExtractorVGG"]


def _xavier_init(module):
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.constant_(layer.bias, 0.0)


class SSDScoringHead(nn.Module):
    """One module per feature map; each output (N, A * num_columns, H, W) becomes
    (N, H * W * A, num_columns), concatenated over the maps."""

    def __init__(self, module_list, num_columns):
        super().__init__()
        self.module_list = module_list
        self.num_columns = num_columns

    def _get_result_from_module_list(self, x, idx):
        return self.module_list[idx](x)

    def forward(self, x):
        return torch.cat([_per_anchor(self._get_result_from_module_list(f, i), self.num_columns)
                          for i, f in enumerate(x)], dim=1)


class SSDClassificationHead(SSDScoringHead):
    def __init__(self, in_channels, num_anchors, num_classes):
        convs = nn.ModuleList(nn.Conv2d(c, num_classes * a, kernel_size=3, padding=1)
                              for c, a in zip(in_channels, num_anchors))
        _xavier_init(convs)
        super().__init__(convs, num_classes)


class SSDRegressionHead(SSDScoringHead):
    def __init__(self, in_channels, num_anchors):
        convs = nn.ModuleList(nn.Conv2d(c, 4 * a, kernel_size=3, padding=1) for c, a in zip(in_channels, num_anchors))
        _xavier_init(convs)
        super().__init__(convs, 4)


class SSDHead(nn.Module):
    def __init__(self, in_channels, num_anchors, num_classes):
        super().__init__()
        self.classification_head = SSDClassificationHead(in_channels, num_anchors, num_classes)
        self.regression_head = SSDRegressionHead(in_channels, num_anchors)

    def forward(self, x):
        return {"bbox_regression": self.regression_head(x), "cls_logits": self.classification_head(x)}


class SSD(nn.Module):
    """``backbone`` returns the feature maps (a dict, or one tensor); images are resized to
    ``size`` (W, H... as torchvision: passed as ``fixed_size``). Training mode returns
    {'bbox_regression', 'classification'}; eval mode a list of {'boxes', 'scores', 'labels'}."""

    def __init__(self, backbone, anchor_generator, size, num_classes, image_mean=None, image_std=None, head=None,
                 score_thresh=0.01, nms_thresh=0.45, detections_per_img=200, iou_thresh=0.5, topk_candidates=400,
                 positive_fraction=0.25, **kwargs):
        super().__init__()
        self.backbone = backbone
        self.anchor_generator = anchor_generator
        self.box_coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        if head is None:
            out_channels = getattr(backbone, "out_channels", None) or retrieve_out_channels(backbone, size)
            if len(out_channels) != len(anchor_generator.aspect_ratios):
                raise ValueError(f"The length of the output channels from the backbone ({len(out_channels)}) do not "
                                 "match the length of the anchor generator aspect ratios "
                                 f"({len(anchor_generator.aspect_ratios)})")
            head = SSDHead(out_channels, anchor_generator.num_anchors_per_location(), num_classes)
        self.head = head
        self.proposal_matcher = SSDMatcher(iou_thresh)
        self.transform = imagenet_transform(min(size), max(size), image_mean, image_std, size_divisible=1,
                                            fixed_size=size, **kwargs)
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.topk_candidates = topk_candidates
        self.neg_to_pos_ratio = (1.0 - positive_fraction) / positive_fraction
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        """Smooth-L1 on the matched default boxes; cross-entropy on them and on the hardest
        negatives (neg_to_pos_ratio per positive, per image); both over the batch's positives."""
        cls_logits = head_outputs["cls_logits"]
        num_foreground = 0
        box_losses, cls_targets = [], []
        for target, regression, anchors_i, matched in zip(targets, head_outputs["bbox_regression"], anchors,
                                                          matched_idxs):
            fg = torch.where(matched >= 0)[0]
            gt_idx = matched[fg]
            num_foreground += fg.numel()
            encoded = self.box_coder.encode_single(target["boxes"][gt_idx], anchors_i[fg])
            box_losses.append(F.smooth_l1_loss(regression[fg], encoded, reduction="sum"))
            classes = torch.zeros((cls_logits.shape[1],), dtype=target["labels"].dtype)
            classes[fg] = target["labels"][gt_idx]
            cls_targets.append(classes)
        cls_targets = torch.stack(cls_targets)
        num_classes = cls_logits.shape[-1]
        cls_loss = F.cross_entropy(cls_logits.reshape(-1, num_classes), cls_targets.reshape(-1),
                                   reduction="none").reshape(cls_targets.shape)
        foreground = cls_targets > 0
        num_negative = self.neg_to_pos_ratio * foreground.sum(1, keepdim=True)
        # hard negatives: the background anchors of highest loss, ranked per image (positives last)
        ranking = cls_loss.detach().masked_fill(foreground, -float("inf"))
        rank = ranking.argsort(1, descending=True, stable=True).argsort(1)
        background = rank < num_negative
        n = max(1, num_foreground)
        return {"bbox_regression": torch.stack(box_losses).sum() / n,
                "classification": (cls_loss[foreground].sum() + cls_loss[background].sum()) / n}

    def postprocess_detections(self, head_outputs, image_anchors, image_shapes):
        """Per class (background excluded): softmax scores over ``score_thresh``, the best
        ``topk_candidates``; then class-wise nms, ``detections_per_img`` at most."""
        all_scores = F.softmax(head_outputs["cls_logits"], dim=-1)
        num_classes = all_scores.shape[-1]
        detections = []
        for regression, scores, anchors, image_shape in zip(head_outputs["bbox_regression"], all_scores,
                                                            image_anchors, image_shapes):
            boxes = box_ops.clip_boxes_to_image(self.box_coder.decode_single(regression, anchors), image_shape)
            out_boxes, out_scores, out_labels = [], [], []
            for label in range(1, num_classes):
                score = scores[:, label]
                keep = torch.where(score > self.score_thresh)[0]
                score, order = score[keep].topk(min(self.topk_candidates, keep.numel()))
                out_boxes.append(boxes[keep[order]])
                out_scores.append(score)
                out_labels.append(torch.full_like(score, label, dtype=torch.int64))
            boxes, scores, labels = torch.cat(out_boxes), torch.cat(out_scores), torch.cat(out_labels)
            keep = box_ops.batched_nms(boxes, scores, labels, self.nms_thresh)[:self.detections_per_img]
            detections.append({"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]})
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
            matched_idxs = []
            for anchors_i, target in zip(anchors, targets):
                if target["boxes"].numel() == 0:
                    matched_idxs.append(torch.full((anchors_i.shape[0],), -1, dtype=torch.int64))
                else:
                    matched_idxs.append(self.proposal_matcher(box_ops.box_iou(target["boxes"], anchors_i)))
            return self.eager_outputs(self.compute_loss(targets, head_outputs, anchors, matched_idxs), [])
        detections = self.postprocess_detections(head_outputs, anchors, images.image_sizes)
        detections = self.transform.postprocess(detections, images.image_sizes, sizes)
        return self.eager_outputs({}, detections)


class SSDFeatureExtractorVGG(nn.Module):
    """VGG-16 up to conv4_3 (L2-normalised, times a learned per-channel scale starting at 20),
    then conv5 with pool5 made 3x3/1 and the atrous fc6/fc7 convs, then four (five when
    ``highres``) extra stride-2 / valid blocks: six (seven) maps."""

    def __init__(self, backbone, highres):
        super().__init__()
        pools = [i for i, layer in enumerate(backbone) if isinstance(layer, nn.MaxPool2d)]
        pool3, pool4 = pools[2], pools[3]
        backbone[pool3].ceil_mode = True  # 75 -> 38 at 300 px
        self.scale_weight = nn.Parameter(torch.ones(512) * 20)
        self.features = nn.Sequential(*backbone[:pool4])

        def block(cin, mid, cout, **conv):
            return nn.Sequential(nn.Conv2d(cin, mid, kernel_size=1), nn.ReLU(inplace=True),
                                 nn.Conv2d(mid, cout, **conv), nn.ReLU(inplace=True))
        extra = nn.ModuleList([block(1024, 256, 512, kernel_size=3, padding=1, stride=2),
                               block(512, 128, 256, kernel_size=3, padding=1, stride=2),
                               block(256, 128, 256, kernel_size=3),
                               block(256, 128, 256, kernel_size=3)])
        if highres:
            extra.append(block(256, 128, 256, kernel_size=4))
        _xavier_init(extra)
        fc = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=False),
                           nn.Conv2d(512, 1024, kernel_size=3, padding=6, dilation=6), nn.ReLU(inplace=True),
                           nn.Conv2d(1024, 1024, kernel_size=1), nn.ReLU(inplace=True))
        _xavier_init(fc)
        extra.insert(0, nn.Sequential(*backbone[pool4:-1], fc))  # conv5 (without pool5), fc6, fc7
        self.extra = extra

    def forward(self, x):
        x = self.features(x)
        output = [self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)]
        for block in self.extra:
            x = block(x)
            output.append(x)
        return OrderedDict((str(i), v) for i, v in enumerate(output))


def _vgg_extractor(backbone, highres, trainable_layers):
    features = backbone.features
    stages = [0] + [i for i, b in enumerate(features) if isinstance(b, nn.MaxPool2d)][:-1]
    if not 0 <= trainable_layers <= len(stages):
        raise AssertionError(f"trainable_layers should be in the range [0, {len(stages)}]. Instead got "
                             f"{trainable_layers}")
    freeze_before = len(features) if trainable_layers == 0 else stages[len(stages) - trainable_layers]
    for b in features[:freeze_before]:
        for p in b.parameters():
            p.requires_grad_(False)
    return SSDFeatureExtractorVGG(features, highres)


SSD300_VGG16_Weights = _make_enum("SSD300_VGG16_Weights", __name__)


@builder(SSD300_VGG16_Weights, "COCO_V1", backbone=(VGG16_Weights, "IMAGENET1K_FEATURES"))
def ssd300_vgg16(*, weights=None, progress=True, num_classes=None, weights_backbone=VGG16_Weights.IMAGENET1K_FEATURES,
                 trainable_backbone_layers=None, **kwargs):
    """SSD300 on VGG-16; the input size is fixed at 300 x 300. Its preprocessing is the original
    Caffe one: mean subtracted from [0, 255] pixels (image_std 1/255)."""
    if "size" in kwargs:
        warnings.warn("The size of the model is already fixed; ignoring the parameter.")
        kwargs.pop("size")
    if weights is not None:
        weights_backbone = None
        num_classes = _ovewrite_value_param("num_classes", num_classes, len(weights.meta["categories"]))
    elif num_classes is None:
        num_classes = 91
    trainable = _validate_trainable_layers(weights is not None or weights_backbone is not None,
                                           trainable_backbone_layers, 5, 4)
    backbone = _vgg_extractor(vgg16(weights=weights_backbone, progress=progress), False, trainable)
    anchors = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]],
                                  scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps=[8, 16, 32, 64, 100, 300])
    kwargs = {"image_mean": [0.48235, 0.45882, 0.40784], "image_std": [1.0 / 255.0] * 3, **kwargs}
    return load_weights(SSD(backbone, anchors, (300, 300), num_classes, **kwargs), weights, progress)

"""Mask R-CNN: Faster R-CNN with a mask branch (a small conv head on 14x14 RoI features and a 2x
transposed-conv predictor of one 28x28 mask per class), with torchvision's builders (ResNet-50 FPN
v1 and v2)."""
from collections import OrderedDict

import jtorch.nn as nn

from ...ops.poolers import MultiScaleRoIAlign
from .._api import _make_enum
from .._layers import Conv2dNormActivation
from .._utils import builder, load_weights
from ..resnet import ResNet50_Weights
from .faster_rcnn import FasterRCNN, _classes, _resnet50_fpn_v1, _resnet50_fpn_v2_parts

__all__ = ["MaskRCNN", "MaskRCNN_ResNet50_FPN_Weights", "MaskRCNN_ResNet50_FPN_V2_Weights", "maskrcnn_resnet50_fpn",
           "maskrcnn_resnet50_fpn_v2"]


class MaskRCNN(FasterRCNN):
    """FasterRCNN's arguments, plus ``mask_roi_pool`` (default: 14x14 MultiScaleRoIAlign on
    '0'..'3'), ``mask_head`` (four 3x3 conv+ReLU of 256) and ``mask_predictor``. Eval outputs add
    'masks' (N, 1, H, W) probabilities; training adds 'loss_mask' (targets need 'masks')."""

    def __init__(self, backbone, num_classes=None, min_size=800, max_size=1333, image_mean=None, image_std=None,
                 rpn_anchor_generator=None, rpn_head=None, rpn_pre_nms_top_n_train=2000, rpn_pre_nms_top_n_test=1000,
                 rpn_post_nms_top_n_train=2000, rpn_post_nms_top_n_test=1000, rpn_nms_thresh=0.7,
                 rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3, rpn_batch_size_per_image=256, rpn_positive_fraction=0.5,
                 rpn_score_thresh=0.0, box_roi_pool=None, box_head=None, box_predictor=None, box_score_thresh=0.05,
                 box_nms_thresh=0.5, box_detections_per_img=100, box_fg_iou_thresh=0.5, box_bg_iou_thresh=0.5,
                 box_batch_size_per_image=512, box_positive_fraction=0.25, bbox_reg_weights=None, mask_roi_pool=None,
                 mask_head=None, mask_predictor=None, **kwargs):
        if not isinstance(mask_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError(f"mask_roi_pool should be of type MultiScaleRoIAlign or None instead of "
                            f"{type(mask_roi_pool)}")
        if num_classes is not None and mask_predictor is not None:
            raise ValueError("num_classes should be None when mask_predictor is specified")
        out_channels = backbone.out_channels
        if mask_roi_pool is None:
            mask_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=14, sampling_ratio=2)
        if mask_head is None:
            mask_head = MaskRCNNHeads(out_channels, (256, 256, 256, 256), 1)
        if mask_predictor is None:
            mask_predictor = MaskRCNNPredictor(256, 256, num_classes)
        super().__init__(
            backbone, num_classes=num_classes, min_size=min_size, max_size=max_size, image_mean=image_mean,
            image_std=image_std, rpn_anchor_generator=rpn_anchor_generator, rpn_head=rpn_head,
            rpn_pre_nms_top_n_train=rpn_pre_nms_top_n_train, rpn_pre_nms_top_n_test=rpn_pre_nms_top_n_test,
            rpn_post_nms_top_n_train=rpn_post_nms_top_n_train, rpn_post_nms_top_n_test=rpn_post_nms_top_n_test,
            rpn_nms_thresh=rpn_nms_thresh, rpn_fg_iou_thresh=rpn_fg_iou_thresh, rpn_bg_iou_thresh=rpn_bg_iou_thresh,
            rpn_batch_size_per_image=rpn_batch_size_per_image, rpn_positive_fraction=rpn_positive_fraction,
            rpn_score_thresh=rpn_score_thresh, box_roi_pool=box_roi_pool, box_head=box_head,
            box_predictor=box_predictor, box_score_thresh=box_score_thresh, box_nms_thresh=box_nms_thresh,
            box_detections_per_img=box_detections_per_img, box_fg_iou_thresh=box_fg_iou_thresh,
            box_bg_iou_thresh=box_bg_iou_thresh, box_batch_size_per_image=box_batch_size_per_image,
            box_positive_fraction=box_positive_fraction, bbox_reg_weights=bbox_reg_weights, **kwargs)
        self.roi_heads.mask_roi_pool = mask_roi_pool
        self.roi_heads.mask_head = mask_head
        self.roi_heads.mask_predictor = mask_predictor


class MaskRCNNHeads(nn.Sequential):
    """3x3 conv (+ norm) + ReLU layers of the given widths, padding = dilation (size kept)."""
    _version = 2

    def __init__(self, in_channels, layers, dilation, norm_layer=None):
        blocks, prev = [], in_channels
        for width in layers:
            blocks.append(Conv2dNormActivation(prev, width, kernel_size=3, stride=1, padding=dilation,
                                               dilation=dilation, norm_layer=norm_layer))
            prev = width
        super().__init__(*blocks)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # checkpoints from before version 2 name the convs mask_fcn1, mask_fcn2, ...
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            for i in range(len(self)):
                for kind in ("weight", "bias"):
                    old = f"{prefix}mask_fcn{i + 1}.{kind}"
                    if old in state_dict:
                        state_dict[f"{prefix}{i}.0.{kind}"] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


class MaskRCNNPredictor(nn.Sequential):
    """2x upsampling transposed conv, ReLU, and a 1x1 conv to one mask logit map per class."""

    def __init__(self, in_channels, dim_reduced, num_classes):
        super().__init__(OrderedDict([
            ("conv5_mask", nn.ConvTranspose2d(in_channels, dim_reduced, 2, 2, 0)),
            ("relu", nn.ReLU(inplace=True)),
            ("mask_fcn_logits", nn.Conv2d(dim_reduced, num_classes, 1, 1, 0)),
        ]))
        for name, param in self.named_parameters():
            if "weight" in name:
                nn.init.kaiming_normal_(param, mode="fan_out", nonlinearity="relu")


MaskRCNN_ResNet50_FPN_Weights = _make_enum("MaskRCNN_ResNet50_FPN_Weights", __name__)
MaskRCNN_ResNet50_FPN_V2_Weights = _make_enum("MaskRCNN_ResNet50_FPN_V2_Weights", __name__)


@builder(MaskRCNN_ResNet50_FPN_Weights, "COCO_V1", backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def maskrcnn_resnet50_fpn(*, weights=None, progress=True, num_classes=None,
                          weights_backbone=ResNet50_Weights.IMAGENET1K_V1, trainable_backbone_layers=None, **kwargs):
    """Mask R-CNN, ResNet-50 FPN. With pretrained weights the backbone's batch norms are frozen."""
    if weights is not None:
        weights_backbone = None
    return _resnet50_fpn_v1(MaskRCNN, weights, progress, weights_backbone, trainable_backbone_layers,
                            MaskRCNN_ResNet50_FPN_Weights.COCO_V1, num_classes=_classes(weights, num_classes),
                            **kwargs)


@builder(MaskRCNN_ResNet50_FPN_V2_Weights, "COCO_V1", backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def maskrcnn_resnet50_fpn_v2(*, weights=None, progress=True, num_classes=None, weights_backbone=None,
                             trainable_backbone_layers=None, **kwargs):
    """Mask R-CNN v2 (Benchmarking Detection Transfer Learning with Vision Transformers): batch norm
    in the FPN and every head, two RPN convs, a four-conv box head."""
    if weights is not None:
        weights_backbone = None
    backbone, parts = _resnet50_fpn_v2_parts(weights, progress, weights_backbone, trainable_backbone_layers)
    mask_head = MaskRCNNHeads(backbone.out_channels, [256, 256, 256, 256], 1, norm_layer=nn.BatchNorm2d)
    model = MaskRCNN(backbone, num_classes=_classes(weights, num_classes), mask_head=mask_head, **parts, **kwargs)
    return load_weights(model, weights, progress)

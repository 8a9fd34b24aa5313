"""Keypoint R-CNN: Faster R-CNN with a keypoint branch (eight 3x3 convs on 14x14 RoI features, a
transposed conv and a 2x bilinear upsampling to one 56x56 heatmap per keypoint), with torchvision's
builder (ResNet-50 FPN, COCO person keypoints)."""
import jtorch.nn as nn
import jtorch.nn.functional as F

from ...ops.poolers import MultiScaleRoIAlign
from .._api import _make_enum
from .._utils import _ovewrite_value_param, builder
from ..resnet import ResNet50_Weights
from .faster_rcnn import FasterRCNN, _resnet50_fpn_v1

__all__ = ["KeypointRCNN", "KeypointRCNN_ResNet50_FPN_Weights", "keypointrcnn_resnet50_fpn"]


class KeypointRCNN(FasterRCNN):
    """FasterRCNN's arguments (``min_size`` defaults to the multi-scale 640..800), plus
    ``keypoint_roi_pool``, ``keypoint_head``, ``keypoint_predictor`` and ``num_keypoints`` (17).
    Eval outputs add 'keypoints' (N, K, 3) and 'keypoints_scores' (N, K); training adds
    'loss_keypoint' (targets need 'keypoints' (N, K, 3) float32, visibility third)."""

    def __init__(self, backbone, num_classes=None, min_size=None, max_size=1333, image_mean=None, image_std=None,
                 rpn_anchor_generator=None, rpn_head=None, rpn_pre_nms_top_n_train=2000, rpn_pre_nms_top_n_test=1000,
                 rpn_post_nms_top_n_train=2000, rpn_post_nms_top_n_test=1000, rpn_nms_thresh=0.7,
                 rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3, rpn_batch_size_per_image=256, rpn_positive_fraction=0.5,
                 rpn_score_thresh=0.0, box_roi_pool=None, box_head=None, box_predictor=None, box_score_thresh=0.05,
                 box_nms_thresh=0.5, box_detections_per_img=100, box_fg_iou_thresh=0.5, box_bg_iou_thresh=0.5,
                 box_batch_size_per_image=512, box_positive_fraction=0.25, bbox_reg_weights=None,
                 keypoint_roi_pool=None, keypoint_head=None, keypoint_predictor=None, num_keypoints=None, **kwargs):
        if not isinstance(keypoint_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError("keypoint_roi_pool should be of type MultiScaleRoIAlign or None instead of "
                            f"{type(keypoint_roi_pool)}")
        if min_size is None:
            min_size = (640, 672, 704, 736, 768, 800)
        if num_keypoints is not None:
            if keypoint_predictor is not None:
                raise ValueError("num_keypoints should be None when keypoint_predictor is specified")
        else:
            num_keypoints = 17
        out_channels = backbone.out_channels
        if keypoint_roi_pool is None:
            keypoint_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=14,
                                                   sampling_ratio=2)
        if keypoint_head is None:
            keypoint_head = KeypointRCNNHeads(out_channels, (512,) * 8)
        if keypoint_predictor is None:
            keypoint_predictor = KeypointRCNNPredictor(512, num_keypoints)
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
        self.roi_heads.keypoint_roi_pool = keypoint_roi_pool
        self.roi_heads.keypoint_head = keypoint_head
        self.roi_heads.keypoint_predictor = keypoint_predictor


class KeypointRCNNHeads(nn.Sequential):
    """3x3 conv + ReLU layers of the given widths."""

    def __init__(self, in_channels, layers):
        blocks, prev = [], in_channels
        for width in layers:
            blocks += [nn.Conv2d(prev, width, 3, stride=1, padding=1), nn.ReLU(inplace=True)]
            prev = width
        super().__init__(*blocks)
        for m in self.children():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)


class KeypointRCNNPredictor(nn.Module):
    """A stride-2 transposed conv (kernel 4) to one map per keypoint, then 2x bilinear upsampling."""

    def __init__(self, in_channels, num_keypoints):
        super().__init__()
        self.kps_score_lowres = nn.ConvTranspose2d(in_channels, num_keypoints, 4, stride=2, padding=1)
        nn.init.kaiming_normal_(self.kps_score_lowres.weight, mode="fan_out", nonlinearity="relu")
        nn.init.constant_(self.kps_score_lowres.bias, 0)
        self.up_scale = 2
        self.out_channels = num_keypoints

    def forward(self, x):
        return F.interpolate(self.kps_score_lowres(x), scale_factor=float(self.up_scale), mode="bilinear",
                             align_corners=False, recompute_scale_factor=False)


KeypointRCNN_ResNet50_FPN_Weights = _make_enum("KeypointRCNN_ResNet50_FPN_Weights", __name__)


def _legacy_choice(pretrained):
    """``pretrained='legacy'`` picks the older checkpoint, as in torchvision."""
    return "COCO_LEGACY" if pretrained == "legacy" else "COCO_V1"


@builder(KeypointRCNN_ResNet50_FPN_Weights, _legacy_choice, backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def keypointrcnn_resnet50_fpn(*, weights=None, progress=True, num_classes=None, num_keypoints=None,
                              weights_backbone=ResNet50_Weights.IMAGENET1K_V1, trainable_backbone_layers=None,
                              **kwargs):
    """Keypoint R-CNN, ResNet-50 FPN (2 classes, 17 keypoints by default)."""
    if weights is not None:
        weights_backbone = None
        num_classes = _ovewrite_value_param("num_classes", num_classes, len(weights.meta["categories"]))
        num_keypoints = _ovewrite_value_param("num_keypoints", num_keypoints, len(weights.meta["keypoint_names"]))
    else:
        num_classes = 2 if num_classes is None else num_classes
        num_keypoints = 17 if num_keypoints is None else num_keypoints
    return _resnet50_fpn_v1(KeypointRCNN, weights, progress, weights_backbone, trainable_backbone_layers,
                            KeypointRCNN_ResNet50_FPN_Weights.COCO_V1, num_classes, num_keypoints=num_keypoints,
                            **kwargs)

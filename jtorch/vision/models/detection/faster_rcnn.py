"""Faster R-CNN (RPN + Fast R-CNN heads on an FPN backbone) with torchvision's builders:
ResNet-50 FPN (v1, v2) and MobileNetV3-Large FPN (full and 320 px)."""
import jtorch.nn as nn
import jtorch.nn.functional as F

from ...ops import misc as misc_nn_ops
from ...ops.poolers import MultiScaleRoIAlign
from .._api import _make_enum
from .._layers import Conv2dNormActivation
from .._utils import _ovewrite_value_param, builder, load_weights
from ..mobilenetv3 import MobileNet_V3_Large_Weights, mobilenet_v3_large
from ..resnet import ResNet50_Weights, resnet50
from ._utils import overwrite_eps
from .anchor_utils import AnchorGenerator
from .backbone_utils import _mobilenet_extractor, _resnet_fpn_extractor, _validate_trainable_layers
from .generalized_rcnn import GeneralizedRCNN
from .roi_heads import RoIHeads
from .rpn import RegionProposalNetwork, RPNHead
from .transform import imagenet_transform

__all__ = ["FasterRCNN", "FasterRCNN_ResNet50_FPN_Weights", "FasterRCNN_ResNet50_FPN_V2_Weights",
           "FasterRCNN_MobileNet_V3_Large_FPN_Weights", "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights",
           "fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn",
           "fasterrcnn_mobilenet_v3_large_320_fpn"]


def _default_anchorgen():
    sizes = ((32,), (64,), (128,), (256,), (512,))
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))


class FasterRCNN(GeneralizedRCNN):
    """``backbone`` must have ``out_channels``; pass ``num_classes`` (background included) or your
    own ``box_predictor``. The other arguments are torchvision's, with its defaults."""

    def __init__(self, backbone, num_classes=None, min_size=800, max_size=1333, image_mean=None, image_std=None,
                 rpn_anchor_generator=None, rpn_head=None, rpn_pre_nms_top_n_train=2000, rpn_pre_nms_top_n_test=1000,
                 rpn_post_nms_top_n_train=2000, rpn_post_nms_top_n_test=1000, rpn_nms_thresh=0.7,
                 rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3, rpn_batch_size_per_image=256, rpn_positive_fraction=0.5,
                 rpn_score_thresh=0.0, box_roi_pool=None, box_head=None, box_predictor=None, box_score_thresh=0.05,
                 box_nms_thresh=0.5, box_detections_per_img=100, box_fg_iou_thresh=0.5, box_bg_iou_thresh=0.5,
                 box_batch_size_per_image=512, box_positive_fraction=0.25, bbox_reg_weights=None, **kwargs):
        if not hasattr(backbone, "out_channels"):
            raise ValueError("backbone should contain an attribute out_channels specifying the number of output "
                             "channels (assumed to be the same for all the levels)")
        if not isinstance(rpn_anchor_generator, (AnchorGenerator, type(None))):
            raise TypeError("rpn_anchor_generator should be of type AnchorGenerator or None instead of "
                            f"{type(rpn_anchor_generator)}")
        if not isinstance(box_roi_pool, (MultiScaleRoIAlign, type(None))):
            raise TypeError(f"box_roi_pool should be of type MultiScaleRoIAlign or None instead of {type(box_roi_pool)}")
        if num_classes is not None and box_predictor is not None:
            raise ValueError("num_classes should be None when box_predictor is specified")
        if num_classes is None and box_predictor is None:
            raise ValueError("num_classes should not be None when box_predictor is not specified")
        out_channels = backbone.out_channels
        rpn_anchor_generator = rpn_anchor_generator or _default_anchorgen()
        if rpn_head is None:
            rpn_head = RPNHead(out_channels, rpn_anchor_generator.num_anchors_per_location()[0])
        rpn = RegionProposalNetwork(
            rpn_anchor_generator, rpn_head, rpn_fg_iou_thresh, rpn_bg_iou_thresh, rpn_batch_size_per_image,
            rpn_positive_fraction, dict(training=rpn_pre_nms_top_n_train, testing=rpn_pre_nms_top_n_test),
            dict(training=rpn_post_nms_top_n_train, testing=rpn_post_nms_top_n_test), rpn_nms_thresh,
            score_thresh=rpn_score_thresh)
        if box_roi_pool is None:
            box_roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=7, sampling_ratio=2)
        if box_head is None:
            box_head = TwoMLPHead(out_channels * box_roi_pool.output_size[0] ** 2, 1024)
        if box_predictor is None:
            box_predictor = FastRCNNPredictor(1024, num_classes)
        roi_heads = RoIHeads(box_roi_pool, box_head, box_predictor, box_fg_iou_thresh, box_bg_iou_thresh,
                             box_batch_size_per_image, box_positive_fraction, bbox_reg_weights, box_score_thresh,
                             box_nms_thresh, box_detections_per_img)
        transform = imagenet_transform(min_size, max_size, image_mean, image_std, **kwargs)
        super().__init__(backbone, rpn, roi_heads, transform)


class TwoMLPHead(nn.Module):
    def __init__(self, in_channels, representation_size):
        super().__init__()
        self.fc6 = nn.Linear(in_channels, representation_size)
        self.fc7 = nn.Linear(representation_size, representation_size)

    def forward(self, x):
        return F.relu(self.fc7(F.relu(self.fc6(x.flatten(start_dim=1)))))


class FastRCNNConvFCHead(nn.Sequential):
    """v2's box head: 3x3 conv-norm-ReLU layers, flatten, then Linear+ReLU layers."""

    def __init__(self, input_size, conv_layers, fc_layers, norm_layer=None):
        channels, height, width = input_size
        blocks, prev = [], channels
        for c in conv_layers:
            blocks.append(Conv2dNormActivation(prev, c, norm_layer=norm_layer))
            prev = c
        blocks.append(nn.Flatten())
        prev = prev * height * width
        for c in fc_layers:
            blocks += [nn.Linear(prev, c), nn.ReLU(inplace=True)]
            prev = c
        super().__init__(*blocks)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)


class FastRCNNPredictor(nn.Module):
    """Class logits and per-class box deltas from the pooled representation."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.cls_score = nn.Linear(in_channels, num_classes)
        self.bbox_pred = nn.Linear(in_channels, num_classes * 4)

    def forward(self, x):
        if x.dim() == 4 and list(x.shape[2:]) != [1, 1]:
            raise AssertionError(f"x has the wrong shape, expecting the last two dimensions to be [1,1] instead of "
                                 f"{list(x.shape[2:])}")
        x = x.flatten(start_dim=1)
        return self.cls_score(x), self.bbox_pred(x)


FasterRCNN_ResNet50_FPN_Weights = _make_enum("FasterRCNN_ResNet50_FPN_Weights", __name__)
FasterRCNN_ResNet50_FPN_V2_Weights = _make_enum("FasterRCNN_ResNet50_FPN_V2_Weights", __name__)
FasterRCNN_MobileNet_V3_Large_FPN_Weights = _make_enum("FasterRCNN_MobileNet_V3_Large_FPN_Weights", __name__)
FasterRCNN_MobileNet_V3_Large_320_FPN_Weights = _make_enum("FasterRCNN_MobileNet_V3_Large_320_FPN_Weights", __name__)


def _classes(weights, num_classes):
    if weights is not None:
        return _ovewrite_value_param("num_classes", num_classes, len(weights.meta["categories"]))
    return 91 if num_classes is None else num_classes


def _resnet50_fpn_v1(model_cls, weights, progress, weights_backbone, trainable_backbone_layers, eps_zero_weights,
                     *args, **kwargs):
    """The v1 R-CNN builders' body: a ResNet-50 FPN (batch norms frozen when anything is pretrained),
    the model on it, its weights, and eps 0 for the checkpoint that was trained with it."""
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = resnet50(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    model = model_cls(_resnet_fpn_extractor(backbone, trainable), *args, **kwargs)
    load_weights(model, weights, progress)
    if weights is not None and weights == eps_zero_weights:
        overwrite_eps(model, 0.0)  # trained with eps 0
    return model


def _resnet50_fpn_v2_parts(weights, progress, weights_backbone, trainable_backbone_layers):
    """The v2 R-CNN builders' shared parts: a ResNet-50 FPN with batch norm, its anchors, a two-conv
    RPN head and a four-conv box head."""
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 5, 3)
    backbone = _resnet_fpn_extractor(resnet50(weights=weights_backbone, progress=progress), trainable,
                                     norm_layer=nn.BatchNorm2d)
    anchors = _default_anchorgen()
    rpn_head = RPNHead(backbone.out_channels, anchors.num_anchors_per_location()[0], conv_depth=2)
    box_head = FastRCNNConvFCHead((backbone.out_channels, 7, 7), [256, 256, 256, 256], [1024],
                                  norm_layer=nn.BatchNorm2d)
    return backbone, dict(rpn_anchor_generator=anchors, rpn_head=rpn_head, box_head=box_head)


@builder(FasterRCNN_ResNet50_FPN_Weights, "COCO_V1", backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def fasterrcnn_resnet50_fpn(*, weights=None, progress=True, num_classes=None,
                            weights_backbone=ResNet50_Weights.IMAGENET1K_V1, trainable_backbone_layers=None, **kwargs):
    """Faster R-CNN, ResNet-50 FPN. With pretrained weights the backbone's batch norms are frozen."""
    if weights is not None:
        weights_backbone = None
    return _resnet50_fpn_v1(FasterRCNN, weights, progress, weights_backbone, trainable_backbone_layers,
                            FasterRCNN_ResNet50_FPN_Weights.COCO_V1, num_classes=_classes(weights, num_classes),
                            **kwargs)


@builder(FasterRCNN_ResNet50_FPN_V2_Weights, "COCO_V1", backbone=(ResNet50_Weights, "IMAGENET1K_V1"))
def fasterrcnn_resnet50_fpn_v2(*, weights=None, progress=True, num_classes=None, weights_backbone=None,
                               trainable_backbone_layers=None, **kwargs):
    """Faster R-CNN v2 (Benchmarking Detection Transfer Learning with Vision Transformers): batch
    norm in the FPN and the heads, two RPN convs, a four-conv box head."""
    if weights is not None:
        weights_backbone = None
    backbone, parts = _resnet50_fpn_v2_parts(weights, progress, weights_backbone, trainable_backbone_layers)
    model = FasterRCNN(backbone, num_classes=_classes(weights, num_classes), **parts, **kwargs)
    return load_weights(model, weights, progress)


def _fasterrcnn_mobilenet_v3_large_fpn(weights, progress, num_classes, weights_backbone, trainable_backbone_layers,
                                       **kwargs):
    if weights is not None:
        weights_backbone = None
    num_classes = _classes(weights, num_classes)
    is_trained = weights is not None or weights_backbone is not None
    trainable = _validate_trainable_layers(is_trained, trainable_backbone_layers, 6, 3)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if is_trained else nn.BatchNorm2d
    backbone = mobilenet_v3_large(weights=weights_backbone, progress=progress, norm_layer=norm_layer)
    backbone = _mobilenet_extractor(backbone, True, trainable)
    sizes = ((32, 64, 128, 256, 512),) * 3
    anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    model = FasterRCNN(backbone, num_classes, rpn_anchor_generator=anchors, **kwargs)
    return load_weights(model, weights, progress)


@builder(FasterRCNN_MobileNet_V3_Large_320_FPN_Weights, "COCO_V1",
         backbone=(MobileNet_V3_Large_Weights, "IMAGENET1K_V1"))
def fasterrcnn_mobilenet_v3_large_320_fpn(*, weights=None, progress=True, num_classes=None,
                                          weights_backbone=MobileNet_V3_Large_Weights.IMAGENET1K_V1,
                                          trainable_backbone_layers=None, **kwargs):
    """Low resolution (320 px) Faster R-CNN on MobileNetV3-Large FPN."""
    defaults = {"min_size": 320, "max_size": 640, "rpn_pre_nms_top_n_test": 150, "rpn_post_nms_top_n_test": 150,
                "rpn_score_thresh": 0.05}
    return _fasterrcnn_mobilenet_v3_large_fpn(weights, progress, num_classes, weights_backbone,
                                              trainable_backbone_layers, **{**defaults, **kwargs})


@builder(FasterRCNN_MobileNet_V3_Large_FPN_Weights, "COCO_V1", backbone=(MobileNet_V3_Large_Weights, "IMAGENET1K_V1"))
def fasterrcnn_mobilenet_v3_large_fpn(*, weights=None, progress=True, num_classes=None,
                                      weights_backbone=MobileNet_V3_Large_Weights.IMAGENET1K_V1,
                                      trainable_backbone_layers=None, **kwargs):
    """Faster R-CNN on MobileNetV3-Large FPN."""
    return _fasterrcnn_mobilenet_v3_large_fpn(weights, progress, num_classes, weights_backbone,
                                              trainable_backbone_layers, **{"rpn_score_thresh": 0.05, **kwargs})

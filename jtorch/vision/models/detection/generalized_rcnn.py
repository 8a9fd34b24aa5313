"""GeneralizedRCNN: transform -> backbone -> RPN -> RoI heads -> detections mapped back to the inputs."""
from collections import OrderedDict

import jtorch as torch
import jtorch.nn as nn

__all__ = ["GeneralizedRCNN"]


class GeneralizedRCNN(nn.Module):
    """``model(images, targets)`` in training mode returns the loss dict; in eval mode a list of
    {'boxes', 'labels', 'scores'} (and masks / keypoints) per image, in input image coordinates."""

    def __init__(self, backbone, rpn, roi_heads, transform):
        super().__init__()
        self.transform = transform
        self.backbone = backbone
        self.rpn = rpn
        self.roi_heads = roi_heads
        self._has_warned = False

    def eager_outputs(self, losses, detections):
        return losses if self.training else detections

    def forward(self, images, targets=None):
        if self.training:
            if targets is None:
                raise AssertionError("targets should not be none when in training mode")
            for target in targets:
                boxes = target["boxes"]
                if not isinstance(boxes, torch.Tensor):
                    raise AssertionError(f"Expected target boxes to be of type Tensor, got {type(boxes)}.")
                if boxes.ndim != 2 or boxes.shape[-1] != 4:
                    raise AssertionError(f"Expected target boxes to be a tensor of shape [N, 4], got {boxes.shape}.")
        original_sizes = []
        for img in images:
            if img.ndim < 2:
                raise AssertionError(f"expecting the last two dimensions of the Tensor to be H and W instead got "
                                     f"{img.shape[-2:]}")
            original_sizes.append((int(img.shape[-2]), int(img.shape[-1])))
        images, targets = self.transform(images, targets)
        if targets is not None:
            for idx, target in enumerate(targets):
                boxes = target["boxes"]
                degenerate = (boxes[:, 2:] <= boxes[:, :2]).any(dim=1)
                if degenerate.any():
                    bad = boxes[torch.where(degenerate)[0][0]].tolist()
                    raise AssertionError("All bounding boxes should have positive height and width. "
                                         f"Found invalid box {bad} for target at index {idx}.")
        features = self.backbone(images.tensors)
        if isinstance(features, torch.Tensor):
            features = OrderedDict([("0", features)])
        proposals, proposal_losses = self.rpn(images, features, targets)
        detections, detector_losses = self.roi_heads(features, proposals, images.image_sizes, targets)
        detections = self.transform.postprocess(detections, images.image_sizes, original_sizes)
        losses = {}
        losses.update(detector_losses)
        losses.update(proposal_losses)
        return self.eager_outputs(losses, detections)

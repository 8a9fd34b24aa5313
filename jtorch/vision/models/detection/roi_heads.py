"""RoIHeads (Fast R-CNN's second stage): sample proposals against the ground truth, pool their
features, classify and refine them; the losses in training, scored and nms-filtered detections
in eval; with the mask / keypoint parts (Mask / Keypoint R-CNN, in mask_keypoint_ops) also those
branches on the positive proposals (training) or the detections (eval)."""
import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

from ...ops import boxes as box_ops
from . import _utils as det_utils
from .mask_keypoint_ops import *  # noqa: F401,F403  (torchvision has them in roi_heads)
from .mask_keypoint_ops import keypointrcnn_inference, keypointrcnn_loss, maskrcnn_inference, maskrcnn_loss
from .mask_keypoint_ops import __all__ as _mask_keypoint_all

__all__ = ["RoIHeads", "fastrcnn_loss"] + _mask_keypoint_all


def fastrcnn_loss(class_logits, box_regression, labels, regression_targets):
    """Cross entropy over all sampled proposals, and smooth-L1 (beta 1/9) on the deltas of each
    foreground proposal's true class, summed and divided by the number of sampled proposals."""
    labels = torch.cat(labels, dim=0)
    regression_targets = torch.cat(regression_targets, dim=0)
    classification_loss = F.cross_entropy(class_logits, labels)
    pos = torch.where(labels > 0)[0]
    N = class_logits.shape[0]
    box_regression = box_regression.reshape(N, box_regression.shape[-1] // 4, 4)
    box_loss = F.smooth_l1_loss(box_regression[pos, labels[pos]], regression_targets[pos], beta=1 / 9,
                                reduction="sum")
    return classification_loss, box_loss / labels.numel()


class RoIHeads(nn.Module):
    def __init__(self, box_roi_pool, box_head, box_predictor, fg_iou_thresh, bg_iou_thresh, batch_size_per_image,
                 positive_fraction, bbox_reg_weights, score_thresh, nms_thresh, detections_per_img,
                 mask_roi_pool=None, mask_head=None, mask_predictor=None, keypoint_roi_pool=None, keypoint_head=None,
                 keypoint_predictor=None):
        super().__init__()
        self.box_similarity = box_ops.box_iou
        self.proposal_matcher = det_utils.Matcher(fg_iou_thresh, bg_iou_thresh, allow_low_quality_matches=False)
        self.fg_bg_sampler = det_utils.BalancedPositiveNegativeSampler(batch_size_per_image, positive_fraction)
        self.box_coder = det_utils.BoxCoder(bbox_reg_weights if bbox_reg_weights is not None else (10.0, 10.0, 5.0, 5.0))
        self.box_roi_pool = box_roi_pool
        self.box_head = box_head
        self.box_predictor = box_predictor
        self.score_thresh = score_thresh
        self.nms_thresh = nms_thresh
        self.detections_per_img = detections_per_img
        self.mask_roi_pool = mask_roi_pool
        self.mask_head = mask_head
        self.mask_predictor = mask_predictor
        self.keypoint_roi_pool = keypoint_roi_pool
        self.keypoint_head = keypoint_head
        self.keypoint_predictor = keypoint_predictor

    def has_mask(self):
        return self.mask_roi_pool is not None and self.mask_head is not None and self.mask_predictor is not None

    def has_keypoint(self):
        return (self.keypoint_roi_pool is not None and self.keypoint_head is not None
                and self.keypoint_predictor is not None)

    def assign_targets_to_proposals(self, proposals, gt_boxes, gt_labels):
        """Per image: the matched gt index of each proposal (clamped at 0) and its class label
        (0 background, -1 ignored between the thresholds)."""
        matched_idxs, labels = [], []
        for props, boxes, glabels in zip(proposals, gt_boxes, gt_labels):
            if boxes.numel() == 0:
                idx = torch.zeros((props.shape[0],), dtype=torch.int64)
                lab = torch.zeros((props.shape[0],), dtype=torch.int64)
            else:
                m = self.proposal_matcher(box_ops.box_iou(boxes, props))
                idx = m.clamp(min=0)
                lab = glabels[idx].to(dtype=torch.int64)
                lab[m == self.proposal_matcher.BELOW_LOW_THRESHOLD] = 0
                lab[m == self.proposal_matcher.BETWEEN_THRESHOLDS] = -1
            matched_idxs.append(idx)
            labels.append(lab)
        return matched_idxs, labels

    def subsample(self, labels):
        pos_masks, neg_masks = self.fg_bg_sampler(labels)
        return [torch.where(p | n)[0] for p, n in zip(pos_masks, neg_masks)]

    def add_gt_proposals(self, proposals, gt_boxes):
        return [torch.cat((p, g)) for p, g in zip(proposals, gt_boxes)]

    def check_targets(self, targets):
        if targets is None:
            raise ValueError("targets should not be None")
        if not all("boxes" in t for t in targets):
            raise ValueError("Every element of targets should have a boxes key")
        if not all("labels" in t for t in targets):
            raise ValueError("Every element of targets should have a labels key")
        if self.has_mask() and not all("masks" in t for t in targets):
            raise ValueError("Every element of targets should have a masks key")

    def select_training_samples(self, proposals, targets):
        self.check_targets(targets)
        dtype = proposals[0].dtype
        gt_boxes = [t["boxes"].to(dtype) for t in targets]
        gt_labels = [t["labels"] for t in targets]
        proposals = self.add_gt_proposals(proposals, gt_boxes)  # the gt boxes are proposals too
        matched_idxs, labels = self.assign_targets_to_proposals(proposals, gt_boxes, gt_labels)
        sampled = self.subsample(labels)
        matched_gt_boxes = []
        for i, inds in enumerate(sampled):
            proposals[i] = proposals[i][inds]
            labels[i] = labels[i][inds]
            matched_idxs[i] = matched_idxs[i][inds]
            boxes = gt_boxes[i] if gt_boxes[i].numel() else torch.zeros((1, 4), dtype=dtype)
            matched_gt_boxes.append(boxes[matched_idxs[i]])
        regression_targets = self.box_coder.encode(matched_gt_boxes, proposals)
        return proposals, matched_idxs, labels, regression_targets

    def postprocess_detections(self, class_logits, box_regression, proposals, image_shapes):
        num_classes = class_logits.shape[-1]
        counts = [p.shape[0] for p in proposals]
        pred_boxes = self.box_coder.decode(box_regression, proposals).split(counts, 0)
        pred_scores = F.softmax(class_logits, -1).split(counts, 0)
        all_boxes, all_scores, all_labels = [], [], []
        for boxes, scores, shape in zip(pred_boxes, pred_scores, image_shapes):
            boxes = box_ops.clip_boxes_to_image(boxes, shape)
            labels = torch.arange(num_classes).reshape(1, -1).expand_as(scores)
            # one candidate per (proposal, foreground class)
            boxes, scores, labels = boxes[:, 1:].reshape(-1, 4), scores[:, 1:].reshape(-1), labels[:, 1:].reshape(-1)
            keep = torch.where(scores > self.score_thresh)[0]
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = box_ops.remove_small_boxes(boxes, min_size=1e-2)
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = box_ops.batched_nms(boxes, scores, labels, self.nms_thresh)[: self.detections_per_img]
            all_boxes.append(boxes[keep])
            all_scores.append(scores[keep])
            all_labels.append(labels[keep])
        return all_boxes, all_scores, all_labels

    def forward(self, features, proposals, image_shapes, targets=None):
        if targets is not None:
            for t in targets:
                if t["boxes"].dtype not in (torch.float, torch.double, torch.half):
                    raise TypeError(f"target boxes must of float type, instead got {t['boxes'].dtype}")
                if t["labels"].dtype != torch.int64:
                    raise TypeError(f"target labels must of int64 type, instead got {t['labels'].dtype}")
                if self.has_keypoint() and t["keypoints"].dtype != torch.float32:
                    raise TypeError(f"target keypoints must of float type, instead got {t['keypoints'].dtype}")
        matched_idxs = labels = None
        if self.training:
            proposals, matched_idxs, labels, regression_targets = self.select_training_samples(proposals, targets)
        features_ = self.box_roi_pool(features, proposals, image_shapes)
        class_logits, box_regression = self.box_predictor(self.box_head(features_))
        result, losses = [], {}
        if self.training:
            loss_classifier, loss_box_reg = fastrcnn_loss(class_logits, box_regression, labels, regression_targets)
            losses = {"loss_classifier": loss_classifier, "loss_box_reg": loss_box_reg}
        else:
            boxes, scores, labels = self.postprocess_detections(class_logits, box_regression, proposals, image_shapes)
            result = [{"boxes": b, "labels": lab, "scores": s} for b, s, lab in zip(boxes, scores, labels)]
        if self.has_mask():
            losses.update(self._mask_branch(features, proposals, image_shapes, targets, result, labels, matched_idxs))
        if self.has_keypoint():
            losses.update(self._keypoint_branch(features, proposals, image_shapes, targets, result, labels,
                                                matched_idxs))
        return result, losses

    def _positives(self, proposals, labels, matched_idxs):
        """Training: the positive proposals of each image and their matched gt indices."""
        pos = [torch.where(lab > 0)[0] for lab in labels]
        return [p[i] for p, i in zip(proposals, pos)], [m[i] for m, i in zip(matched_idxs, pos)]

    def _mask_branch(self, features, proposals, image_shapes, targets, result, labels, matched_idxs):
        if self.training:
            boxes, pos_matched = self._positives(proposals, labels, matched_idxs)
        else:
            boxes = [r["boxes"] for r in result]
        logits = self.mask_predictor(self.mask_head(self.mask_roi_pool(features, boxes, image_shapes)))
        if self.training:
            return {"loss_mask": maskrcnn_loss(logits, boxes, [t["masks"] for t in targets],
                                               [t["labels"] for t in targets], pos_matched)}
        for prob, r in zip(maskrcnn_inference(logits, [r["labels"] for r in result]), result):
            r["masks"] = prob
        return {}

    def _keypoint_branch(self, features, proposals, image_shapes, targets, result, labels, matched_idxs):
        if self.training:
            boxes, pos_matched = self._positives(proposals, labels, matched_idxs)
        else:
            boxes = [r["boxes"] for r in result]
        logits = self.keypoint_predictor(self.keypoint_head(self.keypoint_roi_pool(features, boxes, image_shapes)))
        if self.training:
            return {"loss_keypoint": keypointrcnn_loss(logits, boxes, [t["keypoints"] for t in targets], pos_matched)}
        keypoints, scores = keypointrcnn_inference(logits, boxes)
        for kp, sc, r in zip(keypoints, scores, result):
            r["keypoints"] = kp
            r["keypoints_scores"] = sc
        return {}

"""The mask and keypoint parts of RoIHeads (Mask R-CNN, Keypoint R-CNN): losses, inference, and
pasting the per-box masks into the image. roi_heads re-exports them under torchvision's names.

Pasting a mask and reading a keypoint heatmap resize a small map to each box's own size; done with
F.interpolate that would compile one program per box size. Both resizes are separable, so they run
as (box rows x map rows) @ map @ (map cols x box cols) with the interpolation tables of jtorch's
interpolate (built on the host from the boxes, like the roi_align plans): one batched matmul."""
import numpy as np

import jtorch as torch
import jtorch.nn.functional as F

from ...._ops.vision_ops import interp_table
from ...ops.roi import roi_align

__all__ = ["maskrcnn_inference", "project_masks_on_boxes", "maskrcnn_loss", "keypoints_to_heatmap",
           "heatmaps_to_keypoints", "keypointrcnn_loss", "keypointrcnn_inference", "expand_boxes", "expand_masks",
           "paste_mask_in_image", "paste_masks_in_image"]


def _resize_matrix(mode, n_in, n_out):
    """Dense (n_out, n_in) matrix of F.interpolate(size=n_out, align_corners=False) along one dim."""
    idx, w = interp_table(mode, n_in, n_out, None, False, False, np.float32)
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.repeat(np.arange(n_out), idx.shape[1]), idx.reshape(-1)), w.reshape(-1))
    return m.astype(np.float32)


# ------------------------------------------------------------------ masks
def maskrcnn_inference(x, labels):
    """Sigmoid of each box's mask logits for its predicted class, split per image: (n, 1, M, M)."""
    counts = [lab.shape[0] for lab in labels]
    labels = torch.cat(labels)
    prob = x.sigmoid()[torch.arange(x.shape[0]), labels][:, None]
    return prob.split(counts, dim=0)


def project_masks_on_boxes(gt_masks, boxes, matched_idxs, M):
    """The matched gt mask cropped to each box and resized to M x M (roi_align, not aligned)."""
    rois = torch.cat([matched_idxs.to(boxes)[:, None], boxes], dim=1)
    return roi_align(gt_masks[:, None].to(rois), rois, (M, M), 1.0)[:, 0]


def maskrcnn_loss(mask_logits, proposals, gt_masks, gt_labels, mask_matched_idxs):
    """Binary cross entropy between each positive box's logits for its gt class and its gt mask."""
    size = mask_logits.shape[-1]
    labels = torch.cat([gl[idx] for gl, idx in zip(gt_labels, mask_matched_idxs)], dim=0)
    targets = torch.cat([project_masks_on_boxes(m, p, i, size)
                         for m, p, i in zip(gt_masks, proposals, mask_matched_idxs)], dim=0)
    if targets.numel() == 0:  # no positive box: a zero that still depends on the logits
        return mask_logits.sum() * 0
    return F.binary_cross_entropy_with_logits(mask_logits[torch.arange(labels.shape[0]), labels], targets)


def expand_boxes(boxes, scale):
    """Boxes scaled by ``scale`` about their centres."""
    w_half = (boxes[:, 2] - boxes[:, 0]) * 0.5 * scale
    h_half = (boxes[:, 3] - boxes[:, 1]) * 0.5 * scale
    x_c = (boxes[:, 2] + boxes[:, 0]) * 0.5
    y_c = (boxes[:, 3] + boxes[:, 1]) * 0.5
    return torch.stack([x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half], dim=1)


def expand_masks(mask, padding):
    """Zero-pad the masks by ``padding`` on each side; the matching box scale."""
    M = mask.shape[-1]
    return F.pad(mask, (padding,) * 4), float(M + 2 * padding) / M


def _paste_matrices(box, size, im_size):
    """Rows of the image that box (integer x1 or y1, x2 or y2) covers, each with its row of the
    bilinear resize of the mask to the box's (inclusive) size; zero rows elsewhere."""
    lo, hi = int(box[0]), int(box[1])
    n = max(hi - lo + 1, 1)
    out = np.zeros((im_size, size), np.float32)
    a, b = max(lo, 0), min(hi + 1, im_size)
    if b > a:
        out[a:b] = _resize_matrix("linear", size, n)[a - lo:b - lo]
    return out


def paste_masks_in_image(masks, boxes, img_shape, padding=1):
    """(K, 1, M, M) box masks -> (K, 1, H, W) image masks: each padded mask resized bilinearly to
    its (padded, integer) box and placed there; zero outside the box."""
    masks, scale = expand_masks(masks, padding=padding)
    boxes = expand_boxes(boxes, scale).to(dtype=torch.int64)
    im_h, im_w = img_shape
    if masks.shape[0] == 0:
        return masks.new_empty((0, 1, im_h, im_w))
    b = boxes.numpy()
    size = masks.shape[-1]
    rows = np.stack([_paste_matrices((y1, y2), size, im_h) for _, y1, _, y2 in b])
    cols = np.stack([_paste_matrices((x1, x2), size, im_w) for x1, _, x2, _ in b])
    rows, cols = torch.from_numpy(rows).to(masks.dtype), torch.from_numpy(cols).to(masks.dtype)
    return torch.matmul(torch.matmul(rows, masks[:, 0]), cols.transpose(1, 2))[:, None]


def paste_mask_in_image(mask, box, im_h, im_w):
    """One (M, M) mask resized to the integer box (x1, y1, x2, y2) and placed in an (im_h, im_w) image."""
    b = np.asarray(box.numpy() if isinstance(box, torch.Tensor) else box).astype(np.int64)
    rows = torch.from_numpy(_paste_matrices((b[1], b[3]), mask.shape[-1], im_h)).to(mask.dtype)
    cols = torch.from_numpy(_paste_matrices((b[0], b[2]), mask.shape[-1], im_w)).to(mask.dtype)
    return rows @ mask @ cols.t()


# ------------------------------------------------------------------ keypoints
def keypoints_to_heatmap(keypoints, rois, heatmap_size):
    """Each keypoint's cell (y * size + x) in its box's size x size grid, and whether it is
    visible and inside the box."""
    offset_x, offset_y = rois[:, 0][:, None], rois[:, 1][:, None]
    scale_x = (heatmap_size / (rois[:, 2] - rois[:, 0]))[:, None]
    scale_y = (heatmap_size / (rois[:, 3] - rois[:, 1]))[:, None]
    x, y = keypoints[..., 0], keypoints[..., 1]
    on_right = x == rois[:, 2][:, None]  # the right / bottom edge belongs to the last cell
    on_bottom = y == rois[:, 3][:, None]
    x = ((x - offset_x) * scale_x).floor().long()
    y = ((y - offset_y) * scale_y).floor().long()
    x[on_right] = heatmap_size - 1
    y[on_bottom] = heatmap_size - 1
    inside = (x >= 0) & (y >= 0) & (x < heatmap_size) & (y < heatmap_size)
    valid = (inside & (keypoints[..., 2] > 0)).long()
    return (y * heatmap_size + x) * valid, valid


def keypointrcnn_loss(keypoint_logits, proposals, gt_keypoints, keypoint_matched_idxs):
    """Cross entropy over each visible keypoint's heatmap cells (the target is its gt cell)."""
    N, K, H, W = keypoint_logits.shape
    if H != W:
        raise ValueError("keypoint_logits height and width (last two elements of shape) should be equal. "
                         f"Instead got H = {H} and W = {W}")
    heatmaps, valid = [], []
    for props, kps, midx in zip(proposals, gt_keypoints, keypoint_matched_idxs):
        h, v = keypoints_to_heatmap(kps[midx], props, H)
        heatmaps.append(h.reshape(-1))
        valid.append(v.reshape(-1))
    targets = torch.cat(heatmaps, dim=0)
    valid = torch.where(torch.cat(valid, dim=0).to(torch.uint8))[0]
    if targets.numel() == 0 or len(valid) == 0:
        return keypoint_logits.sum() * 0
    return F.cross_entropy(keypoint_logits.reshape(N * K, H * W)[valid], targets[valid])


def heatmaps_to_keypoints(maps, rois):
    """(K, N, H, W) heatmaps and their boxes -> keypoints (K, N, 3) as (x, y, 1) and scores (K, N).

    Each box's maps are resized bicubically to ceil(box size) pixels; a keypoint lies at the centre
    of its map's largest pixel (c = d + 0.5), and its score is that pixel's value. The largest pixel
    is found on the host; the score is recomputed from ``maps`` (its 4x4 bicubic taps), so it keeps
    maps' gradient."""
    K, N, H, W = maps.shape
    xy = np.zeros((K, N, 3), np.float32)
    taps_idx, taps_w = np.zeros((K, N, 16), np.int64), np.zeros((K, N, 16), np.float32)
    if K:
        r = rois.detach().numpy().astype(np.float32)
        m = maps.detach().numpy().astype(np.float32)
        widths = np.maximum(r[:, 2] - r[:, 0], np.float32(1))
        heights = np.maximum(r[:, 3] - r[:, 1], np.float32(1))
    for i in range(K):
        rw, rh = int(np.ceil(widths[i])), int(np.ceil(heights[i]))
        iy, wy = interp_table("cubic", H, rh, None, False, False, np.float32)
        ix, wx = interp_table("cubic", W, rw, None, False, False, np.float32)
        wy, wx = wy.astype(np.float32), wx.astype(np.float32)
        rows = sum(m[i][:, iy[:, k], :] * wy[:, k][None, :, None] for k in range(4))  # (N, rh, W)
        roi_map = sum(rows[:, :, ix[:, k]] * wx[:, k][None, None, :] for k in range(4))  # (N, rh, rw)
        pos = roi_map.reshape(N, -1).argmax(axis=1)
        x_int, y_int = pos % rw, pos // rw
        xy[i, :, 0] = (x_int.astype(np.float32) + np.float32(0.5)) * (widths[i] / np.float32(rw)) + r[i, 0]
        xy[i, :, 1] = (y_int.astype(np.float32) + np.float32(0.5)) * (heights[i] / np.float32(rh)) + r[i, 1]
        xy[i, :, 2] = 1
        # flat indices into maps of the 4 x 4 taps behind each chosen pixel, and their weights
        ty, tx = iy[y_int], ix[x_int]  # (N, 4)
        base = (i * N + np.arange(N))[:, None, None] * (H * W)
        taps_idx[i] = (base + ty[:, :, None] * W + tx[:, None, :]).reshape(N, 16)
        taps_w[i] = (wy[y_int][:, :, None] * wx[x_int][:, None, :]).reshape(N, 16)
    values = maps.reshape(-1)[torch.from_numpy(taps_idx.reshape(-1))].reshape(K, N, 16)
    scores = (values * torch.from_numpy(taps_w).to(maps.dtype)).sum(-1)
    return torch.from_numpy(xy), scores


def keypointrcnn_inference(x, boxes):
    kp_probs, kp_scores = [], []
    for xx, bb in zip(x.split([b.shape[0] for b in boxes], dim=0), boxes):
        kp, scores = heatmaps_to_keypoints(xx, bb)
        kp_probs.append(kp)
        kp_scores.append(scores)
    return kp_probs, kp_scores

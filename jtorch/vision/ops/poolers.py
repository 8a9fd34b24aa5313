"""MultiScaleRoIAlign: roi_align on the FPN level that suits each box's size (FPN paper, eq. 1)."""
import math

import jtorch as torch
import jtorch.nn as nn

from .boxes import box_area
from .roi import roi_align

__all__ = ["MultiScaleRoIAlign"]


class LevelMapper:
    """Box -> pyramid level floor(k0 + log2(sqrt(area) / canonical_scale)), clamped, from 0."""

    def __init__(self, k_min, k_max, canonical_scale=224, canonical_level=4, eps=1e-6):
        self.k_min, self.k_max = k_min, k_max
        self.s0, self.lvl0, self.eps = canonical_scale, canonical_level, eps

    def __call__(self, boxlists):
        s = torch.sqrt(torch.cat([box_area(b) for b in boxlists]))
        lvl = torch.floor(self.lvl0 + torch.log2(s / self.s0) + torch.tensor(self.eps, dtype=s.dtype))
        return torch.clamp(lvl, min=self.k_min, max=self.k_max).to(torch.int64) - self.k_min


def _infer_scale(feature, original_size):
    """The power of two nearest to feature size / image size."""
    scales = [2 ** round(math.log2(float(s1) / float(s2))) for s1, s2 in zip(feature.shape[-2:], original_size)]
    return float(scales[0])


def _setup_scales(features, image_shapes, canonical_scale, canonical_level):
    if not image_shapes:
        raise ValueError("images list should not be empty")
    original = (max(s[0] for s in image_shapes), max(s[1] for s in image_shapes))
    scales = [_infer_scale(f, original) for f in features]
    lvl_min, lvl_max = -math.log2(scales[0]), -math.log2(scales[-1])
    return scales, LevelMapper(int(lvl_min), int(lvl_max), canonical_scale, canonical_level)


def _convert_to_roi_format(boxes):
    return torch.cat([torch.cat([torch.full((b.shape[0], 1), i, dtype=b.dtype), b], dim=1)
                      for i, b in enumerate(boxes)], dim=0)


class MultiScaleRoIAlign(nn.Module):
    def __init__(self, featmap_names, output_size, sampling_ratio, *, canonical_scale=224, canonical_level=4):
        super().__init__()
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.featmap_names = featmap_names
        self.sampling_ratio = sampling_ratio
        self.output_size = tuple(output_size)
        self.scales = None
        self.map_levels = None
        self.canonical_scale, self.canonical_level = canonical_scale, canonical_level

    def forward(self, x, boxes, image_shapes):
        # the maps named in featmap_names that x has, in x's order (mobilenet FPNs have only '0', '1')
        feats = [v for k, v in x.items() if k in self.featmap_names]
        self.scales, self.map_levels = _setup_scales(feats, image_shapes, self.canonical_scale, self.canonical_level)
        rois = _convert_to_roi_format(boxes)
        if len(feats) == 1:
            return roi_align(feats[0], rois, self.output_size, spatial_scale=self.scales[0],
                             sampling_ratio=self.sampling_ratio)
        levels = self.map_levels(boxes)
        result = torch.zeros((rois.shape[0], feats[0].shape[1]) + self.output_size, dtype=feats[0].dtype)
        for level, (feat, scale) in enumerate(zip(feats, self.scales)):
            idx = torch.where(levels == level)[0]
            if idx.numel() == 0:
                continue
            pooled = roi_align(feat, rois[idx], self.output_size, spatial_scale=scale,
                               sampling_ratio=self.sampling_ratio)
            result = result.index_copy(0, idx, pooled.to(result.dtype))
        return result

    def __repr__(self):
        return (f"{self.__class__.__name__}(featmap_names={self.featmap_names}, output_size={self.output_size}, "
                f"sampling_ratio={self.sampling_ratio})")

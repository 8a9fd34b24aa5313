"""Anchor generators: R-CNN/RetinaNet anchors (sizes x aspect ratios on each feature map's grid)
and SSD's default boxes."""
import math

import jtorch as torch
import jtorch.nn as nn

__all__ = ["AnchorGenerator", "DefaultBoxGenerator"]


class AnchorGenerator(nn.Module):
    """One tuple of sizes and one of aspect ratios (height / width) per feature map; anchors are
    centred on the grid points (stride = image size // feature size) of each map, in
    (location, anchor) order, and concatenated over the maps for every image."""

    def __init__(self, sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),)):
        super().__init__()
        if not isinstance(sizes[0], (list, tuple)):
            sizes = tuple((s,) for s in sizes)
        if not isinstance(aspect_ratios[0], (list, tuple)):
            aspect_ratios = (aspect_ratios,) * len(sizes)
        self.sizes = sizes
        self.aspect_ratios = aspect_ratios
        self.cell_anchors = [self.generate_anchors(s, a) for s, a in zip(sizes, aspect_ratios)]

    def generate_anchors(self, scales, aspect_ratios, dtype=torch.float32, device=None):
        """Zero-centred anchors (ratios x scales, ratio-major), rounded to whole pixels."""
        scales = torch.as_tensor(scales, dtype=dtype)
        ratios = torch.as_tensor(aspect_ratios, dtype=dtype)
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)
        hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
        return (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()

    def set_cell_anchors(self, dtype, device=None):
        self.cell_anchors = [a.to(dtype=dtype) for a in self.cell_anchors]

    def num_anchors_per_location(self):
        return [len(s) * len(a) for s, a in zip(self.sizes, self.aspect_ratios)]

    def grid_anchors(self, grid_sizes, strides):
        if not len(grid_sizes) == len(strides) == len(self.cell_anchors):
            raise AssertionError("Anchors should be Tuple[Tuple[int]] because each feature map could potentially "
                                 "have different sizes and aspect ratios. There needs to be a match between the "
                                 "number of feature maps passed and the number of sizes / aspect ratios specified.")
        anchors = []
        for (gh, gw), (sh, sw), base in zip(grid_sizes, strides, self.cell_anchors):
            shifts_x = torch.arange(0, gw, dtype=torch.int32) * sw
            shifts_y = torch.arange(0, gh, dtype=torch.int32) * sh
            shift_y, shift_x = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
            shift_x, shift_y = shift_x.reshape(-1), shift_y.reshape(-1)
            shifts = torch.stack((shift_x, shift_y, shift_x, shift_y), dim=1)
            anchors.append((shifts.reshape(-1, 1, 4) + base.reshape(1, -1, 4)).reshape(-1, 4))
        return anchors

    def forward(self, image_list, feature_maps):
        grid_sizes = [tuple(f.shape[-2:]) for f in feature_maps]
        ih, iw = image_list.tensors.shape[-2:]
        strides = [(torch.tensor(ih // g[0], dtype=torch.int64), torch.tensor(iw // g[1], dtype=torch.int64))
                   for g in grid_sizes]
        self.set_cell_anchors(feature_maps[0].dtype)
        per_map = self.grid_anchors(grid_sizes, strides)
        all_maps = torch.cat(per_map)
        return [all_maps for _ in image_list.image_sizes]


class DefaultBoxGenerator(nn.Module):
    """SSD's default boxes: per feature map k, squares of scale s_k and sqrt(s_k s_k+1) plus a
    pair (w, h) / (h, w) per aspect ratio, centred on the cells, in image pixels (x1, y1, x2, y2)."""

    def __init__(self, aspect_ratios, min_ratio=0.15, max_ratio=0.9, scales=None, steps=None, clip=True):
        super().__init__()
        if steps is not None and len(aspect_ratios) != len(steps):
            raise ValueError("aspect_ratios and steps should have the same length")
        self.aspect_ratios = aspect_ratios
        self.steps = steps
        self.clip = clip
        n = len(aspect_ratios)
        if scales is None:
            if n > 1:
                self.scales = [min_ratio + (max_ratio - min_ratio) * k / (n - 1.0) for k in range(n)] + [1.0]
            else:
                self.scales = [min_ratio, max_ratio]
        else:
            self.scales = scales
        self._wh_pairs = self._generate_wh_pairs(n)

    def _generate_wh_pairs(self, num_outputs, dtype=torch.float32, device=None):
        pairs = []
        for k in range(num_outputs):
            s_k = self.scales[k]
            s_prime = math.sqrt(self.scales[k] * self.scales[k + 1])
            wh = [[s_k, s_k], [s_prime, s_prime]]
            for ar in self.aspect_ratios[k]:
                r = math.sqrt(ar)
                wh.extend([[s_k * r, s_k / r], [s_k / r, s_k * r]])
            pairs.append(torch.as_tensor(wh, dtype=dtype))
        return pairs

    def num_anchors_per_location(self):
        return [2 + 2 * len(r) for r in self.aspect_ratios]

    def _grid_default_boxes(self, grid_sizes, image_size, dtype=torch.float32):
        boxes = []
        for k, (fh, fw) in enumerate(grid_sizes):
            if self.steps is not None:
                x_f, y_f = image_size[1] / self.steps[k], image_size[0] / self.steps[k]
            else:
                y_f, x_f = fh, fw
            shifts_x = ((torch.arange(0, fw) + 0.5) / x_f).to(dtype=dtype)
            shifts_y = ((torch.arange(0, fh) + 0.5) / y_f).to(dtype=dtype)
            shift_y, shift_x = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
            centres = torch.stack((shift_x.reshape(-1), shift_y.reshape(-1)) * len(self._wh_pairs[k]),
                                  dim=-1).reshape(-1, 2)
            wh = self._wh_pairs[k].clamp(min=0, max=1) if self.clip else self._wh_pairs[k]
            boxes.append(torch.cat((centres, wh.repeat(fh * fw, 1)), dim=1))
        return torch.cat(boxes, dim=0)

    def __repr__(self):
        return (f"{self.__class__.__name__}(aspect_ratios={self.aspect_ratios}, clip={self.clip}, "
                f"scales={self.scales}, steps={self.steps})")

    def forward(self, image_list, feature_maps):
        grid_sizes = [tuple(f.shape[-2:]) for f in feature_maps]
        image_size = tuple(image_list.tensors.shape[-2:])
        boxes = self._grid_default_boxes(grid_sizes, image_size, dtype=feature_maps[0].dtype)
        xy = torch.tensor([image_size[1], image_size[0]])
        xyxy = torch.cat([(boxes[:, :2] - 0.5 * boxes[:, 2:]) * xy, (boxes[:, :2] + 0.5 * boxes[:, 2:]) * xy], -1)
        return [xyxy for _ in image_list.image_sizes]

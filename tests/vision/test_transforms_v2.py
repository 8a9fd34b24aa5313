"""jtorch.vision.transforms.v2 against real torchvision 0.28 on the same seeded samples (images, videos,
boxes, masks, key points in nested dicts / tuples): outputs, output types and metadata, errors.

jtorch's generator does not reproduce torch's stream, so a random transform is compared by recording the
parameters jtorch drew (its make_params) and handing the same parameters to torchvision's transform."""
import math

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import jtorch
from helpers import assert_close
from tv import torchvision

tv = torchvision()
import torchvision.transforms.v2 as V2  # noqa: E402  (after tv(): its import fix)
import torchvision.transforms.v2.functional as VF  # noqa: E402
from torchvision import tv_tensors as TVT  # noqa: E402

import jtorch.vision.transforms.v2 as J2  # noqa: E402
import jtorch.vision.transforms.v2.functional as JF  # noqa: E402
from jtorch.vision import tv_tensors as JVT  # noqa: E402

H, W = 14, 18


# ------------------------------------------------------------------ samples in both frameworks
def _boxes(rng, n=4, h=H, w=W):
    x1 = rng.uniform(0, w - 4, n)
    y1 = rng.uniform(0, h - 4, n)
    x2 = np.minimum(x1 + rng.uniform(2, 9, n), w)
    y2 = np.minimum(y1 + rng.uniform(2, 9, n), h)
    return np.stack([x1, y1, x2, y2], 1).astype(np.float32)


def _sample(rng, dtype=np.uint8, fmt="XYXY", clamping_mode="soft", n=4):
    """(jtorch sample, torch sample): an image, boxes, masks, labels and key points in a target dict."""
    img = rng.integers(0, 256, (3, H, W)).astype(np.uint8)
    if dtype == np.float32:
        img = (img / 255.0).astype(np.float32)
    xyxy = _boxes(rng, n)
    boxes = np.asarray(VF.convert_bounding_box_format(torch.from_numpy(xyxy), "XYXY", fmt))
    masks = (rng.random((n, H, W)) > 0.5).astype(np.uint8)
    labels = rng.integers(1, 5, n).astype(np.int64)
    points = rng.uniform(0, [W - 1, H - 1], (n, 3, 2)).astype(np.float32)

    def build(m, T):
        return (T.Image(m.from_numpy(img.copy())),
                {"boxes": T.BoundingBoxes(m.from_numpy(boxes.copy()), format=fmt, canvas_size=(H, W),
                                          clamping_mode=clamping_mode),
                 "masks": T.Mask(m.from_numpy(masks.copy())), "labels": m.from_numpy(labels.copy()),
                 "points": T.KeyPoints(m.from_numpy(points.copy()), canvas_size=(H, W)),
                 "image_id": 7})
    return build(jtorch, JVT), build(torch, TVT)


def _same(j, t, atol=1e-4):
    """Same structure, same leaf types (tv_tensor classes by name), metadata and values."""
    if isinstance(t, dict):
        assert isinstance(j, dict) and j.keys() == t.keys()
        for k in t:
            _same(j[k], t[k], atol)
    elif isinstance(t, (list, tuple)):
        assert type(j) is type(t) and len(j) == len(t)
        for a, b in zip(j, t):
            _same(a, b, atol)
    elif isinstance(t, torch.Tensor):
        assert type(j).__name__ == type(t).__name__, (type(j), type(t))
        assert isinstance(j, jtorch.Tensor)
        if isinstance(t, TVT.BoundingBoxes):
            assert (j.format.name, tuple(j.canvas_size), j.clamping_mode) == \
                (t.format.name, tuple(t.canvas_size), t.clamping_mode)
        if isinstance(t, TVT.KeyPoints):
            assert tuple(j.canvas_size) == tuple(t.canvas_size)
        assert_close(j.as_subclass(jtorch.Tensor), t.as_subclass(torch.Tensor), atol=atol, rtol=1e-5)
    elif isinstance(t, PILImage.Image):
        assert isinstance(j, PILImage.Image) and j.mode == t.mode and j.size == t.size
        assert np.abs(np.asarray(j).astype(int) - np.asarray(t).astype(int)).max(initial=0) == 0
    else:
        assert j == t, (j, t)


def _to_torch(v):
    if isinstance(v, jtorch.Tensor):
        return torch.from_numpy(np.asarray(v.as_subclass(jtorch.Tensor)).copy())
    if isinstance(v, dict):
        return {k: _to_torch(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_to_torch(x) for x in v)
    return v


def _with_jtorch_params(jt, tt, sample_j, sample_t, seed=0):
    """Run jt on its sample, then tt on its sample with the parameters jt drew."""
    drawn = {}
    make = jt.make_params

    def record(flat):
        drawn["params"] = make(flat)
        return drawn["params"]
    jt.make_params = record
    jtorch.manual_seed(seed)
    out_j = jt(sample_j)
    tt.make_params = lambda flat: _to_torch(drawn["params"])
    return out_j, tt(sample_t), drawn["params"]

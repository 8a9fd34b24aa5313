"""Shared by the one-stage detector tests (RetinaNet, FCOS, SSD): torchvision as the oracle with
its compiled nms replaced by a greedy pure-torch one (it cannot run beside the CPU torch here, see
tv.py), seeded inputs, and the comparisons."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from tv import torchvision

tv = torchvision()


def nms_reference(boxes, scores, iou_threshold):
    """Greedy nms: visit boxes by decreasing score, keep one unless it overlaps a kept box by more
    than iou_threshold (IoU)."""
    order = torch.argsort(scores, descending=True, stable=True)
    keep = []
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= tv.ops.box_iou(boxes[i:i + 1], boxes)[0] > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)


@pytest.fixture(autouse=True)
def torch_reference_nms(monkeypatch):
    import torchvision.ops.boxes as tboxes
    monkeypatch.setattr(tboxes, "nms", nms_reference)


def images(rng, sizes):
    return [rng.uniform(0, 1, (3, h, w)).astype(np.float32) for h, w in sizes]


def targets(rng, sizes, n=2, num_classes=4):
    out = []
    for h, w in sizes:
        x1 = rng.uniform(0, w / 2, n)
        y1 = rng.uniform(0, h / 2, n)
        boxes = np.stack([x1, y1, x1 + rng.uniform(8, w / 2, n), y1 + rng.uniform(8, h / 2, n)], 1)
        out.append({"boxes": boxes.astype(np.float32), "labels": rng.integers(1, num_classes, n)})
    return out


def run(lib, model, imgs, tgts=None):
    imgs = [lib.from_numpy(i) for i in imgs]
    if tgts is None:
        return model(imgs)
    return model(imgs, [{k: lib.from_numpy(v) for k, v in t.items()} for t in tgts])


def same_detections(got, expected, atol=1e-2):  # boxes in pixels, through 50 float32 layers
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert set(g) == set(e) == {"boxes", "labels", "scores"}
        assert g["labels"].dtype == jtorch.int64 and g["boxes"].dtype == jtorch.float32
        assert tuple(g["boxes"].shape) == tuple(e["boxes"].shape)
        assert len(e["scores"]) > 0
        assert_close(g["labels"], e["labels"])
        assert_close(g["scores"], e["scores"], rtol=1e-3, atol=1e-5)
        assert_close(g["boxes"], e["boxes"], rtol=1e-3, atol=atol)


def same_losses(got, expected, names):
    assert list(got) == list(expected) == names
    for k in expected:
        assert_close(got[k], expected[k].detach(), rtol=1e-3, atol=1e-5)


def same_grads(jmodel, tmodel, prefixes, rel=1e-2):
    """Gradients relative to the whole tensor (an activation within float32 rounding of a ReLU kink
    flips a row of a weight gradient)."""
    jparams = dict(jmodel.named_parameters())
    checked = 0
    for name, p in tmodel.named_parameters():
        if name.startswith(prefixes) and p.grad is not None:
            a, b = np.asarray(jparams[name].grad), p.grad.numpy()
            err = np.linalg.norm(a - b) / (np.linalg.norm(b) + 1e-12)
            assert np.linalg.norm(a - b) <= rel * np.linalg.norm(b) + 1e-7, (name, err)
            checked += 1
    assert checked > 0


def frozen(model):
    return [n for n, p in model.named_parameters() if not p.requires_grad]

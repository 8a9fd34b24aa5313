"""jtorch.vision.models.detection (Faster R-CNN and its parts) against torchvision.

torchvision's compiled nms and roi_align cannot run beside the CPU torch here (see tv.py), so the
oracle runs torchvision's Python model code with those two ops replaced by pure-torch references:
a greedy nms written below, and torchvision's own pure-torch ``_roi_align``. Everything else
(transform, anchors, RPN, sampling, matching, losses, post-processing) is torchvision's."""
import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
from tv import torchvision

tv = torchvision()
TD = tv.models.detection
JD = JM.detection


def _nms_reference(boxes, scores, iou_threshold):
    """Greedy nms: visit boxes by decreasing score, keep one unless it overlaps a kept box by more
    than iou_threshold (IoU)."""
    order = torch.argsort(scores, descending=True, stable=True)
    keep = []
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        iou = tv.ops.box_iou(boxes[i:i + 1], boxes)[0]
        suppressed |= iou > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)


def _roi_align_reference(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    from torchvision.ops.roi_align import _roi_align
    from torchvision.ops._utils import convert_boxes_to_roi_format
    if not isinstance(boxes, torch.Tensor):
        boxes = convert_boxes_to_roi_format(boxes)
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    return _roi_align(input, boxes, spatial_scale, output_size[0], output_size[1], sampling_ratio, aligned)


@pytest.fixture(autouse=True)
def torch_reference_ops(monkeypatch):
    import torchvision.ops.boxes as tboxes
    import torchvision.ops.poolers as tpoolers
    monkeypatch.setattr(tboxes, "nms", _nms_reference)
    monkeypatch.setattr(tpoolers, "roi_align", _roi_align_reference)


@pytest.fixture
def no_random_init(monkeypatch):
    """Skip the random init of models whose weights the test overwrites (test_models.py has the why)."""
    import jtorch.nn.init as init
    for name in ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "kaiming_uniform_", "kaiming_normal_"):
        monkeypatch.setattr(init, name, lambda tensor, *a, **k: tensor)


def _shapes(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def _spread_and_copy(tmodel, jmodel, rng):
    """Random BN statistics, and wide random weights for the score layers so that scores are far
    apart (no near-ties for sorting, top-k and nms to break differently); then copy over."""
    with torch.no_grad():
        for name, b in tmodel.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.from_numpy(rng.normal(0, 0.1, b.shape).astype(np.float32)))
            elif name.endswith("running_var"):
                b.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, b.shape).astype(np.float32)))
        for name, p in tmodel.named_parameters():
            if "cls_logits" in name or "cls_score" in name:
                p.copy_(torch.from_numpy(rng.normal(0, 0.3, p.shape).astype(np.float32)))
            elif "bbox_pred" in name:
                p.copy_(torch.from_numpy(rng.normal(0, 0.02, p.shape).astype(np.float32)))
    jmodel.load_state_dict({k: jtorch.from_numpy(v.detach().numpy().copy()) for k, v in tmodel.state_dict().items()})


def _images(rng, sizes):
    return [rng.uniform(0, 1, (3, h, w)).astype(np.float32) for h, w in sizes]


def _targets(rng, sizes, n=2, num_classes=4):
    out = []
    for h, w in sizes:
        x1 = rng.uniform(0, w / 2, n)
        y1 = rng.uniform(0, h / 2, n)
        boxes = np.stack([x1, y1, x1 + rng.uniform(8, w / 2, n), y1 + rng.uniform(8, h / 2, n)], 1)
        out.append({"boxes": boxes.astype(np.float32), "labels": rng.integers(1, num_classes, n)})
    return out


def _run(lib, model, images, targets=None):
    imgs = [lib.from_numpy(i) for i in images]
    if targets is None:
        return model(imgs)
    return model(imgs, [{k: lib.from_numpy(v) for k, v in t.items()} for t in targets])


def _same_detections(got, expected, atol=1e-3):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert set(g) == set(e) == {"boxes", "labels", "scores"}
        assert g["labels"].dtype == jtorch.int64 and g["boxes"].dtype == jtorch.float32
        assert tuple(g["boxes"].shape) == tuple(e["boxes"].shape)
        assert len(e["scores"]) > 0
        assert_close(g["labels"], e["labels"])
        assert_close(g["scores"], e["scores"], rtol=1e-3, atol=1e-5)
        assert_close(g["boxes"], e["boxes"], rtol=1e-3, atol=atol)


SMALL = dict(min_size=64, max_size=96)


@pytest.mark.parametrize("name", ["fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn"])
def test_eval_detections_match_torchvision(rng, name, no_random_init):
    kwargs = dict(SMALL, weights_backbone=None, num_classes=4, box_score_thresh=0.2)
    if "mobilenet" in name:
        kwargs["rpn_score_thresh"] = 0.0  # random weights: keep every proposal
    torch.manual_seed(0)
    tmodel = getattr(TD, name)(**kwargs).eval()
    jmodel = getattr(JD, name)(**kwargs).eval()
    assert _shapes(jmodel) == _shapes(tmodel)
    _spread_and_copy(tmodel, jmodel, rng)
    images = _images(rng, [(60, 80), (72, 56)])
    with torch.no_grad():
        expected = _run(torch, tmodel, images)
    with jtorch.no_grad():
        got = _run(jtorch, jmodel, images)
    _same_detections(got, expected)


def test_train_losses_match_torchvision(rng, no_random_init):
    """The loss dict in training mode. The samplers draw at random; batches larger than the
    candidates make them take every candidate, so both libraries use the same samples."""
    kwargs = dict(SMALL, weights_backbone=None, num_classes=4, rpn_batch_size_per_image=100000,
                  box_batch_size_per_image=100000, box_positive_fraction=0.5)
    torch.manual_seed(0)
    tmodel = TD.fasterrcnn_resnet50_fpn(**kwargs).train()
    jmodel = JD.fasterrcnn_resnet50_fpn(**kwargs).train()
    _spread_and_copy(tmodel, jmodel, rng)
    sizes = [(60, 80), (72, 56)]
    images, targets = _images(rng, sizes), _targets(rng, sizes)
    expected = _run(torch, tmodel, images, targets)
    got = _run(jtorch, jmodel, images, targets)
    assert list(got) == list(expected) == ["loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"]
    for k in expected:
        assert_close(got[k], expected[k].detach(), rtol=1e-3, atol=1e-5)
    sum(expected.values()).backward()
    sum(got.values()).backward()
    jparams = dict(jmodel.named_parameters())
    for name, p in tmodel.named_parameters():
        if name.startswith(("roi_heads", "rpn")):
            assert_close(jparams[name].grad, p.grad, rtol=2e-3, atol=1e-5)
    # the frozen first stages (trainable_backbone_layers=5 when untrained: none frozen)
    assert [n for n, p in jmodel.named_parameters() if not p.requires_grad] == [
        n for n, p in tmodel.named_parameters() if not p.requires_grad]

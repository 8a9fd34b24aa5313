"""jtorch.vision.models.detection FCOS against torchvision 0.28 (its Python model code, with the
greedy pure-torch nms of onestage_oracle.py): state_dict layout, eval detections, the three
training losses and gradients, the builder's rules and its checkpoint from the hub cache."""
import os

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
from model_oracle import copy_weights, no_random_init, shapes  # noqa: F401
from onestage_oracle import (frozen, images, run, same_detections, same_grads, same_losses, targets,  # noqa: F401
                             torch_reference_nms, tv)

TD = tv.models.detection
JD = JM.detection
SMALL = dict(min_size=64, max_size=96, weights_backbone=None, num_classes=4)
# the towers at He scale (GroupNorm keeps them about one unit), logits about one unit, side
# distances about one stride
STDS = {"head.classification_head.conv": 0.03, "head.regression_head.conv": 0.03, "cls_logits": 0.03,
        "bbox_ctrness": 0.03, "bbox_reg": 0.03}


def _pair(**kwargs):
    kwargs = {**SMALL, **kwargs}
    torch.manual_seed(0)
    tmodel, jmodel = TD.fcos_resnet50_fpn(**kwargs), JD.fcos_resnet50_fpn(**kwargs)
    assert shapes(jmodel) == shapes(tmodel)
    return tmodel, jmodel


def test_eval_detections_match_torchvision(rng, no_random_init):
    tmodel, jmodel = _pair(score_thresh=0.5, detections_per_img=12, topk_candidates=40)
    tmodel.eval(), jmodel.eval()
    copy_weights(tmodel, jmodel, rng, STDS)
    imgs = images(rng, [(60, 80), (72, 56)])
    with torch.no_grad():
        expected = run(torch, tmodel, imgs)
    with jtorch.no_grad():
        got = run(jtorch, jmodel, imgs)
    assert all(len(e["scores"]) == 12 for e in expected)
    same_detections(got, expected)


def test_train_losses_and_grads_match_torchvision(rng, no_random_init):
    """Boxes of several sizes (so several levels get foreground), one image without objects."""
    tmodel, jmodel = _pair()
    tmodel.train(), jmodel.train()
    copy_weights(tmodel, jmodel, rng, STDS)
    sizes = [(64, 96), (48, 56)]
    imgs = images(rng, sizes)
    boxes = np.array([[4, 6, 20, 18], [10, 8, 70, 60], [30, 2, 62, 40], [0, 0, 96, 64]], np.float32)
    boxes[:, :2] += rng.uniform(0, 2, (4, 2)).astype(np.float32)
    tgts = [{"boxes": boxes, "labels": rng.integers(1, 4, 4)},
            {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros((0,), np.int64)}]
    expected = run(torch, tmodel, imgs, tgts)
    sum(expected.values()).backward()  # before jtorch's forward: torch's graph freed first (peak memory)
    got = run(jtorch, jmodel, imgs, tgts)
    same_losses(got, expected, ["classification", "bbox_regression", "bbox_ctrness"])
    sum(got.values()).backward()
    same_grads(jmodel, tmodel, ("head", "backbone.fpn"))
    assert frozen(jmodel) == frozen(tmodel) == []


def test_matching_matches_torchvision(rng):
    """The location -> box assignment on its own: centre sampling, level ranges, smallest area."""
    tm = TD.FCOS(TD.backbone_utils.resnet_fpn_backbone(backbone_name="resnet18", weights=None), 3)
    jm = JD.FCOS(JD.backbone_utils.resnet_fpn_backbone(backbone_name="resnet18", weights=None), 3)
    per_level = [64, 16, 4]
    anchors = []
    for side, stride in zip((8, 4, 2), (8, 16, 32)):
        c = (np.arange(side) * stride).astype(np.float32)
        y, x = np.meshgrid(c, c, indexing="ij")
        anchors.append(np.stack([x - stride / 2, y - stride / 2, x + stride / 2, y + stride / 2], -1).reshape(-1, 4))
    anchors = np.concatenate(anchors)
    a = rng.uniform(0, 40, (6, 2))
    gt = np.concatenate([a, a + rng.uniform(4, 60, (6, 2))], 1).astype(np.float32)
    gt[5] = gt[4]  # a duplicate: same area, the first one wins
    captured = {}
    tm.head.compute_loss = lambda t, h, a, m: captured.setdefault("t", m)
    jm.head.compute_loss = lambda t, h, a, m: captured.setdefault("j", m)
    tm.compute_loss([{"boxes": torch.from_numpy(gt)}], None, [torch.from_numpy(anchors)], per_level)
    jm.compute_loss([{"boxes": jtorch.from_numpy(gt)}], None, [jtorch.from_numpy(anchors)], per_level)
    assert (captured["t"][0] >= 0).sum() > 5
    assert_close(captured["j"][0], captured["t"][0])


def test_weights_enum_and_builder_rules():
    j, t = JD.FCOS_ResNet50_FPN_Weights, TD.FCOS_ResNet50_FPN_Weights
    assert [m.name for m in j] == [m.name for m in t]
    assert repr(j.DEFAULT) == repr(t.DEFAULT) and j.DEFAULT.url == t.DEFAULT.url
    assert j.DEFAULT.meta == {k: v for k, v in t.DEFAULT.meta.items() if k != "_docs"}
    assert JM.get_model_weights("fcos_resnet50_fpn") is j
    with pytest.raises(ValueError, match="num_classes"):
        JD.fcos_resnet50_fpn(weights="DEFAULT", num_classes=3)
    backbone = JD.backbone_utils.resnet_fpn_backbone(backbone_name="resnet18", weights=None)
    with pytest.raises(ValueError, match="num_anchors_per_location"):
        JD.FCOS(backbone, 3, anchor_generator=JD.anchor_utils.AnchorGenerator(((8, 16),)))
    with pytest.raises(ValueError, match="out_channels"):
        JD.FCOS(jtorch.nn.ReLU(), 3)
    m = JD.FCOS(backbone, 3, score_thresh=0.3, center_sampling_radius=2.0)
    assert m.score_thresh == 0.3 and m.center_sampling_radius == 2.0 and m.nms_thresh == 0.6
    head = JD.fcos.FCOSHead(64, 1, 5)
    assert_close(head.classification_head.cls_logits.bias, torch.full((5,), -np.log(99.0), dtype=torch.float32))


def test_pretrained_from_hub_cache(tmp_path, monkeypatch, no_random_init):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    weights = JD.FCOS_ResNet50_FPN_Weights.COCO_V1
    torch.manual_seed(1)
    state = TD.fcos_resnet50_fpn(weights_backbone=None).state_dict()
    torch.save(state, ckpt / os.path.basename(weights.url))  # checked against its hash only when downloaded
    model = JD.fcos_resnet50_fpn(weights=weights)
    assert_close(model.head.regression_head.bbox_reg.weight, state["head.regression_head.bbox_reg.weight"])
    assert frozen(model)[0] == "backbone.body.conv1.weight"  # pretrained: the first stages frozen

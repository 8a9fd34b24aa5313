"""jtorch.vision.models.detection RetinaNet against torchvision 0.28 (its Python model code, with
the greedy pure-torch nms of onestage_oracle.py): state_dict layout, eval detections, the
training losses and head gradients, the v1 checkpoint format, the builders' rules."""
import os

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
from model_oracle import copy_weights, no_random_init, on_meta, shapes  # noqa: F401
from onestage_oracle import (frozen, images, run, same_detections, same_grads, same_losses, targets,  # noqa: F401
                             torch_reference_nms, tv)

TD = tv.models.detection
JD = JM.detection
SMALL = dict(min_size=64, max_size=96, weights_backbone=None, num_classes=4)
# the head towers at He scale (torchvision's 0.01 init shrinks the features to near-constant
# scores); the output layers scaled for logits about one unit and box deltas about 0.1 (v1's
# features are in the hundreds: random batch-norm statistics and no norm in its head)
TOWERS = {"head.classification_head.conv": 0.03, "head.regression_head.conv": 0.03}
STDS = {"retinanet_resnet50_fpn": {**TOWERS, "cls_logits": 4e-4, "bbox_reg": 2e-5},
        "retinanet_resnet50_fpn_v2": {**TOWERS, "cls_logits": 0.03, "bbox_reg": 0.002}}


def _pair(name, **kwargs):
    kwargs = {**SMALL, **kwargs}
    torch.manual_seed(0)
    tmodel = getattr(TD, name)(**kwargs)
    jmodel = getattr(JD, name)(**kwargs)
    assert shapes(jmodel) == shapes(tmodel)
    return tmodel, jmodel


@pytest.mark.parametrize("name", ["retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2"])
def test_eval_detections_match_torchvision(rng, name, no_random_init):
    tmodel, jmodel = _pair(name, score_thresh=0.3, detections_per_img=12, topk_candidates=50)
    tmodel.eval(), jmodel.eval()
    copy_weights(tmodel, jmodel, rng, STDS[name])
    imgs = images(rng, [(60, 80), (72, 56)])
    with torch.no_grad():
        expected = run(torch, tmodel, imgs)
    with jtorch.no_grad():
        got = run(jtorch, jmodel, imgs)
    assert all(len(e["scores"]) == 12 for e in expected)
    same_detections(got, expected)


@pytest.mark.parametrize("name", ["retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2"])
def test_train_losses_and_grads_match_torchvision(rng, name, no_random_init):
    """The focal and box losses (L1 for v1, GIoU for v2), an image without objects among them,
    and the gradients of the heads and the FPN."""
    tmodel, jmodel = _pair(name)
    tmodel.train(), jmodel.train()
    copy_weights(tmodel, jmodel, rng, STDS[name])
    sizes = [(60, 80), (48, 56)]
    imgs, tgts = images(rng, sizes), targets(rng, sizes, n=3)
    tgts[1] = {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros((0,), np.int64)}
    expected = run(torch, tmodel, imgs, tgts)
    sum(expected.values()).backward()  # before jtorch's forward: torch's graph freed first (peak memory)
    got = run(jtorch, jmodel, imgs, tgts)
    same_losses(got, expected, ["classification", "bbox_regression"])
    sum(got.values()).backward()
    same_grads(jmodel, tmodel, ("head",))
    # v1's features are in the hundreds (no norm in its head): ReLU kinks of the four-conv towers
    # within float32 rounding flip more of the FPN's gradient than of the head's
    same_grads(jmodel, tmodel, ("backbone.fpn",), rel=5e-2)
    assert frozen(jmodel) == frozen(tmodel) == []


def test_parts_and_v1_checkpoint_keys(rng, no_random_init):
    """The head on its own, and a version-1 state_dict (bare convs at conv.0, conv.2, ...) loads."""
    th = TD.retinanet.RetinaNetHead(8, 3, 5)
    jh = JD.retinanet.RetinaNetHead(8, 3, 5)
    assert shapes(jh) == shapes(th)
    copy_weights(th, jh, rng, {"": 0.2})
    feats = [rng.normal(size=(2, 8, 6, 5)).astype(np.float32), rng.normal(size=(2, 8, 3, 3)).astype(np.float32)]
    with torch.no_grad():
        expected = th([torch.from_numpy(f) for f in feats])
    got = jh([jtorch.from_numpy(f) for f in feats])
    assert tuple(got["cls_logits"].shape) == (2, (30 + 9) * 3, 5)
    for k in ("cls_logits", "bbox_regression"):
        assert_close(got[k], expected[k], rtol=1e-4, atol=1e-5)
    old = {}
    for k, v in jh.state_dict().items():
        parts = k.split(".")
        if len(parts) == 5 and parts[1] == "conv":  # <head>.conv.<i>.0.<kind> -> <head>.conv.<2i>.<kind>
            k = f"{parts[0]}.conv.{2 * int(parts[2])}.{parts[4]}"
        old[k] = v
    fresh = JD.retinanet.RetinaNetHead(8, 3, 5)
    fresh.load_state_dict(old)  # no version metadata: read as version 1
    for (k, a), b in zip(fresh.state_dict().items(), jh.state_dict().values()):
        assert np.array_equal(np.asarray(a), np.asarray(b)), k


def test_head_init_matches_torchvision():
    """The logits' bias starts at the foreground prior, the towers' biases at zero."""
    th, jh = TD.retinanet.RetinaNetHead(8, 3, 5), JD.retinanet.RetinaNetHead(8, 3, 5)
    for name, p in th.state_dict().items():
        if name.endswith("bias"):
            assert_close(jh.state_dict()[name], p)
    w = np.asarray(jh.regression_head.conv[0][0].weight)
    assert abs(w.std() - 0.01) < 0.002


def test_weights_enums_and_builder_rules(on_meta):
    for n in ("RetinaNet_ResNet50_FPN_Weights", "RetinaNet_ResNet50_FPN_V2_Weights"):
        j, t = getattr(JD, n), getattr(TD, n)
        assert [m.name for m in j] == [m.name for m in t]
        assert repr(j.DEFAULT) == repr(t.DEFAULT) and j.DEFAULT.url == t.DEFAULT.url
        assert j.DEFAULT.meta == {k: v for k, v in t.DEFAULT.meta.items() if k != "_docs"}
        assert repr(j.DEFAULT.transforms()) == "ObjectDetection()"
    assert JM.get_model_weights("retinanet_resnet50_fpn_v2") is JD.RetinaNet_ResNet50_FPN_V2_Weights
    assert "retinanet_resnet50_fpn" in JM.list_models(JD)
    with pytest.raises(ValueError, match="num_classes"):
        JD.retinanet_resnet50_fpn(weights="DEFAULT", num_classes=3)
    with pytest.raises(ValueError, match="out_channels"):
        JD.RetinaNet(jtorch.nn.ReLU(), num_classes=3)
    with pytest.raises(TypeError, match="anchor_generator"):
        JD.RetinaNet(JD.backbone_utils.resnet_fpn_backbone(backbone_name="resnet18", weights=None), 3,
                     anchor_generator=object())
    with pytest.warns(UserWarning, match="trainable_backbone_layers"):
        JD.retinanet_resnet50_fpn(weights_backbone=None, trainable_backbone_layers=2)
    m = JD.retinanet_resnet50_fpn_v2(num_classes=3, detections_per_img=7, min_size=100)
    assert m.detections_per_img == 7 and m.transform.min_size == (100,)
    assert m.head.regression_head._loss_type == "giou"


def test_pretrained_from_hub_cache(tmp_path, monkeypatch, rng, no_random_init):
    """weights=COCO_V1 loads torchvision's checkpoint file from the hub cache (no download), and
    the v1 model gets FrozenBatchNorm eps 0 as torchvision's."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    weights = JD.RetinaNet_ResNet50_FPN_Weights.COCO_V1
    torch.manual_seed(1)
    state = TD.retinanet_resnet50_fpn(weights_backbone=None).state_dict()
    torch.save(state, ckpt / os.path.basename(weights.url))  # checked against its hash only when downloaded
    model = JD.retinanet_resnet50_fpn(weights=weights)
    assert len(model.head.classification_head.cls_logits.bias) == 9 * 91
    assert_close(model.head.classification_head.cls_logits.weight, state["head.classification_head.cls_logits.weight"])
    eps = {m.eps for m in model.modules() if isinstance(m, JM.detection.retinanet.misc_nn_ops.FrozenBatchNorm2d)}
    assert eps == {0.0}

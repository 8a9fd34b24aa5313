"""jtorch.vision.models.detection SSD (ssd300_vgg16) against torchvision 0.28 (its Python model
code, with the greedy pure-torch nms of onestage_oracle.py): state_dict layout, eval detections,
the losses with hard-negative mining and gradients, the parts, the builder's rules and its
checkpoint from the hub cache. The model's input size is fixed at 300 px."""
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
STDS = {"classification_head": 0.01, "regression_head": 0.002}


def _pair(**kwargs):
    kwargs = {"weights_backbone": None, "num_classes": 4, **kwargs}
    torch.manual_seed(0)
    tmodel, jmodel = TD.ssd300_vgg16(**kwargs), JD.ssd300_vgg16(**kwargs)
    assert shapes(jmodel) == shapes(tmodel)
    return tmodel, jmodel


def test_eval_detections_match_torchvision(rng, no_random_init):
    tmodel, jmodel = _pair(score_thresh=0.4, detections_per_img=10, topk_candidates=30)
    tmodel.eval(), jmodel.eval()
    copy_weights(tmodel, jmodel, rng, STDS)
    imgs = images(rng, [(60, 80), (72, 56)])
    with torch.no_grad():
        expected = run(torch, tmodel, imgs)
    with jtorch.no_grad():
        got = run(jtorch, jmodel, imgs)
    assert all(len(e["scores"]) == 10 for e in expected)
    same_detections(got, expected)


def test_train_losses_and_grads_match_torchvision(rng, no_random_init):
    """One image with boxes, one without (its negatives are not mined: no positives)."""
    tmodel, jmodel = _pair()
    tmodel.train(), jmodel.train()
    copy_weights(tmodel, jmodel, rng, STDS)
    for model in (tmodel, jmodel):  # VGG up to conv4_3 frozen: its 300 px backward is most of the peak memory
        model.backbone.features.requires_grad_(False)
    sizes = [(60, 80), (48, 56)]
    imgs, tgts = images(rng, sizes), targets(rng, sizes, n=3)
    tgts[1] = {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros((0,), np.int64)}
    expected = run(torch, tmodel, imgs, tgts)
    sum(expected.values()).backward()  # before jtorch's forward: torch's graph freed first (peak memory)
    got = run(jtorch, jmodel, imgs, tgts)
    same_losses(got, expected, ["bbox_regression", "classification"])
    sum(got.values()).backward()
    same_grads(jmodel, tmodel, ("head", "backbone.extra.1", "backbone.scale_weight"))
    assert frozen(jmodel) == frozen(tmodel)


def test_parts_match_torchvision(rng):
    """DefaultBoxGenerator (with and without steps / clip) and the head on their own."""
    from torchvision.models.detection.image_list import ImageList as TImageList
    from jtorch.vision.models.detection.image_list import ImageList
    feats = [rng.normal(size=(1, 8, 6, 6)).astype(np.float32), rng.normal(size=(1, 16, 3, 3)).astype(np.float32)]
    img = np.zeros((1, 3, 48, 48), np.float32)
    for kw in (dict(steps=[8, 16]), dict(clip=False, min_ratio=0.3, max_ratio=0.95)):
        tgen = TD.anchor_utils.DefaultBoxGenerator([[2], [2, 3]], **kw)
        jgen = JD.anchor_utils.DefaultBoxGenerator([[2], [2, 3]], **kw)
        assert repr(jgen) == repr(tgen) and jgen.num_anchors_per_location() == [4, 6]
        expected = tgen(TImageList(torch.from_numpy(img), [(48, 48)]), [torch.from_numpy(f) for f in feats])
        got = jgen(ImageList(jtorch.from_numpy(img), [(48, 48)]), [jtorch.from_numpy(f) for f in feats])
        assert_close(got[0], expected[0], rtol=1e-5, atol=1e-4)
    th, jh = TD.ssd.SSDHead([8, 16], [4, 6], 3), JD.ssd.SSDHead([8, 16], [4, 6], 3)
    assert shapes(jh) == shapes(th)
    copy_weights(th, jh, rng, {"": 0.2})
    with torch.no_grad():
        expected = th([torch.from_numpy(f) for f in feats])
    got = jh([jtorch.from_numpy(f) for f in feats])
    assert list(got) == list(expected)
    for k in expected:
        assert_close(got[k], expected[k], rtol=1e-4, atol=1e-5)


def test_weights_enum_and_builder_rules(on_meta):
    j, t = JD.SSD300_VGG16_Weights, TD.SSD300_VGG16_Weights
    assert [m.name for m in j] == [m.name for m in t]
    assert repr(j.DEFAULT) == repr(t.DEFAULT) and j.DEFAULT.url == t.DEFAULT.url
    assert j.DEFAULT.meta == {k: v for k, v in t.DEFAULT.meta.items() if k != "_docs"}
    assert JM.get_model_weights("ssd300_vgg16") is j
    with pytest.raises(ValueError, match="num_classes"):
        JD.ssd300_vgg16(weights="DEFAULT", num_classes=3)
    with pytest.warns(UserWarning, match="size of the model is already fixed"):
        m = JD.ssd300_vgg16(weights_backbone=None, size=(200, 200))
    assert m.transform.fixed_size == (300, 300) and m.transform.image_std == [1.0 / 255.0] * 3
    assert abs(m.neg_to_pos_ratio - 3.0) < 1e-12
    # the feature extractor's frozen layers with pretrained backbone weights (default 4 trainable)
    jb = JD.ssd._vgg_extractor(JM.vgg16(), False, 2)
    tb = TD.ssd._vgg_extractor(tv.models.vgg16(), False, 2)
    assert frozen(jb) == frozen(tb) and len(frozen(jb)) > 0
    with pytest.raises(ValueError, match="aspect ratios"):
        JD.SSD(jb, JD.anchor_utils.DefaultBoxGenerator([[2]]), (300, 300), 3)


def test_pretrained_from_hub_cache(tmp_path, monkeypatch, no_random_init):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    weights = JD.SSD300_VGG16_Weights.COCO_V1
    torch.manual_seed(1)
    state = TD.ssd300_vgg16(weights_backbone=None).state_dict()
    torch.save(state, ckpt / os.path.basename(weights.url))  # checked against its hash only when downloaded
    model = JD.ssd300_vgg16(weights=weights)
    assert_close(model.backbone.scale_weight, state["backbone.scale_weight"])
    assert_close(model.head.classification_head.module_list[5].weight,
                 state["head.classification_head.module_list.5.weight"])

"""jtorch.vision.models.detection SSDlite (ssdlite320_mobilenet_v3_large) against torchvision 0.28
(its Python model code, with the greedy pure-torch nms of onestage_oracle.py): state_dict layout,
eval detections, the losses and gradients, the builder's rules and its checkpoint from the hub
cache. The model's input size is fixed at 320 px."""
import os

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

# after _he_init: the heads' last 1x1 convs scaled for logits about 1.5 and deltas about 0.3
SCORES = {r"classification_head\.module_list\.\d\.1\.": 0.02, r"regression_head\.module_list\.\d\.1\.": 0.005}


def _he_init(model, rng):
    """Every conv at He scale: with torchvision's N(0, 0.03) the deep maps fade to their biases,
    constant over the locations, and equal scores at different boxes make the order arbitrary."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.from_numpy(rng.normal(0, (2.0 / fan_in) ** 0.5, m.weight.shape)))


def _pair(**kwargs):
    kwargs = {"weights_backbone": None, "num_classes": 4, **kwargs}
    torch.manual_seed(0)
    tmodel, jmodel = TD.ssdlite320_mobilenet_v3_large(**kwargs), JD.ssdlite320_mobilenet_v3_large(**kwargs)
    assert shapes(jmodel) == shapes(tmodel)
    return tmodel, jmodel


def test_eval_detections_match_torchvision(rng, no_random_init):
    tmodel, jmodel = _pair(score_thresh=0.5, detections_per_img=10, topk_candidates=30)
    tmodel.eval(), jmodel.eval()
    _he_init(tmodel, rng)
    copy_weights(tmodel, jmodel, rng, SCORES)
    imgs = images(rng, [(60, 80), (72, 56)])
    with torch.no_grad():
        expected = run(torch, tmodel, imgs)
    with jtorch.no_grad():
        got = run(jtorch, jmodel, imgs)
    assert all(len(e["scores"]) == 10 for e in expected)
    same_detections(got, expected)


def test_train_losses_and_grads_match_torchvision(rng, no_random_init):
    """Batch statistics in the norms, the losses, and the head / extra-layer gradients."""
    tmodel, jmodel = _pair()
    tmodel.train(), jmodel.train()
    _he_init(tmodel, rng)
    copy_weights(tmodel, jmodel, rng, SCORES)
    sizes = [(60, 80), (48, 56)]
    imgs, tgts = images(rng, sizes), targets(rng, sizes, n=3)
    expected = run(torch, tmodel, imgs, tgts)
    sum(expected.values()).backward()  # before jtorch's forward: torch's graph freed first (peak memory)
    got = run(jtorch, jmodel, imgs, tgts)
    same_losses(got, expected, ["bbox_regression", "classification"])
    sum(got.values()).backward()
    same_grads(jmodel, tmodel, ("head", "backbone.extra", "backbone.features.1"))
    assert frozen(jmodel) == frozen(tmodel) == []
    jbn = dict(jmodel.named_buffers())
    for name, b in tmodel.named_buffers():
        if name.endswith("running_mean"):
            assert_close(jbn[name], b, rtol=1e-3, atol=1e-4)


def test_weights_enum_and_builder_rules(on_meta):
    j, t = JD.SSDLite320_MobileNet_V3_Large_Weights, TD.SSDLite320_MobileNet_V3_Large_Weights
    assert [m.name for m in j] == [m.name for m in t]
    assert repr(j.DEFAULT) == repr(t.DEFAULT) and j.DEFAULT.url == t.DEFAULT.url
    assert j.DEFAULT.meta == {k: v for k, v in t.DEFAULT.meta.items() if k != "_docs"}
    assert JM.get_model_weights("ssdlite320_mobilenet_v3_large") is j
    with pytest.raises(ValueError, match="num_classes"):
        JD.ssdlite320_mobilenet_v3_large(weights="DEFAULT", num_classes=3)
    with pytest.warns(UserWarning, match="size of the model is already fixed"):
        m = JD.ssdlite320_mobilenet_v3_large(weights_backbone=None, size=(200, 200))
    assert m.transform.fixed_size == (320, 320) and m.score_thresh == 0.001 and m.detections_per_img == 300
    with pytest.raises(ValueError, match="use_res_connect"):
        JD.ssdlite.SSDLiteFeatureExtractorMobileNet(JM.mobilenet_v3_large().features, 1, jtorch.nn.BatchNorm2d)
    # pretrained backbone: full tail, and the frozen stages as torchvision's
    kw = dict(weights_backbone=None, trainable_backbone_layers=3)
    with pytest.warns(UserWarning, match="trainable_backbone_layers"):
        m = JD.ssdlite320_mobilenet_v3_large(**kw)
    jb = JD.ssdlite._mobilenet_extractor(JM.mobilenet_v3_large(), 3, jtorch.nn.BatchNorm2d)
    tb = TD.ssdlite._mobilenet_extractor(tv.models.mobilenet_v3_large(), 3, torch.nn.BatchNorm2d)
    assert shapes(jb) == shapes(tb) and frozen(jb) == frozen(tb) and len(frozen(jb)) > 0


def test_pretrained_from_hub_cache(tmp_path, monkeypatch, no_random_init):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    weights = JD.SSDLite320_MobileNet_V3_Large_Weights.COCO_V1
    torch.manual_seed(1)
    state = TD.ssdlite320_mobilenet_v3_large(weights_backbone=None).state_dict()
    torch.save(state, ckpt / os.path.basename(weights.url))  # checked against its hash only when downloaded
    model = JD.ssdlite320_mobilenet_v3_large(weights=weights)
    key = "head.regression_head.module_list.2.1.weight"
    assert_close(dict(model.named_parameters())[key], state[key])

"""jtorch.vision.models.segmentation against torchvision: same state_dict names and shapes, and
the same weights give the same 'out' / 'aux' maps in eval and in train mode (batch statistics,
running-stat updates); weights enums, the builders' argument rules, checkpoints from the hub cache."""
import os

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
from model_oracle import copy_weights, no_dropout, no_random_init, on_meta, randomize, shapes  # noqa: F401
from tv import torchvision

tv = torchvision()
TS = tv.models.segmentation
JS = JM.segmentation


# (builder, its keyword arguments, and those of a second build without the aux head or None): the
# second model runs the same layers at the same shapes, so it costs the first one's compiles once
CASES = [("fcn_resnet50", {"aux_loss": True}, {"num_classes": 5}),
         ("deeplabv3_resnet50", {"aux_loss": True, "num_classes": 4}, None),
         ("deeplabv3_mobilenet_v3_large", {"aux_loss": True}, {}),
         ("lraspp_mobilenet_v3_large", {"num_classes": 3}, None)]


def _same_maps_eval_and_train(tmodel, jmodel, x):
    tmodel.eval(), jmodel.eval()
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    assert list(got) == list(expected)
    for key in expected:
        assert tuple(got[key].shape) == tuple(expected[key].shape)
        assert_close(got[key], expected[key], rtol=1e-3, atol=1e-4)
    # train mode: batch statistics, and the running statistics they update
    tmodel.train(), jmodel.train()
    no_dropout(tmodel, jmodel)
    expected = tmodel(torch.from_numpy(x))
    got = jmodel(jtorch.from_numpy(x))
    for key in expected:
        assert_close(got[key], expected[key].detach(), rtol=1e-3, atol=1e-3)
    jstate = jmodel.state_dict()
    for k, v in tmodel.state_dict().items():
        if "running" in k:
            assert_close(jstate[k], v, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name,kwargs,plain", CASES, ids=[n for n, _, _ in CASES])
def test_forward_matches_torchvision(rng, name, kwargs, plain, no_random_init):
    x = rng.normal(size=(2, 3, 64, 72)).astype(np.float32)
    for kw in [kwargs] + ([] if plain is None else [plain]):
        kw = dict(kw, weights_backbone=None)
        torch.manual_seed(0)
        tmodel = getattr(TS, name)(**kw)
        jmodel = getattr(JS, name)(**kw)
        assert shapes(jmodel) == shapes(tmodel)
        assert type(jmodel).__name__ == type(tmodel).__name__
        copy_weights(tmodel, jmodel, rng)
        _same_maps_eval_and_train(tmodel, jmodel, x)


def test_train_step_gradients(rng, no_random_init):
    """A cross-entropy step on 'out' + 0.5 'aux' gives torchvision's gradients. In float64: in float32
    the rounding through train-mode batch norms of 2x6x6 values flips ReLU kinks and reaches
    1% of the deep gradients (torch float32 against torch float64 alike)."""
    torch.manual_seed(0)
    tmodel = TS.fcn_resnet50(weights_backbone=None, aux_loss=True, num_classes=3).train()
    jmodel = JS.fcn_resnet50(weights_backbone=None, aux_loss=True, num_classes=3).train()
    copy_weights(tmodel, jmodel, rng)
    tmodel.double(), jmodel.double()
    no_dropout(tmodel, jmodel)
    x = rng.normal(size=(2, 3, 48, 48))
    y = rng.integers(0, 3, (2, 48, 48))
    losses = []
    for lib, model in ((torch, tmodel), (jtorch, jmodel)):
        out = model(lib.from_numpy(x))
        target = lib.from_numpy(y)
        loss = lib.nn.functional.cross_entropy(out["out"], target) + 0.5 * lib.nn.functional.cross_entropy(
            out["aux"], target)
        loss.backward()
        losses.append(loss.item())
    assert abs(losses[0] - losses[1]) < 1e-9 * abs(losses[0])
    jgrads = dict(jmodel.named_parameters())
    for name, p in tmodel.named_parameters():
        assert jgrads[name].grad.dtype == jtorch.float64
        assert_close(jgrads[name].grad, p.grad, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["fcn_resnet101", "deeplabv3_resnet101"])
def test_state_dict_keys_and_shapes(name):
    for kwargs in ({}, {"aux_loss": True}):
        with torch.device("meta"), jtorch.device("meta"):  # names and shapes only: no memory, no init
            assert shapes(getattr(JS, name)(weights_backbone=None, **kwargs)) == shapes(
                getattr(TS, name)(weights_backbone=None, **kwargs))


def test_intermediate_layer_getter(rng, no_random_init):
    from jtorch.vision.models._utils import IntermediateLayerGetter
    from torchvision.models._utils import IntermediateLayerGetter as TGetter
    torch.manual_seed(0)
    tnet = tv.models.resnet18().eval()
    jnet = JM.resnet18().eval()
    copy_weights(tnet, jnet, rng)
    tget = TGetter(tnet, {"layer1": "feat1", "layer3": "feat2"})
    jget = IntermediateLayerGetter(jnet, {"layer1": "feat1", "layer3": "feat2"})
    assert list(dict(jget.named_children())) == list(dict(tget.named_children()))  # layer4, avgpool, fc dropped
    x = rng.normal(size=(1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = tget(torch.from_numpy(x))
    got = jget(jtorch.from_numpy(x))
    assert list(got) == ["feat1", "feat2"]
    for k in expected:
        assert_close(got[k], expected[k], rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="return_layers are not present"):
        IntermediateLayerGetter(jnet, {"layer1.0": "x"})


def test_weights_enums_and_builder_rules(on_meta):
    pairs = [(JS.FCN_ResNet50_Weights, TS.FCN_ResNet50_Weights), (JS.FCN_ResNet101_Weights, TS.FCN_ResNet101_Weights),
             (JS.DeepLabV3_ResNet50_Weights, TS.DeepLabV3_ResNet50_Weights),
             (JS.DeepLabV3_ResNet101_Weights, TS.DeepLabV3_ResNet101_Weights),
             (JS.DeepLabV3_MobileNet_V3_Large_Weights, TS.DeepLabV3_MobileNet_V3_Large_Weights),
             (JS.LRASPP_MobileNet_V3_Large_Weights, TS.LRASPP_MobileNet_V3_Large_Weights)]
    for j, t in pairs:
        assert [m.name for m in j] == [m.name for m in t]
        assert repr(j.DEFAULT) == repr(t.DEFAULT)
        assert j.DEFAULT.url == t.DEFAULT.url
        meta_t = {k: v for k, v in t.DEFAULT.meta.items() if k != "_docs"}
        assert j.DEFAULT.meta == meta_t
        assert repr(j.DEFAULT.transforms()) == repr(t.DEFAULT.transforms())
    assert JM.list_models(JS) == tv.models.list_models(TS)
    assert JM.get_weight("DeepLabV3_ResNet50_Weights.DEFAULT") is JS.DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1
    assert JM.get_model_weights("lraspp_mobilenet_v3_large") is JS.LRASPP_MobileNet_V3_Large_Weights
    with pytest.raises(NotImplementedError, match="auxiliary loss"):
        JS.lraspp_mobilenet_v3_large(weights_backbone=None, aux_loss=True)
    with pytest.raises(ValueError, match="num_classes"):
        JS.fcn_resnet50(weights="DEFAULT", num_classes=5)
    with pytest.raises(ValueError, match="aux_loss"):
        JS.deeplabv3_resnet50(weights="DEFAULT", aux_loss=False)
    with pytest.raises(TypeError):
        JS.fcn_resnet50(weights_backbone=JM.ResNet18_Weights.DEFAULT)
    with pytest.warns(UserWarning, match="'pretrained_backbone' is deprecated"):
        m = JS.fcn_resnet50(pretrained_backbone=False)
    assert m.aux_classifier is None and m.classifier[4].out_channels == 21


def test_segmentation_preset(rng):
    from PIL import Image
    jt, tt = JS.FCN_ResNet50_Weights.DEFAULT.transforms(), TS.FCN_ResNet50_Weights.DEFAULT.transforms()
    img = Image.fromarray(rng.integers(0, 256, (120, 90, 3), dtype=np.uint8))
    assert_close(jt(img), tt(img), atol=1e-5)
    a = rng.integers(0, 256, (3, 40, 50), dtype=np.uint8)
    out_j, out_t = jt(jtorch.from_numpy(a.copy())), tt(torch.from_numpy(a.copy()))
    assert tuple(out_j.shape) == tuple(out_t.shape) == (3, 520, 650)
    assert np.abs(np.asarray(out_j) - out_t.numpy()).max() <= 1.01 / 255 / 0.224


def test_pretrained_from_hub_cache(tmp_path, monkeypatch, rng, no_random_init):
    """weights=... loads torchvision's checkpoint format (with the aux head) from the hub cache."""
    torch.manual_seed(1)
    tmodel = TS.lraspp_mobilenet_v3_large(weights_backbone=None).eval()
    randomize(tmodel, rng)
    url = JS.LRASPP_MobileNet_V3_Large_Weights.DEFAULT.url
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(tmodel.state_dict(), tmp_path / "hub" / "checkpoints" / os.path.basename(url))
    jmodel = JS.lraspp_mobilenet_v3_large(weights="DEFAULT").eval()
    x = rng.normal(size=(2, 3, 64, 72)).astype(np.float32)  # test_forward's shape: its compiled programs
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))["out"]
    with jtorch.no_grad():
        assert_close(jmodel(jtorch.from_numpy(x))["out"], expected, rtol=1e-3, atol=1e-4)

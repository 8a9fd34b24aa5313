"""jtorch.vision.models against torchvision: same state_dict keys and shapes, and the same
weights give the same eval-mode outputs; the weights API and hub-cache loading."""
import os
import warnings

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
from tv import torchvision

tv = torchvision()
TM = tv.models


def _copy_weights(tmodel, jmodel, rng):
    """Give the torchvision model random (non-trivial) BN statistics, then copy every
    parameter and buffer into the jtorch model through numpy."""
    with torch.no_grad():
        for name, b in tmodel.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.from_numpy(rng.normal(0, 0.1, b.shape).astype(np.float32)))
            elif name.endswith("running_var"):
                b.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, b.shape).astype(np.float32)))
    state = {k: jtorch.from_numpy(v.detach().numpy().copy()) for k, v in tmodel.state_dict().items()}
    jmodel.load_state_dict(state, strict=True)


def _same_structure(jmodel, tmodel):
    js = {k: tuple(v.shape) for k, v in jmodel.state_dict().items()}
    ts = {k: tuple(v.shape) for k, v in tmodel.state_dict().items()}
    assert list(js) == list(ts)
    assert js == ts


@pytest.mark.parametrize("name", ["resnet18", "vgg11", "mobilenet_v2", "squeezenet1_0", "squeezenet1_1", "alexnet",
                                  "densenet121", "efficientnet_b0"])
def test_forward_matches_torchvision(rng, name):
    kwargs = {"num_classes": 10} if name != "vgg11" else {}
    torch.manual_seed(0)
    tmodel = getattr(TM, name)(**kwargs).eval()
    jmodel = getattr(JM, name)(**kwargs).eval()
    _same_structure(jmodel, tmodel)
    _copy_weights(tmodel, jmodel, rng)
    x = rng.normal(size=(1, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    assert_close(got, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", ["resnet34", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "vgg16_bn",
                                  "vgg13", "vgg19", "densenet161"])
def test_state_dict_keys_and_shapes(name):
    tmodel = getattr(TM, name)()
    jmodel = getattr(JM, name)()
    _same_structure(jmodel, tmodel)
    assert sum(p.numel() for p in jmodel.parameters()) == sum(p.numel() for p in tmodel.parameters())


def test_weights_enum_api():
    w = JM.ResNet18_Weights.DEFAULT
    tw = TM.ResNet18_Weights.DEFAULT
    assert w is JM.ResNet18_Weights.IMAGENET1K_V1
    assert repr(w) == repr(tw) == "ResNet18_Weights.IMAGENET1K_V1"
    assert w.url == tw.url
    assert w.meta["categories"] == tw.meta["categories"] and len(w.meta["categories"]) == 1000
    assert w.meta["num_params"] == tw.meta["num_params"]
    assert JM.ResNet50_Weights.DEFAULT.url == TM.ResNet50_Weights.DEFAULT.url  # V2
    assert JM.get_weight("ResNet50_Weights.IMAGENET1K_V1") is JM.ResNet50_Weights.IMAGENET1K_V1
    assert JM.get_model_weights("resnet18") is JM.ResNet18_Weights
    assert JM.ResNet18_Weights.verify("IMAGENET1K_V1") is w
    with pytest.raises(TypeError):
        JM.ResNet18_Weights.verify(JM.ResNet34_Weights.DEFAULT)
    with pytest.raises(KeyError):
        JM.ResNet18_Weights.verify("NOPE")
    assert set(JM.list_models()) <= set(TM.list_models())
    assert isinstance(JM.get_model("squeezenet1_1", num_classes=7), JM.SqueezeNet)


def test_weights_transforms_preset(rng):
    from PIL import Image
    import jtorch.vision.transforms as JT
    for jw, tw in [(JM.ResNet18_Weights.DEFAULT, TM.ResNet18_Weights.DEFAULT),
                   (JM.EfficientNet_B0_Weights.DEFAULT, TM.EfficientNet_B0_Weights.DEFAULT),
                   (JM.ResNet50_Weights.IMAGENET1K_V2, TM.ResNet50_Weights.IMAGENET1K_V2)]:
        jt, tt = jw.transforms(), tw.transforms()
        assert repr(jt) == repr(tt)
        img = Image.fromarray(rng.integers(0, 256, (300, 270, 3), dtype=np.uint8))
        assert_close(jt(img), tt(img), atol=1e-5)
        a = rng.integers(0, 256, (2, 3, 260, 280), dtype=np.uint8)
        out_j, out_t = jt(jtorch.from_numpy(a.copy())), tt(torch.from_numpy(a.copy()))
        assert tuple(out_j.shape) == tuple(out_t.shape) == (2, 3, 224, 224)
        # uint8 interpolation may round one step differently: 1/255 scaled by 1/std
        assert np.abs(np.asarray(out_j) - out_t.numpy()).max() <= 1.01 / 255 / 0.224
    assert isinstance(JM.ResNet18_Weights.DEFAULT.transforms(), JT._presets.ImageClassification)


def _cache_checkpoint(tmp_path, monkeypatch, tmodel, url):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save(tmodel.state_dict(), ckpt / os.path.basename(url))


def test_pretrained_from_hub_cache(tmp_path, monkeypatch, rng):
    torch.manual_seed(1)
    tmodel = TM.resnet18().eval()
    _copy_bn = {k: v for k, v in tmodel.state_dict().items()}
    assert len(_copy_bn) == 122
    _cache_checkpoint(tmp_path, monkeypatch, tmodel, JM.ResNet18_Weights.IMAGENET1K_V1.url)
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        jmodel = JM.resnet18(pretrained=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jmodel2 = JM.resnet18(weights=JM.ResNet18_Weights.DEFAULT)
        jmodel3 = JM.resnet18(weights="IMAGENET1K_V1")
    x = rng.normal(size=(2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    for m in (jmodel, jmodel2, jmodel3):
        with jtorch.no_grad():
            assert_close(m.eval()(jtorch.from_numpy(x)), expected, rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="num_classes"):
        JM.resnet18(weights="DEFAULT", num_classes=10)
    # pretrained=False: a fresh model, with the deprecation warning only
    with pytest.warns(UserWarning):
        JM.resnet18(pretrained=False)


def test_densenet_legacy_checkpoint_keys(tmp_path, monkeypatch, rng):
    """torchvision's DenseNet files use 'norm.1'-style keys; loading renames them."""
    import re
    torch.manual_seed(2)
    tmodel = TM.densenet121().eval()
    old = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k): v
           for k, v in tmodel.state_dict().items()}
    assert any(".norm.1." in k for k in old)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(old, tmp_path / "hub" / "checkpoints" / os.path.basename(JM.DenseNet121_Weights.DEFAULT.url))
    jmodel = JM.densenet121(weights=JM.DenseNet121_Weights.DEFAULT).eval()
    for k, v in tmodel.state_dict().items():
        np.testing.assert_array_equal(np.asarray(jmodel.state_dict()[k]), v.numpy())

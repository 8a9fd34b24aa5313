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
from model_oracle import built_on_meta, copy_weights, no_random_init  # noqa: F401
from tv import torchvision

tv = torchvision()
TM = tv.models


def _same_structure(jmodel, tmodel):
    js = {k: tuple(v.shape) for k, v in jmodel.state_dict().items()}
    ts = {k: tuple(v.shape) for k, v in tmodel.state_dict().items()}
    assert list(js) == list(ts)
    assert js == ts


@pytest.mark.parametrize("name", ["resnet18", "vgg11", "mobilenet_v2", "squeezenet1_0", "squeezenet1_1", "alexnet",
                                  "densenet121", "efficientnet_b0", "vit_b_16"])
def test_forward_matches_torchvision(rng, name, no_random_init):
    kwargs = {"num_classes": 10} if name != "vgg11" else {}
    if name == "vit_b_16":
        kwargs["image_size"] = 32
    torch.manual_seed(0)
    tmodel = getattr(TM, name)(**kwargs).eval()
    jmodel = built_on_meta(getattr(JM, name), **kwargs).eval()
    _same_structure(jmodel, tmodel)
    copy_weights(tmodel, jmodel, rng)
    side = kwargs.get("image_size", 64)
    x = rng.normal(size=(1, 3, side, side)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    assert_close(got, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", ["resnet34", "resnet50", "resnext50_32x4d", "wide_resnet50_2"])
def test_state_dict_keys_and_shapes(name):
    with torch.device("meta"), jtorch.device("meta"):  # names and shapes only: no memory, no init
        tmodel, jmodel = getattr(TM, name)(), getattr(JM, name)()
    _same_structure(jmodel, tmodel)
    assert sum(p.numel() for p in jmodel.parameters()) == sum(p.numel() for p in tmodel.parameters())


@pytest.mark.parametrize("cfg", ["A", "B", "D", "E"])
def test_vgg_feature_configs(cfg, no_random_init):
    """Every VGG depth, with and without batch norm (the classifier is shared and checked by vgg11)."""
    from jtorch.vision.models.vgg import make_layers
    for bn in (False, True):
        _same_structure(make_layers(JM.vgg.cfgs[cfg], bn), tv.models.vgg.make_layers(tv.models.vgg.cfgs[cfg], bn))


def test_init_statistics():
    """The real initialisation: torchvision's schemes (kaiming fan_out convs, unit BN, ...)."""
    jtorch.manual_seed(0)
    m = JM.resnet18(num_classes=20, zero_init_residual=True)
    w = np.asarray(m.layer3[0].conv1.weight.detach())
    assert abs(w.std() - np.sqrt(2.0 / (256 * 9))) < 0.1 * np.sqrt(2.0 / (256 * 9))
    assert abs(w.mean()) < 0.01
    np.testing.assert_array_equal(np.asarray(m.bn1.weight.detach()), np.ones(64, np.float32))
    np.testing.assert_array_equal(np.asarray(m.bn1.bias.detach()), np.zeros(64, np.float32))
    fc = np.asarray(m.fc.weight.detach())
    assert np.abs(fc).max() <= 1 / np.sqrt(512) and fc.std() > 0.01  # Linear's default uniform
    assert float(m.layer1[0].bn2.weight.abs().sum()) == 0.0  # zero_init_residual
    assert float(m.layer1[0].bn1.weight.abs().sum()) == 64.0


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


def test_pretrained_from_hub_cache(tmp_path, monkeypatch, rng, no_random_init):
    torch.manual_seed(1)
    tmodel = TM.resnet18().eval()
    _copy_bn = {k: v for k, v in tmodel.state_dict().items()}
    assert len(_copy_bn) == 122
    _cache_checkpoint(tmp_path, monkeypatch, tmodel, JM.ResNet18_Weights.IMAGENET1K_V1.url)
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        jmodel = JM.resnet18(pretrained=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jmodel2 = JM.resnet18(weights="IMAGENET1K_V1")
    x = rng.normal(size=(2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    for m in (jmodel, jmodel2):
        with jtorch.no_grad():
            assert_close(m.eval()(jtorch.from_numpy(x)), expected, rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="num_classes"):
        JM.resnet18(weights="DEFAULT", num_classes=10)
    # pretrained=False: a fresh model, with the deprecation warning only
    with pytest.warns(UserWarning):
        JM.resnet18(pretrained=False)


def test_densenet_legacy_checkpoint_keys(tmp_path, monkeypatch, rng, no_random_init):
    """torchvision's DenseNet files use 'norm.1'-style keys; loading renames them."""
    import re
    torch.manual_seed(2)
    tmodel = TM.densenet121().eval()
    # the released files: old names, and no num_batches_tracked (older than that buffer)
    old = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k): v
           for k, v in tmodel.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert any(".norm.1." in k for k in old)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(old, tmp_path / "hub" / "checkpoints" / os.path.basename(JM.DenseNet121_Weights.DEFAULT.url))
    jmodel = JM.densenet121(weights=JM.DenseNet121_Weights.DEFAULT).eval()
    for k, v in tmodel.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            np.testing.assert_array_equal(np.asarray(jmodel.state_dict()[k]), v.numpy())

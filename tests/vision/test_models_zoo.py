"""The second batch of jtorch.vision.models (MobileNetV3, ShuffleNetV2, MNASNet, RegNet, ConvNeXt,
GoogLeNet, Inception v3, EfficientNet B1-B7 / V2, the other ViTs) against torchvision: same
state_dict names and shapes, same eval outputs for the same weights, same weights enums, and
checkpoints in torchvision's format loaded from the hub cache."""
import os
import warnings

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
from model_oracle import built_on_meta, copy_weights as _copy_all, no_random_init, shapes  # noqa: F401
from tv import torchvision

tv = torchvision()
TM = tv.models


def _copy_weights(tmodel, jmodel, rng):
    """Layer scales random too (their 1e-6 init would hide the blocks)."""
    _copy_all(tmodel, jmodel, rng, uniform={"layer_scale$": (0.5, 1.5)})


FORWARD = [
    ("mobilenet_v3_small", {}, 64), ("mobilenet_v3_large", {}, 64),
    ("mobilenet_v3_small", {"width_mult": 0.75, "reduced_tail": True, "dilated": True}, 64),
    ("shufflenet_v2_x0_5", {}, 64), ("mnasnet0_5", {}, 64), ("regnet_y_400mf", {}, 64), ("regnet_x_400mf", {}, 64),
    ("convnext_tiny", {}, 64), ("googlenet", {"init_weights": True}, 64),
    ("googlenet", {"init_weights": True, "aux_logits": False, "transform_input": True}, 64),
    ("inception_v3", {"init_weights": True}, 75), ("inception_v3", {"init_weights": True, "transform_input": True}, 80),
    ("efficientnet_b1", {}, 64), ("efficientnet_v2_s", {}, 64), ("vit_b_32", {"image_size": 64}, 64),
    # 64x64: the 16x16 first stage is padded to 3x3 windows of 7 (8 for v2) and shifted with a mask
    ("swin_t", {}, 64), ("swin_v2_t", {}, 64),
]


@pytest.mark.parametrize("name,kwargs,side", FORWARD, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(FORWARD)])
def test_forward_matches_torchvision(rng, name, kwargs, side, no_random_init):
    kwargs = dict(kwargs, num_classes=10)
    torch.manual_seed(0)
    tmodel = getattr(TM, name)(**kwargs).eval()
    jmodel = built_on_meta(getattr(JM, name), **kwargs).eval()
    assert shapes(jmodel) == shapes(tmodel)
    _copy_weights(tmodel, jmodel, rng)
    x = rng.normal(size=(2, 3, side, side)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    assert_close(got, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", ["mobilenet_v3_large", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
                                  "shufflenet_v2_x2_0", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "regnet_y_800mf",
                                  "regnet_y_1_6gf", "regnet_x_1_6gf", "regnet_x_3_2gf", "efficientnet_b3",
                                  "efficientnet_b5", "convnext_small"])
def test_structure_matches_torchvision(name):
    tmodel = getattr(TM, name)()
    with jtorch.device("meta"):  # names, shapes and settings only: no memory, no init
        jmodel = getattr(JM, name)()
    assert shapes(jmodel) == shapes(tmodel)
    # eps/momentum of every norm layer too (B5+ and V2 use TF-style batch norm)
    tn = [(m.eps, m.momentum) for m in tmodel.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    jn = [(m.eps, m.momentum) for m in jmodel.modules() if isinstance(m, jtorch.nn.BatchNorm2d)]
    assert jn == tn


BIG = ["regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf", "regnet_x_8gf", "regnet_x_16gf",
       "regnet_x_32gf", "regnet_x_400mf", "regnet_x_800mf", "convnext_base", "convnext_large", "efficientnet_b2",
       "efficientnet_b4", "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_m", "efficientnet_v2_l",
       "vit_l_16", "vit_l_32", "vit_h_14", "inception_v3", "googlenet", "swin_s", "swin_b", "swin_v2_s",
       "swin_v2_b", "maxvit_t"]


@pytest.mark.parametrize("name", BIG)
def test_parameter_count_of_big_variants(name):
    """The released checkpoints' parameter counts (torchvision's weights metadata), built on the
    meta device (ViT-H alone has 632M parameters)."""
    kwargs = {"init_weights": False} if name in ("googlenet", "inception_v3") else {}
    if name == "vit_h_14":
        kwargs["image_size"] = 518  # the only released checkpoint's size (its position embedding)
    with jtorch.device("meta"):
        model = getattr(JM, name)(**kwargs)
    if name == "googlenet":
        model.aux1 = model.aux2 = None  # the metadata counts the model without its auxiliary heads
    enum = JM.get_model_weights(name)
    assert sum(p.numel() for p in model.parameters()) == enum.DEFAULT.meta["num_params"]


def test_regnet_block_params_match_torchvision():
    from jtorch.vision.models.regnet import _CONFIGS, BlockParams
    for key, (depth, w_0, w_a, w_m, gw) in _CONFIGS.items():
        se = 0.25 if key.startswith("y") else None
        j = BlockParams.from_init_params(depth=depth, w_0=w_0, w_a=w_a, w_m=w_m, group_width=gw, se_ratio=se)
        t = TM.regnet.BlockParams.from_init_params(depth=depth, w_0=w_0, w_a=w_a, w_m=w_m, group_width=gw,
                                                   se_ratio=se)
        assert vars(j) == vars(t), key
    with pytest.raises(ValueError, match="Invalid RegNet"):
        BlockParams.from_init_params(depth=10, w_0=20, w_a=10.0, w_m=2.0, group_width=8)


NEW_ENUMS = ["MobileNet_V3_Large_Weights", "MobileNet_V3_Small_Weights", "ShuffleNet_V2_X0_5_Weights",
             "ShuffleNet_V2_X1_0_Weights", "ShuffleNet_V2_X1_5_Weights", "ShuffleNet_V2_X2_0_Weights",
             "MNASNet0_5_Weights", "MNASNet0_75_Weights", "MNASNet1_0_Weights", "MNASNet1_3_Weights",
             "ConvNeXt_Tiny_Weights", "ConvNeXt_Small_Weights", "ConvNeXt_Base_Weights", "ConvNeXt_Large_Weights",
             "GoogLeNet_Weights", "Inception_V3_Weights", "ViT_B_32_Weights", "ViT_L_16_Weights", "ViT_L_32_Weights",
             "ViT_H_14_Weights", "Swin_T_Weights", "Swin_S_Weights", "Swin_B_Weights", "Swin_V2_T_Weights",
             "Swin_V2_S_Weights", "Swin_V2_B_Weights", "MaxVit_T_Weights"]
NEW_ENUMS += [f"EfficientNet_B{i}_Weights" for i in range(1, 8)] + [f"EfficientNet_V2_{s}_Weights" for s in "SML"]
NEW_ENUMS += [f"RegNet_{k}_Weights" for k in ("Y_400MF", "Y_800MF", "Y_1_6GF", "Y_3_2GF", "Y_8GF", "Y_16GF",
                                                "Y_32GF", "Y_128GF", "X_400MF", "X_800MF", "X_1_6GF", "X_3_2GF",
                                                "X_8GF", "X_16GF", "X_32GF")]


@pytest.mark.parametrize("enum_name", NEW_ENUMS)
def test_weights_enums_match_torchvision(enum_name):
    je, te = getattr(JM, enum_name), getattr(TM, enum_name)
    assert list(je.__members__) == list(te.__members__)
    assert je.DEFAULT is je[te.DEFAULT.name]
    for key in te.__members__:
        jw, tw = je[key], te[key]
        assert jw.url == tw.url
        assert {k: v for k, v in tw.meta.items() if k != "_docs"} == jw.meta
        assert repr(jw.transforms()) == repr(tw.transforms())


def test_registry_has_the_new_builders():
    names = set(JM.list_models())
    assert names <= set(TM.list_models())
    for n in ("mobilenet_v3_small", "shufflenet_v2_x2_0", "mnasnet1_3", "regnet_y_128gf", "regnet_x_32gf",
              "convnext_large", "googlenet", "inception_v3", "efficientnet_b7", "efficientnet_v2_l", "vit_h_14",
              "swin_v2_b"):
        assert n in names
        assert JM.get_model_weights(n).__name__ == TM.get_model_weights(n).__name__


def _save_checkpoint(tmp_path, monkeypatch, state, url):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True, exist_ok=True)
    torch.save(state, ckpt / os.path.basename(url))


@pytest.mark.parametrize("name,weights", [("mobilenet_v3_small", "IMAGENET1K_V1"), ("shufflenet_v2_x0_5", "DEFAULT"),
                                          ("mnasnet0_5", "DEFAULT"), ("regnet_x_400mf", "IMAGENET1K_V2")])
def test_pretrained_from_hub_cache(tmp_path, monkeypatch, rng, name, weights, no_random_init):
    torch.manual_seed(3)
    tmodel = getattr(TM, name)().eval()
    jenum = JM.get_model_weights(name)
    _save_checkpoint(tmp_path, monkeypatch, tmodel.state_dict(), jenum[weights].url)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jmodel = getattr(JM, name)(weights=weights).eval()
    x = rng.normal(size=(1, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        assert_close(jmodel(jtorch.from_numpy(x)), expected, rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="num_classes"):
        getattr(JM, name)(weights=weights, num_classes=10)


@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_inception_family_pretrained_drops_aux_heads(tmp_path, monkeypatch, rng, name, no_random_init):
    """Checkpoints hold the auxiliary heads; weights= turns on transform_input and drops them
    unless aux_logits=True is asked for, like torchvision."""
    torch.manual_seed(4)
    tmodel = getattr(TM, name)(init_weights=True, aux_logits=True).eval()
    url = JM.get_model_weights(name).DEFAULT.url
    _save_checkpoint(tmp_path, monkeypatch, tmodel.state_dict(), url)
    # googlenet drops the heads unless aux_logits=True; inception_v3 keeps them (and, like torchvision,
    # refuses aux_logits=False with weights)
    jmodel = getattr(JM, name)(weights="DEFAULT").eval()
    tref = getattr(TM, name)(weights=None, init_weights=False, transform_input=True, aux_logits=True)
    tref.load_state_dict(tmodel.state_dict())
    assert jmodel.transform_input and jmodel.aux_logits == (name == "inception_v3")
    keep = name == "inception_v3"
    assert shapes(jmodel) == [s for s in shapes(tref) if keep or not s[0].startswith("aux")]
    if name == "inception_v3":
        for builder in (TM.inception_v3, JM.inception_v3):
            with pytest.raises(ValueError, match="aux_logits"):
                builder(weights="DEFAULT", aux_logits=False)
    side = 80
    x = rng.normal(size=(1, 3, side, side)).astype(np.float32)
    with torch.no_grad():
        expected = tref.eval()(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    # untrained weights without normalising statistics make large logits: compare relative to their scale
    assert_close(got, expected, rtol=1e-3, atol=1e-4 * float(expected.abs().max()))
    if name == "googlenet":
        with pytest.warns(UserWarning, match="NOT pretrained"):
            kept = JM.googlenet(weights="DEFAULT", aux_logits=True)
        assert kept.aux_logits and kept.aux1 is not None


def test_googlenet_training_outputs(rng, no_random_init):
    """Training mode runs the auxiliary heads and returns torchvision's namedtuple."""
    jmodel = JM.googlenet(num_classes=5, init_weights=True).train()
    out = jmodel(jtorch.from_numpy(rng.normal(size=(2, 3, 32, 32)).astype(np.float32)))
    tout = TM.googlenet(num_classes=5, init_weights=True).train()(torch.randn(2, 3, 32, 32))
    assert type(out).__name__ == type(tout).__name__ and out._fields == tout._fields
    for o, t in zip(out, tout):
        assert tuple(o.shape) == tuple(t.shape)


def test_inception_training_outputs_and_aux_head(rng, no_random_init):
    """Inception's auxiliary head needs a 17x17 map (a 299 input): it is checked on its own, and the
    training-mode return types at a small input without it."""
    from jtorch.vision.models import inception as jinc
    torch.manual_seed(0)
    taux = TM.inception.InceptionAux(8, 5).eval()
    jaux = jinc.InceptionAux(8, 5).eval()
    _copy_weights(taux, jaux, rng)
    x = rng.normal(size=(2, 8, 17, 17)).astype(np.float32)
    with torch.no_grad():
        expected = taux(torch.from_numpy(x))
    assert_close(jaux(jtorch.from_numpy(x)), expected, rtol=1e-3, atol=1e-4)
    jm = JM.inception_v3(num_classes=5, init_weights=True, aux_logits=False).train()
    tm = TM.inception_v3(num_classes=5, init_weights=True, aux_logits=False).train()
    xs = rng.normal(size=(2, 3, 75, 75)).astype(np.float32)
    jout, tout = jm(jtorch.from_numpy(xs)), tm(torch.from_numpy(xs))
    assert isinstance(jout, jtorch.Tensor) and isinstance(tout, torch.Tensor)
    assert tuple(jout.shape) == tuple(tout.shape) == (2, 5)
    assert JM.InceptionOutputs._fields == TM.InceptionOutputs._fields


def test_bad_configurations_raise_like_torchvision(no_random_init):
    from jtorch.vision.models import mnasnet, shufflenetv2
    with pytest.raises(ValueError):
        JM.MNASNet(0.0)
    with pytest.raises(ValueError):
        shufflenetv2.ShuffleNetV2([4, 8], [24, 48, 96, 192, 1024])
    with pytest.raises(ValueError):
        shufflenetv2.InvertedResidual(24, 48, 4)
    with pytest.raises(ValueError):
        mnasnet._InvertedResidual(8, 8, 7, 1, 3)
    with pytest.raises(ValueError):
        JM.ConvNeXt([])
    with pytest.raises(ValueError):
        JM.GoogLeNet(blocks=[1, 2], init_weights=False)
    with pytest.warns(FutureWarning):
        JM.GoogLeNet(num_classes=3)
    from jtorch.vision.models import swin_transformer
    with pytest.raises(ValueError, match="length 2"):
        swin_transformer.ShiftedWindowAttention(8, [7], [0, 0], 2)


def test_maxvit_matches_torchvision(rng, no_random_init):
    """A small MaxViT (2x2 block and grid partitions on 64x64) with the same weights; maxvit_t by structure."""
    cfg = dict(input_size=(64, 64), stem_channels=16, partition_size=2, block_channels=[16, 32], block_layers=[1, 2],
               head_dim=8, stochastic_depth_prob=0.2, num_classes=10)
    torch.manual_seed(0)
    tmodel, jmodel = TM.MaxVit(**cfg).eval(), JM.MaxVit(**cfg).eval()
    assert shapes(jmodel) == shapes(tmodel)
    _copy_weights(tmodel, jmodel, rng)
    x = rng.normal(size=(2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    assert_close(got, expected, rtol=1e-4, atol=1e-6)  # the logits are small (0.02-std head)
    assert shapes(JM.maxvit_t()) == shapes(TM.maxvit_t())
    with pytest.raises(ValueError, match="divisible by partition size"):
        JM.MaxVit(**dict(cfg, input_size=(60, 60)))


def test_swin_v2_attention_init(no_random_init):
    """v2 zeroes the key part of the qkv bias and starts the temperature at log(10)."""
    from jtorch.vision.models import swin_transformer
    attn = swin_transformer.ShiftedWindowAttentionV2(8, [4, 4], [2, 2], 2)
    b = np.asarray(attn.qkv.bias.detach())
    assert np.all(b[8:16] == 0)
    np.testing.assert_allclose(np.asarray(attn.logit_scale.detach()).ravel(), np.log(10.0) * np.ones(2), rtol=1e-6)
    t = TM.swin_transformer.ShiftedWindowAttentionV2(8, [4, 4], [2, 2], 2)
    np.testing.assert_allclose(np.asarray(attn.relative_coords_table), t.relative_coords_table.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(attn.relative_position_index), t.relative_position_index.numpy())

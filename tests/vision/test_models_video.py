"""jtorch.vision.models.video against torchvision: same state_dict names and shapes, the same
weights give the same clip logits (eval and train mode), float64 gradients of the video ResNets,
the weights enums and builder rules, checkpoints in torchvision's format from the hub cache.
Clips are tiny (1-2 x 3 x 4 x 32 x 32; S3D needs 13 x 209 x 209) to keep memory and time low."""
import os
import warnings

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
from model_oracle import copy_state, no_random_init, randomize, shapes  # noqa: F401
from tv import torchvision

tv = torchvision()
TV = tv.models.video
JV = JM.video


def _copy_weights(tmodel, jmodel, rng):
    """Random batch-norm statistics and affine terms in torchvision's model, then all copied over."""
    randomize(tmodel, rng)
    with torch.no_grad():
        for m in tmodel.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, m.weight.shape).astype(np.float32)))
                m.bias.copy_(torch.from_numpy(rng.normal(0, 0.1, m.bias.shape).astype(np.float32)))
    assert shapes(jmodel) == shapes(tmodel)
    copy_state(tmodel, jmodel)


def _pair(name, **kwargs):
    torch.manual_seed(0)
    return getattr(TV, name)(**kwargs), getattr(JV, name)(**kwargs)


def _structure_pair(name, **kwargs):
    """For the tests of names, shapes and settings only: both models on the meta device (no
    memory, no init)."""
    with torch.device("meta"), jtorch.device("meta"):
        return getattr(TV, name)(**kwargs), getattr(JV, name)(**kwargs)


RESNETS = ["r3d_18", "mc3_18", "r2plus1d_18"]


@pytest.mark.parametrize("name", RESNETS)
def test_video_resnet_eval_matches_torchvision(rng, name, no_random_init):
    tmodel, jmodel = _pair(name, num_classes=7)
    _copy_weights(tmodel, jmodel, rng)
    tmodel.eval(), jmodel.eval()
    x = rng.normal(size=(2, 3, 4, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    assert tuple(got.shape) == (2, 7) and got.dtype == jtorch.float32
    assert_close(got, expected, rtol=1e-4, atol=1e-4)


MAKERS = {"r3d": (["Conv3DSimple"] * 4, "BasicStem"),
          "mc3": (["Conv3DSimple"] + ["Conv3DNoTemporal"] * 3, "BasicStem"),
          "r2plus1d": (["Conv2Plus1D"] * 4, "R2Plus1dStem")}


def _small_video_resnet(M, kind):
    """The builders' configuration with one block per stage (the same code at half the cost)."""
    makers, stem = MAKERS[kind]
    return M.VideoResNet(M.BasicBlock, [getattr(M, m) for m in makers], [1, 1, 1, 1], getattr(M, stem), num_classes=5)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_video_resnet_train_step_float64_gradients(rng, kind, no_random_init):
    """Train mode (batch statistics over N, T, H, W; running statistics updated) and the
    gradients of a cross-entropy step, in float64, for every parameter. 24x24 frames: at 16x16
    the last stage's batch norms see 2 values per channel, whose normalisation amplifies even
    float64 rounding (up to 1/sqrt(eps) per layer) past any useful tolerance."""
    from jtorch.vision.models.video import resnet as jr
    from torchvision.models.video import resnet as tr
    torch.manual_seed(0)
    tmodel, jmodel = _small_video_resnet(tr, kind), _small_video_resnet(jr, kind)
    _copy_weights(tmodel, jmodel, rng)
    tmodel.double().train(), jmodel.double().train()
    x = rng.normal(size=(2, 3, 2, 24, 24))
    y = rng.integers(0, 5, (2,))
    losses = []
    for lib, model in ((torch, tmodel), (jtorch, jmodel)):
        loss = lib.nn.functional.cross_entropy(model(lib.from_numpy(x)), lib.from_numpy(y))
        loss.backward()
        losses.append(loss.item())
    assert abs(losses[0] - losses[1]) < 1e-9 * abs(losses[0])
    jparams = dict(jmodel.named_parameters())
    for pname, p in tmodel.named_parameters():
        assert jparams[pname].grad.dtype == jtorch.float64
        assert_close(jparams[pname].grad, p.grad, rtol=1e-6, atol=1e-9)
    jbuffers = dict(jmodel.named_buffers())
    for bname, b in tmodel.named_buffers():
        assert_close(jbuffers[bname], b, rtol=1e-9, atol=1e-12)


def test_video_resnet_blocks_and_stems(rng, no_random_init):
    """The parts on their own: each convolution maker (with its downsample stride), the
    Bottleneck block (no builder uses it), both stems."""
    from jtorch.vision.models.video import resnet as jr
    from torchvision.models.video import resnet as tr
    for maker in ("Conv3DSimple", "Conv3DNoTemporal", "Conv2Plus1D"):
        assert getattr(jr, maker).get_downsample_stride(2) == getattr(tr, maker).get_downsample_stride(2)
    x = rng.normal(size=(1, 8, 4, 9, 9)).astype(np.float32)
    for maker in ("Conv3DSimple", "Conv3DNoTemporal", "Conv2Plus1D"):
        torch.manual_seed(1)
        ds = lambda lib: lib.nn.Sequential(lib.nn.Conv3d(8, 16, 1, stride=getattr(
            (jr if lib is jtorch else tr), maker).get_downsample_stride(2), bias=False), lib.nn.BatchNorm3d(16))
        tb = tr.Bottleneck(8, 4, getattr(tr, maker), stride=2, downsample=ds(torch)).eval()
        jb = jr.Bottleneck(8, 4, getattr(jr, maker), stride=2, downsample=ds(jtorch)).eval()
        _copy_weights(tb, jb, rng)
        with torch.no_grad():
            expected = tb(torch.from_numpy(x))
        assert_close(jb(jtorch.from_numpy(x)), expected, rtol=1e-4, atol=1e-5)
    xs = rng.normal(size=(1, 3, 3, 20, 20)).astype(np.float32)
    for stem in ("BasicStem", "R2Plus1dStem"):
        ts, js = getattr(tr, stem)().eval(), getattr(jr, stem)().eval()
        _copy_weights(ts, js, rng)
        with torch.no_grad():
            expected = ts(torch.from_numpy(xs))
        assert_close(js(jtorch.from_numpy(xs)), expected, rtol=1e-4, atol=1e-5)
    # a Bottleneck VideoResNet: same structure
    t = tr.VideoResNet(tr.Bottleneck, [tr.Conv3DSimple] * 4, [1, 1, 1, 1], tr.BasicStem, num_classes=3)
    j = jr.VideoResNet(jr.Bottleneck, [jr.Conv3DSimple] * 4, [1, 1, 1, 1], jr.BasicStem, num_classes=3)
    assert shapes(j) == shapes(t)


def test_video_resnet_default_init_statistics():
    """Untouched initialisation: torchvision's scheme (kaiming fan-out convolutions, N(0, 0.01) fc,
    unit batch norms), compared through the weights' statistics."""
    jmodel = JV.r2plus1d_18()
    conv = jmodel.layer3[0].conv1[0][0].weight
    fan_out = conv.shape[0] * conv[0, 0].numel()
    assert abs(float(conv.std()) - (2.0 / fan_out) ** 0.5) < 0.05 * (2.0 / fan_out) ** 0.5
    assert abs(float(jmodel.fc.weight.std()) - 0.01) < 0.001 and float(jmodel.fc.bias.abs().max()) == 0.0
    bn = jmodel.stem[1]
    assert float((bn.weight - 1).abs().max()) == 0.0 and float(bn.bias.abs().max()) == 0.0


def test_s3d_eval_matches_torchvision(rng, no_random_init):
    """S3D at its smallest clip (13 frames, 209x209: the final 2x7x7 pool then has one window)."""
    tmodel, jmodel = _pair("s3d", num_classes=6)
    _copy_weights(tmodel, jmodel, rng)
    tmodel.eval(), jmodel.eval()
    x = rng.normal(size=(1, 3, 13, 209, 209)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    assert tuple(got.shape) == (1, 6)
    assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_s3d_structure_and_norm_settings():
    tmodel, jmodel = _structure_pair("s3d")
    assert shapes(jmodel) == shapes(tmodel)
    tn = [(m.eps, m.momentum) for m in tmodel.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    jn = [(m.eps, m.momentum) for m in jmodel.modules() if isinstance(m, jtorch.nn.BatchNorm3d)]
    assert jn == tn and tn[0] == (0.001, 0.001)
    with jtorch.device("meta"):
        assert jmodel.classifier[0].p == 0.2 and JV.s3d(dropout=0.5).classifier[0].p == 0.5
    assert sum(p.numel() for p in jmodel.parameters()) == JV.S3D_Weights.DEFAULT.meta["num_params"]


ENUMS = ["R3D_18_Weights", "MC3_18_Weights", "R2Plus1D_18_Weights", "S3D_Weights", "Swin3D_T_Weights",
         "Swin3D_S_Weights", "Swin3D_B_Weights", "MViT_V1_B_Weights", "MViT_V2_S_Weights"]


@pytest.mark.parametrize("enum_name", ENUMS)
def test_weights_enums_match_torchvision(enum_name):
    je, te = getattr(JV, enum_name), getattr(TV, enum_name)
    assert list(je.__members__) == list(te.__members__)
    assert je.DEFAULT is je[te.DEFAULT.name]
    for key in te.__members__:
        jw, tw = je[key], te[key]
        assert jw.url == tw.url
        assert {k: v for k, v in tw.meta.items() if k != "_docs"} == jw.meta
        assert repr(jw.transforms()) == repr(tw.transforms())


ALL = RESNETS + ["s3d", "swin3d_t", "swin3d_s", "swin3d_b", "mvit_v1_b", "mvit_v2_s"]


def test_registry_and_builder_rules(no_random_init):
    assert JM.list_models(JV) == [n for n in tv.models.list_models(TV) if n in set(JM.list_models(JV))]
    assert set(ALL) <= set(JM.list_models(JV))
    for name in ALL:
        assert JM.get_model_weights(name).__name__ == tv.models.get_model_weights(name).__name__
        assert sum(p.numel() for p in JM.get_model(name).parameters()) == \
            JM.get_model_weights(name).DEFAULT.meta["num_params"]
    assert JM.get_weight("R3D_18_Weights.KINETICS400_V1") is JV.R3D_18_Weights.KINETICS400_V1
    import jtorch.vision as jvision
    assert jvision.models.video.r3d_18 is JV.r3d_18
    with pytest.raises(ValueError, match="num_classes"):
        JV.r3d_18(weights="DEFAULT", num_classes=10)
    with pytest.raises(TypeError):
        JV.mc3_18(weights=JM.ResNet18_Weights.DEFAULT)
    with pytest.raises(KeyError):
        JV.s3d(weights="IMAGENET1K_V1")
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        m = JV.r2plus1d_18(pretrained=False)
    assert m.fc.out_features == 400


def test_video_preset_matches_torchvision(rng):
    jt, tt = JV.R3D_18_Weights.DEFAULT.transforms(), TV.R3D_18_Weights.DEFAULT.transforms()
    vid = rng.integers(0, 256, (2, 5, 3, 40, 60), dtype=np.uint8)  # (N, T, C, H, W)
    out_j, out_t = jt(jtorch.from_numpy(vid.copy())), tt(torch.from_numpy(vid.copy()))
    assert tuple(out_j.shape) == tuple(out_t.shape) == (2, 3, 5, 112, 112)
    # the uint8 resize may round a pixel to the other neighbouring level (as in the segmentation preset test)
    assert np.abs(np.asarray(out_j) - out_t.numpy()).max() <= 1.01 / 255 / min(jt.std)
    assert np.abs(np.asarray(out_j) - out_t.numpy()).mean() < 1e-3


@pytest.mark.parametrize("name", ["r3d_18", "r2plus1d_18"])
def test_pretrained_from_hub_cache(tmp_path, monkeypatch, rng, name, no_random_init):
    """weights=... reads torchvision's checkpoint format from the hub cache (no download)."""
    tmodel, jmodel = _pair(name)
    _copy_weights(tmodel, jmodel, rng)
    url = JM.get_model_weights(name).DEFAULT.url
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(tmodel.state_dict(), tmp_path / "hub" / "checkpoints" / os.path.basename(url))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = getattr(JV, name)(weights="KINETICS400_V1").eval()
    x = rng.normal(size=(1, 3, 4, 24, 24)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel.eval()(torch.from_numpy(x))
    with jtorch.no_grad():
        assert_close(loaded(jtorch.from_numpy(x)), expected, rtol=1e-4, atol=1e-4)


SWIN_CLIPS = [(1, 3, 4, 32, 32),  # 2x8x8 tokens: the window shrinks to 2 frames; 7x7 windows padded and shifted
              (2, 3, 3, 30, 36)]  # clips padded to whole 2x4x4 patches, odd token maps padded by patch merging


@pytest.mark.parametrize("shape", SWIN_CLIPS, ids=["4x32x32", "3x30x36"])
def test_swin3d_eval_matches_torchvision(rng, shape, no_random_init):
    tmodel, jmodel = _pair("swin3d_t", num_classes=5)
    _copy_weights(tmodel, jmodel, rng)
    tmodel.eval(), jmodel.eval()
    x = rng.normal(size=shape).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    assert tuple(got.shape) == (shape[0], 5)
    assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_swin3d_attention_window_mask_and_index(rng):
    """The attention function alone, with a shift along all three axes (mask with 27 regions),
    and the relative position index against torchvision's."""
    from jtorch.vision.models.video import swin_transformer as js
    from torchvision.models.video import swin_transformer as ts
    ta = ts.ShiftedWindowAttention3d(16, [2, 3, 3], [1, 1, 1], 4)
    ja = js.ShiftedWindowAttention3d(16, [2, 3, 3], [1, 1, 1], 4)
    assert np.array_equal(np.asarray(ja.relative_position_index), ta.relative_position_index.numpy())
    ja.load_state_dict({k: jtorch.from_numpy(v.detach().numpy().copy()) for k, v in ta.state_dict().items()})
    x = rng.normal(size=(2, 4, 6, 5, 16)).astype(np.float32)
    with torch.no_grad():
        expected = ta(torch.from_numpy(x))
    assert_close(ja(jtorch.from_numpy(x)), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="length 3"):
        js.ShiftedWindowAttention3d(16, [7, 7], [0, 0], 4)


@pytest.mark.parametrize("name", ["swin3d_t", "swin3d_s", "swin3d_b"])
def test_swin3d_structure(name):
    tmodel, jmodel = _structure_pair(name)
    assert shapes(jmodel) == shapes(tmodel)
    tsd = [m.p for m in tmodel.modules() if type(m).__name__ == "StochasticDepth"]
    jsd = [m.p for m in jmodel.modules() if type(m).__name__ == "StochasticDepth"]
    assert jsd == tsd
    with pytest.raises(TypeError):
        getattr(JV, name)(stochastic_depth_prob=0.2)


MVIT_KINDS = {"v1": dict(residual_pool=False, residual_with_cls_embed=False, rel_pos_embed=False,
                         proj_after_attn=False),
              "v2": dict(residual_pool=True, residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True),
              "v2-cls": dict(residual_pool=True, residual_with_cls_embed=True, rel_pos_embed=True,
                             proj_after_attn=False)}


def _mvit_setting(M):
    """Four small blocks: keys pooled (1, 4, 4); queries strided in space, then in time too;
    a block without query pooling; channel changes before and in the downsampling blocks."""
    return [M.MSBlockConfig(1, 16, 16, [3, 3, 3], [3, 3, 3], [1, 1, 1], [1, 4, 4]),
            M.MSBlockConfig(2, 16, 32, [3, 3, 3], [3, 3, 3], [1, 2, 2], [1, 2, 2]),
            M.MSBlockConfig(2, 32, 32, [], [3, 3, 3], [], [1, 1, 1]),
            M.MSBlockConfig(4, 32, 64, [3, 3, 3], [3, 3, 3], [2, 2, 2], [1, 1, 1])]


@pytest.mark.parametrize("kind", list(MVIT_KINDS))
def test_mvit_small_matches_torchvision(rng, kind, no_random_init):
    """The MViT class at a small clip (8x32x32; the builders fix 16x224x224): v1's absolute
    positions, v2's relative positions and pooled-query residuals, with and without the class token."""
    from jtorch.vision.models.video import mvit as jm
    from torchvision.models.video import mvit as tm
    torch.manual_seed(0)
    tmodel = tm.MViT((32, 32), 8, _mvit_setting(tm), num_classes=5, **MVIT_KINDS[kind]).eval()
    jmodel = jm.MViT((32, 32), 8, _mvit_setting(jm), num_classes=5, **MVIT_KINDS[kind]).eval()
    _copy_weights(tmodel, jmodel, rng)
    x = rng.normal(size=(2, 3, 8, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x))
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x))
    assert tuple(got.shape) == (2, 5)
    assert_close(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["mvit_v1_b", "mvit_v2_s"])
def test_mvit_builders_structure(name):
    tmodel, jmodel = _structure_pair(name)
    assert shapes(jmodel) == shapes(tmodel)
    for tb, jb in zip(tmodel.blocks, jmodel.blocks):
        for part in ("pool_q", "pool_k", "pool_v"):
            tp, jp = getattr(tb.attn, part), getattr(jb.attn, part)
            assert (tp is None) == (jp is None)
            if tp is not None:
                assert (jp.pool.stride, jp.pool.padding, jp.pool.groups) == (tp.pool.stride, tp.pool.padding,
                                                                            tp.pool.groups)
        assert (tb.pool_skip is None) == (jb.pool_skip is None)
        assert jb.stochastic_depth.p == tb.stochastic_depth.p
    assert jmodel.head[0].p == tmodel.head[0].p == 0.5
    with pytest.raises(TypeError):  # the clip size is the checkpoints', fixed by the builder
        getattr(JV, name)(spatial_size=(112, 112))
    from jtorch.vision.models.video import mvit as jm
    with pytest.raises(ValueError, match="can't be empty"):
        jm.MViT((32, 32), 4, [], False, False, False, False)

"""jtorch.vision.models.optical_flow (RAFT) against torchvision: same state_dict names and shapes,
the same weights give the same flow predictions at every update, float64 gradients of a training
loss, the parts alone, the argument checks, the weights enums and preset, checkpoints from the hub
cache. Images are 128 x 136, the smallest the 4-level correlation pyramid allows (and not square)."""
import os

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.models as JM
from helpers import assert_close
from model_oracle import copy_weights, no_random_init, shapes  # noqa: F401
from tv import torchvision

tv = torchvision()
TF = tv.models.optical_flow
JF = JM.optical_flow


def _pair(name, rng, **kwargs):
    """torchvision's model (random batch-norm statistics) and jtorch's with its state_dict."""
    torch.manual_seed(0)
    tmodel, jmodel = getattr(TF, name)(**kwargs), getattr(JF, name)(**kwargs)
    assert shapes(jmodel) == shapes(tmodel)
    copy_weights(tmodel, jmodel, rng)
    return tmodel, jmodel


def _images(rng, dtype=np.float32, batch=1):
    return [rng.normal(size=(batch, 3, 128, 136)).astype(dtype) for _ in range(2)]


@pytest.mark.parametrize("name", ["raft_small", "raft_large"])
def test_eval_flows_match_torchvision(rng, name, no_random_init):
    tmodel, jmodel = _pair(name, rng)
    tmodel.eval(), jmodel.eval()
    x1, x2 = _images(rng)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x1), torch.from_numpy(x2), num_flow_updates=3)
    with jtorch.no_grad():
        got = jmodel(jtorch.from_numpy(x1), jtorch.from_numpy(x2), num_flow_updates=3)
    assert isinstance(got, list) and len(got) == 3
    for g, e in zip(got, expected):
        assert tuple(g.shape) == (1, 2, 128, 136) and g.dtype == jtorch.float32
        # the updates feed back through bilinear lookups: float32 rounding grows to ~1e-5 of the flow
        assert_close(g, e, rtol=1e-4, atol=1e-4 * float(e.abs().max()))


def test_raft_small_float64_gradients(rng, monkeypatch, no_random_init):
    """An L1 loss on every update's flow (weighted as in training): gradients of every parameter,
    in float64. Both RAFTs make float32 coordinate grids (torchvision's would refuse a float64
    model: grid_sample does not mix types), so both grid makers are patched to float64 here. The
    lookup positions are detached between updates in both libraries."""
    import jtorch.vision.models.optical_flow.raft as jr
    import torchvision.models.optical_flow.raft as tr
    for mod in (jr, tr):
        make = mod.make_coords_grid
        monkeypatch.setattr(mod, "make_coords_grid", lambda *a, make=make, **k: make(*a, **k).double())
    tmodel, jmodel = _pair("raft_small", rng)
    tmodel.double().train(), jmodel.double().train()
    x1, x2 = _images(rng, np.float64)
    target = rng.normal(size=(1, 2, 128, 136))
    losses = []
    for lib, model in ((torch, tmodel), (jtorch, jmodel)):
        preds = model(lib.from_numpy(x1), lib.from_numpy(x2), num_flow_updates=2)
        loss = sum(0.8 ** (len(preds) - 1 - i) * (p - lib.from_numpy(target)).abs().mean() for i, p in enumerate(preds))
        loss.backward()
        losses.append(loss.item())
    assert abs(losses[0] - losses[1]) < 1e-9 * abs(losses[0])
    jparams = dict(jmodel.named_parameters())
    for pname, p in tmodel.named_parameters():
        assert jparams[pname].grad.dtype == jtorch.float64
        assert_close(jparams[pname].grad, p.grad, rtol=1e-6, atol=1e-9)


def test_parts_match_torchvision(rng):
    """Convex upsampling (with a mask) and bilinear (without), the coordinate grid, the pixel-space
    grid_sample and the correlation pyramid's lookup, alone."""
    from jtorch.vision.models.optical_flow import _utils as ju
    from jtorch.vision.models.optical_flow import raft as jr
    from torchvision.models.optical_flow import _utils as tu
    from torchvision.models.optical_flow import raft as tr
    flow = rng.normal(size=(2, 2, 5, 6)).astype(np.float32)
    mask = rng.normal(size=(2, 8 * 8 * 9, 5, 6)).astype(np.float32)
    assert_close(ju.upsample_flow(jtorch.from_numpy(flow), jtorch.from_numpy(mask)),
                 tu.upsample_flow(torch.from_numpy(flow), torch.from_numpy(mask)), rtol=1e-5, atol=1e-5)
    assert_close(ju.upsample_flow(jtorch.from_numpy(flow), factor=4),
                 tu.upsample_flow(torch.from_numpy(flow), factor=4), rtol=1e-5, atol=1e-5)
    assert_close(ju.make_coords_grid(2, 3, 4), tu.make_coords_grid(2, 3, 4))
    fmap1, fmap2 = (rng.normal(size=(2, 8, 16, 18)).astype(np.float32) for _ in range(2))
    coords = (rng.uniform(-2, 20, size=(2, 2, 16, 18))).astype(np.float32)
    tc, jc = tr.CorrBlock(num_levels=4, radius=2), jr.CorrBlock(num_levels=4, radius=2)
    tc.build_pyramid(torch.from_numpy(fmap1), torch.from_numpy(fmap2))
    jc.build_pyramid(jtorch.from_numpy(fmap1), jtorch.from_numpy(fmap2))
    assert jc.out_channels == tc.out_channels == 100
    assert_close(jc.index_pyramid(jtorch.from_numpy(coords)), tc.index_pyramid(torch.from_numpy(coords)),
                 rtol=1e-4, atol=1e-5)


def test_argument_checks_like_torchvision(rng, no_random_init):
    from jtorch.vision.models.optical_flow import raft as jr
    model = JF.raft_small().eval()
    a = jtorch.from_numpy(rng.normal(size=(1, 3, 128, 136)).astype(np.float32))
    with pytest.raises(ValueError, match="divisible by 8"):
        model(a[..., :130], a[..., :130])
    with pytest.raises(ValueError, match="same shape"):
        model(a, a[..., :128])
    with pytest.raises(ValueError, match="too small"):
        model(a[..., :64, :], a[..., :64, :])
    with pytest.raises(ValueError, match="number of layers is 5"):
        jr.FeatureEncoder(layers=(8, 8, 8, 8))
    with pytest.raises(ValueError, match="flow_layers"):
        jr.MotionEncoder(in_channels_corr=4, flow_layers=(8,))
    with pytest.raises(ValueError, match="same length as padding"):
        jr.RecurrentBlock(input_size=4, hidden_size=4, kernel_size=(3, 3), padding=(1,))
    with pytest.raises(ValueError, match="hidden_state_size"):
        jr.RAFT(feature_encoder=jr.FeatureEncoder(), context_encoder=jr.FeatureEncoder(),
                corr_block=jr.CorrBlock(), update_block=jtorch.nn.Identity())


@pytest.mark.parametrize("enum_name", ["Raft_Large_Weights", "Raft_Small_Weights"])
def test_weights_enums_match_torchvision(enum_name):
    je, te = getattr(JF, enum_name), getattr(TF, enum_name)
    assert list(je.__members__) == list(te.__members__)
    assert je.DEFAULT is je[te.DEFAULT.name]
    for key in te.__members__:
        jw, tw = je[key], te[key]
        assert jw.url == tw.url
        assert {k: v for k, v in tw.meta.items() if k != "_docs"} == jw.meta
        assert repr(jw.transforms()) == repr(tw.transforms())


def test_registry_builder_rules_and_preset(rng):
    assert JM.list_models(JF) == tv.models.list_models(TF) == ["raft_large", "raft_small"]
    for name in ("raft_large", "raft_small"):
        assert JM.get_model_weights(name).__name__ == tv.models.get_model_weights(name).__name__
        with jtorch.device("meta"):  # counted only: no memory, no init
            model = JM.get_model(name)
        assert sum(p.numel() for p in model.parameters()) == JM.get_model_weights(name).DEFAULT.meta["num_params"]
    assert JM.get_weight("Raft_Small_Weights.C_T_V1") is JF.Raft_Small_Weights.C_T_V1
    with pytest.raises(TypeError):
        JF.raft_small(weights=JF.Raft_Large_Weights.DEFAULT)
    a, b = (rng.integers(0, 256, (2, 3, 16, 24), dtype=np.uint8) for _ in range(2))
    jout = JF.Raft_Large_Weights.DEFAULT.transforms()(jtorch.from_numpy(a), jtorch.from_numpy(b))
    tout = TF.Raft_Large_Weights.DEFAULT.transforms()(torch.from_numpy(a), torch.from_numpy(b))
    for j, t in zip(jout, tout):
        assert j.dtype == jtorch.float32
        assert_close(j, t, rtol=1e-6, atol=1e-6)


def test_pretrained_from_hub_cache(tmp_path, monkeypatch, rng, no_random_init):
    tmodel, _ = _pair("raft_small", rng)
    url = JF.Raft_Small_Weights.C_T_V2.url
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(tmodel.state_dict(), tmp_path / "hub" / "checkpoints" / os.path.basename(url))
    loaded = JF.raft_small(weights="DEFAULT").eval()
    x1, x2 = _images(rng)
    with torch.no_grad():
        expected = tmodel.eval()(torch.from_numpy(x1), torch.from_numpy(x2), num_flow_updates=1)[-1]
    with jtorch.no_grad():
        got = loaded(jtorch.from_numpy(x1), jtorch.from_numpy(x2), num_flow_updates=1)[-1]
    assert_close(got, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))

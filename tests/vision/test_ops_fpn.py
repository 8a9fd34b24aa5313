"""FeaturePyramidNetwork against torchvision's (same weights, same outputs and gradients), and
MultiScaleRoIAlign against roi_align on the levels torchvision's level mapper picks."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.ops as JO
from helpers import assert_close
from tv import torchvision

tv = torchvision()
TO = tv.ops


def _copy(tm, jm):
    jm.load_state_dict({k: jtorch.from_numpy(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})


@pytest.mark.parametrize("extra", [None, "maxpool", "p6p7", "p6p7_c5"])
def test_fpn_matches_torchvision(rng, extra):
    chans = [4, 8, 6]
    torch.manual_seed(0)
    make = {None: lambda m: None, "maxpool": lambda m: m.LastLevelMaxPool(),
            "p6p7": lambda m: m.LastLevelP6P7(5, 5), "p6p7_c5": lambda m: m.LastLevelP6P7(6, 5)}[extra]
    tm = TO.FeaturePyramidNetwork(chans, 5, extra_blocks=make(TO.feature_pyramid_network))
    jm = JO.FeaturePyramidNetwork(chans, 5, extra_blocks=make(JO.feature_pyramid_network))
    assert [(k, tuple(v.shape)) for k, v in jm.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    _copy(tm, jm)
    feats = [rng.normal(size=(2, c, s, s + 1)).astype(np.float32) for c, s in zip(chans, (16, 8, 5))]
    tx = OrderedDict((f"f{i}", torch.from_numpy(f).requires_grad_(True)) for i, f in enumerate(feats))
    jx = OrderedDict((f"f{i}", jtorch.from_numpy(f).requires_grad_(True)) for i, f in enumerate(feats))
    tout, jout = tm(tx), jm(jx)
    assert list(jout) == list(tout)
    for k in tout:
        assert_close(jout[k], tout[k], rtol=1e-4, atol=1e-5)
    sum(v.sum() * (i + 1) for i, v in enumerate(tout.values())).backward()
    sum(v.sum() * (i + 1) for i, v in enumerate(jout.values())).backward()
    for k in tx:
        assert_close(jx[k].grad, tx[k].grad, rtol=1e-4, atol=1e-4)


def test_fpn_errors_and_init():
    with pytest.raises(ValueError, match="in_channels=0"):
        JO.FeaturePyramidNetwork([0, 4], 5)
    with pytest.raises(TypeError):
        JO.FeaturePyramidNetwork([4], 5, extra_blocks=jtorch.nn.ReLU())
    jtorch.manual_seed(0)
    m = JO.FeaturePyramidNetwork([64], 64)
    w = np.asarray(m.layer_blocks[0][0].weight.detach())
    bound = np.sqrt(6 / (2 * 64 * 9))  # kaiming_uniform with a=1
    assert np.abs(w).max() <= bound and w.std() > 0.5 * bound / np.sqrt(3)
    assert float(np.abs(np.asarray(m.layer_blocks[0][0].bias.detach())).sum()) == 0.0


def test_multiscale_roi_align(rng):
    feats = OrderedDict([("p2", rng.normal(size=(2, 3, 32, 32)).astype(np.float32)),
                         ("p3", rng.normal(size=(2, 3, 16, 16)).astype(np.float32)),
                         ("skip", rng.normal(size=(2, 3, 8, 8)).astype(np.float32))])
    image_shapes = [(128, 120), (100, 128)]
    boxes = [np.array([[1, 2, 20, 30], [0, 0, 120, 110], [50, 40, 60, 45]], np.float32),
             np.array([[10, 10, 100, 90], [3, 4, 9, 8]], np.float32)]
    m = JO.MultiScaleRoIAlign(["p2", "p3"], 3, 2)
    assert repr(m) == repr(TO.MultiScaleRoIAlign(["p2", "p3"], 3, 2))
    jx = OrderedDict((k, jtorch.from_numpy(v)) for k, v in feats.items())
    got = m(jx, [jtorch.from_numpy(b) for b in boxes], image_shapes)
    # torchvision's own pieces decide the levels; roi_align (tested separately) pools
    scales, mapper = TO.poolers._setup_scales([torch.from_numpy(feats[k]) for k in ("p2", "p3")], image_shapes,
                                              224, 4)
    assert m.scales == scales == [0.25, 0.125]
    levels = mapper([torch.from_numpy(b) for b in boxes]).numpy()
    assert set(levels) == {0, 1}
    rois = np.concatenate([np.concatenate([np.full((len(b), 1), i, np.float32), b], 1) for i, b in enumerate(boxes)])
    for r, lvl in enumerate(levels):
        name = ("p2", "p3")[lvl]
        want = JO.roi_align(jx[name], jtorch.from_numpy(rois[r:r + 1]), (3, 3), scales[lvl], 2)
        np.testing.assert_allclose(np.asarray(got[r:r + 1]), np.asarray(want), rtol=1e-6, atol=1e-6)
    one = JO.MultiScaleRoIAlign(["p3"], (2, 3), -1)(jx, [jtorch.from_numpy(b) for b in boxes], image_shapes)
    np.testing.assert_allclose(np.asarray(one), np.asarray(JO.roi_align(jx["p3"], jtorch.from_numpy(rois), (2, 3),
                                                                        0.125, -1)), rtol=1e-5, atol=1e-6)

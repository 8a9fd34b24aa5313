"""Box IoU variants and losses, masks_to_boxes, FrozenBatchNorm2d, DropBlock and the conv blocks
against torchvision's Python implementations (values and gradients)."""
import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.ops as JO
from helpers import assert_close, both
from tv import torchvision

tv = torchvision()
TO = tv.ops


def _boxes(rng, n, size=50.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(2, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


@pytest.mark.parametrize("name", ["distance_box_iou", "complete_box_iou"])
def test_pairwise_iou_variants(rng, name):
    (t1, j1), (t2, j2) = both(_boxes(rng, 6), True), both(_boxes(rng, 4), True)
    expected, got = getattr(TO, name)(t1, t2), getattr(JO, name)(j1, j2)
    assert_close(got, expected, rtol=1e-5, atol=1e-6)
    g = rng.normal(size=(6, 4)).astype(np.float32)
    (expected * torch.from_numpy(g)).sum().backward()
    (got * jtorch.from_numpy(g)).sum().backward()
    assert_close(j1.grad, t1.grad, rtol=1e-4, atol=1e-5)
    assert_close(j2.grad, t2.grad, rtol=1e-4, atol=1e-5)
    ti, ji = both(_boxes(rng, 3).astype(np.int64))
    assert_close(getattr(JO, name)(ji, ji), getattr(TO, name)(ti, ti), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        getattr(JO, name)(jtorch.zeros(3, 3), j2)


@pytest.mark.parametrize("name", ["generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_box_losses(rng, name, reduction):
    a, b = _boxes(rng, 8, 10.0), _boxes(rng, 8, 10.0)
    b[:2] = a[:2] + 0.5  # overlapping pairs as well as disjoint ones
    (t1, j1), (t2, j2) = both(a, True), both(b, True)
    expected = getattr(TO, name)(t1, t2, reduction=reduction)
    got = getattr(JO, name)(j1, j2, reduction=reduction)
    assert_close(got, expected, rtol=1e-5, atol=1e-6)
    expected.sum().backward()
    got.sum().backward()
    assert_close(j1.grad, t1.grad, rtol=1e-4, atol=1e-5)
    assert_close(j2.grad, t2.grad, rtol=1e-4, atol=1e-5)
    empty_t, empty_j = both(np.zeros((0, 4), np.float32))
    assert_close(getattr(JO, name)(empty_j, empty_j, reduction=reduction),
                 getattr(TO, name)(empty_t, empty_t, reduction=reduction))
    with pytest.raises(ValueError, match="reduction"):
        getattr(JO, name)(j1, j2, reduction="avg")


def test_masks_to_boxes(rng):
    masks = (rng.random((5, 9, 11)) > 0.85).astype(np.uint8)
    masks[2] = 0  # an empty mask gives zeros
    masks[3] = 0
    masks[3, 4, 7] = 1
    tm, jm = both(masks)
    assert_close(JO.masks_to_boxes(jm), TO.masks_to_boxes(tm))
    assert_close(JO.masks_to_boxes(jm.bool()), TO.masks_to_boxes(tm.bool()))
    assert tuple(JO.masks_to_boxes(jtorch.zeros(0, 4, 4)).shape) == (0, 4)


def test_frozen_batch_norm(rng):
    tbn = torch.nn.BatchNorm2d(5).eval()
    with torch.no_grad():
        for t in (tbn.weight, tbn.bias, tbn.running_mean):
            t.copy_(torch.from_numpy(rng.normal(size=5).astype(np.float32)))
        tbn.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2, 5).astype(np.float32)))
    tf, jf = TO.FrozenBatchNorm2d(5), JO.FrozenBatchNorm2d(5)
    state = tbn.state_dict()
    assert "num_batches_tracked" in state  # dropped on load, as torchvision does
    tf.load_state_dict(state)
    jf.load_state_dict({k: jtorch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    assert repr(jf) == repr(tf) == "FrozenBatchNorm2d(5, eps=1e-05)"
    assert sorted(jf.state_dict()) == sorted(tf.state_dict())
    assert list(jf.parameters()) == []
    tx, jx = both(rng.normal(size=(2, 5, 4, 3)).astype(np.float32), True)
    assert_close(jf(jx), tf(tx), rtol=1e-5, atol=1e-6)
    tf(tx).sum().backward()
    jf(jx).sum().backward()
    assert_close(jx.grad, tx.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dims", [2, 3])
def test_drop_block(rng, dims):
    fn = JO.drop_block2d if dims == 2 else JO.drop_block3d
    size = (4, 8, 24, 24) if dims == 2 else (2, 4, 12, 12, 12)
    x = jtorch.from_numpy(rng.uniform(1, 2, size).astype(np.float32))
    assert fn(x, 0.3, 3, training=False) is x and fn(x, 0.0, 3) is x
    jtorch.manual_seed(0)
    out = np.asarray(fn(x, 0.3, 3))
    ratio = out / np.asarray(x)
    kept = ratio != 0
    scale = ratio[kept]
    np.testing.assert_allclose(scale, scale[0], rtol=1e-5)  # one rescale factor for the kept units
    np.testing.assert_allclose(scale[0], kept.size / kept.sum(), rtol=1e-4)
    assert abs((1 - kept.mean()) - 0.3) < 0.1  # about a fraction p dropped
    # dropped units come in blocks: every dropped unit lies in a fully dropped 3^dims cube
    dropped = jtorch.from_numpy((~kept).astype(np.float32))
    pool = torch.nn.functional.max_pool2d if dims == 2 else torch.nn.functional.max_pool3d
    d = torch.from_numpy(np.asarray(dropped).copy())
    eroded = -pool(-d, 3, stride=1, padding=1)  # units whose whole neighbourhood cube is dropped
    covered = pool(eroded, 3, stride=1, padding=1)
    assert torch.equal(covered.bool() | ~d.bool(), torch.ones_like(d, dtype=torch.bool))
    m = (JO.DropBlock2d if dims == 2 else JO.DropBlock3d)(0.2, 5)
    assert repr(m) == repr((TO.DropBlock2d if dims == 2 else TO.DropBlock3d)(0.2, 5))
    m.eval()
    assert m(x) is x
    with pytest.raises(ValueError, match="drop probability"):
        fn(x, 1.5, 3)
    with pytest.raises(ValueError, match="dimensional"):
        fn(jtorch.zeros(3, 4), 0.1, 3)


@pytest.mark.parametrize("kwargs", [{}, {"kernel_size": (3, 1, 5), "stride": 2}, {"norm_layer": None}])
def test_conv3d_norm_activation(rng, kwargs):
    torch.manual_seed(0)
    tm = TO.Conv3dNormActivation(3, 4, **kwargs).eval()
    jm = JO.Conv3dNormActivation(3, 4, **kwargs).eval()
    assert repr(jm) == repr(tm)
    jm.load_state_dict({k: jtorch.from_numpy(v.numpy().copy()) for k, v in tm.state_dict().items()})
    tx, jx = both(rng.normal(size=(2, 3, 5, 6, 7)).astype(np.float32))
    assert_close(jm(jx), tm(tx), rtol=1e-4, atol=1e-5)


def test_conv2d_norm_activation_tuple_kernel_and_permute(rng):
    tm = TO.Conv2dNormActivation(3, 4, kernel_size=(1, 3), dilation=(1, 2))
    jm = JO.Conv2dNormActivation(3, 4, kernel_size=(1, 3), dilation=(1, 2))
    assert repr(jm) == repr(tm)
    tx, jx = both(rng.normal(size=(2, 3, 4, 5)).astype(np.float32))
    assert_close(JO.Permute([0, 2, 3, 1])(jx), TO.Permute([0, 2, 3, 1])(tx))

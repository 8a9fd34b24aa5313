"""jtorch.vision.tv_tensors against torchvision 0.28's: construction rules and errors, which ops keep the
type (clone / to / detach / requires_grad_, or everything under set_return_type("TVTensor")), metadata
propagation, wrap, repr, copying and pickling."""
import copy
import pickle

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import jtorch
from helpers import assert_close
from tv import torchvision

tv = torchvision()
from torchvision import tv_tensors as TVT  # noqa: E402  (after tv(): its import fix)

import jtorch.vision as jvision  # noqa: E402
from jtorch.vision import tv_tensors as JVT  # noqa: E402


def _pair(rng, shape, dtype=np.float32):
    a = rng.integers(0, 20, shape).astype(dtype)
    return jtorch.from_numpy(a.copy()), torch.from_numpy(a.copy())


def _same_kind(j, t):
    assert type(j).__name__ == type(t).__name__, (type(j), type(t))
    for attr in ("format", "canvas_size", "clamping_mode"):
        if hasattr(t, attr):
            a, b = getattr(j, attr), getattr(t, attr)
            assert (a.name if hasattr(a, "name") else a) == (b.name if hasattr(b, "name") else b)
    assert_close(j.as_subclass(jtorch.Tensor), t.as_subclass(torch.Tensor))


def test_reachable_as_attribute():
    assert jvision.tv_tensors is JVT
    assert issubclass(JVT.Image, JVT.TVTensor) and issubclass(JVT.TVTensor, jtorch.Tensor)


def test_construction(rng):
    j, t = _pair(rng, (5, 6))
    _same_kind(JVT.Image(j), TVT.Image(t))  # a 2-D image gets a channel axis
    a = rng.integers(0, 256, (5, 6, 3)).astype(np.uint8)
    _same_kind(JVT.Image(PILImage.fromarray(a)), TVT.Image(PILImage.fromarray(a)))
    _same_kind(JVT.Mask(PILImage.fromarray(a[..., 0])), TVT.Mask(PILImage.fromarray(a[..., 0])))
    _same_kind(JVT.Image([[1, 2], [3, 4]], dtype=jtorch.float64), TVT.Image([[1, 2], [3, 4]], dtype=torch.float64))
    j, t = _pair(rng, (2, 3, 4, 5))
    _same_kind(JVT.Video(j), TVT.Video(t))
    _same_kind(JVT.BoundingBoxes([1, 2, 3, 4], format="xywh", canvas_size=(9, 9)),
               TVT.BoundingBoxes([1, 2, 3, 4], format="xywh", canvas_size=(9, 9)))
    _same_kind(JVT.BoundingBoxes(jtorch.ones(2, 4), format=JVT.BoundingBoxFormat.CXCYWH, canvas_size=(3, 4),
                                 clamping_mode=None),
               TVT.BoundingBoxes(torch.ones(2, 4), format=TVT.BoundingBoxFormat.CXCYWH, canvas_size=(3, 4),
                                 clamping_mode=None))
    _same_kind(JVT.KeyPoints([1.0, 2.0], canvas_size=(4, 4)), TVT.KeyPoints([1.0, 2.0], canvas_size=(4, 4)))
    j = JVT.Image(jtorch.ones(3, 2, 2, requires_grad=True))
    assert j.requires_grad and JVT.Image(jtorch.ones(3, 2, 2), requires_grad=True).requires_grad


@pytest.mark.parametrize("make", [
    lambda T, m: T.Image(m.tensor(1.0)),
    lambda T, m: T.Video(m.zeros(3, 4, 4)),
    lambda T, m: T.BoundingBoxes(m.zeros(1, 2, 4), format="XYXY", canvas_size=(4, 4)),
    lambda T, m: T.BoundingBoxes(m.zeros(1, 4), format="XYXY", canvas_size=(4, 4), clamping_mode="medium"),
    lambda T, m: T.BoundingBoxes(m.zeros(1, 5, dtype=m.int64), format="XYWHR", canvas_size=(4, 4)),
    lambda T, m: T.KeyPoints(m.zeros(2, 3), canvas_size=(4, 4)),
    lambda T, m: T.set_return_type("numpy"),
])
def test_construction_errors(make):
    with pytest.raises(Exception) as e_t:
        make(TVT, torch)
    with pytest.raises(type(e_t.value)):
        make(JVT, jtorch)


def test_ops_return_plain_tensors_except_a_few(rng):
    j, t = _pair(rng, (4, 4))
    bj = JVT.BoundingBoxes(j, format="XYXY", canvas_size=(20, 20))
    bt = TVT.BoundingBoxes(t, format="XYXY", canvas_size=(20, 20))
    for op in (lambda b: b + 1, lambda b: b * b, lambda b: b[0], lambda b: b.sum(0), lambda b: b.flip(-1),
               lambda b: b.float().mean(), lambda b: b.clamp(0, 5)):
        rj, rt = op(bj), op(bt)
        assert type(rj) is jtorch.Tensor and type(rt) is torch.Tensor
        assert_close(rj, rt)
    for op in (lambda b: b.clone(), lambda b: b.to(torch.float64 if isinstance(b, torch.Tensor) else jtorch.float64),
               lambda b: b.detach(), lambda b: b.requires_grad_(False)):
        _same_kind(op(bj), op(bt))
    assert bj.shape == (4, 4) and bj.ndim == 2 and bj.dtype == jtorch.float32
    mj, mt = JVT.Mask(j), TVT.Mask(t)
    assert type(mj.unbind(0)[0]) is jtorch.Tensor and type(mt.unbind(0)[0]) is torch.Tensor


def test_set_return_type(rng):
    j, t = _pair(rng, (4, 4))
    bj = JVT.BoundingBoxes(j, format="XYWH", canvas_size=(20, 20))
    bt = TVT.BoundingBoxes(t, format="XYWH", canvas_size=(20, 20))
    with JVT.set_return_type("TVTensor"), TVT.set_return_type("TVTensor"):
        _same_kind(bj + 1, bt + 1)
        _same_kind(bj.chunk(2)[1], bt.chunk(2)[1])  # lists keep the metadata too
        _same_kind(JVT.Image(j) * 2, TVT.Image(t) * 2)
        _same_kind(jtorch.cat([JVT.Mask(j), JVT.Mask(j)]), torch.cat([TVT.Mask(t), TVT.Mask(t)]))
    assert type(bj + 1) is jtorch.Tensor  # restored on exit
    JVT.set_return_type("tvtensor")  # the global form, case-insensitive
    try:
        assert type(JVT.Image(j) + 1) is JVT.Image
    finally:
        JVT.set_return_type("Tensor")
    assert type(JVT.Image(j) + 1) is jtorch.Tensor


def test_wrap_repr_copy_pickle(rng):
    j, t = _pair(rng, (3, 4))
    bj = JVT.BoundingBoxes(j[:, :4], format="XYXY", canvas_size=(5, 6), clamping_mode="hard")
    bt = TVT.BoundingBoxes(t[:, :4], format="XYXY", canvas_size=(5, 6), clamping_mode="hard")
    _same_kind(JVT.wrap(j * 2, like=bj), TVT.wrap(t * 2, like=bt))
    _same_kind(JVT.wrap(j * 2, like=bj, canvas_size=(7, 8), format="CXCYWH"),
               TVT.wrap(t * 2, like=bt, canvas_size=(7, 8), format="CXCYWH"))
    _same_kind(JVT.wrap(j, like=JVT.Mask(j)), TVT.wrap(t, like=TVT.Mask(t)))
    img_j, img_t = _pair(rng, (1, 2, 3))
    for a, b in [(bj, bt), (JVT.Image(img_j), TVT.Image(img_t)), (JVT.Mask(img_j), TVT.Mask(img_t)),
                 (JVT.KeyPoints(j[:, :2], canvas_size=(5, 6)), TVT.KeyPoints(t[:, :2], canvas_size=(5, 6)))]:
        assert repr(a) == repr(b)
        _same_kind(copy.deepcopy(a), copy.deepcopy(b))
        _same_kind(pickle.loads(pickle.dumps(a)), b)

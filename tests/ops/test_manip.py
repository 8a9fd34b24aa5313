"""tril/triu, *_indices, diag/diag_embed/diagflat, flip/roll/rot90, repeat/repeat_interleave/tile,
broadcast_tensors/broadcast_shapes, meshgrid and clone against torch, with gradients and errors."""
import numpy as np
import pytest

import jtorch
from tests.ops.indexcheck import check, raises


@pytest.fixture
def x(rng):
    return rng.standard_normal((3, 4)).astype(np.float32)


@pytest.fixture
def y(rng):
    return rng.standard_normal((2, 3, 4)).astype(np.float32)


def test_tril_triu(x, y):
    check(lambda m, x: m.tril(x), x, grad=(0,))
    check(lambda m, y: y.tril(-1), y, grad=(0,))
    check(lambda m, y: m.triu(y, diagonal=2), y, grad=(0,))
    check(lambda m, y: y.clone().triu_(1), y)
    check(lambda m, x: x.clone().tril_(1), x)
    raises(lambda m: m.tril(m.ones(3)))


def test_tri_indices():
    check(lambda m: m.tril_indices(3, 4, 1))
    check(lambda m: m.triu_indices(4, 3, -1))
    check(lambda m: m.triu_indices(4, 3, dtype=m.int32))


def test_diag(x, y):
    check(lambda m, x: m.diag(x), x, grad=(0,))
    check(lambda m, x: m.diag(x, 1), x)
    check(lambda m, x: m.diag(x[0], -2), x, grad=(0,))
    check(lambda m, x: x.diag(-1), x)
    raises(lambda m, y: m.diag(y), y)


def test_diag_embed_diagflat(x, y):
    check(lambda m, x: m.diag_embed(x), x, grad=(0,))
    check(lambda m, x: m.diag_embed(x, 1, 0, 2), x)
    check(lambda m, y: y.diag_embed(-2, 2, 0), y, grad=(0,))
    check(lambda m, x: m.diagflat(x, -1), x, grad=(0,))
    check(lambda m, x: x.diagflat(), x)
    raises(lambda m, x: m.diag_embed(x, 0, 0, 0), x)


def test_flip(x, y):
    check(lambda m, y: m.flip(y, (0, 2)), y, grad=(0,))
    check(lambda m, y: y.flip(-1), y)
    check(lambda m, y: y.flip(0, 1), y)
    check(lambda m, x: m.fliplr(x), x, grad=(0,))
    check(lambda m, y: m.flipud(y), y)
    raises(lambda m, y: y.flip([0, 0]), y)
    raises(lambda m: m.fliplr(m.ones(3)))
    raises(lambda m: m.flipud(m.tensor(1.0)))


def test_roll(y):
    check(lambda m, y: m.roll(y, 1), y, grad=(0,))
    check(lambda m, y: m.roll(y, -2, 2), y)
    check(lambda m, y: y.roll((1, -1), (0, 1)), y, grad=(0,))
    raises(lambda m, y: y.roll((1, -1), (0,)), y)


def test_rot90(x, y):
    check(lambda m, y: m.rot90(y), y, grad=(0,))
    check(lambda m, y: m.rot90(y, 3, (2, 1)), y)
    check(lambda m, y: y.rot90(-1, [0, 2]), y)
    check(lambda m, x: m.rot90(x, 2), x)
    raises(lambda m, x: m.rot90(x, 1, (0, 0)), x)
    raises(lambda m: m.rot90(m.ones(3)))


def test_repeat_tile(x):
    check(lambda m, x: x.repeat(2, 1, 3), x, grad=(0,))
    check(lambda m, x: x.repeat((2, 2)), x)
    check(lambda m, x: m.tile(x, (2,)), x, grad=(0,))
    check(lambda m, x: x.tile(2, 1, 2), x)
    raises(lambda m, x: x.repeat(2), x)
    assert not hasattr(jtorch, "repeat")  # torch has only Tensor.repeat


def test_repeat_interleave(x):
    check(lambda m, x: m.repeat_interleave(x, 2), x, grad=(0,))
    check(lambda m, x: x.repeat_interleave(2, dim=1), x)
    check(lambda m, x: x.repeat_interleave(m.tensor([1, 0, 3]), dim=0), x, grad=(0,))
    check(lambda m, x: x.repeat_interleave(m.tensor([2]), dim=0), x)
    check(lambda m: m.repeat_interleave(m.tensor([1, 3, 2])))
    raises(lambda m, x: x.repeat_interleave(m.tensor([1, 2]), dim=0), x)
    raises(lambda m, x: x.repeat_interleave(m.tensor([1, -2, 1]), dim=0), x)


def test_broadcast(x, y):
    import torch
    assert jtorch.broadcast_shapes((2, 1), (3,), 3) == torch.broadcast_shapes((2, 1), (3,), 3)
    assert isinstance(jtorch.broadcast_shapes((2, 1), (3,)), jtorch.Size)
    raises(lambda m: m.broadcast_shapes((2, 1), (3, 2)))
    check(lambda m, x, y: m.broadcast_tensors(x[:, :1], y), x, y, grad=(0, 1))
    raises(lambda m, x, y: m.broadcast_tensors(x, y[:, :2]), x, y)


def test_broadcast_tensors_are_views():
    a, b = jtorch.zeros(3, 1), jtorch.zeros(4)
    ea, eb = jtorch.broadcast_tensors(a, b)
    assert ea._is_view() and tuple(ea.stride()) == (1, 0)
    a[1, 0] = 5.0
    assert ea[1].tolist() == [5.0] * 4


def test_meshgrid(rng):
    a, b, c = (rng.standard_normal(n).astype(np.float32) for n in (2, 3, 4))
    check(lambda m, a, b: m.meshgrid(a, b, indexing="ij"), a, b, grad=(0, 1))
    check(lambda m, a, b, c: m.meshgrid(a, b, c, indexing="xy"), a, b, c, grad=(0, 1, 2))
    check(lambda m, a, b: m.meshgrid([a, b], indexing="xy"), a, b)
    check(lambda m, b: m.meshgrid(m.tensor(2.0), b, indexing="ij"), b)
    raises(lambda m, a: m.meshgrid(a.reshape(1, 2), a, indexing="ij"), a, match=False)
    raises(lambda m, a: m.meshgrid(a, a.double(), indexing="ij"), a)


def test_clone(x):
    check(lambda m, x: m.clone(x) * 2, x, grad=(0,))
    j = jtorch.tensor(x)
    c = j.clone()
    c[0, 0] = 100.0
    assert j[0, 0].item() == x[0, 0] and c[0, 0].item() == 100.0
    assert not c._is_view() and c.is_contiguous()

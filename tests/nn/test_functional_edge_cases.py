"""nn.functional on 0-dim inputs, empty batches and negative replicate padding, against torch (values, grads,
errors)."""
import numpy as np
import pytest
import torch

import jtorch
from tests.ops.mathcheck import check


def _raises(exc, f):
    with pytest.raises(exc):
        f(torch)
    with pytest.raises(exc):
        f(jtorch)


def test_cosine_similarity_and_normalize_0dim(rng):
    a, b = np.float32(rng.standard_normal()), np.float32(-abs(rng.standard_normal()))
    a, b = np.array(a), np.array(b)
    for dim in (0, -1):
        check(lambda L, x, y: L.nn.functional.cosine_similarity(x, y, dim=dim), a, b, grad=(0, 1))
        check(lambda L, x: L.nn.functional.normalize(x, p=1.2, dim=dim), a, grad=(0,))
    check(lambda L, x, y: L.nn.functional.cosine_similarity(x, y, dim=0), rng.standard_normal(3).astype(np.float32),
          b, grad=(0, 1))
    check(lambda L, x: L.nn.functional.normalize(x, dim=0), np.zeros((), np.float32))
    _raises(IndexError, lambda L: L.nn.functional.cosine_similarity(L.tensor(1.0), L.tensor(2.0)))  # dim=1
    _raises(IndexError, lambda L: L.nn.functional.normalize(L.tensor(1.0), dim=1))


def test_prelu_0dim(rng):
    w = np.array([0.3], np.float32)
    for v in (-1.7, 0.8):
        check(lambda L, x, a: L.nn.functional.prelu(x, a), np.array(v, np.float32), w, grad=(0, 1))
    check(lambda L, x, a: L.nn.functional.prelu(x, a), rng.standard_normal((2, 3, 4)).astype(np.float32), w,
          grad=(0, 1))


def test_margin_losses_0dim(rng):
    x = np.array(rng.standard_normal(), np.float32)
    for red in ("mean", "sum", "none"):
        check(lambda L, a, t: L.nn.functional.multi_margin_loss(a, t, reduction=red), x, np.array(0), grad=(0,))
        for t in (0, -1):
            check(lambda L, a, tt: L.nn.functional.multilabel_margin_loss(a, tt, reduction=red), x, np.array(t),
                  grad=(0,))
    _raises(RuntimeError, lambda L: L.nn.functional.multi_margin_loss(L.tensor(0.5), L.tensor(1)))
    _raises(RuntimeError, lambda L: L.nn.functional.multilabel_margin_loss(L.tensor(0.5), L.tensor(1)))
    _raises(RuntimeError, lambda L: L.nn.functional.multi_margin_loss(L.ones(2, 3), L.tensor([0, 5])))
    _raises(RuntimeError, lambda L: L.nn.functional.multi_margin_loss(L.ones(2, 3), L.tensor([-1, 0])))
    _raises(RuntimeError, lambda L: L.nn.functional.multilabel_margin_loss(L.ones(3), L.tensor([0, 5, 1])))
    # 1-D input (one sample of C classes) still works
    check(lambda L, a, t: L.nn.functional.multi_margin_loss(a, t), rng.standard_normal(5).astype(np.float32),
          np.array(2), grad=(0,))


def test_unfold_empty_batch(rng):
    check(lambda L, x: L.nn.functional.unfold(x, (2, 3), padding=1, stride=(1, 2)), np.zeros((0, 2, 5, 5), np.float32))
    check(lambda L, x: L.nn.functional.unfold(x, 2), rng.standard_normal((2, 2, 4, 4)).astype(np.float32),
          grad=(0,))
    _raises(RuntimeError, lambda L: L.nn.functional.unfold(L.zeros(2, 0, 5, 5), 2))


def test_batch_norm_empty_and_1d(rng):
    check(lambda L, x, m, v: L.nn.functional.batch_norm(x, m, v, training=True), np.zeros(0, np.float32),
          np.zeros(0, np.float32), np.zeros(0, np.float32))
    rm, rv = rng.standard_normal(3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    for training in (True, False):
        tm, tv, jm, jv = torch.tensor(rm), torch.tensor(rv), jtorch.tensor(rm), jtorch.tensor(rv)
        t = torch.nn.functional.batch_norm(torch.zeros(0, 3), tm, tv, training=training)
        j = jtorch.nn.functional.batch_norm(jtorch.zeros(0, 3), jm, jv, training=training)
        assert tuple(j.shape) == tuple(t.shape) == (0, 3)
        np.testing.assert_array_equal(np.asarray(jm), tm.numpy())  # running statistics untouched
        np.testing.assert_array_equal(np.asarray(jv), tv.numpy())
    _raises(RuntimeError, lambda L: L.nn.functional.batch_norm(L.ones(3), L.zeros(3), L.ones(3)))
    _raises(IndexError, lambda L: L.nn.functional.batch_norm(L.ones(3), None, None, training=True))
    _raises(ValueError, lambda L: L.nn.functional.batch_norm(L.ones(1, 3), None, None, training=True))


@pytest.mark.parametrize("pad", [(-4, 5), (-5, 2), (-6, 3), (2, -4), (3, -5), (-2, -2), (1, 2)])
def test_pad_replicate_negative_1d(rng, pad):
    x = rng.standard_normal((2, 3, 5)).astype(np.float32)
    check(lambda L, a: L.nn.functional.pad(a, pad, mode="replicate"), x, grad=(0,))


@pytest.mark.parametrize("pad", [(-4, 5, 0, 0), (0, 0, 2, -4), (5, -4, -4, 3), (-2, -3, 0, 1), (1, 1, -1, -2)])
def test_pad_replicate_negative_2d(rng, pad):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    check(lambda L, a: L.nn.functional.pad(a, pad, mode="replicate"), x, grad=(0,))


def test_pad_replicate_too_small():
    _raises(RuntimeError, lambda L: L.nn.functional.pad(L.ones(1, 1, 5), (-3, -3), mode="replicate"))
    _raises(RuntimeError, lambda L: L.nn.functional.pad(L.ones(1, 1, 5), (-2, -3), mode="replicate"))
    _raises(RuntimeError, lambda L: L.nn.functional.pad(L.ones(1, 1, 4, 5), (-2, -4, 0, 0), mode="replicate"))


def test_relu_keeps_nan_and_its_gradient():
    x = np.array([np.nan, -1.0, 0.0, 2.0, -np.inf, np.inf], np.float32)
    for f in (lambda L, a: L.relu(a), lambda L, a: L.nn.functional.relu(a), lambda L, a: L.nn.ReLU()(a)):
        t = torch.tensor(x, requires_grad=True)
        j = jtorch.tensor(x, requires_grad=True)
        tr, jr = f(torch, t), f(jtorch, j)
        np.testing.assert_array_equal(np.asarray(jr.detach()), tr.detach().numpy())
        tr.sum().backward()
        jr.sum().backward()
        np.testing.assert_array_equal(np.asarray(j.grad), t.grad.numpy())
    ti, ji = torch.tensor([-2, 0, 3]), jtorch.tensor([-2, 0, 3])
    np.testing.assert_array_equal(np.asarray(jtorch.relu(ji)), torch.relu(ti).numpy())

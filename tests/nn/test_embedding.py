"""Embedding, EmbeddingBag, one_hot and normalize against torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtorch
import jtorch.nn as nn
import jtorch.nn.functional as F
from tests.helpers import assert_close


def _w(rng, n=7, d=3):
    w = rng.standard_normal((n, d)).astype(np.float32)
    return torch.tensor(w, requires_grad=True), jtorch.tensor(w, requires_grad=True)


def test_embedding_functional_grads(rng):
    idx = rng.integers(0, 7, (3, 4))
    idx[0, :2] = 2   # repeated index, padding row
    tw, jw = _w(rng)
    ct = rng.standard_normal((3, 4, 3)).astype(np.float32)
    for kw in [{}, dict(padding_idx=2), dict(scale_grad_by_freq=True), dict(padding_idx=-5)]:
        tw.grad = None
        jw.grad = None
        t = TF.embedding(torch.tensor(idx), tw, **kw)
        j = F.embedding(jtorch.tensor(idx), jw, **kw)
        assert_close(j, t)
        t.backward(torch.tensor(ct))
        j.backward(jtorch.tensor(ct))
        assert_close(jw.grad, tw.grad)


def test_embedding_max_norm_renorms_in_place(rng):
    w = 3 * rng.standard_normal((6, 4)).astype(np.float32)
    idx = np.array([0, 2, 2, 5])
    tw, jw = torch.tensor(w), jtorch.tensor(w)
    t = TF.embedding(torch.tensor(idx), tw, max_norm=1.5)
    j = F.embedding(jtorch.tensor(idx), jw, max_norm=1.5)
    assert_close(j, t)
    assert_close(jw, tw)   # the referenced rows were rescaled in the weight itself
    t = TF.embedding(torch.tensor(idx), tw, max_norm=2.0, norm_type=1.0)
    j = F.embedding(jtorch.tensor(idx), jw, max_norm=2.0, norm_type=1.0)
    assert_close(jw, tw)


def test_embedding_errors(rng):
    w = jtorch.randn(3, 2)
    with pytest.raises(IndexError):
        F.embedding(jtorch.tensor([0, 3]), w)
    with pytest.raises(IndexError):
        F.embedding(jtorch.tensor([-1]), w)
    with pytest.raises(RuntimeError):
        F.embedding(jtorch.tensor([1.0]), w)
    with pytest.raises(AssertionError):
        nn.Embedding(3, 2, padding_idx=5)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag(rng, mode):
    idx = rng.integers(0, 7, 9)
    offsets = np.array([0, 2, 2, 6])   # an empty bag
    ct = rng.standard_normal((4, 3)).astype(np.float32)
    # (scale_grad_by_freq for bags is left out: torch's CPU kernel does not divide by the plain
    # index frequency its docs describe, which is what jtorch does)
    extra = [dict(per_sample_weights=True)] if mode == "sum" else []
    for kw in [{}, dict(padding_idx=int(idx[3]))] + extra:
        tw, jw = _w(rng)
        kw = dict(kw)
        if kw.pop("per_sample_weights", False):
            psw = rng.random(9).astype(np.float32)
            kw_t = dict(per_sample_weights=torch.tensor(psw, requires_grad=True))
            kw_j = dict(per_sample_weights=jtorch.tensor(psw, requires_grad=True))
        else:
            kw_t, kw_j = {}, {}
        t = TF.embedding_bag(torch.tensor(idx), tw, torch.tensor(offsets), mode=mode, **kw, **kw_t)
        j = F.embedding_bag(jtorch.tensor(idx), jw, jtorch.tensor(offsets), mode=mode, **kw, **kw_j)
        assert_close(j, t)
        t.backward(torch.tensor(ct))
        j.backward(jtorch.tensor(ct))
        assert_close(jw.grad, tw.grad)
        if kw_t:
            assert_close(kw_j["per_sample_weights"].grad, kw_t["per_sample_weights"].grad)
    # 2-D input: fixed-length bags; include_last_offset
    tw, jw = _w(rng)
    idx2 = rng.integers(0, 7, (3, 2))
    assert_close(F.embedding_bag(jtorch.tensor(idx2), jw, mode=mode),
                 TF.embedding_bag(torch.tensor(idx2), tw, mode=mode))
    off = np.array([0, 3, 5, 9])
    assert_close(F.embedding_bag(jtorch.tensor(idx), jw, jtorch.tensor(off), mode=mode, include_last_offset=True),
                 TF.embedding_bag(torch.tensor(idx), tw, torch.tensor(off), mode=mode, include_last_offset=True))


def test_embedding_bag_errors():
    w = jtorch.randn(5, 2)
    with pytest.raises(ValueError):
        F.embedding_bag(jtorch.tensor([1, 2]), w)
    with pytest.raises(ValueError):
        F.embedding_bag(jtorch.tensor([[1, 2]]), w, jtorch.tensor([0]))
    with pytest.raises(ValueError):
        F.embedding_bag(jtorch.tensor([[1, 2]]), w, mode="max", scale_grad_by_freq=True)
    with pytest.raises(NotImplementedError):
        F.embedding_bag(jtorch.tensor([[1, 2]]), w, mode="mean", per_sample_weights=jtorch.ones(1, 2))


def test_embedding_modules(rng):
    tm = torch.nn.Embedding(10, 4, padding_idx=1)
    jm = nn.Embedding(10, 4, padding_idx=1)
    assert list(jm.state_dict()) == list(tm.state_dict()) == ["weight"]
    assert repr(jm) == repr(tm)
    assert float(jm.weight[1].abs().sum()) == 0.0
    jm.load_state_dict({"weight": jtorch.tensor(tm.weight.detach().numpy())})
    idx = rng.integers(0, 10, (2, 5))
    t, j = tm(torch.tensor(idx)), jm(jtorch.tensor(idx))
    assert_close(j, t)
    t.sum().backward()
    j.sum().backward()
    assert_close(jm.weight.grad, tm.weight.grad)
    # default init is N(0, 1)
    big = nn.Embedding(2000, 50).weight.detach().numpy()
    assert abs(big.mean()) < 0.01 and abs(big.std() - 1) < 0.01

    w = rng.standard_normal((5, 3)).astype(np.float32)
    je = nn.Embedding.from_pretrained(jtorch.tensor(w))
    te = torch.nn.Embedding.from_pretrained(torch.tensor(w))
    assert je.weight.requires_grad is te.weight.requires_grad is False
    assert_close(je(jtorch.tensor([4, 0])), te(torch.tensor([4, 0])))
    assert nn.Embedding.from_pretrained(jtorch.tensor(w), freeze=False).weight.requires_grad

    tb = torch.nn.EmbeddingBag(5, 3, mode="max")
    jb = nn.EmbeddingBag(5, 3, mode="max")
    assert repr(jb) == repr(tb)
    jb.load_state_dict({"weight": jtorch.tensor(tb.weight.detach().numpy())})
    idx = np.array([0, 4, 1, 1, 3])
    assert_close(jb(jtorch.tensor(idx), jtorch.tensor([0, 3])), tb(torch.tensor(idx), torch.tensor([0, 3])))
    assert_close(nn.EmbeddingBag.from_pretrained(jtorch.tensor(w), mode="sum")(jtorch.tensor([[0, 1]])),
                 torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), mode="sum")(torch.tensor([[0, 1]])))


def test_one_hot(rng):
    x = rng.integers(0, 5, (2, 3))
    assert_close(F.one_hot(jtorch.tensor(x)), TF.one_hot(torch.tensor(x)))
    assert_close(F.one_hot(jtorch.tensor(x), 7), TF.one_hot(torch.tensor(x), 7))
    assert_close(F.one_hot(jtorch.tensor(3), 4), TF.one_hot(torch.tensor(3), 4))
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(jtorch.tensor([1, 5]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(jtorch.tensor([1, -1]))
    with pytest.raises(RuntimeError):
        F.one_hot(jtorch.tensor([1.0]))
    with pytest.raises(RuntimeError):
        F.one_hot(jtorch.zeros(0, dtype=jtorch.long))


def test_normalize(rng):
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    x[0, :, 1] = 0.0   # an all-zero slice: gradient must stay finite like torch's
    ct = rng.standard_normal(x.shape).astype(np.float32)
    for kw in [{}, dict(p=1.0, dim=-1), dict(p=3, dim=0, eps=0.1), dict(p=float("inf"), dim=1)]:
        tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
        t, j = TF.normalize(tx, **kw), F.normalize(jx, **kw)
        assert_close(j, t)
        t.backward(torch.tensor(ct))
        j.backward(jtorch.tensor(ct))
        assert_close(jx.grad, tx.grad, atol=1e-5)
    with pytest.raises(IndexError):
        F.normalize(jtorch.tensor(x), dim=3)

"""Randomness: reproducibility, distributions (statistics), shapes and dtypes like torch."""
import numpy as np
import pytest
import torch

import jtorch


def test_manual_seed_reproducible():
    jtorch.manual_seed(123)
    a = jtorch.rand(5)
    b = jtorch.randn(3, 3)
    jtorch.manual_seed(123)
    assert jtorch.equal(a, jtorch.rand(5)) and jtorch.equal(b, jtorch.randn(3, 3))
    assert jtorch.initial_seed() == 123
    g = jtorch.Generator().manual_seed(7)
    x = jtorch.rand(4, generator=g)
    g.manual_seed(7)
    assert jtorch.equal(x, jtorch.rand(4, generator=g))
    st = jtorch.get_rng_state()
    y = jtorch.rand(3)
    jtorch.set_rng_state(st)
    assert jtorch.equal(y, jtorch.rand(3))


@pytest.mark.parametrize("fn,kw", [
    ("rand", {}), ("randn", {}), ("rand", {"dtype": "float64"}), ("randn", {"dtype": "float16"}),
])
def test_float_samplers(fn, kw):
    jtorch.manual_seed(0)
    kj = {k: getattr(jtorch, v) for k, v in kw.items()}
    kt = {k: getattr(torch, v) for k, v in kw.items()}
    j = getattr(jtorch, fn)(200, 100, **kj)
    t = getattr(torch, fn)(200, 100, **kt)
    assert j.shape == t.shape and str(j.dtype) == str(t.dtype)
    a = j.double().numpy()
    if fn == "rand":
        assert a.min() >= 0 and a.max() < 1 and abs(a.mean() - 0.5) < 0.01 and abs(a.std() - 0.2887) < 0.01
    else:
        assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02


def test_integer_samplers():
    jtorch.manual_seed(1)
    r = jtorch.randint(0, 10, (2, 3))
    assert str(r.dtype) == str(torch.randint(0, 10, (2, 3)).dtype) == "torch.int64" and r.shape == (2, 3)
    big = jtorch.randint(3, 7, (10000,)).numpy()
    assert big.min() == 3 and big.max() == 6
    assert jtorch.randint(5, (4,)).shape == (4,)
    p = jtorch.randperm(50)
    assert p.dtype == jtorch.int64 and sorted(p.tolist()) == list(range(50))
    with pytest.raises(RuntimeError):
        jtorch.randint(5, 5, (2,))


def test_distributions_statistics():
    jtorch.manual_seed(2)
    n = jtorch.normal(3.0, 2.0, size=(20000,)).numpy()
    assert abs(n.mean() - 3) < 0.05 and abs(n.std() - 2) < 0.05
    m = jtorch.normal(jtorch.zeros(1000) + 5, jtorch.ones(1000))
    assert abs(m.mean().item() - 5) < 0.15
    b = jtorch.bernoulli(jtorch.full((20000,), 0.3)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.02
    probs = jtorch.tensor([0.1, 0.0, 0.6, 0.3])
    s = jtorch.multinomial(probs, 10000, replacement=True).numpy()
    assert s.dtype == np.int64 and (s != 1).all() and abs((s == 2).mean() - 0.6) < 0.03
    s2 = jtorch.multinomial(probs, 3).tolist()
    assert len(set(s2)) == 3 and 1 not in s2
    with pytest.raises(RuntimeError):
        jtorch.multinomial(probs, 4)
    po = jtorch.poisson(jtorch.full((20000,), 4.0)).numpy()
    assert abs(po.mean() - 4) < 0.1


def test_inplace_samplers():
    jtorch.manual_seed(3)
    x = jtorch.empty(20000)
    assert x.uniform_(-2, 2) is x and x.min() >= -2 and x.max() < 2 and abs(x.mean().item()) < 0.05
    x.normal_(1, 0.5)
    assert abs(x.mean().item() - 1) < 0.02 and abs(x.std().item() - 0.5) < 0.02
    x.exponential_(2.0)
    assert abs(x.mean().item() - 0.5) < 0.02
    x.bernoulli_(0.25)
    assert abs(x.mean().item() - 0.25) < 0.02
    i = jtorch.empty(1000, dtype=jtorch.int64).random_(0, 5)
    assert i.min() == 0 and i.max() == 4
    for f in ("rand_like", "randn_like"):
        y = getattr(jtorch, f)(jtorch.ones(2, 3, dtype=jtorch.float64))
        assert y.shape == (2, 3) and y.dtype == jtorch.float64
    assert jtorch.randint_like(jtorch.ones(3), 10).dtype == jtorch.float32

"""Discrete distributions against torch.distributions: log_prob/entropy/moments by value (probs and
logits parameterisations), enumerate_support, samples by statistics."""
import numpy as np
import pytest
import torch

import jtorch
from tests.distributions.dcheck import check_sample_stats, compare_at, compare_props, pair
from tests.helpers import assert_close

F32 = np.float32


def _probs(rng, *shape):
    return rng.uniform(0.1, 0.9, shape).astype(F32)


def _simplex(rng, *shape):
    return rng.dirichlet(np.ones(shape[-1]), shape[:-1]).astype(F32)


CASES = {
    "Bernoulli-probs": ("Bernoulli", lambda r: dict(probs=_probs(r, 3)),
                        lambda r, p: r.integers(0, 2, (4, 3)).astype(F32), ["mean", "mode", "variance", "entropy"]),
    "Bernoulli-logits": ("Bernoulli", lambda r: dict(logits=r.standard_normal(3).astype(F32)),
                         lambda r, p: r.integers(0, 2, (4, 3)).astype(F32), ["mean", "variance", "entropy", "probs"]),
    "Binomial-probs": ("Binomial", lambda r: dict(total_count=10, probs=_probs(r, 3)),
                       lambda r, p: r.integers(0, 11, (4, 3)).astype(F32), ["mean", "mode", "variance", "entropy"]),
    "Binomial-logits": ("Binomial", lambda r: dict(total_count=r.integers(1, 9, 3).astype(F32),
                                                   logits=r.standard_normal(3).astype(F32)),
                        lambda r, p: np.minimum(r.integers(0, 9, (4, 3)), p["total_count"]).astype(F32),
                        ["mean", "mode", "variance"]),
    "Geometric": ("Geometric", lambda r: dict(probs=_probs(r, 3)),
                  lambda r, p: r.integers(0, 8, (4, 3)).astype(F32), ["mean", "mode", "variance", "entropy"]),
    "Poisson": ("Poisson", lambda r: dict(rate=r.uniform(0.5, 6, 3).astype(F32)),
                lambda r, p: r.integers(0, 9, (4, 3)).astype(F32), ["mean", "mode", "variance"]),
    "Categorical-probs": ("Categorical", lambda r: dict(probs=_simplex(r, 3, 5)),
                          lambda r, p: r.integers(0, 5, (4, 3)), ["mode", "entropy", "probs", "logits"]),
    "Categorical-logits": ("Categorical", lambda r: dict(logits=r.standard_normal((3, 5)).astype(F32)),
                           lambda r, p: r.integers(0, 5, (4, 3)), ["mode", "entropy", "probs", "logits"]),
    "OneHotCategorical": ("OneHotCategorical", lambda r: dict(probs=_simplex(r, 3, 5)),
                          lambda r, p: np.eye(5, dtype=F32)[r.integers(0, 5, (4, 3))],
                          ["mean", "mode", "variance", "entropy"]),
    "Multinomial": ("Multinomial", lambda r: dict(total_count=6, probs=_simplex(r, 3, 4)),
                    lambda r, p: np.stack([r.multinomial(6, pp, 4) for pp in p["probs"].astype(np.float64)
                                           / p["probs"].astype(np.float64).sum(-1, keepdims=True)], 1).astype(F32),
                    ["mean", "variance", "entropy"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_closed_forms(case, rng):
    name, params, value, props = CASES[case]
    p = params(rng)
    td, jd, _, _ = pair(name, p)
    assert tuple(jd.batch_shape) == tuple(td.batch_shape)
    assert tuple(jd.event_shape) == tuple(td.event_shape)
    assert repr(jd) == repr(td)
    compare_props(td, jd, props)
    compare_at(td, jd, "log_prob", value(rng, p), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("case", [c for c in CASES if c != "Geometric"])
def test_sample_statistics(case, rng):
    name, params, _, _ = CASES[case]
    jtorch.manual_seed(int(rng.integers(1 << 30)))
    td, jd, _, _ = pair(name, params(rng))
    if name in ("Categorical",):  # mean/variance are nan: compare frequencies instead
        n = 20000
        s = jd.sample((n,)).numpy()
        assert s.dtype == np.int64 and s.shape == (n, 3)
        freq = np.stack([(s == k).mean(0) for k in range(5)], -1)
        np.testing.assert_allclose(freq, td.probs.numpy(), atol=0.02)
        return
    s = check_sample_stats(td, jd)
    assert np.all(s == np.round(s))  # counts are integers
    if name == "Multinomial":
        assert np.all(s.sum(-1) == 6)
    if name == "OneHotCategorical":
        assert np.all(s.sum(-1) == 1)


def test_geometric_samples(rng):
    jtorch.manual_seed(5)
    p = _probs(rng, 3)
    td, jd, _, _ = pair("Geometric", dict(probs=p))
    check_sample_stats(td, jd)


@pytest.mark.parametrize("case", ["Bernoulli-probs", "Categorical-logits", "Binomial-probs", "OneHotCategorical"])
@pytest.mark.parametrize("expand", [True, False])
def test_enumerate_support(case, expand, rng):
    name, params, _, _ = CASES[case]
    td, jd, _, _ = pair(name, params(rng))
    assert jd.has_enumerate_support
    assert_close(jd.enumerate_support(expand), td.enumerate_support(expand))
    assert_close(jd.log_prob(jd.enumerate_support()), td.log_prob(td.enumerate_support()), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", ["Bernoulli-logits", "Categorical-logits", "Binomial-probs", "Poisson",
                                  "Multinomial", "Geometric"])
def test_log_prob_gradients(case, rng):
    name, params, value, _ = CASES[case]
    p = params(rng)
    td, jd, tp, jp = pair(name, p, grad=True)
    v = value(rng, p)
    td.log_prob(torch.tensor(v)).sum().backward()
    jd.log_prob(jtorch.tensor(v)).sum().backward()
    for k in tp:
        if isinstance(tp[k], torch.Tensor) and tp[k].requires_grad:
            assert_close(jp[k].grad, tp[k].grad, rtol=1e-3, atol=1e-4)


def test_lazy_probs_logits(rng):
    D = jtorch.distributions
    d = D.Bernoulli(logits=jtorch.tensor(rng.standard_normal(3).astype(F32)))
    assert "probs" not in d.__dict__
    d.probs
    assert "probs" in d.__dict__
    c = D.Categorical(probs=jtorch.tensor(rng.uniform(1, 2, (2, 4)).astype(F32)))  # normalised
    np.testing.assert_allclose(c.probs.sum(-1).numpy(), 1.0, rtol=1e-6)
    assert c.param_shape == (2, 4) and c.batch_shape == (2,)


def test_categorical_never_draws_zero_probability(rng):
    jtorch.manual_seed(0)
    d = jtorch.distributions.Categorical(probs=jtorch.tensor([0.0, 0.5, 0.0, 0.5]))
    s = d.sample((20000,)).numpy()
    assert set(np.unique(s)) == {1, 3}


def test_straight_through_gradient(rng):
    D = jtorch.distributions
    logits = jtorch.tensor(rng.standard_normal((2, 4)).astype(F32), requires_grad=True)
    d = D.OneHotCategoricalStraightThrough(logits=logits)
    s = d.rsample((3,))
    assert s.shape == (3, 2, 4)
    np.testing.assert_array_equal(s.detach().sum(-1).numpy(), 1.0)
    w = jtorch.tensor(rng.standard_normal(4).astype(F32))
    (s * w).sum().backward()
    tl = torch.tensor(logits.detach().numpy(), requires_grad=True)
    (torch.softmax(tl, -1) * torch.tensor(w.numpy()) * 3).sum().backward()
    assert_close(logits.grad, tl.grad, rtol=1e-4, atol=1e-5)


def test_binomial_inhomogeneous_entropy_raises():
    d = jtorch.distributions.Binomial(jtorch.tensor([2.0, 3.0]), jtorch.tensor([0.3, 0.4]))
    with pytest.raises(NotImplementedError):
        d.entropy()
    with pytest.raises(NotImplementedError):
        jtorch.distributions.Multinomial(jtorch.tensor(3), jtorch.tensor([0.3, 0.7]))

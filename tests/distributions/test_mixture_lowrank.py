"""MixtureSameFamily, LowRankMultivariateNormal, NegativeBinomial and LogisticNormal against
torch.distributions."""
import numpy as np
import pytest
import torch

import jtorch
from tests.distributions.dcheck import check_sample_stats, compare_at, compare_props
from tests.helpers import assert_close

F32 = np.float32


def _build(M, fn):
    t = torch.tensor if M is torch else jtorch.tensor
    return fn(M.distributions, t)


@pytest.mark.parametrize("kind", ["univariate", "batched", "multivariate"])
def test_mixture_same_family(kind, rng):
    logits = rng.standard_normal((2, 3) if kind == "batched" else (3,)).astype(F32)
    if kind == "multivariate":
        loc, scale = rng.standard_normal((3, 2)).astype(F32), rng.uniform(0.5, 1.5, (3, 2)).astype(F32)

        def make(D, t):
            return D.MixtureSameFamily(D.Categorical(logits=t(logits)), D.Independent(D.Normal(t(loc), t(scale)), 1))
        value = rng.standard_normal((5, 2)).astype(F32)
    else:
        shape = logits.shape
        loc, scale = (rng.standard_normal(shape) * 2).astype(F32), rng.uniform(0.5, 1.5, shape).astype(F32)

        def make(D, t):
            return D.MixtureSameFamily(D.Categorical(logits=t(logits)), D.Normal(t(loc), t(scale)))
        value = rng.standard_normal((5,) + shape[:-1]).astype(F32)
    td, jd = _build(torch, make), _build(jtorch, make)
    assert jd.batch_shape == td.batch_shape and jd.event_shape == td.event_shape
    assert repr(jd) == repr(td)
    compare_props(td, jd, ["mean", "variance"])
    compare_at(td, jd, "log_prob", value, rtol=1e-4, atol=1e-5)
    if kind != "multivariate":
        compare_at(td, jd, "cdf", value, rtol=1e-4, atol=1e-5)
    jtorch.manual_seed(2)
    check_sample_stats(td, jd)
    e = jd.expand((4,) + tuple(jd.batch_shape))
    assert e.sample().shape == (4,) + tuple(jd.batch_shape) + tuple(jd.event_shape)


def test_mixture_gradients_and_errors(rng):
    logits = rng.standard_normal(3).astype(F32)
    loc = rng.standard_normal(3).astype(F32)
    v = rng.standard_normal(6).astype(F32)
    grads = []
    for M, t in ((torch, torch.tensor), (jtorch, jtorch.tensor)):
        lg, lc = t(logits, requires_grad=True), t(loc, requires_grad=True)
        D = M.distributions
        D.MixtureSameFamily(D.Categorical(logits=lg), D.Normal(lc, 1.0)).log_prob(t(v)).sum().backward()
        grads.append((lg.grad, lc.grad))
    assert_close(grads[1][0], grads[0][0], rtol=1e-4, atol=1e-5)
    assert_close(grads[1][1], grads[0][1], rtol=1e-4, atol=1e-5)
    D = jtorch.distributions
    with pytest.raises(ValueError, match="Categorical"):
        D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(jtorch.zeros(3), 1.0))
    with pytest.raises(ValueError, match="does not equal"):
        D.MixtureSameFamily(D.Categorical(logits=jtorch.zeros(2)), D.Normal(jtorch.zeros(3), 1.0))


def _lowrank(rng, grad=False):
    loc = rng.standard_normal((2, 4)).astype(F32)
    W = rng.standard_normal((2, 4, 2)).astype(F32)
    d = rng.uniform(0.5, 1.5, (2, 4)).astype(F32)
    out = []
    for M in (torch, jtorch):
        ps = [M.tensor(a, requires_grad=grad) for a in (loc, W, d)]
        out.append((M.distributions.LowRankMultivariateNormal(*ps), ps))
    return out


def test_lowrank_mvn(rng):
    (td, _), (jd, _) = _lowrank(rng)
    assert jd.batch_shape == td.batch_shape and jd.event_shape == td.event_shape
    compare_props(td, jd, ["mean", "mode", "variance", "entropy", "covariance_matrix", "precision_matrix",
                           "scale_tril"], rtol=1e-4, atol=1e-4)
    compare_at(td, jd, "log_prob", rng.standard_normal((3, 2, 4)).astype(F32), rtol=1e-4, atol=1e-4)
    jtorch.manual_seed(5)
    check_sample_stats(td, jd)
    assert jd.expand((3, 2)).rsample().shape == (3, 2, 4)
    (td, tp), (jd, jp) = _lowrank(rng, grad=True)
    v = rng.standard_normal((3, 2, 4)).astype(F32)
    td.log_prob(torch.tensor(v)).sum().backward()
    jd.log_prob(jtorch.tensor(v)).sum().backward()
    for a, b in zip(jp, tp):
        assert_close(a.grad, b.grad, rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError):
        jtorch.distributions.LowRankMultivariateNormal(jtorch.zeros(3), jtorch.zeros(4, 2), jtorch.ones(3))


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_negative_binomial(param, rng):
    count = rng.uniform(1, 6, 3).astype(F32)
    p = rng.uniform(0.2, 0.7, 3).astype(F32) if param == "probs" else rng.standard_normal(3).astype(F32) * 0.5
    td = torch.distributions.NegativeBinomial(torch.tensor(count), **{param: torch.tensor(p)})
    jd = jtorch.distributions.NegativeBinomial(jtorch.tensor(count), **{param: jtorch.tensor(p)})
    assert repr(jd) == repr(td)
    compare_props(td, jd, ["mean", "mode", "variance"])
    compare_at(td, jd, "log_prob", rng.integers(0, 10, (4, 3)).astype(F32), rtol=1e-4, atol=1e-5)
    jtorch.manual_seed(9)
    s = check_sample_stats(td, jd)
    assert np.all(s == np.round(s)) and s.min() >= 0


def test_logistic_normal(rng):
    loc, scale = rng.standard_normal((2, 3)).astype(F32), rng.uniform(0.5, 1.5, (2, 3)).astype(F32)
    td = torch.distributions.LogisticNormal(torch.tensor(loc), torch.tensor(scale))
    jd = jtorch.distributions.LogisticNormal(jtorch.tensor(loc), jtorch.tensor(scale))
    assert jd.batch_shape == td.batch_shape and jd.event_shape == td.event_shape == (4,)
    v = rng.dirichlet(np.ones(4), (5, 2)).astype(F32)
    compare_at(td, jd, "log_prob", v, rtol=1e-4, atol=1e-4)
    s = jd.sample((7,))
    assert s.shape == (7, 2, 4)
    np.testing.assert_allclose(s.sum(-1).numpy(), 1.0, rtol=1e-5)

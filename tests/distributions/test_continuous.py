"""Continuous distributions against torch.distributions: closed forms by value (log_prob, cdf, icdf,
entropy, mean, mode, variance, stddev), samples by statistics, rsample gradients by their expectation."""
import numpy as np
import pytest
import torch

import jtorch
from tests.distributions.dcheck import check_sample_stats, compare_at, compare_props, pair
from tests.helpers import assert_close

F32 = np.float32


def _pos(rng, *shape, lo=0.5, hi=3.0):
    return rng.uniform(lo, hi, shape).astype(F32)


def _real(rng, *shape):
    return rng.standard_normal(shape).astype(F32)


# name -> (params(rng), value(rng, params) inside the support, closed-form properties, has cdf, has icdf)
CASES = {
    "Normal": (lambda r: dict(loc=_real(r, 3), scale=_pos(r, 3)), lambda r, p: _real(r, 4, 3),
               ["mean", "mode", "variance", "stddev", "entropy"], True, True),
    "Laplace": (lambda r: dict(loc=_real(r, 3), scale=_pos(r, 3)), lambda r, p: _real(r, 4, 3),
                ["mean", "mode", "variance", "stddev", "entropy"], True, True),
    "Cauchy": (lambda r: dict(loc=_real(r, 3), scale=_pos(r, 3)), lambda r, p: _real(r, 4, 3),
               ["mean", "mode", "variance", "entropy"], True, True),
    "Uniform": (lambda r: dict(low=_real(r, 3) - 2, high=_real(r, 3) + 2),
                lambda r, p: (p["low"] + (p["high"] - p["low"]) * r.uniform(0.01, 0.99, (4, 3))).astype(F32),
                ["mean", "variance", "stddev", "entropy"], True, True),
    "Exponential": (lambda r: dict(rate=_pos(r, 3)), lambda r, p: _pos(r, 4, 3, lo=0.01),
                    ["mean", "mode", "variance", "stddev", "entropy"], True, True),
    "Gamma": (lambda r: dict(concentration=_pos(r, 3), rate=_pos(r, 3)), lambda r, p: _pos(r, 4, 3, lo=0.05),
              ["mean", "mode", "variance", "stddev", "entropy"], True, False),
    "Chi2": (lambda r: dict(df=_pos(r, 3, lo=1, hi=6)), lambda r, p: _pos(r, 4, 3, lo=0.05),
             ["mean", "mode", "variance", "entropy"], False, False),
    "Beta": (lambda r: dict(concentration1=_pos(r, 3), concentration0=_pos(r, 3)),
             lambda r, p: r.uniform(0.02, 0.98, (4, 3)).astype(F32),
             ["mean", "mode", "variance", "entropy"], False, False),
    "Dirichlet": (lambda r: dict(concentration=_pos(r, 2, 4)),
                  lambda r, p: r.dirichlet(np.ones(4), (3, 2)).astype(F32),
                  ["mean", "mode", "variance", "entropy"], False, False),
    "LogNormal": (lambda r: dict(loc=_real(r, 3) * 0.3, scale=_pos(r, 3, lo=0.2, hi=0.8)),
                  lambda r, p: _pos(r, 4, 3, lo=0.05), ["mean", "mode", "variance", "entropy"], True, True),
    "HalfNormal": (lambda r: dict(scale=_pos(r, 3)), lambda r, p: _pos(r, 4, 3, lo=0.01),
                   ["mean", "mode", "variance", "entropy"], True, True),
    "HalfCauchy": (lambda r: dict(scale=_pos(r, 3)), lambda r, p: _pos(r, 4, 3, lo=0.01),
                   ["mode", "entropy"], True, True),
    "Gumbel": (lambda r: dict(loc=_real(r, 3), scale=_pos(r, 3)), lambda r, p: _real(r, 4, 3),
               ["mean", "mode", "variance", "stddev", "entropy"], True, True),
    "StudentT": (lambda r: dict(df=_pos(r, 3, lo=4.5, hi=8), loc=_real(r, 3), scale=_pos(r, 3)),
                 lambda r, p: _real(r, 4, 3), ["mean", "mode", "variance", "entropy"], False, False),
    "Pareto": (lambda r: dict(scale=_pos(r, 3), alpha=_pos(r, 3, lo=4.5, hi=6)),
               lambda r, p: (p["scale"] + _pos(r, 4, 3, lo=0.01)).astype(F32),
               ["mean", "mode", "variance", "entropy"], True, True),
    "Weibull": (lambda r: dict(scale=_pos(r, 3), concentration=_pos(r, 3, lo=1.2)), lambda r, p: _pos(r, 4, 3),
                ["mean", "mode", "variance", "entropy"], True, True),
    "InverseGamma": (lambda r: dict(concentration=_pos(r, 3, lo=4.5, hi=6), rate=_pos(r, 3)),
                     lambda r, p: _pos(r, 4, 3, lo=0.05), ["mean", "mode", "variance", "entropy"], False, False),
    "Kumaraswamy": (lambda r: dict(concentration1=_pos(r, 3, lo=1.2), concentration0=_pos(r, 3, lo=1.2)),
                    lambda r, p: r.uniform(0.05, 0.95, (4, 3)).astype(F32),
                    ["mean", "mode", "variance", "entropy"], True, True),
    "FisherSnedecor": (lambda r: dict(df1=_pos(r, 3, lo=3, hi=9), df2=_pos(r, 3, lo=9, hi=15)),
                       lambda r, p: _pos(r, 4, 3, lo=0.05), ["mean", "mode", "variance"], False, False),
    "ContinuousBernoulli": (lambda r: dict(probs=np.array([0.2, 0.4995, 0.85], F32)),
                            lambda r, p: r.uniform(0.01, 0.99, (4, 3)).astype(F32),
                            ["mean", "variance", "stddev", "entropy"], True, True),
    "GeneralizedPareto": (lambda r: dict(loc=_real(r, 3), scale=_pos(r, 3),
                                         concentration=np.array([0.2, 0.0, -0.3], F32)),
                          lambda r, p: (p["loc"] + r.uniform(0.01, 1.0, (4, 3))).astype(F32),
                          ["mean", "mode", "variance", "entropy"], True, True),
}
# sample statistics need a finite variance
SAMPLED = [n for n in CASES if n not in ("Cauchy", "HalfCauchy")]


@pytest.mark.parametrize("name", list(CASES))
def test_closed_forms(name, rng):
    params, value, props, has_cdf, has_icdf = CASES[name]
    p = params(rng)
    td, jd, _, _ = pair(name, p)
    assert tuple(jd.batch_shape) == tuple(td.batch_shape)
    assert tuple(jd.event_shape) == tuple(td.event_shape)
    assert repr(jd) == repr(td)
    compare_props(td, jd, props)
    v = value(rng, p)
    compare_at(td, jd, "log_prob", v, rtol=2e-4, atol=2e-5)
    if has_cdf:
        compare_at(td, jd, "cdf", v)
    if has_icdf:
        compare_at(td, jd, "icdf", rng.uniform(0.05, 0.95, (4, 3)).astype(F32), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_gradients(name, rng):
    params, value, props, _, _ = CASES[name]
    p = params(rng)
    td, jd, tp, jp = pair(name, p, grad=True)
    v = value(rng, p)
    ent = "entropy" in props
    (td.log_prob(torch.tensor(v)).sum() + (td.entropy().sum() if ent else 0)).backward()
    (jd.log_prob(jtorch.tensor(v)).sum() + (jd.entropy().sum() if ent else 0)).backward()
    for k in tp:
        if isinstance(tp[k], torch.Tensor) and tp[k].requires_grad:
            assert_close(jp[k].grad, tp[k].grad, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", SAMPLED)
def test_sample_statistics(name, rng):
    jtorch.manual_seed(int(rng.integers(1 << 30)))
    td, jd, _, _ = pair(name, CASES[name][0](rng))
    check_sample_stats(td, jd)
    assert not jd.sample((3,)).requires_grad


def test_sample_shapes_and_seed(rng):
    D = jtorch.distributions
    d = D.Normal(jtorch.zeros(2, 3), jtorch.ones(2, 3))
    assert d.sample().shape == (2, 3)
    assert d.sample((5,)).shape == (5, 2, 3)
    assert d.sample(jtorch.Size([4, 1])).shape == (4, 1, 2, 3)
    assert D.Normal(0.0, 1.0).sample().shape == ()
    assert D.Normal(0.0, 1.0).sample().dtype == jtorch.float32
    jtorch.manual_seed(3)
    a = d.sample((7,))
    jtorch.manual_seed(3)
    b = d.sample((7,))
    assert bool((a == b).all())
    g = jtorch.Generator().manual_seed(3)
    assert bool((d.sample((7,)) != a).any())
    del g


# rsample: d/dθ E[f(x)] estimated with reparameterised samples must match the exact gradient
# of the closed form (torch's mean / second moment, differentiated by torch's autograd).
RSAMPLED = ["Normal", "Laplace", "Uniform", "Exponential", "Gamma", "Beta", "Dirichlet", "LogNormal",
            "HalfNormal", "Chi2", "StudentT", "Weibull", "Kumaraswamy", "InverseGamma", "ContinuousBernoulli",
            "GeneralizedPareto"]


@pytest.mark.parametrize("name", RSAMPLED)
def test_rsample_gradients(name, rng):
    jtorch.manual_seed(int(rng.integers(1 << 30)))
    p = CASES[name][0](rng)
    if name == "ContinuousBernoulli":  # inside lims rsample is the uniform itself (zero gradient, as torch)
        p = dict(probs=np.array([0.2, 0.35, 0.85], F32))
    if name == "GeneralizedPareto":  # at concentration 0 exactly, torch's gradient in it is 0 too
        p["concentration"] = np.array([0.05, 0.08, -0.3], F32)  # light tails: E[x^4] finite
    td, jd, tp, jp = pair(name, p, grad=True)
    assert jd.has_rsample
    n = 40000
    x = jd.rsample((n,))
    assert x.requires_grad
    ((x.mean(0) + (x * x).mean(0)).sum()).backward()
    (td.mean + td.variance + td.mean ** 2).sum().backward()
    for k in tp:
        if isinstance(tp[k], torch.Tensor) and tp[k].requires_grad:
            g_t = tp[k].grad.numpy()
            g_j = jp[k].grad.numpy()
            rtol = 0.15 if name == "GeneralizedPareto" else 0.08  # heavier tails, noisier estimate
            np.testing.assert_allclose(g_j, g_t, rtol=rtol, atol=0.03)


def test_normal_rsample_is_exactly_reparameterised(rng):
    D = jtorch.distributions
    loc = jtorch.tensor(_real(rng, 3), requires_grad=True)
    scale = jtorch.tensor(_pos(rng, 3), requires_grad=True)
    jtorch.manual_seed(1)
    x = D.Normal(loc, scale).rsample((5,))
    x.sum().backward()
    jtorch.manual_seed(1)
    eps = (D.Normal(loc, scale).sample((5,)) - loc.detach()) / scale.detach()
    assert_close(loc.grad, torch.full((3,), 5.0))
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Beta", "Dirichlet", "LogNormal", "Uniform", "Gumbel"])
def test_expand(name, rng):
    p = CASES[name][0](rng)
    td, jd, _, _ = pair(name, p)
    shape = (5,) + tuple(td.batch_shape)
    te, je = td.expand(shape), jd.expand(shape)
    assert type(je) is type(jd)
    assert tuple(je.batch_shape) == tuple(te.batch_shape)
    assert tuple(je.event_shape) == tuple(te.event_shape)
    assert je.sample().shape == te.sample().shape
    v = CASES[name][1](rng, p)[0]
    compare_at(te, je, "log_prob", v, rtol=2e-4, atol=2e-5)


def test_scalar_params_and_float64(rng):
    D = jtorch.distributions
    td = torch.distributions.Normal(0.5, 2.0)
    jd = D.Normal(0.5, 2.0)
    assert jd.batch_shape == () and jd.loc.dtype == jtorch.float32
    compare_at(td, jd, "log_prob", _real(rng, 3))
    v = _real(rng, 3).astype(np.float64)
    td = torch.distributions.Normal(torch.tensor(v), 1.0)
    jd = D.Normal(jtorch.tensor(v), 1.0)
    assert jd.scale.dtype == jtorch.float64
    assert jd.sample().dtype == jtorch.float64
    compare_at(td, jd, "log_prob", v * 0.5)


def test_stddev_perplexity_and_default_methods(rng):
    p = dict(concentration=_pos(rng, 3), rate=_pos(rng, 3))
    td, jd, _, _ = pair("Gamma", p)
    compare_props(td, jd, ["stddev", "perplexity"])
    with pytest.raises(NotImplementedError):
        jd.icdf(jtorch.tensor(0.5))
    with pytest.raises(NotImplementedError):
        jd.enumerate_support()


def test_von_mises(rng):
    loc = np.array([0.3, 2.5, -3.0], F32)
    conc = np.array([2.0, 0.5, 8.0], F32)
    td = torch.distributions.VonMises(torch.tensor(loc), torch.tensor(conc))
    jd = jtorch.distributions.VonMises(jtorch.tensor(loc), jtorch.tensor(conc))
    compare_props(td, jd, ["mean", "mode", "variance"])
    compare_at(td, jd, "log_prob", rng.uniform(-3, 3, (4, 3)).astype(F32))
    jtorch.manual_seed(8)
    torch.manual_seed(8)
    n = 20000
    js, ts = jd.sample((n,)).numpy(), td.sample((n,)).numpy()
    assert js.shape == ts.shape and js.dtype == ts.dtype
    assert js.min() >= -np.pi and js.max() <= np.pi
    jm, tm = np.exp(1j * js).mean(0), np.exp(1j * ts).mean(0)  # circular statistics
    np.testing.assert_allclose(np.abs(jm), np.abs(tm), atol=0.02)
    np.testing.assert_allclose(np.angle(jm / tm), 0, atol=0.05)
    with pytest.raises(NotImplementedError):
        jd.rsample()


def test_continuous_bernoulli_probs_validation():
    with pytest.raises(ValueError):
        torch.distributions.ContinuousBernoulli(torch.tensor([1.5]), validate_args=True)
    with pytest.raises(ValueError):
        jtorch.distributions.ContinuousBernoulli(jtorch.tensor([1.5]), validate_args=True)
    lg = np.array([-1.0, 0.0, 2.0], F32)
    td = torch.distributions.ContinuousBernoulli(logits=torch.tensor(lg))
    jd = jtorch.distributions.ContinuousBernoulli(logits=jtorch.tensor(lg))
    compare_props(td, jd, ["mean", "variance", "probs", "entropy"])

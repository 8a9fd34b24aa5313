"""kl_divergence against torch for the registered pairs; register_kl dispatch and errors."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

F32 = np.float32


def _pos(r, *s):
    return r.uniform(0.5, 3.0, s).astype(F32)


def _real(r, *s):
    return r.standard_normal(s).astype(F32)


def _probs(r, *s):
    return r.uniform(0.1, 0.9, s).astype(F32)


def _simplex(r, *s):
    return r.dirichlet(np.ones(s[-1]), s[:-1]).astype(F32)


def _spd(r):
    a = r.standard_normal((2, 3, 3))
    return (a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)).astype(F32)


PARAMS = {
    "Normal": lambda r: dict(loc=_real(r, 3), scale=_pos(r, 3)),
    "Laplace": lambda r: dict(loc=_real(r, 3), scale=_pos(r, 3)),
    "Bernoulli": lambda r: dict(probs=_probs(r, 3)),
    "Binomial": lambda r: dict(total_count=5, probs=_probs(r, 3)),
    "Geometric": lambda r: dict(probs=_probs(r, 3)),
    "Poisson": lambda r: dict(rate=_pos(r, 3)),
    "Categorical": lambda r: dict(probs=_simplex(r, 3, 4)),
    "OneHotCategorical": lambda r: dict(logits=_real(r, 3, 4)),
    "Beta": lambda r: dict(concentration1=_pos(r, 3), concentration0=_pos(r, 3)),
    "Gamma": lambda r: dict(concentration=_pos(r, 3), rate=_pos(r, 3)),
    "Exponential": lambda r: dict(rate=_pos(r, 3)),
    "Dirichlet": lambda r: dict(concentration=_pos(r, 3, 4)),
    "Uniform": lambda r: dict(low=_real(r, 3) - 3, high=_real(r, 3) + 3),
    "Gumbel": lambda r: dict(loc=_real(r, 3), scale=_pos(r, 3)),
    "HalfNormal": lambda r: dict(scale=_pos(r, 3)),
    "LogNormal": lambda r: dict(loc=_real(r, 3), scale=_pos(r, 3)),
    "MultivariateNormal": lambda r: dict(loc=_real(r, 2, 3), covariance_matrix=_spd(r)),
    "LowRankMultivariateNormal": lambda r: dict(loc=_real(r, 2, 3), cov_factor=_real(r, 2, 3, 2),
                                                cov_diag=_pos(r, 2, 3)),
    "Pareto": lambda r: dict(scale=_pos(r, 3), alpha=_pos(r, 3)),
    "ContinuousBernoulli": lambda r: dict(probs=np.array([0.2, 0.4995, 0.7], F32)),
}

PAIRS = [(n, n) for n in PARAMS] + [
    ("Bernoulli", "Poisson"), ("Exponential", "Gamma"), ("Exponential", "Normal"), ("Gamma", "Exponential"),
    ("Gamma", "Normal"), ("Laplace", "Normal"), ("Normal", "Laplace"), ("Uniform", "Normal"),
    ("Normal", "Gumbel"), ("Uniform", "Exponential"), ("Uniform", "Gamma"), ("Beta", "Uniform"),
    ("MultivariateNormal", "LowRankMultivariateNormal"), ("LowRankMultivariateNormal", "MultivariateNormal")]


def _make(name, p, grad=False):
    tp = {k: torch.tensor(v, requires_grad=grad) if isinstance(v, np.ndarray) else v for k, v in p.items()}
    jp = {k: jtorch.tensor(v, requires_grad=grad) if isinstance(v, np.ndarray) else v for k, v in p.items()}
    return getattr(torch.distributions, name)(**tp), getattr(jtorch.distributions, name)(**jp), tp, jp


@pytest.mark.parametrize("pn,qn", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_kl_matches_torch(pn, qn, rng):
    pp, qp = PARAMS[pn](rng), PARAMS[qn](rng)
    if pn == "Uniform" and qn in ("Exponential", "Gamma"):
        pp = dict(low=_pos(rng, 3) * 0.5, high=_pos(rng, 3) + 2)
    if pn == "Beta" and qn == "Uniform":
        qp = dict(low=np.array([-0.5, 0.2, 0.0], F32), high=np.array([1.5, 1.0, 1.0], F32))
    tp_, jp_, tpa, jpa = _make(pn, pp, grad=True)
    tq, jq, _, _ = _make(qn, qp)
    t = torch.distributions.kl_divergence(tp_, tq)
    j = jtorch.distributions.kl_divergence(jp_, jq)
    assert_close(j, t, rtol=2e-4, atol=2e-4)
    finite = torch.isfinite(t).all()
    if finite:
        t.sum().backward()
        j.sum().backward()
        for k in tpa:
            if isinstance(tpa[k], torch.Tensor):
                assert_close(jpa[k].grad, tpa[k].grad, rtol=1e-3, atol=1e-3)


def test_kl_infinite_cases():
    D, T = jtorch.distributions, torch.distributions
    a = D.kl_divergence(D.Uniform(jtorch.tensor([0.0, -1.0]), jtorch.tensor([1.0, 2.0])),
                        D.Uniform(jtorch.tensor([0.0, 0.0]), jtorch.tensor([2.0, 2.0])))
    b = T.kl_divergence(T.Uniform(torch.tensor([0.0, -1.0]), torch.tensor([1.0, 2.0])),
                        T.Uniform(torch.tensor([0.0, 0.0]), torch.tensor([2.0, 2.0])))
    assert_close(a, b)
    a = D.kl_divergence(D.Bernoulli(jtorch.tensor([0.0, 0.3, 1.0])), D.Bernoulli(jtorch.tensor([0.5, 0.0, 0.2])))
    b = T.kl_divergence(T.Bernoulli(torch.tensor([0.0, 0.3, 1.0])), T.Bernoulli(torch.tensor([0.5, 0.0, 0.2])))
    assert_close(a, b)


def test_kl_independent_and_self(rng):
    D = jtorch.distributions
    loc, scale = jtorch.tensor(_real(rng, 2, 3)), jtorch.tensor(_pos(rng, 2, 3))
    p = D.Independent(D.Normal(loc, scale), 1)
    q = D.Independent(D.Normal(loc + 1, scale), 1)
    kl = D.kl_divergence(p, q)
    assert kl.shape == (2,)
    np.testing.assert_allclose(kl.numpy(), (0.5 / scale.numpy() ** 2).sum(-1), rtol=1e-5)
    assert float(D.kl_divergence(p, p).abs().max()) < 1e-6


def test_register_kl_dispatch_and_missing():
    D = jtorch.distributions

    class MyNormal(D.Normal):
        pass

    # a subclass uses its parent's KL until it registers its own
    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)
    assert abs(float(D.kl_divergence(p, q)) - 0.5) < 1e-6

    @D.register_kl(MyNormal, D.Normal)
    def _kl_mine(p, q):
        return jtorch.tensor(42.0)

    assert float(D.kl_divergence(p, q)) == 42.0
    assert abs(float(D.kl_divergence(q, q))) < 1e-6
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Cauchy(0.0, 1.0))
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)
    with pytest.raises(ValueError):
        D.kl_divergence(D.MultivariateNormal(jtorch.zeros(2), jtorch.eye(2)),
                        D.MultivariateNormal(jtorch.zeros(3), jtorch.eye(3)))


def test_bregman_kl_for_exponential_families(rng):
    """The generic same-family KL (Bregman divergence of the log normaliser) agrees with the closed forms."""
    from jtorch.distributions.kl import _kl_expfamily_expfamily
    D = jtorch.distributions
    for name in ("Normal", "Gamma", "Beta", "Poisson", "Dirichlet", "Exponential", "Bernoulli"):
        _, p, _, _ = _make(name, PARAMS[name](rng))
        tq, q, _, _ = _make(name, PARAMS[name](rng))
        np.testing.assert_allclose(_kl_expfamily_expfamily(p, q).detach().numpy(),
                                   D.kl_divergence(p, q).numpy(), rtol=1e-3, atol=1e-4)
    with pytest.raises(NotImplementedError):
        _kl_expfamily_expfamily(D.Normal(0.0, 1.0), D.Exponential(1.0))

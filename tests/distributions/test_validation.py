"""validate_args: torch's exception types (ValueError) for bad parameters and out-of-support values,
set_default_validate_args, and distributions inside jtorch.compile."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

D = jtorch.distributions


@pytest.mark.parametrize("make", [
    lambda M: M.Normal(M_t(M, [0.0, 1.0]), M_t(M, [1.0, -1.0])),
    lambda M: M.Bernoulli(probs=M_t(M, [0.5, 1.5])),
    lambda M: M.Categorical(probs=M_t(M, [0.5, -0.5])),
    lambda M: M.Gamma(M_t(M, [1.0, 0.0]), M_t(M, [1.0, 1.0])),
    lambda M: M.Beta(M_t(M, [1.0]), M_t(M, [-1.0])),
    lambda M: M.Dirichlet(M_t(M, [1.0, -2.0])),
    lambda M: M.Poisson(M_t(M, [-1.0])),
    lambda M: M.Exponential(M_t(M, [0.0])),
    lambda M: M.Binomial(M_t(M, [2.5]), M_t(M, [0.5])),
    lambda M: M.Uniform(M_t(M, [1.0]), M_t(M, [0.0])),
    lambda M: M.Laplace(M_t(M, [float("nan")]), M_t(M, [1.0])),
], ids=["normal", "bernoulli", "categorical", "gamma", "beta", "dirichlet", "poisson", "exponential", "binomial",
        "uniform", "laplace-nan"])
def test_bad_parameters_raise_valueerror(make):
    with pytest.raises(ValueError) as te:
        make(torch.distributions)
    with pytest.raises(ValueError) as je:
        make(D)
    # torch's wording: which parameter, which constraint
    assert str(je.value).split(" of distribution")[0] == str(te.value).split(" of distribution")[0]
    # with validation off by default, the same parameters are accepted
    jtorch.distributions.Distribution.set_default_validate_args(False)
    try:
        make(D)
    finally:
        jtorch.distributions.Distribution.set_default_validate_args(True)


def M_t(M, v):
    return (torch if M is torch.distributions else jtorch).tensor(v)


@pytest.mark.parametrize("make,value", [
    (lambda M, t: M.Normal(t([0.0]), t([1.0])), [float("nan")]),
    (lambda M, t: M.Bernoulli(t([0.3])), [0.5]),
    (lambda M, t: M.Categorical(t([0.3, 0.7])), [2]),
    (lambda M, t: M.Gamma(t([1.0]), t([1.0])), [-1.0]),
    (lambda M, t: M.Beta(t([1.0]), t([1.0])), [1.5]),
    (lambda M, t: M.Poisson(t([1.0])), [1.5]),
    (lambda M, t: M.Uniform(t([0.0]), t([1.0])), [2.0]),
    (lambda M, t: M.Dirichlet(t([1.0, 1.0])), [0.5, 0.6]),
    (lambda M, t: M.Binomial(3, t([0.5])), [4.0]),
], ids=["normal", "bernoulli", "categorical", "gamma", "beta", "poisson", "uniform", "dirichlet", "binomial"])
def test_out_of_support_raises_valueerror(make, value):
    td = make(torch.distributions, torch.tensor)
    jd = make(D, jtorch.tensor)
    with pytest.raises(ValueError) as te:
        td.log_prob(torch.tensor(value))
    with pytest.raises(ValueError) as je:
        jd.log_prob(jtorch.tensor(value))
    assert str(je.value).split(" of the distribution")[0] == str(te.value).split(" of the distribution")[0]


def test_validate_args_false_and_shape_errors():
    d = D.Normal(jtorch.tensor([0.0, 0.0]), jtorch.tensor([1.0, -1.0]), validate_args=False)
    assert d.scale.shape == (2,)
    d = D.Normal(jtorch.zeros(3), jtorch.ones(3))
    with pytest.raises(ValueError, match="broadcastable"):
        d.log_prob(jtorch.zeros(4))
    with pytest.raises(ValueError, match="must be a Tensor"):
        d.log_prob(0.5)
    m = D.MultivariateNormal(jtorch.zeros(3), jtorch.eye(3))
    with pytest.raises(ValueError, match="right-most size"):
        m.log_prob(jtorch.zeros(2))
    u = D.Uniform(0.0, 1.0, validate_args=False)
    assert float(u.log_prob(jtorch.tensor(2.0))) == float("-inf")
    with pytest.raises(ValueError, match="not both"):
        D.Bernoulli(probs=jtorch.tensor(0.5), logits=jtorch.tensor(0.0))
    with pytest.raises(ValueError, match="not both"):
        D.Categorical()
    with pytest.raises(ValueError):
        D.Categorical(probs=jtorch.tensor(0.5))
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_compile_log_prob_and_rsample():
    lin = jtorch.nn.Linear(3, 2)
    opt = jtorch.optim.SGD(lin.parameters(), lr=0.05)
    x = jtorch.tensor(np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32))
    y = jtorch.tensor(np.random.default_rng(1).standard_normal((16, 2)).astype(np.float32))

    def step(x, y):
        opt.zero_grad()
        out = lin(x)
        d = D.Normal(out, jtorch.ones_like(out))
        loss = -d.log_prob(y).mean() + D.kl_divergence(d, D.Normal(0.0, 1.0)).mean() * 0.01
        loss.backward()
        opt.step()
        return loss

    lin2 = jtorch.nn.Linear(3, 2)
    lin2.load_state_dict(lin.state_dict())
    cstep = jtorch.compile(step, fullgraph=True)  # validation does not break the graph
    losses = [float(cstep(x, y)) for _ in range(4)]
    assert losses[-1] < losses[0]
    # the same steps eagerly on a copy give the same parameters
    lin, opt = lin2, jtorch.optim.SGD(lin2.parameters(), lr=0.05)
    eager = [float(step(x, y)) for _ in range(4)]
    np.testing.assert_allclose(losses, eager, rtol=1e-5)

    def sample(conc):
        g = D.Gamma(conc, 1.0).rsample((4,))
        c = D.Categorical(logits=conc).sample((5,))
        return D.Dirichlet(conc).rsample((2,)), g, c

    f = jtorch.compile(sample, fullgraph=True)
    outs = [f(jtorch.ones(3)) for _ in range(3)]
    assert outs[2][0].shape == (2, 3) and outs[2][1].shape == (4, 3) and outs[2][2].shape == (5,)
    assert bool((outs[1][1] != outs[2][1]).any())  # the compiled function advances the RNG


def test_expand_keeps_validation_and_shares_memory():
    d = D.Normal(jtorch.zeros(3), jtorch.ones(3))
    e = d.expand((2, 3))
    assert e._validate_args and e.batch_shape == (2, 3)
    with pytest.raises(ValueError):
        e.log_prob(jtorch.tensor(float("nan")).expand(2, 3))
    t = torch.distributions.Normal(torch.zeros(3), torch.ones(3)).expand((2, 3))
    assert repr(e) == repr(t)
    with pytest.raises(NotImplementedError):
        class Custom(D.Normal):
            def __init__(self):
                super().__init__(0.0, 1.0)
        Custom().expand((2,))
    assert_close(e.mean, t.mean)


def test_namespace_matches_torch():
    assert set(torch.distributions.__all__) <= set(dir(jtorch.distributions))
    assert set(torch.distributions.transforms.__all__) <= set(dir(jtorch.distributions.transforms))
    public = {n for n in dir(torch.distributions.constraints) if not n.startswith("_") and n[0].islower()}
    missing = {n for n in public if not hasattr(jtorch.distributions.constraints, n)}
    assert missing <= {"annotations"}, missing
    import importlib
    for mod in ("normal", "one_hot_categorical", "relaxed_bernoulli", "log_normal", "studentT", "kl", "utils",
                "constraint_registry", "lkj_cholesky", "wishart", "von_mises"):
        importlib.import_module("jtorch.distributions." + mod)

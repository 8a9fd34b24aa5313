"""MultivariateNormal (covariance / scale_tril / precision parameterisations) and Independent
against torch.distributions."""
import numpy as np
import pytest
import torch

import jtorch
from tests.distributions.dcheck import check_sample_stats, compare_at, compare_props
from tests.helpers import assert_close

F32 = np.float32


def _spd(rng, *batch, n=3):
    a = rng.standard_normal(batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(F32)


def _mvn(rng, kind, batch=(2,), grad=False):
    loc = rng.standard_normal(batch + (3,)).astype(F32)
    cov = _spd(rng, *batch)
    mat = {"covariance_matrix": cov, "scale_tril": np.linalg.cholesky(cov).astype(F32),
           "precision_matrix": np.linalg.inv(cov).astype(F32)}[kind]
    tl, tm = torch.tensor(loc, requires_grad=grad), torch.tensor(mat, requires_grad=grad)
    jl, jm = jtorch.tensor(loc, requires_grad=grad), jtorch.tensor(mat, requires_grad=grad)
    td = torch.distributions.MultivariateNormal(tl, **{kind: tm})
    jd = jtorch.distributions.MultivariateNormal(jl, **{kind: jm})
    return td, jd, (tl, tm), (jl, jm)


@pytest.mark.parametrize("kind", ["covariance_matrix", "scale_tril", "precision_matrix"])
def test_mvn_closed_forms(kind, rng):
    td, jd, _, _ = _mvn(rng, kind)
    assert jd.batch_shape == td.batch_shape and jd.event_shape == td.event_shape
    assert repr(jd) == repr(td)
    compare_props(td, jd, ["mean", "mode", "variance", "entropy", "scale_tril", "covariance_matrix",
                           "precision_matrix"], rtol=1e-4, atol=1e-4)
    compare_at(td, jd, "log_prob", rng.standard_normal((4, 2, 3)).astype(F32), rtol=1e-4, atol=1e-4)
    compare_at(td, jd, "log_prob", rng.standard_normal((3,)).astype(F32), rtol=1e-4, atol=1e-4)


def test_mvn_broadcast_loc_and_matrix(rng):
    loc = rng.standard_normal((4, 1, 3)).astype(F32)
    cov = _spd(rng, 2)
    td = torch.distributions.MultivariateNormal(torch.tensor(loc), torch.tensor(cov))
    jd = jtorch.distributions.MultivariateNormal(jtorch.tensor(loc), jtorch.tensor(cov))
    assert jd.batch_shape == (4, 2) == td.batch_shape
    compare_at(td, jd, "log_prob", rng.standard_normal((4, 2, 3)).astype(F32), rtol=1e-4, atol=1e-4)
    assert jd.sample((5,)).shape == (5, 4, 2, 3)
    assert jd.expand((3, 4, 2)).sample().shape == (3, 4, 2, 3)


def test_mvn_gradients(rng):
    td, jd, tp, jp = _mvn(rng, "scale_tril", grad=True)
    v = rng.standard_normal((4, 2, 3)).astype(F32)
    (td.log_prob(torch.tensor(v)).sum() + td.entropy().sum()).backward()
    (jd.log_prob(jtorch.tensor(v)).sum() + jd.entropy().sum()).backward()
    for t, j in zip(tp, jp):
        assert_close(j.grad, t.grad, rtol=1e-3, atol=1e-4)


def test_mvn_samples_and_rsample_gradient(rng):
    jtorch.manual_seed(11)
    td, jd, _, _ = _mvn(rng, "covariance_matrix")
    s = check_sample_stats(td, jd)
    emp = np.einsum("nbi,nbj->bij", s - s.mean(0), s - s.mean(0)) / len(s)
    np.testing.assert_allclose(emp, td.covariance_matrix.numpy(), rtol=0.1, atol=0.15)
    # rsample: d/dloc E[sum x] = n per component; d/dL E[|x|^2] = 2 L
    L = jtorch.tensor(np.linalg.cholesky(_spd(rng)).astype(F32), requires_grad=True)
    loc = jtorch.zeros(3, requires_grad=True)
    x = jtorch.distributions.MultivariateNormal(loc, scale_tril=L).rsample((20000,))
    ((x * x).sum(-1).mean() + x.sum(-1).mean()).backward()
    np.testing.assert_allclose(loc.grad.numpy(), np.ones(3), atol=0.1)
    np.testing.assert_allclose(L.grad.numpy(), 2 * np.tril(L.detach().numpy()), atol=0.25)


def test_mvn_errors(rng):
    D = jtorch.distributions
    with pytest.raises(ValueError, match="Exactly one"):
        D.MultivariateNormal(jtorch.zeros(3))
    with pytest.raises(ValueError, match="Exactly one"):
        D.MultivariateNormal(jtorch.zeros(3), jtorch.eye(3), scale_tril=jtorch.eye(3))
    with pytest.raises(ValueError):
        D.MultivariateNormal(jtorch.tensor(0.0), jtorch.eye(3))
    bad = jtorch.tensor([[1.0, 2.0], [2.0, 1.0]])  # symmetric, not positive definite
    with pytest.raises(ValueError, match="covariance_matrix"):
        D.MultivariateNormal(jtorch.zeros(2), bad)
    with pytest.raises(ValueError, match="scale_tril"):
        D.MultivariateNormal(jtorch.zeros(2), scale_tril=jtorch.tensor([[1.0, 1.0], [0.0, 1.0]]))


def test_independent(rng):
    loc = rng.standard_normal((2, 3)).astype(F32)
    scale = rng.uniform(0.5, 2, (2, 3)).astype(F32)
    td = torch.distributions.Independent(torch.distributions.Normal(torch.tensor(loc), torch.tensor(scale)), 1)
    jd = jtorch.distributions.Independent(jtorch.distributions.Normal(jtorch.tensor(loc), jtorch.tensor(scale)), 1)
    assert jd.batch_shape == (2,) and jd.event_shape == (3,)
    assert repr(jd) == repr(td)
    assert repr(jd.support) == repr(td.support)
    compare_props(td, jd, ["mean", "mode", "variance", "entropy"])
    compare_at(td, jd, "log_prob", rng.standard_normal((5, 2, 3)).astype(F32))
    assert jd.has_rsample and jd.rsample((4,)).shape == (4, 2, 3)
    je, te = jd.expand((6, 2)), td.expand((6, 2))
    assert je.batch_shape == te.batch_shape and je.event_shape == te.event_shape
    compare_at(te, je, "log_prob", rng.standard_normal((6, 2, 3)).astype(F32))
    with pytest.raises(ValueError):
        jtorch.distributions.Independent(jtorch.distributions.Normal(jtorch.zeros(3), 1.0), 2)
    b = jtorch.distributions.Independent(jtorch.distributions.Bernoulli(jtorch.full((3,), 0.5)), 1)
    assert not b.has_enumerate_support
    with pytest.raises(NotImplementedError):
        b.enumerate_support()

"""Distributions over matrices and their transforms against torch: CorrCholeskyTransform,
LKJCholesky (and Wishart)."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

F32 = np.float32
pytestmark = pytest.mark.filterwarnings("ignore:Singular sample detected")  # torch's Wishart sampler


def test_corr_cholesky_transform(rng):
    x = rng.standard_normal((2, 6)).astype(F32)
    tt = torch.distributions.transforms.CorrCholeskyTransform()
    jt = jtorch.distributions.transforms.CorrCholeskyTransform()
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    ty, jy = tt(tx), jt(jx)
    assert_close(jy, ty, rtol=1e-5, atol=1e-6)
    assert bool(jtorch.distributions.constraints.corr_cholesky.check(jy).all())
    assert_close(jt.inv(jy), tt.inv(ty), rtol=1e-4, atol=1e-4)
    tl, jl = tt.log_abs_det_jacobian(tx, ty), jt.log_abs_det_jacobian(jx, jy)
    assert_close(jl, tl, rtol=1e-4, atol=1e-5)
    (ty.sum() + tl.sum()).backward()
    (jy.sum() + jl.sum()).backward()
    assert_close(jx.grad, tx.grad, rtol=1e-4, atol=1e-5)
    assert tuple(jt.forward_shape((2, 6))) == tuple(tt.forward_shape((2, 6))) == (2, 4, 4)
    assert tuple(jt.inverse_shape((2, 4, 4))) == (2, 6)
    with pytest.raises(ValueError):
        jt.forward_shape((2, 5))
    b = jtorch.distributions.biject_to(jtorch.distributions.constraints.corr_cholesky)
    assert isinstance(b, jtorch.distributions.transforms.CorrCholeskyTransform)


@pytest.mark.parametrize("dim", [3])
def test_lkj_cholesky(dim, rng):
    c = np.array([0.5, 1.0, 3.0], F32)
    td = torch.distributions.LKJCholesky(dim, torch.tensor(c))
    jd = jtorch.distributions.LKJCholesky(dim, jtorch.tensor(c))
    assert jd.batch_shape == td.batch_shape and jd.event_shape == td.event_shape
    assert repr(jd) == repr(td)
    torch.manual_seed(0)
    jtorch.manual_seed(0)
    n = 5000
    ts, js = td.sample((n,)), jd.sample((n,))
    assert js.shape == ts.shape and js.dtype == jtorch.float32
    assert bool(jtorch.distributions.constraints.corr_cholesky.check(js).all())
    assert_close(jd.log_prob(jtorch.tensor(ts[:4].numpy())), td.log_prob(ts[:4]), rtol=1e-4, atol=1e-4)
    # correlations r = (L L^T)_01 have variance 1 / (2 concentration + dim - 1)
    jc = (js @ js.mT).numpy()[:, :, 0, 1]
    tc = (ts @ ts.mT).numpy()[:, :, 0, 1]
    np.testing.assert_allclose(jc.var(0), 1 / (2 * c + dim - 1), rtol=0.1)
    np.testing.assert_allclose(jc.var(0), tc.var(0), rtol=0.12)
    assert abs(jc.mean()) < 0.03
    cg = jtorch.tensor(c, requires_grad=True)
    tg = torch.tensor(c, requires_grad=True)
    jtorch.distributions.LKJCholesky(dim, cg).log_prob(jtorch.tensor(ts[:4].numpy())).sum().backward()
    torch.distributions.LKJCholesky(dim, tg).log_prob(ts[:4]).sum().backward()
    assert_close(cg.grad, tg.grad, rtol=1e-3, atol=1e-4)
    assert jd.expand((2, 3)).sample().shape == (2, 3, dim, dim)
    with pytest.raises(ValueError):
        jtorch.distributions.LKJCholesky(1)


def _spd(rng, *batch, n=3):
    a = rng.standard_normal(batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(F32)


@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_wishart(kind, rng):
    S = _spd(rng, 2)
    M = {"covariance_matrix": S, "precision_matrix": np.linalg.inv(S).astype(F32),
         "scale_tril": np.linalg.cholesky(S).astype(F32)}[kind]
    df = np.array([4.5, 6.0], F32)
    td = torch.distributions.Wishart(torch.tensor(df), **{kind: torch.tensor(M)})
    jd = jtorch.distributions.Wishart(jtorch.tensor(df), **{kind: jtorch.tensor(M)})
    assert jd.batch_shape == td.batch_shape and jd.event_shape == td.event_shape
    assert repr(jd) == repr(td)
    for name in ("mean", "mode", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        assert_close(getattr(jd, name), getattr(td, name), rtol=1e-4, atol=1e-3)
    assert_close(jd.entropy(), td.entropy(), rtol=1e-4, atol=1e-4)
    torch.manual_seed(0)
    v = td.sample((3,))
    assert_close(jd.log_prob(jtorch.tensor(v.numpy())), td.log_prob(v), rtol=1e-4, atol=1e-4)


def test_wishart_samples_and_rsample_gradient(rng):
    S = _spd(rng)
    jtorch.manual_seed(1)
    jd = jtorch.distributions.Wishart(5.0, covariance_matrix=jtorch.tensor(S))
    td = torch.distributions.Wishart(torch.tensor(5.0), covariance_matrix=torch.tensor(S))
    s = jd.sample((20000,)).numpy()
    assert s.shape == (20000, 3, 3)
    np.testing.assert_allclose(s.mean(0), td.mean.numpy(), rtol=0.05, atol=0.3)
    np.testing.assert_allclose(s.var(0), td.variance.numpy(), rtol=0.15)
    # d E[X] / d df = Sigma
    df = jtorch.tensor(5.0, requires_grad=True)
    x = jtorch.distributions.Wishart(df, covariance_matrix=jtorch.tensor(S)).rsample((20000,))
    x.mean(0)[0, 0].backward()
    np.testing.assert_allclose(float(df.grad), S[0, 0], rtol=0.08)
    with pytest.raises(ValueError):
        jtorch.distributions.Wishart(1.0, covariance_matrix=jtorch.tensor(S))
    with pytest.raises(ValueError):
        jtorch.distributions.Wishart(5.0)

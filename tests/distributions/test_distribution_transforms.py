"""Transforms, TransformedDistribution, the relaxed distributions, constraints and biject_to /
transform_to against torch.distributions."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

F32 = np.float32


def _both(mod, name, *args, **kw):
    return getattr(torch.distributions.transforms, name)(*args, **kw), \
        getattr(jtorch.distributions.transforms, name)(*args, **kw)


def _tensor_pair(a):
    return torch.tensor(a), jtorch.tensor(a)


TRANSFORMS = {
    "ExpTransform": ((), lambda r: r.standard_normal((4, 3))),
    "SigmoidTransform": ((), lambda r: r.standard_normal((4, 3))),
    "TanhTransform": ((), lambda r: r.standard_normal((4, 3))),
    "SoftplusTransform": ((), lambda r: r.standard_normal((4, 3))),
    "PowerTransform": ((2.5,), lambda r: r.uniform(0.5, 2, (4, 3))),
    "AffineTransform": ((1.5, -2.0), lambda r: r.standard_normal((4, 3))),
    "StickBreakingTransform": ((), lambda r: r.standard_normal((4, 3))),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transform_forward_inverse_jacobian(name, rng):
    args, xgen = TRANSFORMS[name]
    x = xgen(rng).astype(F32)
    tt = getattr(torch.distributions.transforms, name)(*args)
    jt = getattr(jtorch.distributions.transforms, name)(*args)
    tx, jx = _tensor_pair(x)
    ty, jy = tt(tx), jt(jx)
    assert_close(jy, ty, rtol=1e-5, atol=1e-6)
    assert_close(jt.inv(jy), tt.inv(ty), rtol=1e-4, atol=1e-5)
    assert_close(jt.log_abs_det_jacobian(jx, jy), tt.log_abs_det_jacobian(tx, ty), rtol=1e-4, atol=1e-5)
    assert jt.bijective == tt.bijective
    assert repr(jt.domain) == repr(tt.domain) and repr(jt.codomain) == repr(tt.codomain)
    assert tuple(jt.forward_shape((4, 3))) == tuple(tt.forward_shape((4, 3)))
    if name != "StickBreakingTransform":
        if isinstance(tt.sign, torch.Tensor):
            assert bool((jt.sign.numpy() == tt.sign.numpy()).all())
        else:
            assert jt.sign == tt.sign


def test_transform_tensor_params_and_jacobian_grad(rng):
    loc, scale = rng.standard_normal(3).astype(F32), rng.uniform(0.5, 2, 3).astype(F32)
    x = rng.standard_normal((4, 3)).astype(F32)
    for event_dim in (0, 1):
        tt = torch.distributions.AffineTransform(torch.tensor(loc), torch.tensor(scale), event_dim=event_dim)
        jt = jtorch.distributions.AffineTransform(jtorch.tensor(loc), jtorch.tensor(scale), event_dim=event_dim)
        tx, jx = _tensor_pair(x)
        assert_close(jt.log_abs_det_jacobian(jx, jt(jx)), tt.log_abs_det_jacobian(tx, tt(tx)))
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    t, j = torch.distributions.TanhTransform(), jtorch.distributions.TanhTransform()
    (t(tx).sum() + t.log_abs_det_jacobian(tx, t(tx)).sum()).backward()
    (j(jx).sum() + j.log_abs_det_jacobian(jx, j(jx)).sum()).backward()
    assert_close(jx.grad, tx.grad, rtol=1e-4, atol=1e-5)


def test_compose_and_cache(rng):
    D = jtorch.distributions
    x = rng.standard_normal((4, 3)).astype(F32)
    tc = torch.distributions.ComposeTransform([torch.distributions.ExpTransform(),
                                               torch.distributions.AffineTransform(1.0, 3.0)])
    jc = D.ComposeTransform([D.ExpTransform(), D.AffineTransform(1.0, 3.0)])
    tx, jx = _tensor_pair(x)
    assert_close(jc(jx), tc(tx))
    assert_close(jc.inv(jc(jx)), tx, rtol=1e-5, atol=1e-5)
    assert_close(jc.log_abs_det_jacobian(jx, jc(jx)), tc.log_abs_det_jacobian(tx, tc(tx)))
    assert jc.inv.inv is jc
    assert jc.sign == 1 and D.ExpTransform() == D.ExpTransform() and D.ExpTransform() != D.SigmoidTransform()
    assert D.ExpTransform().inv == D.ExpTransform().inv
    c = D.ExpTransform(cache_size=1)
    y = c(jx)
    assert c.inv(y) is jx
    with pytest.raises(ValueError):
        D.ExpTransform(cache_size=2)
    assert D.identity_transform(jx) is jx


@pytest.mark.parametrize("which", ["lognormal_like", "sigmoid_affine", "stickbreaking"])
def test_transformed_distribution(which, rng):
    def build(M, tensor):
        if which == "lognormal_like":
            base = M.distributions.Normal(tensor(rng_vals["loc"]), tensor(rng_vals["scale"]))
            return M.distributions.TransformedDistribution(base, [M.distributions.ExpTransform()])
        if which == "sigmoid_affine":
            base = M.distributions.Normal(tensor(rng_vals["loc"]), tensor(rng_vals["scale"]))
            return M.distributions.TransformedDistribution(
                base, [M.distributions.SigmoidTransform(), M.distributions.AffineTransform(-1.0, 2.0)])
        base = M.distributions.Normal(tensor(rng_vals["loc"]), tensor(rng_vals["scale"]))
        return M.distributions.TransformedDistribution(base, M.distributions.StickBreakingTransform())

    rng_vals = dict(loc=rng.standard_normal((2, 3)).astype(F32), scale=rng.uniform(0.5, 1.5, (2, 3)).astype(F32))
    td, jd = build(torch, torch.tensor), build(jtorch, jtorch.tensor)
    assert jd.batch_shape == td.batch_shape and jd.event_shape == td.event_shape
    assert repr(jd.support) == repr(td.support)
    jtorch.manual_seed(4)
    torch.manual_seed(4)
    v = td.sample((5,))
    assert jd.sample((5,)).shape == v.shape
    assert_close(jd.log_prob(jtorch.tensor(v.numpy())), td.log_prob(v), rtol=1e-4, atol=1e-4)
    if which != "stickbreaking":
        assert_close(jd.cdf(jtorch.tensor(v.numpy())), td.cdf(v), rtol=1e-4, atol=1e-5)
        q = rng.uniform(0.1, 0.9, (2, 3)).astype(F32)
        assert_close(jd.icdf(jtorch.tensor(q)), td.icdf(torch.tensor(q)), rtol=1e-4, atol=1e-5)
    te, je = td.expand((4,) + tuple(td.batch_shape)), jd.expand((4,) + tuple(jd.batch_shape))
    assert je.batch_shape == te.batch_shape and je.sample().shape == te.sample().shape
    assert_close(je.log_prob(jtorch.tensor(v[0].numpy())), te.log_prob(v[0]), rtol=1e-4, atol=1e-4)


def test_negative_scale_cdf_is_monotonized(rng):
    D = jtorch.distributions
    x = rng.standard_normal(4).astype(F32)
    jd = D.TransformedDistribution(D.Normal(0.0, 1.0), D.AffineTransform(1.0, -2.0))
    td = torch.distributions.TransformedDistribution(torch.distributions.Normal(0.0, 1.0),
                                                     torch.distributions.AffineTransform(1.0, -2.0))
    assert_close(jd.cdf(jtorch.tensor(x)), td.cdf(torch.tensor(x)))


@pytest.mark.parametrize("name", ["RelaxedBernoulli", "RelaxedOneHotCategorical"])
def test_relaxed(name, rng):
    temp = np.array(0.7, F32)
    shape = (3,) if name == "RelaxedBernoulli" else (2, 4)
    logits = rng.standard_normal(shape).astype(F32)
    td = getattr(torch.distributions, name)(torch.tensor(temp), logits=torch.tensor(logits))
    jd = getattr(jtorch.distributions, name)(jtorch.tensor(temp), logits=jtorch.tensor(logits))
    assert jd.batch_shape == td.batch_shape and jd.event_shape == td.event_shape
    torch.manual_seed(0)
    v = td.sample((6,))
    assert_close(jd.log_prob(jtorch.tensor(v.numpy())), td.log_prob(v), rtol=1e-3, atol=1e-3)
    jl = jtorch.tensor(logits, requires_grad=True)
    jtorch.manual_seed(1)
    s = getattr(jtorch.distributions, name)(jtorch.tensor(temp), logits=jl).rsample((4000,))
    assert s.shape == (4000,) + shape
    s.mean().backward()
    assert jl.grad is not None and bool((jl.grad != 0).any())
    # the relaxation concentrates on the category with the larger logit: compare the sample mean to torch's
    torch.manual_seed(1)
    np.testing.assert_allclose(s.detach().numpy().mean(0), td.sample((4000,)).numpy().mean(0), atol=0.05)


CONSTRAINTS = [
    ("real", None), ("positive", None), ("nonnegative", None), ("unit_interval", None), ("boolean", None),
    ("nonnegative_integer", None), ("positive_integer", None), ("simplex", None), ("lower_cholesky", None),
    ("positive_definite", None), ("greater_than", (0.5,)), ("less_than", (0.5,)), ("interval", (-1.0, 1.0)),
    ("half_open_interval", (-1.0, 1.0)), ("integer_interval", (0, 3)), ("one_hot", None), ("real_vector", None),
]


@pytest.mark.parametrize("name,args", CONSTRAINTS)
def test_constraints_check(name, args, rng):
    tc = getattr(torch.distributions.constraints, name)
    jc = getattr(jtorch.distributions.constraints, name)
    if args is not None:
        tc, jc = tc(*args), jc(*args)
    assert repr(jc) == repr(tc)
    assert jc.event_dim == tc.event_dim and jc.is_discrete == tc.is_discrete
    vals = [rng.standard_normal((4, 3)).astype(F32), rng.integers(-1, 4, (4, 3)).astype(F32),
            rng.dirichlet(np.ones(3), 4).astype(F32), np.eye(3, dtype=F32)[rng.integers(0, 3, 4)],
            np.array([[1, 0, 0], [0.5, 1, 0], [0, 0, 2]], F32), np.array([[1, 0.5, 0], [0.5, 1, 0], [0, 0, 2]], F32),
            np.array([[1, 2, 0], [2, 1, 0], [0, 0, 1]], F32)]
    for v in vals:
        if tc.event_dim == 2 and v.shape != (3, 3):
            continue
        assert_close(jc.check(jtorch.tensor(v)), tc.check(torch.tensor(v)))


@pytest.mark.parametrize("name", ["real", "positive", "unit_interval", "simplex", "real_vector"])
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_biject_to(name, registry, rng):
    tt = getattr(torch.distributions, registry)(getattr(torch.distributions.constraints, name))
    jt = getattr(jtorch.distributions, registry)(getattr(jtorch.distributions.constraints, name))
    x = rng.standard_normal((4, 3)).astype(F32)
    tx, jx = _tensor_pair(x)
    assert_close(jt(jx), tt(tx), rtol=1e-5, atol=1e-6)
    assert bool(getattr(jtorch.distributions.constraints, name).check(jt(jx)).all())
    if jt.bijective:
        assert_close(jt.log_abs_det_jacobian(jx, jt(jx)), tt.log_abs_det_jacobian(tx, tt(tx)), rtol=1e-4,
                     atol=1e-5)
    c = jtorch.distributions.constraints.interval(-2.0, 3.0)
    y = jtorch.distributions.biject_to(c)(jx)
    assert bool(c.check(y).all())
    with pytest.raises(NotImplementedError):
        jtorch.distributions.biject_to(jtorch.distributions.constraints.lower_triangular)


def _structured(M):
    T = M.distributions.transforms
    t = M.tensor
    return {
        "LowerCholesky": (T.LowerCholeskyTransform(), (2, 3, 3)),
        "PositiveDefinite": (T.PositiveDefiniteTransform(), (2, 3, 3)),
        "Reshape": (T.ReshapeTransform((2, 3), (3, 2)), (4, 2, 3)),
        "CDF": (T.CumulativeDistributionTransform(M.distributions.Normal(t([0.5]), t([2.0]))), (4, 3)),
        "Cat": (T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], dim=-1, lengths=[2, 1]), (4, 3)),
        "Stack": (T.StackTransform([T.ExpTransform(), T.TanhTransform(), T.AffineTransform(1.0, 2.0)], dim=1),
                  (4, 3)),
    }


@pytest.mark.parametrize("name", ["LowerCholesky", "PositiveDefinite", "Reshape", "CDF", "Cat", "Stack"])
def test_structured_transforms(name, rng):
    tt, shape = _structured(torch)[name]
    jt, _ = _structured(jtorch)[name]
    x = rng.standard_normal(shape).astype(F32)
    tx, jx = _tensor_pair(x)
    ty, jy = tt(tx), jt(jx)
    assert_close(jy, ty, rtol=1e-5, atol=1e-6)
    assert_close(jt.inv(jy), tt.inv(ty), rtol=1e-4, atol=1e-5)
    assert jt.bijective == tt.bijective
    if tt.bijective:
        assert_close(jt.log_abs_det_jacobian(jx, jy), tt.log_abs_det_jacobian(tx, ty), rtol=1e-4, atol=1e-5)
    if name == "Reshape":
        assert tuple(jt.forward_shape((4, 2, 3))) == tuple(tt.forward_shape((4, 2, 3)))
        assert tuple(jt.inverse_shape((4, 3, 2))) == tuple(tt.inverse_shape((4, 3, 2)))
        with pytest.raises(ValueError):
            jtorch.distributions.transforms.ReshapeTransform((2, 3), (4, 2))
    assert bool(jt.codomain.check(jy).all())


@pytest.mark.parametrize("name", ["lower_cholesky", "positive_definite"])
def test_transform_to_matrices(name, rng):
    x = rng.standard_normal((2, 3, 3)).astype(F32)
    tt = torch.distributions.transform_to(getattr(torch.distributions.constraints, name))
    jt = jtorch.distributions.transform_to(getattr(jtorch.distributions.constraints, name))
    assert_close(jt(jtorch.tensor(x)), tt(torch.tensor(x)), rtol=1e-5, atol=1e-5)
    with pytest.raises(NotImplementedError):
        jtorch.distributions.biject_to(getattr(jtorch.distributions.constraints, name))

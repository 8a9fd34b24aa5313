"""Autograd edge cases against torch: second-order gradients at poles (nan/inf placement), gradients torch
leaves undefined (householder_product with no reflectors), differentiable optimizers' hyper-parameter
gradients and their ``p.grad`` side effects."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _with_poles(rng, poles, n=4, lo=0.2, hi=0.9):
    """The pole points and n seeded points away from them."""
    return np.concatenate([np.asarray(poles, np.float64), rng.uniform(lo, hi, n)])


POLE_OPS = {
    "reciprocal": (lambda lib, x: x.reciprocal(), [0.0, -0.0]),
    "one_over": (lambda lib, x: 1 / x, [0.0]),
    "log": (lambda lib, x: lib.log(x), [0.0]),
    "log2": (lambda lib, x: lib.log2(x), [0.0]),
    "log1p": (lambda lib, x: lib.log1p(x - 1), [0.0]),
    "rsqrt": (lambda lib, x: lib.rsqrt(x), [0.0]),
    "sqrt": (lambda lib, x: lib.sqrt(x), [0.0]),
    "pow_neg_int": (lambda lib, x: x ** -2, [0.0]),
    "pow_neg_float": (lambda lib, x: x ** -0.5, [0.0]),
    "pow_half": (lambda lib, x: x ** 1.5, [0.0]),
    "atanh": (lambda lib, x: lib.atanh(x * 2 - 1), [1.0, 0.0]),
    "logit": (lambda lib, x: lib.logit(x), [0.0, 1.0]),
    "logit_eps": (lambda lib, x: lib.logit(x, 0.25), [0.0, 1.0, 0.25, 0.1]),
    "asin": (lambda lib, x: lib.asin(x), [1.0]),
    "acosh": (lambda lib, x: lib.acosh(x + 1), [0.0]),
}

# what the first-order gradient goes through before reaching the leaf: reductions, views and linear ops
# whose backward does not read their input (torch keeps no edge to it)
REDUCE = {
    "sum": lambda lib, y: y.sum(),
    "mean": lambda lib, y: y.mean(),
    "weighted": None,  # sum(y * c) with seeded c (set per test)
    "view_expand_cat": lambda lib, y: lib.cat([y.view(1, -1).expand(2, -1).t(), -y[:, None]], 1).sum(),
    "abs": lambda lib, y: y.abs().sum(),  # abs reads its input only through sgn (zero derivative)
    "sort": lambda lib, y: y.sort()[0].cumsum(0).sum(),
}


def _second_order(lib, f, reduce, x_np, c2):
    x = lib.tensor(x_np, requires_grad=True)
    g, = lib.autograd.grad(reduce(lib, f(lib, x)), x, create_graph=True)
    assert g.requires_grad
    (g * lib.tensor(c2)).sum().backward()
    return g.detach(), x.grad


@pytest.mark.parametrize("reduce", list(REDUCE))
@pytest.mark.parametrize("op", list(POLE_OPS))
def test_second_order_at_poles_matches_torch(rng, op, reduce):
    f, poles = POLE_OPS[op]
    x = _with_poles(rng, poles)
    c2 = rng.uniform(0.5, 2.0, x.shape)
    red = REDUCE[reduce]
    if red is None:
        c1 = rng.uniform(0.5, 2.0, x.shape)
        red = lambda lib, y: (y * lib.tensor(c1)).sum()  # noqa: E731
    (jg, jgg), (tg, tgg) = [_second_order(lib, f, red, x, c2) for lib in (jtorch, torch)]
    assert not np.isfinite(np.concatenate([tg.numpy(), tgg.numpy()])).all()  # the case under test: a pole
    assert_close(jg, tg, rtol=1e-10, atol=1e-12)  # (assert_close compares nan/inf positions too)
    assert_close(jgg, tgg, rtol=1e-10, atol=1e-12)


def test_third_order_at_a_pole_matches_torch(rng):
    x = _with_poles(rng, [0.0], 3)
    res = {}
    for lib in (jtorch, torch):
        t = lib.tensor(x, requires_grad=True)
        g, = lib.autograd.grad(lib.log(t).sum(), t, create_graph=True)
        h, = lib.autograd.grad(g.mean(), t, create_graph=True)
        k, = lib.autograd.grad(h.sum(), t)
        res[lib] = (g.detach(), h.detach(), k)
    assert_close(res[jtorch], res[torch], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ["sum", "mean", "scaled", "expand", "clamp", "sort", "max"])
def test_gradient_of_a_linear_backward_is_not_in_the_graph(rng, case):
    # the gradient of these (a constant, or a selection of the cotangent) does not depend on the input:
    # torch returns it without a grad_fn, and differentiating it again raises
    f = {"sum": lambda lib, x: x.sum(), "mean": lambda lib, x: x.mean(), "scaled": lambda lib, x: (x * 3).sum(),
         "expand": lambda lib, x: x.expand(2, 3).sum(), "clamp": lambda lib, x: x.clamp(-0.5, 0.5).sum(),
         "sort": lambda lib, x: x.sort()[0][:2].sum(), "max": lambda lib, x: x.max()}[case]
    x = rng.standard_normal(3)
    for lib in (jtorch, torch):
        t = lib.tensor(x, requires_grad=True)
        g, = lib.autograd.grad(f(lib, t), t, create_graph=True)
        assert not g.requires_grad and g.grad_fn is None
        with pytest.raises(RuntimeError):
            g.sum().backward()


@pytest.mark.parametrize("which", ["hessian", "hvp", "vhp", "jacobian_of_grad"])
def test_functional_second_derivatives_of_a_linear_function_are_zeros(rng, which):
    # the inner gradient does not require grad: torch's functional API gives zeros, not an error
    x = rng.standard_normal(3)
    v = rng.standard_normal(3)
    res = {}
    for lib in (jtorch, torch):
        F = lib.autograd.functional
        f = lambda t: (t * 2).sum() + t.sum()  # noqa: E731
        if which == "hessian":
            res[lib] = F.hessian(f, lib.tensor(x))
        elif which in ("hvp", "vhp"):
            res[lib] = getattr(F, which)(f, lib.tensor(x), lib.tensor(v))
        else:
            res[lib] = F.jacobian(lambda t: lib.autograd.grad(f(t), t, create_graph=True)[0], lib.tensor(x))
    assert_close(res[jtorch], res[torch])


# ---------------------------------------------------------------- gradients torch leaves undefined
@pytest.mark.parametrize("shapes", [((4, 3), (0,)), ((2, 4, 2), (2, 0)), ((3, 0), (0,))])
def test_householder_product_without_reflectors_has_no_gradient(rng, shapes):
    a_shape, tau_shape = shapes
    A = rng.standard_normal(a_shape)
    tau = rng.standard_normal(tau_shape)
    W = rng.standard_normal(a_shape)  # (the result has A's shape)
    res = {}
    for lib in (jtorch, torch):
        a, t, w = lib.tensor(A, requires_grad=True), lib.tensor(tau, requires_grad=True), lib.tensor(W)
        q = lib.linalg.householder_product(a, t)
        grads = lib.autograd.grad((q * w).sum(), (a, t), allow_unused=True)
        (lib.orgqr(a, t) * w).sum().backward()
        res[lib] = (q.detach(), type(q.grad_fn).__name__, grads, a.grad, t.grad)
    jq, jname, jgrads, ja, jt = res[jtorch]
    tq, tname, tgrads, ta, tt = res[torch]
    assert_close(jq, tq)
    assert jname == tname
    assert tgrads == (None, None) and jgrads == (None, None)
    assert ta is None and tt is None and ja is None and jt is None


def test_ormqr_without_reflectors_differentiates_only_the_other_matrix(rng):
    A, C = rng.standard_normal((3, 0)), rng.standard_normal((3, 2))
    res = {}
    for lib in (jtorch, torch):
        a, t, c = (lib.tensor(v, requires_grad=True) for v in (A, np.zeros(0), C))
        r = lib.ormqr(a, t, c)
        res[lib] = (r.detach(), lib.autograd.grad((r * r).sum(), (a, t, c), allow_unused=True))
    assert res[torch][1][:2] == (None, None) and res[jtorch][1][:2] == (None, None)
    assert_close(res[jtorch][0], res[torch][0])
    assert_close(res[jtorch][1][2], res[torch][1][2])


def test_householder_product_with_reflectors_still_differentiates(rng):
    A, tau = rng.standard_normal((4, 3)), rng.uniform(0.5, 1.5, 2)
    res = {}
    for lib in (jtorch, torch):
        a, t = lib.tensor(A, requires_grad=True), lib.tensor(tau, requires_grad=True)
        res[lib] = lib.autograd.grad(lib.linalg.householder_product(a, t).sum(), (a, t))
    assert_close(res[jtorch], res[torch], rtol=1e-10, atol=1e-12)

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
# whose backward saves no input (torch's graph has no edge to it)
REDUCE = {
    "sum": lambda lib, y: y.sum(),
    "mean": lambda lib, y: y.mean(),
    "weighted": None,  # sum(y * c) with seeded c (set per test)
    "view_expand_cat": lambda lib, y: lib.cat([y.view(1, -1).expand(2, -1).t(), -y[:, None]], 1).sum(),
    "neg_div_pad": lambda lib, y: lib.nn.functional.pad(-y / 3, (1, 2)).sum(),
    "cumsum_flip_index": lambda lib, y: y.flip(0).cumsum(0)[[0, 2, 2]].sum(),
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


LINEAR = {"sum": lambda lib, x: x.sum(), "mean": lambda lib, x: x.mean(), "scaled": lambda lib, x: (x * 3).sum(),
          "divided": lambda lib, x: (x / 3).sum(), "neg": lambda lib, x: (-x).sum(),
          "expand": lambda lib, x: x.expand(2, 3).sum(), "cat": lambda lib, x: lib.cat([x, x]).sum(),
          "pad": lambda lib, x: lib.nn.functional.pad(x, (1, 1)).sum()}


@pytest.mark.parametrize("case", list(LINEAR))
def test_gradient_of_a_linear_op_is_not_in_the_graph(rng, case):
    # the backward of these saves no input: torch returns the gradient without a grad_fn, and
    # differentiating it again raises
    x = rng.standard_normal(3)
    for lib in (jtorch, torch):
        t = lib.tensor(x, requires_grad=True)
        g, = lib.autograd.grad(LINEAR[case](lib, t), t, create_graph=True)
        assert not g.requires_grad and g.grad_fn is None
        with pytest.raises(RuntimeError):
            g.sum().backward()


SAVES = {"neg": lambda lib, a, b: -a, "pad": lambda lib, a, b: lib.nn.functional.pad(a, (1, 2)),
         "divided": lambda lib, a, b: a / b, "divisor": lambda lib, a, b: b / a}


@pytest.mark.parametrize("case", list(SAVES))
def test_what_an_op_saves_matches_torch(rng, case):
    # the inputs an op saves (those a double backward reaches) are also the ones whose in-place change
    # makes backward raise, and an op that saves nothing can be backpropagated through twice
    x, y = rng.uniform(0.5, 2.0, 3), rng.uniform(0.5, 2.0, 3)
    res = {}
    for lib in (jtorch, torch):
        out = []
        for change in ("a", "b", "twice"):
            a, b = lib.tensor(x, requires_grad=True), lib.tensor(y)
            r = SAVES[case](lib, a, b)
            if change == "twice":
                r.sum().backward()
            else:
                with lib.no_grad():
                    (a if change == "a" else b).mul_(2)
            try:
                r.sum().backward()
                out.append("ok")
            except RuntimeError:
                out.append("raises")
        res[lib] = out
    assert res[jtorch] == res[torch]


PIECEWISE = {"relu": lambda lib, x: lib.relu(x), "abs": lambda lib, x: x.abs(),
             "leaky_relu": lambda lib, x: lib.nn.functional.leaky_relu(x, 0.1),
             "hardtanh": lambda lib, x: lib.nn.functional.hardtanh(x, -0.5, 0.5),
             "avg_pool": lambda lib, x: lib.nn.functional.avg_pool1d(x[None, None], 2)[0, 0],
             "reflect_pad": lambda lib, x: lib.nn.functional.pad(x[None], (1, 1), mode="reflect")[0]}


@pytest.mark.parametrize("case", list(PIECEWISE))
def test_gradient_of_a_piecewise_linear_op_stays_in_the_graph(rng, case):
    # torch's backward of these saves the input: the first gradient requires grad and a second
    # derivative (zeros) comes back
    x = rng.standard_normal(4)
    c = rng.standard_normal(4)
    res = {}
    for lib in (jtorch, torch):
        t = lib.tensor(x, requires_grad=True)
        g, = lib.autograd.grad(PIECEWISE[case](lib, t).sum(), t, create_graph=True)
        assert g.requires_grad
        h, = lib.autograd.grad((g * lib.tensor(c)).sum(), t)
        res[lib] = (g.detach(), lib.zeros_like(t) + h)  # (torch's may be a ZeroTensor: materialised)
    assert_close(res[jtorch], res[torch])


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


# ---------------------------------------------------------------- differentiable optimizers
def _np_or_none(grads):
    return [None if g is None else g.detach().numpy() for g in grads]


def _compare_grads(jgrads, tgrads):
    assert [g is None for g in jgrads] == [g is None for g in tgrads]
    for a, b in zip(jgrads, tgrads):
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)


def _unreached_sgd_fresh_buffer(lib, arrays):
    # the first step's momentum buffer is a detached copy of the gradient: momentum, dampening and the
    # gradient do not reach the new parameter
    p0, g = lib.tensor(arrays["p"], requires_grad=True), lib.tensor(arrays["g"], requires_grad=True)
    mom, damp, lr = (lib.tensor(v, requires_grad=True) for v in (0.9, 0.1, 0.5))
    p = p0.clone()
    p.grad = g
    lib.optim.SGD([p], lr=lr, momentum=mom, dampening=damp, differentiable=True).step()
    return lib.autograd.grad((p * lib.tensor(arrays["w"])).sum(), [mom, damp, lr, p0, g], allow_unused=True)


def _unreached_other_parameter(lib, arrays):
    # one group, two parameters: the loss reads the first only
    a0, b0 = lib.tensor(arrays["p"], requires_grad=True), lib.tensor(arrays["q"], requires_grad=True)
    ga, gb = lib.tensor(arrays["g"], requires_grad=True), lib.tensor(arrays["h"], requires_grad=True)
    lr = lib.tensor(0.5, requires_grad=True)
    a, b = a0.clone(), b0.clone()
    a.grad, b.grad = ga, gb
    lib.optim.Adam([a, b], lr=lr, differentiable=True).step()
    return lib.autograd.grad((a * a).sum(), [a0, b0, ga, gb, lr], allow_unused=True)


def _unreached_state_only(lib, arrays):
    # exp_avg is computed without lr
    a0, ga = lib.tensor(arrays["p"], requires_grad=True), lib.tensor(arrays["g"], requires_grad=True)
    lr, wd = lib.tensor(0.5, requires_grad=True), lib.tensor(0.1, requires_grad=True)
    a = a0.clone()
    a.grad = ga * 1
    opt = lib.optim.Adam([a], lr=lr, weight_decay=wd, differentiable=True)
    opt.step()
    return lib.autograd.grad(opt.state[a]["exp_avg"].sum(), [a0, ga, lr, wd], allow_unused=True)


def _unreached_backward_grads(lib, arrays):
    # the same through backward(): the leaves no gradient reaches keep .grad None
    a0, b0 = lib.tensor(arrays["p"], requires_grad=True), lib.tensor(arrays["q"], requires_grad=True)
    ga, gb = lib.tensor(arrays["g"], requires_grad=True), lib.tensor(arrays["h"], requires_grad=True)
    lr = lib.tensor(0.5, requires_grad=True)
    a, b = a0.clone(), b0.clone()
    a.grad, b.grad = ga, gb
    lib.optim.SGD([a, b], lr=lr, momentum=0.5, differentiable=True).step()
    lib.optim.SGD([a, b], lr=lr, differentiable=True).step()
    (a * a).sum().backward()
    return [a0.grad, b0.grad, ga.grad, gb.grad, lr.grad]


@pytest.mark.parametrize("case", [_unreached_sgd_fresh_buffer, _unreached_other_parameter, _unreached_state_only,
                                  _unreached_backward_grads], ids=lambda f: f.__name__[11:])
def test_optimizer_inputs_without_a_path_get_no_gradient(rng, case):
    arrays = {k: rng.standard_normal(3) for k in ("p", "q", "g", "h", "w")}
    _compare_grads(_np_or_none(case(jtorch, arrays)), _np_or_none(case(torch, arrays)))


def _weight_decay_step(lib, name, maximize, arrays, extra):
    p0, g0 = lib.tensor(arrays["p"], requires_grad=True), lib.tensor(arrays["g"], requires_grad=True)
    wd, lr = lib.tensor(0.1, requires_grad=True), lib.tensor(0.1, requires_grad=True)
    p = p0.clone()
    g = p.grad = g0 * 1
    getattr(lib.optim, name)([p], lr=lr, weight_decay=wd, maximize=maximize, differentiable=True, **extra).step()
    loss = (p * lib.tensor(arrays["w"])).sum() + (p.grad * lib.tensor(arrays["v"])).sum()
    return (p.grad is g, p.grad.requires_grad, type(p.grad.grad_fn).__name__, p.grad.detach().numpy(),
            _np_or_none(lib.autograd.grad(loss, [p0, g0, wd, lr], allow_unused=True)))


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("name,extra", [("SGD", {}), ("SGD", {"momentum": 0.9}), ("Adam", {}),
                                        ("Adam", {"amsgrad": True}), ("AdamW", {})])
def test_weight_decay_tensor_decays_the_gradient_in_place_as_torch(rng, name, extra, maximize):
    # torch's SGD and Adam add a weight decay that requires grad into p.grad in place (not with maximize,
    # which negates into a new tensor first, nor AdamW, which decays the parameter)
    arrays = {k: rng.standard_normal(3) for k in ("p", "g", "w", "v")}
    j = _weight_decay_step(jtorch, name, maximize, arrays, extra)
    t = _weight_decay_step(torch, name, maximize, arrays, extra)
    assert j[:3] == t[:3]
    np.testing.assert_allclose(j[3], t[3], rtol=1e-12)
    _compare_grads(j[4], t[4])


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_weight_decay_tensor_with_a_leaf_gradient_raises_as_torch(rng, name):
    errors = []
    for lib in (jtorch, torch):
        p = lib.tensor(rng.standard_normal(3), requires_grad=True).clone()
        p.grad = lib.tensor(rng.standard_normal(3), requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.1, weight_decay=lib.tensor(0.1, requires_grad=True),
                                       differentiable=True)
        with pytest.raises(RuntimeError) as e:
            opt.step()
        errors.append(str(e.value))
    assert errors[0] == errors[1]


# ops whose backward torch computes from the saved result (their version check is the result's):
# jtorch's backward reads the input, so a double backward must still reach it
RESULT_SAVERS = {
    "exp": lambda lib, x: lib.exp(x), "exp2": lambda lib, x: lib.exp2(x), "expm1": lambda lib, x: lib.expm1(x),
    "sigmoid": lambda lib, x: lib.sigmoid(x), "tanh": lambda lib, x: lib.tanh(x), "tan": lambda lib, x: lib.tan(x),
    "sqrt": lambda lib, x: lib.sqrt(x), "rsqrt": lambda lib, x: lib.rsqrt(x),
    "reciprocal": lambda lib, x: lib.reciprocal(x), "relu": lambda lib, x: lib.nn.functional.relu(x) * x,
    "softmax": lambda lib, x: lib.nn.functional.softmax(x, 1),
    "log_softmax": lambda lib, x: lib.nn.functional.log_softmax(x, 1),
    "amax": lambda lib, x: x.amax(1) * x.sum(),
}


@pytest.mark.parametrize("name", sorted(RESULT_SAVERS))
def test_second_order_through_ops_that_save_their_result(rng, name):
    data = rng.uniform(0.2, 1.2, (2, 3))

    def run(lib):
        x = lib.tensor(data, requires_grad=True)
        g, = lib.autograd.grad((RESULT_SAVERS[name](lib, x) ** 2).sum(), x, create_graph=True)
        h, = lib.autograd.grad((g * g).sum(), x)
        return g.detach().numpy(), h.numpy()
    for a, b in zip(run(torch), run(jtorch)):
        assert_close(b, a, rtol=1e-6, atol=1e-8)

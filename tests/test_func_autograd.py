"""torch.func transforms (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, linearize) composed
with ordinary autograd: their results are on the tape, so backward through them reaches the inputs
(second and higher derivatives), compared with torch's functorch on the same seeded inputs."""
import numpy as np
import pytest
import torch

import jtorch
from jtorch import func as jfunc
from helpers import assert_close


def _leaves(rng, *shapes):
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [jtorch.tensor(a, requires_grad=True) for a in arrays])


def f_scalar(x):
    return (x.sin() * x).sum() + (x * x).mean()


def f_vec(x):
    return x.sin() * x.sum() + x.exp()


def f_two(x, y):
    return (x * y.exp()).sum() + (x.tanh() * y).sum()


# each case: (L, F, xs) -> a scalar loss built from the transform's result
CASES = {
    "grad": lambda L, F, xs: F.grad(f_scalar)(xs[0]).pow(2).sum(),
    "grad_sum_backward": lambda L, F, xs: F.grad(f_scalar)(xs[0]).sum(),
    "grad_and_value": lambda L, F, xs: (lambda gv: gv[0].pow(2).sum() + 3 * gv[1])(F.grad_and_value(f_scalar)(xs[0])),
    "grad_argnums": lambda L, F, xs: (lambda g: g[0].sum() + (g[1] ** 2).sum())(
        F.grad(f_two, argnums=(0, 1))(xs[0], xs[1])),
    "grad_argnum1": lambda L, F, xs: F.grad(f_two, argnums=1)(xs[0], xs[1]).pow(2).sum(),
    "grad_has_aux": lambda L, F, xs: (lambda r: r[0].sum() + r[1].sum())(
        F.grad(lambda x: (f_scalar(x), x.cos() * 2), has_aux=True)(xs[0])),
    "grad_dict": lambda L, F, xs: sum(v.pow(2).sum() for v in F.grad(
        lambda p: (p["a"] * p["b"]).sin().sum())({"a": xs[0], "b": xs[1]}).values()),
    "vjp_out_and_grad": lambda L, F, xs: (lambda o, fn: o.sum() + fn(xs[1])[0].pow(2).sum())(
        *F.vjp(f_vec, xs[0])),
    "jvp": lambda L, F, xs: (lambda o, t: o.sum() + (t * t).sum())(*F.jvp(f_vec, (xs[0],), (xs[1],))),
    "jacrev": lambda L, F, xs: F.jacrev(f_vec)(xs[0]).pow(2).sum(),
    "jacfwd": lambda L, F, xs: F.jacfwd(f_vec)(xs[0]).pow(2).sum(),
    "jacrev_argnums": lambda L, F, xs: sum(j.pow(2).sum() for j in F.jacrev(
        lambda x, y: x * y.sin(), argnums=(0, 1))(xs[0], xs[1])),
    "hessian": lambda L, F, xs: F.hessian(f_scalar)(xs[0]).sum(),
    "linearize": lambda L, F, xs: (lambda o, fn: o.sum() + fn(xs[1]).pow(2).sum())(*F.linearize(f_vec, xs[0])),
    "vmap_grad": lambda L, F, xs: F.vmap(F.grad(f_scalar))(xs[2]).pow(2).sum(),
    "grad_of_grad": lambda L, F, xs: F.grad(lambda x: F.grad(f_scalar)(x).sum())(xs[0]).sum(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_through_transform_matches_torch(name, rng):
    txs, jxs = _leaves(rng, 4, 4, (3, 4))
    tl = CASES[name](torch, torch.func, txs)
    jl = CASES[name](jtorch, jfunc, jxs)
    assert jl.requires_grad and jl.grad_fn is not None
    tl.backward()
    jl.backward()
    for t, j in zip(txs, jxs):
        if t.grad is None:
            assert j.grad is None
        else:
            assert_close(j.grad, t.grad, rtol=1e-4, atol=1e-5)


def test_autograd_grad_create_graph_third_order(rng):
    (tx,), (jx,) = _leaves(rng, 5)
    res = []
    for L, F, x in ((torch, torch.func, tx), (jtorch, jfunc, jx)):
        g = F.grad(f_scalar)(x)
        (gg,) = L.autograd.grad(g.sum(), x, create_graph=True)
        assert gg.requires_grad
        (ggg,) = L.autograd.grad((gg * gg).sum(), x)
        res.append((g, gg, ggg))
    assert_close(res[1], res[0], rtol=1e-4, atol=1e-5)


def test_results_off_the_tape_when_nothing_requires_grad(rng):
    (tx,), (jx,) = _leaves(rng, 4)
    for L, F, x in ((torch, torch.func, tx), (jtorch, jfunc, jx)):
        with L.no_grad():
            assert not F.grad(f_scalar)(x).requires_grad
        assert not F.grad(f_scalar)(x.detach()).requires_grad
        assert not F.jacrev(f_vec)(x.detach()).requires_grad
        o, fn = F.vjp(f_vec, x.detach())
        assert not o.requires_grad and not fn(L.ones(4))[0].requires_grad
    g = jfunc.grad(f_scalar)(jx)
    assert g.requires_grad and not g.is_leaf


def test_gradient_penalty_on_module_parameters(rng):
    """A WGAN-GP style penalty: the norm of grad(critic wrt input) trained through the parameters."""
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    grads = []
    for L, F in ((torch, torch.func), (jtorch, jfunc)):
        lin = L.nn.Linear(4, 3)
        with L.no_grad():
            lin.weight.copy_(L.tensor(w))
            lin.bias.copy_(L.tensor(b))
        params = dict(lin.named_parameters())

        def critic(p, inp):
            return L.func.functional_call(lin, p, (inp,)).tanh().sum()
        gx = F.grad(critic, argnums=1)(params, L.tensor(x))
        penalty = ((gx.norm(dim=1) - 1) ** 2).mean()
        penalty.backward()
        grads.append([lin.weight.grad, lin.bias.grad])
    assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-5)


def test_integer_outputs_and_aux_pass_through(rng):
    (tx,), (jx,) = _leaves(rng, 4)
    out = []
    for F, x in ((torch.func, tx), (jfunc, jx)):
        g, (idx, c) = F.grad(lambda x: (f_scalar(x), (x.argmax(), x.cos())), has_aux=True)(x)
        assert str(idx.dtype).endswith("int64") and not idx.requires_grad and c.requires_grad
        (g.sum() + c.sum()).backward()
        out.append((idx, x.grad))
    assert_close(out[1], out[0], rtol=1e-4, atol=1e-5)


def test_backward_replays_the_forward_random_stream(rng):
    """The VJP is built in backward from the forward's inputs: random ops inside the function redraw
    the same bits (same dropout mask), and backward leaves the live random stream untouched."""
    xv = (rng.uniform(0.5, 2.0, 64) * rng.choice([-1, 1], 64)).astype(np.float32)

    def f(x):
        return (jtorch.nn.functional.dropout(x, 0.5) * x).sum()
    jtorch.manual_seed(3)
    x = jtorch.tensor(xv, requires_grad=True)
    g = jfunc.grad(f)(x)  # 2 * mask * x / (1 - p)
    after_forward = jtorch.rand(4)
    kept = np.asarray(g.detach()) != 0
    assert 0 < kept.sum() < 64
    jtorch.manual_seed(3)
    x = jtorch.tensor(xv, requires_grad=True)
    g = jfunc.grad(f)(x)
    g.sum().backward()  # d/dx sum(g) = 2 * mask / (1 - p) = g / x
    np.testing.assert_allclose(np.asarray(x.grad), np.asarray(g.detach()) / xv, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(jtorch.rand(4)), np.asarray(after_forward))

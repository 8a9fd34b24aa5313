"""detach(), .data and grad modes inside torch.func transforms: there JAX differentiates (jtorch's tape is
off), so they must stop JAX's gradients where torch's stop its own. Every case runs the same seeded
inputs through torch (the oracle) and jtorch and compares values, derivatives and grad-mode flags."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def grad_detach(L, x):
    return L.func.grad(lambda x: (x * x.detach()).sum())(x)


def grad_data(L, x):
    return L.func.grad(lambda x: (x.sin() * x.data).sum())(x)


def _no_grad_const(L):
    def f(x):
        with L.no_grad():
            c = x * 2 + x.sin()
        return (x * c).sum()
    return f


def grad_no_grad_inside(L, x):
    return L.func.grad_and_value(_no_grad_const(L))(x)


def grad_no_grad_decorator(L, x):
    @L.no_grad()
    def const(x):
        return x.exp()
    return L.func.grad(lambda x: (x * const(x)).sum())(x)


def grad_outer_no_grad_ignored(L, x):
    with L.no_grad():
        return L.func.grad(lambda x: (x * x.cos()).sum())(x)


def grad_enable_grad_in_no_grad(L, x):
    def f(x):
        with L.no_grad():
            a = x * 3
            with L.enable_grad():
                b = x * x
        return (x * a + b).sum()
    return L.func.grad(f)(x)


def grad_set_grad_enabled_call(L, x):
    def f(x):
        y = x.sin() * x
        L.set_grad_enabled(False)  # the function form: on until the transform ends
        return (y * x.exp()).sum()
    return L.func.grad(f)(x), L.is_grad_enabled()


def grad_set_grad_enabled_context(L, x):
    def f(x):
        with L.set_grad_enabled(False):
            c = x.tanh()
        with L.set_grad_enabled(True):
            d = x.tanh()
        return (x * c * d).sum()
    return L.func.grad(f)(x)


def grad_views_in_no_grad(L, x):
    def f(x):
        with L.no_grad():
            v = x[1:]
            a, b = x.split([2, 3])
            t = x.view(5, 1).t()
        return (x[1:] * v).sum() + (x[:2] * a).sum() + (x[2:] * b.exp()).sum() + (x * t[0]).sum()
    return L.func.grad(f)(x)


def grad_inplace_in_no_grad(L, x):
    def f(x):
        x = x * 1.0  # a tensor of the function's own (torch forbids writing a transform's input)
        with L.no_grad():
            x.mul_(2).add_(x.sin())
        return (x * x).sum()
    return L.func.grad(f)(x)


def grad_detach_then_ops(L, x):
    def f(x):
        d = x.detach()
        return (x * d.exp() + d[:3].sum() * x.pow(2).sum()).sum()
    return L.func.grad(f)(x)


def grad_detach_in_place(L, x):
    def f(x):
        y = x * 2
        y.detach_()
        return (y * x.sin()).sum()
    return L.func.grad(f)(x)


def grad_has_aux_detach(L, x):
    return L.func.grad(lambda x: ((x * x.detach()).sum(), x.detach() * 2), has_aux=True)(x)


def vmap_grad_detach(L, x):
    xs = L.stack([x, x * 2, x.cos()])
    return L.func.vmap(L.func.grad(lambda x: (x * x.detach()).sum()))(xs)


def vmap_grad_no_grad(L, x):
    xs = L.stack([x, x.exp()])
    return L.func.vmap(L.func.grad(_no_grad_const(L)))(xs)


def jacrev_detach(L, x):
    return L.func.jacrev(lambda x: x * x.detach().sin())(x)


def jacrev_no_grad(L, x):
    def f(x):
        with L.no_grad():
            c = x.exp()
        return x * c
    return L.func.jacrev(f)(x)


def vjp_no_grad(L, x):
    def f(x):
        with L.no_grad():
            c = x * x
        return x.sin() * c
    out, fn = L.func.vjp(f, x)
    return out, fn(x.cos())


def jvp_detach(L, x):
    return L.func.jvp(lambda x: x * x.detach(), (x,), (x.cos(),))


def jvp_no_grad_not_stopped(L, x):
    # torch: no_grad stops reverse-mode derivatives only; forward mode (jvp, jacfwd) goes through it
    def f(x):
        with L.no_grad():
            c = x * 2
        return x * c
    return L.func.jvp(f, (x,), (x.cos(),)), L.func.jacfwd(f)(x), L.func.linearize(f, x)[1](x.sin())


def jacfwd_detach(L, x):
    return L.func.jacfwd(lambda x: x.exp() * x.detach())(x)


def nested_detach_inner(L, x):
    # detach inside the inner function stops the outer level too (torch's detach leaves every level)
    return L.func.grad(lambda x: L.func.grad(lambda y: (y * y.detach() * x).sum())(x).sum())(x)


def nested_detach_captured(L, x):
    def outer(x):
        g = L.func.grad(lambda y: (y * y * x.detach()).sum())(x)
        return (g * x).sum()
    return L.func.grad(outer)(x)


def nested_no_grad_around_inner(L, x):
    def outer(x):
        with L.no_grad():
            g = L.func.grad(lambda y: (y * y * x).sum())(x)
        return (g * x.sin()).sum()
    return L.func.grad(outer)(x)


def nested_no_grad_in_inner(L, x):
    def inner(y):
        with L.no_grad():
            c = y * y
        return (y * c).sum()
    return L.func.grad(lambda x: L.func.grad(inner)(x).exp().sum())(x)


def _net(L):
    L.manual_seed(0)
    net = L.nn.Sequential(L.nn.Linear(5, 4), L.nn.BatchNorm1d(4), L.nn.Tanh())
    return net


def _module_grads(L, net, x, batch):
    """A target network under no_grad and a BatchNorm in eval mode inside the transform."""
    net.eval()
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p, x):
        with L.no_grad():
            target = L.func.functional_call(net, p, (batch * 2,))
        out = L.func.functional_call(net, p, (batch * x,))
        return ((out - target) ** 2).sum()
    return L.func.grad(loss, argnums=(0, 1))(params, x)


CASES = [grad_detach, grad_data, grad_no_grad_inside, grad_no_grad_decorator, grad_outer_no_grad_ignored,
         grad_enable_grad_in_no_grad, grad_set_grad_enabled_call, grad_set_grad_enabled_context,
         grad_views_in_no_grad, grad_inplace_in_no_grad, grad_detach_then_ops, grad_detach_in_place,
         grad_has_aux_detach,
         vmap_grad_detach, vmap_grad_no_grad, jacrev_detach, jacrev_no_grad, vjp_no_grad, jvp_detach,
         jvp_no_grad_not_stopped, jacfwd_detach, nested_detach_inner, nested_detach_captured,
         nested_no_grad_around_inner, nested_no_grad_in_inner]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_matches_torch(case, rng):
    a = rng.standard_normal(5).astype(np.float32)
    try:
        want = case(torch, torch.tensor(a))
    finally:
        torch.set_grad_enabled(True)
    try:
        got = case(jtorch, jtorch.tensor(a))
    finally:
        jtorch.set_grad_enabled(True)
    assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_module_in_eval_under_no_grad(rng):
    a = rng.standard_normal(5).astype(np.float32)
    batch = rng.standard_normal((3, 5)).astype(np.float32)
    tnet, jnet = _net(torch), _net(jtorch)
    jnet.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in tnet.state_dict().items()})
    with torch.no_grad():  # running statistics that are not the defaults
        tnet[1].running_mean.copy_(torch.tensor(rng.standard_normal(4).astype(np.float32)))
        tnet[1].running_var.copy_(torch.tensor(rng.uniform(0.5, 2, 4).astype(np.float32)))
    jnet[1].running_mean.copy_(jtorch.tensor(tnet[1].running_mean.numpy()))
    jnet[1].running_var.copy_(jtorch.tensor(tnet[1].running_var.numpy()))
    want = _module_grads(torch, tnet, torch.tensor(a), torch.tensor(batch))
    got = _module_grads(jtorch, jnet, jtorch.tensor(a), jtorch.tensor(batch))
    assert sorted(got[0]) == sorted(want[0])
    for k in want[0]:
        assert_close(got[0][k], want[0][k], rtol=1e-4, atol=1e-5)
    assert_close(got[1], want[1], rtol=1e-4, atol=1e-5)
    assert_close(jnet[1].running_mean, tnet[1].running_mean)  # eval: the statistics stay


def _grad_mode_flags(L):
    seen = []

    def f(x):
        seen.append(("body", L.is_grad_enabled()))
        with L.no_grad():
            seen.append(("no_grad", L.is_grad_enabled()))
            with L.enable_grad():
                seen.append(("enable_grad", L.is_grad_enabled()))
            L.func.vmap(lambda r: seen.append(("vmap in no_grad", L.is_grad_enabled())) or r)(x.view(5, 1))
        seen.append(("after", L.is_grad_enabled()))
        return x.sum()
    x = L.ones(5)
    L.func.grad(f)(x)
    with L.no_grad():
        L.func.grad(f)(x)
        L.func.jvp(lambda x: seen.append(("jvp under no_grad", L.is_grad_enabled())) or x, (x,), (x,))
        L.func.vmap(lambda r: seen.append(("vmap under no_grad", L.is_grad_enabled())) or r)(x)
    L.func.jvp(lambda x: seen.append(("jvp", L.is_grad_enabled())) or x, (x,), (x,))
    seen.append(("outside", L.is_grad_enabled()))
    return seen


def test_is_grad_enabled_inside_transforms():
    assert _grad_mode_flags(jtorch) == _grad_mode_flags(torch)


def test_requires_grad_inside_transform_is_an_error():
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match="requires_grad_"):
            L.func.grad(lambda x: (x * x.detach().requires_grad_()).sum())(L.ones(3))
        with pytest.raises(RuntimeError, match="requires_grad_"):
            L.func.vmap(lambda x: x * L.zeros(3).requires_grad_())(L.ones(2, 3))
        with pytest.raises(RuntimeError, match="mutating directly with `.data`"):
            L.func.grad(lambda x: (setattr(x, "data", x.sin()) or x).sum())(L.ones(3))
        assert L.is_grad_enabled()


def test_detach_outside_transforms_still_shares_storage(rng):
    a = rng.standard_normal(4).astype(np.float32)
    for L in (torch, jtorch):
        x = L.tensor(a, requires_grad=True)
        L.func.grad(lambda y: (y * y.detach()).sum())(x.detach())  # a transform ran before
        d = x.detach()
        d.mul_(2)
        assert np.allclose(x.detach().numpy(), 2 * a)
        with L.no_grad():
            y = x * 3
        assert not y.requires_grad


def test_compile_around_and_inside(rng):
    a = rng.standard_normal(5).astype(np.float32)
    want = grad_no_grad_inside(torch, torch.tensor(a)), grad_detach(torch, torch.tensor(a))
    around = jtorch.compile(lambda x: (grad_no_grad_inside(jtorch, x), grad_detach(jtorch, x)))
    assert_close(around(jtorch.tensor(a)), want, rtol=1e-5, atol=1e-5)
    inner = jtorch.compile(_no_grad_const(jtorch))
    assert_close(jtorch.func.grad_and_value(inner)(jtorch.tensor(a)), want[0], rtol=1e-5, atol=1e-5)

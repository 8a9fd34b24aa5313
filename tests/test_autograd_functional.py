"""torch.autograd.functional with create_graph: results stay connected to inputs that require grad
(a gradient of a Jacobian's trace, of an hvp, ...), and without it they are detached; against torch."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _f(lib):
    return lambda x: lib.stack([x[0] * x[1] ** 2, lib.sin(x[2]) * x[0], x.pow(3).sum()])


def _scalar(lib):
    return lambda x: x[0] ** 2 * x[1] + lib.exp(x[2]) * x[1]


@pytest.mark.parametrize("which", ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"])
def test_create_graph_connects_to_inputs(rng, which):
    x = rng.standard_normal(3)
    v = rng.standard_normal(3)
    results = []
    for lib in (torch, jtorch):
        F = lib.autograd.functional
        xg = lib.tensor(x, requires_grad=True)
        vt = lib.tensor(v)
        if which == "jacobian":
            out = F.jacobian(_f(lib), xg, create_graph=True).trace()
        elif which == "hessian":
            out = (F.hessian(_scalar(lib), xg, create_graph=True) * lib.arange(9.).view(3, 3)).sum()
        elif which == "vjp":
            out = F.vjp(_f(lib), xg, vt, create_graph=True)[1].pow(2).sum()
        elif which == "jvp":
            out = F.jvp(_f(lib), xg, vt, create_graph=True)[1].pow(2).sum()
        else:
            value, prod = getattr(F, which)(_scalar(lib), xg, vt, create_graph=True)
            assert value.requires_grad
            out = prod.pow(2).sum() + value
        assert out.requires_grad
        out.backward()
        results.append(xg.grad)
    assert results[1] is not None
    assert_close(results[1], results[0], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("which", ["jacobian", "hessian", "vjp", "hvp"])
def test_results_detached_without_create_graph(rng, which):
    x = rng.standard_normal(3)
    for lib in (torch, jtorch):
        F = lib.autograd.functional
        xg = lib.tensor(x, requires_grad=True)
        if which == "jacobian":
            outs = (F.jacobian(_f(lib), xg),)
        elif which == "hessian":
            outs = (F.hessian(_scalar(lib), xg),)
        elif which == "vjp":
            outs = F.vjp(_f(lib), xg, lib.ones(3, dtype=lib.float64))
        else:
            outs = F.hvp(_scalar(lib), xg, lib.ones(3, dtype=lib.float64))
        assert [o.requires_grad for o in outs] == [False] * len(outs), lib.__name__
        assert xg.grad is None


def test_jacobian_create_graph_with_tuple_inputs(rng):
    a, b = rng.standard_normal(2), rng.standard_normal(3)
    grads = []
    for lib in (torch, jtorch):
        ag, bg = lib.tensor(a, requires_grad=True), lib.tensor(b)  # b does not require grad
        ja, jb = lib.autograd.functional.jacobian(lambda p, q: p * q.sum() + q[:2] ** 2, (ag, bg), create_graph=True)
        (ja.sum() + jb.sum()).backward()
        grads.append((ag.grad, bg.grad))
    assert_close(grads[1][0], grads[0][0])
    assert grads[1][1] is None and grads[0][1] is None

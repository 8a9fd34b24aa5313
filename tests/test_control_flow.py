"""torch.cond / torch.while_loop: eagerly against real torch, and under jtorch.compile (jax.lax.cond /
while_loop: one program whatever the branch, no eager fallback) against the eager result."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both


def _branches(m):
    return (lambda a, b: (a.sin() * b, a.sum()), lambda a, b: (a.cos() + b, a.prod()))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_eager_matches_torch(rng, sign):
    x = both(np.abs(rng.standard_normal((3, 4))).astype(np.float32) * sign, requires_grad=True)
    y = both(rng.standard_normal((4,)).astype(np.float32), requires_grad=True)
    res = []
    for k, m in enumerate((torch, jtorch)):
        t, f = _branches(m)
        out = m.cond(x[k].sum() > 0, t, f, (x[k], y[k]))
        (out[0].sum() + out[1]).backward()
        res.append(out)
    assert_close(list(res[1]), list(res[0]), rtol=1e-5, atol=1e-5)
    assert_close(x[1].grad, x[0].grad, rtol=1e-5, atol=1e-5)
    assert_close(y[1].grad, y[0].grad, rtol=1e-5, atol=1e-5)
    # a Python bool and a list of operands
    assert_close(jtorch.cond(sign > 0, lambda a: a * 2, lambda a: a - 1, [x[1]]),
                 torch.cond(sign > 0, lambda a: a * 2, lambda a: a - 1, [x[0]]))


def test_cond_errors():
    for m in (torch, jtorch):
        x = m.randn(3)
        with pytest.raises(RuntimeError):
            m.cond(x > 0, lambda a: a, lambda a: -a, (x,))
        with pytest.raises(RuntimeError):
            m.cond(x.sum() > 0, lambda a: a, lambda a: -a, x)


def test_cond_compiled_one_program(rng):
    w = jtorch.nn.Parameter(jtorch.tensor(rng.standard_normal(5).astype(np.float32)))

    def step(x):
        w.grad = None
        h = x * w
        y = jtorch.cond(h.sum() > 0, lambda a: (a.sin() * 3, a.mean()), lambda a: (a.cos() * 2, a.amax()), (h,))
        (y[0].sum() + y[1]).backward()
        return y

    compiled = jtorch.compile(step)
    seen = set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an eager fallback would warn
        for _ in range(8):
            x = jtorch.tensor(rng.standard_normal(5).astype(np.float32))
            got = compiled(x)
            g = w.grad.clone()
            want = step(x)
            seen.add(bool((x * w).sum() > 0))
            for a, b in zip(got, want):
                np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(g.numpy(), w.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert seen == {True, False}


def test_while_loop_eager_matches_torch(rng):
    x = both(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    res = []
    for k, m in enumerate((torch, jtorch)):
        out = m.while_loop(lambda i, v: i < 4, lambda i, v: (i + 1, v * 1.5 + i), (m.tensor(0), x[k]))
        out[1].sum().backward()
        res.append(out)
    assert_close(list(res[1]), list(res[0]))
    assert_close(x[1].grad, x[0].grad)
    # no iteration: the inputs come back
    for m, v in ((torch, x[0]), (jtorch, x[1])):
        out = m.while_loop(lambda i, v: i < 0, lambda i, v: (i + 1, v * 1), (m.tensor(0), v))
        assert out[0].item() == 0 and np.array_equal(out[1].detach().numpy(), v.detach().numpy())


def test_while_loop_compiled(rng):
    def f(n, x):
        return jtorch.while_loop(lambda i, v: i < n, lambda i, v: (i + 1, v * 2 + 1), (jtorch.tensor(0), x))

    compiled = jtorch.compile(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in (0, 3, 6):
            x = jtorch.tensor(rng.standard_normal(4).astype(np.float32))
            got, want = compiled(jtorch.tensor(n), x), f(jtorch.tensor(n), x)
            for a, b in zip(got, want):
                assert a.dtype == b.dtype
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_while_loop_compiled_errors():
    def bad(x):
        return jtorch.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v.double()), (jtorch.tensor(0), x))

    compiled = jtorch.compile(bad, fullgraph=True)
    for _ in range(2):  # the first (eager) call and the traced one
        with pytest.raises(RuntimeError):
            compiled(jtorch.randn(2))
    with pytest.raises(RuntimeError):
        torch.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v.double()), (torch.tensor(0), torch.randn(2)))
    with pytest.raises(RuntimeError):
        jtorch.while_loop(lambda i: i < 3, lambda i: (i + 1, i), (jtorch.tensor(0),))
    with pytest.raises(RuntimeError):
        torch.while_loop(lambda i: i < 3, lambda i: (i + 1, i), (torch.tensor(0),))


def test_while_loop_traced_checks_body_metadata():
    import jax
    import jax.numpy as jnp

    def run(body):
        def f(arr):
            carry = (jtorch.Tensor._wrap(jnp.asarray(0)), jtorch.Tensor._wrap(arr))
            return jtorch.while_loop(lambda i, v: i < 3, body, carry)[1]._value
        return jax.jit(f)(jnp.ones(2, jnp.float32))

    np.testing.assert_allclose(np.asarray(run(lambda i, v: (i + 1, v * 2))), [8.0, 8.0])
    for bad in (lambda i, v: (i + 1, v.double()), lambda i, v: (i + 1, v[:1]), lambda i, v: (i + 1,)):
        with pytest.raises(RuntimeError):
            run(bad)

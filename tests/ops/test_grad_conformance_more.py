"""Second-order gradients that scripts/conformance.py --grad2 (2026-11-27) found differing from torch's: the
same seeded inputs and cotangents through both libraries, the gradient of a weighted sum of the first-order
gradients compared."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _grads2(op, arrays, rng, int_args=()):
    """Second-order gradients of op: for each library, the first gradients g of sum(op(*xs) * c1), then the
    gradients of sum(g * c2) (c1, c2 seeded); (jtorch, torch) pairs, one per float input."""
    res = {}
    for lib in (torch, jtorch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = op(lib, *xs, *[lib.tensor(a) for a in int_args])
        cr = np.random.default_rng(7)
        c1 = lib.tensor(cr.standard_normal(tuple(out.shape))).to(out.dtype)
        loss = (out * c1).sum()
        g1 = lib.autograd.grad(loss.real if loss.is_complex() else loss, xs, create_graph=True)
        loss2 = sum(((g * lib.tensor(cr.standard_normal(tuple(g.shape))).to(g.dtype)).sum()) for g in g1)
        res[lib] = (g1, lib.autograd.grad(loss2.real if loss2.is_complex() else loss2, xs))
    for (j1, j2), (t1, t2) in [(res[jtorch], res[torch])]:
        for a, b in zip(j1, t1):
            assert_close(a.detach(), b.detach(), rtol=1e-7, atol=1e-9)
        return list(zip(j2, t2))


def test_lgamma_second_order_negative_inputs(rng):
    # lgamma's derivative is digamma; JAX's digamma derivative is off for negative x (as digamma's own was)
    a = np.concatenate([-rng.uniform(0.05, 9.0, 12), rng.uniform(0.05, 9.0, 6)])
    a = a[np.abs(a - np.round(a)) > 0.02]  # away from the poles
    for j, t in _grads2(lambda lib, x: lib.lgamma(x), [a], rng):
        assert_close(j, t, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_second_order_with_repeated_indices(rng, include_self):
    # XLA's scatter-multiply has no derivative when indices repeat; the first-order rule used it
    x = rng.uniform(0.5, 2.0, (4, 3)) * rng.choice([-1, 1], (4, 3))
    src = rng.uniform(0.5, 2.0, (6, 3)) * rng.choice([-1, 1], (6, 3))
    idx = rng.integers(0, 4, (6, 3))
    assert len(np.unique(idx[:, 0])) < 6  # the case under test: repeated indices
    f = lambda lib, a, b, i: a.scatter_reduce(0, i, b, "prod", include_self=include_self)
    for j, t in _grads2(f, [x, src], rng, int_args=[idx]):
        assert_close(j, t, rtol=1e-7, atol=1e-9)


def test_index_reduce_prod_second_order(rng):
    x = rng.uniform(0.5, 2.0, (3, 5))
    src = rng.uniform(0.5, 2.0, (3, 4))
    idx = np.array([1, 3, 1, 0])
    f = lambda lib, a, b, i: a.index_reduce(1, i, b, "prod")
    for j, t in _grads2(f, [x, src], rng, int_args=[idx]):
        assert_close(j, t, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("complex_input", [False, True])
def test_eigvals_second_order(rng, complex_input):
    # JAX's eigenvalue derivative needs eigenvector derivatives to be differentiated again (it raised
    # NotImplementedError). A loss symmetric in the eigenvalues: their order is unspecified
    a = rng.standard_normal((2, 4, 4))
    if complex_input:
        a = a + 1j * rng.standard_normal((2, 4, 4))

    def f(lib, x):
        w = lib.linalg.eigvals(x)
        return (w * w * w).sum(-1) + (w.abs() ** 2).sum(-1)
    for j, t in _grads2(f, [a], rng):
        assert_close(j, t, rtol=1e-6, atol=1e-8)


def test_complex_abs_second_order(rng):
    # abs's rule for complex z used JAX's sign(z), whose derivative is 0: second orders through |z| were
    # wrong (|z| ** 2 of eigenvalues, norms); now sgn with torch's derivative
    z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    for f in (lambda lib, x: x.abs(), lambda lib, x: x.abs() ** 2 + x.abs().exp()):
        for j, t in _grads2(f, [z], rng):
            assert str(j.dtype) == str(t.dtype)
            assert_close(jtorch.view_as_real(j), torch.view_as_real(t), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("op", ["logcumsumexp", "logaddexp"])
def test_complex_logaddexp_gradient_with_large_real_parts(rng, op):
    # the branch for two infinite real parts computed exp of the operands everywhere: at large finite real
    # parts it overflowed, and its (unused) gradient turned the whole gradient to nan
    a = (rng.standard_normal((4, 5)) * 3 + 1j * rng.standard_normal((4, 5)))
    a[0, :] += 1e4
    b = rng.standard_normal((4, 5)) + 1j * rng.standard_normal((4, 5))
    b[0, :] += 1e4  # (close to a's: torch's own complex gradient is nan when exp of the gap overflows)
    res = {}
    for lib in (torch, jtorch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = lib.logcumsumexp(x, 1) if op == "logcumsumexp" else lib.logaddexp(x, y)
        c = lib.tensor(np.random.default_rng(3).standard_normal((4, 5)))
        res[lib] = [out.detach()] + [g for g in lib.autograd.grad((out * c).sum().real, [x, y], allow_unused=True)]
    for j, t in zip(res[jtorch], res[torch]):
        assert (j is None) == (t is None)
        if t is not None:
            assert_close(jtorch.view_as_real(j), torch.view_as_real(t.resolve_conj()), rtol=1e-9, atol=1e-9)


def test_complex_sgn_second_order(rng):
    # sgn's rule used JAX's sign and abs, whose derivatives (0 for sign) a second order then took.
    # (at z = 0 torch's second order is nan, jtorch's 0: not compared)
    z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    for f in (lambda lib, x: x.sgn(), lambda lib, x: x.sgn() * x.abs() ** 2):
        for j, t in _grads2(f, [z], rng):
            assert_close(jtorch.view_as_real(j), torch.view_as_real(t.resolve_conj()), rtol=1e-7, atol=1e-9)


def _grads1(op, arrays, int_args=()):
    """First-order gradients of sum(op(*xs) * c) in both libraries: (jtorch, torch) pairs per float input."""
    res = {}
    for lib in (torch, jtorch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = op(lib, *xs, *[lib.tensor(a) for a in int_args])
        assert out.requires_grad
        c = lib.tensor(np.random.default_rng(7).standard_normal(tuple(out.shape)))
        res[lib] = lib.autograd.grad((out * c).sum(), xs)
    return list(zip(res[jtorch], res[torch]))


@pytest.mark.parametrize("dim", [0, -1])
def test_index_fill_value_gradient_with_repeated_indices(rng, dim):
    # a repeated index fills its slice once: the value's gradient sums each filled element once (the
    # scatter it was written with counted the repeats)
    x, v = rng.standard_normal((5, 5)), np.float64(rng.standard_normal())
    idx = np.array([4, 3, 3, 4, 0])
    for j, t in _grads1(lambda lib, a, b, i: a.index_fill(dim, i, b), [x, v], int_args=[idx]):
        assert_close(j, t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("index_shape", [(0,), (2, 0)])
def test_gather_with_an_empty_index_is_in_the_graph(rng, index_shape):
    x = rng.standard_normal(5)
    for j, t in _grads1(lambda lib, a, i: a.gather(0, i), [x], int_args=[np.zeros(index_shape, np.int64)]):
        assert_close(j, t)

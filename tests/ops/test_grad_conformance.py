"""Gradients that scripts/conformance.py --grad found differing from torch's: the same seeded inputs and
cotangents through both libraries, gradients of every input compared."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _grads(op, arrays, rng, lib_args=lambda lib: (), int_args=()):
    """Gradients of sum(op(*inputs, *ints) * cotangent) for torch and jtorch: a list of (jtorch, torch)
    pairs, one per float input (None where the library gives None)."""
    res = {}
    for lib in (torch, jtorch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        extra = [lib.tensor(a) for a in int_args]
        out = op(lib, *xs, *extra)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        outs = [o for o in outs if o.is_floating_point() or o.is_complex()]
        loss = 0
        cr = np.random.default_rng(7)
        for o in outs:
            c = cr.standard_normal(tuple(o.shape))
            term = (o * lib.tensor(c.astype(np.float64)).to(o.dtype)).sum()
            loss = loss + (term.real if term.is_complex() else term)
        res[lib] = lib.autograd.grad(loss, xs, allow_unused=True)
    return list(zip(res[jtorch], res[torch]))


def _check(pairs, rtol=1e-6, atol=1e-8):
    for j, t in pairs:
        assert (j is None) == (t is None), (j, t)
        if t is not None and t.is_complex():  # real and imaginary parts (numpy's complex compare trips on -0j)
            assert str(j.dtype) == str(t.dtype)
            assert_close(jtorch.view_as_real(j), torch.view_as_real(t), rtol=rtol, atol=atol)
        elif t is not None:
            assert_close(j, t, rtol=rtol, atol=atol)


def test_frexp_mantissa_gradient(rng):
    a = rng.standard_normal(12) * 10.0 ** rng.integers(-5, 5, 12)
    _check(_grads(lambda lib, x: lib.frexp(x), [a], rng))
    # the exponent is an integer output: jtorch's mantissa requires grad like torch's
    m, e = jtorch.frexp(jtorch.tensor(a, requires_grad=True))
    assert m.requires_grad and not e.requires_grad


@pytest.mark.parametrize("dim", [1, 2])
def test_max_unpool_gradient_reaches_repeated_indices(rng, dim):
    # overlapping windows (stride < kernel) make max_pool return the same index twice: torch's unpool
    # backward gathers the output gradient for each of them
    shape = (2, 3) + (7,) * dim
    a = rng.standard_normal(shape)
    pool = getattr(torch.nn.functional, f"max_pool{dim}d")
    vals, idx = pool(torch.tensor(a), 3, stride=1, return_indices=True)
    assert len(torch.unique(idx[0, 0])) < idx[0, 0].numel()  # the case under test: repeated indices
    name = f"max_unpool{dim}d"
    pairs = _grads(lambda lib, v, i: getattr(lib.nn.functional, name)(v, i, 3, stride=1, output_size=shape[2:]),
                   [vals.numpy()], rng, int_args=[idx.numpy()])
    _check(pairs)


def test_digamma_gradient_negative_inputs(rng):
    # JAX's digamma derivative is inaccurate for negative non-integer x; torch's is polygamma(1, x)
    a = np.concatenate([-rng.uniform(0.05, 9.0, 16), rng.uniform(0.05, 9.0, 8)])
    _check(_grads(lambda lib, x: lib.digamma(x), [a], rng), rtol=1e-7)
    # at 0 torch gives an infinite derivative, not nan
    x = jtorch.tensor([0.0, 1.5], dtype=jtorch.float64, requires_grad=True)
    jtorch.digamma(x).sum().backward()
    assert np.isinf(x.grad.numpy()[0])


@pytest.mark.parametrize("shape", [(0, 0), (3, 0, 0)])
def test_det_of_empty_matrices_backward(rng, shape):
    _check(_grads(lambda lib, x: lib.linalg.det(x), [np.zeros(shape)], rng))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_pinv_hermitian_gradient_of_a_non_hermitian_input(rng, dtype):
    # hermitian=True reads the lower triangle; torch's gradient is the general pseudo-inverse formula at
    # the whole (here not Hermitian) input and that result
    a = rng.standard_normal((2, 4, 4))
    if dtype == np.complex128:
        a = a + 1j * rng.standard_normal((2, 4, 4))
    _check(_grads(lambda lib, x: lib.linalg.pinv(x, hermitian=True), [a], rng), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("complex_input", [False, True])
def test_eig_eigenvector_gradient(rng, complex_input):
    # JAX has no eigenvector derivative for general matrices; torch's needs a loss that does not depend
    # on each vector's phase: |V| as op_db's gradient tests use. The eigenvalues' order is unspecified
    # (LAPACK builds differ), so the outputs compared do not depend on it
    a = rng.standard_normal((2, 4, 4))
    if complex_input:
        a = a + 1j * rng.standard_normal((2, 4, 4))

    def f(lib, x):
        w, v = lib.linalg.eig(x)
        return (v.abs() * (w.real + 2 * w.imag).unsqueeze(-2)).sum(-1), (w.real ** 2).sum(-1), (w.imag ** 3).sum(-1)
    _check(_grads(f, [a], rng), rtol=1e-7, atol=1e-9)


def test_combinations_empty_result_is_in_the_graph(rng):
    pairs = _grads(lambda lib, x: lib.combinations(x, r=3), [rng.standard_normal(2)], rng)
    _check(pairs)
    assert jtorch.combinations(jtorch.tensor([1.0, 2.0], requires_grad=True), r=3).requires_grad


def test_cat_skipping_empty_1d_tensors_backward(rng):
    # torch skips 1-D empty tensors; jtorch's shape cache was keyed by a list then (TypeError)
    b = rng.standard_normal((2, 3))
    # (the skipped empty tensor's gradient: torch an empty tensor, jtorch None; no values either way)
    (_, _), (jb, tb) = _grads(lambda lib, x, y: lib.cat([x, y], dim=1), [np.zeros(0), b], rng)
    assert_close(jb, tb)
    out = jtorch.cat([jtorch.zeros(0, requires_grad=True)] * 2)
    assert out.shape == (0,) and out.requires_grad


def test_i0_gradient_at_zero(rng):
    a = np.concatenate([[0.0], rng.standard_normal(8) * 4]).astype(np.float32)
    _check(_grads(lambda lib, x: lib.i0(x), [a], rng), rtol=1e-5, atol=1e-6)


def test_fill_is_differentiable(rng):
    # torch: zeros for the input, the summed gradient for a 0-dim tensor value
    _check(_grads(lambda lib, x, v: lib.fill(x, v), [rng.standard_normal((3, 4)), np.float64(rng.standard_normal())],
                  rng))
    assert jtorch.fill(jtorch.tensor(rng.standard_normal(3), requires_grad=True), 2.0).requires_grad
    for lib in (torch, jtorch):
        with pytest.raises(RuntimeError, match="0-dimension"):
            lib.fill(lib.zeros(3), lib.ones(2))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_normalize_complex_values_and_gradient(rng, p):
    # |z| of complex entries was computed as sign(z) * z = z^2 / |z| (a complex number)
    a = rng.standard_normal((2, 3, 4)) + 1j * rng.standard_normal((2, 3, 4))
    tx, jx = torch.tensor(a), jtorch.tensor(a)
    assert_close(jtorch.nn.functional.normalize(jx, p=p), torch.nn.functional.normalize(tx, p=p), rtol=1e-10)
    _check(_grads(lambda lib, x: lib.nn.functional.normalize(x, p=p), [a], rng), rtol=1e-8, atol=1e-10)


def test_sgn_complex_gradient(rng):
    # torch differentiates z / |z| (JAX's sign has derivative 0); 0 at z = 0
    a = rng.standard_normal((3, 5)) + 1j * rng.standard_normal((3, 5))
    a[0, 0] = 0
    _check(_grads(lambda lib, x: lib.sgn(x), [a], rng), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("p", [2.0, 0.0, 1.5])
def test_pairwise_distance_complex(rng, p):
    # the 2-norm summed d * d (complex) instead of |d|^2; the 0-"norm" had a complex dtype
    a, b = (rng.standard_normal((4, 6)) + 1j * rng.standard_normal((4, 6)) for _ in range(2))
    tx, jx = torch.tensor(a), jtorch.tensor(a)
    ty, jy = torch.tensor(b), jtorch.tensor(b)
    assert_close(jtorch.nn.functional.pairwise_distance(jx, jy, p=p), torch.nn.functional.pairwise_distance(tx, ty, p=p),
                 rtol=1e-10)
    if p:
        _check(_grads(lambda lib, x, y: lib.nn.functional.pairwise_distance(x, y, p=p), [a, b], rng), rtol=1e-8,
               atol=1e-10)


def test_bernoulli_output_in_the_graph_with_zero_gradient(rng):
    p = rng.uniform(0.1, 0.9, (4, 3))
    for lib in (torch, jtorch):
        x = lib.tensor(p, requires_grad=True)
        y = lib.bernoulli(x)
        assert y.requires_grad and str(y.dtype) == "torch.float64"
        (g,) = lib.autograd.grad((y * lib.tensor(rng.standard_normal((4, 3)))).sum(), x)
        assert tuple(g.shape) == (4, 3) and not bool((g != 0).any())
        with lib.no_grad():
            assert not lib.bernoulli(x).requires_grad


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5)])
def test_lstsq_float32_gradient_with_close_singular_values(rng, shape):
    # an orthogonal-like A (all singular values ~1): differentiating through JAX's SVD divides by
    # s_i^2 - s_j^2 and lost all float32 precision; the pseudo-inverse rule (torch's) does not
    q, _ = np.linalg.qr(rng.standard_normal((max(shape), max(shape))))
    a = (q[:shape[0], :shape[1]] + 1e-3 * rng.standard_normal(shape)).astype(np.float32)
    b = rng.standard_normal((shape[0], 2)).astype(np.float32)
    _check(_grads(lambda lib, x, y: lib.linalg.lstsq(x, y, driver="gelsd").solution, [a, b], rng),
           rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("call", ["vector_norm", "norm", "linalg_norm", "tensor_norm_dim"])
def test_zero_norm_gradient_is_undefined(rng, call):
    # torch's ord=0 "norm" (a count) is in the graph but leaves the input's gradient undefined: None from
    # autograd.grad, .grad stays None; other terms of the loss still reach the input
    x = rng.standard_normal((3, 4))
    x[0, 1] = 0
    f = {"vector_norm": lambda lib, t: lib.linalg.vector_norm(t, 0),
         "norm": lambda lib, t: lib.norm(t, p=0),
         "linalg_norm": lambda lib, t: lib.linalg.norm(t.reshape(-1), 0),
         "tensor_norm_dim": lambda lib, t: t.norm(0, dim=1)}[call]
    for jg, tg in _grads(lambda lib, t: f(lib, t), [x], rng):
        assert jg is None and tg is None
    for jg, tg in _grads(lambda lib, t: f(lib, t) * 2 + (t * t).sum(), [x], rng):
        assert_close(jg, tg)
    res = {}
    for lib in (torch, jtorch):
        t = lib.tensor(x, requires_grad=True)
        y = f(lib, t).sum()
        assert y.requires_grad
        y.backward()
        res[lib] = t.grad
    assert res[jtorch] is None and res[torch] is None
    for lib in (torch, jtorch):  # a gradient asked of it alone: torch's "not used in the graph" error
        t = lib.tensor(x, requires_grad=True)
        with pytest.raises(RuntimeError):
            lib.autograd.grad(f(lib, t).sum(), t)
    # ord != 0 still has its gradient (zeros at a zero slice, as torch's)
    for jg, tg in _grads(lambda lib, t: lib.linalg.vector_norm(t, 1.5, dim=1), [x], rng):
        assert_close(jg, tg)


def test_as_strided_of_a_leaf_view_reaches_the_view(rng):
    # a view made a leaf (requires_grad_ on a detached view of a larger storage): as_strided reads the
    # storage around it, and the gradient reaches the view's own elements (the rest are constants)
    base = rng.standard_normal(20)
    res = {}
    for lib in (torch, jtorch):
        b = lib.tensor(base)
        v = b.as_strided((10,), (1,), 5).detach().requires_grad_(True)
        out = v.as_strided((3, 4), (4, 2), 3)   # storage positions 3..17: some outside the view (5..14)
        c = lib.tensor(np.random.default_rng(1).standard_normal((3, 4)))
        assert out.requires_grad
        (out * c).sum().backward()
        res[lib] = (out.detach(), v.grad)
    assert_close(res[jtorch][0], res[torch][0])
    assert_close(res[jtorch][1], res[torch][1])

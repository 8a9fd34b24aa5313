"""jtorch.linalg and torch's top-level linalg functions against torch: values, dtypes,
gradients, errors (singular / non-PD inputs, bad shapes and dtypes)."""
import math

import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close
from tests.ops.mathcheck import check

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch deprecation notices (old APIs)


def _well(rng, *shape, dtype=np.float64):
    """Well-conditioned square matrices (random + n * I)."""
    n = shape[-1]
    return (rng.standard_normal(shape) + n * np.eye(n)).astype(dtype)


def _spd(rng, *shape, dtype=np.float64):
    a = rng.standard_normal(shape)
    return (a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


# ---------------------------------------------------------------- inverse, det, solve
def test_inv_det_slogdet(rng):
    a = _well(rng, 2, 3, 3)
    check(lambda L, x: L.linalg.inv(x), a, grad=(0,))
    check(lambda L, x: L.inverse(x), a[0].astype(np.float32), grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, x: L.linalg.det(x), a, grad=(0,))
    check(lambda L, x: (L.det(x), x.det()), a[0], grad=(0,))
    check(lambda L, x: L.linalg.slogdet(x), a - 3 * np.eye(3), grad=(0,))
    check(lambda L, x: L.logdet(x), a, grad=(0,))
    r = check(lambda L, x: L.slogdet(x), a[0])[1]
    assert type(r).__name__ == "slogdet" and hasattr(r, "logabsdet")


def test_logdet_negative_is_nan(rng):
    a = np.diag([-1.0, 2.0, 3.0])
    check(lambda L, x: L.logdet(x), a)


def test_singular_errors(rng):
    a = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
    for fn in (lambda L, x: L.linalg.inv(x), lambda L, x: L.inverse(x),
               lambda L, x: L.linalg.solve(x, L.ones(3, dtype=x.dtype))):
        with pytest.raises(RuntimeError) as et:
            fn(torch, torch.tensor(a))
        with pytest.raises(RuntimeError) as ej:
            fn(jtorch, jtorch.tensor(a))
        assert str(ej.value) == str(et.value)
        assert isinstance(ej.value, jtorch.linalg.LinAlgError)
    batch = np.stack([np.eye(3), a])
    with pytest.raises(RuntimeError, match=r"linalg.inv: \(Batch element 1\): The diagonal element 3 is zero"):
        jtorch.linalg.inv(jtorch.tensor(batch))
    inv, info = jtorch.linalg.inv_ex(jtorch.tensor(batch))
    assert info.tolist() == torch.linalg.inv_ex(torch.tensor(batch)).info.tolist()
    # det of a singular matrix is just 0
    check(lambda L, x: L.linalg.det(x), a)


@pytest.mark.parametrize("fn,arg,msg", [
    ("inv", np.zeros((2, 3)), "A must be batches of square matrices, but they are 2 by 3 matrices"),
    ("inv", np.zeros(3), "The input tensor A must have at least 2 dimensions"),
    ("inv", np.zeros((2, 2), np.int64), "Expected a floating point or complex tensor as input. Got Long"),
    ("det", np.zeros((2, 3)), "linalg.det: A must be batches of square matrices"),
    ("cholesky", np.zeros((2, 3)), "square"),
    ("eigh", np.zeros((2, 3)), "square"),
    ("matrix_norm", np.zeros(3), "must have at least 2 dimensions"),
    ("vector_norm", np.zeros(3, np.int64), "Expected a floating point or complex tensor as input. Got Long"),
])
def test_shape_dtype_errors(fn, arg, msg):
    with pytest.raises(RuntimeError, match=msg):
        getattr(torch.linalg, fn)(torch.tensor(arg))
    with pytest.raises(RuntimeError, match=msg):
        getattr(jtorch.linalg, fn)(jtorch.tensor(arg))


def test_solve(rng):
    a = _well(rng, 2, 3, 3)
    b = rng.standard_normal((2, 3, 2))
    check(lambda L, A, B: L.linalg.solve(A, B), a, b, grad=(0, 1))
    check(lambda L, A, B: L.linalg.solve(A, B), a, b[..., 0], grad=(0, 1))     # batch of vectors
    check(lambda L, A, B: L.linalg.solve(A, B), a[0], b[0, :, 0], grad=(0, 1))  # one vector
    check(lambda L, A, B: L.linalg.solve(A, B, left=False), a, np.swapaxes(b, -1, -2), grad=(0, 1))
    check(lambda L, A, B: L.linalg.solve(A, B), a, b[0], grad=(0, 1))           # broadcast B
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x1\)"):
            L.linalg.solve(L.tensor(a[0]), L.ones(4, dtype=L.float64))


def test_solve_triangular_and_cholesky_solve(rng):
    a = _well(rng, 3, 3)
    b = rng.standard_normal((3, 2))
    for upper in (True, False):
        tri = np.triu(a) if upper else np.tril(a)
        check(lambda L, A, B: L.linalg.solve_triangular(A, B, upper=upper), tri, b, grad=(0, 1))
        check(lambda L, A, B: L.linalg.solve_triangular(A, B, upper=upper, left=False), tri, b.T, grad=(0, 1))
        check(lambda L, B, A: L.triangular_solve(B, A, upper=upper), b, tri, grad=(0, 1))
        check(lambda L, B, A: L.triangular_solve(B, A, upper=upper, transpose=True), b, tri, grad=(0, 1))
    s = _spd(rng, 3, 3)
    low = np.linalg.cholesky(s)
    check(lambda L, B, C: L.cholesky_solve(B, C), b, low, grad=(0, 1))
    check(lambda L, B, C: L.cholesky_solve(B, C, upper=True), b, low.T.copy(), grad=(0, 1))
    check(lambda L, C: L.cholesky_inverse(C), low, grad=(0,))


# ---------------------------------------------------------------- cholesky, qr, svd, eig
def test_cholesky(rng):
    s = _spd(rng, 2, 3, 3)
    check(lambda L, x: L.linalg.cholesky(x), s, grad=(0,))
    check(lambda L, x: L.linalg.cholesky(x, upper=True), s, grad=(0,))
    check(lambda L, x: (L.cholesky(x), x.cholesky(upper=True)), s[0].astype(np.float32), grad=(0,), rtol=1e-4)


def test_cholesky_not_pd():
    bad = np.array([[4.0, 2, 0], [2, 1, 0], [0, 0, 1]])  # second leading minor is 0
    batch = np.stack([np.eye(3), -np.eye(3)])
    for a in (bad, batch):
        with pytest.raises(RuntimeError) as et:
            torch.linalg.cholesky(torch.tensor(a))
        with pytest.raises(RuntimeError) as ej:
            jtorch.linalg.cholesky(jtorch.tensor(a))
        assert str(ej.value) == str(et.value)
    L, info = jtorch.linalg.cholesky_ex(jtorch.tensor(batch))
    assert info.tolist() == torch.linalg.cholesky_ex(torch.tensor(batch)).info.tolist()


def test_qr(rng):
    a = rng.standard_normal((2, 4, 3))
    check(lambda L, x: L.linalg.qr(x), a, grad=(0,))
    Qc, Rc = check(lambda L, x: L.linalg.qr(x, mode="complete"), a)[1]
    assert tuple(Qc.shape) == (2, 4, 4) and tuple(Rc.shape) == (2, 4, 3)
    check(lambda L, x: L.linalg.qr(x, mode="r"), a)
    for L in (torch, jtorch):
        x = L.tensor(a, requires_grad=True)
        with pytest.raises(RuntimeError, match="not computed when mode='r'"):
            L.linalg.qr(x, mode="r").R.sum().backward()
    check(lambda L, x: L.qr(x), a[0], grad=(0,))
    check(lambda L, x: L.qr(x, some=False), a[0])
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match="qr received unrecognized mode 'x'"):
            L.linalg.qr(L.ones(3, 3), mode="x")


def _sign_fix(U, Vh):
    # singular vectors are defined up to sign: make the largest entry of each column of U positive
    s = np.sign(np.take_along_axis(U, np.abs(U).argmax(-2)[..., None, :], -2))
    return U * s, Vh * np.swapaxes(s, -1, -2)


def test_svd(rng):
    a = rng.standard_normal((2, 4, 3))
    for full in (False, True):
        (Ut, St, Vt), (Uj, Sj, Vj) = check(lambda L, x: L.linalg.svd(x, full_matrices=full), a, compare=False)
        assert_close(Sj, St)
        assert tuple(Uj.shape) == tuple(Ut.shape) and tuple(Vj.shape) == tuple(Vt.shape)
        k = 3
        u1, v1 = _sign_fix(np.asarray(Uj)[..., :k], np.asarray(Vj)[..., :k, :])
        u2, v2 = _sign_fix(Ut.numpy()[..., :k], Vt.numpy()[..., :k, :])
        np.testing.assert_allclose(u1, u2, atol=1e-8)
        np.testing.assert_allclose(v1, v2, atol=1e-8)
    check(lambda L, x: L.linalg.svdvals(x), a, grad=(0,))
    # gradients through sign-invariant functions of U, S, Vh
    check(lambda L, x: (lambda r: (r[0] * r[1][..., None, :]) @ r[2])(L.linalg.svd(x, full_matrices=False)),
          a, grad=(0,))
    check(lambda L, x: (lambda r: (r[0] @ r[0].mT, r[1]))(L.linalg.svd(x, full_matrices=False)), a, grad=(0,))
    U, S, V = jtorch.svd(jtorch.tensor(a[0]))
    assert_close(U @ jtorch.diag_embed(S) @ V.mT if hasattr(jtorch, "diag_embed") else (U * S) @ V.mT,
                 torch.tensor(a[0]))
    assert tuple(V.shape) == (3, 3) and tuple(jtorch.svd(jtorch.tensor(a[0]), some=False).U.shape) == (4, 4)


def test_eigh(rng):
    s = _spd(rng, 2, 3, 3)
    for uplo in ("L", "U"):
        # a non-symmetric input: only the UPLO triangle is read
        x = s + np.triu(rng.standard_normal((3, 3)), 1) * (uplo == "L") + np.tril(rng.standard_normal((3, 3)), -1) * (uplo == "U")
        check(lambda L, A: L.linalg.eigvalsh(A, UPLO=uplo), x, grad=(0,))
        (wt, vt), (wj, vj) = check(lambda L, A: L.linalg.eigh(A, UPLO=uplo), x, compare=False)
        assert_close(wj, wt)
        np.testing.assert_allclose(np.abs(np.asarray(vj)), np.abs(vt.numpy()), atol=1e-8)
    # gradient through sign-invariant outer products of the eigenvectors
    check(lambda L, A: (lambda r: (r[1] * r[0][..., None, :]) @ r[1].mT)(L.linalg.eigh(A)), s, grad=(0,))
    check(lambda L, A: (lambda r: r[1][..., :1] @ r[1][..., :1].mT)(L.linalg.eigh(A)), s, grad=(0,))
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U', but got X"):
            L.linalg.eigh(L.eye(3), UPLO="X")


def test_eig(rng):
    a = rng.standard_normal((3, 3))
    wt, vt = torch.linalg.eig(torch.tensor(a))
    wj, vj = jtorch.linalg.eig(jtorch.tensor(a))
    assert wj.dtype == jtorch.complex128 and vj.dtype == jtorch.complex128
    order_t, order_j = np.lexsort((wt.imag.numpy(), wt.real.numpy())), np.lexsort((np.asarray(wj.imag), np.asarray(wj.real)))
    np.testing.assert_allclose(np.asarray(wj)[order_j], wt.numpy()[order_t], atol=1e-8)
    np.testing.assert_allclose(np.abs(np.asarray(vj))[:, order_j], np.abs(vt.numpy())[:, order_t], atol=1e-8)
    ej = jtorch.linalg.eigvals(jtorch.tensor(a.astype(np.float32)))
    assert ej.dtype == jtorch.complex64
    check(lambda L, x: L.linalg.eigvals(x).abs().sort().values, a, grad=(0,))


# ---------------------------------------------------------------- pinv, lstsq, rank, powers
def test_pinv_lstsq_rank(rng):
    a = rng.standard_normal((2, 4, 3))
    check(lambda L, x: L.linalg.pinv(x), a, grad=(0,))
    check(lambda L, x: L.pinverse(x), a[0], grad=(0,))
    check(lambda L, x: L.linalg.pinv(x, hermitian=True), _spd(rng, 3, 3), grad=(0,))
    check(lambda L, x: L.linalg.pinv(x, atol=0.5), a)
    b = rng.standard_normal((2, 4, 2))
    for driver in (None, "gelsd", "gels"):
        check(lambda L, A, B: L.linalg.lstsq(A, B, driver=driver), a, b, grad=(0, 1), outputs=[0])
    low_rank = a[0] @ np.diag([1.0, 1.0, 0.0]) @ rng.standard_normal((3, 3))
    check(lambda L, x: L.linalg.matrix_rank(x), np.stack([a[0], low_rank]))
    check(lambda L, x: L.linalg.matrix_rank(x, hermitian=True), _spd(rng, 3, 3))
    check(lambda L, x: L.linalg.matrix_rank(x, atol=1.0, rtol=0.0), a)


def test_matrix_power_exp(rng):
    a = _well(rng, 2, 3, 3) / 3
    for n in (0, 1, 3, -2):
        check(lambda L, x: L.linalg.matrix_power(x, n), a, grad=(0,))
    check(lambda L, x: x.matrix_power(2), np.arange(9).reshape(3, 3))  # integers work for n >= 0
    check(lambda L, x: L.linalg.matrix_exp(x), a, grad=(0,))
    check(lambda L, x: L.matrix_exp(x), a[0].astype(np.float32), grad=(0,), rtol=1e-4)
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match="A must be batches of square matrices, but they are 3 by 2"):
            L.linalg.matrix_power(L.ones(3, 2), 2)


# ---------------------------------------------------------------- norms
@pytest.mark.parametrize("ord", [2, 1, 0, math.inf, -math.inf, 3.5, 0.5])
def test_vector_norm(rng, ord):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    if ord == 0:
        x[0, 1] = 0
        rt, rj = check(lambda L, t: L.linalg.vector_norm(t.requires_grad_(), 0, dim=1), x)
        assert rj.requires_grad == rt.requires_grad
        # torch's gradient of the 0-"norm" (a count) is undefined: None, though the result is in the graph
        assert torch.autograd.grad(rt.sum(), rt.grad_fn.next_functions[0][0].variable, allow_unused=True)[0] is None
        xj = jtorch.tensor(x, requires_grad=True)
        assert not jtorch.linalg.vector_norm(xj, 0).grad_fn is None
        assert jtorch.autograd.grad(jtorch.linalg.vector_norm(xj, 0), xj, allow_unused=True)[0] is None
        return
    check(lambda L, t: L.linalg.vector_norm(t, ord), x, grad=(0,), rtol=1e-5)
    check(lambda L, t: L.linalg.vector_norm(t, ord, dim=1, keepdim=True), x, grad=(0,), rtol=1e-5)
    check(lambda L, t: L.linalg.vector_norm(t, ord, dim=(0, 1)), x, grad=(0,), rtol=1e-5)


def test_norm_zero_gradient_and_ties():
    # torch: the gradient of a norm at 0 is 0 (JAX would give NaN); inf-norm ties split evenly
    for fn in (lambda L, t: L.linalg.vector_norm(t), lambda L, t: L.norm(t), lambda L, t: t.norm(dim=1),
               lambda L, t: L.linalg.vector_norm(t, 3.0), lambda L, t: L.linalg.vector_norm(t, math.inf),
               lambda L, t: L.linalg.vector_norm(t, 1), lambda L, t: L.cdist(t, t)):
        check(fn, np.zeros((2, 3), np.float32), grad=(0,))
    check(lambda L, t: L.linalg.vector_norm(t, math.inf), np.array([1.0, -3.0, 3.0, 2.0]), grad=(0,))
    check(lambda L, t: L.linalg.vector_norm(t, -math.inf, dim=1), np.array([[1.0, -1.0, 3.0]]), grad=(0,))
    check(lambda L, t: L.linalg.vector_norm(t, 0.5), np.array([0.0, 2.0, -1.0]), grad=(0,))


@pytest.mark.parametrize("ord", ["fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2])
def test_matrix_norm(rng, ord):
    x = rng.standard_normal((2, 3, 4))
    check(lambda L, t: L.linalg.matrix_norm(t, ord), x, grad=(0,))
    check(lambda L, t: L.linalg.matrix_norm(t, ord, dim=(0, 2), keepdim=True), x, grad=(0,))
    check(lambda L, t: L.linalg.norm(t, ord), x[0], grad=(0,))


def test_norm_variants(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    check(lambda L, t: L.linalg.norm(t), x, grad=(0,))
    check(lambda L, t: L.linalg.norm(t, dim=(1, 2)), x, grad=(0,))
    check(lambda L, t: L.linalg.norm(t, 3, dim=1), x, grad=(0,))
    check(lambda L, t: L.linalg.norm(t, dtype=L.float64), x, grad=(0,))
    check(lambda L, t: L.norm(t, p="fro", dim=(0, 1), keepdim=True), x, grad=(0,))
    check(lambda L, t: L.norm(t, p=1, dim=2), x, grad=(0,))
    check(lambda L, t: L.norm(t[0], p="nuc"), x, grad=(0,))
    check(lambda L, t: (t.norm(), t.norm(2, 1), t.norm(p=math.inf)), x, grad=(0,))
    check(lambda L, t, u: L.dist(t, u), x, x[::-1].copy(), grad=(0, 1))
    check(lambda L, t, u: L.dist(t, u, 1), x, x[::-1].copy(), grad=(0, 1))
    check(lambda L, t: L.linalg.cond(t), _well(rng, 3, 3), grad=(0,))
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match="Order 3 not supported"):
            L.linalg.matrix_norm(L.ones(3, 3), ord=3)
    # complex input: real-valued norm of the matching precision
    z = (rng.standard_normal(4) + 1j * rng.standard_normal(4)).astype(np.complex64)
    check(lambda L, t: L.linalg.vector_norm(t), z)


# ---------------------------------------------------------------- products and helpers
def test_products(rng):
    a, b = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    check(lambda L, x, y: L.linalg.cross(x, y), a, b, grad=(0, 1))
    check(lambda L, x, y: L.cross(x, y, dim=2), a, b, grad=(0, 1))
    check(lambda L, x, y: L.linalg.cross(x, y), a, b[:1], grad=(0, 1))  # broadcasting
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match="same number of dimensions"):
            L.linalg.cross(L.tensor(a), L.tensor(b[0]))
    check(lambda L, x, y: L.linalg.vecdot(x, y), a, b, grad=(0, 1))
    check(lambda L, x, y: L.linalg.vecdot(x, y, dim=1), a, b, grad=(0, 1))
    m = [rng.standard_normal(s) for s in ((3,), (3, 4), (4, 2), (2,))]
    check(lambda L, *t: L.linalg.multi_dot(list(t)), *m, grad=(0, 1, 2, 3))
    check(lambda L, *t: L.chain_matmul(*t), m[1], m[2], rng.standard_normal((2, 5)), grad=(0, 1, 2))
    check(lambda L, x: (L.trace(x), x.trace()), a[0, :3], grad=(0,))
    check(lambda L, x: L.trace(x), np.arange(12).reshape(3, 4))
    check(lambda L, x: L.linalg.diagonal(x, offset=1), a, grad=(0,))
    check(lambda L, x: L.linalg.vander(x, N=4), rng.standard_normal(3), grad=(0,))
    with pytest.raises(RuntimeError, match="must have length 3"):
        jtorch.linalg.cross(jtorch.ones(2, 2), jtorch.ones(2, 2))
    with pytest.raises(RuntimeError):
        torch.linalg.cross(torch.ones(2, 2), torch.ones(2, 2))


def test_tensorinv_tensorsolve(rng):
    a = _well(rng, 6, 6).reshape(6, 2, 3)
    check(lambda L, x: L.linalg.tensorinv(x, ind=1), a, grad=(0,))
    b = rng.standard_normal(6)
    check(lambda L, x, y: L.linalg.tensorsolve(x, y), a, b, grad=(0, 1))


def test_out_and_float32_dtypes(rng):
    a = _well(rng, 3, 3, dtype=np.float32)
    t, j = torch.tensor(a), jtorch.tensor(a)
    ot, oj = torch.empty(3, 3), jtorch.empty(3, 3)
    torch.linalg.inv(t, out=ot)
    jtorch.linalg.inv(j, out=oj)
    assert_close(oj, ot, rtol=1e-4)
    for name in ("det", "inv", "svdvals", "eigvalsh", "matrix_exp", "pinv"):
        assert getattr(jtorch.linalg, name)(j).dtype == jtorch.float32


def test_lu(rng):
    a = rng.standard_normal((2, 4, 4))
    check(lambda L, x: L.linalg.lu(x), a, grad=(0,))
    check(lambda L, x: L.linalg.lu(x), a[0, :, :3], grad=(0,))          # rectangular
    check(lambda L, x: L.linalg.lu_factor(x), a, grad=(0,), outputs=[0])
    check(lambda L, x: L.lu_unpack(*L.linalg.lu_factor(x)), a, grad=(0,))
    b = rng.standard_normal((2, 4, 2))
    for kw in ({}, {"adjoint": True}, {"left": False}):
        bb = np.swapaxes(b, -1, -2).copy() if kw.get("left") is False else b
        check(lambda L, x, y: L.linalg.lu_solve(*L.linalg.lu_factor(x), y, **kw), a, bb, grad=(0, 1))



def test_lu_complex_permutation_dtype(rng):
    # torch's P has A's dtype for complex A too (jax's permutation matrix is real)
    a = (rng.standard_normal((2, 3, 3)) + 1j * rng.standard_normal((2, 3, 3))).astype(np.complex64)
    ours, theirs = jtorch.linalg.lu(jtorch.tensor(a)), torch.linalg.lu(torch.tensor(a))
    for o, t in zip(ours, theirs):
        assert str(o.dtype) == str(t.dtype)
        assert_close(o, t, rtol=1e-5, atol=1e-5)

def test_under_compile(rng):
    # the eager singular / non-PD checks are skipped while tracing; results match eager
    a = jtorch.tensor(_well(rng, 3, 3, dtype=np.float32))

    def f(x):
        return jtorch.linalg.inv(x).sum() + jtorch.linalg.cholesky(x @ x.T).sum() + x.norm() + jtorch.det(x)
    cf = jtorch.compile(f)
    cf(a)
    assert_close(cf(a), f(a), rtol=1e-5)

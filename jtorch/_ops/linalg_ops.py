"""Linear algebra: decompositions, solves, norms (the ``jtorch.linalg`` namespace and
torch's top-level linalg functions).

Each kernel is a pure jax function declared once with ``defop`` (private names; the
public wrappers below check arguments and raise torch's errors). Gradients are JAX's
VJPs, except where torch's convention differs (norms at zero, eigh's symmetric gradient).
Singular / non-positive-definite inputs are detected eagerly after the fact (a cheap
check, skipped while tracing under ``jtorch.compile``), as torch's LAPACK info checks do.
"""
import builtins
import collections
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .._dispatch import defop, export, round_to, _write_out

class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a RuntimeError raised when a decomposition fails."""


def _rt(name, fields):
    from .reduction import return_type_repr
    t = collections.namedtuple(name, fields)
    t.__module__ = "torch.return_types"
    t.__repr__ = return_type_repr
    return t


def _hi():
    return jax.lax.Precision.HIGHEST


def _mT(x):
    return jnp.swapaxes(x, -1, -2)


def _mH(x):
    return jnp.conj(_mT(x))


def _type_name(t):
    return D.scalar_type_name(t.dtype)


# ---------------------------------------------------------------- argument checks
def _check_float(t, name, what="input"):
    if not (t.dtype.is_floating_point or t.dtype.is_complex):
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as {what}. Got {_type_name(t)}")


def _check_matrix(t, name, what="A"):
    if t.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")


def _check_square(t, name, what="A"):
    _check_matrix(t, name, what)
    if t.shape[-1] != t.shape[-2]:
        raise RuntimeError(f"{name}: {what} must be batches of square matrices, but they are "
                           f"{t.shape[-2]} by {t.shape[-1]} matrices")


def _square_float(t, name):
    _check_square(t, name)
    _check_float(t, name)


def _concrete(t):
    """Whether ``t`` has values to check (not traced, not meta)."""
    return not t.is_meta and not isinstance(t._value, jax.core.Tracer)


def _first_failures(info, ndim_batch):
    """(batch index tuple or None, 1-based failing position) of the first nonzero info."""
    info = np.asarray(info)
    bad = np.flatnonzero(info.reshape(-1))
    if not bad.size:
        return None
    k = int(bad[0])
    pos = int(info.reshape(-1)[k])
    return (k if ndim_batch else None), pos


def _raise_info(info, t, msg):
    hit = _first_failures(info, t.ndim - 2)
    if hit is None:
        return
    batch, pos = hit
    prefix = "" if batch is None else f"(Batch element {batch}): "
    name, text = msg
    raise LinAlgError(f"{name}: {prefix}{text(pos)}")


@defop(method=False, function=False, differentiable=False)
def _zero_pivot(A):
    # 1-based index of the first exactly-zero pivot of LU with partial pivoting (0: none)
    if A.shape[-1] == 0:  # empty matrices: nothing to pivot
        return jnp.zeros(A.shape[:-2], jnp.int64)
    lu = jax.lax.linalg.lu(A)[0]
    z = jnp.diagonal(lu, axis1=-2, axis2=-1) == 0
    return jnp.where(z.any(-1), jnp.argmax(z, -1) + 1, 0)


_SINGULAR = ("linalg.inv", lambda k: f"The diagonal element {k} is zero, the inversion could not be completed "
             "because the input matrix is singular.")


def _check_invertible(A, msg=_SINGULAR):
    if _concrete(A) and A.numel():
        _raise_info(_zero_pivot(A)._value, A, msg)


def _with_out(res, out):
    return res if out is None else _write_out(out, res)


# ---------------------------------------------------------------- inverse, det, solve
@defop(method=False, function=False, saves=(), saves_result=True)
def _inv(A):
    return jnp.linalg.inv(A)


def inv(A, *, out=None):
    _square_float(A, "linalg.inv")
    _check_invertible(A)
    return _with_out(_inv(A), out)


InvEx = _rt("linalg_inv_ex", ("inverse", "info"))


def inv_ex(A, *, check_errors=False, out=None):
    _square_float(A, "linalg.inv_ex")
    if check_errors:
        _check_invertible(A)
    info = _zero_pivot(A).to(D.int32)
    return _with_out(InvEx(_inv(A), info), out)


@defop(method=False, function=False, saves_result=True)
def _det(A):
    if A.shape[-1] == 0:  # 1 for 0x0 matrices; JAX's LU-based gradient indexes the empty pivots
        return jnp.ones(A.shape[:-2], A.dtype) + 0 * A.sum((-2, -1))
    return jnp.linalg.det(A)


def det(A, *, out=None):
    _square_float(A, "linalg.det")
    return _with_out(_det(A), out)


Slogdet = _rt("slogdet", ("sign", "logabsdet"))
LinalgSlogdet = _rt("linalg_slogdet", ("sign", "logabsdet"))


@defop(method=False, function=False)
def _slogdet(A):
    return tuple(jnp.linalg.slogdet(A))


def slogdet(A, *, out=None):
    _square_float(A, "linalg.slogdet")
    return _with_out(LinalgSlogdet(*_slogdet(A)), out)


@defop(method=False, function=False)
def _logdet_k(A):
    s, la = jnp.linalg.slogdet(A)
    if jnp.iscomplexobj(A):
        return jnp.log(s) + la
    return jnp.where(s < 0, jnp.nan, la)  # torch: nan for a negative determinant, -inf for zero


def _logdet(input):
    _square_float(input, "logdet")
    return _logdet_k(input)


@defop(method=False, function=False, saves_result=True)
def _solve(A, B, left=True, vector=False):
    if not left:  # X A = B  <=>  A^T X^T = B^T
        A, B = _mT(A), _mT(B)
    if vector:
        B = B[..., None]
    X = jnp.linalg.solve(*_bcast_batch(A, B))
    if vector:
        X = X[..., 0]
    return X if left else _mT(X)


def _bcast_batch(A, B):
    batch = jnp.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    return jnp.broadcast_to(A, batch + A.shape[-2:]), jnp.broadcast_to(B, batch + B.shape[-2:])


def _solve_args(A, B, left, name):
    _square_float(A, name)
    _check_float(B, name, "other")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{name}: Expected A and B to have the same dtype, but found A of type "
                           f"{_type_name(A)} and B of type {_type_name(B)} instead")
    # torch: B is a (batch of) vector(s) if it is 1-D or has exactly A's batch shape
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    n = A.shape[-1]
    rows = B.shape[-1] if vector else (B.shape[-2] if left else B.shape[-1])
    if rows != n:
        bshape = (B.shape[-1], 1) if vector else tuple(B.shape[-2:])
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {bshape[0]}x{bshape[1]})")
    return vector


def solve(A, B, *, left=True, out=None):
    vector = _solve_args(A, B, left, "linalg.solve")
    _check_invertible(A, ("torch.linalg.solve", lambda k: "The solver failed because the input matrix is singular."))
    return _with_out(_solve(A, B, left=left, vector=vector), out)


SolveEx = _rt("linalg_solve_ex", ("result", "info"))


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    vector = _solve_args(A, B, left, "linalg.solve_ex")
    if check_errors:
        _check_invertible(A, ("torch.linalg.solve_ex", lambda k: "The solver failed because the input matrix is "
                                                                 "singular."))
    return _with_out(SolveEx(_solve(A, B, left=left, vector=vector), _zero_pivot(A).to(D.int32)), out)


@defop(method=False, function=False)
def _solve_triangular(A, B, upper=False, left=True, unitriangular=False):
    A, B = _bcast_batch(A, B)
    return jax.lax.linalg.triangular_solve(A, B, left_side=left, lower=not upper, transpose_a=False,
                                           unit_diagonal=unitriangular)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    _check_square(A, "linalg.solve_triangular")
    _check_float(A, "linalg.solve_triangular")
    return _with_out(_solve_triangular(A, B, upper=upper, left=left, unitriangular=unitriangular), out)


TriangularSolve = _rt("triangular_solve", ("solution", "cloned_coefficient"))


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    _check_square(A, "triangular_solve")
    a = A.mT if transpose else A
    x = _solve_triangular(a, b, upper=upper != transpose, left=True, unitriangular=unitriangular)
    return _with_out(TriangularSolve(x, A.clone()), out)


# ---------------------------------------------------------------- cholesky
@defop(method=False, function=False, saves=(), saves_result=True)
def _cholesky(A, upper=False):
    # torch reads one triangle only, the upper one for upper=True (JAX's cholesky factors (A + A^H) / 2): the
    # value of the Hermitian matrix it spans, the gradient still A's (torch's rule, as JAX's symmetric one)
    H = _mH(jnp.triu(A)) + jnp.triu(A, 1) if upper else jnp.tril(A) + _mH(jnp.tril(A, -1))
    A = A + jax.lax.stop_gradient(H - A)
    L = _cholesky_lower(A) if jnp.iscomplexobj(A) else jnp.linalg.cholesky(A)
    return _mH(L) if upper else L


@jax.custom_vjp
def _cholesky_lower(A):
    return jnp.linalg.cholesky(A)


def _cholesky_bwd(L, gL):
    # torch's rule (Murray 2016, arXiv:1602.07527): gA = L^-H Phi L^-1 with Phi = (T + tril(T, -1)^H) / 2,
    # T = tril(L^H gL). Its diagonal keeps T's imaginary part, so for complex inputs gA is not Hermitian;
    # differentiating JAX's cholesky (which symmetrizes A) gives only the Hermitian part. Written in torch's
    # convention (the conjugate of JAX's cotangent for complex numbers), hence the conj on the way in and out.
    gL = jnp.conj(gL)
    T = jnp.tril(_mH(L) @ gL)
    phi = 0.5 * (T + _mH(jnp.tril(T, -1)))
    x = jax.lax.linalg.triangular_solve(L, phi, left_side=True, lower=True, transpose_a=True, conjugate_a=True)
    gA = jax.lax.linalg.triangular_solve(L, x, left_side=False, lower=True)
    return (jnp.conj(gA),)


_cholesky_lower.defvjp(lambda A: (_cholesky_lower(A),) * 2, _cholesky_bwd)


def _pd_order(A):
    """1-based order of the first leading minor that is not positive-definite, per matrix (0: PD)."""
    a = np.asarray(A._value)
    flat = a.reshape((-1,) + a.shape[-2:])
    out = np.zeros(flat.shape[0], np.int32)
    for b, m in enumerate(flat):
        try:
            np.linalg.cholesky(m)
            continue
        except np.linalg.LinAlgError:
            pass
        for k in range(1, m.shape[0] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                out[b] = k
                break
    return out.reshape(a.shape[:-2])


_NOT_PD = ("linalg.cholesky", lambda k: "The factorization could not be completed because the input is not "
           f"positive-definite (the leading minor of order {k} is not positive-definite).")


def cholesky(A, *, upper=False, out=None):
    _square_float(A, "linalg.cholesky")
    L = _cholesky(A, upper=upper)
    if _concrete(A) and A.numel() and bool(jnp.isnan(L._value).any()):
        _raise_info(_pd_order(A), A, _NOT_PD)
    return _with_out(L, out)


CholeskyEx = _rt("linalg_cholesky_ex", ("L", "info"))


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    _square_float(A, "linalg.cholesky_ex")
    L = _cholesky(A, upper=upper)
    info = np.zeros(A.shape[:-2], np.int32)
    if _concrete(A) and A.numel() and bool(jnp.isnan(L._value).any()):
        info = _pd_order(A)
        if check_errors:
            _raise_info(info, A, _NOT_PD)
    from .creation import tensor
    return _with_out(CholeskyEx(L, tensor(info, device=A.device)), out)


@defop(method=False, function=False, saves_result=True)
def _cholesky_solve(B, L, upper=False):
    L, B = _bcast_batch(L, B)
    lower = _mH(L) if upper else L
    y = jax.lax.linalg.triangular_solve(lower, B, left_side=True, lower=True)
    x = jax.lax.linalg.triangular_solve(lower, y, left_side=True, lower=True, transpose_a=True, conjugate_a=True)
    # torch's gradient treats the factor as a full matrix (A = L L^H), not just its triangle
    full = _mH(L) if upper else L
    xg = jnp.linalg.solve(jnp.matmul(full, _mH(full), precision=_hi()), B)
    return jax.lax.stop_gradient(x) + xg - jax.lax.stop_gradient(xg)


def cholesky_solve(B, L, upper=False, *, out=None):
    _check_square(L, "cholesky_solve")
    return _with_out(_cholesky_solve(B, L, upper=upper), out)


def cholesky_inverse(L, upper=False, *, out=None):
    _check_square(L, "cholesky_inverse")
    from .creation import eye
    return _with_out(_cholesky_solve(eye(L.shape[-1], dtype=L.dtype).expand(L.shape), L, upper=upper), out)


def _old_cholesky(input, upper=False, *, out=None):
    return cholesky(input, upper=upper, out=out)


# ---------------------------------------------------------------- QR, SVD, eigen
QR = _rt("qr", ("Q", "R"))
LinalgQR = _rt("linalg_qr", ("Q", "R"))


@defop(method=False, function=False, saves=(), saves_result=True)
def _qr(A, mode="reduced"):
    if mode == "r":
        return jnp.zeros((0,), A.dtype), _qr_r_only(A)
    return tuple(jnp.linalg.qr(A, mode=mode))


@jax.custom_vjp
def _qr_r_only(A):
    return jnp.linalg.qr(A, mode="r")


def _qr_r_bwd(res, g):
    raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please use "
                       "linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")


_qr_r_only.defvjp(lambda A: (_qr_r_only(A), None), _qr_r_bwd)


def qr(A, mode="reduced", *, out=None):
    if mode not in ("reduced", "r", "complete"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    _check_matrix(A, "linalg.qr")
    _check_float(A, "linalg.qr")
    return _with_out(LinalgQR(*_qr(A, mode=mode)), out)


def _old_qr(input, some=True, *, out=None):
    return _with_out(QR(*_qr(input, mode="reduced" if some else "complete")), out)


SVD = _rt("svd", ("U", "S", "V"))
LinalgSVD = _rt("linalg_svd", ("U", "S", "Vh"))


@defop(method=False, function=False, saves=(), saves_result=True)
def _svd(A, full_matrices=True):
    return tuple(jnp.linalg.svd(A, full_matrices=full_matrices))


@defop(method=False, function=False, saves=(), saves_result=True)
def _svdvals(A):
    return jnp.linalg.svd(A, compute_uv=False)


def svd(A, full_matrices=True, *, driver=None, out=None):
    _check_matrix(A, "linalg.svd")
    _check_float(A, "linalg.svd")
    return _with_out(LinalgSVD(*_svd(A, full_matrices=full_matrices)), out)


def svdvals(A, *, driver=None, out=None):
    _check_matrix(A, "linalg.svdvals")
    _check_float(A, "linalg.svdvals")
    return _with_out(_svdvals(A), out)


def _old_svd(input, some=True, compute_uv=True, *, out=None):
    _check_matrix(input, "linalg.svd")
    if not compute_uv:
        from .creation import zeros
        m, n = input.shape[-2:]
        S = _svdvals(input)
        z = lambda r, c: zeros(tuple(input.shape[:-2]) + (r, c), dtype=input.dtype)  # noqa: E731
        return _with_out(SVD(z(m, m if not some else min(m, n)) * 0, S, z(n, n if not some else min(m, n)) * 0), out)
    U, S, Vh = _svd(input, full_matrices=not some)
    return _with_out(SVD(U, S, Vh.mH), out)


Eigh = _rt("linalg_eigh", ("eigenvalues", "eigenvectors"))
Eig = _rt("linalg_eig", ("eigenvalues", "eigenvectors"))


def _tri_hermitian(A, uplo):
    # the matrix LAPACK sees: one triangle mirrored. Gradients flow as through (A + A^H)/2,
    # which gives torch's symmetric gradient.
    tri = jnp.tril(A) if uplo == "L" else jnp.triu(A)
    full = tri + _mH(tri) - jnp.diag(jnp.real(jnp.diagonal(tri, axis1=-2, axis2=-1))) \
        if A.ndim == 2 else tri + _mH(tri) - _diag_embed(jnp.diagonal(tri, axis1=-2, axis2=-1))
    sym = (A + _mH(A)) / 2
    return jax.lax.stop_gradient(full) + sym - jax.lax.stop_gradient(sym)


def _diag_embed(d):
    n = d.shape[-1]
    return d[..., :, None] * jnp.eye(n, dtype=d.dtype)


@defop(method=False, function=False, saves=(), saves_result=True)
def _eigh(A, UPLO="L"):
    w, v = jnp.linalg.eigh(_tri_hermitian(A, UPLO), symmetrize_input=False)
    return w, v


@defop(method=False, function=False, saves=(), saves_result=True)
def _eigvalsh(A, UPLO="L"):
    return jnp.linalg.eigvalsh(_tri_hermitian(A, UPLO), symmetrize_input=False)


def _uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A, UPLO="L", *, out=None):
    _uplo(UPLO)
    _square_float(A, "linalg.eigh")
    return _with_out(Eigh(*_eigh(A, UPLO=UPLO)), out)


def eigvalsh(A, UPLO="L", *, out=None):
    _uplo(UPLO)
    _square_float(A, "linalg.eigvalsh")
    return _with_out(_eigvalsh(A, UPLO=UPLO), out)


# torch's backward reads the eigenvalues and eigenvectors, not the input
@defop(method=False, function=False, saves=(), saves_result=True)
def _eig(A):
    return _eig_fn(A)


@jax.custom_jvp
def _eig_fn(A):
    w, v = jnp.linalg.eig(A)
    return w, v


@_eig_fn.defjvp
def _eig_jvp(primals, tangents):
    # JAX has no eigenvector derivative for general matrices; torch's: with M = V^-1 dA V,
    # dL = diag(M), dV = V (F o M) with F_ij = 1 / (L_j - L_i) off the diagonal, then the part of each
    # dv_i that would change its (unit) norm removed: dv_i -= v_i Re(v_i^H dv_i). The phase of each v_i
    # stays free, as in torch (whose backward requires a loss that does not depend on it)
    (A,), (dA,) = primals, tangents
    w, v = _eig_fn(A)
    M = jnp.linalg.solve(v, jnp.matmul(dA.astype(v.dtype), v, precision=_hi()))
    dw = jnp.diagonal(M, axis1=-2, axis2=-1)
    diff = w[..., None, :] - w[..., :, None]
    n = w.shape[-1]
    off = ~jnp.eye(n, dtype=bool)
    F = jnp.where(off, 1 / jnp.where(off, diff, 1), 0)
    dv = jnp.matmul(v, F * M, precision=_hi())
    dv = dv - v * jnp.real(jnp.sum(jnp.conj(v) * dv, axis=-2, keepdims=True))
    return (w, v), (dw, dv)


@jax.custom_jvp
def _eigvals_fn(A):
    return jnp.linalg.eigvals(A)


@_eigvals_fn.defjvp
def _eigvals_jvp(primals, tangents):
    # dL = diag(V^-1 dA V) with V from _eig_fn, whose own rule makes this differentiable again (JAX's
    # eigenvalue derivative needs eigenvector derivatives, which it lacks, for a second order)
    (A,), (dA,) = primals, tangents
    w, v = _eig_fn(A)
    M = jnp.linalg.solve(v, jnp.matmul(dA.astype(v.dtype), v, precision=_hi()))
    return w, jnp.diagonal(M, axis1=-2, axis2=-1)


@defop(method=False, function=False, saves=(), saves_result=True, saves_hidden=True)
def _eigvals(A):
    return _eigvals_fn(A)


def eig(A, *, out=None):
    _square_float(A, "linalg.eig")
    return _with_out(Eig(*_eig(A)), out)


def eigvals(A, *, out=None):
    _square_float(A, "linalg.eigvals")
    return _with_out(_eigvals(A), out)


# ---------------------------------------------------------------- pinv, lstsq, rank
def _default_rtol(A, atol, rtol):
    if rtol is None:
        eps = float(jnp.finfo(A.dtype.np).eps)
        rtol = 0.0 if atol is not None and atol > 0 else eps * builtins.max(A.shape[-2], A.shape[-1])
    return 0.0 if atol is None else atol, rtol


@defop(method=False, function=False, saves_result=True)
def _pinv(A, atol=0.0, rtol=0.0, hermitian=False):
    if hermitian:
        return _pinv_hermitian(A, atol, rtol)
    if atol == 0.0:
        return jnp.linalg.pinv(A, rtol=rtol)  # has a well-behaved custom JVP
    U, s, Vh = jnp.linalg.svd(A, full_matrices=False)
    cut = jnp.maximum(atol, rtol * jnp.max(s, -1, keepdims=True, initial=0))
    sinv = jnp.where(s > cut, 1 / jnp.where(s > cut, s, 1), 0).astype(U.dtype)
    return jnp.matmul(_mH(Vh) * sinv[..., None, :], _mH(U), precision=_hi())


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _pinv_hermitian(A, atol, rtol):
    # like torch, only the lower triangle is read
    w, v = jnp.linalg.eigh(_tri_hermitian(jax.lax.stop_gradient(A), "L"), symmetrize_input=False)
    s = jnp.abs(w)
    cut = jnp.maximum(atol, rtol * jnp.max(s, -1, keepdims=True, initial=0))
    winv = jnp.where(s > cut, 1 / jnp.where(s > cut, w, 1), 0)
    return jnp.matmul(v * winv[..., None, :].astype(v.dtype), _mH(v), precision=_hi())


def _pinv_differential(A, P, dA):
    """The differential of the pseudo-inverse P of A (constant rank), torch's rule for pinv and lstsq:
    dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P."""
    mm = functools.partial(jnp.matmul, precision=_hi())
    Ph, dAh = _mH(P), _mH(dA)
    return -mm(mm(P, dA), P) + mm(mm(P, Ph), dAh - mm(dAh, mm(A, P))) + mm(dAh - mm(mm(P, A), dAh), mm(Ph, P))


@_pinv_hermitian.defjvp
def _pinv_hermitian_jvp(atol, rtol, primals, tangents):
    # torch differentiates the general pseudo-inverse P of A (the whole matrix, which need not be
    # Hermitian), at the P it computed
    (A,), (dA,) = primals, tangents
    P = _pinv_hermitian(A, atol, rtol)
    return P, _pinv_differential(A, P, dA)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _pinv_svd(A, rcond):
    """lstsq's pseudo-inverse (singular values at or below rcond * max dropped), differentiated by the
    pseudo-inverse rule: JAX's SVD derivative divides by s_i^2 - s_j^2, which loses all precision when
    singular values are close (a well-conditioned A), where torch's lstsq gradient does not."""
    U, s, Vh = jnp.linalg.svd(A, full_matrices=False)
    cut = rcond * jnp.max(s, -1, keepdims=True)
    keep = s > cut
    sinv = jnp.where(keep, 1 / jnp.where(keep, s, 1), 0).astype(A.dtype)
    return jnp.matmul(_mH(Vh) * sinv[..., None, :], _mH(U), precision=_hi()), jnp.sum(keep, -1), s


@_pinv_svd.defjvp
def _pinv_svd_jvp(rcond, primals, tangents):
    (A,), (dA,) = primals, tangents
    P, rank, s = _pinv_svd(A, rcond)
    zero = np.zeros(rank.shape, jax.dtypes.float0)
    return (P, rank, s), (_pinv_differential(A, P, dA), zero, jnp.zeros_like(s))


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    _check_matrix(A, "linalg.pinv")
    _check_float(A, "linalg.pinv")
    atol, rtol = _default_rtol(A, atol, rtol)
    return _with_out(_pinv(A, atol=float(atol), rtol=float(rtol), hermitian=hermitian), out)


def pinverse(input, rcond=1e-15):
    return pinv(input, rtol=rcond)


@defop(method=False, function=False, differentiable=False)
def _rank(A, atol=0.0, rtol=0.0, hermitian=False):
    s = jnp.abs(jnp.linalg.eigvalsh(_tri_hermitian(A, "L"), symmetrize_input=False)) if hermitian else \
        jnp.linalg.svd(A, compute_uv=False)  # hermitian: the lower triangle, like torch
    cut = jnp.maximum(atol, rtol * jnp.max(s, -1, keepdims=True, initial=0))
    return jnp.sum(s > cut, -1).astype(jnp.int64)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None, out=None):
    _check_matrix(A, "linalg.matrix_rank")
    _check_float(A, "linalg.matrix_rank")
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = _default_rtol(A, atol, rtol)
    return _with_out(_rank(A, atol=float(atol), rtol=float(rtol), hermitian=hermitian), out)


Lstsq = _rt("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))


@defop(method=False, function=False)
def _lstsq(A, B, rcond=0.0, driver="gelsy", vector=False):
    if vector:
        B = B[..., None]
    A, B = _bcast_batch(A, B)
    m, n = A.shape[-2:]
    P, rank, s = _pinv_svd(A, rcond)
    X = jnp.matmul(P, B, precision=_hi())
    rank = rank.astype(jnp.int64)
    real = jnp.zeros((), A.dtype).real.dtype
    # torch fills residuals only for m > n full-rank inputs and drivers other than gelsy
    if m > n and driver != "gelsy":
        r = jnp.sum(jnp.abs(jnp.matmul(A, X, precision=_hi()) - B) ** 2, -2)
        res = jnp.where((rank == n)[..., None], r, r)
    else:
        res = jnp.zeros((0,), real)
    sv = s if driver in ("gelsd", "gelss") else jnp.zeros((0,), real)
    if driver == "gels":
        rank = jnp.zeros((0,), jnp.int64)
    if vector:
        X = X[..., 0]
    return X, res.astype(real), rank, sv


def lstsq(A, B, rcond=None, *, driver=None, out=None):
    _check_matrix(A, "linalg.lstsq")
    _check_float(A, "linalg.lstsq")
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    vector = B.ndim == A.ndim - 1
    if rcond is None:
        rcond = float(jnp.finfo(A.dtype.np).eps) * builtins.max(A.shape[-2], A.shape[-1])
    return _with_out(Lstsq(*_lstsq(A, B, rcond=float(rcond), driver=driver, vector=vector)), out)


# ---------------------------------------------------------------- LU
LU = _rt("linalg_lu", ("P", "L", "U"))
LUFactor = _rt("linalg_lu_factor", ("LU", "pivots"))
LUUnpack = _rt("lu_unpack", ("P", "L", "U"))


@defop(method=False, function=False)
def _lu(A):
    f = jax.scipy.linalg.lu
    for _ in range(A.ndim - 2):  # 2-D only: map over batch dims
        f = jax.vmap(f)
    P, L, U = f(A)
    return P.astype(A.dtype), L, U  # jax's P is real for complex A; torch's has A's dtype


@defop(method=False, function=False)
def _lu_factor(A):
    lu, piv, _ = jax.lax.linalg.lu(A)
    return lu, (piv + 1).astype(jnp.int32)  # torch: LAPACK's 1-based pivots


def _perm_from_pivots(piv, m):
    # row swaps (1-based, applied in order) -> permutation of range(m)
    perm = jnp.broadcast_to(jnp.arange(m), piv.shape[:-1] + (m,))
    for i in range(piv.shape[-1]):
        j = piv[..., i:i + 1] - 1
        pi = perm[..., i:i + 1]
        pj = jnp.take_along_axis(perm, j, -1)
        perm = perm.at[..., i:i + 1].set(pj)
        perm = jnp.where(jnp.arange(m) == j, pi, perm)
    return perm


@defop(method=False, function=False)
def _lu_unpack(LU, pivots):
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = jnp.tril(LU[..., :, :k], -1) + jnp.eye(m, k, dtype=LU.dtype)
    U = jnp.triu(LU[..., :k, :])
    perm = _perm_from_pivots(pivots, m)
    P = _mT(jax.nn.one_hot(perm, m, dtype=LU.dtype))  # A = P L U
    return P, L, U


@defop(method=False, function=False)
def _lu_solve(LU, pivots, B, left=True, adjoint=False):
    P, L, U = _lu_unpack.fn(LU, pivots)
    A = jnp.matmul(P, jnp.matmul(L, U, precision=_hi()), precision=_hi())
    if adjoint:
        A = _mH(A)
    if not left:
        return _mT(jnp.linalg.solve(*_bcast_batch(_mT(A), _mT(B))))
    return jnp.linalg.solve(*_bcast_batch(A, B))


def lu(A, *, pivot=True, out=None):
    _check_matrix(A, "linalg.lu")
    _check_float(A, "linalg.lu")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    return _with_out(LU(*_lu(A)), out)


def lu_factor(A, *, pivot=True, out=None):
    _check_matrix(A, "linalg.lu_factor")
    _check_float(A, "linalg.lu_factor")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    return _with_out(LUFactor(*_lu_factor(A)), out)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    return _with_out(LUUnpack(*_lu_unpack(LU_data, LU_pivots)), out)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    _check_square(LU, "linalg.lu_solve", "LU")
    return _with_out(_lu_solve(LU, pivots, B, left=left, adjoint=adjoint), out)


# ---------------------------------------------------------------- powers, exp
@defop(method=False, function=False)
def _matrix_power(A, n=1):
    return jnp.linalg.matrix_power(A, n)


def matrix_power(A, n, *, out=None):
    _check_square(A, "linalg.matrix_power")
    if n < 0:
        _check_float(A, "linalg.matrix_power")
        A = inv(A)
        n = -n
    return _with_out(_matrix_power(A, n=int(n)), out)


@defop(method=False, function=False)
def _matrix_exp(A):
    if A.dtype in (jnp.float16, jnp.bfloat16):  # jax's expm has no half kernels: compute in float32
        return jax.scipy.linalg.expm(A.astype(jnp.float32)).astype(A.dtype)
    return jax.scipy.linalg.expm(A)


def matrix_exp(A):
    _square_float(A, "linalg.matrix_exp")
    return _matrix_exp(A)


# ---------------------------------------------------------------- norms
def _vnorm_value(x, ord, axis, keepdim):
    a = jnp.abs(x)
    if ord == math.inf:
        return jnp.max(a, axis=axis, keepdims=keepdim)
    if ord == -math.inf:
        return jnp.min(a, axis=axis, keepdims=keepdim)
    if ord == 0:
        return jnp.sum(a != 0, axis=axis, keepdims=keepdim).astype(a.dtype)
    if ord == 1:
        return jnp.sum(a, axis=axis, keepdims=keepdim)
    if ord == 2:
        return jnp.sqrt(jnp.sum(a * a, axis=axis, keepdims=keepdim))
    return jnp.sum(a ** ord, axis=axis, keepdims=keepdim) ** (1.0 / ord)


def _vnorm_grad(x, n, ord, axis):
    """d norm / d x with torch's conventions (0 where the norm is 0; ties of inf-norms split evenly)."""
    nk = n if axis is None else jnp.expand_dims(n, axis)
    if axis is None:
        nk = jnp.reshape(n, (1,) * x.ndim)
    a = jnp.abs(x)
    sgn = jnp.where(a == 0, 0, x / jnp.where(a == 0, 1, a))
    if ord == 0:
        return jnp.zeros_like(x)
    if ord == 1:
        return sgn
    if ord in (math.inf, -math.inf):
        mask = (a == nk) | jnp.isnan(a)
        return sgn * mask / jnp.sum(mask, axis=axis, keepdims=True)
    if ord == 2:
        return x / jnp.where(nk == 0, 1, nk) * (nk != 0)
    scaled = sgn * jnp.where(a == 0, 0, a ** (ord - 1))
    return jnp.where(nk == 0, 0, scaled / jnp.where(nk == 0, 1, nk) ** (ord - 1))


def _vnorm(ord, axis, keepdim):
    @jax.custom_jvp
    def f(x):
        return _vnorm_value(x, ord, axis, keepdim)

    @f.defjvp
    def f_jvp(p, t):
        x, = p
        dx, = t
        n = _vnorm_value(x, ord, axis, False)
        g = _vnorm_grad(x, n, ord, axis)
        dn = jnp.sum(jnp.real(jnp.conj(g) * dx), axis=axis, keepdims=keepdim)
        return (n.reshape(f(x).shape) if keepdim else n), dn.astype(n.dtype)
    return f


@defop(method=False, function=False, saves_result=True)
def _vector_norm(x, ord=2.0, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x.astype(dtype.np)
    if dim is not None and len(dim) == 0:
        dim = None
    if x.dtype in (jnp.float16, jnp.bfloat16):  # torch accumulates half types in float (no overflow of squares)
        return _vnorm(ord, dim, keepdim)(x.astype(jnp.float32)).astype(x.dtype)
    return _vnorm(ord, dim, keepdim)(x)


# torch: the 0-"norm" has no gradient
_vector_norm.undefined_grad = lambda statics, saved, grads: (0,) if statics[0] == 0 else ()


def _norm_dims(dim, ndim):
    from .reduction import _dims
    if dim is None:
        return None
    return _dims(dim, ndim)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    _check_float(x, "linalg.vector_norm")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord}")
    ord = float(ord)
    d = _norm_dims(dim, x.ndim)
    if x.numel() == 0 and ord < 0 or (x.numel() == 0 and ord == math.inf and d is None):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty tensor because the "
                           "operation does not have an identity")
    return _with_out(_vector_norm(x, ord=ord, dim=d, keepdim=keepdim, dtype=dtype), out)


@defop(method=False, function=False, saves_result=True)
def _matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, dtype=None):
    # torch keeps the input and the result of its vector_norm/max/min
    if dtype is not None:
        A = A.astype(dtype.np)
    r, c = dim
    if A.dtype in (jnp.float16, jnp.bfloat16):
        return _matrix_norm.fn(A.astype(jnp.float32), ord=ord, dim=dim, keepdim=keepdim).astype(A.dtype)
    if ord == "fro":
        return _vnorm(2.0, (r, c), keepdim)(A)
    # 1 / -1: max/min over columns of the column abs-sums; inf / -inf: over rows
    red, ext = (r, c) if ord in (1, -1) else (c, r)
    sums = jnp.sum(jnp.abs(A), axis=red, keepdims=True)
    pick = jnp.max if ord in (1, math.inf) else jnp.min
    v = pick(sums, axis=ext, keepdims=True)
    return v if keepdim else jnp.squeeze(v, (r, c))


def _of_singular_values(dyn, statics):
    # torch keeps the result of the max/min of the singular values, not their sum (the nuclear norm)
    return statics[0] != "nuc"


@defop(method=False, function=False, saves=(), saves_hidden=True, saves_result=_of_singular_values)
def _singular_value_norm(A, ord="nuc", dim=(-2, -1), keepdim=False, dtype=None):
    """The nuclear and spectral (``ord=+-2``) norms: torch's backward reads its SVD's factors (and the
    spectral norms' result), not the input."""
    if dtype is not None:
        A = A.astype(dtype.np)
    r, c = dim
    if A.dtype in (jnp.float16, jnp.bfloat16):
        return _singular_value_norm.fn(A.astype(jnp.float32), ord=ord, dim=dim, keepdim=keepdim).astype(A.dtype)
    s = jnp.linalg.svd(jnp.moveaxis(A, (r, c), (-2, -1)), compute_uv=False)
    v = jnp.sum(s, -1) if ord == "nuc" else (jnp.max(s, -1) if ord == 2 else jnp.min(s, -1))
    if keepdim:
        for d in sorted((r, c)):
            v = jnp.expand_dims(v, d)
    return v


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    _check_matrix(A, "linalg.matrix_norm")
    _check_float(A, "linalg.matrix_norm")
    if not isinstance(ord, str):
        if ord not in (1, -1, 2, -2, math.inf, -math.inf):
            raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
        ord = float(ord) if abs(ord) == math.inf else int(ord)
    elif ord not in ("fro", "nuc"):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    d = _norm_dims(dim, A.ndim)
    if len(d) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    op = _singular_value_norm if ord in ("nuc", 2, -2) else _matrix_norm
    return _with_out(op(A, ord=ord, dim=d, keepdim=keepdim, dtype=dtype), out)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """torch.linalg.norm: a vector or matrix norm depending on ``ord``/``dim``."""
    if dim is not None:
        d = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(d) == 1:
            return vector_norm(A, 2 if ord is None else ord, d, keepdim, dtype=dtype, out=out)
        return matrix_norm(A, "fro" if ord is None else ord, d, keepdim, dtype=dtype, out=out)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)
    if A.ndim == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                       f"Got {A.ndim}D.")


def _torch_norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm / Tensor.norm: the older API (p='fro' and numbers are vector norms over ``dim``)."""
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            _check_float(input, "linalg.vector_norm")
            return vector_norm(input, 2, dim, keepdim, dtype=dtype, out=out)
        if p == "nuc":
            return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype, out=out)
        raise RuntimeError(f"norm: Order {p} not supported.")
    return vector_norm(input, 2 if p is None else p, dim, keepdim, dtype=dtype, out=out)


def cond(A, p=None, *, out=None):
    _check_matrix(A, "linalg.cond")
    if p is None or p in (2, -2):
        s = svdvals(A)
        r = s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
        return _with_out(r, out)
    return _with_out(matrix_norm(A, p) * matrix_norm(inv(A), p), out)


@defop(method=False, function=False, promote="common", saves_result=True, name="_dist")
def _dist_op(input, other, p=2.0):
    """``vector_norm(input - other, p)`` as one op: torch's node keeps both inputs and the result."""
    d = input - other
    if not jnp.issubdtype(d.dtype, jnp.inexact):
        raise RuntimeError("norm(): input dtype should be either floating point or complex. Got "
                           f"{D.scalar_type_name(D.from_numpy_dtype(d.dtype))} instead.")
    if d.dtype in (jnp.float16, jnp.bfloat16):  # (accumulated in float, as vector_norm)
        return _vnorm(p, None, False)(d.astype(jnp.float32)).astype(d.dtype)
    return _vnorm(p, None, False)(d)


_dist_op.undefined_grad = lambda statics, saved, grads: (0, 1) if statics[0] == 0 else ()


def _dist(input, other, p=2):
    return _dist_op(input, other, p=float(p))


# ---------------------------------------------------------------- products
@defop(method=False, function=False, promote="common")
def _cross(input, other, dim=-1):
    a, b = jnp.broadcast_arrays(input, other)
    if a.dtype in (jnp.float16, jnp.bfloat16):
        # torch's CPU kernel rounds each product and the difference to the half type
        a32, b32 = jnp.moveaxis(a, dim, 0).astype(jnp.float32), jnp.moveaxis(b, dim, 0).astype(jnp.float32)
        parts = [round_to(a32[j] * b32[k], a.dtype) - round_to(a32[k] * b32[j], a.dtype)
                 for j, k in ((1, 2), (2, 0), (0, 1))]
        return jnp.moveaxis(jnp.stack(parts), 0, dim).astype(a.dtype)
    return jnp.cross(a, b, axis=dim)


def cross(input, other, *, dim=-1, out=None):
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    from .reduction import _dims
    nd = input.ndim
    d = _dims(dim, nd)[0]
    sa = (1,) * (nd - input.ndim) + tuple(input.shape)
    sb = (1,) * (nd - other.ndim) + tuple(other.shape)
    if sa[d] != 3 or sb[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {sa[d]} and {sb[d]}")
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        raise RuntimeError(f"linalg.cross: the size of tensor a must match the size of tensor b at every "
                           f"non-singleton dimension: {list(input.shape)} and {list(other.shape)}") from None
    return _with_out(_cross(input, other, dim=d), out)


def _torch_cross(input, other, dim=None, *, out=None):
    if dim is None:  # torch: the first dimension of size 3
        dim = next((i for i, s in enumerate(input.shape) if s == 3), -1)
    return cross(input, other, dim=dim, out=out)


@defop(method=False, function=False, promote="common", tensors=("x", "y"))
def _vecdot(x, y, dim=-1):
    return jnp.sum(jnp.conj(x) * y, axis=dim)


def vecdot(x, y, *, dim=-1, out=None):
    return _with_out(_vecdot(x, y, dim=dim), out)


def multi_dot(tensors, *, out=None):
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    from .blas import matmul
    for i, t in enumerate(tensors):
        if not (t.ndim == 2 or (t.ndim == 1 and i in (0, len(tensors) - 1))):
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D" if 0 < i < len(tensors) - 1
                               else f"multi_dot(): the {'first' if i == 0 else 'last'} tensor must be 1D or 2D "
                                    f"but got {t.ndim}D")
    r = tensors[0]
    for t in tensors[1:]:
        r = matmul(r, t)
    return _with_out(r, out)


def _chain_matmul(*matrices, out=None):
    if len(matrices) == 1:
        return matrices[0].clone()
    return multi_dot(matrices, out=out)


@defop(method=False, function=False, saves=())
def _trace(input):
    return jnp.trace(input).astype(jnp.int64 if not jnp.issubdtype(input.dtype, jnp.inexact) else input.dtype)


def _torch_trace(input):
    if input.ndim != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(input.ndim))
    return _trace(input)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    from .._dispatch import REGISTRY
    return REGISTRY["diagonal"](A, offset, dim1, dim2)


@defop(method=False, function=False)
def _vander_l(x, N=None):
    return x[..., :, None] ** jnp.arange(N)


def vander(x, *, N=None):
    if x.ndim == 0:  # torch takes a 0-dim x as one point
        x = x.reshape(1)
    N = x.shape[-1] if N is None else int(N)
    if N <= 1:
        raise RuntimeError("N must be greater than 1.")
    return _vander_l(x, N=N)


def tensorinv(A, ind=2, *, out=None):
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    out_shape = tuple(A.shape[ind:]) + tuple(A.shape[:ind])
    rows = math.prod(A.shape[:ind])
    cols = math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return _with_out(inv(A.reshape(rows, cols)).reshape(out_shape), out)


def tensorsolve(A, B, dims=None, *, out=None):
    if dims is not None:
        nd = A.ndim
        dims = [d % nd for d in dims]
        A = A.permute([i for i in range(nd) if i not in dims] + dims)
    n = B.numel()
    rest = tuple(A.shape[B.ndim:])
    X = solve(A.reshape(n, -1), B.reshape(n))
    return _with_out(X.reshape(rest), out)


# ---------------------------------------------------------------- torch.* / Tensor.* exports
def _export_top():
    def det_(input):
        _square_float(input, "linalg.det")
        return _det(input)

    def slogdet_(input):
        _square_float(input, "linalg.slogdet")
        return Slogdet(*_slogdet(input))

    def inverse(input, *, out=None):
        return inv(input, out=out)

    def matrix_power_(input, n):
        return matrix_power(input, n)

    for name, f, kw in (("det", det_, {}), ("logdet", _logdet, {}), ("slogdet", slogdet_, {}),
                        ("inverse", inverse, {}), ("pinverse", pinverse, {}),
                        ("matrix_power", matrix_power_, {}), ("matrix_exp", matrix_exp, {}),
                        ("cholesky", _old_cholesky, {}), ("cholesky_solve", cholesky_solve, {}),
                        ("cholesky_inverse", cholesky_inverse, {}), ("svd", _old_svd, {}), ("qr", _old_qr, {}),
                        ("norm", _torch_norm, {}), ("dist", _dist, {"tensors": ("input", "other")}), ("trace", _torch_trace, {}),
                        ("cross", _torch_cross, {}), ("triangular_solve", triangular_solve, {})):
        f.__name__ = name
        export(f, name, **kw)
    export(_chain_matmul, "chain_matmul", method=False)
    export(lu_unpack, "lu_unpack", method=False)


_export_top()

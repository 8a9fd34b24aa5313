"""linalg.ldl_factor(_ex) and linalg.ldl_solve: the symmetric (or Hermitian) indefinite factorization
A = L D L^T (L D L^H) with Bunch-Kaufman diagonal pivoting, in LAPACK's compact form as torch returns it.

Only the lower triangle of A is read. Step k picks a 1x1 or 2x2 pivot block with the Bunch-Kaufman rule
(alpha = (1 + sqrt 17) / 8), swaps one row/column pair inside the not yet factored trailing block only
(so L is the product P_1 L_1 P_2 L_2 ..., as in LAPACK), stores C E^-1 below the block and E on it, and
continues with the Schur complement. Pivots are 1-based; a 2x2 block at (k, k+1) stores -(p+1) at both
k and k+1. Pivot magnitudes follow LAPACK's: |re| + |im| for complex entries (|re| for a Hermitian
diagonal). The loop is a ``lax.while_loop`` over k, each step a masked update of the whole matrix, so it
runs inside jit and under vmap for batches. torch gives no gradient.
"""
import jax
import jax.numpy as jnp

from .. import _dtype as D
from .._dispatch import defop
from .linalg_ops import _check_float, _check_square, _rt, _with_out

LDLFactor = _rt("linalg_ldl_factor", ("LD", "pivots"))
LDLFactorEx = _rt("linalg_ldl_factor_ex", ("LD", "pivots", "info"))

_ALPHA = (1 + 17 ** 0.5) / 8


def _mag(x):
    return jnp.abs(x.real) + jnp.abs(x.imag) if jnp.iscomplexobj(x) else jnp.abs(x)


def _ldl_one(A, hermitian):
    n = A.shape[-1]
    cj = jnp.conj if hermitian and jnp.iscomplexobj(A) else (lambda v: v)
    low = jnp.tril(A)
    W = low + cj(jnp.tril(A, -1)).T  # the full symmetric / Hermitian matrix the lower triangle describes
    if hermitian and jnp.iscomplexobj(A):
        W = W - 1j * jnp.diag(jnp.imag(jnp.diagonal(W)))
    idx = jnp.arange(n)
    I, J = idx[:, None], idx[None, :]
    diag_mag = (lambda v: jnp.abs(v.real)) if hermitian and jnp.iscomplexobj(A) else _mag

    def step(state):
        k, W, piv, info = state
        col = W[:, k]
        below = idx > k
        absakk = diag_mag(W[k, k])
        cm = jnp.where(below, _mag(col), -1.0)
        imax = jnp.argmax(cm)
        colmax = jnp.maximum(cm[imax], 0.0)
        zero = jnp.maximum(absakk, colmax) == 0
        row = W[imax, :]
        rowmax = jnp.max(jnp.where((idx >= k) & (idx != imax), _mag(row), 0.0))
        one_no_swap = (absakk >= _ALPHA * colmax) | (absakk * rowmax >= _ALPHA * colmax * colmax) | zero
        one_swap = ~one_no_swap & (diag_mag(W[imax, imax]) >= _ALPHA * rowmax)
        two = ~one_no_swap & ~one_swap
        kstep = jnp.where(two, 2, 1)
        kp = jnp.where(one_no_swap, k, imax)
        kk = k + kstep - 1
        # swap kk <-> kp inside the trailing block (rows and columns >= k)
        perm = jnp.where(idx == kk, kp, jnp.where(idx == kp, kk, idx))
        trailing = (I >= k) & (J >= k)
        W = jnp.where(trailing, W[perm][:, perm], W)
        # 1x1 block: L column x / e, Schur complement B - x x^H / e
        e = W[k, k]
        x = jnp.where(below, W[:, k], 0)
        e_safe = jnp.where(zero, 1, e)
        W1 = W - jnp.where((I > k) & (J > k), jnp.outer(x, cj(x)) / e_safe, 0)
        W1 = jnp.where((J == k) & (I > k), (x / e_safe)[:, None], W1)
        # 2x2 block E = W[k:k+2, k:k+2]: L columns C E^-1, Schur complement B - C E^-1 C^H
        k1 = jnp.minimum(k + 1, n - 1)
        E = jnp.array([[W[k, k], W[k, k1]], [W[k1, k], W[k1, k1]]])
        det = E[0, 0] * E[1, 1] - E[0, 1] * E[1, 0]
        det = jnp.where(two, det, 1)
        Einv = jnp.array([[E[1, 1], -E[0, 1]], [-E[1, 0], E[0, 0]]]) / det
        below2 = idx > k1
        C = jnp.where(below2[:, None], jnp.stack([W[:, k], W[:, k1]], 1), 0)
        CE = C @ Einv
        W2 = W - jnp.where((I > k1) & (J > k1), CE @ cj(C).T, 0)
        W2 = jnp.where((J == k) & (I > k1), CE[:, 0:1], W2)
        W2 = jnp.where((J == k1) & (I > k1), CE[:, 1:2], W2)
        W = jnp.where(zero, W, jnp.where(two, W2, W1))
        if hermitian and jnp.iscomplexobj(A):
            W = W - 1j * jnp.diag(jnp.where(idx > k, jnp.imag(jnp.diagonal(W)), 0))
        p = (kp + 1).astype(jnp.int32)
        piv = jnp.where(two, jnp.where((idx == k) | (idx == k1), -p, piv), jnp.where(idx == k, p, piv))
        info = jnp.where((info == 0) & zero, k + 1, info).astype(jnp.int32)
        return k + kstep, W, piv, info

    init = (jnp.asarray(0), W, jnp.zeros(n, jnp.int32), jnp.asarray(0, jnp.int32))
    _, W, piv, info = jax.lax.while_loop(lambda s: s[0] < n, step, init)
    return jnp.tril(W), piv, info


@defop(method=False, function=False, differentiable=False)
def _ldl_factor(A, hermitian=False):
    if A.shape[-1] == 0:
        return A, jnp.zeros(A.shape[:-1], jnp.int32), jnp.zeros(A.shape[:-2], jnp.int32)
    f = lambda a: _ldl_one(a, hermitian)  # noqa: E731
    for _ in range(A.ndim - 2):
        f = jax.vmap(f)
    return f(A)


def _check_ldl_input(A, name):
    _check_square(A, name)
    _check_float(A, name)


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    _check_ldl_input(A, "torch.linalg.ldl_factor_ex")
    LD, piv, info = _ldl_factor(A, hermitian=bool(hermitian))
    if check_errors:
        _raise_singular(info, "torch.linalg.ldl_factor_ex")
    return _with_out(LDLFactorEx(LD, piv, info), out)


def _raise_singular(info, name):
    from .linalg_ops import LinAlgError, _concrete
    if not _concrete(info):  # (not checked while traced under jtorch.compile, as linalg_ops' checks)
        return
    bad = info.reshape(-1)
    if bool((bad > 0).any()):
        k = int(bad[(bad > 0).nonzero()[0, 0]])
        raise LinAlgError(f"{name}: The factorization could not be completed because the input is not "
                          f"invertible: D[{k},{k}] is exactly zero.")


def ldl_factor(A, *, hermitian=False, out=None):
    _check_ldl_input(A, "torch.linalg.ldl_factor")
    LD, piv, info = _ldl_factor(A, hermitian=bool(hermitian))
    _raise_singular(info, "torch.linalg.ldl_factor")
    return _with_out(LDLFactor(LD, piv), out)


def _ldl_solve_one(LD, piv, B, hermitian):
    n = LD.shape[-1]
    cj = jnp.conj if hermitian and jnp.iscomplexobj(LD) else (lambda v: v)
    idx = jnp.arange(n)

    def swap(B, a, b):
        perm = jnp.where(idx == a, b, jnp.where(idx == b, a, idx))
        return B[perm]

    def forward(state):  # B <- D^-1 L^-1 B, L = P_1 L_1 P_2 L_2 ...
        k, B = state
        two = piv[k] < 0
        k1 = jnp.minimum(k + 1, n - 1)
        kp = jnp.where(two, -piv[k], piv[k]) - 1
        B = swap(B, jnp.where(two, k1, k), kp)
        l0 = jnp.where(idx > jnp.where(two, k1, k), LD[:, k], 0)
        l1 = jnp.where(two & (idx > k1), LD[:, k1], 0)
        B = B - l0[:, None] * B[k][None, :] - l1[:, None] * B[k1][None, :]
        # the diagonal block
        d = LD[k, k]
        E = jnp.array([[LD[k, k], cj(LD[k1, k])], [LD[k1, k], LD[k1, k1]]])
        det = jnp.where(two, E[0, 0] * E[1, 1] - E[0, 1] * E[1, 0], 1)
        bk = jnp.where(two, (E[1, 1] * B[k] - E[0, 1] * B[k1]) / det, B[k] / d)
        bk1 = jnp.where(two, (E[0, 0] * B[k1] - E[1, 0] * B[k]) / det, B[k1])
        B = jnp.where((idx == k)[:, None], bk[None, :], B)
        B = jnp.where(((idx == k1) & two)[:, None], bk1[None, :], B)
        return k + jnp.where(two, 2, 1), B

    def backward(state):  # B <- L^-H B, blocks from the last
        k, B = state
        two = piv[k] < 0
        k0 = jnp.where(two, k - 1, k)
        rest = jnp.where((idx > k)[:, None], B, 0)
        bk = B[k] - cj(LD[:, k]) @ rest
        bk0 = B[k0] - cj(LD[:, k0]) @ rest
        B = jnp.where((idx == k)[:, None], bk[None, :], B)
        B = jnp.where(((idx == k0) & two)[:, None], bk0[None, :], B)
        kp = jnp.where(two, -piv[k], piv[k]) - 1
        B = swap(B, k, kp)
        return k0 - 1, B

    _, B = jax.lax.while_loop(lambda s: s[0] < n, forward, (jnp.asarray(0), B))
    _, B = jax.lax.while_loop(lambda s: s[0] >= 0, backward, (jnp.asarray(n - 1), B))
    return B


@defop(method=False, function=False, differentiable=False)
def _ldl_solve(LD, pivots, B, hermitian=False):
    if LD.shape[-1] == 0:
        return B
    f = lambda a, p, b: _ldl_solve_one(a, p, b, hermitian)  # noqa: E731
    for _ in range(B.ndim - 2):
        f = jax.vmap(f)
    return f(LD, pivots, B)


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    name = "torch.linalg.ldl_solve"
    _check_ldl_input(LD, name)
    if B.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor B must have at least 2 dimensions.")
    if pivots.dtype.is_floating_point or pivots.dtype.is_complex or pivots.dtype == D.bool:
        raise RuntimeError(f"{name}: Expected pivots to be integers. Got {pivots.dtype}")
    pivots = pivots.to(D.int32)
    if LD.dtype != B.dtype:
        raise RuntimeError(f"{name}: LD dtype {LD.dtype} does not match b dtype {B.dtype}")
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError(f"{name}: LD.shape[:-1] must be equal to pivots.shape, but got {tuple(LD.shape[:-1])} "
                           f"and {tuple(pivots.shape)}")
    if B.shape[-2] != LD.shape[-1]:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation AX = B "
                           f"({LD.shape[-2]}x{LD.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
    batch = tuple(jnp.broadcast_shapes(tuple(LD.shape[:-2]), tuple(B.shape[:-2])))
    LDb = LD.broadcast_to(batch + tuple(LD.shape[-2:]))
    pb = pivots.broadcast_to(batch + tuple(pivots.shape[-1:]))
    Bb = B.broadcast_to(batch + tuple(B.shape[-2:]))
    return _with_out(_ldl_solve(LDb, pb, Bb, hermitian=bool(hermitian)), out)

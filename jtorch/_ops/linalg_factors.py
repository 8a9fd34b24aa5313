"""LAPACK-style factor representations: geqrf (QR as Householder reflectors), householder_product (orgqr),
ormqr (apply Q without forming it) and lu_factor_ex.

geqrf is LAPACK's own (through jnp.linalg.qr(mode="raw")); torch gives it no gradient. The reflectors
are applied with plain array ops, H_i = I - tau_i v_i v_i^H one after another in a loop, so
householder_product and ormqr have gradients (XLA's LAPACK calls have none).
"""
import jax
import jax.numpy as jnp

from .. import _dtype as D
from .._dispatch import defop, function
from .linalg_ops import LinAlgError, _check_float, _check_matrix, _rt, _with_out, _zero_pivot, lu_factor

Geqrf = _rt("geqrf", ("a", "tau"))
LUFactorEx = _rt("linalg_lu_factor_ex", ("LU", "pivots", "info"))


@defop(method=False, function=False, differentiable=False)
def _geqrf(A):
    if A.shape[-1] == 0 or A.shape[-2] == 0:
        return A, jnp.zeros(A.shape[:-2] + (0,), A.dtype)
    h, tau = jnp.linalg.qr(A, mode="raw")
    return jnp.swapaxes(h, -1, -2), tau


@function
def geqrf(input, *, out=None):
    _check_matrix(input, "geqrf")
    _check_float(input, "geqrf")
    return _with_out(Geqrf(*_geqrf(input)), out)


def _reflect(A, tau, C, left, adjoint):
    """Q C, Q^H C, C Q or C Q^H for Q = H_0 ... H_{k-1}, H_i = I - tau_i v_i v_i^H, v_i the i-th column of A
    below the diagonal with a 1 on it."""
    k = tau.shape[-1]
    if k == 0 or A.shape[-2] == 0:
        return C
    rows = jnp.arange(A.shape[-2])
    # Q C applies H_{k-1} first; Q^H C applies H_0^H first; C Q applies H_0 first; C Q^H H_{k-1}^H first
    forward = left == adjoint

    def body(j, C):
        i = j if forward else k - 1 - j
        col = jnp.take(A, i, axis=-1)
        v = jnp.where(rows > i, col, jnp.where(rows == i, 1, 0)).astype(A.dtype)
        t = jnp.take(tau, i, axis=-1)
        t = jnp.conj(t) if adjoint else t
        if left:
            return C - (t[..., None] * v)[..., :, None] * jnp.einsum("...m,...mp->...p", jnp.conj(v), C)[..., None, :]
        return C - (t[..., None] * jnp.einsum("...pm,...m->...p", C, v))[..., :, None] * jnp.conj(v)[..., None, :]

    return jax.lax.fori_loop(0, k, body, C)


@defop(method=False, function=False, promote="common")
def _householder_product(A, tau):
    m, n = A.shape[-2], A.shape[-1]
    E = jnp.broadcast_to(jnp.eye(m, n, dtype=A.dtype), A.shape)
    return _reflect(A, tau, E, left=True, adjoint=False)


def _no_reflectors(statics, saved, grads):
    # torch leaves the reflectors' (A, tau) gradients undefined when there are none (tau of size 0 in
    # its last dim): the result is the identity (householder_product) or C (ormqr), constant in A and tau
    return (0, 1) if saved[1].shape[-1] == 0 else ()


_householder_product.undefined_grad = _no_reflectors


def _check_reflectors(name, A, tau, what="input"):
    _check_float(A, name)
    if A.ndim < 2:
        raise RuntimeError(f"{name}: {what} must have at least 2 dimensions.")
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than {what}, but got tau.ndim equal to "
                           f"{tau.ndim} and {what}.ndim is equal to {A.ndim}")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to {what}.shape[:-2], but got "
                           f"{tuple(tau.shape[:-1])}")
    if tau.dtype != A.dtype:
        raise RuntimeError(f"{name}: tau dtype {tau.dtype} does not match {what} dtype {A.dtype}")


def householder_product(A, tau, *, out=None):
    name = "torch.linalg.householder_product"
    _check_reflectors(name, A, tau)
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if A.shape[-1] < tau.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    return _with_out(_householder_product(A, tau), out)


@function
def orgqr(input, tau):
    return householder_product(input, tau)


@defop(method=False, function=False, promote="common")
def _ormqr(A, tau, C, left=True, transpose=False):
    return _reflect(A, tau, C, left=left, adjoint=transpose)


_ormqr.undefined_grad = _no_reflectors


@function
def ormqr(input, input2, input3, left=True, transpose=False, *, out=None):
    name = "torch.ormqr"
    _check_reflectors(name, input, input2)
    if input3.ndim != input.ndim:
        raise RuntimeError(f"{name}: input3.ndim must be equal to input.ndim, but got {input3.ndim} and {input.ndim}")
    if tuple(input3.shape[:-2]) != tuple(input.shape[:-2]):
        raise RuntimeError(f"{name}: Expected batch dimensions of input3 to be equal to input.shape[:-2], but got "
                           f"{tuple(input3.shape[:-2])}")
    if input3.dtype != input.dtype:
        raise RuntimeError(f"{name}: input3 dtype {input3.dtype} does not match input dtype {input.dtype}")
    mn = input3.shape[-2] if left else input3.shape[-1]
    if input.shape[-2] != mn:
        raise RuntimeError(f"{name}: input.shape[-2] must be equal to input3.shape[{-2 if left else -1}], but got "
                           f"{input.shape[-2]} and {mn}")
    if input2.shape[-1] > mn:
        which = "input3.shape[-2]" if left else "input3.shape[-1]"
        raise RuntimeError(f"{name}: input2.shape[-1] must be less than or equal to {which}")
    if input2.shape[-1] > input.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to input2.shape[-1]")
    return _with_out(_ormqr(input, input2, input3, left=bool(left), transpose=bool(transpose)), out)


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    LU, piv = lu_factor(A, pivot=pivot)
    info = _zero_pivot(A).to(D.int32)
    if check_errors and bool((info > 0).any()):
        raise LinAlgError(f"torch.linalg.lu_factor_ex: U[{int(info.max())},{int(info.max())}] is zero and using it "
                          "on lu_solve would result in a division by zero. If you still want to perform the "
                          "factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return _with_out(LUFactorEx(LU, piv, info), out)

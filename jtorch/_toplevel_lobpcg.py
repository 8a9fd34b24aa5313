"""torch.lobpcg: the k largest (or smallest) eigenpairs of a symmetric A, or of the generalized problem
A x = lambda B x with B symmetric positive definite.

torch iterates LOBPCG (a block Krylov method that only multiplies by A) until the residuals fall below
``tol``; here the pencil is solved densely (Cholesky of B, then ``eigh``), which is the converged answer
LOBPCG approaches, to working precision, and is differentiable through eigh (torch's own backward covers
only dense A and B the same way). The iteration controls (``X`` as a starting basis, ``niter``, ``tol``,
``tracker``, the ``ortho_*`` parameters, ``method``) are checked and accepted; they only steer how torch
gets there. A is read as dense (jtorch has no sparse tensors here)."""
import jtorch as torch

__all__ = ["lobpcg"]


def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None, method=None,
           tracker=None, ortho_iparams=None, ortho_fparams=None, ortho_bparams=None):
    if A.shape[-2] != A.shape[-1]:
        raise AssertionError(f"A must be square, got shape {A.shape}")
    if B is not None and tuple(A.shape) != tuple(B.shape):
        raise AssertionError(f"A and B must have same shape, got {A.shape} vs {B.shape}")
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m}) is smaller than 3 x "
                         f"the number of requested eigenpairs (={n})")
    if X is not None and tuple(X.shape[-2:]) != (m, n):
        raise AssertionError(f"X shape mismatch: got {X.shape}, expected {(m, n)}")
    method = "ortho" if method is None else method
    if method not in ("ortho", "basic"):
        raise ValueError(f"Expected method to be 'basic' or 'ortho', got {method}")
    largest = True if largest is None else largest
    if not A.dtype.is_floating_point:
        A = A.to(torch.get_default_dtype())
    if B is None:
        evals, evecs = torch.linalg.eigh(A)
    else:
        L = torch.linalg.cholesky(B.to(A.dtype))
        Li = torch.linalg.solve_triangular(L, torch.eye(m, dtype=A.dtype, device=A.device).expand_as(A), upper=False)
        evals, V = torch.linalg.eigh(Li @ A @ Li.mT)
        evecs = Li.mT @ V  # B-orthonormal eigenvectors of the pencil
    if largest:
        evals, evecs = evals.flip(-1), evecs.flip(-1)
    return evals[..., :k], evecs[..., :k]

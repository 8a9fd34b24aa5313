"""svd_lowrank and pca_lowrank: randomized truncated SVD (Halko, Martinsson and Tropp 2009, a Gaussian
range finder refined by ``niter`` subspace iterations), written with jtorch's ops so gradients flow
through the QR and SVD steps. The random test matrix comes from jtorch's global generator, so values
differ from torch's run to run like torch's own; the factors agree up to that randomness."""
from .._dispatch import function


def _approximate_basis(A, q, niter, M):
    import jtorch
    R = jtorch.randn(A.shape[:-2] + (A.shape[-1], q), dtype=A.dtype)
    X = A @ R if M is None else A @ R - M @ R
    Q = jtorch.linalg.qr(X).Q
    AH = A.mH
    MH = None if M is None else M.mH
    for _ in range(niter):
        X = AH @ Q if MH is None else AH @ Q - MH @ Q
        Q = jtorch.linalg.qr(X).Q
        X = A @ Q if M is None else A @ Q - M @ Q
        Q = jtorch.linalg.qr(X).Q
    return Q


@function(method=False)
def svd_lowrank(A, q=6, niter=2, M=None):
    import jtorch
    if A.ndim < 2:
        raise ValueError(f"not enough values to unpack (expected 2, got {A.ndim})")
    q = 6 if q is None else int(q)
    if M is not None:
        M = M.broadcast_to(A.shape)
    Q = _approximate_basis(A, q, int(niter), M)
    B = Q.mH @ (A if M is None else A - M)
    U, S, Vh = jtorch.linalg.svd(B, full_matrices=False)
    return Q @ U, S, Vh.mH


@function(method=False)
def pca_lowrank(A, q=None, center=True, niter=2):
    if A.ndim < 2:
        raise ValueError(f"not enough values to unpack (expected 2, got {A.ndim})")
    m, n = A.shape[-2], A.shape[-1]
    q = min(6, m, n) if q is None else q
    if not (isinstance(q, int) and 0 <= q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if niter < 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if center:
        return svd_lowrank(A - A.mean(dim=-2, keepdim=True), q, niter=niter)
    return svd_lowrank(A, q, niter=niter)

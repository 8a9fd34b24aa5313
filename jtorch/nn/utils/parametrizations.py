"""Ready-made parametrizations: weight_norm, orthogonal, spectral_norm (parametrize-based)."""
import jtorch as torch

from ..modules.module import Module
from . import parametrize

__all__ = ["weight_norm", "orthogonal", "spectral_norm"]


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def _norm(self, v):
        if self.dim == -1:
            return (v * v).sum().sqrt()
        dims = [d for d in range(v.dim()) if d != self.dim % v.dim()]
        return (v * v).sum(dim=dims, keepdim=True).sqrt()

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / self._norm(weight_v))

    def right_inverse(self, weight):
        return self._norm(weight), weight


def weight_norm(module, name="weight", dim=0):
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


def _orthonormalize(A):
    """Q of A's QR with the signs that make diag(R) positive (the usual canonical Q)."""
    Q, R = torch.linalg.qr(A)
    d = torch.diagonal(R, 0, -2, -1)
    return Q * (d.sign() + (d == 0).to(d.dtype)).unsqueeze(-2)


class _Orthogonal(Module):
    """torch's orthogonal parametrization: a skew matrix built from the lower triangle of the
    unconstrained X goes through matrix_exp or the Cayley map (or X's strict lower triangle through
    Householder reflections); with use_trivialization the result multiplies a stored orthogonal
    buffer ``base``, and X starts at -I (which maps to the identity), so the weight starts at base."""

    def __init__(self, weight, orthogonal_map, use_trivialization):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            L = X.tril()
            if n != k:  # a tall X: pad to square with zero columns
                L = torch.cat([L, L.new_zeros(n, n - k).expand(*L.shape[:-2], -1, -1)], dim=-1)
            A = L - L.mH
            if self.orthogonal_map == "matrix_exp":
                Q = torch.matrix_exp(A)
            else:
                eye = torch.eye(n, dtype=A.dtype, device=A.device)
                Q = torch.linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            V = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (V * V).sum(dim=-2))
            Q = torch.linalg.householder_product(V, tau)
            # X's diagonal holds the signs (+-1) of Q's columns; it takes no gradient
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        return Q.mT if transposed else Q

    @torch.no_grad()
    def right_inverse(self, Q):
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        Q_init = Q
        n, k = Q.size(-2), Q.size(-1)
        transposed = n < k
        if transposed:
            Q = Q.mT
            n, k = k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map in ("matrix_exp", "cayley"):
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            # Householder: reflectors below the diagonal, the column signs on it
            A, tau = torch.geqrf(Q)
            A.diagonal(dim1=-2, dim2=-1).sign_()
            A.diagonal(dim1=-2, dim2=-1)[tau == 0.0] *= -1
            return A.mT if transposed else A
        if n == k:
            eye = torch.eye(k, dtype=Q.dtype, device=Q.device)
            atol = 10.0 * n * torch.finfo(Q.dtype).eps
            Q = Q.clone() if torch.allclose(Q.mH @ Q, eye, atol=atol) else _orthonormalize(Q)
        else:  # complete the columns to a square orthogonal matrix
            N = torch.randn(*(Q.size()[:-2] + (n, n - k)), dtype=Q.dtype, device=Q.device)
            Q = _orthonormalize(torch.cat([Q, N], dim=-1))
        self.base = Q
        neg_eye = torch.zeros_like(Q_init)
        neg_eye.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_eye


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.size(-2) == weight.size(-1)
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    if orthogonal_map not in ("matrix_exp", "cayley", "householder"):
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    if orthogonal_map == "householder" and weight.is_complex():
        raise ValueError("The householder parametrization does not support complex tensors.")
    parametrize.register_parametrization(module, name, _Orthogonal(weight, orthogonal_map, use_trivialization),
                                         unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        self.n_power_iterations = n_power_iterations
        if ndim > 1:
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.size()
            u = weight.new_empty(h).normal_(0, 1)
            v = weight.new_empty(w).normal_(0, 1)
            self.register_buffer("_u", u / torch.clamp((u * u).sum().sqrt(), min=eps))
            self.register_buffer("_v", v / torch.clamp((v * v).sum().sqrt(), min=eps))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    def _power_method(self, mat, n):
        with torch.no_grad():
            for _ in range(n):
                v = torch.mv(mat.t(), self._u)
                self._v.copy_(v / torch.clamp((v * v).sum().sqrt(), min=self.eps))
                u = torch.mv(mat, self._v)
                self._u.copy_(u / torch.clamp((u * u).sum().sqrt(), min=self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return weight / torch.clamp((weight * weight).sum().sqrt(), min=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = torch.dot(u, torch.mv(mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module

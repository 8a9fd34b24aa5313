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


class _Orthogonal(Module):
    """Q from a QR of the unconstrained matrix, column signs fixed by diag(R): an
    orthogonal (semi-orthogonal when non-square) matrix for any input."""

    def forward(self, X):
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
        Q, R = torch.linalg.qr(X)
        d = torch.diagonal(R, 0, -2, -1)
        Q = Q * (d.sign() + (d == 0).to(d.dtype)).unsqueeze(-2)
        return Q.mT if transposed else Q

    def right_inverse(self, Q):
        return Q


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    parametrize.register_parametrization(module, name, _Orthogonal(), unsafe=True)
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

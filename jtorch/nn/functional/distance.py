"""Distances and similarities (torch.nn.functional)."""
import jtorch as torch
from jtorch._ops import nn_ops as _k

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _broadcast(x1, x2):
    shape = torch.broadcast_shapes(x1.shape, x2.shape) if hasattr(torch, "broadcast_shapes") else None
    if shape is None:
        import numpy as np
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    return x1.expand(shape), x2.expand(shape)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    try:
        x1, x2 = _broadcast(x1, x2)
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({x1.shape[dim]}) must match the size of tensor b "
                           f"({x2.shape[dim]}) at non-singleton dimension {dim}") from None
    n = max(x1.ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    if x1.ndim == 0:  # 0-dim inputs: the similarity of two 1-element vectors, as a 0-dim tensor
        return _k.cosine_similarity(x1.reshape(1), x2.reshape(1), dim=0, eps=float(eps))
    return _k.cosine_similarity(x1, x2, dim=dim % n, eps=float(eps))


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    nd = max(x1.ndim, x2.ndim)
    if x1.ndim == 0 or x2.ndim == 0:
        raise RuntimeError("pairwise_distance: input must have at least one dimension")
    return _k.pairwise_distance(x1, x2, p=float(p), eps=float(eps), keepdim=bool(keepdim))


def pdist(input, p=2):
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    return _k.pdist(input, p=float(p))

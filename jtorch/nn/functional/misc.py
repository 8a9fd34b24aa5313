"""``normalize``: Lp-normalisation along a dimension (torch.nn.functional)."""
from ..._ops import embedding_ops as K

__all__ = ["normalize"]


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    n = max(input.dim(), 1)  # a 0-dim tensor takes dims -1 and 0
    d = dim + n if dim < 0 else dim
    if not 0 <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(input.dim(), 1)}, "
                         f"{max(input.dim(), 1) - 1}], but got {dim})")
    if input.dim() == 0:  # a 0-dim input is normalised as a 1-element vector
        res = K._normalize(input.reshape(1), p=float(p), dim=0, eps=float(eps)).reshape(())
    else:
        res = K._normalize(input, p=float(p), dim=d, eps=float(eps))
    if out is not None:
        return out.copy_(res)
    return res

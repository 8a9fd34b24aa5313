"""torch.masked: reductions and normalizations that ignore masked-out elements (``mask=``).

Only the strided-tensor functions; ``MaskedTensor`` and sparse layouts are not implemented.
"""
from ._ops import (sum, prod, cumsum, cumprod, amax, amin, argmax, argmin, mean, median, logsumexp,  # noqa: F401
                   logaddexp, norm, var, std, softmax, log_softmax, softmin, normalize)

__all__ = ["sum", "prod", "cumsum", "cumprod", "amax", "amin", "argmax", "argmin", "mean", "median", "logsumexp",
           "logaddexp", "norm", "var", "std", "softmax", "log_softmax", "softmin", "normalize"]

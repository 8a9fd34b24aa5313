"""Older torch.nn modules kept for compatibility: Container, CrossMapLRN2d, and the lazy instance norms."""
import warnings

import jtorch as torch
from .module import Module
from .normalization import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _lazy_bn

__all__ = ["Container", "CrossMapLRN2d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class Container(Module):
    """Deprecated: a Module holding the keyword-argument modules."""

    def __init__(self, **kwargs):
        super().__init__()
        warnings.warn("nn.Container is deprecated. All of its functionality is now implemented in nn.Module. "
                      "Subclass that instead.", FutureWarning, stacklevel=2)
        for key, value in kwargs.items():
            self.add_module(key, value)


class CrossMapLRN2d(Module):
    """Local response normalisation across channels of a 4-D input, as torch's legacy (Lua-era) kernel
    computes it: ``out = x * (k + alpha / size * s_c) ** -beta`` where, with ``p = (size - 1) // 2 + 1``,
    ``s_c`` sums the squares of channels 0 .. c+p-1 minus those of channels 1 .. c-p. For c < p that
    is the usual window; further on channel 0 stays in the sum (torch's running sum never drops it)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
        C = input.shape[1]
        p = (self.size - 1) // 2 + 1
        csum = torch.cumsum(input * input, 1)            # csum[:, i] = sum of squares of channels 0..i
        c = torch.arange(C)
        top = csum.index_select(1, (c + p - 1).clamp(max=C - 1))
        drop_idx = (c - p).clamp(min=0)
        dropped = csum.index_select(1, drop_idx) - csum[:, :1]   # channels 1 .. c-p (empty while c - p < 1)
        s = top - dropped * (c - p >= 1).to(input.dtype).reshape(1, C, 1, 1)
        return input * (self.k + self.alpha / self.size * s) ** -self.beta

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# torch's lazy instance norms default to affine=True and track_running_stats=True, and take the
# feature count from dim 1 of the first input (as the lazy batch norms do).
LazyInstanceNorm1d = _lazy_bn(InstanceNorm1d, "LazyInstanceNorm1d")
LazyInstanceNorm2d = _lazy_bn(InstanceNorm2d, "LazyInstanceNorm2d")
LazyInstanceNorm3d = _lazy_bn(InstanceNorm3d, "LazyInstanceNorm3d")

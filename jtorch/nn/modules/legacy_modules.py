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


def _cross_map_scale(input, size, alpha, k):
    """``k + alpha / size * s_c`` where, with ``p = (size - 1) // 2 + 1``, ``s_c`` sums the squares of channels
    0 .. c+p-1 minus those of channels 1 .. c-p: for c < p the usual window; further on channel 0 stays in
    the sum (torch's legacy running sum never drops it)."""
    C = input.shape[1]
    p = (size - 1) // 2 + 1
    csum = torch.cumsum(input * input, 1)            # csum[:, i] = sum of squares of channels 0..i
    c = torch.arange(C)
    top = csum.index_select(1, (c + p - 1).clamp(max=C - 1))
    dropped = csum.index_select(1, (c - p).clamp(min=0)) - csum[:, :1]   # channels 1 .. c-p (empty while c - p < 1)
    s = top - dropped * (c - p >= 1).to(input.dtype).reshape(1, C, 1, 1)
    return k + alpha / size * s


class _CrossMapLRN2dFunction(torch.autograd.Function):
    """torch's legacy CrossMapLRN2d has a hand-written backward that is not the derivative of its forward:
    with ``r = grad * out / scale``, ``grad_input_c = grad_c * scale_c ** -beta
    - 2 * alpha * beta / size * x_c * sum(r_j, c - q <= j <= c + size - 1 - q)`` where ``q = (size + 1) // 2``
    (the window is off-centre). Models trained with it get that gradient, so jtorch gives the same."""

    @staticmethod
    def forward(ctx, input, size, alpha, beta, k):
        scale = _cross_map_scale(input, size, alpha, k)
        out = input * scale ** -beta
        ctx.save_for_backward(input, out, scale)
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        return out

    @staticmethod
    def backward(ctx, grad):
        input, out, scale = ctx.saved_tensors
        size, C = ctx.size, input.shape[1]
        if size == 1:  # torch's backward cannot window a single channel: it raises
            raise RuntimeError("CrossMapLRN2d: the legacy backward does not support size=1")
        q = (size + 1) // 2
        r = torch.nn.functional.pad(grad * out / scale, (0, 0, 0, 0, q, size - 1 - q))
        csum = torch.nn.functional.pad(torch.cumsum(r, 1), (0, 0, 0, 0, 1, 0))
        window = csum[:, size:size + C] - csum[:, :C]     # r summed over padded channels c .. c+size-1
        grad_input = grad * scale ** -ctx.beta - (2 * ctx.alpha * ctx.beta / size) * input * window
        return grad_input, None, None, None, None


class CrossMapLRN2d(Module):
    """Local response normalisation across channels of a 4-D input, as torch's legacy (Lua-era) kernel
    computes it, forward and backward (_CrossMapLRN2dFunction)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
        return _CrossMapLRN2dFunction.apply(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# torch's lazy instance norms default to affine=True and track_running_stats=True, and take the
# feature count from dim 1 of the first input (as the lazy batch norms do).
LazyInstanceNorm1d = _lazy_bn(InstanceNorm1d, "LazyInstanceNorm1d")
LazyInstanceNorm2d = _lazy_bn(InstanceNorm2d, "LazyInstanceNorm2d")
LazyInstanceNorm3d = _lazy_bn(InstanceNorm3d, "LazyInstanceNorm3d")

"""Fractional max pooling (torch.nn.functional.fractional_max_pool2d / 3d); the kernel is in
jtorch/_ops/fractional_pool_ops.py."""
import jtorch as torch
from jtorch._ops import fractional_pool_ops as _k

from ._utils import ntuple

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d_with_indices"]


def _fractional(input, kernel_size, output_size, output_ratio, return_indices, samples, n):
    name = f"fractional_max_pool{n}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if input.ndim < n + 1:  # torch reads the size of dim -(n + 1) first
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(input.ndim, 1)}, "
                         f"{max(input.ndim, 1) - 1}], but got {-(n + 1)})")
    if input.ndim > n + 2:
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got: {list(input.shape)}")
    if not input.is_floating_point():
        raise NotImplementedError(f"{name}: not implemented for '{input.dtype}' (random window starts need a "
                                  f"floating point input)")
    kernel = ntuple(kernel_size, n, "kernel_size")
    sp = tuple(input.shape[-n:])
    if output_size is None:
        ratio = tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * n
        out = tuple(int(L * r) for L, r in zip(sp, ratio))
    else:
        out = ntuple(output_size, n, "output_size")
    for L, k, o in zip(sp, kernel, out):
        if k <= 0 or o <= 0:
            raise RuntimeError(f"{name}(): kernel_size and output_size must be greater than zero, but got "
                               f"kernel_size={kernel} and output_size={out}")
        if o + k - 1 > L:
            raise RuntimeError(f"{name}(): pool size {k} too large relative to input size {L} for output size {o}")
    unbatched = input.ndim == n + 1
    x = input.unsqueeze(0) if unbatched else input
    N, C = x.shape[:2]
    if samples is None:
        samples = torch.rand(N, C, n, dtype=input.dtype, device=input.device)
    elif samples.ndim != 3 or samples.shape[0] < N or samples.shape[1] < C or samples.shape[2] != n:
        raise RuntimeError(f"{name}(): expected _random_samples of shape {[N, C, n]}, got {list(samples.shape)}")
    else:
        samples = samples[:N, :C]
    vals, idx = _k._fractional_max_pool(x, samples.to(input.dtype), kernel=kernel, osize=out)
    if unbatched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, True, _random_samples, 2)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, True, _random_samples, 3)

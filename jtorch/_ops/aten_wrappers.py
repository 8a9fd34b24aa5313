"""Top-level torch functions that are thin spellings of other ops: hash_tensor (an xor reduction of the
elements' 64-bit patterns) and grid_sampler / grid_sampler_2d / grid_sampler_3d (grid_sample with torch's
integer mode codes)."""
import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .._dispatch import defop, function


@defop(method=False, function=False, differentiable=False)
def _hash_xor(input, dims=(), keepdim=False):
    # elements widened to 64 bits (float64 / int64, sign-extended) and read as uint64
    wide = input.astype(jnp.float64 if jnp.issubdtype(input.dtype, jnp.floating) else jnp.int64)
    bits = jax.lax.bitcast_convert_type(wide, jnp.uint64)
    out = jax.lax.reduce(bits, np.uint64(0), jax.lax.bitwise_xor, dims)
    if keepdim:
        out = jnp.expand_dims(out, dims)
    return out


@function(same_dtype=True)
def hash_tensor(input, dim=None, *, keepdim=False, mode=0):
    if mode != 0:
        raise RuntimeError(f"Unknown hash_tensor mode: {mode}")
    dt = input.dtype
    if dt.is_complex or dt in (D.uint16, D.uint32, D.uint64):
        raise NotImplementedError(f'"xor_sum_cpu" not implemented for \'{D.scalar_type_name(dt)}\'')
    nd = input.ndim
    if dim is None or isinstance(dim, (tuple, list)) and len(dim) == 0:
        if input.numel() == 0:
            raise RuntimeError("hash_tensor: Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        dims = tuple(range(nd))
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        n = max(nd, 1)
        for d in dims:
            if not -n <= d < n:
                raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        dims = tuple(sorted({d % n for d in dims})) if nd else ()
        for d in dims:  # like torch's reductions without an identity
            if input.shape[d] == 0:
                raise IndexError(f"hash_tensor: Expected reduction dim {d} to have non-zero size.")
    return _hash_xor(input, dims=dims, keepdim=bool(keepdim))


_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDING = {0: "zeros", 1: "border", 2: "reflection"}


@function(method=False)
def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    from ..nn.functional import grid_sample
    if interpolation_mode not in _MODES or padding_mode not in _PADDING:
        raise RuntimeError(f"grid_sampler(): unknown interpolation mode {interpolation_mode} or padding mode "
                           f"{padding_mode}")
    return grid_sample(input, grid, mode=_MODES[interpolation_mode], padding_mode=_PADDING[padding_mode],
                       align_corners=bool(align_corners))


@function(method=False)
def grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners):
    if input.ndim != 4:
        raise RuntimeError(f"grid_sampler(): expected 4D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


@function(method=False)
def grid_sampler_3d(input, grid, interpolation_mode, padding_mode, align_corners):
    if input.ndim != 5:
        raise RuntimeError(f"grid_sampler(): expected 5D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)

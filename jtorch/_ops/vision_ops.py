"""Resampling kernels: interpolate (every mode), grid_sample, affine_grid.

``interpolate`` is separable: along each spatial dim, output i is a weighted sum
of K input taps. The (index, weight) tables are computed in numpy at trace time
from the static sizes, with torch's formulas for the source coordinate (in the
same float precision torch uses), so one gather-and-sum per dim serves nearest,
linear, cubic, area and antialiased filters, and its VJP is the matching scatter.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._dispatch import defop, round_to
from .nn_ops import _adaptive_avg_pool


# ---------------------------------------------------------------- interpolate tables
def _area_scale(n_in, n_out, align_corners, scale, ftype):
    """torch's area_pixel_compute_scale."""
    if align_corners:
        return ftype((n_in - 1) / (n_out - 1)) if n_out > 1 else ftype(0)
    if scale is not None and scale > 0:
        return ftype(1.0 / scale)
    return ftype(n_in) / ftype(n_out)


def _fma(a, b, c, ftype):
    """a * b + c rounded once to ``ftype``, as torch's compiled CPU kernels contract it (a fused multiply-add):
    the float32 product is exact in float64. (float64 tables round twice, far below any tolerance.)"""
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(ftype)


def _src_index(scale, dst, align_corners, cubic, ftype):
    if align_corners:
        return scale * dst
    src = _fma(scale, dst + ftype(0.5), ftype(-0.5), ftype)
    return src if cubic else np.maximum(src, ftype(0))


def _cubic1(x, a, ftype):
    """torch's cubic convolution for |x| <= 1 in ``ftype``, with its fused multiply-adds."""
    return _fma(_fma(ftype(a + 2), x, ftype(-(a + 3)), ftype) * x, x, ftype(1), ftype)


def _cubic2(x, a, ftype):
    """torch's cubic convolution for 1 < |x| < 2."""
    return _fma(_fma(_fma(ftype(a), x, ftype(-5 * a), ftype), x, ftype(8 * a), ftype), x, ftype(-4 * a), ftype)


def _cubic_weights(t, ftype, a=-0.75):
    return np.stack([_cubic2(t + ftype(1), a, ftype), _cubic1(t, a, ftype), _cubic1(ftype(1) - t, a, ftype),
                     _cubic2(ftype(2) - t, a, ftype)], axis=-1)


def _aa_filter(mode, ftype):
    if mode == "bilinear":
        return lambda x: np.maximum(ftype(0), ftype(1) - np.abs(x))

    def cubic(x, a=-0.5):
        x = np.abs(x)
        return np.where(x < 1, _cubic1(x, a, ftype), np.where(x < 2, _cubic2(x, a, ftype), ftype(0)))
    return cubic


def interp_table(mode, n_in, n_out, scale, align_corners, antialias, ftype=np.float32):
    """(idx, weights), each (n_out, K): output i = sum_k w[i, k] * x[idx[i, k]]."""
    dst = np.arange(n_out)
    if mode == "nearest":
        s = ftype(1.0 / scale) if scale is not None and scale > 0 else ftype(n_in) / ftype(n_out)
        idx = np.minimum(np.floor(dst.astype(np.float32) * np.float32(s)).astype(np.int64), n_in - 1)
        return idx[:, None], np.ones((n_out, 1))
    if mode == "nearest-exact":
        s = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(n_in) / np.float32(n_out)
        idx = np.minimum(np.floor((dst + 0.5) * np.float64(s)).astype(np.int64), n_in - 1)
        return idx[:, None], np.ones((n_out, 1))
    if mode == "area":
        start = (dst * n_in) // n_out
        end = -((-(dst + 1) * n_in) // n_out)
        k = int((end - start).max())
        idx = np.minimum(start[:, None] + np.arange(k)[None, :], n_in - 1)
        w = ((start[:, None] + np.arange(k)[None, :]) < end[:, None]) / (end - start)[:, None]
        return idx, w
    scale_v = _area_scale(n_in, n_out, align_corners, scale, ftype)
    if antialias:
        # torch's antialiased kernels: the filter widens by the downscale factor (never narrows);
        # bicubic uses a = -0.5 here
        # (in torch's mix of precisions: center, support and the filter's argument rounded to ftype)
        interp = 2 if mode == "linear" else 4
        support = ftype(interp * 0.5 * float(scale_v)) if scale_v >= 1 else ftype(interp * 0.5)
        invscale = ftype(1.0 / float(scale_v)) if scale_v >= 1 else ftype(1)
        center = (float(scale_v) * (dst + 0.5)).astype(ftype)
        xmin = np.maximum(((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
        xmax = np.minimum(((center + support).astype(np.float64) + 0.5).astype(np.int64), n_in)
        k = int((xmax - xmin).max())
        j = np.arange(k)[None, :]
        f = _aa_filter("bilinear" if mode == "linear" else "bicubic", ftype)
        offset = (j + xmin[:, None]).astype(ftype) - center[:, None]
        w = f(((offset.astype(np.float64) + 0.5) * float(invscale)).astype(ftype))
        w = np.where(j < (xmax - xmin)[:, None], w, ftype(0))
        tot = np.zeros((n_out, 1), ftype)
        for c in range(k):  # summed left to right in ftype
            tot = (tot + w[:, c:c + 1]).astype(ftype)
        w = np.where(tot != 0, w / np.where(tot != 0, tot, 1), 0).astype(ftype)
        return np.minimum(xmin[:, None] + j, n_in - 1), w
    if mode == "linear":
        src = _src_index(scale_v, dst.astype(ftype), align_corners, False, ftype)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        lam = np.clip(src - i0, 0, 1)
        i1 = i0 + (i0 < n_in - 1)
        return np.stack([i0, i1], 1), np.stack([1 - lam, lam], 1)
    # cubic (a = -0.75), taps clamped to the border
    src = _src_index(scale_v, dst.astype(ftype), align_corners, True, ftype)
    i0 = np.floor(src).astype(np.int64)
    t = (src - i0).astype(ftype)
    idx = np.clip(i0[:, None] - 1 + np.arange(4)[None, :], 0, n_in - 1)
    return idx, _cubic_weights(t, ftype)


def _apply_table(x, axis, idx, w):
    out = None
    for k in range(idx.shape[1]):
        tap = jnp.take(x, jnp.asarray(idx[:, k]), axis=axis)
        shape = [1] * x.ndim
        shape[axis] = idx.shape[0]
        term = tap * jnp.asarray(w[:, k], x.dtype).reshape(shape)
        out = term if out is None else out + term
    return out


def _fixed_point_matrix(idx, w, n_in):
    """The (n_out, n_in) int32 weight matrix of a table, as torch's uint8 kernels hold it: taps that land on
    the same input (clamped borders) summed first, then scaled by 2**bits, the most that keeps the largest
    weight below 2**15 (at most 2**22), and rounded half away from zero."""
    dense = np.zeros((idx.shape[0], n_in))
    for k in range(idx.shape[1]):
        np.add.at(dense, (np.arange(idx.shape[0]), idx[:, k]), w[:, k])
    largest, bits = np.abs(dense).max(), 0
    while largest * (1 << (bits + 1)) < (1 << 15) and bits < 22:
        bits += 1
    scaled = dense * (1 << bits)
    return np.trunc(scaled + np.where(scaled < 0, -0.5, 0.5)).astype(np.int32), bits


@defop(method=False, function=False, promote=None, saves=())
def _interpolate(input, size=(), scales=(), mode="nearest", align_corners=False, antialias=False):
    x = input
    ftype = np.float64 if x.dtype == jnp.float64 else np.float32
    base = "linear" if mode in ("linear", "bilinear", "trilinear") else "cubic" if mode == "bicubic" else mode
    integer = not jnp.issubdtype(x.dtype, jnp.inexact)
    if integer and base not in ("nearest", "nearest-exact"):
        # uint8 images (torchvision's Resize): torch filters with fixed-point weights, one separable pass per
        # dim, last dim first, rounding to the integer type after each pass (a pass whose size is unchanged
        # is skipped)
        info = jnp.iinfo(x.dtype)
        for d in reversed(range(len(size))):
            axis = 2 + d
            if x.shape[axis] == size[d]:
                continue
            idx, w = interp_table(base, x.shape[axis], size[d], scales[d], align_corners, antialias, np.float64)
            weights, bits = _fixed_point_matrix(idx, w, x.shape[axis])
            y = jnp.moveaxis(jnp.tensordot(x.astype(jnp.int32), jnp.asarray(weights.T), axes=[[axis], [0]]),
                             -1, axis)
            x = jnp.clip((y + (1 << (bits - 1))) >> bits, info.min, info.max).astype(input.dtype)
        return x
    if mode == "area" and len(size) == 3 and x.dtype in (jnp.float16, jnp.bfloat16):
        # torch's 3-d area resize is its adaptive average pool, whose half kernel sums in the half type
        return _adaptive_avg_pool.fn(x, osize=tuple(size))
    # half types: every pass in float32, rounded once at the end, as torch's CPU kernels sum in float
    # (bicubic's weights rounded to the half type first, as torch stores them). 1-d linear and trilinear
    # store lambda in the half type and 1 - lambda rounded again, and nest the sums innermost dim first
    half = x.dtype in (jnp.float16, jnp.bfloat16) and mode not in ("nearest", "nearest-exact") and not antialias
    if half:
        x = x.astype(jnp.float32)
    dims = list(enumerate(zip(size, scales)))
    nested = half and mode in ("linear", "trilinear")
    for d, (n_out, sc) in reversed(dims) if nested else dims:
        axis = 2 + d
        n_in = x.shape[axis]
        if base in ("nearest", "nearest-exact") and n_in == n_out:
            continue
        idx, w = interp_table(base, n_in, n_out, sc, align_corners, antialias, ftype)
        if half and base == "cubic":
            w = w.astype(input.dtype).astype(np.float32)
        if nested:
            lam = w[:, 1].astype(input.dtype)
            w = np.stack([(1 - lam).astype(input.dtype), lam], 1).astype(np.float32)
        x = _apply_table(x, axis, idx, w)
    return x.astype(input.dtype) if half else x


# ---------------------------------------------------------------- grid_sample
def _exact(x):
    return x


def _clip(x, hi):
    # torch's clip: gradient 1 strictly inside, 0 on the bounds and outside
    return jnp.where(x <= 0, 0.0, jnp.where(x >= hi, hi, x)).astype(x.dtype)


def _reflect(x, twice_low, twice_high, r=_exact):
    """Reflect x into [twice_low / 2, twice_high / 2]; ``r`` rounds each step (the half types)."""
    if twice_low == twice_high:
        return jnp.zeros_like(x)
    mn = twice_low / 2
    span = (twice_high - twice_low) / 2
    x = r(jnp.abs(r(x - mn)))
    extra = r(jnp.fmod(x, span))
    flips = jnp.floor(r(x / span))
    return jnp.where(jnp.fmod(flips, 2) == 0, r(extra + mn), r(r(span - extra) + mn)).astype(x.dtype)


def _unnormalize(coord, size, align_corners, r=_exact):
    if align_corners:
        return r(r(r(coord + 1) / 2) * (size - 1))
    return r(r(r(r(coord + 1) * size) - 1) / 2)


def _pad_coord(c, size, padding_mode, align_corners, r=_exact):
    if padding_mode == "zeros":
        return c
    if padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1), r) if align_corners else _reflect(c, -1, 2 * size - 1, r)
    return _clip(c, size - 1)


def _source(coord, size, padding_mode, align_corners, r=_exact):
    return _pad_coord(_unnormalize(coord, size, align_corners, r), size, padding_mode, align_corners, r)


def _gather_taps(x, coords, sizes, weights):
    """x (N, C, *S); coords: per spatial dim an int array (T, N, *O) of T taps; weights (T, N, *O).
    Returns sum_t weights[t] * x[coords[t]] (zero outside the input): one gather for all taps."""
    n, c = x.shape[:2]
    valid = None
    flat = None
    for ci, s in zip(coords, sizes):
        ok = (ci >= 0) & (ci < s)
        valid = ok if valid is None else valid & ok
        cc = jnp.clip(ci, 0, s - 1)
        flat = cc if flat is None else flat * s + cc
    t = flat.shape[0]
    out_shape = flat.shape[2:]
    idx = jnp.moveaxis(flat, 0, 1).reshape(n, 1, -1)                 # (N, 1, T*Q)
    vals = jnp.take_along_axis(x.reshape(n, c, -1), idx, axis=2).reshape((n, c, t) + out_shape)
    w = jnp.moveaxis(jnp.where(valid, weights, 0).astype(x.dtype), 0, 1)[:, None]   # (N, 1, T, *O)
    return (vals * w).sum(2)


def _cubic_coeffs(t, a=-0.75, r=_exact):
    def c1(x):
        return r(r(r(r(r((a + 2) * x) - (a + 3)) * x) * x) + 1)

    def c2(x):
        return r(r(r(r(r(r(a * x) - 5 * a) * x) + 8 * a) * x) - 4 * a)
    return [c2(r(t + 1)), c1(t), c1(r(1 - t)), c2(r(r(1 - t) + 1))]


@defop(method=False, function=False, promote=None)
def _grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    if input.dtype in (jnp.float16, jnp.bfloat16):
        return _grid_sample_half(input, grid, mode, padding_mode, align_corners)
    return _grid_sample_f(input, grid, mode, padding_mode, align_corners)


def _grid_sample_f(input, grid, mode, padding_mode, align_corners):
    nsp = input.ndim - 2
    sizes = input.shape[2:]
    # grid's last dim is (x, y[, z]): x indexes the last spatial dim
    g = [grid[..., nsp - 1 - d] for d in range(nsp)]
    if mode == "nearest":
        coords = [jnp.round(_source(gd, sizes[d], padding_mode, align_corners)).astype(jnp.int32)[None]
                  for d, gd in enumerate(g)]
        return _gather_taps(input, coords, sizes, jnp.ones_like(coords[0], dtype=input.dtype))
    if mode == "bicubic":
        # bicubic weights come from unclipped coordinates; padding applies to each tap's index
        raw = [_unnormalize(gd, sizes[d], align_corners) for d, gd in enumerate(g)]
        base = [jnp.floor(c) for c in raw]
        wy, wx = (_cubic_coeffs(c - b) for c, b in zip(raw, base))
        taps = []
        for d in range(2):
            t = jax.lax.stop_gradient(base[d])[None] + jnp.arange(-1, 3, dtype=base[d].dtype).reshape(
                (4,) + (1,) * base[d].ndim)
            taps.append(_pad_coord(t, sizes[d], padding_mode, align_corners).astype(jnp.int32))
        cy = jnp.repeat(taps[0], 4, axis=0)      # tap (i, j) -> row i, column j
        cx = jnp.tile(taps[1], (4,) + (1,) * (taps[1].ndim - 1))
        ws = jnp.stack([wy[i] * wx[j] for i in range(4) for j in range(4)])
        return _gather_taps(input, [cy, cx], sizes, ws)
    # bilinear / trilinear: 2**nsp corners
    coords = [_source(gd, sizes[d], padding_mode, align_corners) for d, gd in enumerate(g)]
    lo = [jnp.floor(c) for c in coords]
    frac = [c - f for c, f in zip(coords, lo)]
    idx = [[] for _ in range(nsp)]
    ws = []
    for corner in range(2 ** nsp):
        w = 1
        for d in range(nsp):
            hi = (corner >> (nsp - 1 - d)) & 1
            idx[d].append((lo[d] + hi).astype(jnp.int32))
            w = w * (frac[d] if hi else 1 - frac[d])
        ws.append(w)
    return _gather_taps(input, [jnp.stack(i) for i in idx], sizes, jnp.stack(ws))


def _grid_sample_half_taps(grid, sizes, mode, padding_mode, align_corners, r):
    """The taps of a half-type sampling in torch's order, each step rounded by ``r``: for nearest and
    bilinear a list of (per-dim index arrays, weight); bicubic: (per-dim lists of the 4 tap indices,
    [y coefficients, x coefficients]). Bilinear weights multiply x's, y's[, z's] in that order."""
    nsp = len(sizes)
    g = [grid[..., nsp - 1 - d].astype(jnp.float32) for d in range(nsp)]
    if mode == "nearest":
        idx = [jnp.round(_source(gd, sizes[d], padding_mode, align_corners, r)).astype(jnp.int32)
               for d, gd in enumerate(g)]
        return [(idx, jnp.ones(idx[0].shape, jnp.float32))]
    if mode == "bicubic":
        raw = [_unnormalize(gd, sizes[d], align_corners, r) for d, gd in enumerate(g)]
        base = [jnp.floor(c) for c in raw]
        coeffs = [_cubic_coeffs(r(c - b), r=r) for c, b in zip(raw, base)]
        taps = [[_pad_coord(base[d] + k, sizes[d], padding_mode, align_corners, r).astype(jnp.int32)
                 for k in range(-1, 3)] for d in range(2)]
        return taps, coeffs
    coords = [_source(gd, sizes[d], padding_mode, align_corners, r) for d, gd in enumerate(g)]
    lo = [jnp.floor(c) for c in coords]
    frac = [r(c - f) for c, f in zip(coords, lo)]
    taps = []
    for corner in range(2 ** nsp):
        hi = [(corner >> (nsp - 1 - d)) & 1 for d in range(nsp)]
        w = None
        for d in reversed(range(nsp)):
            wd = frac[d] if hi[d] else r(1 - frac[d])
            w = wd if w is None else r(w * wd)
        taps.append(([(lo[d] + hi[d]).astype(jnp.int32) for d in range(nsp)], w))
    return taps


def _grid_sample_half_forward(input, grid, mode, padding_mode, align_corners):
    """float16/bfloat16 sampling as torch's CPU kernels compute it: every arithmetic step rounded to the half
    type (source coordinates, reflection, bilinear / bicubic weights, each tap's product and the running
    sum over the taps, in torch's tap order)."""
    half = input.dtype
    r = functools.partial(round_to, half=half)
    sizes = input.shape[2:]
    x = input.astype(jnp.float32)

    def tap_sum(taps):
        out = None
        for idx, w in taps:
            term = r(_gather_taps(x, [i[None] for i in idx], sizes, w[None]))
            out = term if out is None else r(out + term)
        return out

    taps = _grid_sample_half_taps(grid, sizes, mode, padding_mode, align_corners, r)
    if mode != "bicubic":
        return tap_sum(taps).astype(half)
    (ty, tx), (cy, cx) = taps
    out = None
    for i in range(4):     # each row along x, then the rows along y
        term = r(tap_sum([((ty[i], tx[j]), cx[j]) for j in range(4)]) * cy[i][:, None])
        out = term if out is None else r(out + term)
    return out.astype(half)


def _scatter_taps_half(shape, taps, half, chunk):
    """grad_input as torch's CPU kernels accumulate it: each tap's rounded product added to the half-type
    gradient one at a time. taps: list of (per-dim index arrays (N, *O), values (N, C, *O)). The order:
    output points in chunks of ``chunk`` (the vectorized 2-d kernels' vector width), within a chunk tap by
    tap, within a tap point by point. XLA's CPU scatter-add applies updates in order, rounding each."""
    n, c = shape[:2]
    sizes = shape[2:]
    cells = int(np.prod(sizes))
    flat, vals = [], []
    for idx, v in taps:
        ok, f = None, None
        for i, s in zip(idx, sizes):
            good = (i >= 0) & (i < s)
            ok = good if ok is None else ok & good
            f = i if f is None else f * s + i
        flat.append(jnp.where(ok, f, cells).reshape(n, 1, -1))
        vals.append(v.reshape(n, c, -1))
    p = flat[0].shape[-1]
    pad = -p % chunk
    flat = jnp.pad(jnp.stack(flat, 2), ((0, 0), (0, 0), (0, 0), (0, pad)), constant_values=cells)
    vals = jnp.pad(jnp.stack(vals, 2), ((0, 0), (0, 0), (0, 0), (0, pad)))
    t = len(taps)
    order = lambda a: jnp.moveaxis(a.reshape(a.shape[:3] + (-1, chunk)), 2, 3).reshape(a.shape[0], a.shape[1], -1)
    flat, vals = order(flat), order(vals)                          # (N, 1 | C, chunks * T * chunk)
    dest = jnp.where(flat < cells, (jnp.arange(n * c).reshape(n, c, 1)) * cells + flat, n * c * cells)
    out = jnp.zeros(n * c * cells, half).at[dest.reshape(-1)].add(vals.reshape(-1).astype(half), mode="drop")
    return out.reshape(shape)


def _grid_grad_bilinear_2d_half(input, grid, ct, padding_mode, align_corners, r, rs):
    """grad_grid of half bilinear 2-d sampling as torch's vectorized kernel computes it, in the half type step
    by step: per channel x's derivative ((ne - nw) * n + (se - sw) * s) * grad_out (y's alike), summed over the
    channels in order, times the source coordinate's derivative (the unnormalizing scale, reflection's sign,
    0 where clipped)."""
    sizes = input.shape[2:]
    corners = [idx for idx, _ in _grid_sample_half_taps(grid, sizes, "bilinear", padding_mode, align_corners, r)]
    x = input.astype(jnp.float32)
    one = jnp.ones((1,) + corners[0][0].shape, jnp.float32)
    nw, ne, sw, se = (_gather_taps(x, [i[None] for i in idx], sizes, one) for idx in corners)
    g = [grid[..., 1].astype(jnp.float32), grid[..., 0].astype(jnp.float32)]
    coords = [_source(gd, sizes[d], padding_mode, align_corners, r) for d, gd in enumerate(g)]
    fy, fx = (r(c - jnp.floor(c)) for c in coords)
    n_, s_, w_, e_ = r(1 - fy), fy, r(1 - fx), fx
    go = ct.astype(jnp.float32)

    def channel(acc, v):
        a, b, c, d, o = v
        gx = r(r(r(r(b - a) * n_) + r(r(d - c) * s_)) * o)
        gy = r(r(r(r(c - a) * w_) + r(r(d - b) * e_)) * o)
        return (r(acc[0] + gx), r(acc[1] + gy)), None

    per_channel = tuple(jnp.moveaxis(v, 1, 0) for v in (nw, ne, sw, se, go))
    zero = jnp.zeros(fx.shape, jnp.float32)
    (gx, gy), _ = jax.lax.scan(channel, (zero, zero), per_channel)
    # d(source coordinate)/d(grid): scale * reflection sign * (0 where clipped), exact in float32
    mult = [jax.jvp(lambda t, d=d: _source(t, sizes[d], padding_mode, align_corners, rs), (gd,),
                    (jnp.ones_like(gd),))[1] for d, gd in enumerate(g)]
    return jnp.stack([r(gx * mult[1]), r(gy * mult[0])], -1).astype(grid.dtype)


def _grid_grad_trilinear_half(input, grid, ct, padding_mode, align_corners, r, rs):
    """grad_grid of half trilinear sampling as torch's 3-d kernel computes it, in the half type step by step:
    for each channel, corner by corner (z, then y, then x slowest to fastest), each dimension's running
    gradient gains +-value * (the other two dims' weight factors, x's before y's before z's) * grad_out."""
    sizes = input.shape[2:]
    corners = [idx for idx, _ in _grid_sample_half_taps(grid, sizes, "bilinear", padding_mode, align_corners, r)]
    x = input.astype(jnp.float32)
    one = jnp.ones((1,) + corners[0][0].shape, jnp.float32)
    vals = [_gather_taps(x, [i[None] for i in idx], sizes, one) for idx in corners]
    g = [grid[..., 2 - d].astype(jnp.float32) for d in range(3)]           # z, y, x
    coords = [_source(gd, sizes[d], padding_mode, align_corners, r) for d, gd in enumerate(g)]
    frac = [r(c - jnp.floor(c)) for c in coords]
    factor = [(r(1 - f), f) for f in frac]                                  # (low corner's, high corner's)
    go = ct.astype(jnp.float32)

    def channel(acc, v):
        acc = list(acc)
        o = v[-1]
        for corner in range(8):
            hi = [(corner >> (2 - d)) & 1 for d in range(3)]
            for d in range(3):
                term = v[corner]
                for other in (2, 1, 0):                                      # x, y, z order
                    if other != d:
                        term = r(term * factor[other][hi[other]])
                term = r(term * o)
                acc[d] = r(acc[d] + term) if hi[d] else r(acc[d] - term)
        return tuple(acc), None

    per_channel = tuple(jnp.moveaxis(v, 1, 0) for v in vals + [go])
    zero = jnp.zeros(frac[0].shape, jnp.float32)
    (gz, gy, gx), _ = jax.lax.scan(channel, (zero, zero, zero), per_channel)
    mult = [jax.jvp(lambda t, d=d: _source(t, sizes[d], padding_mode, align_corners, rs), (gd,),
                    (jnp.ones_like(gd),))[1] for d, gd in enumerate(g)]
    return jnp.stack([r(gx * mult[2]), r(gy * mult[1]), r(gz * mult[0])], -1).astype(grid.dtype)


def _cubic_coeff_slopes(t, a, r):
    """Minus the derivatives of the four cubic coefficients in t, each as a polynomial in its tap's signed
    distance (-1 - t, -t, 1 - t, 2 - t), rounded step by step."""
    x0, x1, x2, x3 = r(-1 - t), -t, r(1 - t), r(2 - t)
    return [r(r(r(r(-3 * a * x0) - 10 * a) * x0) - 8 * a), r(r(r(-3 * (a + 2) * x1) - 2 * (a + 3)) * x1),
            r(r(r(3 * (a + 2) * x2) - 2 * (a + 3)) * x2), r(r(r(r(3 * a * x3) - 10 * a) * x3) + 8 * a)]


def _grid_grad_bicubic_half(input, grid, ct, padding_mode, align_corners, r):
    """grad_grid of half bicubic sampling in the half type step by step: channel by channel, tap columns
    outer and rows inner, each running gradient less value * coefficient slope * the other dim's coefficient
    * grad_out; times the unnormalizing scale. Near torch's (within about two half ulps of the largest term)
    but not its exact order: not found."""
    sizes = input.shape[2:]
    (ty, tx), (cy, cx) = _grid_sample_half_taps(grid, sizes, "bicubic", padding_mode, align_corners, r)
    g = [grid[..., 1].astype(jnp.float32), grid[..., 0].astype(jnp.float32)]
    raw = [_unnormalize(gd, sizes[d], align_corners, r) for d, gd in enumerate(g)]
    sy, sx = (_cubic_coeff_slopes(r(c - jnp.floor(c)), -0.75, r) for c in raw)
    x = input.astype(jnp.float32)
    one = jnp.ones((1,) + ty[0].shape, jnp.float32)
    vals = [_gather_taps(x, [ty[i][None], tx[j][None]], sizes, one) for j in range(4) for i in range(4)]

    def channel(acc, v):
        gx, gy = acc
        o = v[-1]
        for k in range(16):
            j, i = divmod(k, 4)
            gx = r(gx - r(r(r(v[k] * sx[j]) * cy[i]) * o))
            gy = r(gy - r(r(r(v[k] * sy[i]) * cx[j]) * o))
        return (gx, gy), None

    per_channel = tuple(jnp.moveaxis(v, 1, 0) for v in vals + [ct.astype(jnp.float32)])
    zero = jnp.zeros(ty[0].shape, jnp.float32)
    (gx, gy), _ = jax.lax.scan(channel, (zero, zero), per_channel)
    scale = [(s - 1) / 2 if align_corners else s / 2 for s in sizes]
    return jnp.stack([r(gx * scale[1]), r(gy * scale[0])], -1).astype(grid.dtype)


def _rounded_straight_through(x, half):
    return x + jax.lax.stop_gradient(round_to(x, half) - x)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _grid_sample_half(input, grid, mode, padding_mode, align_corners):
    return _grid_sample_half_forward(input, grid, mode, padding_mode, align_corners)


def _grid_sample_half_fwd(input, grid, mode, padding_mode, align_corners):
    return _grid_sample_half_forward(input, grid, mode, padding_mode, align_corners), (input, grid)


def _grid_sample_half_bwd(mode, padding_mode, align_corners, saved, ct):
    input, grid = saved
    half = input.dtype
    r = functools.partial(round_to, half=half)
    sizes = input.shape[2:]
    g32 = ct.astype(jnp.float32)
    taps = _grid_sample_half_taps(grid, sizes, mode, padding_mode, align_corners, r)
    if mode == "bicubic":
        (ty, tx), (cy, cx) = taps
        # torch's bicubic backward: tap columns outer, rows inner; the output gradient times x's, then y's weight
        vals = [((ty[i], tx[j]), r(r(g32 * cx[j][:, None]) * cy[i][:, None])) for j in range(4) for i in range(4)]
    else:
        vals = [(idx, r(g32 * w[:, None])) for idx, w in taps]
    gi = _scatter_taps_half(input.shape, vals, half, 16 if len(sizes) == 2 else 1)
    rs = functools.partial(_rounded_straight_through, half=half)
    if mode == "bilinear" and len(sizes) == 2:
        return gi, _grid_grad_bilinear_2d_half(input, grid, ct, padding_mode, align_corners, r, rs)
    if mode == "bilinear":
        return gi, _grid_grad_trilinear_half(input, grid, ct, padding_mode, align_corners, r, rs)
    if mode == "bicubic":
        return gi, _grid_grad_bicubic_half(input, grid, ct, padding_mode, align_corners, r)
    return gi, jnp.zeros_like(grid)        # nearest: piecewise constant in the grid


_grid_sample_half.defvjp(_grid_sample_half_fwd, _grid_sample_half_bwd)


# ---------------------------------------------------------------- affine_grid
def _base_coords(n, align_corners, dtype):
    if n <= 1:
        return jnp.zeros((n,), dtype)
    r = jnp.linspace(-1.0, 1.0, n, dtype=dtype)
    return r if align_corners else r * ((n - 1) / n)


@defop(method=False, function=False, promote=None, saves=())  # linear in theta: torch saves nothing
def _affine_grid(theta, size=(), align_corners=False):
    spatial = size[2:]
    dt = theta.dtype
    axes = [_base_coords(s, align_corners, dt) for s in spatial]   # (D,) H, W order
    mesh = jnp.meshgrid(*axes, indexing="ij")
    # homogeneous coordinates in (x, y[, z], 1) order: x runs along the last spatial dim
    cols = [mesh[len(spatial) - 1 - d] for d in range(len(spatial))] + [jnp.ones(spatial, dt)]
    base = jnp.stack(cols, axis=-1)                                 # (*S, nsp + 1)
    out = jnp.einsum("...k,njk->n...j", base, theta)
    return out

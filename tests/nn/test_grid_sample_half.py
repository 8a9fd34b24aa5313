"""grid_sample in float16/bfloat16 against torch's CPU kernels: every mode, padding mode, align_corners and
3-d. The output and grad_input are bit-equal (torch rounds each step in the half type; jtorch rounds the same
steps in the same order), and so is bilinear / trilinear grad_grid (nearest's is zero). Bicubic's grad_grid is
also computed in half steps, but torch's exact order of its sixteen taps' products was not found: hence its
tolerance."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

# (mode, spatial dims, padding_mode, align_corners, dtype): each mode / dims meets every padding mode, both
# align_corners and both half types
CASES = [
    ("bilinear", 2, "zeros", False, "float16"), ("bilinear", 2, "border", True, "bfloat16"),
    ("bilinear", 2, "reflection", False, "bfloat16"), ("bilinear", 2, "reflection", True, "float16"),
    ("bilinear", 3, "zeros", True, "bfloat16"), ("bilinear", 3, "border", False, "float16"),
    ("bilinear", 3, "reflection", True, "float16"), ("bilinear", 3, "reflection", False, "bfloat16"),
    ("bicubic", 2, "zeros", True, "float16"), ("bicubic", 2, "border", False, "bfloat16"),
    ("bicubic", 2, "reflection", False, "float16"), ("bicubic", 2, "reflection", True, "bfloat16"),
    ("nearest", 2, "zeros", False, "bfloat16"), ("nearest", 2, "reflection", True, "float16"),
    ("nearest", 3, "border", True, "bfloat16"), ("nearest", 3, "reflection", False, "float16"),
]
# bicubic grad_grid: measured within 0.024 (float16) / 0.19 (bfloat16) of torch's on gradients of magnitude up
# to about 30 (a couple of half ulps of the largest partial sums)
GRID_TOL = {"float16": dict(rtol=4e-3, atol=3e-2), "bfloat16": dict(rtol=3e-2, atol=2.5e-1)}


def _run(lib, x, g, co, dtype, **kw):
    d = getattr(lib, dtype)
    tx = lib.tensor(x).to(d).requires_grad_()
    tg = lib.tensor(g).to(d).requires_grad_()
    out = lib.nn.functional.grid_sample(tx, tg, **kw)
    out.backward(lib.tensor(co).to(d))
    return out, tx.grad, tg.grad


@pytest.mark.parametrize("mode,dims,padding_mode,align_corners,dtype", CASES)
def test_grid_sample_half_matches_torch(rng, mode, dims, padding_mode, align_corners, dtype):
    # 40 output points a batch: more than one 16-point chunk of torch's vectorized 2-d kernels
    x_shape, g_shape = ((2, 3, 5, 6), (2, 5, 8, 2)) if dims == 2 else ((2, 2, 4, 5, 3), (2, 2, 4, 5, 3))
    x = (rng.standard_normal(x_shape) * 2).astype(np.float32)
    g = (rng.random(g_shape) * 2.6 - 1.3).astype(np.float32)     # some points outside [-1, 1]
    co = rng.standard_normal((x_shape[0], x_shape[1]) + g_shape[1:-1]).astype(np.float32)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    t_out, t_gx, t_gg = _run(torch, x, g, co, dtype, **kw)
    j_out, j_gx, j_gg = _run(jtorch, x, g, co, dtype, **kw)
    assert j_out.dtype == getattr(jtorch, dtype) and j_gx.dtype == j_out.dtype and j_gg.dtype == j_out.dtype
    assert_close(j_out, t_out, rtol=0, atol=0)
    assert_close(j_gx, t_gx, rtol=0, atol=0)
    if mode == "bicubic":
        assert_close(j_gg, t_gg, **GRID_TOL[dtype])
    else:
        assert_close(j_gg, t_gg, rtol=0, atol=0)


@pytest.mark.parametrize("dims", [2, 3])
def test_grid_sample_grid_gradient_zero_on_clip_bounds(dims):
    # a source coordinate exactly on the first or last pixel is clipped: torch's grid gradient there is 0
    w = 4
    shape = (1, 1, 3, 3, w) if dims == 3 else (1, 1, 3, w)
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) ** 1.5
    for padding_mode in ("border", "reflection"):
        for align_corners in (False, True):
            xs = [-1.0, 1.0] if align_corners else [-1 + 1 / w, 1 - 1 / w]
            g = np.zeros((1, 1, 1, 5, dims) if dims == 3 else (1, 1, 5, 2), np.float32)
            g[..., 0] = xs + [-1.5, 1.5, 0.0]
            g[..., 1] = 0.3
            outs = []
            for lib in (torch, jtorch):
                tg = lib.tensor(g).requires_grad_()
                lib.nn.functional.grid_sample(lib.tensor(x), tg, padding_mode=padding_mode,
                                              align_corners=align_corners).sum().backward()
                outs.append(tg.grad)
            assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-5)

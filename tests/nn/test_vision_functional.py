"""interpolate / grid_sample / affine_grid / Upsample against torch (values and gradients)."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtorch
import jtorch.nn as nn
import jtorch.nn.functional as F
from tests.helpers import assert_close

TOL = dict(rtol=1e-5, atol=1e-5)


def check(name, arrays, grad_count=1, tol=TOL, **kw):
    ts = [torch.tensor(a, requires_grad=i < grad_count) for i, a in enumerate(arrays)]
    js = [jtorch.tensor(a, requires_grad=i < grad_count) for i, a in enumerate(arrays)]
    t = getattr(TF, name)(*ts, **kw)
    j = getattr(F, name)(*js, **kw)
    assert_close(j, t, **tol)
    ct = np.random.default_rng(2).standard_normal(tuple(t.shape)).astype(np.float32)
    t.backward(torch.tensor(ct))
    j.backward(jtorch.tensor(ct))
    for a, b in zip(js[:grad_count], ts[:grad_count]):
        assert_close(a.grad, b.grad, **tol)


INTERP = [
    ((2, 3, 5, 7), dict(size=(8, 3), mode="nearest")),
    ((2, 3, 5, 7), dict(scale_factor=1.7, mode="nearest")),
    ((2, 3, 6), dict(scale_factor=0.5, mode="nearest-exact")),
    ((2, 3, 5, 7), dict(scale_factor=1.7, mode="nearest-exact")),
    ((2, 3, 5, 7), dict(size=(3, 4), mode="area")),
    ((2, 3, 5, 7), dict(size=(8, 3), mode="bilinear", align_corners=False)),
    ((2, 3, 5, 7), dict(size=(8, 3), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 7), dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 5, 7), dict(scale_factor=(1.5, 0.6), mode="bicubic", align_corners=False)),
    ((2, 3, 5, 7), dict(scale_factor=(1.5, 0.6), mode="bicubic", align_corners=True)),
    ((2, 3, 6), dict(scale_factor=2.3, mode="linear")),
    ((1, 2, 3, 4, 5), dict(size=(5, 2, 7), mode="trilinear", align_corners=True)),
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="nearest")),
    ((2, 3, 5, 7), dict(size=(3, 2), mode="bilinear", antialias=True)),
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bicubic", antialias=True)),
]


@pytest.mark.parametrize("shape,kw", INTERP, ids=[f"{len(s)}d-{k['mode']}-{i}" for i, (s, k) in enumerate(INTERP)])
def test_interpolate(rng, shape, kw):
    check("interpolate", [rng.standard_normal(shape).astype(np.float32)], **kw)


def test_interpolate_errors():
    x = jtorch.randn(1, 1, 4, 4)
    with pytest.raises(ValueError):
        F.interpolate(x, size=3, mode="nearest", align_corners=True)
    with pytest.raises(ValueError):
        F.interpolate(x)
    with pytest.raises(ValueError):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(NotImplementedError):
        F.interpolate(x, size=3, mode="linear")
    with pytest.raises(ValueError):
        F.interpolate(x, size=(3, 3, 3))
    with pytest.raises(ValueError):
        F.interpolate(x, size=3, antialias=True)
    with pytest.warns(UserWarning, match="deprecated"):
        out = F.upsample(x, scale_factor=2)
    assert out.shape == (1, 1, 8, 8)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample(rng, mode, padding_mode):
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    g = (rng.random((2, 4, 6, 2)) * 2.4 - 1.2).astype(np.float32)
    # align_corners alternates over the (mode, padding_mode) grid to keep compile time down
    ac = (len(mode) + len(padding_mode)) % 2 == 0
    check("grid_sample", [x, g], grad_count=1 if mode == "nearest" else 2, mode=mode, padding_mode=padding_mode,
          align_corners=ac, tol=dict(rtol=1e-4, atol=1e-4))


def test_grid_sample_3d_and_errors(rng):
    x = rng.standard_normal((1, 2, 3, 4, 5)).astype(np.float32)
    g = (rng.random((1, 2, 3, 4, 3)) * 2.2 - 1.1).astype(np.float32)
    check("grid_sample", [x, g], grad_count=2, align_corners=False, tol=dict(rtol=1e-4, atol=1e-4))
    jx = jtorch.tensor(x)
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.grid_sample(jx, jtorch.tensor(g))
    with pytest.raises(ValueError):
        F.grid_sample(jx, jtorch.tensor(g), mode="foo", align_corners=False)
    with pytest.raises(ValueError):
        F.grid_sample(jx, jtorch.tensor(g), padding_mode="foo", align_corners=False)
    with pytest.raises(RuntimeError):
        F.grid_sample(jx, jtorch.tensor(g[..., :2]), align_corners=False)
    with pytest.raises(RuntimeError):
        F.grid_sample(jx, jtorch.tensor(g), mode="bicubic", align_corners=False)


def test_affine_grid(rng):
    th = rng.standard_normal((2, 2, 3)).astype(np.float32)
    for ac in (False, True):
        check("affine_grid", [th], size=(2, 3, 4, 5), align_corners=ac)
    check("affine_grid", [rng.standard_normal((1, 3, 4)).astype(np.float32)], size=(1, 3, 2, 4, 5),
          align_corners=False)
    with pytest.raises(ValueError):
        F.affine_grid(jtorch.randn(1, 2, 4), (1, 1, 3, 3), align_corners=False)
    with pytest.warns(UserWarning):
        F.affine_grid(jtorch.tensor(th), (2, 3, 4, 5))
    # affine_grid + grid_sample: the spatial-transformer pattern, gradient to theta
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    tt, jt = torch.tensor(th, requires_grad=True), jtorch.tensor(th, requires_grad=True)
    t = TF.grid_sample(torch.tensor(x), TF.affine_grid(tt, (2, 1, 4, 4), align_corners=False), align_corners=False)
    j = F.grid_sample(jtorch.tensor(x), F.affine_grid(jt, (2, 1, 4, 4), align_corners=False), align_corners=False)
    assert_close(j, t, rtol=1e-4, atol=1e-5)
    t.sum().backward()
    j.sum().backward()
    assert_close(jt.grad, tt.grad, rtol=1e-4, atol=1e-4)


def test_upsample_modules(rng):
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    for args in [dict(scale_factor=2), dict(size=(5, 6), mode="bilinear"), dict(scale_factor=(2, 1.5), mode="bicubic",
                                                                               align_corners=True)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tm, jm = torch.nn.Upsample(**args), nn.Upsample(**args)
        assert repr(jm) == repr(tm)
        assert_close(jm(jtorch.tensor(x)), tm(torch.tensor(x)), **TOL)
    for cls in ("UpsamplingNearest2d", "UpsamplingBilinear2d"):
        tm, jm = getattr(torch.nn, cls)(scale_factor=2), getattr(nn, cls)(scale_factor=2)
        assert repr(jm) == repr(tm)
        assert_close(jm(jtorch.tensor(x)), tm(torch.tensor(x)), **TOL)


def test_interpolate_uint8_images(rng):
    # torchvision's Resize on uint8 tensors: torch filters with fixed-point weights and rounds after each
    # separable pass; jtorch gives the same bytes (antialiased or not, either align_corners, up and down)
    x = rng.integers(0, 256, (2, 3, 14, 15)).astype(np.uint8)
    for kw in [dict(size=(5, 6), mode="bilinear", antialias=True),
               dict(size=(20, 9), mode="bicubic", antialias=True),
               dict(size=(20, 9), mode="bilinear"), dict(size=(9, 20), mode="bilinear", align_corners=True),
               dict(size=(7, 20), mode="bicubic", align_corners=True), dict(size=(14, 4), mode="bicubic"),
               dict(scale_factor=1.7, mode="bicubic", recompute_scale_factor=True)]:
        t = TF.interpolate(torch.tensor(x), **kw)
        j = F.interpolate(jtorch.tensor(x), **kw)
        assert j.dtype == jtorch.uint8 and tuple(j.shape) == tuple(t.shape)
        np.testing.assert_array_equal(j.numpy(), t.numpy())
    assert_close(F.interpolate(jtorch.tensor(x), scale_factor=2.5), TF.interpolate(torch.tensor(x), scale_factor=2.5))

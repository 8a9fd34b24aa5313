"""RoI pooling (roi_align gradients, roi_pool, ps_roi_align, ps_roi_pool and the modules) against
scalar-loop references of torchvision's kernel definitions: torchvision's compiled kernels cannot
run beside the CPU torch here (see tv.py)."""
import math

import numpy as np
import pytest

import jtorch
import jtorch.vision.ops as JO


def _sample(img, y, x):
    """One bilinear sample with the kernels' border rule (img: C, H, W)."""
    H, W = img.shape[1:]
    if y < -1.0 or y > H or x < -1.0 or x > W:
        return np.zeros(img.shape[0])
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= H - 1:
        y0 = y1 = H - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= W - 1:
        x0 = x1 = W - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return ((1 - ly) * (1 - lx) * img[:, y0, x0] + (1 - ly) * lx * img[:, y0, x1]
            + ly * (1 - lx) * img[:, y1, x0] + ly * lx * img[:, y1, x1])


def _c_round(v):
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def _ps_roi_align_ref(x, rois, PH, PW, scale, sampling):
    c_out = x.shape[1] // (PH * PW)
    out = np.zeros((len(rois), c_out, PH, PW))
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sx, sy = x1 * scale - 0.5, y1 * scale - 0.5
        w, h = x2 * scale - 0.5 - sx, y2 * scale - 0.5 - sy
        bh, bw = h / PH, w / PW
        gh = sampling if sampling > 0 else int(np.ceil(h / PH))
        gw = sampling if sampling > 0 else int(np.ceil(w / PW))
        for c in range(c_out):
            for i in range(PH):
                for j in range(PW):
                    ch = (c * PH + i) * PW + j
                    acc = 0.0
                    for iy in range(gh):
                        for ix in range(gw):
                            acc += _sample(x[int(b), ch:ch + 1], sy + i * bh + (iy + 0.5) * bh / gh,
                                           sx + j * bw + (ix + 0.5) * bw / gw)[0]
                    out[k, c, i, j] = acc / (gh * gw)
    return out


def _windows(roi, PH, PW, scale, H, W, plus_one):
    _, x1, y1, x2, y2 = roi
    sx, sy, ex, ey = (_c_round(v * scale) for v in (x1, y1, x2, y2))
    rw, rh = max(ex - sx + plus_one, 1), max(ey - sy + plus_one, 1)
    bh, bw = rh / PH, rw / PW
    for i in range(PH):
        for j in range(PW):
            hs = min(max(int(np.floor(i * bh)) + sy, 0), H)
            he = min(max(int(np.ceil((i + 1) * bh)) + sy, 0), H)
            ws = min(max(int(np.floor(j * bw)) + sx, 0), W)
            we = min(max(int(np.ceil((j + 1) * bw)) + sx, 0), W)
            yield i, j, hs, he, ws, we


def _roi_pool_ref(x, rois, PH, PW, scale):
    """Values and the (first) argmax each output reads, for the gradient."""
    out = np.zeros((len(rois), x.shape[1], PH, PW))
    arg = np.full(out.shape, -1)
    H, W = x.shape[2:]
    for k, roi in enumerate(rois):
        img = x[int(roi[0])]
        for i, j, hs, he, ws, we in _windows(roi, PH, PW, scale, H, W, 1):
            for c in range(x.shape[1]):
                best, idx = (0.0, -1) if (he <= hs or we <= ws) else (-np.inf, -1)
                for yy in range(hs, he):
                    for xx in range(ws, we):
                        if img[c, yy, xx] > best:
                            best, idx = img[c, yy, xx], yy * W + xx
                out[k, c, i, j], arg[k, c, i, j] = best, idx
    return out, arg


def _ps_roi_pool_ref(x, rois, PH, PW, scale):
    c_out = x.shape[1] // (PH * PW)
    out = np.zeros((len(rois), c_out, PH, PW))
    H, W = x.shape[2:]
    for k, roi in enumerate(rois):
        img = x[int(roi[0])]
        for i, j, hs, he, ws, we in _windows(roi, PH, PW, scale, H, W, 0):
            if he <= hs or we <= ws:
                continue
            for c in range(c_out):
                out[k, c, i, j] = img[(c * PH + i) * PW + j, hs:he, ws:we].mean()
    return out


ROIS = np.array([[0, 1.0, 2.0, 9.5, 8.0], [1, 0.0, 0.0, 13.0, 11.0], [1, 5.2, 3.1, 7.0, 4.0],
                 [0, -2.0, 8.0, 20.0, 15.0], [1, 20.0, 20.0, 30.0, 30.0]], np.float32)


def _adjoint_check(fn, x, rng):
    """A linear op's input gradient is its adjoint: <f(x'), g> == <x', grad_x <f(x), g>> for any x'."""
    xj = jtorch.from_numpy(x).requires_grad_(True)
    out = fn(xj)
    g = rng.normal(size=tuple(out.shape)).astype(np.float32)
    (out * jtorch.from_numpy(g)).sum().backward()
    grad = np.asarray(xj.grad)
    x2 = rng.normal(size=x.shape).astype(np.float32)
    lhs = float((np.asarray(fn(jtorch.from_numpy(x2)).detach()) * g).sum())
    np.testing.assert_allclose(lhs, float((x2 * grad).sum()), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_gradient_and_module(rng, aligned):
    x = rng.normal(size=(2, 3, 12, 14)).astype(np.float32)
    rois = jtorch.from_numpy(ROIS)
    _adjoint_check(lambda t: JO.roi_align(t, rois, (3, 4), 0.5, -1, aligned), x, rng)
    m = JO.RoIAlign((3, 4), 0.5, 2, aligned)
    assert repr(m) == f"RoIAlign(output_size=(3, 4), spatial_scale=0.5, sampling_ratio=2, aligned={aligned})"
    np.testing.assert_array_equal(np.asarray(m(jtorch.from_numpy(x), rois)),
                                  np.asarray(JO.roi_align(jtorch.from_numpy(x), rois, (3, 4), 0.5, 2, aligned)))


@pytest.mark.parametrize("sampling", [-1, 2])
def test_ps_roi_align(rng, sampling):
    x = rng.normal(size=(2, 2 * 2 * 3, 12, 14)).astype(np.float32)
    got = JO.ps_roi_align(jtorch.from_numpy(x), jtorch.from_numpy(ROIS[:4]), (2, 3), 0.5, sampling)
    assert tuple(got.shape) == (4, 2, 2, 3) and got.dtype == jtorch.float32
    np.testing.assert_allclose(np.asarray(got), _ps_roi_align_ref(x, ROIS[:4], 2, 3, 0.5, sampling),
                               rtol=1e-5, atol=1e-5)
    _adjoint_check(lambda t: JO.ps_roi_align(t, jtorch.from_numpy(ROIS[:4]), (2, 3), 0.5, sampling), x, rng)
    assert repr(JO.PSRoIAlign(2, 0.5, 2)) == "PSRoIAlign(output_size=2, spatial_scale=0.5, sampling_ratio=2)"
    with pytest.raises(ValueError):
        JO.ps_roi_align(jtorch.from_numpy(x[:, :5]), jtorch.from_numpy(ROIS), 2)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_roi_pool_values_and_gradient(rng, scale):
    x = rng.normal(size=(2, 3, 12, 14)).astype(np.float32)
    expected, arg = _roi_pool_ref(x, ROIS, 3, 2, scale)
    xj = jtorch.from_numpy(x).requires_grad_(True)
    got = JO.roi_pool(xj, jtorch.from_numpy(ROIS), (3, 2), scale)
    np.testing.assert_allclose(np.asarray(got.detach()), expected, rtol=1e-6, atol=1e-6)
    g = rng.normal(size=expected.shape).astype(np.float32)
    (got * jtorch.from_numpy(g)).sum().backward()
    want = np.zeros_like(x)  # the gradient lands on each bin's first maximum
    for k, c, i, j in np.ndindex(*expected.shape):
        if arg[k, c, i, j] >= 0:
            want[int(ROIS[k, 0]), c].reshape(-1)[arg[k, c, i, j]] += g[k, c, i, j]
    np.testing.assert_allclose(np.asarray(xj.grad), want, rtol=1e-5, atol=1e-6)
    # the list-of-boxes form and the module
    as_list = [jtorch.from_numpy(ROIS[ROIS[:, 0] == i, 1:].copy()) for i in range(2)]
    order = np.concatenate([np.nonzero(ROIS[:, 0] == i)[0] for i in range(2)])
    got2 = JO.RoIPool((3, 2), scale)(jtorch.from_numpy(x), as_list)
    np.testing.assert_allclose(np.asarray(got2), expected[order], rtol=1e-6, atol=1e-6)
    assert repr(JO.RoIPool((3, 2), scale)) == f"RoIPool(output_size=(3, 2), spatial_scale={scale})"


def test_ps_roi_pool(rng):
    x = rng.normal(size=(2, 3 * 2 * 2, 12, 14)).astype(np.float32)
    got = JO.ps_roi_pool(jtorch.from_numpy(x), jtorch.from_numpy(ROIS), 2, 0.5)
    assert tuple(got.shape) == (5, 3, 2, 2)
    np.testing.assert_allclose(np.asarray(got), _ps_roi_pool_ref(x, ROIS, 2, 2, 0.5), rtol=1e-5, atol=1e-6)
    _adjoint_check(lambda t: JO.PSRoIPool(2, 0.5)(t, jtorch.from_numpy(ROIS)), x, rng)


def test_roi_bad_boxes_and_empty(rng):
    x = jtorch.from_numpy(rng.normal(size=(1, 4, 6, 6)).astype(np.float32))
    with pytest.raises(AssertionError):
        JO.roi_align(x, jtorch.zeros(3, 4), 2)
    with pytest.raises(AssertionError):
        JO.roi_pool(x, [jtorch.zeros(3, 5)], 2)
    out = JO.roi_align(x, jtorch.zeros(0, 5), 2)
    assert tuple(out.shape) == (0, 4, 2, 2)

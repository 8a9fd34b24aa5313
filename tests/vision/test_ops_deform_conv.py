"""deform_conv2d / DeformConv2d against a scalar-loop reference of torchvision's kernel (its compiled
op cannot run here, see tv.py): values with offsets, masks, groups, offset groups, stride, padding and
dilation; gradients against finite differences; zero offsets reduce to conv2d."""
import math

import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.ops as JO
from helpers import assert_close
from tv import torchvision

tv = torchvision()


def _bilinear(img, y, x):
    H, W = img.shape
    if y <= -1 or y >= H or x <= -1 or x >= W:
        return 0.0
    y0, x0 = math.floor(y), math.floor(x)
    ly, lx = y - y0, x - x0
    v = 0.0
    for yy, xx, w in ((y0, x0, (1 - ly) * (1 - lx)), (y0, x0 + 1, (1 - ly) * lx), (y0 + 1, x0, ly * (1 - lx)),
                      (y0 + 1, x0 + 1, ly * lx)):
        if 0 <= yy <= H - 1 and 0 <= xx <= W - 1:
            v += w * img[yy, xx]
    return v


def _reference(x, offset, weight, bias, stride, padding, dilation, mask):
    b, cin, H, W = x.shape
    cout, cpg, kh, kw = weight.shape
    groups, K = cin // cpg, kh * kw
    n_off = offset.shape[1] // (2 * K)
    ho, wo = offset.shape[2:]
    out = np.zeros((b, cout, ho, wo))
    for n in range(b):
        for c in range(cin):
            g_off = c // (cin // n_off)
            for i in range(kh):
                for j in range(kw):
                    k = i * kw + j
                    for oy in range(ho):
                        for ox in range(wo):
                            dy = offset[n, g_off * 2 * K + 2 * k, oy, ox]
                            dx = offset[n, g_off * 2 * K + 2 * k + 1, oy, ox]
                            v = _bilinear(x[n, c], oy * stride[0] - padding[0] + i * dilation[0] + dy,
                                          ox * stride[1] - padding[1] + j * dilation[1] + dx)
                            if mask is not None:
                                v *= mask[n, g_off * K + k, oy, ox]
                            g = c // cpg
                            for o in range(g * (cout // groups), (g + 1) * (cout // groups)):
                                out[n, o, oy, ox] += weight[o, c - g * cpg, i, j] * v
    if bias is not None:
        out += bias[None, :, None, None]
    return out


CASES = [dict(cin=2, cout=3, k=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, n_off=1, mask=False),
         dict(cin=4, cout=2, k=(2, 3), stride=(2, 1), padding=(0, 2), dilation=(1, 2), groups=2, n_off=2, mask=True)]


@pytest.mark.parametrize("case", CASES, ids=["plain", "groups-mask"])
def test_deform_conv2d_values_and_gradients(rng, case):
    kh, kw = case["k"]
    x = rng.normal(size=(2, case["cin"], 6, 7)).astype(np.float32)
    w = rng.normal(size=(case["cout"], case["cin"] // case["groups"], kh, kw)).astype(np.float32)
    bias = rng.normal(size=case["cout"]).astype(np.float32)
    ho = (6 + 2 * case["padding"][0] - (case["dilation"][0] * (kh - 1) + 1)) // case["stride"][0] + 1
    wo = (7 + 2 * case["padding"][1] - (case["dilation"][1] * (kw - 1) + 1)) // case["stride"][1] + 1
    off = rng.normal(0, 1.5, (2, 2 * case["n_off"] * kh * kw, ho, wo)).astype(np.float32)
    mask = rng.random((2, case["n_off"] * kh * kw, ho, wo)).astype(np.float32) if case["mask"] else None
    args = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"])
    expected = _reference(x.astype(np.float64), off, w, bias, mask=mask, **args)
    jx, joff, jw = (jtorch.from_numpy(a).requires_grad_(True) for a in (x, off, w))
    jm = jtorch.from_numpy(mask).requires_grad_(True) if mask is not None else None
    got = JO.deform_conv2d(jx, joff, jw, jtorch.from_numpy(bias), mask=jm, **args)
    np.testing.assert_allclose(np.asarray(got.detach()), expected, rtol=1e-4, atol=1e-4)
    g = rng.normal(size=expected.shape)
    (got * jtorch.from_numpy(g.astype(np.float32))).sum().backward()

    def loss(xx=x, oo=off, ww=w, mm=mask):
        return float((_reference(xx.astype(np.float64), oo.astype(np.float64), ww.astype(np.float64), bias, mask=mm,
                                 **args) * g).sum())

    eps = 1e-3
    for name, arr, grad in (("input", x, jx.grad), ("offset", off, joff.grad), ("weight", w, jw.grad)) + \
            ((("mask", mask, jm.grad),) if mask is not None else ()):
        flat = np.asarray(grad).reshape(-1)
        for idx in rng.choice(arr.size, 4, replace=False):
            plus, minus = arr.astype(np.float64).copy(), arr.astype(np.float64).copy()
            plus.reshape(-1)[idx] += eps
            minus.reshape(-1)[idx] -= eps
            numeric = (loss(**{{"input": "xx", "offset": "oo", "weight": "ww", "mask": "mm"}[name]: plus})
                       - loss(**{{"input": "xx", "offset": "oo", "weight": "ww", "mask": "mm"}[name]: minus})) / (2 * eps)
            assert abs(flat[idx] - numeric) <= 2e-2 * max(1.0, abs(numeric)), (name, idx)


def test_zero_offset_is_conv2d_and_module(rng):
    x = rng.normal(size=(1, 4, 8, 8)).astype(np.float32)
    jtorch.manual_seed(0)
    m = JO.DeformConv2d(4, 6, 3, padding=1, groups=2)
    t = tv.ops.DeformConv2d(4, 6, 3, padding=1, groups=2)
    assert repr(m) == repr(t)
    assert repr(JO.DeformConv2d(4, 6, (1, 3), stride=2, dilation=2, bias=False)) == \
           repr(tv.ops.DeformConv2d(4, 6, (1, 3), stride=2, dilation=2, bias=False))
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    off = jtorch.zeros(1, 18, 8, 8)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(np.asarray(m.weight.detach())),
                                          torch.from_numpy(np.asarray(m.bias.detach())), padding=1, groups=2)
    assert_close(m(jtorch.from_numpy(x), off), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        JO.DeformConv2d(3, 4, 3, groups=2)
    with pytest.raises(RuntimeError):
        m(jtorch.from_numpy(x), jtorch.zeros(1, 18, 7, 8))

"""jtorch.vision.ops against torchvision's Python box ops and reference semantics
(torchvision's compiled nms/roi_align cannot run beside the CPU torch here, so nms and
roi_align are checked against straightforward references)."""
import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.ops as JO
from helpers import assert_close, both
from tv import torchvision

tv = torchvision()
TO = tv.ops


def _boxes(rng, n, size=50.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(2, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


def _nms_reference(boxes, scores, thr):
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = []
        for j in order:
            iou = TO.box_iou(torch.from_numpy(boxes[[i]]), torch.from_numpy(boxes[[j]]))[0, 0].item()
            if iou <= thr:
                rest.append(j)
        order = rest
    return np.asarray(keep, np.int64)


def test_box_area_iou_giou(rng):
    b1, b2 = _boxes(rng, 7), _boxes(rng, 5)
    (t1, j1), (t2, j2) = both(b1), both(b2)
    assert_close(JO.box_area(j1), TO.box_area(t1))
    assert_close(JO.box_iou(j1, j2), TO.box_iou(t1, t2))
    assert_close(JO.generalized_box_iou(j1, j2), TO.generalized_box_iou(t1, t2), atol=1e-5)
    ti, ji = both(b1.astype(np.int64))
    assert_close(JO.box_area(ji), TO.box_area(ti))
    assert_close(JO.box_iou(ji, ji), TO.box_iou(ti, ti))
    with pytest.raises(ValueError):
        JO.box_iou(j1[:, :3], j2)


def test_box_iou_gradient(rng):
    b1, b2 = _boxes(rng, 4), _boxes(rng, 3)
    t1, j1 = both(b1, requires_grad=True)
    t2, j2 = both(b2)
    TO.box_iou(t1, t2).sum().backward()
    JO.box_iou(j1, j2).sum().backward()
    assert_close(j1.grad, t1.grad, atol=1e-5)


@pytest.mark.parametrize("fmts", [("xyxy", "xywh"), ("xyxy", "cxcywh"), ("xywh", "cxcywh"), ("cxcywh", "xyxy"),
                                  ("xywh", "xyxy"), ("xyxy", "xyxy")])
def test_box_convert(rng, fmts):
    t, j = both(_boxes(rng, 6))
    assert_close(JO.box_convert(j, *fmts), TO.box_convert(t, *fmts))
    with pytest.raises(ValueError):
        JO.box_convert(j, "xyxy", "nope")


def test_clip_and_remove_small(rng):
    b = _boxes(rng, 9, size=60.0) - 10
    t, j = both(b)
    assert_close(JO.clip_boxes_to_image(j, (30, 40)), TO.clip_boxes_to_image(t, (30, 40)))
    assert_close(JO.remove_small_boxes(j, 12.0), TO.remove_small_boxes(t, 12.0))


@pytest.mark.parametrize("thr", [0.3, 0.5, 0.7])
def test_nms(rng, thr):
    # clusters of near-copies (IoU well above 0.7) among scattered boxes: every threshold suppresses some
    base = _boxes(rng, 10, size=40.0)
    near = np.repeat(base[:5], 4, axis=0) + rng.uniform(-0.3, 0.3, (20, 4)).astype(np.float32)
    b = np.concatenate([base, near, _boxes(rng, 10, size=40.0)]).astype(np.float32)
    s = rng.permutation(40).astype(np.float32) / 40  # distinct scores: the order is defined
    keep = JO.nms(jtorch.from_numpy(b), jtorch.from_numpy(s), thr)
    assert keep.dtype == jtorch.int64
    np.testing.assert_array_equal(np.asarray(keep), _nms_reference(b, s, thr))
    assert len(keep) < 40  # something was suppressed


def test_nms_edge_cases(rng):
    empty = JO.nms(jtorch.zeros(0, 4), jtorch.zeros(0), 0.5)
    assert tuple(empty.shape) == (0,) and empty.dtype == jtorch.int64
    with pytest.raises(RuntimeError):
        JO.nms(jtorch.zeros(3, 4), jtorch.zeros(2), 0.5)


def test_batched_nms(rng):
    b = _boxes(rng, 30)
    s = rng.permutation(30).astype(np.float32)
    idx = rng.integers(0, 3, 30)
    got = np.asarray(JO.batched_nms(jtorch.from_numpy(b), jtorch.from_numpy(s), jtorch.from_numpy(idx), 0.4))
    # reference: nms per class, merged by decreasing score
    kept = []
    for c in range(3):
        members = np.nonzero(idx == c)[0]
        kept += list(members[_nms_reference(b[members], s[members], 0.4)])
    expected = sorted(kept, key=lambda i: -s[i])
    np.testing.assert_array_equal(got, expected)


def _roi_align_reference(x, rois, out_h, out_w, scale, sampling, aligned):
    """A scalar loop following the roi_align definition (bilinear samples averaged per bin)."""
    def sample(img, y, xx):
        H, W = img.shape[1:]
        if y < -1.0 or y > H or xx < -1.0 or xx > W:
            return np.zeros(img.shape[0])
        y, xx = max(y, 0.0), max(xx, 0.0)
        y0, x0 = int(y), int(xx)
        if y0 >= H - 1:
            y0 = y1 = H - 1
            y = float(y0)
        else:
            y1 = y0 + 1
        if x0 >= W - 1:
            x0 = x1 = W - 1
            xx = float(x0)
        else:
            x1 = x0 + 1
        ly, lx = y - y0, xx - x0
        return ((1 - ly) * (1 - lx) * img[:, y0, x0] + (1 - ly) * lx * img[:, y0, x1]
                + ly * (1 - lx) * img[:, y1, x0] + ly * lx * img[:, y1, x1])

    out = np.zeros((len(rois), x.shape[1], out_h, out_w))
    off = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sx, sy = x1 * scale - off, y1 * scale - off
        w, h = x2 * scale - off - sx, y2 * scale - off - sy
        if not aligned:
            w, h = max(w, 1.0), max(h, 1.0)
        bh, bw = h / out_h, w / out_w
        gh = sampling if sampling > 0 else int(np.ceil(h / out_h))
        gw = sampling if sampling > 0 else int(np.ceil(w / out_w))
        for ph in range(out_h):
            for pw in range(out_w):
                acc = 0
                for iy in range(gh):
                    for ix in range(gw):
                        acc = acc + sample(x[int(b)], sy + ph * bh + (iy + 0.5) * bh / gh,
                                           sx + pw * bw + (ix + 0.5) * bw / gw)
                out[k, :, ph, pw] = acc / max(gh * gw, 1)
    return out


@pytest.mark.parametrize("aligned,sampling", [(False, -1), (True, 2)])
def test_roi_align(rng, aligned, sampling):
    x = rng.normal(size=(2, 3, 12, 14)).astype(np.float32)
    rois = np.array([[0, 1.0, 2.0, 9.5, 8.0], [1, 0.0, 0.0, 13.0, 11.0], [1, 5.2, 3.1, 7.0, 4.0],
                     [0, -2.0, 8.0, 20.0, 15.0]], np.float32)
    got = JO.roi_align(jtorch.from_numpy(x), jtorch.from_numpy(rois), (3, 4), 0.5, sampling, aligned)
    expected = _roi_align_reference(x, rois, 3, 4, 0.5, sampling, aligned)
    assert got.dtype == jtorch.float32 and tuple(got.shape) == (4, 3, 3, 4)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5)
    # the list-of-boxes form names the image by position
    as_list = [jtorch.from_numpy(rois[rois[:, 0] == i, 1:].copy()) for i in range(2)]
    got2 = JO.roi_align(jtorch.from_numpy(x), as_list, (3, 4), 0.5, sampling, aligned)
    order = np.concatenate([np.nonzero(rois[:, 0] == i)[0] for i in range(2)])
    np.testing.assert_allclose(np.asarray(got2), expected[order], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_sigmoid_focal_loss(rng, reduction):
    t_in, j_in = both(rng.normal(size=(5, 4)).astype(np.float32), requires_grad=True)
    t_tg, j_tg = both((rng.random((5, 4)) > 0.5).astype(np.float32))
    expected = TO.sigmoid_focal_loss(t_in, t_tg, reduction=reduction)
    got = JO.sigmoid_focal_loss(j_in, j_tg, reduction=reduction)
    assert_close(got, expected, atol=1e-6)
    expected.sum().backward()
    got.sum().backward()
    assert_close(j_in.grad, t_in.grad, atol=1e-6)
    with pytest.raises(ValueError):
        JO.sigmoid_focal_loss(j_in, j_tg, reduction="avg")

"""roi_align as one weighted sum of pixel-table rows per bin (jtorch/_ops/roi_ops.py): values and
input gradients against torchvision's pure-torch ``_roi_align`` (its compiled kernel cannot run
here, see tv.py). That reference agrees with the kernel for boxes inside the map (beyond it, it
reads samples the kernel zeroes), so the boxes here stay inside."""
import numpy as np
import pytest
import torch

import jtorch
import jtorch.vision.ops as JO
from helpers import assert_close
from tv import torchvision

tv = torchvision()


def _boxes(rng, n, h, w, scale):
    # inside the map even where legacy (not aligned) boxes grow to one map pixel
    x1, y1 = rng.uniform(0, (w - 2) / scale, n), rng.uniform(0, (h - 2) / scale, n)
    x2 = np.minimum(x1 + rng.uniform(0.3, w / scale, n), (w - 1) / scale)
    y2 = np.minimum(y1 + rng.uniform(0.3, h / scale, n), (h - 1) / scale)
    return np.stack([rng.integers(0, 2, n), x1, y1, x2, y2], 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling", [-1, 2])
def test_roi_align_matches_torchvision_values_and_gradients(rng, dtype, aligned, sampling):
    from torchvision.ops.roi_align import _roi_align
    x = rng.normal(size=(2, 5, 13, 17)).astype(dtype)
    rois = _boxes(rng, 23, 13, 17, 0.25).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_()
    jx = jtorch.from_numpy(x).requires_grad_()
    expected = _roi_align(tx, torch.from_numpy(rois), 0.25, 4, 3, sampling, aligned)
    got = JO.roi_align(jx, jtorch.from_numpy(rois), (4, 3), 0.25, sampling, aligned)
    # float32: sums of up to a few hundred samples, in another order than the reference
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert got.dtype == (jtorch.float32 if dtype == np.float32 else jtorch.float64)
    assert_close(got, expected.detach(), **tol)
    g = rng.normal(size=tuple(expected.shape)).astype(dtype)
    (expected * torch.from_numpy(g)).sum().backward()
    (got * jtorch.from_numpy(g)).sum().backward()
    assert_close(jx.grad, tx.grad, **tol)


def test_weighted_row_sum_op(rng):
    """The op itself: out[m] = sum_s w[m, s] * table[rows[m, s]], its table and weight gradients."""
    import jax
    import jax.numpy as jnp
    from jtorch._ops.roi_ops import _row_sum
    table = rng.normal(size=(30, 4))
    rows = rng.integers(0, 30, (11, 6))
    w = rng.normal(size=(11, 6))
    expected = (w[:, :, None] * table[rows]).sum(1)
    np.testing.assert_allclose(np.asarray(_row_sum(table, rows, w)), expected, rtol=1e-6)
    g = rng.normal(size=(11, 4))
    d_table, d_w = jax.grad(lambda t, w_: jnp.sum(_row_sum(t, rows, w_) * g), argnums=(0, 1))(table, w)
    want_table = np.zeros_like(table)
    np.add.at(want_table, rows.reshape(-1), (w[:, :, None] * g[:, None, :]).reshape(-1, 4))
    np.testing.assert_allclose(np.asarray(d_table), want_table, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(d_w), (table[rows] * g[:, None, :]).sum(-1), rtol=1e-6, atol=1e-6)
    jt = jtorch.from_numpy(table).requires_grad_()
    out = JO.roi._roi_ops._weighted_row_sum(jt, jtorch.from_numpy(rows), jtorch.from_numpy(w))
    (out * jtorch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(np.asarray(jt.grad), want_table, rtol=1e-6, atol=1e-6)

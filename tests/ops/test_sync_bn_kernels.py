"""SyncBatchNorm's kernels (batch_norm_stats, gather_stats(_with_counts), elemt, backward_reduce, backward_elemt,
update_stats). torch runs all but update_stats only on CUDA, so the oracle is torch's batch_norm on the whole
batch: the kernels applied to a batch split over two "processes" must give its statistics, output, running
statistics and gradients."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _bn_reference(x, w, b, rm, rv, momentum, eps):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    rmt, rvt = torch.tensor(rm), torch.tensor(rv)
    y = torch.nn.functional.batch_norm(xt, rmt, rvt, wt, bt, training=True, momentum=momentum, eps=eps)
    return xt, wt, bt, rmt, rvt, y


@pytest.mark.parametrize("shape,split", [((6, 3, 5), 2), ((7, 4, 2, 3), 3), ((5, 2), 1)])
def test_sync_bn_forward_backward_matches_batch_norm(rng, shape, split):
    eps, momentum = 1e-5, 0.1
    x = rng.standard_normal(shape).astype(np.float32) * 2 + 0.5
    c = shape[1]
    w, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    rm, rv = rng.standard_normal(c).astype(np.float32), rng.uniform(0.5, 2, c).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    xt, wt, bt, rmt, rvt, yt = _bn_reference(x, w, b, rm, rv, momentum, eps)
    yt.backward(torch.tensor(dy))

    parts = [jtorch.tensor(x[:split]), jtorch.tensor(x[split:])]
    stats = [jtorch.batch_norm_stats(p, eps) for p in parts]
    counts = jtorch.tensor([float(p.numel() // c) for p in parts])
    rmj, rvj = jtorch.tensor(rm), jtorch.tensor(rv)
    mean, invstd = jtorch.batch_norm_gather_stats_with_counts(
        jtorch.tensor(x), jtorch.stack([s[0] for s in stats]), jtorch.stack([s[1] for s in stats]), rmj, rvj,
        momentum, eps, counts)
    assert_close(rmj, rmt, atol=1e-5)
    assert_close(rvj, rvt, atol=1e-5)
    wj, bj = jtorch.tensor(w), jtorch.tensor(b)
    ys = [jtorch.batch_norm_elemt(p, wj, bj, mean, invstd, eps) for p in parts]
    assert_close(jtorch.cat(ys), yt.detach(), atol=1e-5)

    dys = [jtorch.tensor(dy[:split]), jtorch.tensor(dy[split:])]
    reds = [jtorch.batch_norm_backward_reduce(g, p, mean, invstd, wj, True, True, True) for g, p in zip(dys, parts)]
    sum_dy = sum(r[0] for r in reds)
    sum_dy_xmu = sum(r[1] for r in reds)
    assert_close(sum(r[2] for r in reds), wt.grad, atol=1e-4)
    assert_close(sum(r[3] for r in reds), bt.grad, atol=1e-4)
    count_i = counts.to(jtorch.int32)
    dx = [jtorch.batch_norm_backward_elemt(g, p, mean, invstd, wj, sum_dy, sum_dy_xmu, count_i)
          for g, p in zip(dys, parts)]
    assert_close(jtorch.cat(dx), xt.grad, atol=1e-4)


def test_gather_stats_equal_counts_and_no_running(rng):
    x = rng.standard_normal((8, 3, 4)).astype(np.float32)
    parts = [jtorch.tensor(x[:4]), jtorch.tensor(x[4:])]
    stats = [jtorch.batch_norm_stats(p, 1e-5) for p in parts]
    means, invs = jtorch.stack([s[0] for s in stats]), jtorch.stack([s[1] for s in stats])
    m1, i1 = jtorch.batch_norm_gather_stats(jtorch.tensor(x), means, invs, None, None, 0.1, 1e-5, 16)
    m2, i2 = jtorch.batch_norm_stats(jtorch.tensor(x), 1e-5)
    mean, var = x.mean((0, 2)), x.var((0, 2))
    np.testing.assert_allclose(m1.numpy(), mean, atol=1e-6)
    np.testing.assert_allclose(m2.numpy(), mean, atol=1e-6)
    np.testing.assert_allclose(i1.numpy(), 1 / np.sqrt(var + 1e-5), rtol=1e-4)
    np.testing.assert_allclose(i2.numpy(), 1 / np.sqrt(var + 1e-5), rtol=1e-4)


def test_backward_reduce_optional_outputs(rng):
    x = jtorch.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    m, inv = jtorch.batch_norm_stats(x, 1e-5)
    out = jtorch.batch_norm_backward_reduce(x, x, m, inv, None, False, True, False)
    assert out[0] is None and out[1] is None and out[3] is None and tuple(out[2].shape) == (3,)


def test_update_stats_matches_torch(rng):
    x = rng.standard_normal((6, 3, 5)).astype(np.float32)
    rm, rv = rng.standard_normal(3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    rmt, rvt, rmj, rvj = torch.tensor(rm), torch.tensor(rv), jtorch.tensor(rm), jtorch.tensor(rv)
    want = torch.batch_norm_update_stats(torch.tensor(x), rmt, rvt, 0.3)
    got = jtorch.batch_norm_update_stats(jtorch.tensor(x), rmj, rvj, 0.3)
    assert_close(got[0], want[0])
    assert_close(got[1], want[1])
    assert_close(rmj, rmt)
    assert_close(rvj, rvt)

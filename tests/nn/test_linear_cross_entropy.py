"""nn.functional.linear_cross_entropy against torch: class indices, probabilities, K-dim weights, bias, options,
gradients, errors."""
import numpy as np
import pytest
import torch

import jtorch
from tests.ops.mathcheck import check


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_linear_cross_entropy_indices(rng, reduction):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    W = rng.standard_normal((5, 4)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    cw = rng.uniform(0.5, 2, 5).astype(np.float32)
    t = rng.integers(0, 5, 6)
    t[1] = 2
    check(lambda L, a, w, tt: L.nn.functional.linear_cross_entropy(a, w, tt, reduction=reduction), x, W, t,
          grad=(0, 1), rtol=1e-4, atol=1e-5)
    check(lambda L, a, w, bb, c, tt: L.nn.functional.linear_cross_entropy(
        a, w, tt, linear_bias=bb, weight=c, reduction=reduction, label_smoothing=0.2), x, W, b, cw, t,
        grad=(0, 1, 2), rtol=1e-4, atol=1e-5)
    t2 = t.copy()
    t2[0] = 3
    check(lambda L, a, w, tt: L.nn.functional.linear_cross_entropy(a, w, tt, ignore_index=3, reduction=reduction),
          x, W, t2, grad=(0, 1), rtol=1e-4, atol=1e-5)


def test_linear_cross_entropy_unbatched_kdim_probs_options(rng):
    check(lambda L, a, w, tt: L.nn.functional.linear_cross_entropy(a, w, tt), rng.standard_normal(3).astype(
        np.float32), rng.standard_normal((4, 3)).astype(np.float32), np.array(2), grad=(0, 1), rtol=1e-4, atol=1e-5)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    W = rng.standard_normal((2, 5, 3)).astype(np.float32)  # 2 classes at 5 positions
    t = rng.integers(0, 2, (4, 5))
    check(lambda L, a, w, tt: L.nn.functional.linear_cross_entropy(a, w, tt), x, W, t, grad=(0, 1), rtol=1e-4,
          atol=1e-5)
    p = rng.dirichlet(np.ones(2), (4, 5)).transpose(0, 2, 1).astype(np.float32).copy()
    check(lambda L, a, w, tt: L.nn.functional.linear_cross_entropy(a, w, tt, reduction="sum"), x, W, p,
          grad=(0, 1), rtol=1e-4, atol=1e-5)
    x2, W2, t2 = rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32), \
        rng.integers(0, 6, 8)
    t_opts = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=3)
    j_opts = jtorch.nn.LinearCrossEntropyOptions(batch_chunk_size=3)
    check(lambda L, a, w, tt: L.nn.functional.linear_cross_entropy(
        a, w, tt, options=t_opts if L is torch else j_opts), x2, W2, t2, grad=(0, 1), rtol=1e-4, atol=1e-5)


def test_linear_cross_entropy_errors(rng):
    cases = [lambda L: L.nn.functional.linear_cross_entropy(L.ones(2, 3, 4), L.ones(5, 4), L.zeros(2, dtype=L.long)),
             lambda L: L.nn.functional.linear_cross_entropy(L.ones(2, 4), L.ones(4), L.zeros(2, dtype=L.long)),
             lambda L: L.nn.functional.linear_cross_entropy(L.ones(2, 4), L.ones(5, 3), L.zeros(2, dtype=L.long)),
             lambda L: L.nn.functional.linear_cross_entropy(L.ones(2, 4), L.ones(5, 4), L.zeros(2, dtype=L.long),
                                                            linear_bias=L.ones(4)),
             lambda L: L.nn.functional.linear_cross_entropy(L.ones(4), L.ones(5, 2, 4), L.zeros((), dtype=L.long)),
             lambda L: L.nn.functional.linear_cross_entropy(L.ones(2, 4), L.ones(5, 4), L.ones(2, 5) / 5,
                                                            ignore_index=1)]
    for f in cases:
        with pytest.raises(RuntimeError):
            f(torch)
        with pytest.raises(RuntimeError):
            f(jtorch)

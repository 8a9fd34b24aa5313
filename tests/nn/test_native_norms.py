"""jtorch.native_layer_norm / native_batch_norm / native_group_norm against torch: outputs, saved statistics,
running-statistic updates, gradients, errors."""
import numpy as np
import pytest
import torch

import jtorch
from tests.ops.mathcheck import check


def test_native_layer_norm(rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    w, b = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((4, 5)).astype(np.float32)
    check(lambda L, a, ww, bb: L.native_layer_norm(a, (4, 5), ww, bb, 1e-5), x, w, b, grad=(0, 1, 2), outputs=[0])
    check(lambda L, a: L.native_layer_norm(a, [5], None, None, 0.5), x, grad=(0,), outputs=[0])
    check(lambda L, a: L.native_layer_norm(a, (3, 4, 5), None, None, 1e-5), x)
    xt = torch.tensor(x, requires_grad=True)
    xj = jtorch.tensor(x, requires_grad=True)
    assert [o.requires_grad for o in jtorch.native_layer_norm(xj, (5,), None, None, 1e-5)] == \
        [o.requires_grad for o in torch.native_layer_norm(xt, (5,), None, None, 1e-5)] == [True, False, False]
    with pytest.raises(RuntimeError):
        torch.native_layer_norm(torch.tensor(x), (3,), None, None, 1e-5)
    with pytest.raises(RuntimeError):
        jtorch.native_layer_norm(jtorch.tensor(x), (3,), None, None, 1e-5)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 2, 4)])
def test_native_batch_norm_training(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    rm, rv = rng.standard_normal(3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    tm, tv, jm, jv = torch.tensor(rm), torch.tensor(rv), jtorch.tensor(rm), jtorch.tensor(rv)
    check(lambda L, a, ww, bb: L.native_batch_norm(a, ww, bb, tm if L is torch else jm, tv if L is torch else jv,
                                                   True, 0.3, 1e-3), x, w, b, grad=(0, 1, 2), outputs=[0])
    np.testing.assert_allclose(np.asarray(jm), tm.numpy(), rtol=1e-5, atol=1e-6)  # running stats updated
    np.testing.assert_allclose(np.asarray(jv), tv.numpy(), rtol=1e-5, atol=1e-6)
    check(lambda L, a: L.native_batch_norm(a, None, None, None, None, True, 0.1, 1e-5), x, grad=(0,), outputs=[0])


def test_native_batch_norm_eval(rng):
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    rm, rv = rng.standard_normal(3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    check(lambda L, a, m, v: L.native_batch_norm(a, None, None, m, v, False, 0.1, 1e-5), x, rm, rv, grad=(0,),
          outputs=[0])
    with pytest.raises(RuntimeError):
        jtorch.native_batch_norm(jtorch.tensor(x), None, None, None, None, False, 0.1, 1e-5)


def test_native_group_norm(rng):
    x = rng.standard_normal((2, 6, 3, 2)).astype(np.float32)
    w, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    check(lambda L, a, ww, bb: L.native_group_norm(a, ww, bb, 2, 6, 6, 3, 1e-5), x, w, b, grad=(0, 1, 2),
          rtol=1e-4, atol=1e-4)  # group norm's statistics carry gradients too
    check(lambda L, a: L.native_group_norm(a, None, None, 0, 2, 1, 1, 1e-5), np.zeros((0, 2), np.float32))
    for args in [(2, 6, 6, 4), (2, 6, 5, 3)]:
        with pytest.raises(RuntimeError):
            torch.native_group_norm(torch.tensor(x), None, None, *args, 1e-5)
        with pytest.raises(RuntimeError):
            jtorch.native_group_norm(jtorch.tensor(x), None, None, *args, 1e-5)

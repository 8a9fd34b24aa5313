"""float16/bfloat16 kernels whose rounding follows torch's CPU kernel step by step (not float32 throughout and
one rounding): the same bits as torch on seeded inputs."""
import numpy as np
import pytest
import torch

import jtorch


def same_bits(j, t):
    assert str(j.dtype) == str(t.dtype) and tuple(j.shape) == tuple(t.shape)
    np.testing.assert_array_equal(j.float().numpy(), t.float().numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("shape,dim", [((8, 37), 1), ((64, 300), -1), ((1000, 7), 1), ((3, 4, 50), 2),
                                       ((3, 4, 50), 1), ((8, 37), 0), ((5,), 0)])
def test_log_softmax(rng, dtype, shape, dim):
    # along the last dim torch stores the sum of exps in the half type and rounds its log again
    x = (rng.normal(size=shape) * 3).astype(np.float32)
    t, j = torch.tensor(x).to(getattr(torch, dtype)), jtorch.tensor(x).to(getattr(jtorch, dtype))
    same_bits(jtorch.log_softmax(j, dim), torch.log_softmax(t, dim))
    same_bits(jtorch.nn.functional.log_softmax(j, dim=dim), torch.nn.functional.log_softmax(t, dim=dim))


@pytest.mark.parametrize("shape", [(4, 3, 5), (8, 6, 7, 7), (16, 4), (64, 16)])
@pytest.mark.parametrize("affine", [True, False])
def test_float16_batch_norm(rng, shape, affine):
    # eval: torch's kernel computes x * alpha + beta (alpha = w / sqrt(var + eps), beta = b - mean * alpha) in
    # float32; training: the running statistics are updated in float32 and rounded once
    x = (rng.normal(size=shape) * 2 + 1).astype(np.float32)
    C = shape[1]
    w, b, rm = (rng.normal(size=C).astype(np.float32) for _ in range(3))
    rv = (rng.random(size=C) + 0.5).astype(np.float32)

    def run(L, training):
        h = lambda a: L.tensor(a).to(L.float16)
        stats = [h(rm), h(rv)]
        y = L.nn.functional.batch_norm(h(x), *stats, h(w) if affine else None, h(b) if affine else None,
                                       training=training, momentum=0.1)
        return y, stats

    for training in (False, True):
        (jy, jstats), (ty, tstats) = run(jtorch, training), run(torch, training)
        same_bits(jy, ty)
        for j, t in zip(jstats, tstats):
            same_bits(j, t)

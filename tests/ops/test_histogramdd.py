"""torch.histogramdd against torch: int and tensor bins (sorted or not), range, weights, density, empty
and constant inputs, errors."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close


def _run(L, x, bins, **kw):
    if isinstance(bins, list) and bins and isinstance(bins[0], np.ndarray):
        bins = [L.tensor(b) for b in bins]
    if kw.get("weight") is not None:
        kw["weight"] = L.tensor(kw["weight"])
    return L.histogramdd(L.tensor(x), bins, **kw)


def _same(x, bins, **kw):
    t, j = _run(torch, x, bins, **dict(kw)), _run(jtorch, x, bins, **dict(kw))
    assert type(j).__name__ == "histogramdd"
    assert_close(j.hist, t.hist, rtol=1e-5, atol=1e-6)
    assert_close(tuple(j.bin_edges), tuple(t.bin_edges))


@pytest.mark.parametrize("shape", [(7, 2), (4, 3, 3), (5, 1, 2), (5, 0, 2)])
@pytest.mark.parametrize("density", [False, True])
def test_histogramdd(rng, shape, density):
    x = rng.uniform(-3, 3, shape).astype(np.float32)
    D = shape[-1]
    w = rng.uniform(0, 2, shape[:-1]).astype(np.float32)
    _same(x, [2, 3, 2][:D], density=density)
    _same(x, 3, weight=w, density=density)
    _same(x, [3] * D, range=[-1.0, 2.0] * D, density=density)
    _same(x, [np.sort(rng.uniform(-3, 3, 4)).astype(np.float32) for _ in range(D)], weight=w, density=density)
    _same(x, [rng.uniform(-3, 3, 3).astype(np.float32) for _ in range(D)])  # unsorted edges: torch's search


def test_histogramdd_edges_and_constant_input():
    x = np.array([[0.0, 1.0], [0.5, 1.0], [1.0, 1.0], [0.25, 1.0]])
    _same(x, [2, 3])                       # elements on edges, last edge inclusive; constant column
    _same(x, [np.array([0.0, 0.5, 1.0]), np.array([1.0, 2.0])])
    _same(np.zeros((0, 2)), [2, 2])         # empty input: [0, 1] per dimension


@pytest.mark.parametrize("bad", [dict(bins=[2]), dict(bins=2, range=[0.0, 1.0]),
                                 dict(bins=2, range=[1.0, 0.0, 0.0, 1.0]), dict(bins=-1)])
def test_histogramdd_errors(rng, bad):
    x = rng.standard_normal((4, 2)).astype(np.float32)
    with pytest.raises(RuntimeError):
        torch.histogramdd(torch.tensor(x), **bad)
    with pytest.raises(RuntimeError):
        jtorch.histogramdd(jtorch.tensor(x), **bad)
    with pytest.raises(NotImplementedError):
        torch.histogramdd(torch.tensor([[1, 2]]), bins=2)
    with pytest.raises(NotImplementedError):
        jtorch.histogramdd(jtorch.tensor([[1, 2]]), bins=2)

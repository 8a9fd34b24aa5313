"""torch.gradient against torch: uniform and coordinate spacing, edge orders, dims, dtypes, autograd, errors."""
import numpy as np
import pytest
import torch

import jtorch
from tests.ops.mathcheck import check


def _spacing(L, sp):
    if isinstance(sp, (list, tuple)):
        return type(sp)(L.tensor(s) if isinstance(s, np.ndarray) else s for s in sp)
    return sp


CASES = [dict(), dict(spacing=2.0), dict(spacing=[2.0, 0.5]), dict(spacing="coords"), dict(edge_order=2),
         dict(spacing="coords", edge_order=2), dict(dim=1), dict(dim=-1, spacing=3), dict(dim=[1], spacing="coords1"),
         dict(dim=(0,), edge_order=2)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradient(rng, case):
    kw = dict(CASES[case])
    y, x = np.sort(rng.uniform(0, 5, 4)), np.sort(rng.uniform(-2, 2, 6))
    if kw.get("spacing") == "coords":
        kw["spacing"] = (y, x)
    elif kw.get("spacing") == "coords1":
        kw["spacing"] = [x]
    f = rng.standard_normal((4, 6))
    check(lambda L, a: L.gradient(a, **{**kw, "spacing": _spacing(L, kw.get("spacing", 1))}), f, grad=(0,))
    check(lambda L, a: L.gradient(a, **{**kw, "spacing": _spacing(L, kw.get("spacing", 1))}), f.astype(np.float32),
          rtol=1e-4, atol=1e-5)


def test_gradient_dtypes():
    check(lambda L, a: L.gradient(a), np.array([1, 2, 4, 7]))                   # int -> float32
    check(lambda L, a: L.gradient(a, spacing=2), np.array([1, 2, 4, 7]))
    check(lambda L, a: L.gradient(a, spacing=(L.tensor([0, 1, 3, 4]),)), np.array([1.0, 2, 4, 7], np.float32))
    check(lambda L, a: L.gradient(a, spacing=(L.tensor([0.0, 1, 3, 4], dtype=L.float64),)),
          np.array([1.0, 2, 4, 7], np.float32))                                   # promotes with the coordinates
    assert jtorch.gradient(jtorch.tensor(1.0)) == ()


@pytest.mark.parametrize("kw", [dict(edge_order=3), dict(spacing=[1.0, 2.0, 3.0]), dict(dim=[0, 0]),
                                dict(dim=[1], spacing=[1.0, 2.0])])
def test_gradient_errors(kw):
    f = np.arange(12.0).reshape(3, 4)
    with pytest.raises(RuntimeError):
        torch.gradient(torch.tensor(f), **kw)
    with pytest.raises(RuntimeError):
        jtorch.gradient(jtorch.tensor(f), **kw)
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError):
            L.gradient(L.tensor([1.0, 2.0]), edge_order=2)   # too few points
        with pytest.raises(IndexError):
            L.gradient(L.tensor([1.0, 2.0]), dim=1)

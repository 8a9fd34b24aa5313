"""transforms.v2 CutMix and MixUp against torchvision: the draws come from each framework's RNG, so
the tests check what holds for every draw (shapes, dtypes, label sums, a mixed image being its labels'
mixture, CutMix pixels taken from the sample or its neighbour) and torchvision's errors."""
import numpy as np
import pytest
import torch

import jtorch
from jtorch.vision.transforms import v2 as J2
from tv import torchvision

tv = torchvision()
import torchvision.transforms.v2 as V2  # noqa: E402  (after tv(): its import fix)


def _check(m, v2mod, name, x, y):
    t = getattr(v2mod, name)(num_classes=5, alpha=0.7)
    out = []
    for _ in range(6):
        mx, my = t(m.from_numpy(x), m.from_numpy(y))
        xb, yb = m.from_numpy(x), m.from_numpy(y)
        lam = my[m.arange(len(y)), yb]
        prev = xb.roll(1, 0)
        if name == "MixUp":
            mixed = bool(m.allclose(mx, lam.view(-1, 1, 1, 1) * xb + (1 - lam.view(-1, 1, 1, 1)) * prev, atol=1e-6))
        else:
            own = (mx == xb).all(1).float().mean((1, 2))
            mixed = bool(((mx == xb) | (mx == prev)).all()) and bool(m.allclose(own, lam, atol=1e-6))
        out.append((tuple(mx.shape), str(mx.dtype), tuple(my.shape), str(my.dtype),
                    bool(m.allclose(my.sum(1), m.ones(len(y)))), mixed, bool((lam == lam[0]).all())))
    return out


@pytest.mark.parametrize("name", ["CutMix", "MixUp"])
def test_mix_invariants_like_torchvision(name, rng):
    x = rng.random((6, 3, 10, 12)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 4, 1], np.int64)  # each differs from its neighbour
    tres = _check(torch, V2, name, x, y)
    jres = _check(jtorch, J2, name, x, y)
    assert [r[:5] for r in jres] == [r[:5] for r in tres]
    assert all(r[5] and r[6] for r in jres) and all(r[5] and r[6] for r in tres)


def test_mix_errors_like_torchvision():
    # torchvision's alpha check is torch.distributions' argument validation: on by default, but global
    # state another test in the same process may have switched off
    torch.distributions.Distribution.set_default_validate_args(True)
    for m, v2mod in ((torch, V2), (jtorch, J2)):
        with pytest.raises(ValueError):
            v2mod.MixUp(alpha=0.0, num_classes=3)
        t = v2mod.CutMix(num_classes=3)
        with pytest.raises(ValueError):
            t(m.rand(3, 8, 8), m.tensor([0, 1, 2]))  # not a batch
        with pytest.raises(ValueError):
            t(m.rand(2, 3, 8, 8), m.tensor([0, 1, 2]))  # batch sizes differ

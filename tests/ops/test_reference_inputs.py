"""Cases found by op_db's reference inputs (``scripts/conformance.py --reference``): larger, extremal and
broadcasting samples than its sample inputs. Seeded inputs through torch and jtorch."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_interpolate_float32_uneven_downscale(rng, mode):
    # 345 -> 270 rows: torch computes each source coordinate with one fused multiply-add in float32 (and the
    # antialias weights in float32), so a coordinate near 200 differs by an ulp (1.5e-5) from the plainly
    # rounded one, and the output by that times the neighbours' difference (2e-4 on values in [-9, 9])
    x = rng.uniform(-9, 9, (1, 2, 345, 24)).astype(np.float32)
    for antialias in (False, True):
        for size in ((270, 17), (401, 30)):
            kw = dict(size=size, mode=mode, align_corners=False, antialias=antialias)
            assert_close(jtorch.nn.functional.interpolate(jtorch.tensor(x), **kw),
                         torch.nn.functional.interpolate(torch.from_numpy(x), **kw), rtol=1e-5, atol=1e-5)


def test_interpolate_float32_linear_1d(rng):
    x = rng.uniform(-9, 9, (2, 3, 345)).astype(np.float32)
    kw = dict(size=270, mode="linear", align_corners=False)
    assert_close(jtorch.nn.functional.interpolate(jtorch.tensor(x), **kw),
                 torch.nn.functional.interpolate(torch.from_numpy(x), **kw), rtol=1e-5, atol=1e-5)

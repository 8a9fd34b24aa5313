"""Tensor repr wraps lines as torch's: columns at least one character wide (all-zero rows, all-zero imaginary
parts), and a suffix (dtype=..., requires_grad=True, grad_fn=...) that would pass the line width on a line of
its own. Compared with torch's repr on the same seeded values."""
import numpy as np
import pytest
import torch

import jtorch

pytestmark = pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")


def _reprs(m, a):
    out = []
    for dt in ("float32", "float64", "int32", "int16", "float16", "complex64", "uint8", "complex32"):
        out.append(repr(m.tensor(a).to(getattr(m, dt))))
    x = m.tensor(a, requires_grad=True)
    out += [repr(x), repr(x * 2), repr(m.zeros(a.shape)), repr(m.zeros(a.shape, dtype=m.complex64)),
            repr(m.tensor(a + 0j, dtype=m.complex64))]
    return out


@pytest.mark.parametrize("shape", [(6,), (11,), (30,), (3, 9), (2, 3, 7)])
@pytest.mark.parametrize("scale", [1.0, 1e-5, 1e4])
def test_repr_wraps_like_torch(rng, shape, scale):
    a = (rng.standard_normal(shape) * scale).astype(np.float32)
    assert _reprs(jtorch, a) == _reprs(torch, a)


def test_long_int_row_puts_dtype_on_its_own_line(rng):
    a = rng.integers(0, 2 ** 30, 6).astype(np.int32)
    assert repr(jtorch.tensor(a)) == repr(torch.tensor(a))
    assert repr(jtorch.arange(10, dtype=jtorch.int16) * 1000) == repr(torch.arange(10, dtype=torch.int16) * 1000)

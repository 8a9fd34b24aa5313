"""nn.functional.grouped_mm (all four operand layouts) and conv_tbc against torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtorch
import jtorch.nn.functional as JF
from helpers import assert_close, both


@pytest.mark.parametrize("a_shape,b_shape,offs", [((8, 16), (3, 16, 8), [2, 6, 8]), ((8, 16), (3, 16, 8), [0, 5, 8]),
                                                  ((3, 8, 16), (16, 24), [6, 18, 24]),
                                                  ((8, 16), (16, 8), [4, 16]), ((3, 8, 16), (3, 16, 8), None)])
def test_grouped_mm_layouts_and_grad(rng, a_shape, b_shape, offs):
    ta, ja = both(rng.standard_normal(a_shape).astype(np.float32), requires_grad=True)
    tb, jb = both(rng.standard_normal(b_shape).astype(np.float32), requires_grad=True)
    to = None if offs is None else torch.tensor(offs, dtype=torch.int32)
    jo = None if offs is None else jtorch.tensor(offs, dtype=jtorch.int32)
    yt, yj = TF.grouped_mm(ta, tb, offs=to), JF.grouped_mm(ja, jb, offs=jo)
    assert_close(yj, yt, atol=1e-4)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    yt.backward(torch.tensor(g))
    yj.backward(jtorch.tensor(g))
    assert_close(ja.grad, ta.grad, atol=1e-4)
    assert_close(jb.grad, tb.grad, atol=1e-4)


def test_grouped_mm_bfloat16(rng):
    ta, ja = both(rng.standard_normal((8, 16)).astype(np.float32))
    tb, jb = both(rng.standard_normal((3, 16, 8)).astype(np.float32))
    offs = [2, 6, 8]
    yt = TF.grouped_mm(ta.bfloat16(), tb.bfloat16(), offs=torch.tensor(offs, dtype=torch.int32))
    yj = JF.grouped_mm(ja.bfloat16(), jb.bfloat16(), offs=jtorch.tensor(offs, dtype=jtorch.int32))
    assert_close(yj, yt, rtol=2e-2, atol=5e-2)


@pytest.mark.parametrize("call", [
    lambda m, F: F.grouped_mm(m.ones(8, 16), m.ones(3, 16, 8)),
    lambda m, F: F.grouped_mm(m.ones(3, 8, 16), m.ones(3, 16, 8), offs=m.tensor([2, 6, 8], dtype=m.int32)),
    lambda m, F: F.grouped_mm(m.ones(8, 16), m.ones(3, 16, 8), offs=m.tensor([2, 6, 8])),
    lambda m, F: F.grouped_mm(m.ones(8, 16).long(), m.ones(3, 16, 8).long(), offs=m.tensor([2, 6, 8], dtype=m.int32)),
    lambda m, F: F.grouped_mm(m.ones(8, 16), m.ones(3, 16, 8), offs=m.tensor([2, 6, 8], dtype=m.int32),
                              bias=m.ones(3, 8)),
    lambda m, F: F.grouped_mm(m.ones(8, 16).bfloat16(), m.ones(3, 16, 8).bfloat16(),
                              offs=m.tensor([2, 6, 8], dtype=m.int32), out_dtype=m.float32),
    lambda m, F: F.grouped_mm(m.ones(6, 4), m.ones(2, 4, 3), offs=m.tensor([2, 6], dtype=m.int32)),
    lambda m, F: F.grouped_mm(m.ones(8, 16), m.ones(3, 12, 8), offs=m.tensor([2, 6, 8], dtype=m.int32)),
    lambda m, F: F.grouped_mm(m.ones(8, 16), m.ones(3, 16, 8).bfloat16(), offs=m.tensor([2, 6, 8], dtype=m.int32)),
])
def test_grouped_mm_errors(call):
    def outcome(m, F):
        try:
            call(m, F)
            return "ok"
        except Exception as e:  # noqa: BLE001 - the type is compared
            return type(e).__name__
    assert outcome(jtorch, JF) == outcome(torch, TF)


def test_conv_tbc_in_functional(rng):
    assert JF.conv_tbc is jtorch.conv_tbc
    tx, jx = both(rng.standard_normal((7, 2, 3)).astype(np.float32))
    tw, jw = both(rng.standard_normal((3, 3, 4)).astype(np.float32))
    tb, jb = both(rng.standard_normal(4).astype(np.float32))
    assert_close(JF.conv_tbc(jx, jw, jb, 1), TF.conv_tbc(tx, tw, tb, 1), atol=1e-5)

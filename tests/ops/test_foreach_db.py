"""torch's foreach op databases (foreach_unary/binary/pointwise/reduce/other_op_db) through jtorch and torch:
out of place, in place (the returned list, the values written), float64 gradients and error-style inputs
(scripts/conformance_foreach.py; ``python scripts/conformance.py --foreach`` prints the full table).

Kept cheap: two tensors per list, float32 for every entry plus one more dtype per entry taken in turn from
int64, bool, complex64, bfloat16 (the full run covers all of them for every entry)."""
import os
import sys
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from conformance_foreach import check_entry, foreach_entries  # noqa: E402

warnings.filterwarnings("ignore")

_ENTRIES = list(foreach_entries())
_SECOND = (torch.int64, torch.bool, torch.complex64, torch.bfloat16)


@pytest.mark.parametrize("k", range(len(_ENTRIES)), ids=[label for _, label in _ENTRIES])
def test_foreach_entry_agrees_with_torch(k):
    info, label = _ENTRIES[k]
    res = check_entry(info, torch, jtorch, (torch.float32, _SECOND[k % len(_SECOND)]), max_samples=8,
                      num_tensors=2, grad_samples=3)
    assert res is not None, f"jtorch lacks {label}"
    assert res["forward"][1] + res["inplace"][1] > 0, f"{label}: no sample ran"
    for mode in ("forward", "inplace", "grad", "errors"):
        ok, n, first = res[mode]
        assert ok == n, f"{label} {mode}: {first}"


def test_maximum_minimum_split_the_gradient_at_ties(rng):
    """torch's _foreach_maximum/minimum give maximum's gradient (half to each side of a tie), with a number
    as the other operand too, where clamp_min/clamp_max give the input all of it."""
    a = np.array([1.0, 2.0, 0.5], np.float32)
    b = np.array([1.0, 0.0, 3.0], np.float32)
    w = rng.standard_normal(3).astype(np.float32)
    for name in ("maximum", "minimum"):
        for other in (1.0, [1.0], "tensors"):
            grads = []
            for lib in (torch, jtorch):
                x = lib.tensor(a.copy(), requires_grad=True)
                y = lib.tensor(b.copy(), requires_grad=True)
                out = getattr(lib, f"_foreach_{name}")([x], [y] if other == "tensors" else other)[0]
                (out * lib.tensor(w.copy())).sum().backward()
                grads.append([x.grad] + ([y.grad] if other == "tensors" else []))
            assert_close(grads[1], grads[0])

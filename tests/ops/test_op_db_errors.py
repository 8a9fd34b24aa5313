"""op_db's error inputs (bad arguments torch's own tests expect to raise) through jtorch: the exception type
must be torch's (scripts/conformance_errors.py; ``python scripts/conformance.py --errors`` prints the table)."""
import os
import sys
import warnings

import pytest
import torch

import jtorch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from conformance import _selected  # noqa: E402
from conformance_errors import check_op  # noqa: E402

warnings.filterwarnings("ignore")
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402


class _All:
    ops, top_level_only = "", False


_ENTRIES = [(info, name, label) for info, name, label in _selected(op_db, _All) if info.error_inputs_func is not None]

# entries where some error input still gets another exception type (or none) from jtorch: each must keep
# differing (remove it here once fixed), every other entry must agree on all its error inputs
_DIFFERING = {
    '__radd__', '__rand__', '__rmul__', '__ror__', '__rxor__',
    'bernoulli', 'cat', 'cauchy',
    'exponential',
    'gather', 'geometric', 'igamma', 'igammac',
    'index_select', 'kthvalue', 'linspace', 'linspace[tensor_overload]', 'log_normal',
    'logspace', 'logspace[tensor_overload]', 'masked_select', 'multinomial',
    'nn.functional.rrelu', 'normal[in_place]',
    'rsub', 'special.chebyshev_polynomial_t', 'special.chebyshev_polynomial_u', 'special.chebyshev_polynomial_v', 'special.chebyshev_polynomial_w',
    'special.hermite_polynomial_h', 'special.hermite_polynomial_he', 'special.laguerre_polynomial_l', 'special.legendre_polynomial_p', 'special.shifted_chebyshev_polynomial_t', 'special.shifted_chebyshev_polynomial_u',
    'special.shifted_chebyshev_polynomial_v', 'special.shifted_chebyshev_polynomial_w', 'special.xlog1py', 'special.zeta', 'take', 'uniform',
}


@pytest.mark.parametrize("entry", _ENTRIES, ids=[label for _, _, label in _ENTRIES])
def test_error_inputs_raise_torchs_type(entry):
    info, name, label = entry
    res = check_op(info, name, label, torch, jtorch)
    assert res is not None, f"{label}: jtorch lacks the op or op_db's error inputs do not build"
    ok, _, n, _, _, first = res
    if label in _DIFFERING:
        assert ok < n, f"{label} agrees now: remove it from _DIFFERING"
    else:
        assert ok == n, f"{label}: {first}"

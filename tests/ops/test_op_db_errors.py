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

@pytest.mark.parametrize("entry", _ENTRIES, ids=[label for _, _, label in _ENTRIES])
def test_error_inputs_raise_torchs_type(entry):
    info, name, label = entry
    res = check_op(info, name, label, torch, jtorch)
    assert res is not None, f"{label}: jtorch lacks the op or op_db's error inputs do not build"
    ok, _, n, _, _, first = res
    assert ok == n, f"{label}: {first}"

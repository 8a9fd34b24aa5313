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
    'amax',
    'amin', 'aminmax', 'arange',
    'complex', 'cov', 'dsplit', 'empty_permuted', 'eye',
    'fft.fft2', 'fft.fftn', 'fft.hfft2', 'fft.hfftn', 'fft.ifft2', 'fft.ifftn',
    'fft.ihfft2', 'fft.ihfftn', 'fft.irfft2', 'fft.irfftn', 'fft.rfft2', 'fft.rfftn',
    'hsplit', 'hstack',
    'isclose',
    'movedim', 'narrow',
    'narrow_copy', 'native_layer_norm', 'nn.functional.adaptive_avg_pool2d', 'nn.functional.adaptive_avg_pool3d', 'nn.functional.adaptive_max_pool2d', 'nn.functional.adaptive_max_pool3d',
    'nn.functional.avg_pool1d', 'nn.functional.conv1d', 'nn.functional.conv2d', 'nn.functional.conv3d', 'nn.functional.embedding', 'nn.functional.max_pool1d',
    'nn.functional.max_pool3d', 'nn.functional.multilabel_margin_loss', 'nn.functional.prelu', 'nn.functional.rms_norm',
    'roll',
    'vsplit',
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

"""PyTorch's module database (module_db) through jtorch: the first sample of every module class (per mode) and
its first error input, float32, compared with torch by scripts/conformance_modules.py's functions (outputs, state
after forward, input and parameter gradients, module_error_inputs' exception types). The script runs every
sample and float64."""
import pytest
import torch
from torch.testing._internal.common_modules import module_db

import jtorch
from scripts import conformance_modules as cm

SAMPLES = 1  # per module, mode and error kind: catches a regression, cheap enough for the suite (the script runs all)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's and jtorch's own advice (nested tensors, kl_div)

INFOS, ABSENT = cm.selected(module_db, jtorch)

# module_db classes whose first samples still differ from torch, and why. The test asserts they STILL differ,
# so a fix is noticed (and the entry removed). Empty: every first sample agrees.
KNOWN_DIFFERENCES = {
}


def test_jtorch_has_every_module_db_class():
    assert ABSENT == []


@pytest.mark.parametrize("info", INFOS, ids=cm.module_name)
def test_module_db(info):
    ok, n, first = cm.run_module(info, (torch.float32,), torch, jtorch, max_samples=SAMPLES)
    assert n > 0
    name = cm.module_name(info)
    if name in KNOWN_DIFFERENCES:
        assert ok < n, f"{name} now agrees with torch: remove it from KNOWN_DIFFERENCES"
    else:
        assert ok == n, first

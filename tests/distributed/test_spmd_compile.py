"""jtorch.compile of a data-parallel train step runs as one SPMD program: over 8 virtual CPU devices
(nn.DataParallel, in a subprocess, see dp_worker.py) its results equal the 1-device step's."""
import pytest

from dp_worker import CHECKS
from spmd_run import check


@pytest.mark.parametrize("name", [n for n, (g, _) in CHECKS.items() if g == "compile"])
def test_eight_devices(name):
    check("compile", name)

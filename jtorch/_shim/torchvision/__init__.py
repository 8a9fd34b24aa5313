"""A stand-in ``torchvision`` for child processes of ``python -m jtorch run``: resolves to jtorch.vision."""
import sys

__jtorch_shim__ = True

from jtorch._runner import install_as_torch as _install  # noqa: E402

_install()
import jtorch.vision as _vision  # noqa: E402

sys.modules["torchvision"] = _vision

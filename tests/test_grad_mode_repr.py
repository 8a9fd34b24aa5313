"""torch.set_grad_enabled(...) printed (its function form returns the object) reads as torch's."""
import torch

import jtorch


def test_set_grad_enabled_repr():
    for mode in (False, True):
        rt, rj = torch.set_grad_enabled(mode), jtorch.set_grad_enabled(mode)
        assert repr(rj) == repr(rt)
        assert jtorch.is_grad_enabled() is torch.is_grad_enabled() is mode
    torch.set_grad_enabled(True)
    jtorch.set_grad_enabled(True)

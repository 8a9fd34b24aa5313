"""The public names torch.autograd and torch.nn.functional have beyond their functions: enums, the gradient layout
policy switch, grid_sample's mode tables, boolean_dispatch and assert_int_or_pair, against torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtorch
import jtorch.nn.functional as JF


@pytest.mark.parametrize("name", ["DeviceType", "ProfilerState", "ProfilerActivity"])
def test_autograd_enums(name):
    theirs, mine = getattr(torch.autograd, name), getattr(jtorch.autograd, name)
    assert {k: int(v.value if hasattr(v, "value") else v) for k, v in theirs.__members__.items()} == \
        {k: v.value for k, v in mine.__members__.items()}
    for member in theirs.__members__:
        assert str(getattr(mine, member)) == str(getattr(theirs, member))
        assert mine[member].name == member


def _layout_trace(lib, get):
    seen = [get()]
    mode = lib.autograd.enforce_grad_layout_policy(False)
    seen.append(get())
    with mode:
        seen.append(get())
    seen.append(get())
    with lib.autograd.enforce_grad_layout_policy(False):
        seen.append(get())
        with lib.autograd.enforce_grad_layout_policy(True):
            seen.append(get())
        seen.append(get())
    seen.append(get())

    @lib.autograd.enforce_grad_layout_policy(False)
    def inside():
        return get()
    seen.append(get())
    seen.append(inside())
    seen.append(get())
    return seen


def test_enforce_grad_layout_policy_switches_like_torch(rng):
    from jtorch.autograd.engine_flags import _is_grad_layout_enforcement_enabled
    assert _layout_trace(jtorch, _is_grad_layout_enforcement_enabled) == \
        _layout_trace(torch, torch._C._is_grad_layout_enforcement_enabled)
    a = rng.standard_normal((2, 3, 4))
    grads = []
    for lib in (torch, jtorch):
        p = lib.tensor(a).permute(2, 0, 1).requires_grad_()
        with lib.autograd.enforce_grad_layout_policy(False):
            (p * 2).sum().backward()
        grads.append(np.asarray(p.grad.detach().numpy()))
    np.testing.assert_array_equal(grads[1], grads[0])


def test_grid_sample_mode_tables():
    assert JF.GRID_SAMPLE_INTERPOLATION_MODES == TF.GRID_SAMPLE_INTERPOLATION_MODES
    assert JF.GRID_SAMPLE_PADDING_MODES == TF.GRID_SAMPLE_PADDING_MODES
    assert JF.DType is TF.DType


@pytest.mark.parametrize("arg", [3, (1, 2), [1, 2, 3], (4,)])
def test_assert_int_or_pair(arg):
    outcomes = []
    for F in (TF, JF):
        try:
            outcomes.append(F.assert_int_or_pair(arg, "kernel_size", "{} must be an int or a pair"))
        except AssertionError as e:
            outcomes.append(str(e))
    assert outcomes[0] == outcomes[1]


def _dispatcher(F, doc_true, doc_false, default):
    def with_flag(x, flag=True):
        return ("true", x)

    def without_flag(x, flag=False):
        return ("false", x)
    with_flag.__doc__, without_flag.__doc__ = doc_true, doc_false
    return F.boolean_dispatch("flag", 1, default, with_flag, without_flag, "my.module", "pick")


@pytest.mark.parametrize("docs", [("T", None), (None, "F"), (None, None)])
@pytest.mark.parametrize("default", [False, True])
def test_boolean_dispatch(docs, default):
    t, j = _dispatcher(TF, *docs, default), _dispatcher(JF, *docs, default)
    for args, kwargs in (((1,), {}), ((1, True), {}), ((1, 0), {}), ((1,), {"flag": True}), ((1,), {"flag": False})):
        assert j(*args, **kwargs) == t(*args, **kwargs)
    assert (j.__doc__, j.__module__, j.__name__) == (t.__doc__, t.__module__, t.__name__)


def test_boolean_dispatch_refuses_two_docstrings():
    for F in (TF, JF):
        with pytest.raises(RuntimeError, match="only one function can have a docstring"):
            _dispatcher(F, "T", "F", False)

"""torch's autograd.Function database (autograd_function_db: numpy kernels, setup_context, mark_dirty,
mark_non_differentiable, jvp/vmap staticmethods, generate_vmap_rule, once_differentiable) re-created on
jtorch and run in both libraries: forward, eager backward, and under torch.func (vjp, grad, jvp, vmap,
jacrev, jacfwd, vmap of vjp, jvp of vjp). Values must match, or torch and jtorch raise the same exception
type (scripts/conformance_autograd_function.py prints the table)."""
import os
import sys
import warnings

import pytest
import torch

import jtorch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
from conformance_autograd_function import CHECKS, entries, run_entry  # noqa: E402

warnings.filterwarnings("ignore")

_ENTRIES = list(entries(torch, jtorch))

def test_the_database_is_all_there():
    assert len(_ENTRIES) == 14


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_autograd_function_db_matches_torch(dtype):
    # every check in float64; in float32 (the same programs again, at another dtype) the eager ones and
    # one transform of each kind
    checks = CHECKS if dtype == "float64" else ("forward", "backward", "vjp", "jvp", "vmap")
    differ = {}
    for name, info, op, jop in _ENTRIES:
        res = run_entry(info, op, jop, dtype, seed=1, checks=checks)
        bad = {c: d for c, d in res.items() if d is not None}
        if bad:
            differ[name] = bad
    assert not differ, differ


def test_torch_and_jtorch_refuse_the_same_transforms():
    # a Function without jvp or vmap rules (NumpyCubeNotComposable): both libraries raise under jvp, vmap
    # and jacfwd, and compute vjp and grad
    raised = set()
    (name, info, op, jop), = [e for e in _ENTRIES if e[0] == "NumpyCubeNotComposableAutogradFunction"]
    res = run_entry(info, op, jop, "float64", seed=2, raised=raised)
    assert all(d is None for d in res.values()), res
    assert {"jvp", "vmap", "jacfwd"} <= raised and not {"forward", "backward", "vjp", "grad"} & raised


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001  (the exception type is the result)
        return type(e).__name__
    return None


def test_a_function_without_setup_context_is_refused_by_transforms(rng):
    # torch's transforms need the setup_context style; eager autograd still takes forward(ctx, ...)
    data = rng.standard_normal(3)
    kinds = {}
    for lib in (torch, jtorch):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g
        x = lib.tensor(data)
        kinds[lib.__name__] = [_raises(lambda: t(lambda v: Square.apply(v).sum())(x))
                               for t in (lib.func.grad, lib.func.vmap)]
        kinds[lib.__name__].append(_raises(lambda: lib.func.jvp(Square.apply, (x,), (x,))))
    assert kinds["torch"] == kinds["jtorch"] == ["RuntimeError"] * 3


# custom_op_db (torch.library custom ops, their module run again on jtorch): forward and eager backward
# agree for every entry (list returns included), vmap through register_vmap rules where listed. Under
# grad-type transforms torch 2.13 refuses custom ops while jtorch differentiates them (README).
_CUSTOM_VMAP_DIFFERING = {"NumpyNonzeroCustomOp", "NumpyNMSCustomOp", "NumpySplitCopyWithIntCustomOp"}


def test_custom_op_db_forward_backward_and_vmap_match_torch():
    from conformance_autograd_function import custom_op_entries
    differ = {}
    for name, info, op, jop in custom_op_entries(torch, jtorch):
        checks = ("forward", "backward") + (() if name in _CUSTOM_VMAP_DIFFERING else ("vmap",))
        bad = {c: d for c, d in run_entry(info, op, jop, "float64", seed=3, checks=checks).items() if d}
        if bad:
            differ[name] = bad
    assert not differ, differ

"""torch._foreach_* list ops (EMA updates, hand-written optimizers) against real torch."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _lists(rng, shapes=((3,), (2, 4), ())):
    arrs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return [torch.from_numpy(a.copy()) for a in arrs], [jtorch.tensor(a.copy()) for a in arrs]


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "minimum", "clamp_min", "clamp_max", "pow"])
def test_binary_forms(rng, name):
    t, j = _lists(rng)
    t = [x.abs() + 0.5 for x in t] if name == "pow" else t
    j = [x.abs() + 0.5 for x in j] if name == "pow" else j
    ot, oj = _lists(rng)
    scalars = [0.5, 2.0, -1.5]
    for args_t, args_j in (((1.5,), (1.5,)), ((scalars,), (scalars,)), ((ot,), (oj,))):
        rt = getattr(torch, f"_foreach_{name}")(t, *args_t)
        rj = getattr(jtorch, f"_foreach_{name}")(j, *args_j)
        assert isinstance(rj, tuple)
        assert_close(list(rj), list(rt))
        ct, cj = [x.clone() for x in t], [x.clone() for x in j]
        back = getattr(jtorch, f"_foreach_{name}_")(cj, *args_j)
        getattr(torch, f"_foreach_{name}_")(ct, *args_t)
        assert back is cj
        assert_close(cj, ct)
    if name in ("add", "sub", "mul", "div"):  # a 0-dim tensor as the other operand
        assert_close(list(getattr(jtorch, f"_foreach_{name}")(j, jtorch.tensor(2.5))),
                     list(getattr(torch, f"_foreach_{name}")(t, torch.tensor(2.5))))


def test_alpha_and_pow_of_scalar(rng):
    t, j = _lists(rng)
    ot, oj = _lists(rng)
    assert_close(list(jtorch._foreach_add(j, oj, alpha=-0.3)), list(torch._foreach_add(t, ot, alpha=-0.3)))
    assert_close(list(jtorch._foreach_sub(j, oj, alpha=2)), list(torch._foreach_sub(t, ot, alpha=2)))
    assert_close(list(jtorch._foreach_pow(2.0, j)), list(torch._foreach_pow(2.0, t)))


@pytest.mark.parametrize("name", ["abs", "exp", "neg", "sigmoid", "sqrt", "log1p", "sign", "trunc", "reciprocal"])
def test_unary(rng, name):
    t, j = _lists(rng)
    if name in ("sqrt", "log1p"):
        t, j = [x.abs() for x in t], [x.abs() for x in j]
    assert_close(list(getattr(jtorch, f"_foreach_{name}")(j)), list(getattr(torch, f"_foreach_{name}")(t)))
    getattr(jtorch, f"_foreach_{name}_")(j)
    getattr(torch, f"_foreach_{name}_")(t)
    assert_close(j, t)


def test_lerp_addcmul_addcdiv_norm_max(rng):
    t, j = _lists(rng)
    et, ej = _lists(rng)
    ft, fj = _lists(rng)
    assert_close(list(jtorch._foreach_lerp(j, ej, 0.1)), list(torch._foreach_lerp(t, et, 0.1)))
    assert_close(list(jtorch._foreach_lerp(j, ej, fj)), list(torch._foreach_lerp(t, et, ft)))
    for value in (0.5, [0.5, -1.0, 2.0], None):
        args = () if value is None else (value,)  # a list of scalars is positional only in torch
        assert_close(list(jtorch._foreach_addcmul(j, ej, fj, *args)), list(torch._foreach_addcmul(t, et, ft, *args)))
        assert_close(list(jtorch._foreach_addcdiv(j, ej, [x.abs() + 1 for x in fj], *args)),
                     list(torch._foreach_addcdiv(t, et, [x.abs() + 1 for x in ft], *args)))
    vals = np.array([0.5, -1.0, 2.0], np.float32)
    assert_close(list(jtorch._foreach_addcmul(j, ej, fj, jtorch.tensor(vals))),
                 list(torch._foreach_addcmul(t, et, ft, torch.from_numpy(vals))))
    for ord in (2, 1, float("inf")):
        assert_close(list(jtorch._foreach_norm(j, ord)), list(torch._foreach_norm(t, ord)))
    assert_close(list(jtorch._foreach_norm(j, dtype=jtorch.float64)), list(torch._foreach_norm(t, dtype=torch.float64)))
    assert_close(list(jtorch._foreach_max(j)), list(torch._foreach_max(t)))
    jtorch._foreach_lerp_(j, ej, 0.25)
    torch._foreach_lerp_(t, et, 0.25)
    assert_close(j, t)
    jtorch._foreach_copy_(j, ej)
    torch._foreach_copy_(t, et)
    assert_close(j, t)
    jtorch._foreach_zero_(j)
    torch._foreach_zero_(t)
    assert_close(j, t)


def test_ema_update_on_parameters_and_gradients(rng):
    """An EMA of a model's weights updated in place under no_grad; out-of-place results carry gradients."""
    w = rng.standard_normal((3, 2)).astype(np.float32)
    pt, pj = torch.nn.Parameter(torch.from_numpy(w.copy())), jtorch.nn.Parameter(jtorch.tensor(w.copy()))
    et, ej = [torch.zeros(3, 2)], [jtorch.zeros(3, 2)]
    with torch.no_grad():
        torch._foreach_mul_(et, 0.9)
        torch._foreach_add_(et, [pt], alpha=0.1)
    with jtorch.no_grad():
        jtorch._foreach_mul_(ej, 0.9)
        jtorch._foreach_add_(ej, [pj], alpha=0.1)
    assert_close(ej, et)
    torch._foreach_mul([pt], 3.0)[0].sum().backward()
    jtorch._foreach_mul([pj], 3.0)[0].sum().backward()
    assert_close(pj.grad, pt.grad)


def test_errors():
    for lib in (torch, jtorch):
        a = [lib.ones(2), lib.ones(3)]
        for call in (lambda: lib._foreach_add(a, [lib.ones(2)]), lambda: lib._foreach_add([], 1),
                     lambda: lib._foreach_add(a, [1.0]), lambda: lib._foreach_mul(a, lib.ones(2)),
                     lambda: lib._foreach_add_([lib.ones(2, dtype=lib.int64)], 1.5)):
            with pytest.raises(RuntimeError):
                call()

"""Gradients through ops that select elements (sort, max(dim), cummax, kthvalue, median, maximum, clamp,
amax...), through abs/sgn and through ops whose derivative torch defines piecewise (copysign, hypot, sinc), next
to poles (1/x, log at 0), infinities and NaNs: torch's nan/inf/0 placement, first and second order, and whether
the first gradient is in the graph at all."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close

INPUTS = {"zero": [0.0, 0.5, -1.0, 2.0, -0.0, 1.5], "inf": [np.inf, 0.5, -1.0, 2.0, -np.inf, 1.5],
          "nan": [np.nan, 0.5, -1.0, 2.0, 0.0, 1.5]}
MASK = [True, False, True, False, True, False]

SELECT = {
    "sort": lambda lib, t: t.sort().values,
    "max_dim": lambda lib, t: t.view(2, 3).max(1).values,
    "gather": lambda lib, t: t.gather(0, lib.tensor([0, 0, 4, 1])),
    "cummax": lambda lib, t: lib.cummax(t, 0).values,
    "cummin": lambda lib, t: lib.cummin(t, 0).values,
    "kthvalue": lambda lib, t: t.view(2, 3).kthvalue(2, 1).values,
    "median_dim": lambda lib, t: t.view(2, 3).median(1).values,
    "mode": lambda lib, t: t.view(2, 3).mode(1).values,
    "max": lambda lib, t: t.max().reshape(1),
    "median": lambda lib, t: t.median().reshape(1),
    "nanmedian": lambda lib, t: t.nanmedian().reshape(1),
    "amax": lambda lib, t: t.view(2, 3).amax(1),
    "amin": lambda lib, t: t.view(2, 3).amin(1),
    "maximum": lambda lib, t: lib.maximum(t, lib.zeros_like(t)),
    "minimum": lambda lib, t: lib.minimum(t, lib.zeros_like(t)),
    "fmax": lambda lib, t: lib.fmax(t, lib.zeros_like(t)),
    "clamp": lambda lib, t: t.clamp(-0.5, 1.0),
    "clamp_min": lambda lib, t: t.clamp(min=0.0),
    "where": lambda lib, t: lib.where(lib.tensor(MASK), t, lib.ones_like(t)),
    "nan_to_num": lambda lib, t: lib.nan_to_num(t),
    "lerp": lambda lib, t: lib.lerp(t, lib.ones_like(t), 0.3),
    "abs": lambda lib, t: t.abs(),
    "sgn": lambda lib, t: t * t.sgn(),
    "sort_abs": lambda lib, t: t.abs().sort().values,
    "copysign": lambda lib, t: lib.copysign(t, lib.ones_like(t)),
    "hypot": lambda lib, t: lib.hypot(t, lib.zeros_like(t)),
    "sinc": lambda lib, t: lib.sinc(t),
    "remainder": lambda lib, t: t.remainder(0.7),
    "fmod": lambda lib, t: lib.fmod(t, 0.7),
}
POLE = {"recip": lambda lib, y: 1 / y, "log": lambda lib, y: y.log(), "sqrt": lambda lib, y: y.sqrt(),
        "square": lambda lib, y: y * y, "linear": lambda lib, y: y * 3}

# (selection, pole, order: "pole_after" = pole(select(x)), "pole_before" = select(pole(x)), input)
CASES = [
    ("sort", "recip", "pole_after", "zero"), ("max_dim", "recip", "pole_after", "zero"),
    ("gather", "log", "pole_after", "zero"), ("sort", "recip", "pole_before", "zero"),
    ("cummax", "recip", "pole_before", "zero"), ("cummin", "square", "pole_before", "inf"),
    ("kthvalue", "square", "pole_before", "inf"), ("median_dim", "linear", "pole_after", "nan"),
    ("mode", "square", "pole_before", "zero"), ("max", "recip", "pole_after", "nan"),
    ("max", "linear", "pole_after", "zero"), ("median", "linear", "pole_after", "zero"),
    ("nanmedian", "square", "pole_after", "nan"), ("amax", "recip", "pole_after", "nan"),
    ("amin", "recip", "pole_after", "zero"), ("amin", "square", "pole_before", "inf"),
    ("maximum", "recip", "pole_after", "inf"), ("maximum", "linear", "pole_after", "nan"),
    ("minimum", "log", "pole_after", "inf"), ("fmax", "linear", "pole_before", "nan"),
    ("clamp", "recip", "pole_after", "nan"), ("clamp_min", "log", "pole_after", "nan"),
    ("where", "recip", "pole_after", "zero"), ("nan_to_num", "linear", "pole_after", "inf"),
    ("lerp", "linear", "pole_after", "zero"), ("abs", "log", "pole_after", "zero"),
    ("abs", "recip", "pole_before", "zero"), ("abs", "log", "pole_before", "zero"),
    ("sgn", "log", "pole_after", "zero"), ("sgn", "linear", "pole_after", "nan"),
    ("sgn", "log", "pole_before", "zero"), ("sgn", "recip", "pole_before", "zero"),
    ("sort_abs", "recip", "pole_before", "nan"), ("nan_to_num", "recip", "pole_after", "nan"),
    ("copysign", "linear", "pole_after", "zero"), ("copysign", "recip", "pole_after", "inf"),
    ("hypot", "log", "pole_after", "zero"), ("sinc", "square", "pole_after", "zero"),
    ("remainder", "linear", "pole_after", "zero"), ("fmod", "recip", "pole_before", "zero"),
]


def _grads(lib, select, pole, order, x, c1, c2):
    t = lib.tensor(x, requires_grad=True)
    y = SELECT[select](lib, POLE[pole](lib, t)) if order == "pole_before" else POLE[pole](lib, SELECT[select](lib, t))
    g, = lib.autograd.grad((y * lib.tensor(c1[:y.numel()]).reshape(y.shape)).sum(), t, create_graph=True)
    if not g.requires_grad:  # (torch's backward saved nothing it reads differentiably)
        return g.detach(), None
    h, = lib.autograd.grad((g * lib.tensor(c2)).sum(), t, allow_unused=True)
    return g.detach(), None if h is None else lib.zeros_like(t) + h  # (torch's may be a ZeroTensor)


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_gradients_through_selections_at_poles_match_torch(rng, case):
    x = np.asarray(INPUTS[case[3]])
    c1, c2 = rng.uniform(0.5, 2.0, 6), rng.uniform(0.5, 2.0, 6)
    (jg, jh), (tg, th) = [_grads(lib, *case[:3], x, c1, c2) for lib in (jtorch, torch)]
    assert_close(jg, tg, rtol=1e-10, atol=1e-12)  # (nan and inf positions too)
    assert (jh is None) == (th is None)
    if th is not None:
        assert_close(jh, th, rtol=1e-10, atol=1e-12)


def test_the_issue_examples_give_inf(rng):
    x = np.concatenate([[0.0], rng.uniform(0.5, 2.0, 3)])
    for lib in (jtorch, torch):
        t = lib.tensor(x, requires_grad=True)
        (1 / t.sort().values).sum().backward()
        assert np.isneginf(t.grad[0].item())
        t = lib.tensor(x, requires_grad=True)
        g, = lib.autograd.grad(lib.abs(1 / t).sum(), t, create_graph=True)
        h, = lib.autograd.grad(g.sum(), t)
        assert np.isposinf(h[0].item()) and np.isfinite(h[1:].numpy()).all()


def test_sign_of_nan_and_negative_zero_as_torch():
    x = [np.nan, -0.0, 0.0, -2.0, 3.0]
    for name in ("sign", "sgn"):
        j, t = getattr(jtorch, name)(jtorch.tensor(x)), getattr(torch, name)(torch.tensor(x))
        assert_close(j, t)
        assert np.array_equal(np.signbit(j.numpy()), np.signbit(t.numpy()))


def test_clamp_and_maximum_with_nans_as_torch(rng):
    a = np.array([np.nan, 1.0, 0.0, 2.0, 3.0, 0.5])
    b = np.array([0.0, np.nan, 0.0, 1.0, 4.0, 0.5])
    w = rng.uniform(0.5, 2.0, 6)
    res = {}
    for lib in (jtorch, torch):
        out = []
        for f in (lambda x, y: lib.clamp(x, y, y + 1), lambda x, y: lib.clamp(x, min=0.5),
                  lib.maximum, lib.minimum, lib.fmax, lib.fmin):
            x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
            r = f(x, y)
            out.append((r.detach(), *lib.autograd.grad((r * lib.tensor(w)).sum(), (x, y), allow_unused=True)))
        res[lib] = out
    for j, t in zip(res[jtorch], res[torch]):
        assert (j[2] is None) == (t[2] is None)
        assert_close([v for v in j if v is not None], [v for v in t if v is not None])


def test_lerp_saves_the_ends_only_for_the_weight_gradient(rng):
    res = {}
    for lib in (jtorch, torch):
        out = []
        for weight_grad in (False, True):
            for change in ("end", "weight"):
                a = lib.tensor(rng.standard_normal(3), requires_grad=True)
                b, w = lib.tensor(rng.standard_normal(3)), lib.tensor(rng.uniform(0, 1, 3), requires_grad=weight_grad)
                r = lib.lerp(a, b, w)
                with lib.no_grad():
                    (b if change == "end" else w).mul_(2)
                try:
                    r.sum().backward()
                    out.append("ok")
                except RuntimeError:
                    out.append("raises")
        res[lib] = out
    assert res[jtorch] == res[torch]


@pytest.mark.parametrize("pole", ["log", "recip"])
def test_double_backward_through_a_product_reaches_only_the_other_factor(rng, pole):
    # d(y * w)/dy = w reads w only: differentiating it again sends y nothing (torch: no edge), so a pole in y
    # (log, 1/x at 0) keeps its inf instead of 0 * inf = nan
    x, w0 = np.concatenate([[0.0], rng.uniform(0.5, 2.0, 3)]), rng.uniform(0.5, 2.0, 4)
    res = {}
    for lib in (jtorch, torch):
        t, w = lib.tensor(x, requires_grad=True), lib.tensor(w0, requires_grad=True)
        y = POLE[pole](lib, t)
        g, = lib.autograd.grad((y * w).sum(), t, create_graph=True)
        res[lib] = (g.detach(), *lib.autograd.grad((g * g).sum(), (t, w)))
    assert_close(res[jtorch], res[torch], rtol=1e-10, atol=1e-12)

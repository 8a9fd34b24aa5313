"""torch.export derived dimensions (``2 * dx``, ``dx + 1``, ``dx * 2 - 1``) and Dim hints, through torch and
jtorch on the same modules and seeded inputs: range_constraints, errors at export and at run, results."""
import io
import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.export as tex
from torch.fx.experimental.symbolic_shapes import ConstraintViolationError as TViolation

import jtorch
import jtorch.export as jex
from jtorch.fx.experimental.symbolic_shapes import ConstraintViolationError as JViolation

LIBS = ((torch, tex), (jtorch, jex))


def _modules(T):
    class Halves(T.nn.Module):  # y is twice as long as x: its halves around x's length
        def forward(self, x, y):
            return x.sum() + y[: x.shape[0]].sum() * 2 + y[x.shape[0]:].sum()

    class Sums(T.nn.Module):
        def forward(self, x, y):
            return x.sum() + y.sum()

    class Double(T.nn.Module):
        def forward(self, x):
            return x * 2

    class Branch(T.nn.Module):  # a guard on the size narrows the range of dx (known through 2 * dx only)
        def forward(self, x):
            return x * 2 if x.shape[0] > 10 else x + 1

    class Concat(T.nn.Module):  # needs len(y) == 2 * len(x)
        def forward(self, x, y):
            return T.cat([x, x.flip(0)]) * y
    return dict(halves=Halves(), sums=Sums(), double=Double(), concat=Concat(), branch=Branch())


def _canon(text):
    """torch's symbols (s77, s95...) and sources (L['y']) as jtorch writes them: s0, s1... in order of
    appearance, and y."""
    names = {}
    text = re.sub(r"L\['(\w+)'\]", r"\1", text)
    return re.sub(r"\bs\d+\b", lambda m: names.setdefault(m.group(), f"s{len(names)}"), text)


def _inputs(rng, *sizes):
    arrs = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    return tuple(torch.tensor(a) for a in arrs), tuple(jtorch.tensor(a) for a in arrs)


def _dims(ex, kind):
    dx = ex.Dim("dx", min=2, max=32)
    return {
        "twice": {"x": {0: dx}, "y": {0: 2 * dx}},
        "plus_one": {"x": {0: dx}, "y": {0: dx + 1}},
        "odd": {"x": {0: dx}, "y": {0: dx * 2 - 1}},
        "only_derived": {"x": {0: 2 * dx}},
        "two_derived": {"x": {0: 2 * dx}, "y": {0: 2 * dx + 1}},
        "composed": {"x": {0: dx}, "y": {0: (dx + 1) * 2 - 2}},
        "unbounded": {"x": {0: ex.Dim("a")}, "y": {0: ex.Dim("a") * 3}},  # one Dim by name
    }[kind]


def _export(ex, mod, args, dyn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ex.export(mod, args, dynamic_shapes=dyn)


# (module, dims, example sizes, other sizes it accepts, sizes it refuses)
CASES = [
    ("halves", "twice", (4, 8), (5, 10), [(5, 11), (40, 80), (5, 8)]),
    ("sums", "plus_one", (4, 5), (9, 10), [(4, 6)]),
    ("sums", "odd", (4, 7), (6, 11), [(4, 6)]),
    ("double", "only_derived", (8,), (12,), [(80,), (2,)]),
    ("sums", "two_derived", (8, 9), (6, 7), [(8, 8)]),
    ("halves", "composed", (4, 8), (6, 12), [(4, 9)]),
    ("sums", "unbounded", (4, 12), (7, 21), [(4, 13)]),
    ("concat", "twice", (4, 8), (7, 14), [(7, 15)]),
]


@pytest.mark.parametrize("mod,kind,sizes,other,bad", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_derived_dims_match_torch(mod, kind, sizes, other, bad, rng):
    eps = []
    for (T, ex), args in zip(LIBS, _inputs(rng, *sizes)):
        eps.append(_export(ex, _modules(T)[mod], args, _dims(ex, kind)))
    want, got = eps
    assert str(got.range_constraints) == _canon(str(want.range_constraints))
    assert f"Range constraints: {got.range_constraints}" in str(got)
    t_args, j_args = _inputs(rng, *other)
    np.testing.assert_allclose(got.module()(*j_args).numpy(), want.module()(*t_args).numpy(), rtol=1e-5)
    for b in bad:
        t_args, j_args = _inputs(rng, *b)
        with pytest.raises(AssertionError) as expected:
            want.module()(*t_args)
        with pytest.raises(AssertionError) as err:
            got.module()(*j_args)
        assert _sides(str(err.value)) == _sides(_canon(str(expected.value)))


def _sides(message):
    """A failed guard's two sides (torch writes an equality either way round, as its solver found it)."""
    return sorted(message.removeprefix("Guard failed: ").split(" == "))


def test_guard_narrows_a_root_known_through_derived_dims_only(rng):
    eps = []
    for (T, ex), args in zip(LIBS, _inputs(rng, 8)):
        eps.append(_export(ex, _modules(T)["branch"], args, _dims(ex, "only_derived")))
    want, got = eps
    assert str(got.range_constraints) == _canon(str(want.range_constraints))  # {2*s0: VR[4, 64], s0: VR[2, 5]}
    t_args, j_args = _inputs(rng, 6)
    np.testing.assert_allclose(got.module()(*j_args).numpy(), want.module()(*t_args).numpy(), rtol=1e-6)


def test_derived_dims_survive_save_and_load(rng):
    (_, t_args), (_, j_args) = [(None, a) for a in _inputs(rng, 4, 8)]
    ep = _export(jex, _modules(jtorch)["halves"], j_args, _dims(jex, "twice"))
    buf = io.BytesIO()
    jex.save(ep, buf)
    buf.seek(0)
    loaded = jex.load(buf)
    assert str(loaded.range_constraints) == str(ep.range_constraints)
    with pytest.raises(AssertionError, match=re.escape("Guard failed: y.size()[0] == 2 * x.size()[0]")):
        loaded.module()(*_inputs(rng, 5, 11)[1])


# (module, dims, example sizes): exports torch refuses
REFUSED = [
    ("halves", "twice", (4, 9)),  # y is not 2 * dx
    ("sums", "plus_one", (4, 4)),
    ("double", "only_derived", (7,)),  # no integer dx
    ("double", "only_derived", (70,)),  # 2 * dx beyond [4, 64]
]


@pytest.mark.parametrize("mod,kind,sizes", REFUSED, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in REFUSED])
def test_examples_that_break_the_relation_raise_like_torch(mod, kind, sizes, rng):
    errors = []
    for (T, ex), args in zip(LIBS, _inputs(rng, *sizes)):
        with pytest.raises(Exception) as e:
            _export(ex, _modules(T)[mod], args, _dims(ex, kind))
        errors.append(e.value)
    want, got = errors
    if isinstance(want, TViolation):
        assert isinstance(got, JViolation)
    else:
        assert isinstance(got, jtorch._dynamo.exc.UserError)
        assert isinstance(want, torch._dynamo.exc.UserError)
        assert got.error_type.name == want.error_type.name == "CONSTRAINT_VIOLATION"
    assert str(got).splitlines()[0] == _canon(str(want).splitlines()[0])


def test_example_outside_a_dims_range_raises_like_torch(rng):
    errors = []
    for (T, ex), args in zip(LIBS, _inputs(rng, 40)):
        with pytest.raises(Exception) as e:
            _export(ex, _modules(T)["double"], args, {"x": {0: ex.Dim("dx", min=2, max=32)}})
        errors.append(e.value)
    assert isinstance(errors[0], TViolation) and isinstance(errors[1], JViolation)
    assert str(errors[1]).splitlines()[0] == str(errors[0]).splitlines()[0] == "40 not in range [2, 32]"


def test_dims_of_one_name_are_one(rng):
    results = []
    for (T, ex), args in zip(LIBS, _inputs(rng, 4, 5)):
        with pytest.raises(Exception) as e:  # sizes 4 and 5 for one Dim
            _export(ex, _modules(T)["sums"], args, {"x": {0: ex.Dim("a")}, "y": {0: ex.Dim("a")}})
        results.append(e.value)
    for (T, ex), args in zip(LIBS, _inputs(rng, 4, 4)):
        with pytest.raises(Exception) as e:  # one name, two ranges
            _export(ex, _modules(T)["sums"], args, {"x": {0: ex.Dim("a", max=9)}, "y": {0: ex.Dim("a", max=10)}})
        results.append(e.value)
    want_sizes, got_sizes, want_defs, got_defs = results
    assert got_sizes.error_type.name == want_sizes.error_type.name == "CONSTRAINT_VIOLATION"
    assert str(got_sizes).splitlines()[0] == _canon(str(want_sizes).splitlines()[0])
    assert got_defs.error_type.name == want_defs.error_type.name == "INVALID_INPUT"
    assert str(got_defs).splitlines()[0] == str(want_defs).splitlines()[0]


def test_dim_arithmetic_matches_torch():
    for make in (lambda D: 2 * D("d", max=10), lambda D: D("d", max=10) + 1, lambda D: D("d", min=3) * 2 - 1,
                 lambda D: (D("d", max=10) + 1) * 2 - 2, lambda D: 2 * (D("d") + 1), lambda D: 3 + D("d", max=7),
                 lambda D: D("d", min=4, max=10) - 3):
        want, got = make(tex.Dim), make(jex.Dim)
        # (an unbounded max: torch's int_oo, jtorch's math.inf)
        assert (repr(got), got.__name__, got.min, "int_oo" if got.max == math.inf else str(got.max),
                got.root.__name__) == (repr(want), want.__name__, want.min, str(want.max), want.root.__name__)
        assert isinstance(got, jex.Dim)
    for bad in (lambda D: D("d") * D("d"), lambda D: D("d") * 1.5, lambda D: D("d") + D("d"), lambda D: D("d") * 0,
                lambda D: 1 - D("d"), lambda D: D("d") - 0.5):
        with pytest.raises(NotImplementedError) as expected:
            bad(tex.Dim)
        with pytest.raises(NotImplementedError) as err:
            bad(jex.Dim)
        assert str(err.value) == str(expected.value)
    for bad in (lambda D: (D("d") - 1).min, lambda D: D("1d"), lambda D: D("d", min=5, max=4)):
        with pytest.raises(AssertionError) as expected:
            bad(tex.Dim)
        with pytest.raises(AssertionError) as err:
            bad(jex.Dim)
        assert str(err.value) == str(expected.value)


@pytest.mark.parametrize("hints", [("AUTO", "DYNAMIC"), ("STATIC", "DYNAMIC"), ("AUTO", "STATIC")])
def test_dim_hints_match_torch(hints, rng):
    eps = []
    for (T, ex), args in zip(LIBS, _inputs(rng, 4, 5)):
        dyn = {"x": (getattr(ex.Dim, hints[0]),), "y": (getattr(ex.Dim, hints[1]),)}
        eps.append(_export(ex, _modules(T)["sums"], args, dyn))
    want, got = eps
    assert str(got.range_constraints) == _canon(str(want.range_constraints))
    t_args, j_args = _inputs(rng, 4, 5)
    np.testing.assert_allclose(got.module()(*j_args).numpy(), want.module()(*t_args).numpy(), rtol=1e-5)

"""Bad arguments op_db's error inputs do not cover, torch as the oracle (exception types compared): Python
numbers where torch's signature wants a Tensor (OpDef.tensors), Tensor methods called on a number, ``out=``
tensors that overlap an input or hold an element twice, wrong ``out=`` dtypes, random samplers' parameters,
and linspace's ``steps``."""
import math

import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close


def _kind(f):
    """The exception type ``f()`` raises, or None."""
    try:
        f()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e)
    return None


def _same_outcome(call, *args):
    """``call(lib, *args)`` raises the same exception type (or none) in torch and jtorch; the outcome."""
    want = _kind(lambda: call(torch, *args))
    got = _kind(lambda: call(jtorch, *args))
    assert got is want, (want, got)
    return want


def _fn(lib, name):
    for part in name.split("."):
        lib = getattr(lib, part)
    return lib


# (op, operand dtype): binary ops of each kind torch's overloads make: numbers on either side but not both
# (pow, remainder, bitwise, xlogy), on the right only (fmod, copysign, comparisons), nowhere (atan2, maximum,
# igamma), anywhere (add, mul, div)
_BINARY = [("pow", "f"), ("remainder", "f"), ("float_power", "f"), ("bitwise_and", "i"), ("bitwise_left_shift", "i"),
           ("xlogy", "f"), ("special.xlogy", "f"), ("fmod", "f"), ("copysign", "f"), ("eq", "f"), ("lt", "f"),
           ("ge", "f"), ("atan2", "f"), ("maximum", "f"), ("fmin", "f"), ("logaddexp", "f"), ("igamma", "f"),
           ("special.gammaincc", "f"), ("special.zeta", "f"), ("special.hermite_polynomial_he", "f"),
           ("add", "f"), ("mul", "f"), ("div", "f"), ("floor_divide", "f"), ("clamp_min", "f"), ("clamp_max", "f")]


def test_numbers_where_torch_wants_a_tensor(rng):
    x = rng.uniform(0.5, 2.0, (4,)).astype(np.float32)
    n = rng.integers(1, 5, (4,)).astype(np.int64)
    raised = set()
    for name, kind in _BINARY:
        arr = x if kind == "f" else n
        a, b = (2.5, 1.5) if kind == "f" else (3, 2)
        for left, right in ((arr, b), (a, arr), (a, b)):
            def call(lib, left=left, right=right):
                wrap = (lambda v: lib.tensor(v) if isinstance(v, np.ndarray) else v)
                return _fn(lib, name)(wrap(left), wrap(right))
            if _same_outcome(call) is TypeError:
                raised.add((name, type(left) is np.ndarray, type(right) is np.ndarray))
    assert ("atan2", True, False) in raised and ("pow", False, False) in raised and ("eq", False, True) in raised
    assert not any(name in ("add", "mul", "div") for name, _, _ in raised)


@pytest.mark.parametrize("name", ["sin", "exp", "abs", "sigmoid", "special.i0e", "special.erfcx", "special.bessel_y0",
                                  "clamp", "nn.functional.relu", "nn.functional.elu", "nn.functional.gelu"])
def test_unary_ops_want_a_tensor(rng, name):
    x = rng.standard_normal((4,)).astype(np.float32)
    for arg in (0.5, 2, True):
        assert _same_outcome(lambda lib, a=arg: _fn(lib, name)(a, *([0.0] if name == "clamp" else []))) is TypeError
    t = jtorch.tensor(x)
    res = _fn(jtorch, name)(t, *([0.0] if name == "clamp" else []))
    assert_close(res, _fn(torch, name)(torch.tensor(x), *([0.0] if name == "clamp" else [])))


def test_in_place_and_method_forms(rng):
    x = rng.uniform(0.5, 2.0, (4,)).astype(np.float32)
    cases = [lambda lib, t: t.igamma(2.0), lambda lib, t: t.igamma_(2.0), lambda lib, t: t.atan2_(1.0),
             lambda lib, t: t.pow_(2.0), lambda lib, t: t.eq_(1.0), lambda lib, t: lib.Tensor.add(2, t),
             lambda lib, t: lib.Tensor.sin(2.0), lambda lib, t: lib.Tensor.__radd__(2, t),
             lambda lib, t: lib.Tensor.__rmul__(2.0, 3), lambda lib, t: lib.Tensor.__rxor__(True, t > 1),
             lambda lib, t: lib.Tensor.__rdiv__(2, t), lambda lib, t: t.__rdiv__(2),
             lambda lib, t: lib.rsub(2, t), lambda lib, t: lib.rsub(t, 2), lambda lib, t: lib.rsub(2, 3),
             lambda lib, t: 2 - t, lambda lib, t: 2 ** t, lambda lib, t: 2 % t, lambda lib, t: 2 < t]
    for case in cases:
        _same_outcome(lambda lib: case(lib, lib.tensor(x.copy())))
    p = jtorch.nn.Parameter(jtorch.tensor(x))
    assert_close(p.add(1.0).detach(), torch.tensor(x) + 1)


def _out_cases():
    """(name, call(lib, x, idx) with an ``out=`` built from x): overlapping, expanded, wrongly typed outs."""
    yield "add partial overlap", lambda lib, x, i: lib.add(x[:3], 1.0, out=x[1:4])
    yield "add full alias", lambda lib, x, i: lib.add(x[:3], 1.0, out=x[:3])
    yield "sin expanded out", lambda lib, x, i: lib.sin(x[:3], out=lib.empty(1).expand(3))
    yield "mul int out", lambda lib, x, i: lib.mul(x, x, out=lib.empty(6, dtype=lib.float64))
    yield "gather float64 out", lambda lib, x, i: lib.gather(x, 0, i, out=lib.empty(3, dtype=lib.float64))
    yield "gather into input", lambda lib, x, i: lib.gather(x, 0, i, out=x[3:])
    yield "index_select int out", lambda lib, x, i: lib.index_select(x, 0, i, out=lib.empty(3, dtype=lib.int64))
    yield "take into other half", lambda lib, x, i: lib.take(x[:3], i, out=x[3:])
    yield "masked_select into input", lambda lib, x, i: lib.masked_select(x, x > 0, out=x)
    yield "cat into input", lambda lib, x, i: lib.cat([x[:3], x[:3]], out=x)
    yield "cat int out", lambda lib, x, i: lib.cat([x, x], out=lib.empty(12, dtype=lib.int64))
    yield "stack expanded out", lambda lib, x, i: lib.stack([x, x], out=lib.empty(6).expand(2, 6))
    yield "stack float64 out", lambda lib, x, i: lib.stack([x, x], out=lib.empty(2, 6, dtype=lib.float64))
    yield "kthvalue into input", lambda lib, x, i: lib.kthvalue(x.view(2, 3), 2,
                                                                out=(x[:2], lib.empty(2, dtype=lib.int64)))
    yield "multinomial int32 out", lambda lib, x, i: lib.multinomial(x.abs(), 2, out=lib.empty(2, dtype=lib.int32))
    yield "multinomial expanded out", lambda lib, x, i: lib.multinomial(x.abs(), 2,
                                                                     out=lib.empty(1, dtype=lib.int64).expand(2))
    yield "bernoulli full alias", lambda lib, x, i: lib.bernoulli(x.clamp(0, 1), out=x)


@pytest.mark.parametrize("case", list(_out_cases()), ids=[c[0] for c in _out_cases()])
def test_out_overlap_and_dtype(rng, case):
    _, call = case
    x = rng.uniform(0.1, 1.0, (6,)).astype(np.float32)
    idx = rng.integers(0, 3, (3,)).astype(np.int64)
    _same_outcome(lambda lib: call(lib, lib.tensor(x.copy()), lib.tensor(idx)))


def test_out_written_where_torch_writes_it(rng):
    """take, cat and stack write their ``out=`` (values compared); bernoulli's and multinomial's hold draws."""
    x = rng.standard_normal((6,)).astype(np.float32)
    idx = rng.integers(-6, 6, (4,)).astype(np.int64)
    results = []
    for lib in (torch, jtorch):
        t, i = lib.tensor(x), lib.tensor(idx)
        outs = [lib.empty(4), lib.empty(12, dtype=lib.float64), lib.empty(2, 6)]
        r = [lib.take(t, i, out=outs[0]), lib.cat([t, t], out=outs[1]), lib.stack([t, -t], out=outs[2])]
        assert all(a is b for a, b in zip(r, outs))
        results.append(outs)
    for j, t in zip(results[1], results[0]):
        assert_close(j, t)
    o = jtorch.empty(6)
    assert jtorch.bernoulli(jtorch.tensor(np.abs(x) / 3), out=o) is o and set(o.tolist()) <= {0.0, 1.0}
    o = jtorch.empty(2, dtype=jtorch.int64)
    assert jtorch.multinomial(jtorch.tensor(np.abs(x)), 2, out=o) is o and len(set(o.tolist())) == 2


_SAMPLERS = [("cauchy_", (0.0, s)) for s in (1.5, 0.0, -2.0, math.nan)] + \
    [("exponential_", (v,)) for v in (0.5, 0.0, -1.0, math.nan, math.inf)] + \
    [("geometric_", (p,)) for p in (0.3, 0.0, 1.0, 1.5, math.nan)] + \
    [("log_normal_", (1.0, s)) for s in (0.5, 0.0, -1.0)] + \
    [("normal_", (0.0, s)) for s in (0.0, -0.5, math.nan)] + \
    [("uniform_", ab) for ab in ((1.0, 1.0), (2.0, -1.0), (-1.0, 2.0))]


def test_random_sampler_parameters():
    for name, args in _SAMPLERS:
        _same_outcome(lambda lib: getattr(lib.empty(5), name)(*args))
    for lower, upper, training in ((0.3, 0.1, False), (0.3, 0.1, True), (0.2, 0.2, True)):
        _same_outcome(lambda lib: lib.nn.functional.rrelu(lib.ones(3), lower, upper, training=training))


def test_linspace_steps():
    for steps in (3, np.int64(4), 2.0, True, "3"):
        for name in ("linspace", "logspace"):
            if _same_outcome(lambda lib: getattr(lib, name)(0.0, 2.0, steps)) is None:
                assert_close(getattr(jtorch, name)(0.0, 2.0, steps), getattr(torch, name)(0.0, 2.0, steps))
    assert_close(jtorch.linspace(-1.0, 1.0, jtorch.tensor(5)), torch.linspace(-1.0, 1.0, torch.tensor(5)))


def test_cat_and_stack_lists():
    for name in ("cat", "stack", "vstack", "dstack"):
        for arg in ([], [None], "rows"):
            _same_outcome(lambda lib: getattr(lib, name)([lib.ones(2, 2), None] if arg == [None] else
                                                         arg if arg == [] else lib.ones(2)))

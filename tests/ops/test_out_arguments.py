"""``out=`` across functions, torch as the oracle: for each call, an ``out`` of the right shape, an empty one, a
wrongly sized one with elements (resized, with torch's warning where torch warns) and one of another dtype;
compared: the exception type, whether the result is ``out`` (or its named tuple), ``out``'s shape, dtype and
values, and the resize warning. Tensor methods take no ``out=``."""
import warnings

import numpy as np
import torch

import jtorch


def _call(lib, f, out):
    """(result, exception type, whether a resize warning was raised) of ``f(lib, out)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res, err = f(lib, out), None
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            res, err = None, type(e)
    return res, err, any("was resized" in str(w.message) for w in caught)


def _outs(lib, like, kind):
    """An ``out=`` for a result like ``like`` (a torch tensor, or a tuple/list of them)."""
    if isinstance(like, (tuple, list)):
        return type(like)(_outs(lib, x, kind) for x in like)
    dt = getattr(lib, str(like.dtype).split(".")[-1])
    if kind == "right":
        return lib.zeros(tuple(like.shape), dtype=dt)
    if kind == "empty":
        return lib.zeros(0, dtype=dt)
    if kind == "wrong size":
        return lib.zeros(7, dtype=dt)
    other = lib.int32 if like.dtype.is_floating_point else lib.float32 if like.dtype != torch.bool else lib.int32
    return lib.zeros(tuple(like.shape), dtype=other)


def _same_out(name, t_res, j_res, t_out, j_out, random):
    if isinstance(t_out, (tuple, list)):
        assert (t_res is None) == (j_res is None), name
        if t_res is not None:
            assert all(a is b for a, b in zip(j_res, j_out)), name
            assert (type(t_res) is tuple) == (type(j_res) is tuple), name  # (a named tuple where torch has one)
        for t, j in zip(t_out, j_out):
            _same_out(name, None, None, t, j, random)
        return
    if t_res is not None:
        assert (j_res is j_out) == (t_res is t_out), name
    assert tuple(j_out.shape) == tuple(t_out.shape) and str(j_out.dtype) == str(t_out.dtype), name
    if not random:
        np.testing.assert_allclose(np.asarray(j_out), t_out.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)


def _cases(x, y, m, v):
    """(name, call(lib, out), random): ``x``, ``y`` (3, 4) float32 arrays, ``m`` (4, 4), ``v`` (4,)."""
    def T(lib, a):
        return lib.tensor(a)
    yield "add", lambda lib, o: lib.add(T(lib, x), T(lib, y), out=o), False
    yield "sin", lambda lib, o: lib.sin(T(lib, x), out=o), False
    yield "mm", lambda lib, o: lib.mm(T(lib, x), T(lib, m), out=o), False
    yield "matmul", lambda lib, o: lib.matmul(T(lib, x), T(lib, v), out=o), False
    yield "cumsum", lambda lib, o: lib.cumsum(T(lib, x), 1, out=o), False
    yield "amax", lambda lib, o: lib.amax(T(lib, x), 0, out=o), False
    yield "softmax", lambda lib, o: lib.softmax(T(lib, x), 1, out=o), False
    yield "tensordot", lambda lib, o: lib.tensordot(T(lib, x), T(lib, m), 1, out=o), False
    yield "polygamma", lambda lib, o: lib.polygamma(1, T(lib, np.abs(x) + 1), out=o), False
    yield "argmax", lambda lib, o: lib.argmax(T(lib, x), 1, out=o), False
    yield "all", lambda lib, o: lib.all(T(lib, x > 0), 1, out=o), False
    yield "isin", lambda lib, o: lib.isin(T(lib, x), T(lib, y), out=o), False
    yield "bucketize", lambda lib, o: lib.bucketize(T(lib, x), T(lib, np.sort(v)), out=o), False
    yield "max dim", lambda lib, o: lib.max(T(lib, x), 1, out=o), False
    yield "aminmax", lambda lib, o: lib.aminmax(T(lib, x), dim=0, out=o), False
    yield "sort", lambda lib, o: lib.sort(T(lib, x), 1, out=o), False
    yield "hstack", lambda lib, o: lib.hstack([T(lib, x), T(lib, y)], out=o), False
    yield "vstack", lambda lib, o: lib.vstack([T(lib, x), T(lib, y)], out=o), False
    yield "dstack", lambda lib, o: lib.dstack([T(lib, x), T(lib, y)], out=o), False
    yield "column_stack", lambda lib, o: lib.column_stack([T(lib, v), T(lib, v)], out=o), False
    yield "diagonal_copy", lambda lib, o: lib.diagonal_copy(T(lib, m), out=o), False
    yield "expand_copy", lambda lib, o: lib.expand_copy(T(lib, v), (2, 4), out=o), False
    yield "unbind_copy", lambda lib, o: lib.unbind_copy(T(lib, x), out=o), False
    yield "zeros", lambda lib, o: lib.zeros(2, 3, out=o), False
    yield "ones", lambda lib, o: lib.ones((2, 3), out=o), False
    yield "full", lambda lib, o: lib.full((2, 3), 2.0, out=o), False
    yield "full dtype", lambda lib, o: lib.full((2, 3), 2.0, dtype=lib.float32, out=o), False
    yield "linspace", lambda lib, o: lib.linspace(0, 1, 5, out=o), False
    yield "logspace", lambda lib, o: lib.logspace(0, 1, 5, out=o), False
    yield "empty", lambda lib, o: lib.empty(2, 3, out=o), True
    yield "rand", lambda lib, o: lib.rand(2, 3, out=o), True
    yield "randn", lambda lib, o: lib.randn(2, 3, dtype=lib.float32, out=o), True
    yield "randint", lambda lib, o: lib.randint(0, 5, (2, 3), out=o), True
    yield "randperm", lambda lib, o: lib.randperm(5, out=o), True
    yield "normal", lambda lib, o: lib.normal(0.0, 1.0, (2, 3), out=o), True


def test_out_arguments_follow_torch(rng):
    x, y = rng.standard_normal((2, 3, 4)).astype(np.float32)
    m = rng.standard_normal((4, 4)).astype(np.float32)
    v = rng.standard_normal(4).astype(np.float32)
    for name, call, random in _cases(x, y, m, v):
        like = call(torch, None)
        for kind in ("right", "empty", "wrong size", "wrong dtype"):
            t_out, j_out = _outs(torch, like, kind), _outs(jtorch, like, kind)
            t_res, t_err, t_warned = _call(torch, call, t_out)
            j_res, j_err, j_warned = _call(jtorch, call, j_out)
            label = f"{name}, {kind} out"
            assert j_err is t_err, (label, t_err, j_err)
            assert j_warned == t_warned, (label, t_warned, j_warned)
            if t_err is None:
                _same_out(label, t_res, j_res, t_out, j_out, random)


def test_out_of_another_type_is_a_type_error(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    for lib in (torch, jtorch):
        x = lib.tensor(a)
        t = lib.zeros(3)
        cases = [(lambda o: lib.mm(x, x.t(), out=o), [np.zeros((3, 3), np.float32), [t]]),
                 (lambda o: lib.sin(x, out=o), [(t,), 2.5]),
                 (lambda o: lib.zeros(2, out=o), [[t], np.zeros(2)]),
                 (lambda o: lib.max(x, 1, out=o), [t, (1, 2)]),
                 (lambda o: lib.cumsum(x, 0, out=o), [[1.0]]),
                 (lambda o: lib.hstack([x], out=o), [3]),
                 (lambda o: lib.unbind_copy(x, out=o), [t])]
        for call, outs in cases:
            for out in outs:
                try:
                    call(out)
                except TypeError:
                    continue
                raise AssertionError(f"{lib.__name__}: out={type(out).__name__} accepted")


def test_methods_take_no_out(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    for name, args in [("add", (1.0,)), ("amax", (0,)), ("aminmax", ()), ("cumsum", (0,)), ("mm", None),
                       ("sum", (0,))]:
        for lib in (torch, jtorch):
            x = lib.tensor(a)
            out = lib.zeros(4) if name != "aminmax" else (lib.zeros(()), lib.zeros(()))
            call_args = (x.t(),) if args is None else args
            try:
                getattr(x, name)(*call_args, out=out)
            except TypeError:
                continue
            raise AssertionError(f"{lib.__name__}: Tensor.{name} took out=")

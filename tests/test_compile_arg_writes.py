"""jtorch.compile writes in-place changes of a function's tensor arguments back into the caller's
tensors on every call (plain tensors, views, index writes), as eager torch leaves them."""
import numpy as np
import torch

import jtorch


def _add_then_double(a):
    a.add_(1)
    return a * 2


def _index_and_copy(x, b):
    b.copy_(x + 1)
    x[0] = 5
    return b.sum()


def _through_view(v):
    v.mul_(2).add_(1)
    return v.sum()


def _run(lib, fn, make_args, compiled, calls=3):
    f = lib.compile(fn) if compiled else fn
    args = make_args(lib)
    outs = [f(*args) for _ in range(calls)]
    return [o.numpy().copy() for o in outs], [a.numpy().copy() for a in args]


def _check(fn, make_args):
    ref_outs, ref_args = _run(torch, fn, make_args, compiled=False)
    for compiled in (False, True):
        outs, args = _run(jtorch, fn, make_args, compiled)
        for a, b in zip(outs + args, ref_outs + ref_args):
            np.testing.assert_allclose(a, b, rtol=1e-6)


def test_written_argument(rng):
    x = rng.standard_normal(5).astype(np.float32)
    _check(_add_then_double, lambda lib: (lib.tensor(x),))


def test_index_write_and_copy_into_arguments(rng):
    x, b = rng.standard_normal((2, 4)).astype(np.float32)
    _check(_index_and_copy, lambda lib: (lib.tensor(x), lib.tensor(b)))


def test_written_view_argument_reaches_its_base(rng):
    base = rng.standard_normal(6).astype(np.float32)
    kept = {}

    def make(lib):
        kept[lib] = lib.tensor(base)
        return (kept[lib][1:4],)
    ref = _run(torch, _through_view, make, compiled=False)[0]
    ref_base = kept[torch].numpy().copy()
    for compiled in (False, True):
        outs = _run(jtorch, _through_view, make, compiled)[0]
        np.testing.assert_allclose(np.stack(outs), np.stack(ref), rtol=1e-6)
        np.testing.assert_allclose(kept[jtorch].numpy(), ref_base, rtol=1e-6)

"""jtorch.compile keeps the plan of how its tensor arguments go into the program (jtorch/_compile_args.py) and
reuses it for a call whose arguments have the same geometry; it must notice when a view's geometry, a base's
storage, a storage's contents, the aliasing between arguments or their requires_grad changed. And arguments that
require grad through no owner of their storage (a view made a leaf, a view of such a leaf, a second leaf on a
storage) get their own gradients, as in eager torch. Torch running the same function eagerly is the oracle."""
import warnings

import numpy as np
import torch

import jtorch


def _compiled(lib, fn):
    return fn if lib is torch else jtorch.compile(fn, fullgraph=True)


def _np(x):
    if x is None:
        return None
    return x.detach().numpy().copy() if hasattr(x, "detach") else x


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if isinstance(w, np.ndarray):
            assert isinstance(g, np.ndarray) and g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        else:
            assert g == w


def _both(run):
    """``run(lib)`` for torch (eager) and jtorch (compiled), which must give the same list of values."""
    results = {lib: run(lib) for lib in (torch, jtorch)}
    _assert_same(results[jtorch], results[torch])


def _scaled(v):
    return v * 2 + v.sum()


def test_repeat_call_reuses_the_plan_and_reads_the_storage_afresh(rng):
    data = rng.standard_normal((6, 4)).astype(np.float32)
    plans = []

    def run(lib):
        f = _compiled(lib, _scaled)
        base = lib.tensor(data)
        w = base[2:]
        seen = []
        for write in (None, lambda: base.add_(1), lambda: base.__setitem__(3, 5.0),
                      lambda: base[:, 1].mul_(-2), None):
            if write is not None:
                write()  # the storage's contents (its version) move; the view object stays
            seen.append(_np(f(w)))
            if lib is jtorch:
                plans.append(f._plans.last)
        if lib is jtorch:
            assert f.compiles == 1
        return seen
    _both(run)
    assert all(p is plans[1] for p in plans[1:])  # (the first call ran eagerly)


def test_views_at_other_positions_reuse_the_plan_with_their_positions(rng):
    data = rng.standard_normal((6, 3)).astype(np.float32)
    plans = []

    def run(lib):
        f = _compiled(lib, _scaled)
        base = lib.tensor(data)
        seen = []
        for i in (0, 1, 2, 1, 3, 0):
            seen.append(_np(f(base[i:i + 3])))
            if lib is jtorch:
                plans.append(f._plans.last)
        return seen
    _both(run)
    assert all(p is plans[1] for p in plans[1:])


def test_calls_alternating_between_geometries_keep_a_plan_for_each(rng):
    data = rng.standard_normal((4, 4)).astype(np.float32)
    plans = []

    def run(lib):
        f = _compiled(lib, _scaled)
        base = lib.tensor(data)
        flipped, sliced = base.t(), base[1:3]
        seen = []
        for i in range(6):
            if i == 3:
                base.mul_(-1)  # (the storage's contents move: read afresh under either plan)
            seen.append(_np(f(flipped if i % 2 == 0 else sliced)))
            if lib is jtorch:
                plans.append(f._plans.last)
        if lib is jtorch:
            assert f.compiles == 2
        return seen
    _both(run)
    # (the first call ran eagerly) one plan per geometry, each found again rather than rebuilt
    assert plans[2] is not plans[3] and all(p is plans[2 + i % 2] for i, p in enumerate(plans[2:]))


def _write_view(v):
    v.add_(1)
    return v * 2


def test_a_view_argument_given_another_geometry_between_calls(rng):
    data, other = rng.standard_normal((2, 6, 4)).astype(np.float32)

    def run(lib):
        f = _compiled(lib, _write_view)
        base, base2 = lib.tensor(data), lib.tensor(other)
        w = base[2:]
        seen = []
        for rebind in (None, None, lambda: base[1:5], lambda: base[1:5], lambda: base.t()[:, 1:5],
                       lambda: base2[2:], lambda: base2[:, :3].t().t()[0:4], None):
            if rebind is not None:
                w.data = rebind()  # the same tensor object, another offset, chain or storage
            seen += [_np(f(w)), _np(w), _np(base), _np(base2)]
        return seen
    _both(run)


def _write_both(v, b):
    v.mul_(2)
    return b * 1, v * 1


def test_the_base_given_another_storage_or_geometry(rng):
    data, other, third = rng.standard_normal((3, 3, 4)).astype(np.float32)

    def run(lib):
        f = _compiled(lib, _write_both)
        seen = []
        base = lib.tensor(data)
        w = base[1:]
        for change in (None, None, lambda: base.set_(lib.tensor(other)), None,
                       lambda: setattr(base, "data", lib.tensor(third)), None):
            if change is not None:
                change()  # w keeps the old storage; base has a new one (w no longer aliases it)
            seen += [_np(o) for o in f(w, base)] + [_np(w), _np(base)]
        base = lib.tensor(data)
        w = base[1:]
        for change in (None, None, lambda: base.resize_(2, 5), None):
            if change is not None:
                change()  # the same storage, base another geometry over it (w still overlaps it)
            seen += [_np(o) for o in f(w, base)] + [_np(w), _np(base)]
        return seen
    _both(run)


def _write_first(a, b):
    a.add_(1)
    return b * 1


def test_aliasing_between_arguments_changes_between_calls(rng):
    data, other, third = rng.standard_normal((3, 5, 3)).astype(np.float32)

    def run(lib):
        f = _compiled(lib, _write_first)
        x, y, z = lib.tensor(data), lib.tensor(other), lib.tensor(third)
        seen = []
        for a, b in ((x[:2], x[2:4]), (x[:2], x[2:4]), (y[:2], z[2:4]), (x[:2], x[1:3]), (x[1:3], x[:2]),
                     (y[:2], z[2:4]), (x[:2], x[1:3]), (z, z)):
            seen += [_np(f(a, b)), _np(x), _np(y), _np(z)]
        return seen
    _both(run)


def _by_offset(v):
    return v * v.storage_offset()


def test_positions_python_reads_follow_a_rebound_view(rng):
    data = rng.standard_normal((6, 2)).astype(np.float32)

    def run(lib):
        f = _compiled(lib, _by_offset)
        base = lib.tensor(data)
        w = base[1:4]
        seen = []
        for start in (1, 1, 2, 2, 0, 1):
            w.data = base[start:start + 3]
            seen.append(_np(f(w)))
        return seen
    _both(run)


def _sq(v):
    return (v * v).sum()


def test_requires_grad_of_the_base_changes_between_calls(rng):
    data = rng.standard_normal((4, 3)).astype(np.float32)

    def run(lib):
        f = _compiled(lib, _sq)
        base = lib.tensor(data)
        seen = [_np(f(base[1:])) for _ in range(3)]
        base.requires_grad_()
        for _ in range(3):
            base.grad = None
            out = f(base[1:])
            out.backward()
            seen += [_np(out), out.requires_grad, _np(base.grad)]
        return seen
    _both(run)


def _backward_inside(v):
    (v * v.sum()).sum().backward()
    return v * 1


def test_leaf_arguments_get_gradients_of_a_backward_inside(rng):
    data = rng.standard_normal((4, 3)).astype(np.float32)

    def run(lib):
        f = _compiled(lib, _backward_inside)
        base = lib.tensor(data)
        leaves = [lib.tensor(data[0], requires_grad=True), base[1:].detach().requires_grad_(),
                  base.t()[1].detach().requires_grad_()]  # a plain leaf, views made leaves
        seen = []
        for leaf in leaves:
            grads = []
            for _ in range(3):
                leaf.grad = None
                seen.append(_np(f(leaf)))
                grads.append(leaf.grad)
                seen.append(_np(leaf.grad))
            seen.append(grads[1] is grads[2])  # a new .grad each call
            seen += [_np(f(leaf)), _np(leaf.grad)]  # accumulated into the one there
        w = lib.tensor(data, requires_grad=True)
        for _ in range(3):
            w.grad = None
            seen += [_np(f(w[1:3].t())), _np(w.grad)]  # a view argument: the gradient reaches its base
        seen += [_np(f(w[1:3].t())), _np(w.grad)]
        return seen + [_np(base)]
    _both(run)


def _product(a, c):
    return (a * c * c).sum()


def test_views_of_a_leaf_view_and_two_leaves_on_one_storage(rng):
    data = rng.standard_normal((3, 4)).astype(np.float32)

    def run(lib):
        seen = []
        f = _compiled(lib, _sq)
        u = lib.tensor(data)[1:].detach().requires_grad_()
        for _ in range(3):
            u.grad = None
            f(u[0]).backward()  # the gradient reaches u through the view's history
            seen.append(_np(u.grad))
        g = _compiled(lib, _product)
        a = lib.tensor(data, requires_grad=True)
        c = a.detach().requires_grad_()  # another leaf on a's storage: its gradient is its own
        for _ in range(3):
            a.grad = c.grad = None
            g(a, c).backward()
            seen += [_np(a.grad), _np(c.grad)]
        return seen
    _both(run)


def _write_leaf(v):
    with (torch if isinstance(v, torch.Tensor) else jtorch).no_grad():
        v.mul_(2)
    return v * 3


def _write_leaf_read_base(v, b):
    return _write_leaf(v), b * 1


def test_a_write_to_a_leaf_view_reaches_its_base(rng):
    data = rng.standard_normal((3, 4)).astype(np.float32)

    def run(lib):
        seen = []
        for fn, fullgraph in ((_write_leaf, True), (_write_leaf_read_base, False)):
            # (with its base as an argument too, the program would not see the write through the base: eager)
            f = fn if lib is torch else jtorch.compile(fn, fullgraph=fullgraph)
            base = lib.tensor(data)
            v = base[1:].detach().requires_grad_()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (jtorch's graph break warning)
                for _ in range(3):
                    outs = f(v) if fn is _write_leaf else f(v, base)
                    out = outs if fn is _write_leaf else outs[0]
                    seen += [_np(o) for o in (outs if fn is _write_leaf_read_base else [outs])]
                    seen += [out.requires_grad, _np(base), _np(v)]
        return seen
    _both(run)


def _detached_square(w):
    return (w.detach() * w).sum()


def test_the_backward_of_a_compiled_forward_stops_at_detach(rng):
    data = rng.standard_normal((2, 3)).astype(np.float32)

    def run(lib):
        f = _compiled(lib, _detached_square)
        w = lib.tensor(data, requires_grad=True)
        seen = []
        for _ in range(3):
            w.grad = None
            f(w).backward()
            seen.append(_np(w.grad))
        return seen
    _both(run)


def test_a_backward_inside_reaching_a_non_leaf_argument_runs_eagerly(rng):
    data = rng.standard_normal(5).astype(np.float32)

    def run(lib):
        f = _backward_inside if lib is torch else jtorch.compile(_backward_inside)
        x = lib.tensor(data, requires_grad=True)
        seen = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (jtorch's graph break warning)
            for _ in range(3):
                x.grad = None
                seen += [_np(f(x * 2)), _np(x.grad)]
        return seen
    _both(run)

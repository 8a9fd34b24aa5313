"""jtorch.compile with view arguments and arguments sharing a storage (jtorch/_compile_args.py): each goes in
as its storage's root and is rebuilt in the trace, so storage-level reads (as_strided, stride, storage_offset,
_base) and writes through one alias behave as eager torch's (the oracle), and so does the caller's base
afterwards. Each compiled function is called three times: the first call is eager, the others run the program."""
import warnings

import numpy as np
import pytest
import torch

import jtorch


def _compiled(lib, fn):
    if lib is torch:
        return fn
    return jtorch.compile(fn, fullgraph=True)


def _np(x):
    return x.detach().numpy().copy() if hasattr(x, "detach") else x


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if isinstance(w, np.ndarray):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-6)
        else:
            assert g == w


def _views(base):
    return base[1:3], base.t(), base.diagonal()


def _write_each(v1, v2, v3):
    v1.add_(1)
    v2.mul_(2)
    v3.sub_(3)
    return v1 * 1


def test_writes_through_view_arguments_reach_bases_and_other_views(rng):
    data = rng.standard_normal((3, 3, 3)).astype(np.float32)
    results = {}
    for lib in (torch, jtorch):
        f = _compiled(lib, _write_each)
        seen = []
        for _ in range(3):
            bases = [lib.tensor(d) for d in data]
            other = [b[:, 1] for b in bases]  # views the function never sees
            out = f(*(_views(b)[k] for k, b in enumerate(bases)))
            seen += [_np(out)] + [_np(b) for b in bases] + [_np(o) for o in other]
        results[lib] = seen
    _assert_same(results[jtorch], results[torch])


def _storage_reads(v):
    a = v.as_strided((2, 2), (1, 2))  # from the view's own storage offset
    b = v.as_strided((2, 2), (1, 2), 0)  # the storage's first elements: outside the view
    return a, b, v.stride(), v.storage_offset(), v.is_contiguous(), v._base is not None, tuple(v._base.shape)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_as_strided_and_geometry_of_a_partial_view_argument(which, rng):
    data = rng.standard_normal((4, 5)).astype(np.float32)
    results = {}
    for lib in (torch, jtorch):
        f = _compiled(lib, _storage_reads)
        results[lib] = [_np(r) for _ in range(3) for r in f((lib.tensor(data)[1:3], lib.tensor(data)[:, 2],
                                                              lib.tensor(data).diagonal(1))[which])]
    _assert_same(results[jtorch], results[torch])


def _aliased(a, r):
    r.mul_(3)  # seen through a
    a.add_(1)  # seen through r
    return a * 1, r * 1, r._base is a, a.untyped_storage().data_ptr() == r.untyped_storage().data_ptr()


def test_arguments_sharing_a_storage_see_each_others_writes(rng):
    data = rng.standard_normal((3, 4)).astype(np.float32)
    results = {}
    for lib in (torch, jtorch):
        seen = []
        for alias in (lambda a: a[0], lambda a: a.t()[1:]):
            f = _compiled(lib, _aliased)
            a = lib.tensor(data)
            for _ in range(3):
                seen += [_np(o) for o in f(a, alias(a))] + [_np(a)]
        results[lib] = seen
    _assert_same(results[jtorch], results[torch])
    # torch.compile itself gives the same values (it guards on the aliasing)
    f = torch.compile(_aliased, backend="eager")
    a = torch.tensor(data)
    seen = []
    for _ in range(3):
        seen += [_np(o) for o in f(a, a[0])] + [_np(a)]
    _assert_same(results[torch][:len(seen)], seen)


def _twice(a, b):
    a.mul_(2)
    return b + 1


def test_the_same_tensor_twice_and_its_detached_alias(rng):
    data = rng.standard_normal(5).astype(np.float32)
    results = {}
    for lib in (torch, jtorch):
        f = _compiled(lib, _twice)
        x, y, z = lib.tensor(data), lib.tensor(data), lib.tensor(data)
        seen = [_np(f(x, x)) for _ in range(3)] + [_np(f(x, x.detach())) for _ in range(2)]
        seen += [_np(f(y, z)) for _ in range(2)] + [_np(x), _np(y), _np(z)]
        results[lib] = seen
    _assert_same(results[jtorch], results[torch])


def _loss(xb, w):
    return (xb @ w).pow(2).mean()


def test_batch_slices_run_one_program_until_python_reads_an_offset(rng):
    data = rng.standard_normal((8, 3)).astype(np.float32)
    w = rng.standard_normal((3, 2)).astype(np.float32)
    f = jtorch.compile(_loss, fullgraph=True)
    jd, jw = jtorch.tensor(data), jtorch.tensor(w)
    got = [f(jd[i:i + 2], jw).item() for i in range(6)]
    want = [_loss(torch.tensor(data)[i:i + 2], torch.tensor(w)).item() for i in range(6)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert f.compiles == 1  # the slice start is an input of the program (torch's compiles once too)

    def scaled(v):
        return v * v.storage_offset()  # Python needs the offset: a program per offset, as torch specialises
    g = jtorch.compile(scaled, fullgraph=True)
    got = [_np(g(jd[i:i + 2])) for i in (0, 1, 2, 1)]
    want = [_np(scaled(torch.tensor(data)[i:i + 2])) for i in (0, 1, 2, 1)]
    _assert_same(got, want)
    assert g.compiles == 3


def _sq(v):
    return (v * v).sum()


def test_gradients_through_view_arguments(rng):
    data = rng.standard_normal((3, 4)).astype(np.float32)
    results = {}
    for lib in (torch, jtorch):
        f = _compiled(lib, _sq)
        w = lib.tensor(data, requires_grad=True)
        leaf = lib.tensor(data)[1:].detach().requires_grad_()  # a view made a leaf: the gradient is its own
        seen = []
        for _ in range(3):
            w.grad = leaf.grad = None
            f(w[1:3].t()).backward()
            f(leaf).backward()
            seen += [_np(w.grad), _np(leaf.grad)]
        results[lib] = seen
    _assert_same(results[jtorch], results[torch])


_HELD = {}


def _through_closure(v):
    v.add_(1)
    return _HELD["base"] * 2  # the view argument's base, read from the closure: it sees the write


def test_view_argument_whose_base_the_function_also_reads(rng):
    data = rng.standard_normal((2, 3)).astype(np.float32)
    results = {}
    for lib in (torch, jtorch):
        f = _compiled(lib, _through_closure)
        _HELD["base"] = lib.tensor(data)
        results[lib] = [_np(f(_HELD["base"][0])) for _ in range(3)] + [_np(_HELD["base"])]
    _assert_same(results[jtorch], results[torch])


def _plus_closure_sum(v):
    return v * 2 + _HELD["base"].sum()


def test_view_of_state_then_of_another_tensor(rng):
    """A view of a tensor the function also reads (inside the program: the state's own storage), then a view
    of another tensor: another program, not the first one's on the fast path."""
    data, other = rng.standard_normal((2, 2, 3)).astype(np.float32)
    results = {}
    for lib in (torch, jtorch):
        f = _compiled(lib, _plus_closure_sum)
        _HELD["base"] = lib.tensor(data)
        h = lib.tensor(other)
        results[lib] = [_np(f(_HELD["base"][0])) for _ in range(3)] + [_np(f(h[0])) for _ in range(3)] + \
            [_np(f(_HELD["base"][1]))]
    _assert_same(results[jtorch], results[torch])


def test_view_argument_of_a_numpy_shared_tensor_writes_the_array(rng):
    data = rng.standard_normal((3, 3)).astype(np.float32)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch's from_numpy of a non-writable array; not here)
        for lib in (torch, jtorch):
            arr = data.copy()
            f = _compiled(lib, _write_each)
            base = lib.from_numpy(arr)
            outs = [_np(f(*_views(base))) for _ in range(3)]
            results[lib] = outs + [arr.copy()]
    _assert_same(results[jtorch], results[torch])

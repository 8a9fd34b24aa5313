"""Large eager ops (jtorch/_dispatch.py, ``_large_kernel``): from ``LARGE`` elements on, ops declared
``library=True`` compile with XLA's library elementwise kernels on the CPU, and in-place ops donate the
written tensor's buffer when nothing else holds it. Values must stay torch's (float rounding), and
aliasing, autograd and dtype rules must not change."""
import gc
import weakref

import numpy as np
import pytest
import torch

import jtorch
from jtorch import _dispatch
from jtorch._ops import pointwise
from helpers import assert_close, both

SHAPE = (256, 384)  # 98304 elements: above _dispatch.LARGE, above lazy batching's MAX_SIZE
assert SHAPE[0] * SHAPE[1] >= _dispatch.LARGE


def _took(name, donate=None, library=None):
    """Whether the op ``name`` has compiled a large-op kernel with these flags."""
    op = _dispatch.REGISTRY.get(name) or getattr(pointwise, name)
    return any(len(k) == 4 and (donate is None or k[2] == donate) and (library is None or k[3] == library)
               for k in op._jits)


POSITIVE = {"log", "log2", "log10", "rsqrt"}
UNARY = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "rsqrt", "neg", "abs"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", UNARY)
def test_library_unary_matches_torch(rng, name, dtype):
    x = rng.standard_normal(SHAPE) * 3
    if name in POSITIVE:
        x = np.abs(x) + 1e-3
    t, j = both(x.astype(dtype))
    out = getattr(jtorch, name)(j)
    assert _took(name, library=True)
    # float32: torch's own comparison tolerance for float32 (a few ulp between exp implementations)
    rtol, atol = (1.3e-6, 1e-5) if dtype == np.float32 else (1e-12, 1e-12)
    assert_close(out, getattr(torch, name)(t), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_library_binary_matches_torch(rng, dtype):
    x, y = (rng.standard_normal((2,) + SHAPE) * 3).astype(dtype)
    (ta, ja), (tb, jb) = both(x), both(y)
    rtol = 1.3e-6 if dtype == np.float32 else 1e-12
    for f in (lambda m, a, b: a + b, lambda m, a, b: a - b, lambda m, a, b: a * b, lambda m, a, b: a / b,
              lambda m, a, b: m.add(a, b, alpha=2.5), lambda m, a, b: m.sub(a, b, alpha=0.5),
              lambda m, a, b: a * 2.5 + 1, lambda m, a, b: 3 - a / 7):
        assert_close(f(jtorch, ja, jb), f(torch, ta, tb), rtol=rtol, atol=1e-5)
    # out of place, arithmetic keeps XLA's own loop (library="inplace"); an in-place call that donates
    # takes the library kernel (div_ computes out of place and writes back: no donation)
    ops = {n: _dispatch.REGISTRY.get(n) or getattr(pointwise, n) for n in ("add", "mul", "_true_div")}
    assert not any(_took(n, donate=False, library=True) for n in ops)
    ja2, ta2 = ja.clone(), ta.clone()
    for f in (lambda a, b: a.add_(b), lambda a, b: a.mul_(b), lambda a, b: a.div_(b)):
        f(ja2, jb)
        f(ta2, tb)
    assert_close(ja2, ta2, rtol=rtol, atol=1e-5)
    assert _took("add", donate=True, library=True) and _took("mul", donate=True, library=True)


def test_library_not_used_for_mixed_or_integer_dtypes(rng):
    x = rng.standard_normal(SHAPE)
    (t32, j32), (t64, j64) = both(x.astype(np.float32)), both(x.astype(np.float64))
    ti, ji = both(rng.integers(-50, 50, SHAPE))
    before = set(_dispatch.REGISTRY["add"]._jits)
    # mixed float32 + float64 (promotes), int64 + int64, int64 + float (promotes), int exp (to float)
    assert_close(j32 + j64, t32 + t64, rtol=1e-12)
    assert_close(ji + ji, ti + ti)
    assert_close(ji + 0.5, ti + 0.5)
    assert_close(jtorch.exp(ji.clamp(-20, 20)), torch.exp(ti.clamp(-20, 20)), rtol=1.3e-6, atol=1e-5)
    new = set(_dispatch.REGISTRY["add"]._jits) - before
    assert not any(len(k) == 4 and k[3] for k in new)


def test_library_not_used_with_a_scalar_operand(rng):
    # a Python number or 0-dim operand: XLA's own loop (cheaper on two cores), values unchanged
    x = rng.standard_normal(SHAPE).astype(np.float32) * 3
    t, j = both(x)
    ts, js = both(np.array(2.5, np.float32))
    ops = [_dispatch.REGISTRY.get(n) or getattr(pointwise, n) for n in ("add", "sub", "mul", "_true_div")]
    before = {op: set(op._jits) for op in ops}
    for f in (lambda m, a, s: a * 2.5, lambda m, a, s: a / 7, lambda m, a, s: a + 1.5, lambda m, a, s: a - 3,
              lambda m, a, s: a * s, lambda m, a, s: a.clone().mul_(0.9), lambda m, a, s: a.clone().add_(-2.0)):
        assert_close(f(jtorch, j, js), f(torch, t, ts), rtol=1.3e-6, atol=1e-6)  # (torch divides by 1/7)
    for op, keys in before.items():
        assert not any(len(k) == 4 and k[3] for k in set(op._jits) - keys)


def test_small_tensors_keep_the_ordinary_kernel(rng):
    n = int(np.sqrt(_dispatch.LARGE)) - 1  # just below the threshold
    t, j = both(rng.standard_normal((n, n)).astype(np.float32))
    before = set(_dispatch.REGISTRY["expm1"]._jits)
    assert_close(jtorch.expm1(j), torch.expm1(t), rtol=1.3e-6, atol=1e-5)
    assert set(_dispatch.REGISTRY["expm1"]._jits) - before <= {k for k in _dispatch.REGISTRY["expm1"]._jits
                                                               if len(k) == 2}


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_inplace_ops_donate_and_match_torch(rng, dtype):
    x, y = rng.standard_normal((2,) + SHAPE) * 4
    if dtype == np.int64:
        x, y = np.round(x), np.round(y)
    (ta, ja), (tb, jb) = both(x.astype(dtype)), both(y.astype(dtype))
    steps = [lambda a, b: a.add_(b), lambda a, b: a.mul_(b), lambda a, b: a.sub_(b, alpha=2),
             lambda a, b: a.add_(3), lambda a, b: a.mul_(-1), lambda a, b: a.__iadd__(b)]
    if dtype != np.int64:
        steps += [lambda a, b: a.div_(b.abs() + 1), lambda a, b: a.clamp_(-5, 5), lambda a, b: a.exp_(),
                  lambda a, b: a.log1p_()]
    donated = 0
    for f in steps:
        old = weakref.ref(ja._st._arr)
        f(ja, jb)
        f(ta, tb)
        gc.collect()
        donated += old() is None or old().is_deleted()
    assert donated >= 5  # the old buffers were handed to XLA (or freed): nothing else held them
    assert_close(ja, ta, rtol=1.3e-6 if dtype == np.float32 else 1e-12, atol=1e-5)


def test_inplace_keeps_arrays_others_hold(rng):
    x, y = rng.standard_normal((2,) + SHAPE).astype(np.float32)
    (ta, ja), (tb, jb) = both(x), both(y)
    held = ja.jax()  # a user's handle on the current value: must stay valid with the old values
    view = ja.view(-1)[5:10]
    ja.add_(jb)
    ta.add_(tb)
    assert not held.is_deleted()
    np.testing.assert_array_equal(np.asarray(held), x)
    assert_close(ja, ta)
    assert_close(view, ta.view(-1)[5:10])  # a view of the storage sees the write
    ja.add_(ja)  # the same array as both arguments
    ta.add_(ta)
    assert_close(ja, ta)
    row = ja[3]  # an in-place op on a view writes through to the base
    row.mul_(jb[3])
    ta[3].mul_(tb[3])
    assert_close(ja, ta)
    cast = ja.clone()
    cast.add_(jtorch.tensor(y.astype(np.float64)))  # float64 result cast back into float32
    tcast = ta.clone()
    tcast.add_(torch.from_numpy(y.astype(np.float64)))
    assert_close(cast, tcast)
    n = ja.numpy()  # a numpy array sharing the storage sees later in-place writes, as in torch
    tn = ta.numpy()
    ja.add_(1.0)
    ta.add_(1.0)
    np.testing.assert_allclose(n, tn, rtol=1e-6)


def test_inplace_with_autograd_keeps_saved_values(rng):
    x, w = rng.standard_normal((2,) + SHAPE).astype(np.float32)
    (tx, jx), (tw, jw) = both(x, requires_grad=True), both(w, requires_grad=True)
    outs = []
    for m, a, b in ((torch, tx, tw), (jtorch, jx, jw)):
        h = a * 2
        h.mul_(b)   # records autograd: its inputs are saved, not donated
        h.exp_()
        c = h.detach().clone()
        c.add_(1)   # no autograd: donated
        (h.sum() + (c * b).sum()).backward()
        outs.append((h, c, a.grad, b.grad))
    assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    for m, a, b in ((torch, tx, tw), (jtorch, jx, jw)):
        h = a * 2
        y = h * b  # saves h for b's gradient
        h.detach().add_(1)  # shares h's storage (not donated: the saved value holds the array)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_compiled_programs_are_unchanged(rng):
    x = rng.standard_normal(SHAPE).astype(np.float32)
    t, j = both(x)

    def f(m, a):
        b = a.exp() + a.log1p().abs()
        b.add_(a)
        return b * 2

    g = jtorch.compile(lambda a: f(jtorch, a))
    for _ in range(3):
        out = g(j)
    assert_close(out, f(torch, t), rtol=1.3e-6, atol=1e-5)


# ---- cat/stack: a large concatenation along the leading dimension as one select loop (join._cat_large)
def _large_calls(op, call):
    """Run ``call`` with ``op``'s large-call kernels dropped first: whether it compiled one again."""
    for k in [k for k in op._jits if k[0] == "large"]:
        del op._jits[k]
    out = call()
    return out, any(k[0] == "large" for k in op._jits)


def _exact(j, t):
    assert tuple(j.shape) == tuple(t.shape) and str(j.dtype) == str(t.dtype)
    np.testing.assert_array_equal(j.numpy(), t.numpy())


CAT_CASES = [
    ([(512, 512), (512, 512)], 0, True),
    ([(700, 384), (13, 384), (300, 384)], 0, True),             # uneven parts
    ([(1, 300, 1024), (1, 212, 1024), (1, 1, 1024), (1, 50, 1024)], 1, True),  # leading size-1 dims: one run each
    ([(256, 256), (256, 256)], 0, False),                       # output under 2**18 elements
    ([(64, 4096)] * 8, 0, False),                               # more inputs than the select form takes
    ([(512, 512), (512, 512)], 1, False),                       # inner dimension: XLA's own concatenate
    ([(300000,), (7,)], 0, False),                              # rows too narrow for the select form
]


@pytest.mark.parametrize("shapes, dim, select", CAT_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_large_cat_matches_torch_exactly(rng, shapes, dim, select, dtype):
    from jtorch._ops import join
    xs = [rng.standard_normal(s) * 5 for s in shapes]
    xs = [x > 0 if dtype == np.bool_ else x.astype(dtype) for x in xs]
    if dtype in (np.float32, np.float64):
        xs[0].flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
    pairs = [both(x) for x in xs]
    out, took = _large_calls(join._cat, lambda: jtorch.cat([j for _, j in pairs], dim))
    _exact(out, torch.cat([t for t, _ in pairs], dim))
    assert took == select


@pytest.mark.parametrize("shapes, dim, select", CAT_CASES)
def test_large_cat_form(shapes, dim, select):
    import jax
    from jtorch._ops import join
    prims = {e.primitive.name for e in jax.make_jaxpr(lambda *a: join._cat_large(a, dim))(
        *[np.zeros(s, np.float32) for s in shapes]).eqns}
    assert ("concatenate" not in prims and "select_n" in prims) if select else "concatenate" in prims


def test_large_cat_promotes_and_backpropagates(rng):
    a, b = rng.standard_normal((2, 400, 640))
    (ta, ja), (tb, jb) = both(a.astype(np.float32), True), both(b.astype(np.float64), True)
    w = rng.standard_normal((800, 640))
    out = [m.cat([x, y]) for m, x, y in ((torch, ta, tb), (jtorch, ja, jb))]
    _exact(out[1].detach(), out[0].detach())  # float32 + float64 -> float64, as torch
    for o, m in zip(out, (torch, jtorch)):
        (o * m.tensor(w)).sum().backward()
    assert_close(ja.grad, ta.grad)
    assert_close(jb.grad, tb.grad)


def test_large_cat_under_compile_is_plain(rng):
    x, y = rng.standard_normal((2, 512, 512)).astype(np.float32)
    (ta, ja), (tb, jb) = both(x), both(y)
    g = jtorch.compile(lambda a, b: jtorch.cat([a, b]) * 2)
    _exact(g(ja, jb), torch.cat([ta, tb]) * 2)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_large_stack_matches_torch_exactly(rng, dim):
    import jax
    from jtorch._ops import join
    xs = [rng.standard_normal((384, 512)).astype(np.float32) for _ in range(3)]
    pairs = [both(x) for x in xs]
    out, took = _large_calls(join._stack, lambda: jtorch.stack([j for _, j in pairs], dim))
    _exact(out, torch.stack([t for t, _ in pairs], dim))
    assert took == (dim == 0)  # along the first dimension: the select form
    prims = {e.primitive.name for e in jax.make_jaxpr(lambda *a: join._stack_large(a, dim % 3))(*xs).eqns}
    assert ("concatenate" not in prims) == (dim == 0)


@pytest.mark.parametrize("lazy", [False, True])
def test_full_sum_gradient_is_a_broadcast_view(rng, lazy):
    # x.sum()'s gradient is the seed expanded (stride 0, as torch's); the next VJP takes its 0-dim
    # value and broadcasts it in its own program (no broadcast written out, no 4 MB cotangent read)
    from jtorch import _lazy
    was = _lazy.enabled()
    _lazy.set_enabled(lazy)
    try:
        x, y = rng.standard_normal((2,) + SHAPE).astype(np.float32)
        (ta, ja), (tb, jb) = both(x, requires_grad=True), both(y, requires_grad=True)
        seen, tseen = [], []
        jp, tp = ja * jb, ta * tb
        jp.register_hook(lambda g: seen.append((tuple(g.shape), g.stride())))
        tp.register_hook(lambda g: tseen.append((tuple(g.shape), g.stride())))
        jp.sum().backward()
        tp.sum().backward()
        (ja * jb).sum().backward()  # accumulated into the leaves' .grad
        (ta * tb).sum().backward()
        assert seen == tseen
        assert_close(ja.grad, ta.grad, rtol=0, atol=0)
        assert_close(jb.grad, tb.grad, rtol=0, atol=0)
        assert any(len(k) == 5 and k[4] == (0,) for k in pointwise.mul._vjps)
        g, tg = jtorch.autograd.grad(ja.sum(), ja)[0], torch.autograd.grad(ta.sum(), ta)[0]
        assert g.stride() == tg.stride()
        assert_close(g, tg, rtol=0, atol=0)
        # create_graph: the ordinary road, differentiable again
        g = jtorch.autograd.grad((ja * jb).sum(), ja, create_graph=True)[0]
        tg = torch.autograd.grad((ta * tb).sum(), ta, create_graph=True)[0]
        (g * g).sum().backward()
        (tg * tg).sum().backward()
        assert_close(jb.grad, tb.grad, rtol=1.3e-6, atol=1e-5)
    finally:
        _lazy.set_enabled(was)

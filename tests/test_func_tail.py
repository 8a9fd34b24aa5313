"""torch.func leftovers compared with torch: jvp with tangents of another dtype than their primals (a
float64 tangent of a float32 input stays float64), what tensors computed inside vmap from a captured tensor
that requires grad report (requires_grad, is_leaf, grad_fn) and their gradients when they leave it, vjp
running the function once when a captured tensor requires grad (with its values and gradients), and what a
review of the torch.func code found (grad over a linearized jvp with no_grad inside, integer tangents,
grad_fn nodes inside grad). Each case runs the same seeded inputs through torch (the oracle) and jtorch."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _both(case, *arrays):
    """The case's results for torch and jtorch (or the type of the exception each raised)."""
    out = []
    for L in (torch, jtorch):
        try:
            out.append(case(L, *(L.tensor(a) for a in arrays)))
        except Exception as e:  # (compared by type with torch's)
            out.append(type(e))
    return out


# ------------------------------------------------------------------ 1. jvp: tangents of another dtype
WIDE_CASES = {
    "sin": lambda L, a: a.sin() * 2,
    "exp_times_captured": lambda L, a: (a.exp() * L.arange(12.).reshape(3, 4)[:, :1].squeeze(1)).sum(),
    "cat": lambda L, a: L.cat([a, a * a]),
    "sum": lambda L, a: a.sum(),
    "mean": lambda L, a: a.mean(),
    "softmax": lambda L, a: L.softmax(a * 3, 0),
    "where": lambda L, a: L.where(a > 0, a, a * 3),
    "index": lambda L, a: a[L.tensor([0, 2])],
    "cumsum_pow": lambda L, a: a.cumsum(0) ** 2,
    "to_half": lambda L, a: a.to(L.float16),
    "float": lambda L, a: a.float(),
    "double": lambda L, a: a.double() * 3,
    "independent": lambda L, a: L.zeros(2),
    "int_and_bool": lambda L, a: (a * 2, a.argmax(), a > 0),
}


@pytest.mark.parametrize("name", sorted(WIDE_CASES))
def test_jvp_float64_tangent_of_float32_primal(rng, name):
    fn = WIDE_CASES[name]
    x = rng.standard_normal(3).astype(np.float32)
    t = rng.standard_normal(3)  # float64

    def case(L, x, t):
        return L.func.jvp(lambda a: fn(L, a), (x,), (t,))
    want, got = _both(case, x, t)
    assert_close(got, want, rtol=1e-6, atol=1e-7)  # (dtypes included: float64 where torch's is)


def test_jvp_float64_tangent_is_not_rounded(rng):
    # a linear function: torch's tangent is exact in float64, not the float32-rounded tangent's
    x = rng.standard_normal(4).astype(np.float32)
    t = rng.standard_normal(4)
    want, got = _both(lambda L, x, t: L.func.jvp(lambda a: a * 2 + a.sum(), (x,), (t,))[1], x, t)
    assert got.dtype == jtorch.float64
    np.testing.assert_array_equal(np.asarray(got.tolist()), np.asarray(want.tolist()))


def test_jvp_float64_tangent_matmul_raises_like_torch(rng):
    x = rng.standard_normal(3).astype(np.float32)
    w = rng.standard_normal((3, 2)).astype(np.float32)
    t = rng.standard_normal(3)
    want, got = _both(lambda L, x, w, t: L.func.jvp(lambda a: a @ w, (x,), (t,)), x, w, t)
    assert want is RuntimeError and got is RuntimeError


def test_jvp_mixed_tangents_aux_and_narrow(rng):
    x, y = rng.standard_normal((2, 3)).astype(np.float32)
    t64 = rng.standard_normal(3)
    t32 = rng.standard_normal(3).astype(np.float32)

    def case(L, x, y, t64, t32):
        two = L.func.jvp(lambda a, b: (a * b, b * 2), (x, y), (t64, t32))
        aux = L.func.jvp(lambda a: (a.sin(), a.cos()), (x,), (t64,), has_aux=True)
        wide_primal = L.func.jvp(lambda a: a.sin(), (x.double(),), (t32,))
        half = [L.func.jvp(f, (x,), (t64.half(),)) for f in (lambda a: a * 2, lambda a: a.sin())]
        wide_and_half = L.func.jvp(lambda a, b: (a * b, b * 2, b.sin()), (x, y), (t64, t64.half()))
        params = L.func.jvp(lambda d: d["w"] * d["b"], ({"w": x, "b": y},), ({"w": t64, "b": t32},))
        return two, aux, wide_primal, half, wide_and_half, params
    want, got = _both(case, x, y, t64, t32)
    assert_close(got, want, rtol=1e-3, atol=1e-3)  # (half tangents)


def test_jvp_float64_tangent_in_vmap_and_backward(rng):
    x = rng.standard_normal((3, 2)).astype(np.float32)
    t = rng.standard_normal((3, 2))

    def case(L, x, t):
        mapped = L.func.vmap(lambda a, s: L.func.jvp(lambda b: b.sin() * b, (a,), (s,)))(x, t)
        xr = x.clone().requires_grad_()
        out, tan = L.func.jvp(lambda a: a.sin() * a, (xr,), (t,))
        (tan.sum() + out.sum()).backward()
        return mapped, out, tan, tan.requires_grad, xr.grad
    want, got = _both(case, x, t)
    assert_close(got, want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ 2. requires_grad inside vmap
def _inside(L, cap, a, seen):
    """Records what tensors computed from the captured ``cap`` report: (requires_grad, is_leaf, has grad_fn)."""
    def show(t):
        seen.append((t.requires_grad, t.is_leaf, t.grad_fn is not None))
    y = cap * 2
    for t in (cap, y, y * 3, cap.view(-1), cap[0], cap.detach() * 2, cap * a, a):
        show(t)
    with L.no_grad():
        show(cap * 2)
    return (a * cap).sum() + y.sum()


TRANSFORMS = {
    "vmap": lambda L, f, x: L.func.vmap(f)(x),
    "vmap_nested": lambda L, f, x: L.func.vmap(L.func.vmap(f))(x.unsqueeze(0)),
    "grad": lambda L, f, x: L.func.grad(f)(x[0]),
    "jvp": lambda L, f, x: L.func.jvp(f, (x[0],), (x[1],)),
    "vjp": lambda L, f, x: L.func.vjp(f, x[0])[0],
    "vmap_of_grad": lambda L, f, x: L.func.vmap(L.func.grad(f))(x),
    "grad_of_vmap": lambda L, f, x: L.func.grad(lambda b: L.func.vmap(f)(b).sum())(x),
}


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_captured_requires_grad_inside(rng, transform):
    c = rng.standard_normal(2).astype(np.float32)
    x = rng.standard_normal((3, 2)).astype(np.float32)
    seen = {}
    for L in (torch, jtorch):
        cap = L.tensor(c, requires_grad=True)
        seen[L] = []
        TRANSFORMS[transform](L, lambda a: _inside(L, cap, a, seen[L]), L.tensor(x))
    assert seen[jtorch] == seen[torch]


def test_vmap_unbatched_result_backpropagates(rng):
    c = rng.standard_normal(2).astype(np.float32)
    x = rng.standard_normal((3, 2)).astype(np.float32)

    def case(L, c, x):
        cap = c.clone().requires_grad_()
        kept = []

        def f(a):
            y = (cap * 2).exp()
            kept.append(y)  # (leaves the function: a tensor on the tape, as torch's)
            return a * y
        out = L.func.vmap(f)(x)
        (out.sum() + kept[0].sum()).backward()
        return out, kept[0], kept[0].requires_grad, cap.grad
    want, got = _both(case, c, x)
    assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_vmap_unbatched_in_place_moves_history_on(rng):
    c = rng.standard_normal(3).astype(np.float32)
    x = rng.standard_normal((2, 3)).astype(np.float32)

    def case(L, c, x):
        cap = c.clone().requires_grad_()
        kept = []

        def f(a):
            y = cap * cap
            y.mul_(3)
            y.add_(cap)
            name = y.grad_fn.name()
            y[1:].mul_(cap[:2])  # (through a view: the base's history moves on)
            kept.append((y, name, y._version))
            return a * y
        out = L.func.vmap(f)(x)
        y, name, version = kept[0]
        (y.sum() + out.sum()).backward()
        return (name, version), (out, y, cap.grad)
    want, got = _both(case, c, x)
    assert got[0] == want[0]
    assert_close(got[1], want[1], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ 3. vjp calls the function once
def test_vjp_with_captured_requires_grad_calls_once(rng):
    c, x, ct, w = rng.standard_normal((4, 3)).astype(np.float32)

    def case(L, c, x, ct, w):
        cap = c.clone().requires_grad_()
        xr = x.clone().requires_grad_()
        calls = []

        def f(a):
            calls.append(1)
            return a.sin() * cap, (cap * a).sum()
        out, vjp_fn, aux = L.func.vjp(f, xr, has_aux=True)
        after_vjp = len(calls)
        (g,) = vjp_fn(ct)
        after_vjp_fn = len(calls)
        # gradients to the captured tensor and the primal, through the output and through vjp_fn's result
        ((out * w).sum() + aux + (g * g).sum()).backward()
        return after_vjp, after_vjp_fn, out, aux, g, g.requires_grad, cap.grad, xr.grad
    want, got = _both(case, c, x, ct, w)
    assert want[:2] == (1, 1)
    assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_vjp_cotangent_and_captured_gradients(rng):
    c, x, ct = rng.standard_normal((3, 3)).astype(np.float32)

    def case(L, c, x, ct):
        cap = c.clone().requires_grad_()
        ctr = ct.clone().requires_grad_()
        calls = []

        def f(a):
            calls.append(1)
            return a * cap
        out, vjp_fn = L.func.vjp(f, x)  # (the primal does not require grad: the captured tensor does)
        (g,) = vjp_fn(ctr)
        before_backward = len(calls)
        g.pow(2).sum().backward()
        return before_backward, out, g, cap.grad, ctr.grad
    want, got = _both(case, c, x, ct)
    assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_vjp_without_grad_calls_once(rng):
    x, ct = rng.standard_normal((2, 3)).astype(np.float32)

    def case(L, x, ct):
        calls = []

        def f(a):
            calls.append(1)
            return a.exp()
        with L.no_grad():
            out, vjp_fn = L.func.vjp(f, x)
            (g,) = vjp_fn(ct)
        return len(calls), out, g
    want, got = _both(case, x, ct)
    assert_close(got, want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ 4. found in review
@pytest.mark.parametrize("tangent_dtype", ["float32", "float64"])
def test_grad_of_jvp_with_no_grad_inside(rng, tangent_dtype):
    # no_grad inside jvp: the forward level still sees through it, but the derivative it computes there is
    # a constant for the grad level outside (also when jvp linearizes: a float64 tangent)
    x = rng.standard_normal(3).astype(np.float32)
    t = rng.standard_normal(3).astype(tangent_dtype)

    def case(L, x, t):
        def inner(y):
            with L.no_grad():
                z = y * y
            return z * y + y.detach() * y
        return L.func.grad(lambda a: L.func.jvp(inner, (a,), (t,))[1].sum())(x)
    want, got = _both(case, x, t)
    assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_jvp_integer_tangent_raises_like_torch(rng, dtype):
    x = rng.standard_normal(3).astype(np.float32)
    t = (rng.integers(0, 2, 3)).astype(dtype)
    want, got = _both(lambda L, x, t: L.func.jvp(lambda a: a * 2, (x,), (t,)), x, t)
    assert want is ValueError and got is ValueError


def test_grad_fn_inside_grad_is_one_node_with_its_own_metadata(rng):
    x = rng.standard_normal(2).astype(np.float32)
    seen = {}
    for L in (torch, jtorch):
        seen[L] = []

        def f(a):
            p, q = a * 2, a * 3
            p.grad_fn.metadata["tag"] = 1
            seen[L].append(("tag" in q.grad_fn.metadata, dict(p.grad_fn.metadata), p.grad_fn is p.grad_fn))
            return (p * q).sum()
        L.func.grad(f)(L.tensor(x))
    assert seen[jtorch] == seen[torch]

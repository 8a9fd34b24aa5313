"""torch.func against torch where jtorch differed: a backward through a transform's results runs the user's
function no more (torch's never does), a complex tangent of a real primal in jvp, randomness="error"
raising before the random stream moves, linearize's jvp_fn results requiring grad, and in-place ops on a
leaf made inside a transform. Each case runs the same seeded inputs through torch (the oracle) and jtorch."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _run(case, *arrays):
    """The case's result for torch and jtorch, or the type of the exception each raised."""
    out = []
    for L in (torch, jtorch):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append(case(L, *(L.tensor(a) for a in arrays)))
        except Exception as e:  # (compared by type with torch's)
            out.append(type(e))
    return out


def _compare(want, got):
    if isinstance(want, type):
        assert got is want, (got, want)
    else:
        assert_close(got, want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ 1. backward runs nothing again
def _through(L, transform, x, c):
    """(calls of the user's function, the result, x.grad) for a loss of ``transform``'s result."""
    calls = []

    def f(a):
        calls.append(1)
        return (a.sin() * a * c).sum()

    def g(a):  # (a vector function)
        calls.append(1)
        return a.sin() * a + c

    T = L.func
    results = {
        "grad": lambda: T.grad(f)(x),
        "grad_and_value_aux": lambda: sum(T.grad_and_value(lambda a: (f(a), a.exp()), has_aux=True)(x)[1:][0]),
        "vmap": lambda: T.vmap(g)(x.unsqueeze(0).expand(2, 3)),
        "jvp": lambda: T.jvp(g, (x,), (c,)),
        "jacrev": lambda: T.jacrev(g)(x),
        "jacfwd": lambda: T.jacfwd(g)(x),
        "hessian": lambda: T.hessian(f)(x),
        "vjp_output": lambda: T.vjp(g, x)[0],
        "vjp_aux": lambda: T.vjp(lambda a: (g(a), a.cos()), x, has_aux=True)[2],
        "vjp_fn": lambda: T.vjp(g, x)[1](c),
        "vjp_fn_aux": lambda: T.vjp(lambda a: (g(a), a.cos() * 2), x, has_aux=True)[1](c),
        "grad_of_vmap": lambda: T.grad(lambda a: T.vmap(g)(a.unsqueeze(0)).sum())(x),
    }
    out = results[transform]()
    loss = sum((o * o).sum() for o in (out if isinstance(out, tuple) else (out,)))
    loss.backward()
    return len(calls), out, x.grad


TRANSFORMS = ["grad", "grad_and_value_aux", "vmap", "jvp", "jacrev", "jacfwd", "hessian", "vjp_output", "vjp_aux",
              "vjp_fn", "vjp_fn_aux", "grad_of_vmap"]


def test_backward_through_transforms_runs_function_once(rng):
    x, c = rng.standard_normal((2, 3)).astype(np.float32)
    for transform in TRANSFORMS:
        want, got = _run(lambda L, x, c: _through(L, transform, x.requires_grad_(), c), x, c)
        assert got[0] == want[0], (transform, got[0], want[0])
        assert_close(got[1:], want[1:], rtol=1e-5, atol=1e-5)


def test_backward_runs_once_without_grad_of_unused_inputs(rng):
    # one input requires grad, the other does not: its gradient stays None, the function runs once
    x, y = rng.standard_normal((2, 3)).astype(np.float32)

    def case(L, x, y):
        calls = []
        xr = x.requires_grad_()

        def f(a, b):
            calls.append(1)
            return (a * b.exp()).sum()
        ga, gb = L.func.grad(f, argnums=(0, 1))(xr, y)
        (ga.sum() + (gb * gb).sum()).backward()
        return len(calls), ga, gb, xr.grad, y.grad is None
    want, got = _run(case, x, y)
    assert_close(got, want)


def _counted_model(L, w, b):
    class Net(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = L.nn.Linear(3, 2)
            with L.no_grad():
                self.lin.weight.copy_(L.tensor(w))
                self.lin.bias.copy_(L.tensor(b))
            self.calls = 0

        def forward(self, a):
            self.calls += 1
            return self.lin(a).tanh() * self.lin.weight.sum()
    return Net()


def test_backward_to_captured_parameters_runs_function_once(rng):
    # a module's own parameters, captured by vmap(model) and by a closure under grad (a gradient penalty),
    # and a tensor captured by a lambda: their gradients without running the function again
    x = rng.standard_normal((4, 3)).astype(np.float32)
    w, b, c = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(2).astype(np.float32), \
        rng.standard_normal(3).astype(np.float32)

    def case(L, x):
        net = _counted_model(L, w, b)
        out = L.func.vmap(net)(x)  # (x does not require grad: only the parameters do)
        (out * out).sum().backward()
        after_vmap = net.calls, net.lin.weight.grad.clone(), net.lin.bias.grad.clone()
        net.zero_grad()
        xr = x.clone().requires_grad_()
        g = L.func.vmap(L.func.grad(lambda a: net(a).sum()))(xr)
        penalty = ((g.norm(dim=1) - 1) ** 2).mean()
        penalty.backward()
        cap = L.tensor(c).requires_grad_()
        calls = []
        j = L.func.jacrev(lambda a: (calls.append(1), (a * cap).sin())[1])(xr[0])
        j.sum().backward()
        return after_vmap, net.calls, g, net.lin.weight.grad, net.lin.bias.grad, xr.grad, len(calls), cap.grad
    want, got = _run(case, x)
    assert not isinstance(want, type) and not isinstance(got, type), (want, got)
    assert (got[0][0], got[1], got[6]) == (want[0][0], want[1], want[6]) == (1, 2, 1)
    assert_close(got, want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ 2. complex tangents of real primals
COMPLEX_CASES = {
    "identity_and_views": lambda L, a, w: (a.clone(), a.view(1, 3), a[1:], a.unsqueeze(0).t()),
    "linear_ops": lambda L, a, w: (a * 2, a * w, a / 3, a + w, a - w, a.sum(), a.mean(), a.cumsum(0),
                                   L.cat([a, a]), L.stack([a, w]), L.where(a > 0, a, w), a.softmax(0)),
    "elementwise_real": lambda L, a, w: (a.sin(), a.exp() * 2, a.abs(), a ** 2, -a, a.sigmoid(), a.tanh(),
                                         (a * a + 1).sqrt(), (a * a + 1).log(), a.square()),
    "mixed": lambda L, a, w: (a.sin() * a, (a.exp() + a).sum(), L.cat([a.tanh(), a * 2]), a.abs() * a),
    "casts": lambda L, a, w: (a.double(), a.float(), a.double().sin()),
    "activations_real": lambda L, a, w: (L.nn.functional.silu(a), L.nn.functional.mish(a)),
    "relu": lambda L, a, w: a.relu(),
    "gelu": lambda L, a, w: L.nn.functional.gelu(a),
    "leaky_relu": lambda L, a, w: L.nn.functional.leaky_relu(a),
    "matmul": lambda L, a, w: a @ w,
}


@pytest.mark.parametrize("tangent_dtype", ["complex64", "complex128"])
def test_jvp_complex_tangent_of_real_primal(rng, tangent_dtype):
    x, w = rng.standard_normal((2, 3)).astype(np.float32)
    t = (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype(tangent_dtype)
    for name, fn in COMPLEX_CASES.items():
        want, got = _run(lambda L, x, w, t: L.func.jvp(lambda a: fn(L, a, w), (x,), (t,)), x, w, t)
        assert isinstance(got, type) == isinstance(want, type), (name, got, want)
        if isinstance(want, type):
            assert got is want, (name, got, want)
        else:
            assert_close(got, want, rtol=1e-5, atol=1e-5)  # (dtypes included: complex where torch's is)


# ------------------------------------------------------------------ 3. randomness="error"
RANDOM_CASES = {
    "jacfwd_rand": lambda L, x: L.func.jacfwd(lambda a: a * L.rand(3))(x[0]),
    "jacfwd_after_ops": lambda L, x: L.func.jacfwd(lambda a: a.sin() * L.randn_like(a))(x[0]),
    "jacfwd_dropout": lambda L, x: L.func.jacfwd(lambda a: L.nn.functional.dropout(a, 0.5))(x[0]),
    "vmap_rand": lambda L, x: L.func.vmap(lambda a: a * L.rand(3))(x),
    "vmap_dropout": lambda L, x: L.func.vmap(lambda a: L.nn.functional.dropout(a, 0.5))(x),
    "vmap_over_different": lambda L, x: L.func.vmap(
        lambda r: L.func.vmap(lambda a: a * L.rand(()), randomness="different")(r))(x),
    "vmap_of_jacfwd_same": lambda L, x: L.func.vmap(L.func.jacfwd(lambda a: a * L.rand(3), randomness="same"))(x),
    "vmap_generator": lambda L, x: L.func.vmap(lambda a: a * L.rand(3, generator=L.Generator().manual_seed(3)))(x),
}


def test_randomness_error_raises_before_the_stream_moves(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    for name, case in RANDOM_CASES.items():
        def run(L, x):
            L.manual_seed(7)
            before = L.get_rng_state().clone()
            try:
                case(L, x)
                raised = None
            except RuntimeError as e:
                raised = "randomness error mode" in str(e)
            return raised, L.equal(before, L.get_rng_state())
        want, got = _run(run, x)
        assert want == (True, True) and got == want, (name, got, want)
    # (the same functions with randomness="different" draw and move the stream, as torch's)
    for L in (torch, jtorch):
        L.manual_seed(7)
        before = L.get_rng_state().clone()
        L.func.vmap(lambda a: a * L.rand(3), randomness="different")(L.tensor(x))
        L.func.jacfwd(lambda a: a * L.rand(3), randomness="same")(L.tensor(x[0]))
        assert not L.equal(before, L.get_rng_state())


# ------------------------------------------------------------------ 4. linearize's jvp_fn
def test_linearize_jvp_fn_results_require_grad_like_torch(rng):
    x, t, w = rng.standard_normal((3, 3)).astype(np.float32)

    def case(L, x, t, w):
        xr = x.clone().requires_grad_()
        out, jvp_fn = L.func.linearize(lambda a: a.sin() * a, xr)
        r = jvp_fn(t)
        flags = [r.requires_grad, r.is_leaf]
        r.sum().backward()  # (no gradient reaches the primal: torch's jvp_fn holds constants)
        flags.append(xr.grad is None)
        tr = t.clone().requires_grad_()
        r2 = jvp_fn(tr)
        (r2 * r2).sum().backward()
        with L.no_grad():
            flags.append(jvp_fn(t).requires_grad)
        wr = w.clone().requires_grad_()  # captured, requiring grad
        out_c, jvp_c = L.func.linearize(lambda a: a * wr, x)
        rc = jvp_c(t)
        flags += [rc.requires_grad, out_c.requires_grad]
        rc.sum().backward()
        flags.append(wr.grad is None)
        flags.append(L.func.linearize(lambda a: a * 2, x)[1](t).requires_grad)
        return flags, out, r, r2, tr.grad
    want, got = _run(case, x, t, w)
    assert got[0] == want[0]
    assert_close(got[1:], want[1:])


# ------------------------------------------------------------------ 5. leaves made inside a transform
def _made_inside(op):
    def f(L, a):
        leaf = L.zeros(3, requires_grad=True)
        op(L, leaf, a)
        return a * leaf
    return f


LEAF_CASES = {
    "add_batched": lambda L, leaf, a: leaf.add_(a),
    "mul_": lambda L, leaf, a: leaf.mul_(2),
    "zero_": lambda L, leaf, a: leaf.zero_(),
    "fill_": lambda L, leaf, a: leaf.fill_(1.0),
    "setitem": lambda L, leaf, a: leaf.__setitem__(0, 5.0),
    "view_add_": lambda L, leaf, a: leaf[:2].add_(1),
    "copy_": lambda L, leaf, a: leaf.copy_(a),
    "no_grad_mul_": lambda L, leaf, a: L.no_grad()(lambda: leaf.mul_(2))(),
    "detached_add_": lambda L, leaf, a: leaf.detach().add_(1),
}


def test_inplace_on_leaf_made_inside_transforms_like_torch(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    for name, op in LEAF_CASES.items():
        f = _made_inside(op)
        for transform in ("vmap", "grad"):
            def case(L, x):
                if transform == "vmap":
                    return L.func.vmap(lambda a: f(L, a))(x).detach()
                return L.func.grad(lambda a: f(L, a).sum())(x[0])
            want, got = _run(case, x)
            if isinstance(want, type):
                assert got is want, (name, transform, got, want)
            else:
                assert_close(got, want)
    # outside grad mode the write is allowed, as torch's; the flags a leaf made inside reports
    for L in (torch, jtorch):
        with L.no_grad():
            L.func.vmap(lambda a: _made_inside(LEAF_CASES["mul_"])(L, a))(L.tensor(x))

    def flags(L, x):
        seen = []

        def g(a):
            leaf = L.ones(3, requires_grad=True)
            seen.append((leaf.requires_grad, leaf.is_leaf))
            return a * 2
        L.func.vmap(g)(x)
        L.func.grad(lambda a: g(a).sum())(x[0])
        return seen
    want, got = _run(flags, x)
    assert got == want


def test_python_read_of_a_captured_parameter_inside_vmap(rng):
    # a captured leaf read in Python (.item()) cannot be traced by the run's VJP: the run falls back to the
    # leaf as a constant and still gives torch's values (its backward replays, which reads it traced)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    w = rng.standard_normal(3).astype(np.float32)

    def case(L, x, w):
        wr = w.clone().requires_grad_()
        scale = lambda: 2.0 if wr.sum().item() > 0 else 3.0  # noqa: E731
        out = L.func.vmap(lambda a: a * wr * scale())(x)
        return out, out.requires_grad
    want, got = _run(case, x, w)
    assert_close(got, want)

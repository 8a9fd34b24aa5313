"""torch.func corners compared with torch: detach() sharing storage inside transforms, no_grad across
nested levels (it stops reverse-mode levels only), inference_mode, what requires_grad/is_leaf/grad_fn say
inside, vmap's chunk_size. Every case runs the same seeded inputs through torch (the oracle) and jtorch
and compares the values, the derivatives, the caller's tensors afterwards, or the exception type."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _outcome(case, L, data):
    """The case's results, or the type of the exception it raised."""
    try:
        return case(L, *(L.tensor(a) for a in data))
    except Exception as e:  # (compared by type with torch's)
        return type(e)


def _compare(case, data):
    want, got = _outcome(case, torch, data), _outcome(case, jtorch, data)
    if isinstance(want, type):
        assert got is want, (got, want)
    else:
        assert not isinstance(got, type), got
        assert_close(got, want, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ 1. detach() shares storage
def grad_input_detach_write(L, x, c):
    def f(x):
        x.detach().add_(c)  # reaches x (and the caller's tensor), untracked: x keeps its derivative
        return (x * x).sum()
    return L.func.grad(f)(x), x


def vjp_input_detach_write(L, x, c):
    out, pull = L.func.vjp(lambda x: (x.detach().mul_(c), x.sin() * x)[1], x)
    return out, pull(c)[0], x


def jacrev_input_detach_write(L, x, c):
    return L.func.jacrev(lambda x: (x.detach().mul_(c), x * x)[1])(x), x


def jacfwd_input_detach_write(L, x, c):
    return L.func.jacfwd(lambda x: (x.detach().mul_(c), x.exp() * x)[1])(x), x


def grad_intermediate_detach_write(L, x, c):
    def f(x):
        y = x * x
        y.detach().mul_(c)  # the value of y changes, its derivative (2x) does not
        return (y * x).sum(), y
    return L.func.grad(f, has_aux=True)(x)


def grad_intermediate_data_write(L, x, c):
    def f(x):
        y = x.sin()
        y.data.add_(c)
        return (y * y).sum()
    return L.func.grad(f)(x)


def grad_detached_view_write(L, x, c):
    def f(x):
        y = x * 2
        y.detach()[1:].mul_(c[1:])
        return (y * x).sum()
    return L.func.grad_and_value(f)(x)


def jvp_detach_write(L, x, c):
    def f(x):
        y = x * x
        y.detach().add_(c)  # the tangent stays y's
        return y.cos()
    return L.func.jvp(f, (x,), (c,))


def grad_detach_then_tracked_write(L, x, c):
    def f(x):
        y = x.detach()
        y.add_(x * c)
        return (y * x).sum()
    return L.func.grad(f)(x), x


def vmap_input_detach_write(L, x, c):
    xs = x.unsqueeze(0) * c.unsqueeze(1)

    def f(r):
        r.detach()[0].mul_(3)  # a view of the detached alias, written per batch element
        return r * 2
    return L.func.vmap(f)(xs), xs


def vmap_captured_detach_write(L, x, c):
    w = c.clone()

    def f(r):
        w.detach().add_(1)  # the same for every element: lands in w once
        return r * w
    return L.func.vmap(f)(x), w


def vmap_captured_detach_batched_write(L, x, c):
    w = c.clone()
    return L.func.vmap(lambda r: w.detach().add_(r))(x)


def grad_captured_detach_write(L, x, c):
    w = c.clone()
    return L.func.grad(lambda x: (w.detach().mul_(2), (x * w).sum())[1])(x)


def grad_input_no_grad_write(L, x, c):
    def f(x):
        with L.no_grad():
            x.mul_(c)
        return (x.sin() * x).sum()
    return L.func.grad(f)(x), x


def grad_no_grad_view_write(L, x, c):
    def f(x):
        with L.no_grad():
            x[1:].mul_(c[1:])  # a view made under no_grad shares storage
        return (x * x).sum()
    return L.func.grad(f)(x), x


def grad_no_grad_view_written_with_grad(L, x, c):
    def f(x):
        with L.no_grad():
            y = x[1:]
        y.mul_(c[1:])
        return (x * x).sum()
    return L.func.grad(f)(x)


def grad_detached_is_no_view(L, x, c):
    def f(x):
        y = x.detach()
        flags = L.tensor([float(y.requires_grad), float(y._is_view()), float(y._base is None)])
        return (x * c).sum(), flags
    return L.func.grad(f, has_aux=True)(x)


def grad_captured_no_grad_write(L, x, c):
    w = c.clone()

    def f(x):
        with L.no_grad():
            w.mul_(2)
        return (x * w).sum()
    return L.func.grad(f)(x)


# ------------------------------------------------------------------ 2. no_grad across nested levels
def _ng(L):
    def f(x):
        with L.no_grad():
            c = x.sin()
        return (c * x * x).sum()
    return f


def hessian_no_grad(L, x, c):
    return L.func.hessian(_ng(L))(x)


def jacfwd_jacrev_no_grad(L, x, c):
    return L.func.jacfwd(L.func.jacrev(_ng(L)))(x)


def jacrev_jacrev_no_grad(L, x, c):
    return L.func.jacrev(L.func.jacrev(_ng(L)))(x)


def jacrev_jacfwd_no_grad(L, x, c):
    return L.func.jacrev(L.func.jacfwd(_ng(L)))(x)


def grad_grad_no_grad(L, x, c):
    return L.func.grad(lambda x: (L.func.grad(_ng(L))(x) * c).sum())(x)


def jvp_grad_no_grad(L, x, c):
    return L.func.jvp(L.func.grad(_ng(L)), (x,), (c,))


def jvp_no_grad(L, x, c):
    return L.func.jvp(lambda x: (_ng(L)(x), x * 2)[0], (x,), (c,))


def grad_no_grad_around_inner_grad(L, x, c):
    def f(x):
        with L.no_grad():
            g = L.func.grad(lambda y: (y.sin() * y * x).sum())(x)
        return (g * x).sum()
    return L.func.grad(f)(x)


def grad_of_inner_no_grad_on_outer_value(L, x, c):
    def outer(x):
        def inner(y):
            with L.no_grad():
                k = (x * y).sum()  # constant for both levels
            return (k * y * x).sum()
        return (L.func.grad(inner)(x) * c).sum()
    return L.func.grad(outer)(x)


def jvp_no_grad_in_place(L, x, c):
    def f(x):
        y = x * 1
        with L.no_grad():
            y.mul_(c)  # forward-mode still tracks it
        return y
    return L.func.jvp(f, (x,), (c,))


def jacrev_jvp_no_grad_in_place(L, x, c):
    def f(x):
        y = x * x
        with L.no_grad():
            y.mul_(x)  # tracked by the inner jvp, untracked for the outer jacrev
        return y
    return L.func.jacrev(lambda x: L.func.jvp(f, (x,), (c,))[1])(x)


def vjp_no_grad_backward_through_tape(L, x, c):
    x = x.clone().requires_grad_()

    def f(v):
        with L.no_grad():
            k = v.exp()
        return (k * v).sum()
    out = L.func.jvp(f, (x,), (c,))[1]
    out.backward()
    return out, x.grad


# ------------------------------------------------------------------ 3. inference_mode inside transforms
def _im(L):
    def f(x):
        with L.inference_mode():
            c = x.sin()
        return (c * x).sum()
    return f


def grad_inference_mode(L, x, c):
    return L.func.grad(_im(L))(x)


def vjp_inference_mode(L, x, c):
    return L.func.vjp(_im(L), x)[1](L.tensor(1.0))


def jvp_inference_mode(L, x, c):
    return L.func.jvp(_im(L), (x,), (c,))  # inference mode stops forward mode too


def jacfwd_inference_mode(L, x, c):
    return L.func.jacfwd(lambda x: (_im(L)(x), x * 2)[1] * _im(L)(x))(x)


def vmap_inference_mode(L, x, c):
    def f(r):
        with L.inference_mode():
            k = r * c
        return k + 1
    return L.func.vmap(f)(x)


def _im_then(L, op):
    def f(x):
        with L.inference_mode():
            k = x.sin()
        return op(k, x).sum()
    return f


def grad_inference_tensor_added(L, x, c):
    return L.func.grad(_im_then(L, lambda k, x: k + x * c))(x)  # add saves neither: no error


def grad_inference_tensor_cloned(L, x, c):
    return L.func.grad(_im_then(L, lambda k, x: k.clone() * x))(x)  # the clone is a normal tensor


def grad_inference_tensor_scaled(L, x, c):
    return L.func.grad(_im_then(L, lambda k, x: (k * c) * x))(x)  # k * c: nothing tracked is involved


def vmap_grad_inference_tensor_saved(L, x, c):
    return L.func.vmap(L.func.grad(_im_then(L, lambda k, x: k * x)))(x)


def grad_inference_mode_write_input(L, x, c):
    def f(x):
        with L.inference_mode():
            x.mul_(c)  # untracked, as under no_grad
        return (x * x).sum()
    return L.func.grad(f)(x), x


def grad_inference_tensor_written_outside(L, x, c):
    def f(x):
        with L.inference_mode():
            k = L.ones(4)
        k.add_(1)
        return (x * k).sum()
    return L.func.grad(f)(x)


def grad_inference_mode_false(L, x, c):
    def f(x):
        with L.inference_mode(False):
            k = x.sin()
        return (k * x).sum()
    return L.func.grad(f)(x)


# ------------------------------------------------------------------ 5. vmap's chunk_size
def _rows(x, c):
    return x.unsqueeze(0) * c.unsqueeze(1) + x.unsqueeze(1)


def vmap_chunks_write_captured(L, x, c):
    w = L.zeros(4)

    def f(r):
        w.add_(1)  # once per chunk: the later chunks see the earlier writes
        return r * w
    return L.func.vmap(f, chunk_size=3)(_rows(x, c)), w


def vmap_chunks_batched_write_captured(L, x, c):
    w = L.zeros(4)
    return L.func.vmap(lambda r: w.add_(r), chunk_size=2)(_rows(x, c))


def vmap_chunks_write_input(L, x, c):
    xs = _rows(x, c)
    return L.func.vmap(lambda r: r.mul_(2).sum(), chunk_size=3)(xs), xs


def vmap_chunks_in_out_dims(L, x, c):
    xs = _rows(x, c)
    return L.func.vmap(lambda a, b: (a * b, a.sum()), in_dims=(1, None), out_dims=(1, 0), chunk_size=3)(xs, c)


def vmap_chunks_dict_input(L, x, c):
    xs = _rows(x, c)
    return L.func.vmap(lambda d: {"s": d["a"] * d["b"]}, in_dims=({"a": 0, "b": 1},),
                       chunk_size=3)({"a": xs, "b": xs.T.clone()})["s"]


def vmap_chunks_backward(L, x, c):
    xs = _rows(x, c).requires_grad_()
    out = L.func.vmap(lambda r: (r.sin() * r).sum(), chunk_size=3)(xs)
    out.sum().backward()
    return out, xs.grad


def _random_rows(L, randomness):
    L.manual_seed(0)
    out = L.func.vmap(lambda r: r + L.rand(4), randomness=randomness, chunk_size=2)(L.zeros(5, 4))
    # values differ between libraries: their shape and which rows are the same
    same = [float(bool((out[i] == out[j]).all())) for i in range(5) for j in range(i)]
    return L.tensor(list(out.shape)), L.tensor(same)


def vmap_chunks_random_same(L, x, c):
    return _random_rows(L, "same")


def vmap_chunks_random_different(L, x, c):
    return _random_rows(L, "different")


def vmap_chunks_random_error(L, x, c):
    return _random_rows(L, "error")


CASES = [grad_input_detach_write, vjp_input_detach_write, jacrev_input_detach_write, jacfwd_input_detach_write,
         grad_intermediate_detach_write, grad_intermediate_data_write, grad_detached_view_write,
         jvp_detach_write, grad_detach_then_tracked_write, vmap_input_detach_write, vmap_captured_detach_write,
         vmap_captured_detach_batched_write, grad_captured_detach_write, grad_input_no_grad_write,
         grad_no_grad_view_write, grad_no_grad_view_written_with_grad, grad_detached_is_no_view,
         grad_captured_no_grad_write,
         hessian_no_grad, jacfwd_jacrev_no_grad, jacrev_jacrev_no_grad, jacrev_jacfwd_no_grad, grad_grad_no_grad,
         jvp_grad_no_grad, jvp_no_grad, grad_no_grad_around_inner_grad, grad_of_inner_no_grad_on_outer_value,
         jvp_no_grad_in_place, jacrev_jvp_no_grad_in_place, vjp_no_grad_backward_through_tape,
         grad_inference_mode, vjp_inference_mode, jvp_inference_mode, jacfwd_inference_mode, vmap_inference_mode,
         grad_inference_mode_write_input, grad_inference_tensor_written_outside, grad_inference_mode_false,
         grad_inference_tensor_added, grad_inference_tensor_cloned, grad_inference_tensor_scaled,
         vmap_grad_inference_tensor_saved,
         vmap_chunks_write_captured, vmap_chunks_batched_write_captured, vmap_chunks_write_input,
         vmap_chunks_in_out_dims, vmap_chunks_dict_input, vmap_chunks_backward, vmap_chunks_random_same,
         vmap_chunks_random_different, vmap_chunks_random_error]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_like_torch(case, rng):
    x = rng.standard_normal(4).astype(np.float32)
    c = rng.uniform(0.5, 2.0, 4).astype(np.float32)
    _compare(case, (x, c))


# ------------------------------------------------------------------ 4. autograd flags inside transforms
def _flags(t):
    return (t.requires_grad, t.is_leaf, t.grad_fn is not None)


def _flags_seen(L, data):
    """requires_grad / is_leaf / grad_fn-is-set of inputs, results, constants, views and captured tensors,
    as each transform's function sees them."""
    x, c = (L.tensor(a) for a in data)
    w = L.tensor(data[1], requires_grad=True)  # captured, requiring grad outside
    seen = []

    def look(*ts):
        seen.append(tuple(_flags(t) for t in ts))

    def f(x):
        y = x * 2
        k = L.ones(4)
        with L.no_grad():
            z = x * 3
        look(x, y, k, k * 2, y.detach(), x[0], y[1:], z, w, x * w, w * 2)
        return (y * w).sum()
    L.func.grad(f)(x)
    L.func.grad(f)(x.clone().requires_grad_())
    L.func.vjp(lambda x: (look(x, x * 2, x[1:]), x * 2)[1], x)
    L.func.jacrev(f)(x)
    L.func.grad(lambda a, b: (look(a, b, a * b), (a * b).sum())[1], argnums=1)(x, c)
    L.func.vmap(lambda r: (look(r, r * 2), r * 2)[1])(x)
    L.func.jvp(lambda r: (look(r, r * 2), r * 2)[1], (x,), (c,))
    L.func.jacfwd(lambda r: (look(r, r * 2), r * 2)[1])(x)
    L.func.grad(lambda r: L.func.vmap(lambda q: (look(q, q * 2), q * 2)[1])(r).sum())(x)
    L.func.vmap(L.func.grad(lambda q: (look(q, q * 2), q * 2)[1]))(x)
    L.func.grad(lambda a: L.func.grad(lambda b: (look(a, b, a * b), (a * b).sum())[1])(a).sum())(x)
    return seen


def test_autograd_flags_inside_transforms(rng):
    data = (rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2.0, 4).astype(np.float32))
    assert _flags_seen(jtorch, data) == _flags_seen(torch, data)

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


def _flat(res, keys):
    """Dicts (at any depth) as tuples of their values in key order, for assert_close; their keys go to
    ``keys``."""
    if isinstance(res, dict):
        keys.append(list(res))
        return tuple(_flat(res[k], keys) for k in sorted(res))
    if isinstance(res, (tuple, list)) and not isinstance(res, torch.Size):
        return tuple(_flat(r, keys) for r in res)
    return res


def _compare(case, data):
    want_keys, got_keys = [], []
    want, got = _flat(_outcome(case, torch, data), want_keys), _flat(_outcome(case, jtorch, data), got_keys)
    assert got_keys == want_keys
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


def vmap_hessian_no_grad_norm(L, x, c):
    def f(v):
        with L.no_grad():
            n = v.norm()
        return (v / n).sin().sum()
    return L.func.vmap(L.func.hessian(f))(_rows(x, c))


def hessian_setitem_no_grad(L, x, c):
    def f(v):
        y = v * c
        with L.no_grad():
            y[0] = 5.0
        return (y * v.sin()).sum()
    return L.func.hessian(f)(x), L.func.jacfwd(L.func.jacrev(f))(x)


def hessians_in_place_clamp_no_grad(L, x, c):
    def f(v):
        y = v * c
        with L.no_grad():
            y.clamp_(min=0)
        return (y * y * v).sum()
    return L.func.jacfwd(L.func.jacrev(f))(x), L.func.jacrev(L.func.jacrev(f))(x)


CASES = [grad_input_detach_write, vjp_input_detach_write, jacrev_input_detach_write, jacfwd_input_detach_write,
         grad_intermediate_detach_write, grad_intermediate_data_write, grad_detached_view_write,
         jvp_detach_write, grad_detach_then_tracked_write, vmap_input_detach_write, vmap_captured_detach_write,
         vmap_captured_detach_batched_write, grad_captured_detach_write, grad_input_no_grad_write,
         grad_no_grad_view_write, grad_no_grad_view_written_with_grad, grad_detached_is_no_view,
         grad_captured_no_grad_write,
         hessian_no_grad, jacfwd_jacrev_no_grad, jacrev_jacrev_no_grad, jacrev_jacfwd_no_grad, grad_grad_no_grad,
         jvp_grad_no_grad, jvp_no_grad, grad_no_grad_around_inner_grad, grad_of_inner_no_grad_on_outer_value,
         jvp_no_grad_in_place, jacrev_jvp_no_grad_in_place, vjp_no_grad_backward_through_tape,
         vmap_hessian_no_grad_norm, hessian_setitem_no_grad, hessians_in_place_clamp_no_grad,
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


# ------------------------------------------------------------------ 6. the rest of the API surface
class _Tied:
    """A module whose second layer shares the first's weight, with a buffer (built per library)."""

    @staticmethod
    def make(L, w):
        class Tied(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = L.nn.Linear(4, 4, bias=False)
                self.b = L.nn.Linear(4, 4, bias=False)
                self.b.weight = self.a.weight
                self.register_buffer("buf", L.ones(4))

            def forward(self, x):
                return self.b(self.a(x).tanh()) + self.buf
        m = Tied()
        with L.no_grad():
            m.a.weight.copy_(L.tensor(w))
        return m


def functional_call_tied(L, x, c):
    m = _Tied.make(L, np.outer(x.numpy(), c.numpy()) / 4)
    w = L.outer(c, x)
    tied = L.func.functional_call(m, {"a.weight": w}, (x,))  # b.weight follows a.weight
    untied = L.func.functional_call(m, {"a.weight": w}, (x,), tie_weights=False)
    both = L.func.functional_call(m, {"a.weight": w, "b.weight": w, "buf": c}, (x,), strict=True)
    return tied, untied, both


def functional_call_tied_conflict(L, x, c):
    m = _Tied.make(L, np.outer(x.numpy(), c.numpy()))
    return L.func.functional_call(m, {"a.weight": L.outer(c, x), "b.weight": L.outer(x, c)}, (x,))


def functional_call_strict_missing(L, x, c):
    m = _Tied.make(L, np.outer(x.numpy(), c.numpy()))
    return L.func.functional_call(m, {"a.weight": L.outer(c, x)}, (x,), strict=True)


def functional_call_strict_unexpected(L, x, c):
    m = _Tied.make(L, np.outer(x.numpy(), c.numpy()))
    return L.func.functional_call(m, {"a.weight": L.outer(c, x), "buf": c, "other": c}, (x,), strict=True)


def functional_call_grad_through_tied(L, x, c):
    m = _Tied.make(L, np.outer(x.numpy(), c.numpy()) / 4)
    params = {"a.weight": L.outer(c, x)}
    return L.func.grad(lambda p: L.func.functional_call(m, p, (x,)).pow(2).sum())(params)["a.weight"]


def stack_module_state_shapes(L, x, c):
    L.manual_seed(0)
    models = [L.nn.BatchNorm1d(4) for _ in range(3)]
    params, buffers = L.func.stack_module_state(models)
    flags = [(k, list(v.shape), v.requires_grad, v.is_leaf) for k, v in sorted({**params, **buffers}.items())]
    return L.tensor([[len(k), *s, float(r), float(lf)] for k, s, r, lf in flags])


def stack_module_state_mixed_modes(L, x, c):
    models = [L.nn.Linear(4, 2), L.nn.Linear(4, 2)]
    models[1].eval()
    return L.func.stack_module_state(models)


def linearize_two_inputs(L, x, c):
    out, fn = L.func.linearize(lambda a, b: a.sin() * b.exp(), x, c)
    return out, fn(c, x), fn(x, x)


def linearize_bad_tangent(L, x, c):
    return L.func.linearize(lambda a: a.sin(), x)[1](c[:2])


def linearize_tangent_dtype(L, x, c):
    return L.func.linearize(lambda a: a.sin(), x)[1](c.double())


def jvp_has_aux(L, x, c):
    return L.func.jvp(lambda a: (a.sin() * a, {"c": a.cos(), "n": a.sum()}), (x,), (c,), has_aux=True)


def jvp_has_aux_not_pair(L, x, c):
    return L.func.jvp(lambda a: a.sin(), (x,), (c,), has_aux=True)


def jvp_aux_not_tensor(L, x, c):
    return L.func.jvp(lambda a: (a.sin(), 3), (x,), (c,), has_aux=True)


def jvp_output_not_tensor(L, x, c):
    return L.func.jvp(lambda a: 3, (x,), (c,))


def jvp_integer_primal(L, x, c):
    return L.func.jvp(lambda a: a * 2, (x.long(),), (c.long(),))


def jvp_primal_not_tensor(L, x, c):
    return L.func.jvp(lambda a: a * 2, (2.0,), (1.0,))


def vjp_has_aux(L, x, c):
    out, fn, aux = L.func.vjp(lambda a: (a.sin() * a, (a.cos(), a * 2)), x, has_aux=True)
    return out, fn(c), aux


def vjp_aux_not_tensor(L, x, c):
    return L.func.vjp(lambda a: (a.sin(), "aux"), x, has_aux=True)


def vjp_output_not_tensor(L, x, c):
    return L.func.vjp(lambda a: 3, x)


def vjp_cotangent_shape(L, x, c):
    return L.func.vjp(lambda a: a.sin(), x)[1](c[:2])


def vjp_cotangent_structure(L, x, c):
    return L.func.vjp(lambda a: (a.sin(), a), x)[1](c)


def vjp_tuple_output(L, x, c):
    out, fn = L.func.vjp(lambda a, b: (a.sin() * b, a + b), x, c)
    return out, fn((c, x))


def grad_and_value_argnums_tuple(L, x, c):
    return L.func.grad_and_value(lambda a, b, k: (a * b.sin() * k).sum(), argnums=(0, 1))(x, c, c * 2)


def grad_argnums_negative(L, x, c):
    return L.func.grad(lambda a, b: (a * b.exp()).sum(), argnums=-1)(x, c)


def grad_argnums_duplicate(L, x, c):
    return L.func.grad(lambda a, b: (a * b).sum(), argnums=(0, -2))(x, c)


def grad_argnums_out_of_range(L, x, c):
    return L.func.grad(lambda a, b: (a * b).sum(), argnums=2)(x, c)


def grad_aux_not_tensor(L, x, c):
    return L.func.grad(lambda a: ((a * c).sum(), 3), has_aux=True)(x)


def grad_dict_input_and_aux(L, x, c):
    return L.func.grad(lambda d: ((d["a"] * d["b"].sin()).sum(), {"p": d["a"] * 2}), has_aux=True)(
        {"a": x, "b": c})


def jacrev_chunked_has_aux(L, x, c):
    return L.func.jacrev(lambda a: (a.sin() * c, a.cos()), has_aux=True, chunk_size=2)(x)


def jacrev_chunk_size_zero(L, x, c):
    return L.func.jacrev(lambda a: a.sin(), chunk_size=0)(x)


def jacrev_argnums_tuple_outputs(L, x, c):
    return L.func.jacrev(lambda a, b: (a * b, (a * b).sum()), argnums=(0, 1))(x, c)


def jacrev_integer_input(L, x, c):
    return L.func.jacrev(lambda a: a * 2)(x.long())


def jacfwd_has_aux(L, x, c):
    return L.func.jacfwd(lambda a: (a.sin() * c, {"k": a.cos()}), has_aux=True)(x)


def jacfwd_integer_input(L, x, c):
    return L.func.jacfwd(lambda a: a * 2)(x.long())


def jacfwd_random_in_error_mode(L, x, c):
    return L.func.jacfwd(lambda a: a * L.rand(4))(x)


def jacfwd_random_same(L, x, c):
    return L.func.jacfwd(lambda a: a * L.rand(()), randomness="same")(x).shape


def jacfwd_bad_randomness(L, x, c):
    return L.func.jacfwd(lambda a: a, randomness="sometimes")(x)


def jacrev_has_aux_not_pair(L, x, c):
    return L.func.jacrev(lambda a: a.sin(), has_aux=True)(x)


def vmap_nested_in_dims(L, x, c):
    xs = _rows(x, c)
    return L.func.vmap(lambda d, t: d["a"] * t[0] + t[1], in_dims=({"a": 0}, (None, 1)))({"a": xs}, (c, xs.T))


def vmap_out_dims_tuple(L, x, c):
    return L.func.vmap(lambda r: (r * c, r.sum(), c * 2), out_dims=(1, 0, None))(_rows(x, c))


def vmap_bad_in_dims(L, x, c):
    return [type(_outcome(lambda L, xs: L.func.vmap(lambda *a: a[0], in_dims=d)(*xs), L, args)).__name__
            for d, args in [("a", (x,)), (0.5, (x,)), (None, (x,)), (3, (x,)), ((0,), (x, x)), ([0, None], (x, c)),
                            ((0, 0), (x, 2.0)), ((0, ({"a": 0},)), (x, ({"b": x},))), (0, (x[0],))]]


def vmap_bad_outputs(L, x, c):
    xs = _rows(x, c)
    return [type(_outcome(lambda L, t: L.func.vmap(f, out_dims=o)(t), L, (xs,))).__name__
            for f, o in [(lambda r: None, 0), (lambda r: (r, None), 0), (lambda r: 1, 0), (lambda r: r, 5),
                         (lambda r: r, None), (lambda r: (r, r), (0, 0, 0))]]


def vmap_size_mismatch(L, x, c):
    return L.func.vmap(lambda a, b: a + b)(_rows(x, c), L.ones(3, 4))


def vmap_no_inputs(L, x, c):
    return L.func.vmap(lambda: L.ones(2))()


CASES_API = [functional_call_tied, functional_call_tied_conflict, functional_call_strict_missing,
             functional_call_strict_unexpected, functional_call_grad_through_tied, stack_module_state_shapes,
             stack_module_state_mixed_modes, linearize_two_inputs, linearize_bad_tangent, linearize_tangent_dtype,
             jvp_has_aux, jvp_has_aux_not_pair, jvp_aux_not_tensor, jvp_output_not_tensor, jvp_integer_primal,
             jvp_primal_not_tensor, vjp_has_aux, vjp_aux_not_tensor, vjp_output_not_tensor, vjp_cotangent_shape,
             vjp_cotangent_structure, vjp_tuple_output, grad_and_value_argnums_tuple, grad_argnums_negative,
             grad_argnums_duplicate, grad_argnums_out_of_range, grad_aux_not_tensor, grad_dict_input_and_aux,
             jacrev_chunked_has_aux, jacrev_chunk_size_zero, jacrev_argnums_tuple_outputs, jacrev_integer_input,
             jacfwd_has_aux, jacfwd_integer_input, jacfwd_random_in_error_mode, jacfwd_random_same,
             jacfwd_bad_randomness, jacrev_has_aux_not_pair, vmap_nested_in_dims, vmap_out_dims_tuple,
             vmap_size_mismatch, vmap_no_inputs]


@pytest.mark.parametrize("case", CASES_API, ids=lambda c: c.__name__)
def test_api_like_torch(case, rng):
    x = rng.standard_normal(4).astype(np.float32)
    c = rng.uniform(0.5, 2.0, 4).astype(np.float32)
    _compare(case, (x, c))


@pytest.mark.parametrize("case", [vmap_bad_in_dims, vmap_bad_outputs], ids=lambda c: c.__name__)
def test_vmap_errors_like_torch(case, rng):
    x = rng.standard_normal(4).astype(np.float32)
    c = rng.uniform(0.5, 2.0, 4).astype(np.float32)
    assert case(jtorch, jtorch.tensor(x), jtorch.tensor(c)) == case(torch, torch.tensor(x), torch.tensor(c))


def test_detach_write_and_no_grad_under_compile(rng):
    """The untracked primitive and a write through a detached view inside grad, compiled by jtorch.compile
    (traced by jax.jit) as well as eager."""
    a = rng.standard_normal(4).astype(np.float32)

    def step(L):
        def f(x):
            y = x * 2
            y.detach()[1:].mul_(3)
            with L.no_grad():
                k = x.sin()
            return (y * x * k).sum()
        return lambda x: L.func.grad(f)(x)
    want = step(torch)(torch.tensor(a))
    compiled = jtorch.compile(step(jtorch))
    for _ in range(2):  # (the first call runs eagerly, the second traced)
        assert_close(compiled(jtorch.tensor(a)), want, rtol=1e-5, atol=1e-5)

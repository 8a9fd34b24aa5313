"""torch.func transforms and the tensors a function captures instead of taking as inputs: in-place writes
inside vmap (to captured tensors, to mapped and unmapped inputs), writes inside grad-type transforms
(refused by torch), and captured tensors that require grad (connected to autograd). Every case runs the
same seeded inputs through torch and jtorch and compares the results, the caller's tensors afterwards
(values and version counters), the gradients and the exception types."""
import numpy as np
import pytest
import torch

import jtorch
from jtorch import func as jfunc
from helpers import assert_close

SHAPES = {"xs": (3, 4), "y": (4,), "z": (4,), "w": (4,), "x": (4,), "xss": (3, 2, 4), "m": (2, 4), "bx": (3, 5, 4)}


class Case:
    """One library's run: the tensors it makes from the shared arrays are kept, to compare afterwards."""

    def __init__(self, L, F, arrays):
        self.L, self.F, self.arrays, self.made = L, F, arrays, []

    def t(self, name, requires_grad=False, keep=True):
        t = self.L.tensor(self.arrays[name], requires_grad=requires_grad)
        if keep:
            self.made.append(t)
        return t


def _outcome(case_fn, L, F, arrays):
    c = Case(L, F, arrays)
    try:
        res = case_fn(c)
        err = None
    except Exception as e:  # the exception's type is compared with torch's
        res, err = None, type(e)
    made = [(t.detach().clone(), t._version, None if t.grad is None else t.grad.clone()) for t in c.made]
    return res, err, made


def _flat(res):
    if isinstance(res, (list, tuple)):
        return [v for r in res for v in _flat(r)]
    if isinstance(res, dict):
        return [v for k in res for v in _flat(res[k])]
    return [res]


def _compare(case_fn, rng):
    arrays = {k: rng.standard_normal(s).astype(np.float32) for k, s in SHAPES.items()}
    t_res, t_err, t_made = _outcome(case_fn, torch, torch.func, arrays)
    j_res, j_err, j_made = _outcome(case_fn, jtorch, jfunc, arrays)
    assert j_err is t_err, (j_err, t_err)
    assert len(_flat(j_res)) == len(_flat(t_res))
    for a, b in zip(_flat(j_res), _flat(t_res)):
        if isinstance(b, torch.Tensor):
            assert_close(a.detach(), b.detach(), atol=1e-5, rtol=1e-5)
        else:
            assert a == b
    assert len(j_made) == len(t_made)
    for (jv, jver, jg), (tv, tver, tg) in zip(j_made, t_made):
        assert_close(jv, tv, atol=1e-5, rtol=1e-5)
        # (after a refused per-sample write jtorch's counter has moved: the values were put back)
        assert jver == tver or t_err is not None
        assert (jg is None) == (tg is None)
        if tg is not None:
            assert_close(jg, tg, atol=1e-4, rtol=1e-4)
    return t_err


def _vmap_captured_add(c):
    y = c.t("y")
    return c.F.vmap(lambda x: x * y.add_(1))(c.t("xs"))


def _vmap_captured_two_writes(c):
    y = c.t("y")

    def f(x):
        y.add_(1).mul_(2)
        return x + y
    return c.F.vmap(f)(c.t("xs"))


def _vmap_captured_view_write(c):
    m = c.t("m")
    return c.F.vmap(lambda x: x * m[0].add_(1))(c.t("xs"))


def _vmap_captured_copy(c):
    y, z = c.t("y"), c.t("z")
    return c.F.vmap(lambda x: x + y.copy_(z))(c.t("xs"))


def _vmap_captured_index_assign(c):
    y = c.t("y")

    def f(x):
        y[0] = 5.0
        return x * y
    return c.F.vmap(f)(c.t("xs"))


def _vmap_captured_out_arg(c):
    y, z = c.t("y"), c.t("z")

    def f(x):
        c.L.add(z, 1, out=y)
        return x * y
    return c.F.vmap(f)(c.t("xs"))


def _vmap_nested_captured_add(c):
    y = c.t("y")
    return c.F.vmap(c.F.vmap(lambda x: x * y.add_(1)))(c.t("xss"))


def _vmap_unmapped_input_add(c):
    y = c.t("y")
    return c.F.vmap(lambda x, y: x * y.add_(1), in_dims=(0, None))(c.t("xs"), y)


def _vmap_mapped_input_mul(c):
    xs = c.t("xs")
    return c.F.vmap(lambda x: x.mul_(2).add_(1))(xs)


def _vmap_mapped_input_dim1(c):
    xs = c.t("xs")
    return c.F.vmap(lambda x: x.add_(1), in_dims=1)(xs)


def _vmap_mapped_input_index_assign(c):
    xs = c.t("xs")

    def f(x):
        x[0] = 7.0
        return x.sum()
    return c.F.vmap(f)(xs)


def _vmap_mapped_view_of_caller(c):
    xss = c.t("xss")
    return c.F.vmap(lambda x: x.mul_(2))(xss[:, 1])


def _vmap_mapped_dict_out_dims(c):
    d = {"a": c.t("xs")}
    return c.F.vmap(lambda d: d["a"].mul_(2), out_dims=1)(d)


def _vmap_written_input_nonleaf_backward(c):
    w = c.t("w", requires_grad=True)
    xs = c.t("xs") + w  # a non-leaf the mapped function writes: the write joins its history
    out = c.F.vmap(lambda x: x.mul_(3))(xs)
    (xs.sin().sum() + out.sum()).backward()
    return out, xs


def _vmap_captured_add_batched(c):
    y = c.t("y")
    return c.F.vmap(lambda x: y.add_(x))(c.t("xs"))


def _vmap_captured_mul_batched(c):
    y = c.t("y")

    def f(x):
        y.mul_(x)
        return x
    return c.F.vmap(f)(c.t("xs"))


def _vmap_captured_copy_batched(c):
    y = c.t("y")
    return c.F.vmap(lambda x: y.copy_(x))(c.t("xs"))


def _vmap_captured_index_assign_batched(c):
    y = c.t("y")

    def f(x):
        y[0] = x.sum()
        return x
    return c.F.vmap(f)(c.t("xs"))


def _vmap_captured_out_arg_batched(c):
    y = c.t("y")
    return c.F.vmap(lambda x: c.L.add(x, 1, out=y))(c.t("xs"))


def _vmap_unmapped_input_batched(c):
    y = c.t("y")
    return c.F.vmap(lambda x, y: y.add_(x), in_dims=(0, None))(c.t("xs"), y)


def _vmap_nested_outer_value_into_inner_write(c):
    ys = c.t("xs")
    return c.F.vmap(lambda y, x: c.F.vmap(lambda xx: y.add_(xx))(x))(ys, c.t("xss"))


def _vmap_captured_leaf_requires_grad(c):
    w = c.t("w", requires_grad=True)
    return c.F.vmap(lambda x: x * w.add_(1))(c.t("xs"))


def _vmap_captured_write_survives_backward(c):
    y, xs = c.t("y"), c.t("xs", requires_grad=True)
    out = c.F.vmap(lambda x: (x * y.add_(1)).sin())(xs)
    out.sum().backward()  # (the backward's replay must not write y again)
    return out


def _vmap_nonleaf_captured_write_backward(c):
    w = c.t("w", requires_grad=True)
    y = w * 2
    out = c.F.vmap(lambda x: x * y.add_(1))(c.t("xs"))
    out.pow(2).sum().backward()
    return out, y.detach()


def _vmap_nonleaf_captured_mul_history(c):
    w = c.t("w", requires_grad=True)
    y = w * 2
    v0 = y._version
    out = c.F.vmap(lambda x: x * y.mul_(3))(c.t("xs"))
    (out.sum() + y.pow(2).sum()).backward()  # y's own history moved on with the write
    return out, y.detach(), y._version - v0


def _vmap_nonleaf_captured_view_write(c):
    w = c.t("w", requires_grad=True)
    m = w * 1
    row = m.view(1, 4)  # a view made outside, written through a view of it made inside
    out = c.F.vmap(lambda x: x * row[0].mul_(2))(c.t("xs"))
    (out.sum() + m.sin().sum()).backward()
    return out, m.detach()


def _grad_transform(name):
    def call(c, f, x):
        F = c.F
        if name == "grad":
            return F.grad(lambda x: f(x).sum())(x)
        if name == "vjp":
            out, fn = F.vjp(f, x)
            return out, fn(c.L.ones_like(out))
        if name == "jvp":
            return F.jvp(f, (x,), (c.L.ones_like(x),))
        return getattr(F, name)(f)(x)
    return call


GRAD_TRANSFORMS = ["grad", "vjp", "jvp", "jacrev", "jacfwd"]


def _captured_write_in(name):
    def case(c):
        y = c.t("y")
        return _grad_transform(name)(c, lambda x: x * y.add_(1), c.t("x"))
    return case


def _captured_write_no_grad_in(name):
    def case(c):
        y = c.t("y")

        def f(x):
            with c.L.no_grad():
                y.mul_(2)
            return x.sin()
        return _grad_transform(name)(c, f, c.t("x"))
    return case


def _input_write_in(name):
    def case(c):
        # (grad, vjp, jacrev refuse it; jvp and jacfwd write the primal through to the caller's tensor)
        return _grad_transform(name)(c, lambda x: x.mul_(2).sin(), c.t("x"))
    return case


def _grad_random_draw(c):
    return c.F.grad(lambda x: (x * x).sum() + 0 * c.L.rand(3).sum())(c.t("x"))


def _grad_undifferentiated_input_write(c):
    y = c.t("y")
    return c.F.grad(lambda x, y: (x.sin() * y.add_(x)).sum())(c.t("x"), y)


def _jacrev_undifferentiated_input_write(c):
    y = c.t("y")
    return c.F.jacrev(lambda x, y: x.sin() * y.mul_(2), argnums=0)(c.t("x"), y)


def _functional_call_bn_buffers_in_grad(c):
    m = _bn(c)
    params = {k: v.detach().clone() for k, v in m.named_parameters()}
    bufs = {k: v.clone() for k, v in m.named_buffers()}
    x = c.t("bx")[0]
    g = c.F.grad(lambda p, b: c.F.functional_call(m, (p, b), (x,)).pow(2).sum())(params, bufs)
    return g, bufs


def _grad_undifferentiated_input_read(c):
    return c.F.grad(lambda x, y: (x.sin() * y).sum())(c.t("x"), c.t("y"))


def _bn(c):
    c.L.manual_seed(0)
    m = c.L.nn.BatchNorm1d(4)
    with c.L.no_grad():
        m.weight.copy_(c.t("w", keep=False))
        m.bias.copy_(c.t("z", keep=False))
    return m


def _functional_call_bn_in_grad(c):
    m = _bn(c)
    params = {k: v.detach().clone() for k, v in m.named_parameters()}
    x = c.t("bx")[0]
    return c.F.grad(lambda p: c.F.functional_call(m, p, (x,)).pow(2).sum())(params)


def _functional_call_bn_vmap_unmapped_buffers(c):
    m = _bn(c)
    params = dict(m.named_parameters())
    bufs = {k: v.clone() for k, v in m.named_buffers()}
    return c.F.vmap(lambda x, b: c.F.functional_call(m, (params, b), (x,)), in_dims=(0, None))(c.t("bx"), bufs)


def _functional_call_bn_vmap_mapped_buffers(c):
    m = _bn(c)
    params = {k: v.detach() for k, v in m.named_parameters()}
    bufs = {k: v.unsqueeze(0).repeat(3, *[1] * v.dim()) for k, v in m.named_buffers()}
    out = c.F.vmap(lambda x, b: c.F.functional_call(m, (params, b), (x,)))(c.t("bx"), bufs)
    return out, bufs


# ---- captured tensors that require grad: connected to autograd
def _vmap_captured_weight(c):
    w = c.t("w", requires_grad=True)
    out = c.F.vmap(lambda x: (x * w).sum())(c.t("xs"))
    out.sum().backward()
    return out


def _vmap_captured_weight_and_input(c):
    w, xs = c.t("w", requires_grad=True), c.t("xs", requires_grad=True)
    out = c.F.vmap(lambda x: (x * w).tanh())(xs)
    out.pow(2).sum().backward()
    return out


def _nested_vmap_captured_weight(c):
    w = c.t("w", requires_grad=True)
    out = c.F.vmap(c.F.vmap(lambda x: (x * w).sin().sum()))(c.t("xss"))
    out.sum().backward()
    return out


def _captured_view_of_weight(c):
    w = c.t("m", requires_grad=True)
    row = w[1]  # a view made outside: the gradient goes through it to w
    out = c.F.vmap(lambda x: (x * row).sum())(c.t("xs"))
    out.pow(2).sum().backward()
    return out


def _create_graph_through_captured(c):
    w = c.t("w", requires_grad=True)
    out = c.F.vmap(lambda x: (x * w).pow(2).sum())(c.t("xs"))
    (g,) = c.L.autograd.grad(out.sum(), w, create_graph=True)
    g.pow(2).sum().backward()
    return g


def _captured_weight_in(name):
    def case(c):
        w = c.t("w", requires_grad=True)
        res = _grad_transform(name)(c, lambda x: x.sin() * w, c.t("x"))
        sum(r.pow(2).sum() for r in _flat(res)).backward()
        return res
    return case


def _hessian_captured_weight(c):
    w = c.t("w", requires_grad=True)
    h = c.F.hessian(lambda x: (x.sin() * w).sum())(c.t("x"))
    h.pow(2).sum().backward()
    return h


def _grad_of_grad_captured_weight(c):
    w = c.t("w", requires_grad=True)
    gg = c.F.grad(lambda x: c.F.grad(lambda x: (x.sin() * w).sum())(x).pow(2).sum())(c.t("x"))
    gg.sum().backward()
    return gg


def _functional_call_other_parameters(c):
    c.L.manual_seed(0)
    m = c.L.nn.Linear(4, 2)
    with c.L.no_grad():
        m.weight.copy_(c.t("m", keep=False))
        m.bias.copy_(c.t("z", keep=False)[:2])
    params = {"weight": c.t("m", requires_grad=True)}  # the bias stays the module's own
    out = c.F.vmap(lambda x: c.F.functional_call(m, params, (x,)))(c.t("xs"))
    out.pow(2).sum().backward()
    return out, m.bias.grad


def _per_sample_grads_captured_bias(c):
    b = c.t("z", requires_grad=True)
    xs, w = c.t("xs"), c.t("w", requires_grad=True)
    g = c.F.vmap(c.F.grad(lambda w, x: ((x * w).sum() + b.sum()).tanh()), in_dims=(None, 0))(w, xs)
    g.pow(2).sum().backward()
    return g


def _captured_parameter_and_its_data(c):
    w = c.t("w", requires_grad=True)
    d = w.data  # read first: the same storage, not differentiable; w itself is read after
    out = c.F.vmap(lambda x: (x * d).sum() + (x * w).sum())(c.t("xs"))
    out.sum().backward()
    return out


def _captured_weight_detached_inside(c):
    w = c.t("w", requires_grad=True)
    out = c.F.vmap(lambda x: (x * w * w.detach()).sum())(c.t("xs"))
    out.sum().backward()
    return out


def _grad_input_detached_inside(c):
    return c.F.grad(lambda x: (x.sin() * x.detach()).sum())(c.t("x"))


def _no_grad_outside(c):
    w = c.t("w", requires_grad=True)
    with c.L.no_grad():
        out = c.F.vmap(lambda x: (x * w).sum())(c.t("xs"))
    return out, out.requires_grad


CASES = {
    "vmap_captured_add": _vmap_captured_add,
    "vmap_captured_two_writes": _vmap_captured_two_writes,
    "vmap_captured_view_write": _vmap_captured_view_write,
    "vmap_captured_copy": _vmap_captured_copy,
    "vmap_captured_index_assign": _vmap_captured_index_assign,
    "vmap_captured_out_arg": _vmap_captured_out_arg,
    "vmap_nested_captured_add": _vmap_nested_captured_add,
    "vmap_unmapped_input_add": _vmap_unmapped_input_add,
    "vmap_mapped_input_mul": _vmap_mapped_input_mul,
    "vmap_mapped_input_dim1": _vmap_mapped_input_dim1,
    "vmap_mapped_input_index_assign": _vmap_mapped_input_index_assign,
    "vmap_mapped_view_of_caller": _vmap_mapped_view_of_caller,
    "vmap_mapped_dict_out_dims": _vmap_mapped_dict_out_dims,
    "vmap_written_input_nonleaf_backward": _vmap_written_input_nonleaf_backward,
    "vmap_captured_add_batched": _vmap_captured_add_batched,
    "vmap_captured_mul_batched": _vmap_captured_mul_batched,
    "vmap_captured_copy_batched": _vmap_captured_copy_batched,
    "vmap_captured_index_assign_batched": _vmap_captured_index_assign_batched,
    "vmap_captured_out_arg_batched": _vmap_captured_out_arg_batched,
    "vmap_unmapped_input_batched": _vmap_unmapped_input_batched,
    "vmap_nested_outer_value_into_inner_write": _vmap_nested_outer_value_into_inner_write,
    "vmap_captured_leaf_requires_grad": _vmap_captured_leaf_requires_grad,
    "vmap_captured_write_survives_backward": _vmap_captured_write_survives_backward,
    "vmap_nonleaf_captured_write_backward": _vmap_nonleaf_captured_write_backward,
    "vmap_nonleaf_captured_mul_history": _vmap_nonleaf_captured_mul_history,
    "vmap_nonleaf_captured_view_write": _vmap_nonleaf_captured_view_write,
    "grad_random_draw": _grad_random_draw,
    "grad_undifferentiated_input_read": _grad_undifferentiated_input_read,
    "grad_undifferentiated_input_write": _grad_undifferentiated_input_write,
    "jacrev_undifferentiated_input_write": _jacrev_undifferentiated_input_write,
    "functional_call_bn_buffers_in_grad": _functional_call_bn_buffers_in_grad,
    "functional_call_bn_in_grad": _functional_call_bn_in_grad,
    "functional_call_bn_vmap_unmapped_buffers": _functional_call_bn_vmap_unmapped_buffers,
    "functional_call_bn_vmap_mapped_buffers": _functional_call_bn_vmap_mapped_buffers,
    "vmap_captured_weight": _vmap_captured_weight,
    "vmap_captured_weight_and_input": _vmap_captured_weight_and_input,
    "nested_vmap_captured_weight": _nested_vmap_captured_weight,
    "captured_view_of_weight": _captured_view_of_weight,
    "create_graph_through_captured": _create_graph_through_captured,
    "hessian_captured_weight": _hessian_captured_weight,
    "grad_of_grad_captured_weight": _grad_of_grad_captured_weight,
    "functional_call_other_parameters": _functional_call_other_parameters,
    "per_sample_grads_captured_bias": _per_sample_grads_captured_bias,
    "no_grad_outside": _no_grad_outside,
    "captured_weight_detached_inside": _captured_weight_detached_inside,
    "grad_input_detached_inside": _grad_input_detached_inside,
    "captured_parameter_and_its_data": _captured_parameter_and_its_data,
}
for _n in GRAD_TRANSFORMS:
    CASES[f"{_n}_captured_write"] = _captured_write_in(_n)
    CASES[f"{_n}_captured_write_no_grad"] = _captured_write_no_grad_in(_n)
    CASES[f"{_n}_input_write"] = _input_write_in(_n)
    CASES[f"{_n}_captured_weight"] = _captured_weight_in(_n)

RAISES = {"vmap_captured_add_batched", "vmap_captured_mul_batched", "vmap_captured_copy_batched",
          "vmap_captured_index_assign_batched", "vmap_captured_out_arg_batched", "vmap_unmapped_input_batched",
          "vmap_nested_outer_value_into_inner_write", "vmap_captured_leaf_requires_grad",
          "functional_call_bn_in_grad", "functional_call_bn_vmap_unmapped_buffers"} | \
    {f"{n}_captured_write" for n in GRAD_TRANSFORMS} | {f"{n}_captured_write_no_grad" for n in GRAD_TRANSFORMS} | \
    {f"{n}_input_write" for n in ("grad", "vjp", "jacrev")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_like_torch(name, rng):
    err = _compare(CASES[name], rng)
    # (the expectation is torch's own: this keeps the list of refusals honest)
    assert (err is RuntimeError) == (name in RAISES), err


def test_batched_write_leaves_no_tracer_behind(rng):
    """A refused per-sample write leaves the captured tensor readable, with its old values."""
    a = rng.standard_normal((3, 4)).astype(np.float32)
    y0 = rng.standard_normal(4).astype(np.float32)
    y = jtorch.tensor(y0)
    with pytest.raises(RuntimeError, match="vmap: inplace arithmetic"):
        jfunc.vmap(lambda x: y.add_(x))(jtorch.tensor(a))
    np.testing.assert_array_equal(y.numpy(), y0)
    np.testing.assert_array_equal((y * 2).numpy(), y0 * 2)


def test_compiled_step_with_vmap_over_captured_state(rng):
    """Under jtorch.compile the captured weight gets its gradient and the captured counter its writes,
    step after step, as in torch's eager run."""
    w0 = rng.standard_normal(4).astype(np.float32)
    xs = rng.standard_normal((3, 4)).astype(np.float32)

    def run(L, F, compile_it):
        w, y = L.tensor(w0, requires_grad=True), L.zeros(4)

        def step(xs):
            out = F.vmap(lambda x: (x * w * y.add_(1)).sin())(xs)
            loss = out.pow(2).sum()
            loss.backward()
            return loss
        step = L.compile(step) if compile_it else step
        losses = []
        for _ in range(3):
            w.grad = None
            losses.append(step(L.tensor(xs)).detach())
        return losses, w.grad, y
    expect = run(torch, torch.func, False)
    got = run(jtorch, jfunc, True)
    for a, b in zip(_flat(got), _flat(expect)):
        assert_close(a, b, atol=1e-5, rtol=1e-5)

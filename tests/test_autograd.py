"""Eager autograd against torch: backward, grad, hooks, modes, Functions, higher order, errors."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both


def pair(rng, shape=(3, 4), dtype=np.float32):
    return both(rng.standard_normal(shape).astype(dtype), requires_grad=True)


def test_backward_accumulates_in_place(rng):
    t, j = pair(rng)
    for m in (torch, jtorch):
        pass
    (t * t).sum().backward()
    (j * j).sum().backward()
    g = j.grad
    assert_close(j.grad, t.grad)
    (t.sin()).sum().backward()
    (j.sin()).sum().backward()
    assert j.grad is g  # accumulated into the same tensor object
    assert_close(j.grad, t.grad)


def test_backward_with_gradient_and_retain_graph(rng):
    t, j = pair(rng)
    yt, yj = t.exp() * 2, j.exp() * 2
    v = rng.standard_normal((3, 4)).astype(np.float32)
    yt.backward(torch.tensor(v), retain_graph=True)
    yj.backward(jtorch.tensor(v), retain_graph=True)
    yt.backward(torch.tensor(v))
    yj.backward(jtorch.tensor(v))
    assert_close(j.grad, t.grad)
    with pytest.raises(RuntimeError, match="second time"):
        yj.backward(jtorch.tensor(v))
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (j * 2).backward()


def _backward_twice(make, a):
    y = make(a)
    y.backward()
    try:
        y.backward()
    except RuntimeError as e:
        assert "second time" in str(e)
        return "raised"
    return a.grad


@pytest.mark.parametrize("case", ["add", "views_cat", "mean", "basic_index", "affine_grid", "add_const",
                                  "exp", "mul_scalar", "adv_index", "repeat_interleave", "nansum", "nanmean"])
def test_second_backward_like_torch(rng, case):
    """torch saves no tensor for linear ops (add, sum, views, cat, affine_grid): their graph can be walked
    again; ops that save a value or an index tensor raise on the second walk."""
    makes = {
        "add": lambda m, a: (a + 1).sum(),
        "views_cat": lambda m, a: m.cat([a.view(4, 3), a.t()], 0)[1:].sum(),
        "mean": lambda m, a: a.mean(0).sum() + a.sum(),
        "basic_index": lambda m, a: a[1, 1:].sum(),
        "affine_grid": lambda m, a: m.nn.functional.affine_grid(a.reshape(2, 2, 3), (2, 1, 3, 2),
                                                               align_corners=False).pow(1).sum(),
        "add_const": lambda m, a: (a + m.ones(3, 4)).sum(),
        "exp": lambda m, a: a.exp().sum(),
        "mul_scalar": lambda m, a: (a * 3).sum(),
        "adv_index": lambda m, a: a[:, m.tensor([0, 2, 2])].sum(),
        "repeat_interleave": lambda m, a: a.repeat_interleave(m.tensor([1, 2, 0]), dim=0).sum(),
        "nansum": lambda m, a: m.where(a > 0, a, m.tensor(float("nan"))).nansum(),
        "nanmean": lambda m, a: m.where(a > 0, a, m.tensor(float("nan"))).nanmean(),
    }
    t, j = pair(rng)
    rt = _backward_twice(lambda a: makes[case](torch, a), t)
    rj = _backward_twice(lambda a: makes[case](jtorch, a), j)
    if isinstance(rt, str):
        assert rj == rt
    else:
        assert_close(rj, rt)


@pytest.mark.parametrize("name", ["nansum", "nanmean"])
def test_nan_reductions_check_their_input_for_inplace_changes(rng, name):
    for m, a in zip((torch, jtorch), pair(rng)):
        y = a * 1
        z = getattr(y, name)()
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.backward()


def test_second_backward_of_released_linear_node_with_create_graph(rng):
    t, j = pair(rng)
    res = []
    for m, a in ((torch, t), (jtorch, j)):
        y = (a + 1).view(4, 3)
        y.sum().backward()  # releases the add and view nodes
        (g,) = m.autograd.grad((y * y * y).sum(), a, create_graph=True)  # walks them again, recorded
        res.append((g, m.autograd.grad(g.sum(), a)[0]))
    assert_close(res[1][0], res[0][0])
    assert_close(res[1][1], res[0][1])


def test_backward_inputs_restricts_accumulation(rng):
    (ta, ja), (tb, jb) = pair(rng), pair(rng)
    (ta * tb).sum().backward(inputs=[ta])
    (ja * jb).sum().backward(inputs=[ja])
    assert_close(ja.grad, ta.grad)
    assert jb.grad is None and tb.grad is None


def test_autograd_grad(rng):
    (ta, ja), (tb, jb) = pair(rng), pair(rng)
    gt = torch.autograd.grad((ta * tb.tanh()).sum(), [ta, tb])
    gj = jtorch.autograd.grad((ja * jb.tanh()).sum(), [ja, jb])
    assert_close(gj, gt)
    assert ja.grad is None
    c = jtorch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        jtorch.autograd.grad((ja * 2).sum(), [ja, c])
    g = jtorch.autograd.grad((ja * 2).sum(), [ja, c], allow_unused=True)
    assert g[1] is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        jtorch.autograd.grad((ja * 2).sum(), [jtorch.ones(2)])


def test_higher_order(rng):
    t, j = pair(rng, (5,), np.float64)
    for m, x in ((torch, t), (jtorch, j)):
        y = (x ** 3).sum()
        (g,) = m.autograd.grad(y, x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x, create_graph=True)
        (h3,) = m.autograd.grad(h.sum(), x)
        x._res = (g, h, h3)
    assert_close(j._res, t._res)


def test_create_graph_backward(rng):
    t, j = pair(rng, (4,), np.float64)
    for x in (t, j):
        y = (x.sin() * x).sum()
        y.backward(create_graph=True)
        g = x.grad
        x.grad = None
        g.sum().backward()
    assert_close(j.grad, t.grad)


def test_retain_grad_and_hooks(rng):
    t, j = pair(rng)
    out = {}
    for name, x in (("t", t), ("j", j)):
        h = x * 3
        h.retain_grad()
        seen = []
        h.register_hook(lambda g: seen.append(g.clone()))
        x.register_hook(lambda g: g * 2)  # leaf hook changes what accumulates
        (h.tanh()).sum().backward()
        out[name] = (h.grad, seen[0], x.grad)
        assert h.retains_grad and not h.is_leaf
    assert_close(out["j"], out["t"], rtol=1e-4, atol=1e-5)


def test_grad_modes(rng):
    _, j = pair(rng)
    with jtorch.no_grad():
        y = j * 2
        assert not y.requires_grad and not jtorch.is_grad_enabled()
        with jtorch.enable_grad():
            assert (j * 2).requires_grad
    assert jtorch.is_grad_enabled()
    with jtorch.set_grad_enabled(False):
        assert not (j * 2).requires_grad
    with jtorch.inference_mode():
        assert not (j * 2).requires_grad and jtorch.is_inference_mode_enabled()

    @jtorch.no_grad()
    def f(x):
        return x * 2

    @jtorch.no_grad
    def f2(x):
        return x * 2
    assert not f(j).requires_grad and not f2(j).requires_grad
    jtorch.set_grad_enabled(False)
    assert not jtorch.is_grad_enabled()
    jtorch.set_grad_enabled(True)


def test_leaf_and_requires_grad_rules(rng):
    _, j = pair(rng)
    y = j * 2
    assert not y.is_leaf and y.grad_fn is not None and j.is_leaf
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        j.add_(1)
    with pytest.raises(RuntimeError, match="leaf"):
        j[0] = 1.0
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        j[0].add_(1)
    with pytest.raises(RuntimeError):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="floating point"):
        jtorch.ones(2, dtype=jtorch.int64).requires_grad_()
    with jtorch.no_grad():
        j.add_(1)  # allowed
    d = j.detach()
    assert not d.requires_grad and d.is_leaf


def test_saved_tensor_modified_inplace_raises(rng):
    (ta, ja) = pair(rng)
    for x in (ta, ja):
        a = x * 1
        b = a * a  # mul saves a
        a.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            b.sum().backward()


def test_inplace_on_nonleaf_and_views(rng):
    t, j = pair(rng, (4, 5))
    res = {}
    for name, x in (("t", t), ("j", j)):
        a = x * 2
        a[1:3, ::2] *= 3
        a[0] = 0
        v = a.t()
        v[2].mul_(-2)
        a.relu_() if hasattr(a, "relu_") else a.clamp_(min=0)
        (a * a).sum().backward()
        res[name] = (a, x.grad)
    assert_close(res["j"], res["t"], rtol=1e-5, atol=1e-5)


def test_views_share_gradients(rng):
    t, j = pair(rng, (3, 4))
    for x in (t, j):
        parts = x.unbind(0)
        s = parts[0] * 1 + parts[2].exp()
        y = x.view(12)[3:7].sum() + s.sum() + x.t()[1].sum() + x.expand(2, 3, 4).sum()
        y.backward()
    assert_close(j.grad, t.grad)


def test_setitem_gradient(rng):
    t, j = pair(rng, (5,))
    v = rng.standard_normal(2).astype(np.float32)
    (tv, jv) = both(v, requires_grad=True)
    for x, val, m in ((t, tv, torch), (j, jv, jtorch)):
        y = x * 1
        y[m.tensor([0, 3])] = val * 2
        y[y > 100] = 0
        (y * y).sum().backward()
    assert_close(j.grad, t.grad)
    assert_close(jv.grad, tv.grad)


def test_kink_conventions():
    for name in ["abs", "relu"]:
        if not hasattr(jtorch, name):
            continue
        x = jtorch.tensor([0.0, -1.0, 2.0], requires_grad=True)
        getattr(jtorch, name)(x).sum().backward()
        tx = torch.tensor([0.0, -1.0, 2.0], requires_grad=True)
        getattr(torch, name)(tx).sum().backward()
        assert_close(x.grad, tx.grad)
    for m in (torch, jtorch):
        x = m.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
        x.max().backward()
        m._g1 = x.grad
        x = m.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
        x.max(1).values.sum().backward()
        m._g2 = x.grad
        x = m.tensor([0.0, 1.0, 2.0], requires_grad=True)
        x.clamp(0.0, 2.0).sum().backward()
        m._g3 = x.grad
    assert_close((jtorch._g1, jtorch._g2, jtorch._g3), (torch._g1, torch._g2, torch._g3))


def _make_function(m):
    class CustomFunction(m.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input
    return CustomFunction


def test_custom_function_from_the_seed(rng):
    t, j = pair(rng, (6,))
    for m, x in ((torch, t), (jtorch, j)):
        F = _make_function(m)
        y = F.apply(x)
        (y * y).sum().backward()
        assert type(y.grad_fn).__name__ == "CustomFunctionBackward"
    assert_close(j.grad, t.grad)


def test_custom_function_features(rng):
    t, j = pair(rng, (4,))
    for m, x in ((torch, t), (jtorch, j)):
        class Split(m.autograd.Function):
            @staticmethod
            def forward(ctx, a, scale):
                ctx.scale = scale
                ctx.needs = ctx.needs_input_grad
                idx = a.argmax()
                ctx.mark_non_differentiable(idx)
                ctx.save_for_backward(a)
                return a * scale, idx

            @staticmethod
            def backward(ctx, g, g_idx):
                a, = ctx.saved_tensors
                return g * ctx.scale + a, None
        y, idx = Split.apply(x, 3.0)
        assert not idx.requires_grad and y.requires_grad
        y.sum().backward()
    assert_close(j.grad, t.grad)


def test_function_wrong_number_of_grads(rng):
    _, j = pair(rng, (3,))

    class Bad(jtorch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return (g,)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(j, j).sum().backward()


def test_functional_jacobian_hessian(rng):
    x = rng.standard_normal(3)
    f = lambda m: (lambda v: (v ** 2).sin() * v.sum())  # noqa: E731
    assert_close(jtorch.autograd.functional.jacobian(f(jtorch), jtorch.tensor(x)),
                 torch.autograd.functional.jacobian(f(torch), torch.tensor(x)))
    g = lambda m: (lambda v: (v.exp() * v).sum())  # noqa: E731
    assert_close(jtorch.autograd.functional.hessian(g(jtorch), jtorch.tensor(x)),
                 torch.autograd.functional.hessian(g(torch), torch.tensor(x)))
    vt = torch.autograd.functional.vjp(f(torch), torch.tensor(x), torch.ones(3, dtype=torch.float64))
    vj = jtorch.autograd.functional.vjp(f(jtorch), jtorch.tensor(x), jtorch.ones(3, dtype=jtorch.float64))
    assert_close(vj, vt)


def test_gradcheck(rng):
    x = jtorch.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert jtorch.autograd.gradcheck(lambda a: (a.sin() * a).sum(1), (x,))
    assert jtorch.autograd.gradgradcheck(lambda a: (a ** 3).sum(), (x,))

    class Wrong(jtorch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3
    with pytest.raises(RuntimeError):
        jtorch.autograd.gradcheck(Wrong.apply, (x,))


def test_no_grad_through_non_float_outputs(rng):
    _, j = pair(rng)
    v, i = j.max(1)
    assert v.requires_grad and not i.requires_grad
    v.sum().backward()
    assert j.grad.shape == j.shape


def test_post_accumulate_grad_hook_errors_like_torch(rng):
    t, j = pair(rng)
    for lib, leaf in ((torch, t), (jtorch, j)):
        with pytest.raises(RuntimeError, match="non-leaf"):
            (leaf * 2).register_post_accumulate_grad_hook(lambda p: None)
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_post_accumulate_grad_hook(lambda p: None)
    # on a leaf it runs after the gradient is accumulated, with the leaf itself
    seen = []
    for leaf in (t, j):
        leaf.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
        (leaf * leaf).sum().backward()
    assert_close(seen[1], seen[0])


@pytest.mark.parametrize("kind", ["copy", "on_cpu", "to_numpy"])
def test_saved_tensors_hooks_gradients_like_torch(rng, kind):
    a_np, b_np = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32)
    grads, counts = [], []
    for lib in (torch, jtorch):
        a = lib.tensor(a_np, requires_grad=True)
        b = lib.tensor(b_np, requires_grad=True)
        n = {"pack": 0, "unpack": 0}

        def pack(t):
            n["pack"] += 1
            return t.detach().numpy().copy() if kind == "to_numpy" else t.detach().clone()

        def unpack(p):
            n["unpack"] += 1
            return lib.from_numpy(p) if kind == "to_numpy" else p

        hooks = lib.autograd.graph.save_on_cpu() if kind == "on_cpu" else \
            lib.autograd.graph.saved_tensors_hooks(pack, unpack)
        with hooks:
            y = ((a @ b).tanh() * (a.sum(1, keepdim=True)).exp()).sum() + (a * a).mean()
        y.backward()
        grads.append((a.grad, b.grad))
        counts.append(n)
    assert_close(grads[1][0], grads[0][0])
    assert_close(grads[1][1], grads[0][1])
    if kind != "on_cpu":  # both pack and unpack ran (jtorch packs the inputs its VJPs read: other counts)
        assert all(c["pack"] > 0 and c["unpack"] > 0 for c in counts)


def test_saved_tensors_hooks_function_and_disable_like_torch(rng):
    x_np = rng.standard_normal(5).astype(np.float32)
    results = []
    for lib in (torch, jtorch):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x * x * g

        x = lib.tensor(x_np, requires_grad=True)
        seen = []
        with lib.autograd.graph.saved_tensors_hooks(lambda t: (seen.append("pack"), t * 2)[1],
                                                    lambda t: (seen.append("unpack"), t / 2)[1]):
            y = Cube.apply(x)
        y.sum().backward()
        results.append((x.grad, seen))
        with lib.autograd.graph.disable_saved_tensors_hooks("hooks are off here"):
            (x * x).sum().backward()  # ops still record
            with pytest.raises(RuntimeError, match="hooks are off here"):
                with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
    assert_close(results[1][0], results[0][0])
    assert results[1][1] == results[0][1] == ["pack", "unpack"]

"""TorchDispatchMode sees every jtorch op, against real torch.

The same mode class (defined once by a function of the torch module) runs under torch and jtorch on the same
inputs: the aten overloads it is shown (their names), the arguments' kinds, the results it makes, and the
gradients after backward must agree where jtorch's op is the aten op torch runs (the module docstring of
jtorch/utils/_dispatch_road.py says where they differ).
"""
import importlib

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")


def _pd(T):
    return importlib.import_module(T.__name__ + ".utils._python_dispatch")


def logging_mode(T, tag=None, log=None):
    class Logging(_pd(T).TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seen = [] if log is None else log
            self.calls = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.append(str(func) if tag is None else (tag, str(func)))
            self.calls.append((func, types, args, kwargs))
            return func(*args, **(kwargs or {}))
    return Logging()


def changing_mode(T):
    """Doubles every relu's result and adds 1 to every addmm's (ops torch's backward does not run)."""
    A = T.ops.aten

    class Changing(_pd(T).TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func is A.relu.default:
                return out * 2
            if func is A.addmm.default:
                return out + 1
            return out
    return Changing()


def _np(t):
    return np.asarray(t.detach().tolist(), dtype=np.float64)


PROGRAM = ["x + y", "x + 1", "x * 2.0", "x.relu()", "torch.matmul(x, y.T)", "x.sum()", "x.sum(0)",
           "x.sum(1, keepdim=True)", "torch.mm(x, y.T)", "x.exp()", "-x", "x[0]", "x[1:3]", "x[:, 2]", "x.view(16)",
           "x.T", "x.sigmoid()", "x.mean()", "x.mean(1)", "torch.tanh(x)", "x - y", "x / y", "x.pow(2)", "x.clone()",
           "x.add(y, alpha=2)", "x > 0", "torch.matmul(x[0], y[0])", "torch.bmm(x.view(2, 2, 4), y.view(2, 4, 2))", "x.abs()",
           "torch.maximum(x, y)", "x.sqrt()", "torch.cat([x, y])", "torch.stack([x, y])", "x.max(0)", "x.softmax(1)",
           "x.log_softmax(1)", "torch.nn.functional.gelu(x)", "x.reshape(16)", "x.unsqueeze(0)", "x.flatten()",
           "x.expand(2, 4, 4)", "torch.where(x > 0, x, y)", "x.argmax()", "x.var()", "x.std()", "x.masked_fill(x > 0, 0.0)",
           "x.amax(1)", "x.min(1)", "x.sort(1)", "x.cumsum(0)", "x.prod()", "x.clamp(-0.5, 0.5)", "x.ne(0)",
           "x.mean(0, keepdim=True)", "x.sum(dtype=torch.float64)", "x.flip(0)", "x.roll(1)", "x.tril()", "x.trace()",
           "torch.nn.functional.silu(x)", "torch.nn.functional.mse_loss(x, y)", "x.index_select(0, i)", "x.gather(1, j)",
           "x.transpose(0, 1)", "x.t()", "x.add_(1)", "x.mul_(y)", "x.clamp_(0, 1)", "x.zero_()", "x.double()",
           "x.detach()", "x.clone().copy_(y)"]
# where jtorch's ops are not torch's aten ops one for one: the results under a mode are still the op's
DIFFERENT = ["x[None]", "x[None].squeeze(0)", "x[1:, None]", "x.chunk(2)", "x.split(3)", "torch.einsum('ij,jk->ik', x, y)",
             "x.norm()", "torch.nn.functional.layer_norm(x, (4,))", "x.repeat(2, 1)", "x.round()", "x[i]",
             "x.max()", "x.topk(2)", "torch.nn.functional.cross_entropy(x, i.repeat(2))"]


def _inputs(T, xd, yd):
    return {"torch": T, "x": T.tensor(xd), "y": T.tensor(yd), "i": T.tensor([0, 2]), "j": T.tensor([[0], [1], [2], [3]])}


@pytest.mark.parametrize("expr", PROGRAM)
def test_logging_mode_sees_torchs_aten_ops(expr, rng):
    xd = rng.standard_normal((4, 4)).astype(np.float32)
    yd = rng.standard_normal((4, 4)).astype(np.float32)
    out = {}
    for T in (torch, jtorch):
        plain = eval(expr, _inputs(T, xd, yd))
        ns = _inputs(T, xd, yd)
        with logging_mode(T) as m:
            r = eval(expr, ns)
        kinds = [[type(a).__name__ for a in args] for _, _, args, _ in m.calls]
        out[T] = (m.seen, kinds, _np_all(r), _np_all(plain))
    assert out[jtorch][0] == out[torch][0]
    assert out[jtorch][1] == out[torch][1]
    for a, b, c in zip(out[jtorch][2], out[torch][2], out[jtorch][3]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a, c, rtol=0, atol=0)  # the mode changes nothing


@pytest.mark.parametrize("expr", DIFFERENT)
def test_logging_mode_keeps_results_where_ops_differ(expr, rng):
    xd = rng.standard_normal((4, 4)).astype(np.float32)
    yd = rng.standard_normal((4, 4)).astype(np.float32)
    out = {}
    for T in (torch, jtorch):
        ns = _inputs(T, xd, yd)
        with logging_mode(T) as m:
            r = eval(expr, ns)
        out[T] = (_np_all(r), _np(ns["x"]), m.seen)
    assert out[jtorch][2]  # the mode saw the call
    for a, b in zip(out[jtorch][0], out[torch][0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[jtorch][1], out[torch][1], rtol=1e-6)


def _np_all(r):
    return [_np(t) for t in r] if isinstance(r, (tuple, list)) else [_np(r)]


def test_func_is_torchs_overload_object():
    x = jtorch.ones(2, 2)
    with logging_mode(jtorch) as m:
        jtorch.add(x, x)
        jtorch.mm(x, x)
        x.relu()
    funcs = [f for f, _, _, _ in m.calls]
    A, TA = jtorch.ops.aten, torch.ops.aten
    assert funcs == [A.add.Tensor, A.mm.default, A.relu.default]
    assert funcs[0] is A.add.Tensor
    for f, tf in zip(funcs, (TA.add.Tensor, TA.mm.default, TA.relu.default)):
        assert str(f) == str(tf) and f.__name__ == tf.__name__ and f._schema.name == tf._schema.name
        assert f.name() == tf.name() and f.overloadpacket.__name__ == tf.overloadpacket.__name__
    _, types, args, kwargs = m.calls[0]
    assert types == () and all(type(a) is jtorch.Tensor for a in args)


def _mlp(T, data, mode=None):
    xd, w1d, b1d, w2d, b2d = data
    x = T.tensor(xd)
    w1, b1, w2, b2 = (T.tensor(v, requires_grad=True) for v in (w1d, b1d, w2d, b2d))
    F = T.nn.functional
    if mode is None:
        loss = (F.linear(F.linear(x, w1, b1).relu(), w2, b2) ** 2).mean()
        loss.backward()
        return loss, [w1.grad, b1.grad, w2.grad, b2.grad]
    with mode:
        h = F.linear(x, w1, b1).relu()
        loss = (F.linear(h, w2, b2) ** 2).mean()
    forward = list(getattr(mode, "seen", []))
    with mode:
        loss.backward()
    return loss, [w1.grad, b1.grad, w2.grad, b2.grad], forward


def _mlp_data(rng):
    return [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5, 4), (5,), (2, 5), (2,)]]


def test_mlp_forward_backward_under_logging_mode(rng):
    data = _mlp_data(rng)
    res = {}
    for T in (torch, jtorch):
        loss, grads, forward = _mlp(T, data, logging_mode(T))
        ref_loss, ref_grads = _mlp(T, data)
        res[T] = (forward, _np(loss), [_np(g) for g in grads], _np(ref_loss), [_np(g) for g in ref_grads])
    # (with the aten.detach.default torch shows where relu saves its result for the backward)
    assert res[jtorch][0] == res[torch][0]
    np.testing.assert_allclose(res[jtorch][1], res[torch][1], rtol=1e-5)
    for g, tg, rg in zip(res[jtorch][2], res[torch][2], res[jtorch][4]):
        np.testing.assert_allclose(g, tg, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(g, rg, rtol=0, atol=0)


def test_mode_that_changes_results(rng):
    data = _mlp_data(rng)
    res = {}
    for T in (torch, jtorch):
        loss, grads, _ = _mlp(T, data, changing_mode(T))
        plain_loss, _ = _mlp(T, data)
        res[T] = (_np(loss), [_np(g) for g in grads], _np(plain_loss))
    assert not np.allclose(res[jtorch][0], res[jtorch][2])  # the mode's results were used
    np.testing.assert_allclose(res[jtorch][0], res[torch][0], rtol=1e-5)
    for g, tg in zip(res[jtorch][1], res[torch][1]):
        np.testing.assert_allclose(g, tg, rtol=1e-4, atol=1e-6)


def test_nested_modes_inner_first_then_outer(rng):
    xd = rng.standard_normal((3, 3)).astype(np.float32)
    logs = {}
    for T in (torch, jtorch):
        log = []
        x = T.tensor(xd)
        with logging_mode(T, "outer", log), logging_mode(T, "inner", log):
            r = (x * 2).relu().sum(0)
        logs[T] = (log, _np(r))
    assert logs[jtorch][0] == logs[torch][0]
    np.testing.assert_allclose(logs[jtorch][1], logs[torch][1], rtol=1e-6)


def test_mode_sees_ops_without_an_aten_twin_and_backward_nodes(rng):
    """jtorch's own fused ops and each backward node come as a JtorchOverload that runs the op; gradients
    are unchanged."""
    xd = rng.standard_normal(6).astype(np.float32)
    x = jtorch.tensor(xd, requires_grad=True)
    with logging_mode(jtorch) as m:
        y = jtorch.nn.functional.logsigmoid(x)
        y.sum().backward()
    names = m.seen
    assert "jtorch.logsigmoid.default" in names and any(n.endswith("_backward.default") for n in names)
    standin = next(f for f, _, _, _ in m.calls if str(f) == "jtorch.logsigmoid.default")
    assert standin.__name__ == "logsigmoid.default"
    t = torch.tensor(xd, requires_grad=True)
    torch.nn.functional.logsigmoid(t).sum().backward()
    np.testing.assert_allclose(_np(y), _np(torch.nn.functional.logsigmoid(t)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(x.grad), _np(t.grad), rtol=1e-5, atol=1e-6)


def test_inplace_and_views_keep_their_meaning_under_a_mode(rng):
    xd = rng.standard_normal((3, 4)).astype(np.float32)
    out = {}
    for T in (torch, jtorch):
        x = T.tensor(xd)
        with logging_mode(T):
            v = x[1]
            v.mul_(3)  # through the view into x
            x.add_(1)
        out[T] = _np(x)
    np.testing.assert_allclose(out[jtorch], out[torch], rtol=1e-6)


def test_no_mode_leaves_the_road_as_it_was():
    from jtorch import _dispatch
    road, view, lazy = _dispatch.apply, _dispatch._apply_view, _dispatch.LAZY[0]
    with logging_mode(jtorch):
        assert _dispatch.apply is not road
    assert (_dispatch.apply, _dispatch._apply_view, _dispatch.LAZY[0]) == (road, view, lazy)
    with pytest.raises(RuntimeError):  # an error inside leaves it too
        with logging_mode(jtorch):
            jtorch.mm(jtorch.ones(2, 3), jtorch.ones(2, 3))
    assert (_dispatch.apply, _dispatch._apply_view, _dispatch.LAZY[0]) == (road, view, lazy)


def test_higher_order_gradients_under_a_mode(rng):
    """create_graph: the backward nodes the mode runs are recorded like any op (gradients as torch's)."""
    xd = rng.standard_normal(5).astype(np.float32)
    out = {}
    for T in (torch, jtorch):
        x = T.tensor(xd, requires_grad=True)
        with logging_mode(T) as m:
            y = (x.sin() * x).sum()
            g, = T.autograd.grad(y, x, create_graph=True)
            g2, = T.autograd.grad(g.sum(), x)
        out[T] = (_np(g), _np(g2), m.seen[:3], getattr(type(y.grad_fn), "__name__", None))
    np.testing.assert_allclose(out[jtorch][0], out[torch][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[jtorch][1], out[torch][1], rtol=1e-5, atol=1e-6)
    assert out[jtorch][2] == out[torch][2] == ["aten.sin.default", "aten.mul.Tensor", "aten.sum.default"]
    assert out[jtorch][3] == out[torch][3]

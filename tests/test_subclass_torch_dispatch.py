"""Tensor subclasses with ``__torch_dispatch__`` (wrapper subclasses, a logging tensor, a scaled tensor),
in-place aten overloads under a TorchDispatchMode, ``Library.fallback``, and Python-function Tensor methods
under ``__torch_function__``, against torch 2.13.

Each subclass is written once, as a function of the torch module, and runs under torch and jtorch on the same
seeded inputs: the ops its handler sees (their names), the results' types and values, and the gradients must
agree."""
import importlib

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")
LIBS = (torch, jtorch)


def _pytree(T):
    return importlib.import_module(T.__name__ + ".utils._pytree")


def _pd(T):
    return importlib.import_module(T.__name__ + ".utils._python_dispatch")


def wrapper_class(T, log):
    """The tutorial wrapper subclass: an inner tensor, unwrapped in ``__torch_dispatch__``, results rewrapped."""
    tree_map = _pytree(T).tree_map

    class Wrapper(T.Tensor):
        @staticmethod
        def __new__(cls, elem):
            r = T.Tensor._make_wrapper_subclass(cls, elem.size(), dtype=elem.dtype, device=elem.device,
                                                requires_grad=elem.requires_grad)
            r.elem = elem
            return r

        def __repr__(self):
            return f"Wrapper({self.elem})"

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            log.append(str(func))

            def unwrap(e):
                return e.elem if isinstance(e, Wrapper) else e

            def wrap(e):
                return Wrapper(e) if isinstance(e, T.Tensor) and not isinstance(e, Wrapper) else e
            return tree_map(wrap, func(*tree_map(unwrap, args), **tree_map(unwrap, kwargs or {})))
    return Wrapper


def scaled_class(T, log):
    """A "scaled" tensor (data * scale) implementing a closed set of aten ops itself; anything else raises."""
    A = T.ops.aten

    class Scaled(T.Tensor):
        @staticmethod
        def __new__(cls, data, scale, requires_grad=False):
            r = T.Tensor._make_wrapper_subclass(cls, data.shape, dtype=data.dtype, device=data.device,
                                                requires_grad=requires_grad)
            r._data, r._scale = data, scale
            return r

        def __repr__(self):
            return f"Scaled(scale={self._scale})"

        def value(self):
            return self._data * self._scale

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            log.append(str(func))
            kwargs = kwargs or {}

            def val(a):
                return a.value() if isinstance(a, Scaled) else a
            if func in (A.detach.default, A.clone.default, A.alias.default):
                return Scaled(func(args[0]._data), args[0]._scale)
            if func in (A.view.default, A.t.default, A.expand.default):
                return Scaled(func(args[0]._data, *args[1:]), args[0]._scale)
            if func is A._to_copy.default:
                return Scaled(func(args[0]._data, **kwargs), args[0]._scale)
            if func is A.mul.Tensor and not isinstance(args[1], T.Tensor):
                return Scaled(args[0]._data, args[0]._scale * args[1])
            if func in (A.mm.default, A.add.Tensor, A.mul.Tensor, A.sum.default, A.ones_like.default,
                        A.threshold_backward.default, A.relu.default):
                out = func(*[val(a) for a in args], **kwargs)
                return Scaled(out, 1.0)
            raise NotImplementedError(f"Scaled: {func}")
    return Scaled


def _np(t):
    return np.asarray(t.detach().tolist(), dtype=np.float64)


def _data(T, rng, *shapes):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def test_wrapper_metadata_and_repr(rng):
    xd, = _data(None, rng, (3, 4))
    out = {}
    for T in LIBS:
        W = wrapper_class(T, [])
        x = W(T.tensor(xd))
        w = W(T.tensor(xd, requires_grad=True))
        out[T] = (type(x).__name__, tuple(x.shape), str(x.dtype).split(".")[-1], str(x.device), x.stride(),
                  x.is_contiguous(), x.requires_grad, w.requires_grad, w.is_leaf, x.dim(), x.numel(), repr(x),
                  type(x).__torch_function__ is T._C._disabled_torch_function_impl)
    assert out[jtorch] == out[torch]


def test_wrapper_training_step(rng):
    """Forward and backward of a small step on wrappers: every op (the backward's included) reaches the
    handler as torch's aten op, in torch's order; the loss and the gradient agree."""
    xd, wd = _data(None, rng, (4, 3), (3, 2))
    out = {}
    for T in LIBS:
        log = []
        W = wrapper_class(T, log)
        x, w = W(T.tensor(xd)), W(T.tensor(wd, requires_grad=True))
        loss = ((x @ w) * 2 + 1).relu().sum()
        forward = list(log)
        del log[:]
        loss.backward()
        out[T] = (forward, list(log), type(loss).__name__, type(w.grad).__name__, _np(loss.elem),
                  _np(w.grad.elem), loss.requires_grad, w.grad.requires_grad)
    j, t = out[jtorch], out[torch]
    assert j[0] == t[0] == ["aten.mm.default", "aten.mul.Tensor", "aten.add.Tensor", "aten.relu.default",
                            "aten.detach.default", "aten.sum.default"]
    assert j[1] == t[1]  # ones_like, expand, detach, threshold_backward, mul, t, mm, detach
    assert j[2:4] == t[2:4] and j[6:] == t[6:]
    np.testing.assert_allclose(j[4], t[4], rtol=1e-5)
    np.testing.assert_allclose(j[5], t[5], rtol=1e-5, atol=1e-6)


OPS = ["x + y", "x * 2.5", "x - y", "x * y", "x / y", "-x", "x.abs()", "x.exp()", "x.relu()", "x.sum()", "x.sum(0)",
       "x.mean()", "x.t()", "x.T", "x.transpose(0, 1)", "x.view(12)", "x.reshape(2, 6)", "x[0]", "x[:, 1:3]",
       "x.unsqueeze(0)", "x.expand(2, 3, 4)", "x.clone()", "x.detach()", "x.data", "x.to(torch.float64)",
       "x.double()", "x.float()", "torch.cat([x, y])", "x > 0", "torch.where(x > 0, x, y)", "x.mm(y.t())",
       "torch.matmul(x, y.t())", "x.softmax(1)", "x.pow(2)", "x.sqrt()", "x.sigmoid()", "x.tanh()"]


@pytest.mark.parametrize("expr", OPS)
def test_wrapper_sees_each_op(expr, rng):
    xd, yd = _data(None, rng, (3, 4), (3, 4))
    xd = np.abs(xd) + 0.1 if "sqrt" in expr else xd
    out = {}
    for T in LIBS:
        log = []
        W = wrapper_class(T, log)
        x, y = W(T.tensor(xd)), W(T.tensor(yd))
        del log[:]
        r = eval(expr, {"torch": T, "x": x, "y": y})
        out[T] = (list(log), type(r).__name__, r is x, _np(r.elem))
    j, t = out[jtorch], out[torch]
    assert j[:3] == t[:3]
    np.testing.assert_allclose(j[3], t[3], rtol=1e-5, atol=1e-6)


INPLACE = ["x.add_(y)", "x.add_(y, alpha=2)", "x.mul_(2.0)", "x.sub_(1)", "x.copy_(y)", "x.zero_()", "x.fill_(1.5)",
           "x.clamp_(-0.5, 0.5)", "x.relu_()", "x.div_(y)", "x += y", "x[0] = 2.0"]


@pytest.mark.parametrize("expr", INPLACE)
def test_wrapper_inplace_ops_reach_the_handler(expr, rng):
    """The in-place aten overload itself (``add_.Tensor``), the handler's write visible through the wrapper,
    and the wrapper returned."""
    xd, yd = _data(None, rng, (3, 4), (3, 4))
    out = {}
    for T in LIBS:
        log = []
        W = wrapper_class(T, log)
        x, y = W(T.tensor(xd)), W(T.tensor(yd))
        x0 = x
        ns = {"x": x, "y": y}
        exec(expr, ns)
        out[T] = (list(log), ns["x"] is x0, _np(x0.elem))
    j, t = out[jtorch], out[torch]
    assert j[:2] == t[:2]
    np.testing.assert_allclose(j[2], t[2], rtol=1e-6)


def test_plain_tensor_copy_from_a_wrapper(rng):
    xd, = _data(None, rng, (2, 3))
    out = {}
    for T in LIBS:
        log = []
        W = wrapper_class(T, log)
        p = T.zeros(2, 3)
        r = p.copy_(W(T.tensor(xd)))
        out[T] = (list(log), type(r).__name__)
    assert out[jtorch] == out[torch] == (["aten.copy_.default"], "Tensor")


def test_item_and_data_ptr(rng):
    xd, = _data(None, rng, (4,))
    out = {}
    for T in LIBS:
        log = []
        W = wrapper_class(T, log)
        x = W(T.tensor(xd))
        s = x.sum()
        v = s.item()
        out[T] = (list(log), v, x.data_ptr())
    assert out[jtorch][0] == out[torch][0] == ["aten.sum.default", "aten._local_scalar_dense.default"]
    assert out[jtorch][1] == pytest.approx(out[torch][1], rel=1e-6)
    assert out[jtorch][2] == out[torch][2] == 0
    with pytest.raises(RuntimeError):
        W(jtorch.tensor(xd)).tolist()


def test_scaled_tensor_forward_and_backward(rng):
    """A subclass implementing only some ops gets every call as one of those, the backward's included."""
    ad, wd = _data(None, rng, (4, 3), (3, 2))
    out = {}
    for T in LIBS:
        log = []
        S = scaled_class(T, log)
        a = T.tensor(ad)
        w = S(T.tensor(wd), 0.5, requires_grad=True)
        loss = (a @ w).relu().sum()
        loss.backward()
        g = w.grad
        out[T] = (list(log), type(g).__name__, _np(loss.value()), _np(g.value()))
        with pytest.raises(NotImplementedError):
            w.exp()
    j, t = out[jtorch], out[torch]
    assert j[:2] == t[:2]
    np.testing.assert_allclose(j[2], t[2], rtol=1e-5)
    np.testing.assert_allclose(j[3], t[3], rtol=1e-5, atol=1e-6)


def test_backward_of_ops_without_a_formula_reaches_the_subclass(rng):
    """jtorch's fused VJP (a ``jtorch.<op>_backward`` call) where it has no aten formula: the wrapper unwraps it
    like any op and the gradient is torch's."""
    xd, = _data(None, rng, (5,))
    grads = {}
    for T in LIBS:
        log = []
        W = wrapper_class(T, log)
        x = W(T.tensor(xd, requires_grad=True))
        (x.exp() * x.sin()).sum().backward()
        grads[T] = (type(x.grad).__name__, _np(x.grad.elem))
    assert grads[jtorch][0] == grads[torch][0] == "Wrapper"
    np.testing.assert_allclose(grads[jtorch][1], grads[torch][1], rtol=1e-5, atol=1e-6)


def test_all_handlers_decline(rng):
    for T in LIBS:
        class Declining(T.Tensor):
            @staticmethod
            def __new__(cls, elem):
                return T.Tensor._make_wrapper_subclass(cls, elem.shape, dtype=elem.dtype)

            @classmethod
            def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
                return NotImplemented
        with pytest.raises(TypeError, match="Multiple dispatch failed"):
            T.add(Declining(T.ones(2)), 1)


def test_disabled_dispatch_class_runs_as_a_plain_tensor(rng):
    xd, = _data(None, rng, (3,))
    out = {}
    for T in LIBS:
        class Plainish(T.Tensor):
            __torch_dispatch__ = T._C._disabled_torch_dispatch_impl
        x = T.tensor(xd).as_subclass(Plainish)
        r = x * 2
        out[T] = (type(r).__name__, _np(r))
    assert out[jtorch][0] == out[torch][0]
    np.testing.assert_allclose(out[jtorch][1], out[torch][1], rtol=1e-6)


def logging_mode(T, seen):
    class Logging(_pd(T).TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.append(str(func))
            return func(*args, **(kwargs or {}))
    return Logging()


MODE_INPLACE = ["x.add_(1)", "x.mul_(2.0)", "x.copy_(y)", "x.zero_()", "x.fill_(3.0)", "x.add_(y, alpha=2)",
                "x.clamp_(0, 1)", "x.relu_()", "x.detach()", "x.double()", "x.t()", "x.transpose(0, 1)", "x += y",
                "x[1:, 2] = y[0, :2]"]


@pytest.mark.parametrize("expr", MODE_INPLACE)
def test_mode_sees_inplace_overloads(expr, rng):
    xd, yd = _data(None, rng, (3, 4), (3, 4))
    out = {}
    for T in LIBS:
        seen = []
        ns = {"x": T.tensor(xd), "y": T.tensor(yd)}
        with logging_mode(T, seen):
            exec(expr, ns)
        out[T] = (seen, _np(ns["x"]))
    assert out[jtorch][0] == out[torch][0]
    np.testing.assert_allclose(out[jtorch][1], out[torch][1], rtol=1e-6)


def test_inplace_under_a_mode_keeps_its_gradient(rng):
    xd, wd = _data(None, rng, (3, 4), (3, 4))
    out = {}
    for T in LIBS:
        seen = []
        x, w = T.tensor(xd), T.tensor(wd, requires_grad=True)
        with logging_mode(T, seen):
            y = w * 1
            y.mul_(x)
            v = y[0]
            v.add_(w[1])  # through a view into y
            y.sum().backward()
        out[T] = (seen[:2], _np(w.grad), type(y.grad_fn).__name__)
    assert out[jtorch][0] == out[torch][0] == ["aten.mul.Tensor", "aten.mul_.Tensor"]
    np.testing.assert_allclose(out[jtorch][1], out[torch][1], rtol=1e-6)


def _fallback_run(T):
    seen = []
    ns = "jt_subdisp_fb_" + T.__name__
    lib = T.library.Library(ns, "DEF")
    lib.define("twice(Tensor x) -> Tensor")
    op = getattr(T.ops, ns).twice
    errors = []
    with pytest.raises(NotImplementedError):
        op(T.ones(2))
    fb_lib = T.library.Library("_", "IMPL")

    def fallback(op, *args, **kwargs):
        seen.append(str(op).split(".", 1)[1])
        return args[0] * 2
    fb_lib.fallback(fallback, "CPU")
    try:
        res = op(T.tensor([1.5, -2.0])).tolist()
        for bad in (lambda: T.library.Library("_", "IMPL").fallback(fallback, "CPU"),
                    lambda: T.library.Library("_", "IMPL").fallback(fallback, "Python"),
                    lambda: T.library.Library(ns, "FRAGMENT").fallback(fallback, "CPU"),
                    lambda: T.library.Library("_", "IMPL").fallback(fallback)):
            try:
                bad()
            except Exception as e:
                errors.append(type(e).__name__)
    finally:
        fb_lib._destroy()
    with pytest.raises(NotImplementedError):
        op(T.ones(2))
    lib._destroy()
    return seen, res, errors


def test_library_fallback():
    assert _fallback_run(jtorch) == _fallback_run(torch) == (
        ["twice.default"], [3.0, -4.0], ["RuntimeError", "RuntimeError", "RuntimeError", "AssertionError"])


def function_classes(T, seen):
    class Sub(T.Tensor):
        pass

    class Log(T.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs)
    return Sub, Log


FUNCTION_METHODS = ["p.copy_(s)", "p.masked_fill(m, 1.0)", "p.add_(s)", "p.fill_(s[0, 0])", "p.where(m, s)",
                    "p.div(s)", "p.clamp(s, s + 1)", "p.expand_as(s)", "p.index_select(0, i)", "p.maximum(s)"]


@pytest.mark.parametrize("expr", FUNCTION_METHODS)
def test_plain_method_with_a_subclass_argument_dispatches_the_method(expr, rng):
    """``plain.copy_(sub)``: the method itself goes to ``__torch_function__`` and the result is the subclass,
    as in torch (not the ops the method runs inside)."""
    pd, sd = _data(None, rng, (2, 3), (2, 3))
    out = {}
    for T in LIBS:
        seen = []
        res = []
        for C in function_classes(T, seen):
            p, s = T.tensor(pd), T.tensor(sd).as_subclass(C)
            m = (T.tensor(sd) > 0).as_subclass(C)
            i = T.tensor([1, 0])
            del seen[:]
            r = eval(expr, {"p": p, "s": s, "m": m, "i": i})
            res.append((type(r).__name__, list(seen), _np(r)))
        out[T] = res
    for (jt, js, jv), (tt, ts, tv) in zip(out[jtorch], out[torch]):
        assert (jt, js) == (tt, ts)
        np.testing.assert_allclose(jv, tv, rtol=1e-6)


def test_mode_over_wrapper_instances(rng):
    """A mode entered around ops on wrappers sees them first (the handler, below it, the calls the mode makes)."""
    xd, wd = _data(None, rng, (3, 4), (4, 2))
    out = {}
    for T in LIBS:
        log, seen = [], []
        W = wrapper_class(T, log)
        x, w = W(T.tensor(xd)), W(T.tensor(wd, requires_grad=True))
        with logging_mode(T, seen):
            y = (x @ w).relu().sum()
            y.backward()
        out[T] = (seen, log, _np(w.grad.elem))
    assert out[jtorch][:2] == out[torch][:2]
    np.testing.assert_allclose(out[jtorch][2], out[torch][2], rtol=1e-5, atol=1e-6)


def logging_tensor_class(T, log):
    """torch's documentation-style LoggingTensor: ``__slots__``, strides and offset of the inner tensor, the
    repr through ``Tensor.__repr__(tensor_contents=...)``, __torch_function__ off explicitly."""
    tree_map = _pytree(T).tree_map

    class LoggingTensor(T.Tensor):
        __slots__ = ["elem"]
        __torch_function__ = T._C._disabled_torch_function_impl

        @staticmethod
        def __new__(cls, elem, *args, **kwargs):
            r = T.Tensor._make_wrapper_subclass(
                cls, elem.size(), strides=elem.stride(), storage_offset=elem.storage_offset(), dtype=elem.dtype,
                layout=elem.layout, device=elem.device, requires_grad=kwargs.get("requires_grad", False))
            r.elem = elem.detach() if r.requires_grad else elem
            return r

        def __repr__(self):
            return super().__repr__(tensor_contents=f"{self.elem}")

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            def unwrap(e):
                return e.elem if isinstance(e, cls) else e

            def wrap(e):
                return cls(e) if isinstance(e, T.Tensor) else e
            out = tree_map(wrap, func(*tree_map(unwrap, args), **tree_map(unwrap, kwargs or {})))
            log.append(str(func))
            return out
    return LoggingTensor


def test_logging_tensor_saved_results_factories_and_repr(rng):
    xd, yd = _data(None, rng, (2, 3), (3, 2))
    out = {}
    for T in LIBS:
        log = []
        L = logging_tensor_class(T, log)
        x, y = L(T.tensor(xd), requires_grad=True), L(T.tensor(yd))
        z = (x @ y).tanh().sigmoid().sum()
        z.backward()
        steps = list(log)
        del log[:]
        made = [T.zeros_like(x), T.ones_like(y, dtype=T.float64), x.new_zeros(2, 3), y.new_full((2,), 3.0),
                T.full_like(y, 2.0)]
        out[T] = (steps, list(log), [type(m).__name__ for m in made], [str(m.dtype) for m in made], repr(x), repr(z),
                  _np(x.grad.elem), [_np(m.elem) for m in made])
    j, t = out[jtorch], out[torch]
    assert j[:5] == t[:5]
    assert j[5].split("(")[0] == t[5].split("(")[0] and j[5].endswith("grad_fn=<SumBackward0>)")
    np.testing.assert_allclose(j[6], t[6], rtol=1e-5, atol=1e-6)
    for a, b in zip(j[7], t[7]):
        np.testing.assert_array_equal(a, b)


def test_linear_layer_on_wrappers(rng):
    """nn.functional.linear as torch runs it (``t`` + ``addmm``; its backward: ``t`` + ``mm`` for the weight,
    ``sum`` + ``view`` for the bias); broadcasting adds reduce their gradients as torch's ``sum_to``."""
    xd, wd, bd, cd = _data(None, rng, (4, 3), (2, 3), (2,), (1, 2))
    out = {}
    for T in LIBS:
        log = []
        W = wrapper_class(T, log)
        x = W(T.tensor(xd))
        w, b, c = (W(T.tensor(v, requires_grad=True)) for v in (wd, bd, cd))
        y = (T.nn.functional.linear(x, w, b) + c).sum()
        forward = list(log)
        del log[:]
        y.backward()
        out[T] = (forward, sorted(log), [_np(p.grad.elem) for p in (w, b, c)])
    j, t = out[jtorch], out[torch]
    assert j[0] == t[0] == ["aten.t.default", "aten.addmm.default", "aten.add.Tensor", "aten.sum.default"]
    assert j[1] == t[1]  # (the same calls; the engines order the weight's and the bias's nodes differently)
    for a, b in zip(j[2], t[2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_inplace_ops_on_wrappers_keep_their_gradient(rng):
    wd, xd = _data(None, rng, (2, 3), (2, 3))
    out = {}
    for T in LIBS:
        log = []
        W = wrapper_class(T, log)
        w, x = W(T.tensor(wd, requires_grad=True)), W(T.tensor(xd))
        h = w * 1
        h.mul_(x)
        h.add_(w)
        forward = list(log)
        del log[:]
        h.sum().backward()
        out[T] = (forward, type(h.grad_fn).__name__, list(log), _np(w.grad.elem))
    j, t = out[jtorch], out[torch]
    assert j[:3] == t[:3]
    np.testing.assert_allclose(j[3], t[3], rtol=1e-6)

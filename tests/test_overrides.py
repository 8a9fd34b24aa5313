"""The __torch_function__ protocol and torch.overrides, against real torch.

Each subclass, tensor-like and mode is defined once, by a function of the torch module, and the same code
runs under torch and jtorch: the functions the hooks see (by name), the results, their types and the errors
must agree.
"""
import inspect

import numpy as np
import pytest

import jtorch
import jtorch._torch_function as _tf

torch = pytest.importorskip("torch")

BOTH = pytest.mark.parametrize("T", [torch, jtorch], ids=["torch", "jtorch"])


def _names(seen):
    return [getattr(f, "__name__", repr(f)) for f in seen]


def _np(r):
    """Values of a result for comparison, read with the protocol off (no hook sees it)."""
    if isinstance(r, (tuple, list)):
        return [_np(x) for x in r]
    T = torch if isinstance(r, torch.Tensor) else jtorch if isinstance(r, jtorch.Tensor) else None
    if T is None:
        return r
    with T._C.DisableTorchFunction():
        return np.asarray(r.detach().tolist())


# ---------------------------------------------------------------- definitions shared by both
def logging_subclass(T):
    class LoggingTensor(T.Tensor):
        seen = []

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            cls.seen.append(func)
            return super().__torch_function__(func, types, args, kwargs)
    return LoggingTensor


def declining_subclass(T):
    class Declining(T.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented
    return Declining


def scalar_like(T):
    """A tensor-like (no Tensor) that is n x n times a scalar: a few functions have its own meaning."""
    handled = {}

    class ScalarLike:
        seen = []

        def __init__(self, n, value):
            self.n, self.value = n, value

        def dense(self):
            return self.value * T.eye(self.n)

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            cls.seen.append((func.__name__, tuple(t.__name__ for t in types)))
            if func not in handled or not all(issubclass(t, (T.Tensor, ScalarLike)) for t in types):
                return NotImplemented
            return handled[func](*args, **(kwargs or {}))

    def implements(f):
        def register(impl):
            handled[f] = impl
            return impl
        return register

    @implements(T.mean)
    def mean(s, dim=None):
        return s.value / s.n

    @implements(T.add)
    def add(a, b, alpha=1):
        a = a.dense() if isinstance(a, ScalarLike) else a
        b = b.dense() if isinstance(b, ScalarLike) else b
        return T.add(a, b, alpha=alpha)

    @implements(T.nn.functional.relu)
    def relu(s, inplace=False):
        return ScalarLike(s.n, max(s.value, 0.0))

    @implements(T.cat)
    def cat(tensors, dim=0):
        return T.cat([t.dense() if isinstance(t, ScalarLike) else t for t in tensors], dim)

    @implements(T.Tensor.sum)
    def tsum(s, dim=None):
        return s.value * s.n
    return ScalarLike


def recording_mode(T, tag, log):
    class Recording(T.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            log.append((tag, func.__name__, tuple(t.__name__ for t in types)))
            return func(*args, **(kwargs or {}))
    return Recording()


# ---------------------------------------------------------------- Tensor subclasses
SUBCLASS_EXPRS = [
    "y + 1", "1 + y", "y * y", "y - 2", "y / 3", "-y", "abs(y)", "y == 1", "y > 0", "y[0]", "y[:, 1]",
    "y.sum()", "y.sum(dim=0)", "T.sum(y, 1)", "y.mean()", "y.shape", "y.dtype", "y.ndim", "y.T", "y.size()",
    "y.dim()", "y.numel()", "y.tolist()", "len(y)", "y.float()", "y.to(T.float64)", "y.detach()",
    "y.clone()", "T.add(y, 1)", "T.add(y, 1, alpha=2)", "T.nn.functional.relu(y)",
    "T.nn.functional.softmax(y, dim=0)", "y.softmax(0)", "y.view(-1)", "y.reshape(3, 2)", "T.cat([y, y])",
    "T.stack([y, y])", "y.unbind()", "y.max(0)", "y @ y.T", "T.matmul(y, y.T)", "y.new_zeros(2)",
    "T.zeros_like(y)", "y.requires_grad", "y.is_leaf", "float(y[0, 0])", "bool(y[0, 0] > 0)",
    "T.nn.functional.linear(y, w)", "T.where(y > 0, y, w[0])",
    # the subclass after a plain Tensor: the public function given it is what dispatches, not the ops inside
    "w[:2] * y", "T.add(w[:2], y)", "T.cat([w[:2], y])", "T.where(w[:2] > 0, y, 0.0)",
    "T.nn.functional.mse_loss(w[:2], y)", "T.nn.functional.linear(w, y)", "T.matmul(w, y.T)", "w[:2] == y",
]


@pytest.mark.parametrize("expr", SUBCLASS_EXPRS)
def test_subclass_dispatch(expr, rng):
    data = rng.standard_normal((2, 3)).astype(np.float32)
    wdata = rng.standard_normal((4, 3)).astype(np.float32)
    out = {}
    for T in (torch, jtorch):
        Sub = logging_subclass(T)
        y = T.tensor(data).as_subclass(Sub)
        w = T.tensor(wdata)
        Sub.seen.clear()
        r = eval(expr, {"T": T, "y": y, "w": w})
        seen = _names(Sub.seen)
        kinds = [type(x).__name__ for x in r] if isinstance(r, tuple) else type(r).__name__
        out[T] = (seen, kinds, _np(r))
    (s1, k1, v1), (s2, k2, v2) = out[torch], out[jtorch]
    assert s2 == s1
    assert k2 == k1
    if isinstance(v1, list):
        for a, b in zip(v1, v2):
            np.testing.assert_allclose(np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64), rtol=1e-5)
    elif isinstance(v1, np.ndarray) or isinstance(v1, (int, float, bool)):
        np.testing.assert_allclose(np.asarray(v2, dtype=np.float64), np.asarray(v1, dtype=np.float64), rtol=1e-5)
    else:
        assert str(v2).replace("jtorch", "torch") == str(v1)


@pytest.mark.parametrize("stmt,expected", [("w += 1", "add_"), ("w.add_(1)", "add_"), ("w[0] = 5.0", "__setitem__"),
                                           ("w.mul_(2)", "mul_"), ("w.zero_()", "zero_"),
                                           ("w = T.zeros(3); w += v", "add_"), ("w = T.ones(3); w.mul_(v)", "mul_")])
def test_subclass_inplace(stmt, expected, rng):
    data = rng.standard_normal(3).astype(np.float32)
    results = {}
    for T in (torch, jtorch):
        Sub = logging_subclass(T)
        w = T.tensor(data).as_subclass(Sub)
        Sub.seen.clear()
        ns = {"w": w, "T": T, "v": T.tensor(data[::-1].copy()).as_subclass(Sub)}
        exec(stmt, ns)
        results[T] = (_names(Sub.seen), type(ns["w"]).__name__, _np(ns["w"]))
    assert results[jtorch][:2] == results[torch][:2]
    assert results[jtorch][0] == [expected]
    np.testing.assert_allclose(results[jtorch][2], results[torch][2], rtol=1e-6)


@BOTH
def test_as_subclass_keeps_autograd(T, rng):
    data = rng.standard_normal(4).astype(np.float32)
    x = T.tensor(data, requires_grad=True)
    Sub = logging_subclass(T)
    y = x.as_subclass(Sub)
    assert type(y) is Sub and y.requires_grad and not y.is_leaf
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * data, rtol=1e-6)


@BOTH
def test_make_subclass(T, rng):
    data = T.tensor(rng.standard_normal(3).astype(np.float32))
    Sub = logging_subclass(T)
    m = T.Tensor._make_subclass(Sub, data, True)
    with T._C.DisableTorchFunction():
        assert type(m) is Sub and m.requires_grad and m.is_leaf
        data.add_(1.0)  # shares the storage
        np.testing.assert_allclose(T.Tensor.tolist(m), data.tolist())
    with pytest.raises(RuntimeError):  # only float tensors require grad
        T.Tensor._make_subclass(Sub, T.tensor([1, 2]), True)


def test_plain_subclass_results_keep_type(rng):
    data = rng.standard_normal((2, 2)).astype(np.float32)
    for T in (torch, jtorch):
        class Plain(T.Tensor):
            pass
        p = T.tensor(data).as_subclass(Plain)
        got = [type(e).__name__ for e in (p + 1, p.sum(), p.shape, p[0], T.relu(p), p.max(0).values)]
        assert got == ["Plain", "Plain", "Size", "Plain", "Plain", "Plain"], (T.__name__, got)


@BOTH
def test_parameter_opts_out(T, rng):
    p = T.nn.Parameter(T.tensor(rng.standard_normal(3).astype(np.float32)))
    assert type(p + 1) is T.Tensor
    assert not T.overrides.has_torch_function((p,))


@BOTH
def test_subclass_declining_everything_raises_typeerror(T):
    Sub = declining_subclass(T)
    d = T.ones(2).as_subclass(Sub)
    for call in (lambda: T.add(d, 1), lambda: d + 1, lambda: d.sum(), lambda: T.nn.functional.relu(d)):
        with pytest.raises(TypeError):
            call()


@BOTH
def test_disable_subclass_and_all(T):
    Sub = logging_subclass(T)
    s = T.ones(2).as_subclass(Sub)
    assert T.DisableTorchFunctionSubclass is T._C.DisableTorchFunctionSubclass
    log = []
    with T._C.DisableTorchFunctionSubclass():
        Sub.seen.clear()
        assert type(s + 1) is T.Tensor and Sub.seen == []
        # (the subclass after a plain tensor, and inside a Python function, too)
        assert type(T.ones(2) * s) is T.Tensor and type(T.nn.functional.mse_loss(T.ones(2), s)) is T.Tensor
        assert Sub.seen == []
        with recording_mode(T, "m", log):
            s + 1
    assert [e[:2] for e in log] == [("m", "add")]  # modes still run
    log.clear()
    assert T._C._is_torch_function_enabled()
    with T._C.DisableTorchFunction():
        assert not T._C._is_torch_function_enabled()
        assert type(s + 1) is T.Tensor and Sub.seen == []
        with recording_mode(T, "m", log):
            s + 1
    assert log == []  # and modes too


def test_subclass_priority_and_types():
    """A subclass's handler runs before its base's; otherwise left to right; each sees all types."""
    out = {}
    for T in (torch, jtorch):
        calls = []

        class A(T.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                calls.append(("A", func.__name__, sorted(t.__name__ for t in types)))
                return NotImplemented

        class B(A):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                calls.append(("B", func.__name__, sorted(t.__name__ for t in types)))
                return NotImplemented

        class C(T.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                calls.append(("C", func.__name__, sorted(t.__name__ for t in types)))
                with T._C.DisableTorchFunctionSubclass():
                    return func(*args, **(kwargs or {}))

        a, b, c = (T.ones(2).as_subclass(k) for k in (A, B, C))
        with pytest.raises(TypeError):
            T.add(a, b)  # B before its base A; both decline
        r = T.mul(a, c)  # A declines, C (left to right after A) runs it
        out[T] = (calls, type(r).__name__)
    assert out[jtorch] == out[torch]


@BOTH
def test_all_declining_different_types_raise(T):
    class A(T.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented

    class B(T.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented
    with pytest.raises(TypeError):
        T.add(T.ones(1).as_subclass(A), T.ones(1).as_subclass(B))


# ---------------------------------------------------------------- tensor-likes
TENSOR_LIKE_EXPRS = [
    "T.mean(s)", "T.add(s, t)", "T.add(t, s)", "T.add(s, t, alpha=2)", "T.nn.functional.relu(s).value",
    "T.cat([t, s])", "s.__class__.__torch_function__(T.Tensor.sum, (type(s),), (s,))",
]


@pytest.mark.parametrize("expr", TENSOR_LIKE_EXPRS)
def test_tensor_like_dispatch(expr, rng):
    tdata = rng.standard_normal((3, 3)).astype(np.float32)
    value = float(rng.uniform(-2, 2))
    out = {}
    for T in (torch, jtorch):
        S = scalar_like(T)
        s, t = S(3, value), T.tensor(tdata)
        S.seen.clear()
        r = eval(expr, {"T": T, "s": s, "t": t})
        out[T] = (list(S.seen), r.tolist() if hasattr(r, "tolist") else r)
    assert out[jtorch][0] == out[torch][0]
    np.testing.assert_allclose(np.asarray(out[jtorch][1]), np.asarray(out[torch][1]), rtol=1e-6)


@pytest.mark.parametrize("expr", ["T.sub(s, 1)", "T.nn.functional.gelu(s)", "T.exp(s)", "T.stack([s, s])",
                                  "T.reshape(s, (9,))", "T.nn.functional.softmax(s, dim=0)"])
def test_tensor_like_unhandled_raises_typeerror(expr):
    seen = {}
    for T in (torch, jtorch):
        S = scalar_like(T)
        s = S(3, 1.5)
        with pytest.raises(TypeError):
            eval(expr, {"T": T, "s": s})
        seen[T] = [name for name, _ in S.seen]
    assert seen[jtorch] == seen[torch]


@BOTH
def test_tensor_like_types_argument(T):
    S = scalar_like(T)
    Sub = logging_subclass(T)
    sub = T.ones(3, 3).as_subclass(Sub)
    r = T.add(S(3, 2.0), sub)  # the tensor-like's handler sees both types; its add runs on the subclass
    assert S.seen[-1] == ("add", ("ScalarLike", "LoggingTensor"))
    np.testing.assert_allclose(T.Tensor.tolist(r), (2 * np.eye(3) + 1).tolist())


# ---------------------------------------------------------------- modes
MODE_EXPRS = ["T.add(x, 1)", "x + 1", "x.sum()", "T.zeros(2)", "T.nn.functional.relu(x)", "x.shape",
              "x[0]", "T.nn.functional.softmax(x, dim=0)", "x.tolist()", "T.cat([x, x])", "x.float()",
              "T.linalg.norm(x)"]


@pytest.mark.parametrize("expr", MODE_EXPRS)
def test_nested_modes_see_calls(expr, rng):
    data = rng.standard_normal(3).astype(np.float32)
    out = {}
    for T in (torch, jtorch):
        log = []
        x = T.tensor(data)
        with recording_mode(T, "outer", log), recording_mode(T, "inner", log):
            r = eval(expr, {"T": T, "x": x})
        after = len(log)
        eval(expr, {"T": T, "x": x})  # outside: nothing recorded
        assert len(log) == after
        # (torch's C functions in torch.linalg are named linalg_X; jtorch's are named X)
        out[T] = ([(tag, name.replace("linalg_", "")) for tag, name, _ in log], _np(r))
    assert out[jtorch][0] == out[torch][0]
    np.testing.assert_allclose(np.asarray(out[jtorch][1], dtype=np.float64),
                               np.asarray(out[torch][1], dtype=np.float64), rtol=1e-6)


@BOTH
def test_mode_replaces_results_and_sees_subclasses(T):
    class Minus(T.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func.__name__ == "add":
                return -1
            return func(*args, **(kwargs or {}))
    Sub = logging_subclass(T)
    s = T.ones(2).as_subclass(Sub)
    with Minus():
        assert T.add(T.ones(1), 2) == -1
        assert s + 1 == -1
        Sub.seen.clear()
        r = s * 2  # the mode passes it on: the subclass's handler runs next
    assert _names(Sub.seen) == ["mul"] and type(r) is Sub
    log = []
    with recording_mode(T, "m", log):
        s * 2
    assert log == [("m", "mul", ("LoggingTensor",))]
    assert not T.overrides.has_torch_function((T.ones(1),))
    with recording_mode(T, "m", []):
        assert T.overrides.has_torch_function((T.ones(1),))  # any call goes to the mode


# ---------------------------------------------------------------- torch.overrides helpers
@BOTH
def test_has_torch_function_family(T):
    Sub = logging_subclass(T)
    S = scalar_like(T)
    x, s, like = T.ones(2), T.ones(2).as_subclass(Sub), S(2, 1.0)
    o = T.overrides
    assert not o.has_torch_function((x, 1, None))
    assert o.has_torch_function((x, s)) and o.has_torch_function([like])
    assert o.has_torch_function_unary(s) and not o.has_torch_function_unary(x)
    assert o.has_torch_function_variadic(x, like) and not o.has_torch_function_variadic(x, x)
    assert T.nn.functional.has_torch_function_unary(s) and T.autograd.has_torch_function((s,))
    assert T.nn.functional.has_torch_function_variadic(x, s)
    assert o.is_tensor_like(x) and o.is_tensor_like(s) and o.is_tensor_like(like) and o.is_tensor_like(S)
    assert not o.is_tensor_like(1.0) and not o.is_tensor_like([x])
    assert o.is_tensor_method_or_property(T.Tensor.add)
    assert o.is_tensor_method_or_property(T.Tensor.shape.__get__)
    assert not o.is_tensor_method_or_property(T.nn.functional.relu)


@BOTH
def test_handle_torch_function_in_user_code(T):
    o = T.overrides

    def double_plus(x, y=1):
        if o.has_torch_function_unary(x):
            return o.handle_torch_function(double_plus, (x,), x, y=y)
        return 2 * x + y

    class Catch:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return (func.__name__, len(args), kwargs)
    assert double_plus(Catch(), y=3) == ("double_plus", 1, {"y": 3})
    Sub = logging_subclass(T)
    Sub.seen.clear()
    r = double_plus(T.ones(2).as_subclass(Sub))
    assert type(r) is Sub and _names(Sub.seen)[0] == "double_plus"
    np.testing.assert_allclose(T.Tensor.tolist(r.as_subclass(T.Tensor)), [3.0, 3.0])
    d = T.ones(1).as_subclass(declining_subclass(T))
    with pytest.raises(TypeError):
        o.handle_torch_function(double_plus, (d,), d)


@BOTH
def test_wrap_torch_function(T):
    @T.overrides.wrap_torch_function(lambda a, b=None: (a, b))
    def combine(a, b=None):
        return "plain"

    class Catch:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return ("caught", func.__name__)
    assert combine(T.ones(1)) == "plain"
    assert combine(T.ones(1), Catch()) == ("caught", "combine")


def test_overridable_and_testing_overrides():
    for T in (torch, jtorch):
        o = T.overrides
        funcs = o.get_overridable_functions()
        assert T.add in funcs[T] and T.nn.functional.relu in funcs[T.nn.functional]
        assert T.Tensor.add in funcs[T.Tensor]
        ignored = o.get_ignored_functions()
        assert T.is_tensor in ignored and T.add not in ignored
        dummies = o.get_testing_overrides()
        for f in (T.add, T.nn.functional.relu, T.nn.functional.linear, T.cat):
            assert dummies[f](*[None] * (1 if f is T.cat else 2)) == -1
        assert list(inspect.signature(dummies[T.nn.functional.relu]).parameters) == ["input", "inplace"]
        assert list(inspect.signature(dummies[T.nn.functional.linear]).parameters)[:2] == ["input", "weight"]


def test_testing_overrides_dispatch_everywhere():
    """Every overridable jtorch function hands a tensor-like first argument to its __torch_function__ (the
    way torch's own test walks get_testing_overrides)."""
    seen = []

    class Probe:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(func)
            return "probed"
    funcs = jtorch.overrides.get_overridable_functions()
    checked = 0
    for ns in (jtorch, jtorch.nn.functional, jtorch.linalg, jtorch.fft, jtorch.special):
        for f in funcs[ns]:
            try:
                params = list(inspect.signature(f).parameters.values())
            except (TypeError, ValueError):
                continue
            if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
                continue
            required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                                                  p.POSITIONAL_OR_KEYWORD)]
            args = [Probe()] + [1] * (len(required) - 1)
            kwargs = {p.name: 1 for p in params if p.default is p.empty and p.kind is p.KEYWORD_ONLY}
            assert f(*args, **kwargs) == "probed", f
            assert seen[-1] is f
            checked += 1
    assert checked > 300


@BOTH
def test_enable_reentrant_dispatch_and_mode_helpers(T):
    with pytest.raises(RuntimeError):  # only inside __torch_dispatch__ (jtorch has none)
        with T.overrides.enable_reentrant_dispatch():
            pass
    m = recording_mode(T, "m", [])
    with m:
        assert T.overrides._get_current_function_mode() is m
    assert T.overrides._get_current_function_mode() is None


def test_compile_and_grad_with_protocol_on(rng):
    """With subclasses defined, plain tensors still compile and differentiate."""
    logging_subclass(jtorch)
    data = rng.standard_normal(4).astype(np.float32)
    x = jtorch.tensor(data, requires_grad=True)
    f = jtorch.compile(lambda a: (a * a + jtorch.sin(a)).sum())
    f(x).backward()
    f(x)
    np.testing.assert_allclose(x.grad.numpy(), 2 * data + np.cos(data), rtol=1e-5)


def test_real_torch_tensor_is_no_tensor_like():
    """A real torch.Tensor handed to jtorch is an argument jtorch cannot read (TypeError), not a tensor-like
    whose torch default would call the jtorch function back forever."""
    with pytest.raises(TypeError):
        jtorch.add(jtorch.ones(2), torch.ones(2))
    assert not jtorch.overrides.has_torch_function((torch.ones(2),))


def test_subclass_higher_order_grad(rng):
    """Backward over a subclass's ops (create_graph: the engine's own calls take the saved subclass tensors)
    gives torch's gradients and raises nothing."""
    data = rng.standard_normal(5).astype(np.float32)
    grads = {}
    for T in (torch, jtorch):
        Sub = logging_subclass(T)
        x = T.tensor(data, requires_grad=True)
        y = x.as_subclass(Sub)
        loss = (y * y.sin()).sum()
        g, = T.autograd.grad(loss, x, create_graph=True)
        g.sum().backward()
        grads[T] = (_np(g), _np(x.grad))
    np.testing.assert_allclose(grads[jtorch][0], grads[torch][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads[jtorch][1], grads[torch][1], rtol=1e-5, atol=1e-6)

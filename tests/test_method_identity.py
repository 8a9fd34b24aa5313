"""Tensor methods are objects of their own, as in torch: ``Tensor.add is not torch.add``, and
``__torch_function__`` (a mode's, a subclass's) receives ``Tensor.add`` for ``x.add(y)`` and ``x + y``,
``torch.add`` for ``torch.add(x, y)``, ``Tensor.__getitem__`` for ``x[0]``, ``Tensor.shape.__get__`` for
``x.shape``. The same calls run under torch and jtorch; the functions seen are compared by
``torch.overrides.resolve_name`` and by identity with the library's own objects."""
import pickle

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")
LIBS = pytest.mark.parametrize("T", [torch, jtorch], ids=["torch", "jtorch"])

# name -> a call of (T, x, y, i); x, y float 3x3, i an int64 3x3
CALLS = {
    "x.add(y)": lambda T, x, y, i: x.add(y), "x.add(y, alpha=2)": lambda T, x, y, i: x.add(y, alpha=2),
    "T.add": lambda T, x, y, i: T.add(x, y), "x + y": lambda T, x, y, i: x + y, "2 + x": lambda T, x, y, i: 2 + x,
    "x - y": lambda T, x, y, i: x - y, "2 - x": lambda T, x, y, i: 2 - x, "x * 2": lambda T, x, y, i: x * 2,
    "x / y": lambda T, x, y, i: x / y, "2 / x": lambda T, x, y, i: 2 / x, "x // 2": lambda T, x, y, i: x // 2,
    "x % 2": lambda T, x, y, i: x % 2, "x ** 2": lambda T, x, y, i: x ** 2, "2 ** x": lambda T, x, y, i: 2 ** x,
    "x @ y": lambda T, x, y, i: x @ y, "i & i": lambda T, x, y, i: i & i, "1 | i": lambda T, x, y, i: 1 | i,
    "i << 1": lambda T, x, y, i: i << 1, "~i": lambda T, x, y, i: ~i, "-x": lambda T, x, y, i: -x,
    "abs(x)": lambda T, x, y, i: abs(x), "x < y": lambda T, x, y, i: x < y, "x == y": lambda T, x, y, i: x == y,
    "x != y": lambda T, x, y, i: x != y, "x += y": lambda T, x, y, i: x.__iadd__(y),
    "x *= 2": lambda T, x, y, i: x.__imul__(2), "x **= 2": lambda T, x, y, i: x.__ipow__(2),
    "i &= i": lambda T, x, y, i: i.__iand__(i), "x.add_(y)": lambda T, x, y, i: x.add_(y),
    "x.abs_()": lambda T, x, y, i: x.abs_(), "T.abs_": lambda T, x, y, i: T.abs_(x),
    "x.sum()": lambda T, x, y, i: x.sum(), "x.sum(dim=0)": lambda T, x, y, i: x.sum(dim=0),
    "T.sum": lambda T, x, y, i: T.sum(x), "x.relu()": lambda T, x, y, i: x.relu(),
    "T.relu": lambda T, x, y, i: T.relu(x), "F.relu": lambda T, x, y, i: T.nn.functional.relu(x),
    "F.softmax": lambda T, x, y, i: T.nn.functional.softmax(x, 1), "x.softmax": lambda T, x, y, i: x.softmax(1),
    "x.view(-1)": lambda T, x, y, i: x.view(-1), "x.reshape(9)": lambda T, x, y, i: x.reshape(9),
    "T.reshape": lambda T, x, y, i: T.reshape(x, (9,)), "x.matmul(y)": lambda T, x, y, i: x.matmul(y),
    "T.matmul": lambda T, x, y, i: T.matmul(x, y), "x.clamp(0)": lambda T, x, y, i: x.clamp(0),
    "x.t()": lambda T, x, y, i: x.t(), "x.max()": lambda T, x, y, i: x.max(), "x[0]": lambda T, x, y, i: x[0],
    "x[0] = 1": lambda T, x, y, i: x.__setitem__(0, 1.0), "x.shape": lambda T, x, y, i: x.shape,
    "x.dtype": lambda T, x, y, i: x.dtype, "x.T": lambda T, x, y, i: x.T, "x.grad": lambda T, x, y, i: x.grad,
    "x.requires_grad": lambda T, x, y, i: x.requires_grad, "x.tolist()": lambda T, x, y, i: x.tolist(),
    "x.size()": lambda T, x, y, i: x.size(), "x.dim()": lambda T, x, y, i: x.dim(),
    "x.float()": lambda T, x, y, i: x.float(), "len(x)": lambda T, x, y, i: len(x), "+x": lambda T, x, y, i: +x,
}
# the calls made with ``x`` a subclass instance (those of the integer ``i`` alone are left out)
SUBCLASS_CALLS = [k for k in CALLS if k not in ("i & i", "1 | i", "i << 1", "~i", "i &= i")]


def _inputs(T, data):
    x, y = T.tensor(data[0]), T.tensor(data[1])
    return x, y, T.tensor(data[2].astype(np.int64))


def _data(rng):
    return [rng.standard_normal((3, 3)).astype(np.float32), rng.standard_normal((3, 3)).astype(np.float32),
            rng.integers(0, 4, (3, 3))]


def _values(T, r):
    with T._C.DisableTorchFunction():
        if isinstance(r, T.Tensor):
            return np.asarray(r.detach().tolist(), dtype=np.float64)
        if isinstance(r, (tuple, list)):
            return np.asarray([_values(T, v) for v in r], dtype=np.float64)
        if isinstance(r, (int, float, bool)) or r is None:
            return r
        return str(r).replace(T.__name__ + ".", "torch.")  # (a dtype)


def _assert_same(a, b):
    if isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    else:
        assert a == b


def _recording_mode(T, seen):
    class Recorder(T.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(func)
            return func(*args, **(kwargs or {}))
    return Recorder()


def _recording_subclass(T, seen):
    class Recorded(T.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(func)
            return super().__torch_function__(func, types, args, kwargs)
    return Recorded


def _resolved(T, seen):
    return [(T.overrides.resolve_name(f) or repr(f)).replace(T.__name__, "torch", 1) for f in seen]


@pytest.mark.parametrize("call", list(CALLS))
def test_mode_sees_the_method_or_the_function(call, rng):
    data = _data(rng)
    out = {}
    for T in (torch, jtorch):
        seen = []
        x, y, i = _inputs(T, data)
        with _recording_mode(T, seen):
            r = CALLS[call](T, x, y, i)
        out[T] = (_resolved(T, seen), _values(T, r))
    assert out[jtorch][0] == out[torch][0]
    _assert_same(out[jtorch][1], out[torch][1])


@pytest.mark.parametrize("call", SUBCLASS_CALLS)
def test_subclass_sees_the_method_or_the_function(call, rng):
    data = _data(rng)
    out = {}
    for T in (torch, jtorch):
        seen = []
        x, y, i = _inputs(T, data)
        sub = _recording_subclass(T, seen)
        r = CALLS[call](T, x.as_subclass(sub), y, i)
        out[T] = (_resolved(T, seen), type(r).__name__, _values(T, r))
    assert out[jtorch][:2] == out[torch][:2]
    _assert_same(out[jtorch][2], out[torch][2])


def test_methods_are_not_the_functions():
    T = jtorch
    for name in ("add", "relu", "sum", "view", "matmul", "clamp", "abs_", "relu_"):
        assert getattr(T.Tensor, name) is not getattr(T, name), name
        assert getattr(T.Tensor, name).__name__ == getattr(T, name).__name__ == name
    assert T.Tensor.add.__qualname__ == "Tensor.add" and T.Tensor.sum.__qualname__ == "Tensor.sum"
    for m in (T.Tensor.add, T.Tensor.sum, T.Tensor.abs_, T.Tensor.__getitem__, T.Tensor.__add__):  # (by name)
        assert pickle.loads(pickle.dumps(m)) is m


@LIBS
def test_func_is_the_librarys_own_object(T, rng):
    """``func is T.Tensor.add`` and friends, with the objects looked up before, inside and after a mode
    (one identity, whether or not a mode is entered)."""
    data = _data(rng)
    before = {"add": T.Tensor.add, "sum": T.Tensor.sum, "getitem": T.Tensor.__getitem__, "tolist": T.Tensor.tolist,
              "shape": T.Tensor.shape.__get__, "add_": T.Tensor.add_}
    seen = []
    x, y, _ = _inputs(T, data)
    with _recording_mode(T, seen):
        inside = {"add": T.Tensor.add, "sum": T.Tensor.sum, "getitem": T.Tensor.__getitem__,
                  "tolist": T.Tensor.tolist, "shape": T.Tensor.shape.__get__, "add_": T.Tensor.add_}
        x.add(y), x + y, T.add(x, y), x.sum(), T.sum(x), x[0], x.tolist(), x.shape, x.add_(y)
        T.nn.functional.relu(x)
    assert inside == before
    assert [f is before["add"] for f in seen[:3]] == [True, True, False]
    assert seen[2] is T.add
    assert seen[3] is before["sum"] and seen[4] is T.sum
    assert seen[5] is before["getitem"] and seen[6] is before["tolist"]
    assert seen[7] == before["shape"] and seen[8] is before["add_"]
    assert seen[9] is T.nn.functional.relu


@LIBS
def test_subclass_func_identity(T, rng):
    data = _data(rng)
    seen = []
    x, y, _ = _inputs(T, data)
    s = x.as_subclass(_recording_subclass(T, seen))
    s.add(y), s + y, T.add(s, y), s.sum(), s[0], s.shape
    assert seen[0] is T.Tensor.add and seen[1] is T.Tensor.add and seen[2] is T.add
    assert seen[3] is T.Tensor.sum and seen[4] is T.Tensor.__getitem__ and seen[5] == T.Tensor.shape.__get__


@LIBS
def test_nested_modes_see_the_method(T, rng):
    """The inner mode's call of the method it was given reaches the outer mode as that method."""
    data = _data(rng)
    inner, outer = [], []
    x, y, _ = _inputs(T, data)
    with _recording_mode(T, outer), _recording_mode(T, inner):
        x.sum(), x.add(y), x[0], x.shape, x.tolist()
    names = ["torch.Tensor.sum", "torch.Tensor.add", "torch.Tensor.__getitem__", "torch.Tensor.shape.__get__",
             "torch.Tensor.tolist"]
    assert _resolved(T, inner) == names
    assert _resolved(T, outer)[:5] == names


def _overrides_sample(T):
    F = T.nn.functional
    return [T.add, T.Tensor.add, T.Tensor.__add__, T.Tensor.__radd__, T.Tensor.__iadd__, T.Tensor.add_, T.abs_,
            T.Tensor.abs_, T.sum, T.Tensor.sum, T.Tensor.__getitem__, T.Tensor.__setitem__, T.Tensor.neg,
            T.Tensor.__invert__, T.Tensor.__rtruediv__, T.Tensor.__lt__, T.Tensor.size,
            T.Tensor.tolist, T.Tensor.__len__, T.Tensor.shape.__get__, T.Tensor.grad.__get__, T.Tensor.grad.__set__,
            F.relu, T.relu, T.matmul, T.Tensor.matmul, T.linalg.norm]


def test_overrides_helpers_agree_with_torch():
    samples = {T: _overrides_sample(T) for T in (torch, jtorch)}
    for T in (torch, jtorch):
        assert T.overrides.resolve_name(len) is None
    for a, b in zip(samples[torch], samples[jtorch]):
        assert jtorch.overrides.resolve_name(b) == torch.overrides.resolve_name(a), a
        assert jtorch.overrides.is_tensor_method_or_property(b) == \
            torch.overrides.is_tensor_method_or_property(a), a
    funcs = {T: T.overrides.get_overridable_functions() for T in (torch, jtorch)}
    dummies = {T: T.overrides.get_testing_overrides() for T in (torch, jtorch)}
    for a, b in zip(samples[torch], samples[jtorch]):
        if a is torch.abs_:  # (torch lists no in-place function of its namespace as overridable)
            continue
        for T, f in ((torch, a), (jtorch, b)):
            where = [ns is T.Tensor for ns, fs in funcs[T].items() if any(f is g or f == g for g in fs)]
            # (a function listed under its namespace, a method or property accessor under Tensor)
            funcs_of = (where, f in dummies[T])
            if T is torch:
                expected = funcs_of
            else:
                assert funcs_of == expected, (a, b)


def _fx_nodes(T, fn):
    gm = T.fx.symbolic_trace(fn)
    out = []
    for n in gm.graph.nodes:
        target = n.target if isinstance(n.target, str) else (T.overrides.resolve_name(n.target) or
                                                             getattr(n.target, "__name__", str(n.target)))
        out.append((n.op, target.replace(T.__name__ + ".", "torch.", 1)))
    return out


def test_fx_records_methods_and_functions_as_torch():
    def fn(T):
        def f(x, y):
            a = x.add(y) + T.add(x, y)
            b = T.nn.functional.relu(a).sum(dim=0)
            return x[0].abs_() * b.softmax(0) - T.sum(x)
        return f
    assert _fx_nodes(jtorch, fn(jtorch)) == _fx_nodes(torch, fn(torch))

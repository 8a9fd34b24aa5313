"""Tensor's operators and other dunder methods against torch's ``__torch_function__`` protocol: every Tensor
attribute among ``torch.overrides.get_testing_overrides()`` resolves to the same name
(``resolve_name(Tensor.__neg__) == 'torch.Tensor.neg'``), torch's aliases are one object here too
(``Tensor.__neg__ is Tensor.neg``, ``__rdiv__ is __rtruediv__``), and a recording ``TorchFunctionMode`` and
subclass receive the same functions for each operator call, with the same results."""
import copy
import operator
import warnings

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")
LIBS = pytest.mark.parametrize("T", [torch, jtorch], ids=["torch", "jtorch"])

# torch's testing overrides that name Tensor attributes jtorch does not have: private or legacy internals
# (autocast, nested and sparse internals, the CUDA array interface, pickling's __setstate__, mkldnn)
ABSENT = {"__setstate__", "_backward_hooks", "_post_accumulate_grad_hooks", "_cdata", "_autocast_to_reduced_precision",
          "_autocast_to_full_precision", "_clear_non_serializable_cached_data", "name", "__cuda_array_interface__",
          "_dimI", "_dimV", "_coalesced_", "_nested_tensor_size", "_nested_tensor_storage_offsets",
          "_nested_tensor_strides", "resize_as_sparse_", "_sparse_mask_projection", "_to_dense", "to_mkldnn", "index"}
# private members jtorch has but keeps out of the protocol, and pickling's hook, which dispatches in torch
UNNAMED = {"__reduce_ex__", "_base", "_grad", "_grad_fn", "_version", "_indices", "_is_view", "_nnz", "_values"}


def _tensor_override_names():
    """'torch.Tensor.X' or 'torch.Tensor.X.__get__' for each Tensor attribute torch's testing overrides list."""
    names = (torch.overrides.resolve_name(f) for f in torch.overrides.get_testing_overrides())
    return sorted(n for n in names if n and n.startswith("torch.Tensor."))


def _jtorch_member(name):
    obj = jtorch.Tensor
    for part in name[len("torch.Tensor."):].split("."):
        obj = getattr(obj, part)
    return obj


def test_testing_overrides_resolve_to_torchs_names():
    absent, unnamed, wrong = set(), set(), []
    for name in _tensor_override_names():
        attr = name[len("torch.Tensor."):].split(".")[0]
        try:
            member = _jtorch_member(name)
        except AttributeError:
            absent.add(attr)
            continue
        got = jtorch.overrides.resolve_name(member)
        if got is None:
            unnamed.add(attr)
        elif got.replace("jtorch", "torch", 1) != name:
            wrong.append((name, got))
    assert wrong == []
    assert absent == ABSENT and unnamed == UNNAMED


def _same_objects(T):
    """Groups of Tensor attribute names that are one object (of two names or more)."""
    groups = {}
    for name in dir(torch.Tensor):
        if not hasattr(T.Tensor, name) or name in ("__doc__", "__init_subclass__", "__subclasshook__"):
            continue
        groups.setdefault(id(getattr(T.Tensor, name)), []).append(name)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def test_aliases_are_one_object_as_in_torch():
    assert _same_objects(jtorch) == _same_objects(torch)  # (__neg__/neg, __abs__/abs, __pos__/positive, ...)
    for name in ("__neg__", "__abs__", "__pos__", "__rdiv__", "__idiv__", "ndimension", "nelement", "const_data_ptr",
                 "sspaddmm", "__div__", "__long__", "__nonzero__", "is_sparse", "layout"):
        t, j = getattr(torch.Tensor, name), getattr(jtorch.Tensor, name)
        if isinstance(t, property) or type(t).__name__ == "getset_descriptor":
            t, j = t.__get__, j.__get__
        assert (jtorch.overrides.resolve_name(j) or "").replace("jtorch", "torch", 1) == \
            torch.overrides.resolve_name(t), name


# ---------------------------------------------------------------- what __torch_function__ receives
def _binary(name, ints=False):
    return lambda T, x, i: getattr(i if ints else x, name)(i if ints else x)


def _reflected(name, ints=False):
    return lambda T, x, i: getattr(i if ints else x, name)(2)


def _inplace(name, ints=False):
    return lambda T, x, i: getattr((i if ints else x).clone(), name)(i if ints else x)


CALLS = {}
for _op in "add sub mul truediv floordiv mod pow and or xor lshift rshift".split():
    _ints = _op in ("and", "or", "xor", "lshift", "rshift")
    CALLS[f"__{_op}__"] = _binary(f"__{_op}__", _ints)
    CALLS[f"__r{_op}__"] = _reflected(f"__r{_op}__", _ints)
    CALLS[f"__i{_op}__"] = _inplace(f"__i{_op}__", _ints)
for _op in "eq ne lt le gt ge matmul div".split():
    CALLS[f"__{_op}__"] = _binary(f"__{_op}__")
CALLS.update({
    "__rmatmul__": _binary("__rmatmul__"), "__idiv__": _inplace("__idiv__"), "__rdiv__": _reflected("__rdiv__"),
    "2 - x": lambda T, x, i: 2 - x, "2 / x": lambda T, x, i: 2 / x, "2 ** x": lambda T, x, i: 2 ** x,
    "-x": lambda T, x, i: -x, "+x": lambda T, x, i: +x, "abs(x)": lambda T, x, i: abs(x), "~i": lambda T, x, i: ~i,
    "x[0]": lambda T, x, i: x[0], "x[0] = 1": lambda T, x, i: x.__setitem__(0, 1.0), "len(x)": lambda T, x, i: len(x),
    "1.0 in x": lambda T, x, i: 1.0 in x, "bool(x[0, 0])": lambda T, x, i: bool(x[0, 0]),
    "float": lambda T, x, i: float(x[0, 0]), "int": lambda T, x, i: int(x[0, 0]),
    "index": lambda T, x, i: operator.index(i[0, 0]), "complex": lambda T, x, i: complex(x[0, 0]),
    "__long__": lambda T, x, i: x[0, 0].__long__(), "__nonzero__": lambda T, x, i: x[0, 0].__nonzero__(),
    "repr": lambda T, x, i: repr(x), "str": lambda T, x, i: str(x), "format": lambda T, x, i: format(x[0, 0], ".2f"),
    "reversed": lambda T, x, i: reversed(x), "iter": lambda T, x, i: list(iter(x)),
    "np.asarray": lambda T, x, i: np.asarray(x), "np.sin": lambda T, x, i: np.sin(x),
    "np.equal": lambda T, x, i: np.equal(x, x), "deepcopy": lambda T, x, i: copy.deepcopy(x),
    "__dlpack_device__": lambda T, x, i: x.__dlpack_device__(),
})


def _inputs(T, data):
    return T.tensor(data[0]), T.tensor(data[1])


def _outcome(T, r):
    """A call's result for comparison: type name, dtype and values, or the error's type."""
    with T._C.DisableTorchFunction():
        if isinstance(r, T.Tensor):
            return type(r).__name__, str(r.dtype).split(".")[-1], np.asarray(r.detach().tolist()).round(5).tolist()
        if isinstance(r, (list, tuple)):
            return [_outcome(T, v) for v in r]
        if isinstance(r, np.ndarray):
            return "ndarray", str(r.dtype), r.round(5).tolist()
        if type(r).__name__ == "reversed":
            return "reversed"
        return r.replace(T.__name__ + ".", "torch.") if isinstance(r, str) else r


def _run(T, data, call, subclass):
    seen = []
    x, i = _inputs(T, data)
    if subclass:
        class Recorded(T.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                seen.append(func)
                return super().__torch_function__(func, types, args, kwargs)
        x, i = x.as_subclass(Recorded), i.as_subclass(Recorded)
        ctx = warnings.catch_warnings()
    else:
        class Recorder(T.overrides.TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                seen.append(func)
                return func(*args, **(kwargs or {}))
        ctx = Recorder()
    try:
        with ctx:
            warnings.simplefilter("ignore")  # (NumPy on torch's __array_wrap__ signature)
            r = CALLS[call](T, x, i)
        out = _outcome(T, r)
    except Exception as e:  # noqa: BLE001 (the error is what is compared)
        out = type(e).__name__
    return [(T.overrides.resolve_name(f) or repr(f)).replace(T.__name__, "torch", 1) for f in seen], out


def _data(rng):
    return rng.uniform(0.5, 2, (3, 3)).astype(np.float32), rng.integers(1, 4, (3, 3))


@pytest.mark.parametrize("subclass", [False, True], ids=["mode", "subclass"])
@pytest.mark.parametrize("call", list(CALLS))
def test_operator_calls_hand_torchs_functions(call, subclass, rng):
    data = _data(rng)
    assert _run(jtorch, data, call, subclass) == _run(torch, data, call, subclass)


# ---------------------------------------------------------------- behaviours the aliases brought along
@LIBS
def test_positive_is_the_tensor_itself(T, rng):
    x = T.tensor(rng.standard_normal(3).astype(np.float32))
    assert (+x) is x and x.positive() is x and T.positive(x) is x
    with pytest.raises(RuntimeError, match="on a bool tensor is not supported"):
        +T.tensor([True, False])
    with pytest.raises(RuntimeError, match="on a bool tensor is not supported"):
        T.positive(T.tensor([True]))


def test_numpy_ufuncs_give_tensors(rng):
    data = rng.standard_normal((2, 3)).astype(np.float32)
    for f in (np.sin, np.negative, lambda a: np.greater(a, 0), lambda a: np.add(a, np.ones(3))):
        got = {T: f(T.tensor(data)) for T in (torch, jtorch)}
        assert type(got[jtorch]) is jtorch.Tensor and type(got[torch]) is torch.Tensor
        assert str(got[jtorch].dtype) == str(got[torch].dtype)  # (a bool result as uint8, as torch's)
        np.testing.assert_allclose(got[jtorch].numpy(), got[torch].numpy(), rtol=1e-6)


def test_numpy_operands_defer_to_tensors(rng):
    """NumPy scalars on the left run Tensor's reflected operators (``__array_priority__``), an array on the left
    raises TypeError, as in torch."""
    data = rng.standard_normal(3).astype(np.float32)
    calls = [lambda T, x: np.float64(2) * x, lambda T, x: np.float32(2) + x, lambda T, x: np.int64(3) - x,
             lambda T, x: x + np.ones(3), lambda T, x: np.ones(3) + x]
    for call in calls:
        got = {}
        for T in (torch, jtorch):
            try:
                r = call(T, T.tensor(data))
                got[T] = (type(r).__name__, str(r.dtype).split(".")[-1], np.asarray(r.tolist()).round(5).tolist())
            except TypeError:
                got[T] = "TypeError"
        assert got[jtorch] == got[torch]


@LIBS
def test_contains_and_format_errors(T, rng):
    x = T.tensor(rng.standard_normal(3).astype(np.float32))
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        "a" in x
    assert (x[1] in x) and (float(x[0]) in x)
    with pytest.raises(TypeError):
        format(T.nn.Parameter(x[0].clone()), ".2f")  # (a subclass formats as an object, as torch's)
    with pytest.raises(TypeError):
        format(T.empty((), device="meta"), ".2f")
    assert format(x[0], ".3f") == f"{float(x[0]):.3f}"


# ---------------------------------------------------------------- nested modes
NESTED_CALLS = {
    "x.sum()": lambda T, x: x.sum(), "x.add(x)": lambda T, x: x.add(x), "x + x": lambda T, x: x + x,
    "-x": lambda T, x: -x, "x ** 2": lambda T, x: x ** 2, "~i": lambda T, x: ~x.long(), "x[0]": lambda T, x: x[0],
    "x.shape": lambda T, x: x.shape, "x.tolist()": lambda T, x: x.tolist(), "x.size()": lambda T, x: x.size(),
    "x.view(-1)": lambda T, x: x.view(-1), "T.add": lambda T, x: T.add(x, x), "x.add_(1)": lambda T, x: x.add_(1),
    "F.relu": lambda T, x: T.nn.functional.relu(x), "x.grad": lambda T, x: x.grad, "x.layout": lambda T, x: x.layout,
    "x.is_sparse": lambda T, x: x.is_sparse,
    "repr": lambda T, x: repr(x), "x.copy_(x)": lambda T, x: x.copy_(x),
}


def _nested(T, data, call, subclass):
    """What each of three nested recording modes (and a recording subclass) receives, and whether the function
    each mode received is the library's own public object."""
    seen = []

    def mode(tag):
        class Recorder(T.overrides.TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                seen.append((tag, func))
                return func(*args, **(kwargs or {}))
        return Recorder()

    class Recorded(T.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(("subclass", func))
            return super().__torch_function__(func, types, args, kwargs)

    x = T.tensor(data)
    if subclass:
        x = x.as_subclass(Recorded)
    with mode("outer"), mode("middle"), mode("inner"):
        NESTED_CALLS[call](T, x)
    public = {T.Tensor.sum, T.Tensor.add, T.Tensor.neg, T.Tensor.__pow__, T.Tensor.__invert__,
              T.Tensor.__getitem__, T.Tensor.tolist, T.Tensor.size, T.Tensor.view, T.add, T.Tensor.add_, T.Tensor.long,
              T.nn.functional.relu, T.Tensor.__repr__, T.Tensor.copy_}
    getters = [T.Tensor.shape.__get__, T.Tensor.grad.__get__, T.Tensor.layout.__get__, T.Tensor.is_sparse.__get__]
    return [(tag, (T.overrides.resolve_name(f) or repr(f)).replace(T.__name__, "torch", 1),
             f in public or any(f == g for g in getters)) for tag, f in seen]


@pytest.mark.parametrize("subclass", [False, True], ids=["plain", "subclass"])
@pytest.mark.parametrize("call", list(NESTED_CALLS))
def test_nested_modes_receive_the_public_method(call, subclass, rng):
    """Each mode, inner ones included, receives the public method (``Tensor.sum`` itself), and its call of it
    reaches the modes below, then an overloading argument's ``__torch_function__``, as in torch."""
    data = rng.standard_normal((2, 3)).astype(np.float32)
    got = _nested(jtorch, data, call, subclass)
    assert got == _nested(torch, data, call, subclass)
    assert all(is_public for _, _, is_public in got)


@LIBS
def test_methods_run_plain_again_after_the_modes(T, rng):
    x = T.tensor(rng.standard_normal(3).astype(np.float32))
    seen = []

    class Recorder(T.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(func)
            return func(*args, **(kwargs or {}))
    with Recorder(), Recorder():
        x.sum()
        with T._C.DisableTorchFunction():
            T.Tensor.sum(x), x.shape, x.tolist()
    n = len(seen)
    T.Tensor.sum(x), x.shape, x.tolist(), x.size()
    assert n == 2 and len(seen) == 2

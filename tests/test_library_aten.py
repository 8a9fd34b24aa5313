"""torch.ops.aten.<op>.<overload> against torch's: values, dtypes and shapes on seeded inputs, the
OpOverloadPacket / OpOverload objects (schemas, names, overloads, tags), packet overload resolution, errors."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _f(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _i(rng, hi, *shape):
    return rng.integers(0, hi, shape).astype(np.int64)


# (overload, args(rng), kwargs or kwargs(rng)); numpy arrays become tensors of each library, "float64"/"int64" dtypes
CASES = [
    ("add.Tensor", lambda r: [_f(r, 2, 3), _f(r, 2, 3)], {"alpha": 2}),
    ("add.Scalar", lambda r: [_f(r, 2, 3), 1.5], {}),
    ("add.Tensor", lambda r: [_f(r, 2, 3), 2], {}),
    ("add.out", lambda r: [_f(r, 3), _f(r, 3)], lambda r: {"out": _f(r, 3)}),
    ("mul.Tensor", lambda r: [_f(r, 3), _f(r, 2, 3)], {}),
    ("mul_.Tensor", lambda r: [_f(r, 3), _f(r, 3)], {}),
    ("sub.Tensor", lambda r: [_i(r, 5, 3), _i(r, 5, 3)], {}),
    ("div.Tensor_mode", lambda r: [_f(r, 4), _f(r, 4)], {"rounding_mode": "floor"}),
    ("rsub.Scalar", lambda r: [_f(r, 3), 2.0], {}),
    ("pow.Tensor_Scalar", lambda r: [_f(r, 4), 2], {}),
    ("mm.default", lambda r: [_f(r, 2, 3), _f(r, 3, 4)], {}),
    ("bmm.default", lambda r: [_f(r, 2, 2, 3), _f(r, 2, 3, 4)], {}),
    ("addmm.default", lambda r: [_f(r, 4), _f(r, 2, 3), _f(r, 3, 4)], {"beta": 0.5}),
    ("linear.default", lambda r: [_f(r, 2, 3), _f(r, 4, 3), _f(r, 4)], {}),
    ("relu.default", lambda r: [_f(r, 3, 4)], {}),
    ("gelu.default", lambda r: [_f(r, 3, 4)], {"approximate": "tanh"}),
    ("leaky_relu.default", lambda r: [_f(r, 4), 0.2], {}),
    ("convolution.default", lambda r: [_f(r, 1, 2, 5, 5), _f(r, 3, 2, 3, 3), _f(r, 3), [1, 1], [1, 1], [1, 1],
                                       False, [0, 0], 1], {}),
    ("convolution.default", lambda r: [_f(r, 1, 2, 5, 5), _f(r, 2, 3, 3, 3), None, [2, 2], [0, 0], [1, 1], True,
                                       [1, 1], 1], {}),
    ("sum.dim_IntList", lambda r: [_f(r, 2, 3, 4), [0, 2]], {"keepdim": True}),
    ("sum.default", lambda r: [_i(r, 9, 3, 4)], {}),
    ("mean.dim", lambda r: [_f(r, 2, 3, 4), [1]], {}),
    ("amax.default", lambda r: [_f(r, 2, 3, 4), [1]], {}),
    ("max.dim", lambda r: [_f(r, 3, 4), 1], {}),
    ("var.correction", lambda r: [_f(r, 3, 4), [1]], {"correction": 0}),
    ("view.default", lambda r: [_f(r, 2, 6), [3, 4]], {}),
    ("_unsafe_view.default", lambda r: [_f(r, 2, 6), [3, 4]], {}),
    ("permute.default", lambda r: [_f(r, 2, 3, 4), [2, 0, 1]], {}),
    ("t.default", lambda r: [_f(r, 2, 3)], {}),
    ("expand.default", lambda r: [_f(r, 3, 1), [2, 3, 4]], {}),
    ("squeeze.dims", lambda r: [_f(r, 1, 3, 1, 4), [0, 2]], {}),
    ("slice.Tensor", lambda r: [_f(r, 5, 6), 1, 1, 5, 2], {}),
    ("select.int", lambda r: [_f(r, 5, 6), 0, -1], {}),
    ("index.Tensor", lambda r: [_f(r, 5, 6), [None, _i(r, 6, 3)]], {}),
    ("cat.default", lambda r: [[_f(r, 2, 3), _f(r, 4, 3)]], {}),
    ("split_with_sizes.default", lambda r: [_f(r, 5, 3), [2, 3]], {}),
    ("_to_copy.default", lambda r: [_f(r, 2, 3)], {"dtype": "float64"}),
    ("where.self", lambda r: [_f(r, 3) > 0, _f(r, 3), _f(r, 3)], {}),
    ("clamp.default", lambda r: [_f(r, 6), -0.5, 0.5], {}),
    ("_softmax.default", lambda r: [_f(r, 3, 4), 1, False], {}),
    ("_log_softmax.default", lambda r: [_f(r, 3, 4), 0, False], {}),
    ("eq.Scalar", lambda r: [_i(r, 3, 6), 1], {}),
    ("full.default", lambda r: [[2, 3], 1.5], {}),
    ("zeros.default", lambda r: [[2, 3]], {"dtype": "int64"}),
    ("arange.start_step", lambda r: [0, 10, 3], {}),
    ("native_layer_norm.default", lambda r: [_f(r, 2, 3, 4), [4], _f(r, 4), _f(r, 4), 1e-5], {}),
    ("native_batch_norm.default", lambda r: [_f(r, 2, 3, 4), _f(r, 3), _f(r, 3), None, None, True, 0.1, 1e-5], {}),
    ("embedding.default", lambda r: [_f(r, 10, 3), _i(r, 10, 2, 4)], {}),
    ("max_pool2d_with_indices.default", lambda r: [_f(r, 1, 2, 6, 6), [2, 2]], {}),
    ("avg_pool2d.default", lambda r: [_f(r, 1, 2, 6, 6), [3, 3], [2, 2], [1, 1]], {}),
    ("_adaptive_avg_pool2d.default", lambda r: [_f(r, 1, 2, 6, 6), [2, 3]], {}),
    ("gather.default", lambda r: [_f(r, 3, 4), 1, _i(r, 4, 3, 2)], {}),
    ("scatter_add.default", lambda r: [_f(r, 3, 5), 1, _i(r, 5, 3, 2), _f(r, 3, 2)], {}),
    ("masked_fill.Scalar", lambda r: [_f(r, 3, 4), _f(r, 3, 4) > 0, 0.25], {}),
    ("sort.default", lambda r: [_f(r, 3, 4)], {}),
    ("topk.default", lambda r: [_f(r, 3, 5), 2], {}),
    ("constant_pad_nd.default", lambda r: [_f(r, 2, 3), [1, 2]], {"value": 0.5}),
    ("bitwise_and.Tensor", lambda r: [_i(r, 8, 4), _i(r, 8, 4)], {}),
    ("copy.default", lambda r: [_f(r, 2, 3), _f(r, 3)], {}),
    ("nonzero.default", lambda r: [_i(r, 2, 3, 4)], {}),
    ("sym_size.int", lambda r: [_f(r, 4, 5), 1], {}),
]


def _convert(m, v):
    if isinstance(v, np.ndarray):
        return m.from_numpy(v.copy())
    if isinstance(v, list):
        return [_convert(m, x) for x in v]
    if v in ("float64", "int64"):
        return getattr(m, v)
    return v


def _run(m, overload, args, kwargs):
    name, ov = overload.split(".")
    fn = getattr(getattr(m.ops.aten, name), ov)
    a = [_convert(m, x) for x in args]
    out = fn(*a, **{k: _convert(m, v) for k, v in kwargs.items()})
    return a, out


@pytest.mark.parametrize("overload,make,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_aten_overload_matches_torch(rng, overload, make, kwargs):
    args = make(rng)
    kwargs = kwargs(rng) if callable(kwargs) else kwargs
    ta, t = _run(torch, overload, args, kwargs)
    ja, j = _run(jtorch, overload, args, kwargs)
    assert type(j) is type(t) or isinstance(j, jtorch.Tensor) and isinstance(t, torch.Tensor), (type(j), type(t))
    assert_close(j, t, rtol=1e-5, atol=1e-5)
    # in-place and out= overloads write their arguments
    for a, b in zip(ja, ta):
        if isinstance(b, torch.Tensor):
            assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["add", "mm", "relu", "convolution", "sum", "view", "max", "cat", "_to_copy"])
def test_overload_objects_match_torch(name):
    tp, jp = getattr(torch.ops.aten, name), getattr(jtorch.ops.aten, name)
    assert str(jp) == str(tp) and repr(jp) == repr(tp) and jp.__name__ == tp.__name__
    assert jp._qualified_op_name == tp._qualified_op_name
    assert set(jp.overloads()) <= set(tp.overloads())
    for ov in jp.overloads():
        j, t = getattr(jp, ov), getattr(tp, ov)
        assert str(j._schema) == str(t._schema)
        assert j.name() == t.name() and j.__name__ == t.__name__
        assert str(j) == str(t) and repr(j) == repr(t)
        assert [x.name for x in j.tags] == [x.name for x in t.tags]
        assert j.overloadpacket is jp
        for ja, ta in zip(j._schema.arguments, t._schema.arguments, strict=True):
            assert (ja.name, ja.kwarg_only, ja.has_default_value()) == (ta.name, ta.kwarg_only,
                                                                        ta.has_default_value())
            assert (ja.alias_info is None) == (ta.alias_info is None)
            assert ja.alias_info is None or ja.alias_info.is_write == ta.alias_info.is_write
        assert j._schema.name == t._schema.name and j._schema.overload_name == t._schema.overload_name


def test_common_overloads_present():
    for q in ("add.Tensor", "mm.default", "relu.default", "convolution.default", "sum.dim_IntList",
              "view.default", "addmm.default", "native_layer_norm.default", "_softmax.default", "mean.dim"):
        name, ov = q.split(".")
        assert ov in getattr(jtorch.ops.aten, name).overloads(), q


def test_packet_call_resolves_overloads(rng):
    x = _f(rng, 2, 3)
    for args in ((x, x), (x, 2), (x, 1.5)):
        t = torch.ops.aten.add(*[_convert(torch, a) for a in args])
        j = jtorch.ops.aten.add(*[_convert(jtorch, a) for a in args])
        assert_close(j, t)
    assert_close(jtorch.ops.aten.sum(_convert(jtorch, x), [0]), torch.ops.aten.sum(_convert(torch, x), [0]))
    jm, tm = jtorch.ops.aten.max(_convert(jtorch, x), 1), torch.ops.aten.max(_convert(torch, x), 1)
    assert type(jm) is type(tm) is tuple
    assert_close(jm, tm)


_SWEEPS = {"unary": "Tensor self) -> Tensor", "binary": "Tensor self, Tensor other) -> Tensor",
           "scalar": "Tensor self, Scalar other) -> Tensor"}


@pytest.mark.parametrize("kind", list(_SWEEPS))
def test_overload_sweep(rng, kind):
    """Every overload jtorch runs with the signature of ``kind``, on one pair of inputs, against torch."""
    from jtorch.library._aten_schemas import SCHEMAS
    x = rng.uniform(0.1, 0.9, (2, 3)).astype(np.float32)
    y = rng.uniform(0.1, 0.9, (2, 3)).astype(np.float32)
    random_ops = ("empty", "rand", "normal", "bernoulli", "poisson", "exponential", "geometric", "new_empty")

    def args(m):
        a = [m.from_numpy(x.copy())]
        return a + ([m.from_numpy(y.copy())] if kind == "binary" else [0.7] if kind == "scalar" else [])

    checked = 0
    for name, entries in SCHEMAS.items():
        for e in entries:
            text = e if isinstance(e, str) else e[0]
            if not text.split("(", 1)[1].startswith(_SWEEPS[kind]) or "(a" in text:
                continue
            ov = text.split("(")[0].split(".")[1] if "." in text.split("(")[0] else "default"
            try:
                t = getattr(getattr(torch.ops.aten, name), ov)(*args(torch))
            except (RuntimeError, NotImplementedError):
                continue  # no float kernel in torch for this op
            j = getattr(getattr(jtorch.ops.aten, name), ov)(*args(jtorch))
            if name.startswith(random_ops):
                assert tuple(j.shape) == tuple(t.shape) and str(j.dtype) == str(t.dtype)
            else:
                assert_close(j, t, rtol=1e-4, atol=1e-5)
            checked += 1
    assert checked > {"unary": 60, "binary": 30, "scalar": 15}[kind]


def test_aten_ops_under_compile(rng):
    x_np = rng.standard_normal((3, 4)).astype(np.float32)

    def f(m, x):
        a = m.ops.aten
        return a.sum.dim_IntList(a.relu.default(a.mm.default(x, a.t.default(x))), [1])

    cf = jtorch.compile(lambda x: f(jtorch, x), fullgraph=True)
    for _ in range(2):
        assert_close(cf(jtorch.tensor(x_np)), f(torch, torch.tensor(x_np)))


def test_errors(rng):
    x = _f(rng, 2, 3)
    for m in (torch, jtorch):
        with pytest.raises(AttributeError, match="'_OpNamespace' 'aten' object has no attribute 'not_an_op'"):
            m.ops.aten.not_an_op
        with pytest.raises(AttributeError, match="The underlying op of 'aten.add' has no overload name 'nope'"):
            m.ops.aten.add.nope
        with pytest.raises(RuntimeError, match="is missing value for argument 'other'"):
            m.ops.aten.add.Tensor(_convert(m, x))
        with pytest.raises(RuntimeError, match="failed to match any schema"):
            m.ops.aten.add(_convert(m, x))
        with pytest.raises(RuntimeError, match="Expected a value of type 'Tensor' for argument 'other'"):
            m.ops.aten.max.other(_convert(m, x), 1)  # numbers stand for tensors only in add/mul/... (torch's list)
        with pytest.raises(OSError, match="Could not load this library"):
            m.ops.load_library("/nonexistent/libmyops.so")


def test_load_library_says_why(tmp_path):
    so = tmp_path / "libops.so"
    so.write_bytes(b"\x7fELF")
    with pytest.raises(OSError, match="cannot load C\\+\\+ operator"):
        jtorch.ops.load_library(str(so))

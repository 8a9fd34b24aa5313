"""fill_ / zero_ / full corner cases against torch: 0-dim tensor values (with gradient), numbers of
another kind than the tensor's dtype, and torch's overflow errors."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close

CASES = [
    ("float32", True), ("float32", 2), ("int64", 2.7), ("int64", -2.7), ("uint8", 300), ("uint8", -1),
    ("uint8", -256), ("uint8", 255), ("int8", 200), ("int8", -128), ("int16", 40000), ("int32", 2 ** 40),
    ("int64", 2 ** 70), ("float16", 1e6), ("float16", 65504.0), ("float16", 65520.0), ("float32", 1e300),
    ("float32", float("inf")), ("float64", 1e300), ("bool", 2), ("bool", 0.5), ("float32", 1 + 2j),
    ("complex64", 1 + 2j), ("int64", float("nan")), ("int64", float("inf")), ("bfloat16", 1e39),
]


def _run(lib, fn):
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - compared by type
        return type(e).__name__, str(e)
    return "ok", r


@pytest.mark.parametrize("dtype,value", CASES)
@pytest.mark.parametrize("how", ["fill_", "full"])
def test_fill_number(dtype, value, how):
    res = []
    for lib in (torch, jtorch):
        dt = getattr(lib, dtype)
        if how == "fill_":
            res.append(_run(lib, lambda: lib.zeros(3, dtype=dt).fill_(value)))
        else:
            res.append(_run(lib, lambda: lib.full((3,), value, dtype=dt)))
    (kt, vt), (kj, vj) = res
    assert kj == kt, (res)
    if kt == "ok":
        assert_close(vj, vt)
    elif kt == "RuntimeError":
        assert vj == vt


@pytest.mark.parametrize("value", ["a", None, [1.0]])
def test_fill_bad_value_type(value):
    for lib in (torch, jtorch):
        with pytest.raises(TypeError):
            lib.zeros(3).fill_(value)


@pytest.mark.parametrize("dtype,vdtype", [("float32", "float64"), ("int64", "float32"), ("float32", "int64"),
                                          ("uint8", "int64"), ("float32", "bool")])
def test_fill_with_zero_dim_tensor(dtype, vdtype, rng):
    v = rng.standard_normal() * 100
    res = []
    for lib in (torch, jtorch):
        val = lib.tensor(v).to(getattr(lib, vdtype))
        res.append(lib.zeros(3, dtype=getattr(lib, dtype)).fill_(val))
        with pytest.raises(RuntimeError, match="0-dimension"):
            lib.zeros(3).fill_(val.reshape(1))
    assert_close(res[1], res[0])


def test_fill_gradients(rng):
    arr = rng.standard_normal(4).astype(np.float32)
    out = []
    for lib in (torch, jtorch):
        v = lib.tensor(float(rng.standard_normal()) if lib is torch else out_v, requires_grad=True)
        if lib is torch:
            out_v = float(v)
        w = lib.tensor(arr, requires_grad=True)
        y = lib.zeros(4).fill_(v)  # the value's gradient is the sum of the output's
        z = (w * 1).fill_(v)  # w gets none: every element was overwritten
        q = (w * 2).fill_(1.5)
        r = (w * 3).zero_()
        names = tuple(type(t.grad_fn).__name__ for t in (y, z, q, r))
        ((y * lib.arange(4.0)).sum() + (z * z).sum() + q.sum() + r.sum()).backward()
        out.append((names, v.grad, w.grad))
        with pytest.raises(RuntimeError, match="leaf Variable"):
            w.fill_(1.0)
    assert out[1][0] == out[0][0]
    assert_close(out[1][1], out[0][1])
    assert_close(out[1][2], out[0][2])

"""Python numbers that do not fit the requested integer dtype: torch.tensor / as_tensor, masked_fill and
index_fill raise torch's errors where numpy's casts would wrap silently; values that fit (and negative
ints into unsigned types, which wrap in torch too) still convert. Against torch."""
import pytest
import torch

import jtorch
from helpers import assert_close

CASES = [([300], "int8"), ([-129], "int8"), ([128], "int8"), ([[1, 2], [3, 400]], "uint8"), ([70000], "int16"),
         ([2 ** 31], "int32"), ([1.5e10], "int32"), ([300.0], "int8"), ([-2.5], "uint8"), ([float("nan")], "int32"),
         ([float("inf")], "int64"), (2 ** 40, "int32"), ([2 ** 63], "int64"), ([2 ** 70], None), ([2 ** 70], "int64"),
         # these fit
         ([-1], "uint8"), (-255, "uint8"), ([255], "uint8"), ([3.7, -3.7], "int8"), ([127, -128], "int8"),
         ([True, 2], "bool"), ([70000.0], "float16"), ([2 ** 64], "float32"), ([2 ** 70], "float64")]


def _outcome(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001  (the exception type is what is compared)
        return type(e)


@pytest.mark.parametrize("data,dtype", CASES)
def test_tensor_and_as_tensor(data, dtype):
    for make in ("tensor", "as_tensor"):
        rt = _outcome(lambda: getattr(torch, make)(data, dtype=getattr(torch, dtype) if dtype else None))
        rj = _outcome(lambda: getattr(jtorch, make)(data, dtype=getattr(jtorch, dtype) if dtype else None))
        if isinstance(rt, type):
            assert rj is rt, (make, data, dtype, rj)
        else:
            assert_close(rj, rt)


@pytest.mark.parametrize("op", ["masked_fill", "masked_fill_", "index_fill", "index_fill_"])
@pytest.mark.parametrize("value,dtype", [(300, "int8"), (256, "uint8"), (-1, "uint8"), (2 ** 40, "int32"),
                                         (float("nan"), "int64"), (100, "int8"), (-2.5, "uint8")])
def test_fill_ops(op, value, dtype):
    res = []
    for lib in (torch, jtorch):
        x = lib.zeros(3, dtype=getattr(lib, dtype))
        args = (lib.tensor([True, False, True]),) if op.startswith("masked") else (0, lib.tensor([0, 2]))
        res.append(_outcome(lambda: getattr(x, op)(*args, value)))
    if isinstance(res[0], type):
        assert res[1] is res[0]
    else:
        assert_close(res[1], res[0])

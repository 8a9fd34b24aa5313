"""Dtypes, promotion and result types against torch."""
import itertools

import numpy as np
import pytest
import torch

import jtorch

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
         "complex64", "complex128"]


def jt(name):
    return getattr(jtorch, name)


def tt(name):
    return getattr(torch, name)


@pytest.mark.parametrize("a", NAMES)
def test_promote_types_matrix(a):
    for b in NAMES:
        assert repr(jtorch.promote_types(jt(a), jt(b))) == repr(torch.promote_types(tt(a), tt(b))), (a, b)


def test_aliases():
    for alias in ["float", "double", "half", "long", "int", "short", "cfloat", "cdouble", "bool", "uint8"]:
        assert repr(getattr(jtorch, alias)) == repr(getattr(torch, alias))


def test_dtype_properties():
    for n in NAMES:
        j, t = jt(n), tt(n)
        assert j.is_floating_point == t.is_floating_point
        assert j.is_complex == t.is_complex
        assert j.itemsize == t.itemsize
        assert j.is_signed == t.is_signed, n


SAMPLES = [("int64", 3), ("float32", 2.5), ("bool", True), ("int32", 1.5), ("uint8", 300), ("float64", 1),
           ("float16", 2), ("int8", 2.0), ("complex64", 1)]


@pytest.mark.parametrize("dt,scalar", SAMPLES)
def test_result_type_with_scalars_and_zero_dim(dt, scalar, rng):
    arr = rng.integers(0, 5, size=(3,))
    t = torch.tensor(arr).to(tt(dt))
    j = jtorch.tensor(arr).to(jt(dt))
    assert repr(jtorch.result_type(j, scalar)) == repr(torch.result_type(t, scalar))
    for other in NAMES:
        z_t = torch.tensor(1).to(tt(other))
        z_j = jtorch.tensor(1).to(jt(other))
        expect = repr(torch.result_type(t, z_t))
        assert repr(jtorch.result_type(j, z_j)) == expect, (dt, other)
        assert repr((j + z_j).dtype) == expect, (dt, other)


def test_python_scalar_does_not_promote():
    assert (jtorch.ones(2) * 2.5).dtype == jtorch.float32
    assert (jtorch.ones(2, dtype=jtorch.int32) + 3).dtype == jtorch.int32
    assert (jtorch.ones(2, dtype=jtorch.int32) + 3.0).dtype == jtorch.float32
    assert (jtorch.tensor(1.5, dtype=jtorch.float64) + jtorch.tensor([1, 2])).dtype == jtorch.float64
    assert (jtorch.tensor([1, 2]) / 2).dtype == jtorch.float32


def test_default_dtype():
    assert jtorch.get_default_dtype() == jtorch.float32
    jtorch.set_default_dtype(jtorch.float64)
    try:
        assert jtorch.tensor([1.0]).dtype == jtorch.float64
        assert jtorch.ones(2).dtype == jtorch.float64
        assert (jtorch.tensor([1, 2]) * 0.5).dtype == jtorch.float64
    finally:
        jtorch.set_default_dtype(jtorch.float32)
    with pytest.raises(TypeError):
        jtorch.set_default_dtype(jtorch.int64)


def test_finfo_iinfo():
    for n in ["float16", "bfloat16", "float32", "float64"]:
        a, b = jtorch.finfo(jt(n)), torch.finfo(tt(n))
        for attr in ["eps", "max", "min", "tiny", "bits", "resolution"]:
            assert getattr(a, attr) == getattr(b, attr), (n, attr)
    for n in ["uint8", "int8", "int16", "int32", "int64"]:
        a, b = jtorch.iinfo(jt(n)), torch.iinfo(tt(n))
        assert (a.min, a.max, a.bits) == (b.min, b.max, b.bits)
    with pytest.raises(TypeError):
        jtorch.finfo(jtorch.int32)
    with pytest.raises(TypeError):
        jtorch.iinfo(jtorch.float32)


def test_can_cast_and_is_floating_point():
    for a, b in itertools.product(NAMES, NAMES):
        assert jtorch.can_cast(jt(a), jt(b)) == torch.can_cast(tt(a), tt(b)), (a, b)
    assert jtorch.is_floating_point(jtorch.ones(1)) and not jtorch.is_floating_point(jtorch.ones(1).long())
    assert jtorch.is_complex(jtorch.ones(1, dtype=jtorch.complex64))


ALL_DTYPES = NAMES + ["uint16", "uint32", "uint64", "complex32", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
                      "float8_e5m2fnuz", "float8_e8m0fnu", "int2", "int4", "uint2", "uint4"]


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_legacy_type_names(name):
    """x.type() is torch's ScalarType name + "Tensor", and x.type(that name) converts back."""
    want = torch.empty(1, dtype=tt(name)).type()
    x = jtorch.zeros(2)
    assert jtorch.empty(1, dtype=jt(name)).type() == want
    if name in ("int2", "int4", "uint2", "uint4"):  # torch has no copy kernel into its sub-byte shell dtypes
        with pytest.raises(NotImplementedError):
            torch.zeros(2).type(want)
    else:
        assert x.type(want).dtype is jt(name) and torch.zeros(2).type(want).dtype is tt(name)


@pytest.mark.parametrize("name", ["uint16", "float8_e4m3fn", "complex32", "int32", "bfloat16"])
def test_scalar_type_names_in_errors(name):
    """Error messages name dtypes as torch's (UInt16, Float8_e4m3fn, ComplexHalf, ...)."""
    def msg(lib):
        try:
            lib.zeros(2, dtype=getattr(lib, name)).index_add_(0, lib.tensor([0]), lib.zeros(1, dtype=lib.float64))
        except RuntimeError as e:
            return str(e)
    assert msg(jtorch) == msg(torch) is not None

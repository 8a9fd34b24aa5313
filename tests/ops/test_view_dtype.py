"""Tensor.view(dtype): the bits read as another dtype, against torch (values, shapes, errors)."""
import numpy as np
import pytest
import torch as T

import jtorch as torch

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _bits(t, torch_mod):
    return t.numpy() if t.dtype == torch_mod.bool else t.view(torch_mod.uint8).numpy()


@pytest.mark.parametrize("src", ["float32", "int16", "uint8", "float64"])
@pytest.mark.parametrize("dst", DTYPES)
@pytest.mark.parametrize("cols", [slice(None), slice(2, None)])
def test_view_dtype_matches_torch(rng, src, dst, cols):
    x = (rng.standard_normal((3, 8)) * 50).astype(src)
    a, b = T.from_numpy(x.copy())[:, cols], torch.from_numpy(x.copy())[:, cols]
    try:
        want = a.view(getattr(T, dst))
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as got:
            b.view(getattr(torch, dst))
        assert str(got.value) == str(e)
        return
    got = b.view(getattr(torch, dst))
    assert got.shape == want.shape and str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(_bits(got, torch), _bits(want, T))


@pytest.mark.parametrize("make", [lambda m: m.randn(4, 3).t(), lambda m: m.randn(4, 3), lambda m: m.randn(())])
@pytest.mark.parametrize("dst", ["float64", "int16"])
def test_view_dtype_errors(make, dst):
    T.manual_seed(0)
    a, b = make(T), make(torch)
    try:
        a.view(getattr(T, dst))
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as got:
            b.view(getattr(torch, dst))
        assert str(got.value) == str(e)
    else:
        assert b.view(getattr(torch, dst)).shape == a.view(getattr(T, dst)).shape

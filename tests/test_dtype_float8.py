"""8-bit float dtypes (and ml_dtypes' sub-byte ints): conversions round-trip like torch's, finfo,
and promotion with them raises like torch."""
import numpy as np
import pytest
import torch

import jtorch

F8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]


@pytest.mark.parametrize("name", F8)
def test_float8_conversions_match_torch(rng, name):
    vals = rng.standard_normal(200).astype(np.float32) * 30
    if name == "float8_e8m0fnu":  # powers of two only, no sign
        vals = np.abs(vals) + 1e-3
    td, jd = getattr(torch, name), getattr(jtorch, name)
    t = torch.from_numpy(vals).to(td)
    j = jtorch.tensor(vals).to(jd)
    assert j.dtype is jd and str(j.dtype) == str(t.dtype)
    assert jd.itemsize == td.itemsize == 1 and jd.is_floating_point and jd.is_signed == td.is_signed
    for back in ("float32", "float64", "bfloat16", "float16"):
        np.testing.assert_array_equal(j.to(getattr(jtorch, back)).float().numpy(),
                                      t.to(getattr(torch, back)).float().numpy())
    # from integers, and back to integers
    ints = rng.integers(-20, 20, 50)
    if name == "float8_e8m0fnu":
        ints = np.abs(ints) + 1
    np.testing.assert_array_equal(jtorch.tensor(ints).to(jd).float().numpy(),
                                  torch.from_numpy(ints).to(td).float().numpy())
    np.testing.assert_array_equal(j.to(jtorch.int32).numpy(), t.to(torch.int32).numpy())
    fj, ft = jtorch.finfo(jd), torch.finfo(td)
    assert (fj.max, fj.min, fj.eps, fj.tiny, fj.bits) == (ft.max, ft.min, ft.eps, ft.tiny, ft.bits)
    assert jtorch.zeros(3, dtype=jd).dtype is jd


@pytest.mark.parametrize("name", F8)
def test_float8_promotion_raises(name):
    for m in (torch, jtorch):
        d = getattr(m, name)
        assert m.promote_types(d, d) is d
        for other in (m.float32, m.float16, m.int64, m.bool):
            with pytest.raises(RuntimeError):
                m.promote_types(d, other)


@pytest.mark.parametrize("name", ["int2", "int4", "uint2", "uint4"])
def test_sub_byte_ints(name):
    d = getattr(jtorch, name)
    assert str(d) == str(getattr(torch, name)) and d.itemsize == 1 and not d.is_floating_point
    assert d.is_signed == getattr(torch, name).is_signed
    info = jtorch.iinfo(d)
    vals = np.arange(int(info.min), int(info.max) + 1)
    np.testing.assert_array_equal(jtorch.tensor(vals).to(d).to(jtorch.int64).numpy(), vals)
    with pytest.raises(RuntimeError):
        jtorch.promote_types(d, jtorch.int8)

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
@pytest.mark.parametrize("src", ["float64", "float32", "float16", "bfloat16", "int64"])
def test_float8_out_of_range_and_signs_match_torch(rng, name, src):
    """Wide magnitudes, infinities, NaN, zeros and negatives: float8_e4m3fn saturates at ±448 (inf too) and
    float8_e8m0fnu drops the sign and sends 0 to 2**-127 in torch, unlike a plain ml_dtypes cast."""
    vals = rng.standard_normal(300) * 10.0 ** rng.uniform(-10, 6, 300)
    special = [np.inf, -np.inf, np.nan, 0.0, -0.0, 448, 464, 465, 480, 57344, 61440, 1e30]
    vals = np.concatenate([vals, special]) if src != "int64" else np.round(np.clip(vals, -1e9, 1e9))
    t = torch.from_numpy(vals).to(getattr(torch, src))
    j = jtorch.tensor(vals).to(getattr(jtorch, src))
    td, jd = getattr(torch, name), getattr(jtorch, name)
    np.testing.assert_array_equal(j.to(jd).double().numpy(), t.to(td).double().numpy())
    # creating one from data, and copying into one, convert the same way
    np.testing.assert_array_equal(jtorch.tensor(vals[:40], dtype=jd).double().numpy(),
                                  torch.tensor(vals[:40], dtype=td).double().numpy())
    jz, tz = jtorch.zeros(40, dtype=jd), torch.zeros(40, dtype=td)
    jz.copy_(j[:40])
    tz.copy_(t[:40])
    np.testing.assert_array_equal(jz.double().numpy(), tz.double().numpy())


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


def test_narrow_floats_to_integers_at_nan_inf_and_out_of_range(rng):
    # torch's CPU cast: out of range and NaN give the wide type's minimum, except the NaN of the fnuz/fnu types (0)
    vals = np.concatenate([rng.standard_normal(8).astype(np.float32) * 50,
                           np.float32([np.nan, np.inf, -np.inf, 448.0, -0.0, 2.0 ** 40, 1e30])])
    for name in F8 + ["float16", "bfloat16"]:
        t = torch.from_numpy(vals).to(getattr(torch, name))
        j = jtorch.tensor(vals).to(getattr(jtorch, name))
        for to in ("int64", "int32", "int16", "int8", "uint8"):
            assert j.to(getattr(jtorch, to)).tolist() == t.to(getattr(torch, to)).tolist(), (name, to)

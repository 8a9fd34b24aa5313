"""jtorch.testing.assert_close behaves like torch.testing.assert_close: same pass/fail decisions,
default tolerances per dtype, exception types and messages."""

import numpy as np
import pytest
import torch

import jtorch


def _outcome(L, a, e, **kw):
    def conv(v):
        if isinstance(v, np.ndarray):
            return L.tensor(v)
        if isinstance(v, (list, tuple)):
            return type(v)(conv(x) for x in v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    try:
        L.testing.assert_close(conv(a), conv(e), **kw)
        return None
    except Exception as ex:  # noqa: BLE001 - the type and message are what we compare
        return type(ex), str(ex)


def _same(a, e, **kw):
    t, j = _outcome(torch, a, e, **kw), _outcome(jtorch, a, e, **kw)
    assert t == j, (t, j)
    return t


f32 = np.float32


@pytest.mark.parametrize("a,e,kw", [
    (np.array([1, 2, 3], f32), np.array([1, 2, 3], f32), {}),
    (np.array([1, 2, 3], f32), np.array([1, 2.1, 3], f32), {}),
    (np.array([1, 2, 3], f32), np.array([1, 2 + 1e-6, 3], f32), {}),          # inside float32 default tol
    (np.array([1, 2, 3], f32), np.array([1, 2 + 1e-3, 3], f32), {"rtol": 1e-3, "atol": 0.0}),
    (np.array([1, 2, 3], f32), np.array([1, 2, 3.], np.float64), {}),        # dtype mismatch
    (np.array([1, 2, 3], f32), np.array([1, 2, 3.], np.float64), {"check_dtype": False}),
    (np.array([1, 2, 3], f32), np.array([1, 2], f32), {}),                   # shape mismatch
    (np.array([1, 2, 3]), np.array([1, 2, 4]), {}),                           # integers: exact
    (np.array([[1, 2, 3]]), np.array([[1, 2, 4]]), {}),
    (np.array([1.0, np.nan], f32), np.array([1.0, np.nan], f32), {}),
    (np.array([1.0, np.nan], f32), np.array([1.0, np.nan], f32), {"equal_nan": True}),
    (np.array([np.inf, -np.inf], f32), np.array([np.inf, -np.inf], f32), {}),
    (np.array([True, False]), np.array([True, True]), {}),
    (np.array(1.0, f32), np.array(1.5, f32), {}),                             # 0-dim: "Scalars"
    (np.array([1.0, 1e-7]), np.array([1.0, 2e-7]), {}),                       # float64 default tol
    (np.array([1 + 1j], np.complex64), np.array([1 + 2j], np.complex64), {}),
    (1.0, 1.0 + 1e-8, {}),
    (1.0, 1.1, {}),
    (1, 2, {}),
    (1, 1.0, {}),
    ([np.array(1.0, f32)], [np.array(2.0, f32)], {}),
    ({"a": np.array([1.0, 2.0], f32)}, {"a": np.array([1.0, 3.0], f32)}, {}),
    ([1, 2], [1, 2, 3], {}),
    (np.array([1, 2], f32), np.array([1, 2.5], f32), {"msg": "custom"}),
])
def test_matches_torch(a, e, kw):
    _same(a, e, **kw)


def test_tolerance_arguments():
    x = np.array([1.0, 2.0], f32)
    r = _same(x, x, rtol=1e-3)
    assert r[0] is ValueError
    _same(x, x * 1.01, rtol=0.02, atol=0.0)
    _same(x, x * 1.01, rtol=0.001, atol=0.0)


def test_mixed_types_raise_type_error():
    with pytest.raises(TypeError):
        jtorch.testing.assert_close(jtorch.ones(2), np.ones(2))
    with pytest.raises(TypeError):
        torch.testing.assert_close(torch.ones(2), np.ones(2))


def test_requires_grad_and_views(rng):
    x = rng.standard_normal((3, 4)).astype(f32)
    jtorch.testing.assert_close(jtorch.tensor(x, requires_grad=True) * 1, jtorch.tensor(x))
    jtorch.testing.assert_close(jtorch.tensor(x).t(), jtorch.tensor(x.T.copy()))
    with pytest.raises(AssertionError, match="Greatest absolute difference"):
        jtorch.testing.assert_close(jtorch.tensor(x), jtorch.tensor(x) + 1)


def test_make_tensor():
    t = jtorch.testing.make_tensor((3, 4), dtype=jtorch.float32, low=-2, high=3)
    assert t.shape == (3, 4) and t.dtype == jtorch.float32
    assert t.min().item() >= -2 and t.max().item() < 3
    i = jtorch.testing.make_tensor(5, dtype=jtorch.int64, low=0, high=4)
    assert i.dtype == jtorch.int64 and 0 <= i.min().item() and i.max().item() < 4
    g = jtorch.testing.make_tensor(2, 2, dtype=jtorch.float64, requires_grad=True)
    assert g.requires_grad and g.dtype == jtorch.float64

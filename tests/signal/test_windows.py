"""jtorch.signal.windows against torch.signal.windows: values, dtypes, sym/periodic, errors."""
import pytest
import torch

import jtorch
from helpers import assert_close

NAMES = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
         "hamming", "hann", "kaiser", "nuttall"]
EXTRA = {"general_cosine": [{"a": [0.54, 0.46]}, {"a": (0.1, 0.8, 0.05, 0.05)}, {"a": [0.5]}],
         "general_hamming": [{"alpha": 0.23}, {"alpha": 0.9}],
         "gaussian": [{"std": 0.1}, {"std": 2.1}],
         "kaiser": [{"beta": 2.0}, {"beta": 35.0}],
         "exponential": [{"tau": 2.78}, {"tau": 0.5}]}


def _kw(kw, mod):
    return {k: (getattr(mod, str(v).split(".")[-1]) if isinstance(v, torch.dtype) else v) for k, v in kw.items()}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_window_values(name, dtype):
    for extra in EXTRA.get(name, [{}]):
        for M in [0, 1, 2, 3, 4, 5, 8, 17, 64]:
            for sym in (True, False):
                kw = dict(extra, sym=sym, dtype=dtype)
                t = getattr(torch.signal.windows, name)(M, **kw)
                j = getattr(jtorch.signal.windows, name)(M, **_kw(kw, jtorch))
                assert_close(j, t, rtol=1e-5, atol=2e-6 if dtype == torch.float32 else 1e-12)


def test_exponential_center_and_default_dtype():
    t = torch.signal.windows.exponential(10, sym=False, center=3.5, tau=1.7)
    j = jtorch.signal.windows.exponential(10, sym=False, center=3.5, tau=1.7)
    assert_close(j, t, atol=1e-6)
    j = jtorch.signal.windows.hann(6, requires_grad=True)
    assert j.requires_grad and j.is_leaf and j.dtype == jtorch.float32


def test_kaiser_large_beta_float64():
    # float32 torch overflows i0(100) to nan here; in float64 both give the finite window
    t = torch.signal.windows.kaiser(12, beta=100.0, dtype=torch.float64)
    j = jtorch.signal.windows.kaiser(12, beta=100.0, dtype=jtorch.float64)
    assert_close(j, t, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("name", NAMES)
def test_window_errors(name):
    req = {"general_cosine": {"a": [0.5, 0.5]}}.get(name, {})
    cases = [((-1,), {}), ((3,), {"dtype": torch.int64}), ((3,), {"dtype": torch.float16}),
             ((3,), {"dtype": torch.bfloat16})]
    for args, kw in cases:
        with pytest.raises(ValueError):
            getattr(torch.signal.windows, name)(*args, **req, **kw)
        with pytest.raises(ValueError):
            getattr(jtorch.signal.windows, name)(*args, **req, **_kw(kw, jtorch))
    with pytest.raises(ValueError):
        getattr(torch.signal.windows, name)(3, layout=torch.sparse_coo, **req)
    with pytest.raises(ValueError):
        getattr(jtorch.signal.windows, name)(3, layout=jtorch.sparse_coo, **req)


@pytest.mark.parametrize("name, kw, exc", [
    ("exponential", {"tau": -1.0}, ValueError), ("exponential", {"center": 1.0, "sym": True}, ValueError),
    ("gaussian", {"std": -1.0}, ValueError), ("gaussian", {"std": 0.0}, ValueError),
    ("kaiser", {"beta": -1.0}, ValueError),
    ("general_cosine", {"a": None}, TypeError), ("general_cosine", {"a": []}, ValueError)])
def test_window_parameter_errors(name, kw, exc):
    with pytest.raises(exc):
        getattr(torch.signal.windows, name)(3, **kw)
    with pytest.raises(exc):
        getattr(jtorch.signal.windows, name)(3, **kw)

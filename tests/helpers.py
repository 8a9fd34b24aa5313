"""Oracle helpers: run the same inputs through real torch and jtorch and compare."""
import numpy as np
import torch

import jtorch


def to_np(t):
    if isinstance(t, torch.Tensor):
        t = t.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.cpu().numpy()
    if isinstance(t, jtorch.Tensor):
        t = t.detach()
        if t.dtype == jtorch.bfloat16:
            t = t.float()
        return np.asarray(t)
    return np.asarray(t)


def both(arr, requires_grad=False):
    """The same numpy array as a (torch, jtorch) tensor pair."""
    arr = np.asarray(arr)
    t = torch.from_numpy(arr.copy())
    j = jtorch.tensor(arr.copy())
    if requires_grad:
        t.requires_grad_(True)
        j.requires_grad_(True)
    return t, j


def same_dtype(t, j):
    return str(t.dtype).split(".")[-1] == str(j.dtype).split(".")[-1]


def assert_close(j, t, rtol=1e-5, atol=1e-6, check_dtype=True):
    """Compare a jtorch result with a torch result: shape, dtype, values (nested tuples too)."""
    if isinstance(t, (tuple, list)):
        assert len(j) == len(t), (len(j), len(t))
        for a, b in zip(j, t):
            assert_close(a, b, rtol, atol, check_dtype)
        return
    if isinstance(t, torch.Tensor):
        assert isinstance(j, jtorch.Tensor), type(j)
        assert tuple(j.shape) == tuple(t.shape), (tuple(j.shape), tuple(t.shape))
        if check_dtype:
            assert same_dtype(t, j), (t.dtype, j.dtype)
    else:
        assert not isinstance(j, jtorch.Tensor) or j.ndim == 0, type(j)
    a, b = to_np(j), to_np(t)
    if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)

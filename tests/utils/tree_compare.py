"""Compare nested batches (dicts, lists, tuples, namedtuples, tensors, strings) from jtorch and torch."""
import numpy as np
import torch

from helpers import assert_close


def assert_same_tree(j, t):
    if isinstance(t, torch.Tensor):
        assert_close(j, t)
    elif isinstance(t, dict):
        assert type(j).__name__ == type(t).__name__, (type(j), type(t))
        assert list(j) == list(t)
        for k in t:
            assert_same_tree(j[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(j).__name__ == type(t).__name__, (type(j), type(t))
        assert len(j) == len(t)
        for a, b in zip(j, t):
            assert_same_tree(a, b)
    elif isinstance(t, np.ndarray):
        assert type(j) is np.ndarray and j.dtype == t.dtype
        np.testing.assert_array_equal(j, t)
    else:
        assert type(j) is type(t) and j == t, (j, t)

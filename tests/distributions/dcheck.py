"""Oracle helpers for distributions: build the same distribution in torch and jtorch from numpy
parameters, compare closed forms by value and samples by statistics."""
import numpy as np
import torch

import jtorch
from tests.helpers import assert_close, to_np


def pair(name, params, grad=False):
    """(torch distribution, jtorch distribution, torch params, jtorch params) for the same numpy params.
    A param that is a Python number stays a number; numpy arrays become tensors."""
    tp, jp = {}, {}
    for k, v in params.items():
        if isinstance(v, np.ndarray):
            tp[k] = torch.tensor(v, requires_grad=grad and v.dtype.kind == "f")
            jp[k] = jtorch.tensor(v, requires_grad=grad and v.dtype.kind == "f")
        else:
            tp[k] = jp[k] = v
    td = getattr(torch.distributions, name)(**tp)
    jd = getattr(jtorch.distributions, name)(**jp)
    return td, jd, tp, jp


def compare_props(td, jd, props, rtol=1e-4, atol=1e-5):
    for p in props:
        t = getattr(td, p)
        j = getattr(jd, p)
        if callable(t):
            t, j = t(), j()
        assert_close(j, t, rtol=rtol, atol=atol), p


def compare_at(td, jd, method, value, rtol=1e-4, atol=1e-5):
    tv = torch.tensor(value)
    jv = jtorch.tensor(value)
    assert_close(getattr(jd, method)(jv), getattr(td, method)(tv), rtol=rtol, atol=atol)


def check_sample_stats(td, jd, n=20000, k=6.0, rsample=False):
    """jtorch samples: torch's shape and dtype, and sample mean within k standard errors of torch's mean
    (per batch element), sample variance within a loose band of torch's variance."""
    ts = td.sample((2,))
    js = (jd.rsample if rsample else jd.sample)((n,))
    assert tuple(js.shape) == (n,) + tuple(ts.shape[1:])
    assert str(js.dtype).split(".")[-1] == str(ts.dtype).split(".")[-1]
    s = to_np(js).astype(np.float64)
    mean = to_np(td.mean).astype(np.float64)
    var = to_np(td.variance).astype(np.float64)
    se = np.sqrt(var / n)
    np.testing.assert_array_less(np.abs(s.mean(0) - mean), k * se + 1e-6)
    rel = np.abs(s.var(0) - var) / np.maximum(var, 1e-12)
    assert rel.max() < 0.15, rel.max()
    return s

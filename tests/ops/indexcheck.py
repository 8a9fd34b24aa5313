"""Oracle runner for the indexing/sorting/manipulation tests: ``fn(torch, *tensors)`` and
``fn(jtorch, *tensors)`` on the same numpy inputs; compare outputs (values, shapes, dtypes,
named-tuple types), exceptions (type and message), and gradients of a fixed weighted sum."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close


def _pair(v, grad):
    if isinstance(v, np.ndarray):
        t, j = torch.from_numpy(v.copy()), jtorch.tensor(v.copy())
        if grad:
            t.requires_grad_(True)
            j.requires_grad_(True)
        return t, j
    return v, v


def _float_leaves(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _float_leaves(o)]
    return [out] if isinstance(out, (torch.Tensor, jtorch.Tensor)) and out.dtype.is_floating_point else []


def check(fn, *args, grad=(), rtol=1e-5, atol=1e-6):
    """Compare results (and, for inputs listed in ``grad``, gradients) of torch and jtorch."""
    pairs = [_pair(a, i in grad) for i, a in enumerate(args)]
    targs, jargs = [p[0] for p in pairs], [p[1] for p in pairs]
    rt, rj = fn(torch, *targs), fn(jtorch, *jargs)
    if isinstance(rt, tuple) and hasattr(rt, "_fields"):  # torch.return_types.*
        assert type(rj).__name__ == type(rt).__name__ and rj._fields == rt._fields
    assert_close(rj, rt, rtol=rtol, atol=atol)
    if grad:
        lt, lj = _float_leaves(rt), _float_leaves(rj)
        wrng = np.random.default_rng(0)
        loss_t = loss_j = 0
        for o_t, o_j in zip(lt, lj):
            if not o_t.requires_grad:
                continue
            w = wrng.standard_normal(tuple(o_t.shape)).astype(np.float32)
            loss_t = loss_t + (o_t * torch.tensor(w, dtype=o_t.dtype)).sum()
            loss_j = loss_j + (o_j * jtorch.tensor(w, dtype=o_j.dtype)).sum()
        gt = torch.autograd.grad(loss_t, [targs[i] for i in grad], allow_unused=True)
        gj = jtorch.autograd.grad(loss_j, [jargs[i] for i in grad], allow_unused=True)
        for a, b in zip(gj, gt):
            if b is None:
                assert a is None or not np.any(np.asarray(a))
            else:
                assert_close(a, b, rtol=1e-4, atol=1e-5)
    return rt, rj


def raises(fn, *args, match=True):
    """Both libraries raise the same exception type (and, with ``match``, the same message)."""
    targs = [torch.from_numpy(a.copy()) if isinstance(a, np.ndarray) else a for a in args]
    jargs = [jtorch.tensor(a.copy()) if isinstance(a, np.ndarray) else a for a in args]
    with pytest.raises(Exception) as et:
        fn(torch, *targs)
    with pytest.raises(Exception) as ej:
        fn(jtorch, *jargs)
    assert type(ej.value) is type(et.value), (ej.value, et.value)
    if match:
        assert str(ej.value) == str(et.value), (str(ej.value), str(et.value))

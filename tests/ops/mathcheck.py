"""Oracle runner for the math-op tests: the same numpy inputs through ``fn(torch, ...)`` and
``fn(jtorch, ...)``; compare outputs (values, shapes, dtypes) and the gradients of a random
weighted sum of the float outputs with respect to the chosen inputs."""
import numpy as np
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


def _resolved(out):
    """torch results with lazy conjugation/negation materialised (numpy() refuses those)."""
    if isinstance(out, torch.Tensor):
        return out.resolve_conj().resolve_neg()
    if isinstance(out, (tuple, list)):
        return type(out)(_resolved(o) for o in out) if not hasattr(out, "_fields") else type(out)(*map(_resolved, out))
    return out


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _leaves(o)]
    return [out]


def check(fn, *args, grad=(), rtol=1e-5, atol=1e-5, grtol=None, gatol=None, outputs=None, compare=True,
          check_dtype=True):
    """``grad``: indices of inputs whose gradients are compared. ``outputs``: indices of the
    (flattened) outputs that enter the loss (default: all float/complex ones)."""
    pairs = [_pair(a, i in grad) for i, a in enumerate(args)]
    targs, jargs = [p[0] for p in pairs], [p[1] for p in pairs]
    rt, rj = fn(torch, *targs), fn(jtorch, *jargs)
    if compare:
        assert_close(rj, _resolved(rt), rtol=rtol, atol=atol, check_dtype=check_dtype)
    if not grad:
        return rt, rj
    lt, lj = _leaves(rt), _leaves(rj)
    sel = range(len(lt)) if outputs is None else outputs
    wrng = np.random.default_rng(0)
    loss_t, loss_j = 0, 0
    for k in sel:
        o_t, o_j = lt[k], lj[k]
        if not (o_t.dtype.is_floating_point or o_t.dtype.is_complex) or not o_t.requires_grad:
            continue
        w = wrng.standard_normal(tuple(o_t.shape)).astype(np.float64)
        wt, wj = torch.tensor(w, dtype=o_t.real.dtype if o_t.is_complex() else o_t.dtype), \
            jtorch.tensor(w, dtype=jtorch.float64 if "64" in str(o_t.dtype) and "complex64" not in str(o_t.dtype)
                          else jtorch.float32)
        if o_t.is_complex():
            loss_t = loss_t + (o_t.abs() * wt).sum()
            loss_j = loss_j + (o_j.abs() * wj).sum()
        else:
            loss_t = loss_t + (o_t * wt).sum()
            loss_j = loss_j + (o_j * wj).sum()
    gt = torch.autograd.grad(loss_t, [targs[i] for i in grad])
    gj = jtorch.autograd.grad(loss_j, [jargs[i] for i in grad])
    for a, b in zip(gj, gt):
        if b._is_zerotensor():  # torch's lazily-zero gradients (e.g. of sign)
            b = torch.zeros(b.shape, dtype=b.dtype)
        b = b.resolve_conj().resolve_neg()
        assert_close(a, b, rtol=grtol or max(rtol, 1e-4), atol=gatol or max(atol, 1e-4))
    return rt, rj


def _attempt(fn, L, args):
    try:
        return fn(L, *args)
    except Exception as e:  # noqa: BLE001 - the outcome (value or exception) is what is compared
        return e


def outcome(fn, *args, grad=(), rtol=1e-5, atol=1e-5, **kw):
    """Like ``check``, but torch raising is a valid outcome: jtorch must then raise the same
    kind of exception (RuntimeError, TypeError, IndexError, ValueError)."""
    targs = [_pair(a, False)[0] for a in args]
    rt = _attempt(fn, torch, targs)
    if isinstance(rt, Exception):
        jargs = [_pair(a, False)[1] for a in args]
        rj = _attempt(fn, jtorch, jargs)
        assert isinstance(rj, Exception), f"torch raised {type(rt).__name__}: {rt}; jtorch returned {rj}"
        kind = next(k for k in (IndexError, TypeError, ValueError, RuntimeError, Exception) if isinstance(rt, k))
        assert isinstance(rj, kind), f"torch raised {type(rt).__name__}: {rt}; jtorch raised {type(rj).__name__}: {rj}"
        return rt, rj
    return check(fn, *args, grad=grad, rtol=rtol, atol=atol, **kw)

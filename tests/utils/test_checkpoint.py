"""torch.utils.checkpoint against torch: same outputs and gradients (inputs and parameters), both
use_reentrant variants, autograd.grad, double backward, RNG preservation, torch's errors and warnings,
the memory property (the segment's graph is not kept), and jtorch.compile."""
import gc
import warnings
import weakref

import numpy as np
import pytest
import torch

import jtorch
from jtorch.utils import checkpoint as jck
from tests.helpers import assert_close

F32 = np.float32


def _models(rng, dropout=0.0):
    def build(M):
        return M.nn.Sequential(M.nn.Linear(4, 8), M.nn.Tanh(), M.nn.Linear(8, 8), M.nn.GELU(), M.nn.Dropout(dropout),
                               M.nn.Linear(8, 3))
    torch.manual_seed(int(rng.integers(1 << 30)))
    tm = build(torch)
    jm = build(jtorch)
    jm.load_state_dict(tm.state_dict())
    return tm, jm


def _same(a, b, rtol=1e-5, atol=1e-6):
    """jtorch vs jtorch."""
    assert tuple(a.shape) == tuple(b.shape) and a.dtype == b.dtype
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)


def _grads(model):
    return [p.grad for p in model.parameters()]


@pytest.mark.parametrize("reentrant", [True, False])
def test_same_outputs_and_gradients_as_torch(reentrant, rng):
    tm, jm = _models(rng)
    x = rng.standard_normal((5, 4)).astype(F32)
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    ty = torch.utils.checkpoint.checkpoint(tm, tx, use_reentrant=reentrant)
    jy = jck.checkpoint(jm, jx, use_reentrant=reentrant)
    assert_close(jy, ty, rtol=1e-5, atol=1e-6)
    assert jy.requires_grad
    (ty.pow(2).sum()).backward()
    (jy.pow(2).sum()).backward()
    assert_close(jx.grad, tx.grad, rtol=1e-4, atol=1e-6)
    for j, t in zip(_grads(jm), _grads(tm)):
        assert_close(j, t, rtol=1e-4, atol=1e-6)


def test_non_reentrant_input_without_grad_and_autograd_grad(rng):
    tm, jm = _models(rng)
    x = rng.standard_normal((5, 4)).astype(F32)
    ty = torch.utils.checkpoint.checkpoint(tm, torch.tensor(x), use_reentrant=False)
    jy = jck.checkpoint(jm, jtorch.tensor(x), use_reentrant=False)
    tg = torch.autograd.grad(ty.sum(), list(tm.parameters()))
    jg = jtorch.autograd.grad(jy.sum(), list(jm.parameters()))
    for j, t in zip(jg, tg):
        assert_close(j, t, rtol=1e-4, atol=1e-6)
    assert all(p.grad is None for p in jm.parameters())  # autograd.grad does not accumulate


def test_closure_kwargs_tuple_outputs_and_double_backward(rng):
    w = rng.standard_normal((3, 3)).astype(F32)
    x = rng.standard_normal((2, 3)).astype(F32)

    def make(M, wt):
        def f(a, b, scale=1.0):
            h = (a @ wt).sin() * scale
            return h * b, (h.sum(), 7)
        return f

    tw, jw = torch.tensor(w, requires_grad=True), jtorch.tensor(w, requires_grad=True)
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    tb, jb = torch.tensor(x * 0.5), jtorch.tensor(x * 0.5)
    t1, (t2, tn) = torch.utils.checkpoint.checkpoint(make(torch, tw), tx, tb, use_reentrant=False, scale=2.0)
    j1, (j2, jn) = jck.checkpoint(make(jtorch, jw), jx, jb, use_reentrant=False, scale=2.0)
    assert jn == tn == 7
    assert_close(j1, t1, rtol=1e-5, atol=1e-6)
    # double backward through the checkpointed segment
    tgx, = torch.autograd.grad((t1 ** 2).sum() + t2, tx, create_graph=True)
    jgx, = jtorch.autograd.grad((j1 ** 2).sum() + j2, jx, create_graph=True)
    assert_close(jgx, tgx, rtol=1e-4, atol=1e-5)
    tgx.pow(2).sum().backward()
    jgx.pow(2).sum().backward()
    assert_close(jw.grad, tw.grad, rtol=1e-4, atol=1e-5)
    assert_close(jx.grad, tx.grad, rtol=1e-4, atol=1e-5)


def test_dropout_mask_is_preserved(rng):
    _, jm = _models(rng, dropout=0.5)
    x = jtorch.tensor(rng.standard_normal((16, 4)).astype(F32), requires_grad=True)
    jtorch.manual_seed(7)
    y1 = jck.checkpoint(jm, x, use_reentrant=False)
    after = jtorch.rand(3)  # the stream continues past the segment's draws
    y1.sum().backward()
    g1 = [g.clone() for g in _grads(jm)]
    gx1 = x.grad.clone()
    jm.zero_grad()
    x.grad = None
    jtorch.manual_seed(7)
    y2 = jm(x)
    assert bool((jtorch.rand(3) == after).all())  # backward's recomputation left the RNG where it was
    y2.sum().backward()
    _same(y1, y2)
    for a, b in zip(g1, _grads(jm)):
        _same(a, b)
    _same(gx1, x.grad)


def test_checkpoint_sequential(rng):
    tm, jm = _models(rng)
    x = rng.standard_normal((5, 4)).astype(F32)
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    ty = torch.utils.checkpoint.checkpoint_sequential(tm, 3, tx, use_reentrant=False)
    jy = jck.checkpoint_sequential(jm, 3, jx, use_reentrant=False)
    assert_close(jy, ty, rtol=1e-5, atol=1e-6)
    ty.sum().backward()
    jy.sum().backward()
    assert_close(jx.grad, tx.grad, rtol=1e-4, atol=1e-6)
    for j, t in zip(_grads(jm), _grads(tm)):
        assert_close(j, t, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError):
        jck.checkpoint_sequential(jm, 2, jx, use_reentrant=False, foo=1)
    assert jtorch.utils.checkpoint is jck


def test_segment_graph_is_not_kept():
    refs = []

    class Probe(jtorch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            refs.append(weakref.ref(ctx))
            return a * 2

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * 2

    def seg(x):
        return Probe.apply(x.sin()).cos()

    x = jtorch.randn(4, requires_grad=True)
    y = seg(x)
    gc.collect()
    assert refs[-1]() is not None  # without checkpointing the graph keeps the saved activations
    refs.clear()
    y = jck.checkpoint(seg, x, use_reentrant=False)
    gc.collect()
    assert len(refs) == 1 and refs[0]() is None  # checkpointed: nothing of the segment is kept
    y.sum().backward()
    assert len(refs) == 2  # recomputed in backward
    _same(x.grad, jtorch.autograd.grad(seg(x).sum(), x)[0])


def test_errors_and_warnings(rng):
    _, jm = _models(rng)
    x = jtorch.tensor(rng.standard_normal((2, 4)).astype(F32), requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant"):
        jck.checkpoint(jm, x)
    with pytest.raises(ValueError, match="Unexpected keyword"):
        jck.checkpoint(lambda a, b=1: a, x, use_reentrant=True, b=2)
    with pytest.raises(ValueError):
        jck.checkpoint(jm, x, use_reentrant=False, determinism_check="sometimes")
    with pytest.warns(UserWarning, match="None of the inputs"):
        y = jck.checkpoint(jm, x.detach(), use_reentrant=True)
    assert not y.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty = torch.utils.checkpoint.checkpoint(lambda a: a * 2, torch.ones(2), use_reentrant=True)
    assert not ty.requires_grad
    # the segment returns something else when recomputed: CheckpointError (a RuntimeError), as torch
    calls = []

    def flaky(a):
        calls.append(1)
        return a[: len(calls)] * 2

    y = jck.checkpoint(flaky, x, use_reentrant=False)
    with pytest.raises(jck.CheckpointError):
        y.sum().backward()
    assert issubclass(jck.CheckpointError, RuntimeError)
    # no_grad: just a call
    with jtorch.no_grad():
        assert not jck.checkpoint(jm, x, use_reentrant=False).requires_grad


def test_compiled_training_step_with_checkpoint(rng):
    _, jm = _models(rng, dropout=0.3)
    sd = {k: v.clone() for k, v in jm.state_dict().items()}
    x = jtorch.tensor(rng.standard_normal((8, 4)).astype(F32))
    opt = jtorch.optim.SGD(jm.parameters(), lr=0.1)

    def step(x, use_ck):
        opt.zero_grad()
        y = jck.checkpoint(jm, x, use_reentrant=False) if use_ck else jm(x)
        loss = y.pow(2).mean()
        loss.backward()
        opt.step()
        return loss

    results = []
    for use_ck in (True, False):
        jm.load_state_dict(sd)
        jtorch.manual_seed(3)
        f = jtorch.compile(step, fullgraph=True)
        results.append(([float(f(x, use_ck)) for _ in range(3)], [p.detach().clone() for p in jm.parameters()]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        _same(a, b)


@pytest.mark.parametrize("reentrant", [True, False])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_recompute_under_forward_autocast(reentrant, dtype, rng):
    """The segment ran inside autocast; backward runs outside it: the recomputation must run in the
    same autocast region (float16 matmuls), or it fails on mixed dtypes / gives other gradients."""
    tm, jm = _models(rng)
    x = rng.standard_normal((5, 4)).astype(F32)
    outs = []
    for M, m in ((torch, tm), (jtorch, jm)):
        xi = M.tensor(x, requires_grad=True)
        with M.autocast("cpu", dtype=getattr(M, dtype)):
            y = M.utils.checkpoint.checkpoint(m, xi, use_reentrant=reentrant)
            loss = y.float().pow(2).sum()
        loss.backward()
        outs.append((y, xi.grad, [p.grad for p in m.parameters()]))
        assert not M.is_autocast_enabled("cpu")
    (ty, tg, tpg), (jy, jg, jpg) = outs
    assert jy.dtype == jtorch.float16 if dtype == "float16" else jy.dtype == jtorch.bfloat16
    assert_close(jy, ty, rtol=1e-2, atol=1e-2)
    assert_close(jg, tg, rtol=2e-2, atol=2e-2)
    for a, b in zip(jpg, tpg):
        assert_close(a, b, rtol=2e-2, atol=2e-2)

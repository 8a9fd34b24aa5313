"""torch.autograd.forward_ad: dual tensors through ops, views, in-place writes and modules, against torch;
its errors; the dispatch wrappers exist only inside a dual level."""
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import jtorch
import jtorch.autograd.forward_ad as jfw
from jtorch import _dispatch


def _run(m, fw, fn, *arrays):
    with fw.dual_level():
        duals = [fw.make_dual(m.from_numpy(p), m.from_numpy(t)) for p, t in arrays]
        out = fn(m, *duals)
        p, t = fw.unpack_dual(out)
        return p.detach().numpy(), None if t is None else t.detach().numpy()


CASES = {
    "pointwise": lambda m, x: (x ** 2 + x.sin() * x.exp()) / (1 + x.abs()),
    "pow_negative_base": lambda m, x: x ** 3 - 2 ** x,
    "reductions": lambda m, x: m.stack([x.sum(), x.prod(), x.logsumexp((0, 1)), x.norm(), x.max(), x.var()]),
    "matmul_softmax": lambda m, x: m.nn.functional.softmax(x @ x.t(), dim=1),
    "views": lambda m, x: x.t()[1:, ::2].reshape(-1).unsqueeze(0).expand(3, -1) * x.flatten()[:4],
    "cat_stack_where": lambda m, x: m.where(x > 0, m.cat([x, x.cos()], 0)[:4], x.tanh()),
    "inplace": lambda m, x: x.clone().mul_(3).add_(x.exp()),
    "setitem": lambda m, x: _setitem(x),
    "max_dim": lambda m, x: x.max(dim=1).values[:3] + x.sort(dim=0).values[0],
}


def _setitem(x):
    z = x.clone()
    z[0] = z[0] * z[1]
    z[:, 1] = 2.0
    return z


@pytest.mark.parametrize("name", sorted(CASES))
def test_dual_tensors_match_torch(name, rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    v = rng.standard_normal((4, 3)).astype(np.float32)
    tp, tt = _run(torch, tfw, CASES[name], (x, v))
    jp, jt = _run(jtorch, jfw, CASES[name], (x, v))
    np.testing.assert_allclose(jp, tp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jt, tt, rtol=1e-4, atol=1e-5)


def test_module_parameters_dual_like_torch(rng):
    ws = [rng.standard_normal(s).astype(np.float32) for s in [(6, 4), (6,), (2, 6), (2,)]]
    ts = [rng.standard_normal(w.shape).astype(np.float32) for w in ws]
    x = rng.standard_normal((5, 4)).astype(np.float32)
    outs = []
    for m, fw in ((torch, tfw), (jtorch, jfw)):
        model = m.nn.Sequential(m.nn.Linear(4, 6), m.nn.Tanh(), m.nn.Linear(6, 2))
        names = [n for n, _ in model.named_parameters()]
        with fw.dual_level():
            params = {n: fw.make_dual(m.from_numpy(w), m.from_numpy(t)) for n, w, t in zip(names, ws, ts)}
            out = m.func.functional_call(model, params, (m.from_numpy(x),))
            outs.append(fw.unpack_dual(out).tangent.detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-4, atol=1e-5)


def test_backward_through_tangents_like_torch(rng):
    a = rng.standard_normal(5).astype(np.float32)
    grads = []
    for m, fw in ((torch, tfw), (jtorch, jfw)):
        x = m.from_numpy(a.copy()).requires_grad_()
        with fw.dual_level():
            d = fw.make_dual(x, m.ones(5))
            p, t = fw.unpack_dual((d.sin() * d).sum())
            (p + t).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5)


def test_errors_like_torch():
    for m, fw in ((torch, tfw), (jtorch, jfw)):
        with pytest.raises(RuntimeError, match="no level exists"):
            fw.make_dual(m.ones(3), m.ones(3))
        with fw.dual_level():
            with pytest.raises(RuntimeError, match="different size"):
                fw.make_dual(m.ones(3), m.ones(4))
            with pytest.raises(ValueError, match="primal to be floating point"):
                fw.make_dual(m.arange(3), m.ones(3))
            with pytest.raises(ValueError, match="tangent to be floating point"):
                fw.make_dual(m.ones(3), m.arange(3))
            with pytest.raises(RuntimeError, match="Nested forward mode AD"):
                fw.enter_dual_level()
            d = fw.make_dual(m.ones(3), m.ones(3))
            assert fw.unpack_dual(m.ones(2)).tangent is None
            assert fw.unpack_dual(d.argmax()).tangent is None
            assert type(fw.unpack_dual(d)).__name__ == "UnpackedDualTensor"
        assert fw.unpack_dual(d).tangent is None  # dropped with the level


def test_wrappers_only_inside_a_level():
    apply, view, write = _dispatch.apply, _dispatch._apply_view, _dispatch.Tensor._write
    with jfw.dual_level():
        assert _dispatch.apply is not apply and _dispatch._apply_view is not view
    assert (_dispatch.apply, _dispatch._apply_view, _dispatch.Tensor._write) == (apply, view, write)

"""Ops on nested tensors (pointwise, linear maps, softmax, norms, reductions, shape ops) and their
gradients, against torch."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from nested_check import components, pair, assert_nested_same, raises_same

LAYOUTS = ["jagged", "strided"]


def leaf_pair(rng, layout="jagged", **kw):
    return pair(components(rng, **kw), layout, requires_grad=True)


def backward_both(t_out, j_out, rng):
    """A random weighting of the padded outputs, summed and differentiated in both."""
    tp, jp = t_out.to_padded_tensor(0.0), j_out.to_padded_tensor(0.0)
    w = rng.standard_normal(tuple(tp.shape)).astype(np.float32)
    (tp * torch.tensor(w)).sum().backward()
    (jp * jtorch.tensor(w)).sum().backward()


# (torch's strided layout has no exp, tanh, sqrt kernels: those run on the jagged layout only)
@pytest.mark.parametrize("layout,name", [(lay, n) for lay in LAYOUTS for n in ("sin", "abs", "neg", "relu", "cos")]
                         + [("jagged", n) for n in ("exp", "tanh", "sqrt")])
def test_unary_methods(rng, layout, name):
    t, j = leaf_pair(rng, layout)
    if name == "sqrt":
        t, j = t.abs(), j.abs()
    to, jo = getattr(t, name)(), getattr(j, name)()
    assert_nested_same(jo, to)
    backward_both(to, jo, rng)
    if name != "sqrt":
        assert_nested_same(j.grad, t.grad)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fn", ["relu", "gelu", "silu", "gelu_tanh"])
def test_activations(rng, layout, fn):
    t, j = leaf_pair(rng, layout)
    F, JF = torch.nn.functional, jtorch.nn.functional
    if fn == "gelu_tanh":
        to, jo = F.gelu(t, approximate="tanh"), JF.gelu(j, approximate="tanh")
    else:
        to, jo = getattr(F, fn)(t), getattr(JF, fn)(j)
    assert_nested_same(jo, to)
    backward_both(to, jo, rng)
    assert_nested_same(j.grad, t.grad)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_binary_with_scalars_and_nested(rng, layout):
    t, j = pair(components(rng), layout)
    assert_nested_same(j * 2.5, t * 2.5)
    assert_nested_same(j + 1, t + 1)
    assert_nested_same(j / 4, t / 4)
    assert_nested_same(j - j.abs(), t - t.abs())
    assert_nested_same(j * j.cos(), t * t.cos())
    assert_nested_same(j > 0, t > 0)
    assert_nested_same(j.to(jtorch.float64), t.to(torch.float64))
    assert_nested_same(j.double(), t.double())
    assert_nested_same(j.clone(), t.clone())
    assert_nested_same(j.detach(), t.detach())
    if layout == "jagged":  # (ops torch has only for the jagged layout)
        assert_nested_same(2 - j, 2 - t)
        assert_nested_same(j ** 2, t ** 2)
        assert_nested_same(j.sigmoid(), t.sigmoid())
        assert_nested_same(jtorch.where(j > 0, j, 0.0), torch.where(t > 0, t, 0.0))
        assert_nested_same(j.masked_fill(j > 0, -1.0), t.masked_fill(t > 0, -1.0))


@pytest.mark.parametrize("shape", [(4,), (1, 4), (3, 1, 4), (1, 1, 4)])
def test_binary_with_dense_broadcast(rng, shape):
    t, j = leaf_pair(rng)
    d = rng.standard_normal(shape).astype(np.float32)
    td, jd = torch.tensor(d, requires_grad=True), jtorch.tensor(d, requires_grad=True)
    to, jo = t * td + td, j * jd + jd
    assert_nested_same(jo, to)
    backward_both(to, jo, rng)
    assert_nested_same(j.grad, t.grad)
    assert_close(jd.grad, td.grad, rtol=1e-4, atol=1e-5)


def test_binary_with_per_component_scalars(rng):
    # (B, 1, 1): one number per component (torch has no backward to such a dense operand)
    t, j = pair(components(rng))
    d = rng.standard_normal((3, 1, 1)).astype(np.float32)
    assert_nested_same(j * jtorch.tensor(d) - jtorch.tensor(d), t * torch.tensor(d) - torch.tensor(d))


def test_strided_binary_ops_match_by_sizes(rng):
    # (the strided layout compares component sizes; the jagged one, where the ragged size came from)
    comps = components(rng)
    t, j = pair(comps, "strided")
    t2, j2 = pair([np.ascontiguousarray(c[::-1]) for c in comps], "strided")
    assert_nested_same(j * j2, t * t2)
    t3, j3 = pair(components(rng, lengths=(2, 4, 3)), "strided")
    raises_same(lambda: j + j3, lambda: t + t3)


def test_binary_errors(rng):
    t, j = pair(components(rng))
    t2, j2 = pair(components(rng))
    raises_same(lambda: j * j2, lambda: t * t2)
    d = rng.standard_normal((3, 2, 4)).astype(np.float32)  # a size along the ragged dim
    raises_same(lambda: j + jtorch.tensor(d), lambda: t + torch.tensor(d))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_linear_and_grads(rng, layout):
    t, j = leaf_pair(rng, layout)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    tw, jw = torch.tensor(w, requires_grad=True), jtorch.tensor(w, requires_grad=True)
    tb, jb = torch.tensor(b, requires_grad=True), jtorch.tensor(b, requires_grad=True)
    to = torch.nn.functional.linear(t, tw, tb)
    jo = jtorch.nn.functional.linear(j, jw, jb)
    assert_nested_same(jo, to, rtol=1e-4, atol=1e-5)
    backward_both(to, jo, rng)
    assert_nested_same(j.grad, t.grad, rtol=1e-4, atol=1e-5)
    assert_close(jw.grad, tw.grad, rtol=1e-4, atol=1e-5)
    assert_close(jb.grad, tb.grad, rtol=1e-4, atol=1e-5)
    # nn.Linear on a nested input
    torch.manual_seed(0)
    lt = torch.nn.Linear(4, 3)
    lj = jtorch.nn.Linear(4, 3)
    lj.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in lt.state_dict().items()})
    assert_nested_same(lj(j), lt(t), rtol=1e-4, atol=1e-5)


def test_matmul_and_bmm(rng):
    t, j = leaf_pair(rng)
    w = rng.standard_normal((4, 6)).astype(np.float32)
    tw, jw = torch.tensor(w, requires_grad=True), jtorch.tensor(w, requires_grad=True)
    to, jo = t @ tw, j @ jw
    assert_nested_same(jo, to, rtol=1e-4, atol=1e-5)
    backward_both(to, jo, rng)
    assert_close(jw.grad, tw.grad, rtol=1e-4, atol=1e-5)
    assert_nested_same(j.grad, t.grad, rtol=1e-4, atol=1e-5)
    m = rng.standard_normal((3, 4, 2)).astype(np.float32)
    assert_nested_same(jtorch.bmm(j, jtorch.tensor(m)), torch.bmm(t, torch.tensor(m)), rtol=1e-4, atol=1e-5)
    raises_same(lambda: jtorch.matmul(j, j.transpose(1, 2)), lambda: torch.matmul(t, t.transpose(1, 2)))
    ts, js = pair(components(rng), "strided")
    raises_same(lambda: js @ jtorch.tensor(w), lambda: ts @ torch.tensor(w))
    assert_nested_same(jtorch.bmm(js, jtorch.tensor(m)), torch.bmm(ts, torch.tensor(m)), rtol=1e-4, atol=1e-5)
    per = [rng.standard_normal((4, 2)).astype(np.float32) for _ in range(3)]
    tm, jm = pair(per, "strided")
    assert_nested_same(jtorch.matmul(js, jm), torch.matmul(ts, tm), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_softmax_last_dim(rng, layout):
    t, j = leaf_pair(rng, layout)
    F, JF = torch.nn.functional, jtorch.nn.functional
    to, jo = F.softmax(t, -1), JF.softmax(j, -1)
    assert_nested_same(jo, to)
    backward_both(to, jo, rng)
    assert_nested_same(j.grad, t.grad, rtol=1e-4, atol=1e-5)
    raises_same(lambda: JF.softmax(j, 0), lambda: F.softmax(t, 0))
    if layout == "jagged":
        assert_nested_same(JF.log_softmax(j, -1), F.log_softmax(t, -1))
    else:
        raises_same(lambda: JF.log_softmax(j, -1), lambda: F.log_softmax(t, -1))


def per_component_grads(comps, fn, w):
    """torch's gradients of sum(fn(c) * w_b) for each dense component: the oracle where torch's nested
    backward is missing or wrong."""
    out = []
    for c, wb in zip(comps, w):
        c = torch.tensor(c, requires_grad=True)
        (fn(c) * torch.tensor(wb)).sum().backward()
        out.append(c.grad)
    return out


def test_softmax_over_ragged_dim(rng):
    comps = components(rng)
    t, j = pair(comps, requires_grad=True)
    to, jo = torch.softmax(t, 1), jtorch.softmax(j, 1)
    assert_nested_same(jo, to)
    # (torch 2.13's backward of a jagged softmax over the ragged dim is wrong: its per-component
    # gradients do not even sum to zero along the softmax dim; the oracle is the dense softmax per component)
    w = [rng.standard_normal(c.shape).astype(np.float32) for c in comps]
    sum((o * jtorch.tensor(wb)).sum() for o, wb in zip(jo.unbind(), w)).backward()
    assert_close(list(j.grad.unbind()), per_component_grads(comps, lambda c: torch.softmax(c, 0), w),
                 rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layer_norm(rng, layout):
    t, j = leaf_pair(rng, layout)
    w, b = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    tw, jw = torch.tensor(w, requires_grad=True), jtorch.tensor(w, requires_grad=True)
    tb, jb = torch.tensor(b, requires_grad=True), jtorch.tensor(b, requires_grad=True)
    F, JF = torch.nn.functional, jtorch.nn.functional
    to, jo = F.layer_norm(t, (4,), tw, tb), JF.layer_norm(j, (4,), jw, jb)
    assert_nested_same(jo, to, rtol=1e-4, atol=1e-5)
    backward_both(to, jo, rng)
    assert_nested_same(j.grad, t.grad, rtol=1e-4, atol=1e-4)
    assert_close(jw.grad, tw.grad, rtol=1e-4, atol=1e-4)
    assert_close(jb.grad, tb.grad, rtol=1e-4, atol=1e-4)
    if layout == "strided":
        raises_same(lambda: JF.layer_norm(j, (4,)), lambda: F.layer_norm(t, (4,)))
    else:
        assert_nested_same(JF.layer_norm(j, (4,)), F.layer_norm(t, (4,)), rtol=1e-4, atol=1e-5)
        raises_same(lambda: JF.layer_norm(j, (3, 4)), lambda: F.layer_norm(t, (3, 4)))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dropout(rng, layout):
    t, j = pair(components(rng), layout)
    F, JF = torch.nn.functional, jtorch.nn.functional
    assert_nested_same(JF.dropout(j, 0.5, training=False), F.dropout(t, 0.5, training=False))
    out = JF.dropout(j, 0.5, training=True)
    assert out.is_nested and out.layout == j.layout
    for a, x in zip(out.unbind(), j.unbind()):  # each element dropped or scaled by 1 / (1 - p)
        a, x = np.asarray(a), np.asarray(x)
        assert np.all(np.isclose(a, 0) | np.isclose(a, 2 * x))
    # with autograd: the gradient is the same mask, scaled
    j.requires_grad_()
    out = jtorch.nn.Dropout(0.5)(j)
    (out * 3).to_padded_tensor(0.0).sum().backward()
    for g, a in zip(j.grad.unbind(), out.unbind()):
        np.testing.assert_allclose(np.asarray(g), np.where(np.asarray(a.detach()) != 0, 6.0, 0.0))


def test_reductions_jagged(rng):
    t, j = leaf_pair(rng)
    for dim, keep in [(-1, False), (-1, True), (2, False)]:
        assert_nested_same(j.sum(dim, keepdim=keep), t.sum(dim, keepdim=keep))
        assert_nested_same(j.mean(dim, keepdim=keep), t.mean(dim, keepdim=keep))
    assert_nested_same(j.amax(-1), t.amax(-1))
    assert_nested_same(j.argmax(-1), t.argmax(-1))
    assert_close(j.sum(1), t.sum(1), rtol=1e-5, atol=1e-5)  # over the ragged dim: dense (B, D)
    assert_close(j.mean(1), t.mean(1), rtol=1e-5, atol=1e-5)
    assert_close(j.sum(), t.sum(), rtol=1e-5, atol=1e-5)
    assert_close(j.mean(), t.mean(), rtol=1e-5, atol=1e-5)
    # (torch has no backward for a jagged mean(-1): aten._nested_sum_backward; dense per component instead)
    comps = [np.asarray(c) for c in j.detach().unbind()]
    w = [rng.standard_normal(c.shape[:1]).astype(np.float32) for c in comps]
    sum((o * jtorch.tensor(wb)).sum() for o, wb in zip(j.mean(-1).unbind(), w)).backward()
    assert_close(list(j.grad.unbind()), per_component_grads(comps, lambda c: c.mean(-1), w))
    j.grad = None
    wd = rng.standard_normal((3, 4)).astype(np.float32)
    (j.sum(1) * jtorch.tensor(wd)).sum().backward()
    assert_close(list(j.grad.unbind()), per_component_grads(comps, lambda c: c.sum(0), wd))
    raises_same(lambda: j.sum(0), lambda: t.sum(0))
    raises_same(lambda: j.sum((1, 2)), lambda: t.sum((1, 2)))


def test_reductions_strided(rng):
    t, j = pair(components(rng), "strided")
    assert_nested_same(j.sum(-1, keepdim=True), t.sum(-1, keepdim=True))
    raises_same(lambda: j.sum(-1), lambda: t.sum(-1))
    raises_same(lambda: j.sum(1, keepdim=True), lambda: t.sum(1, keepdim=True))
    raises_same(lambda: j.mean(-1, keepdim=True), lambda: t.mean(-1, keepdim=True))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_transpose_chunk_split(rng, layout):
    t, j = leaf_pair(rng, layout, inner=(6,))
    tt, jt = t.transpose(1, 2), j.transpose(1, 2)
    assert_nested_same(jt, tt, padded=layout == "jagged")  # (torch pads no non-contiguous strided tensor)
    assert jt.is_contiguous() == tt.is_contiguous()
    assert_nested_same(jt.contiguous(), tt.contiguous())
    assert jt.contiguous().is_contiguous()
    tc, jc = torch.chunk(t, 3, dim=-1), jtorch.chunk(j, 3, dim=-1)
    assert len(jc) == len(tc) == 3
    for a, b in zip(jc, tc):
        assert_nested_same(a, b, padded=layout == "jagged")
    ts, js = t.split([2, 4], -1), j.split([2, 4], -1)
    for a, b in zip(js, ts):
        assert_nested_same(a, b, padded=layout == "jagged")
    raises_same(lambda: j.chunk(2, 1), lambda: t.chunk(2, 1))
    raises_same(lambda: jt + jc[1], lambda: tt + tc[1])  # (B, 6, j) + (B, j, 2)
    if layout == "jagged":
        assert_nested_same(jc[0].sin() + jc[1], tc[0].sin() + tc[1])  # chunks share the structure
        assert_nested_same(jt.sin() * jtorch.tensor(1.5), tt.sin() * torch.tensor(1.5))
        assert_nested_same(j.split(4, -1)[0], t.split(4, -1)[0])
        raises_same(lambda: j.transpose(0, 1), lambda: t.transpose(0, 1))
        assert_nested_same(j.unflatten(-1, [2, 3]), t.unflatten(-1, [2, 3]))
        assert_nested_same(j.unflatten(-1, [2, 3]).transpose(1, 2).transpose(1, 2).flatten(-2), t)
        raises_same(lambda: j.flatten(-2), lambda: t.flatten(-2))
        assert_nested_same(j.unsqueeze(-1), t.unsqueeze(-1))
        assert_nested_same(j.unsqueeze(-1).squeeze(-1), t.unsqueeze(-1).squeeze(-1))
        assert_nested_same(j.permute(0, 2, 1), t.permute(0, 2, 1))
        assert_nested_same(j.view(3, -1, 2, 3), t.view(3, -1, 2, 3))
        assert_nested_same(j.narrow(2, 1, 2), t.narrow(2, 1, 2))
        raises_same(lambda: j.squeeze(0), lambda: t.squeeze(0))
    else:
        raises_same(lambda: j.split(2, -1), lambda: t.split(2, -1))


def test_cat_last_dim(rng):
    t, j = pair(components(rng))
    assert_nested_same(jtorch.cat([j, j.cos()], -1), torch.cat([t, t.cos()], -1))


def test_inplace(rng):
    t, j = pair(components(rng))
    t.mul_(2)
    j.mul_(2)
    assert_nested_same(j, t)
    t.exp_()
    j.exp_()
    assert_nested_same(j, t)
    t, j = leaf_pair(rng)
    raises_same(lambda: j.mul_(2), lambda: t.mul_(2))


def test_unsupported_ops_raise_torchs_error(rng):
    for layout in LAYOUTS:
        t, j = pair(components(rng), layout)
        raises_same(lambda: j.var(-1), lambda: t.var(-1))
        raises_same(lambda: j.t(), lambda: t.t())
        raises_same(lambda: j.mm(jtorch.randn(4, 2)), lambda: t.mm(torch.randn(4, 2)))

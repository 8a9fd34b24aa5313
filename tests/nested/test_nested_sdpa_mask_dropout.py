"""scaled_dot_product_attention on nested tensors beyond the plain call (test_nested_mha.py): attn_mask
(torch 2.13 takes none for nested inputs: the same errors), key and value built separately, and dropout
with autograd (random: structure against torch, the gradient against the forward's own mask by finite
differences, p=0 and p=1 against torch)."""
import numpy as np
import torch

import jtorch
from helpers import assert_close
from nested_check import assert_nested_same, components, pair, raises_same

F, JF = torch.nn.functional, jtorch.nn.functional


def qkv_pair(rng, lengths=(3, 5, 2), H=2, D=4, requires_grad=False, layout="jagged"):
    """(B, H, j, D) nested query-like tensors in torch and jtorch (leaves first, then the transposed views)."""
    t0, j0 = pair(components(rng, lengths=lengths, inner=(H, D)), layout=layout, requires_grad=requires_grad)
    return t0, j0, t0.transpose(1, 2), j0.transpose(1, 2)


def test_attn_mask_raises_like_torch(rng):
    _, _, t, j = qkv_pair(rng)
    L = 5
    masks = [np.ones((1, 1, 1, 1), bool), rng.standard_normal((3, 2, L, L)).astype(np.float32),
             rng.random((L, L)) > 0.3]
    for m in masks:
        e = raises_same(lambda: JF.scaled_dot_product_attention(j, j, j, attn_mask=jtorch.tensor(m)),
                        lambda: F.scaled_dot_product_attention(t, t, t, attn_mask=torch.tensor(m)))
        assert type(e) is ValueError and "Masks are not yet supported" in str(e)
    # a mask and is_causal together: the mask's error first, as in torch
    m = np.ones((1, 1, 1, 1), bool)
    raises_same(lambda: JF.scaled_dot_product_attention(j, j, j, attn_mask=jtorch.tensor(m), is_causal=True),
                lambda: F.scaled_dot_product_attention(t, t, t, attn_mask=torch.tensor(m), is_causal=True))
    # (B, j, H, D): the ragged dim is a batch dim, still no mask
    t0, j0, _, _ = qkv_pair(rng)
    raises_same(lambda: JF.scaled_dot_product_attention(j0, j0, j0, attn_mask=jtorch.ones(2, 2, dtype=jtorch.bool)),
                lambda: F.scaled_dot_product_attention(t0, t0, t0, attn_mask=torch.ones(2, 2, dtype=torch.bool)))
    # the strided layout: torch's RuntimeError
    _, _, ts, js = qkv_pair(rng, layout="strided")
    raises_same(lambda: JF.scaled_dot_product_attention(js, js, js, attn_mask=jtorch.tensor(m)),
                lambda: F.scaled_dot_product_attention(ts, ts, ts, attn_mask=torch.tensor(m)))


def test_dense_query_with_nested_key_raises_like_torch(rng):
    _, _, t, j = qkv_pair(rng, lengths=(3, 3))
    qd = rng.standard_normal((2, 2, 3, 4)).astype(np.float32)
    e = raises_same(lambda: JF.scaled_dot_product_attention(jtorch.tensor(qd), j, j),
                    lambda: F.scaled_dot_product_attention(torch.tensor(qd), t, t))
    assert type(e) is ValueError


def test_key_and_value_built_separately(rng):
    # torch compares the components' lengths, not the ragged size's identity
    lengths = (4, 2, 5)
    tq0, jq0, tq, jq = qkv_pair(rng, lengths=(3, 1, 2), requires_grad=True)
    tk0, jk0, tk, jk = qkv_pair(rng, lengths=lengths, requires_grad=True)
    tv0, jv0, tv, jv = qkv_pair(rng, lengths=lengths, requires_grad=True)
    to = F.scaled_dot_product_attention(tq, tk, tv)
    jo = JF.scaled_dot_product_attention(jq, jk, jv)
    assert_nested_same(jo, to, rtol=1e-4, atol=1e-5)
    w = rng.standard_normal(tuple(to.values().shape)).astype(np.float32)
    (to.values() * torch.tensor(w)).sum().backward()
    (jo.values() * jtorch.tensor(w)).sum().backward()
    for a, b in ((jq0, tq0), (jk0, tk0), (jv0, tv0)):
        assert_close(a.grad.values(), b.grad.values(), rtol=1e-4, atol=1e-5)
    # different lengths: both raise RuntimeError
    _, _, tv2, jv2 = qkv_pair(rng, lengths=(4, 3, 5))
    raises_same(lambda: JF.scaled_dot_product_attention(jq, jk, jv2),
                lambda: F.scaled_dot_product_attention(tq, tk, tv2))


def _dropout_run(mod, seed, x, p, transpose=True):
    mod.manual_seed(seed)
    q = x.transpose(1, 2) if transpose else x
    return mod.nn.functional.scaled_dot_product_attention(q, q, q, dropout_p=p)


def test_dropout_with_autograd_structure_like_torch(rng):
    for transpose in (True, False):  # (B, H, j, D) and (B, j, H, D)
        t0, j0, _, _ = qkv_pair(rng, requires_grad=True)
        to, jo = _dropout_run(torch, 0, t0, 0.4, transpose), _dropout_run(jtorch, 0, j0, 0.4, transpose)
        assert jo.is_nested and str(jo.layout) == str(to.layout) and jo._ragged_idx == to._ragged_idx
        assert jo.requires_grad and to.requires_grad and jo.grad_fn is not None
        assert [tuple(c.shape) for c in jo.unbind()] == [tuple(c.shape) for c in to.unbind()]
        jo.values().pow(2).sum().backward()
        g = np.asarray(j0.grad.values())
        assert g.shape == tuple(t0.values().shape) and np.isfinite(g).all() and np.abs(g).sum() > 0
        # the same seed draws the same mask; another seed another one
        with jtorch.no_grad():
            a = np.asarray(_dropout_run(jtorch, 0, j0, 0.4, transpose).values())
            b = np.asarray(_dropout_run(jtorch, 0, j0, 0.4, transpose).values())
            c = np.asarray(_dropout_run(jtorch, 1, j0, 0.4, transpose).values())
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, np.asarray(jo.values().detach()), rtol=1e-6, atol=1e-6)
        assert not np.allclose(a, c)


def test_dropout_gradient_uses_the_forward_mask(rng):
    # with the seed fixed the output is a smooth function of the input: the backward must differentiate the
    # forward's own mask (a redrawn mask would fail this directional-derivative check)
    comps = components(rng, lengths=(3, 5, 2), inner=(2, 4), dtype=np.float64)
    j0 = jtorch.nested.nested_tensor([jtorch.tensor(c) for c in comps], layout=jtorch.jagged, requires_grad=True)
    w = jtorch.tensor(rng.standard_normal((10, 2, 4)))
    d = jtorch.tensor(rng.standard_normal((10, 2, 4)))

    def loss(values):
        x = jtorch.nested.nested_tensor_from_jagged(values, j0.offsets())
        return (_dropout_run(jtorch, 7, x, 0.5).transpose(1, 2).values() * w).sum()

    (_dropout_run(jtorch, 7, j0, 0.5).transpose(1, 2).values() * w).sum().backward()
    eps = 1e-6
    with jtorch.no_grad():
        v = j0.values()
        fd = (loss(v + eps * d) - loss(v - eps * d)) / (2 * eps)
    np.testing.assert_allclose(float((j0.grad.values() * d).sum()), float(fd), rtol=1e-6, atol=1e-8)


def test_dropout_p_zero_and_one_like_torch(rng):
    for p in (0.0, 1.0):
        t0, j0, _, _ = qkv_pair(rng, requires_grad=True)
        to, jo = _dropout_run(torch, 0, t0, p), _dropout_run(jtorch, 0, j0, p)
        assert_nested_same(jo, to, rtol=1e-4, atol=1e-5)
        w = rng.standard_normal(tuple(to.values().shape)).astype(np.float32)
        (to.values() * torch.tensor(w)).sum().backward()
        (jo.values() * jtorch.tensor(w)).sum().backward()
        assert_close(j0.grad.values(), t0.grad.values(), rtol=1e-4, atol=1e-5)


def test_nested_mha_module_trains_with_dropout(rng):
    # nn.MultiheadAttention-like use: projections + SDPA dropout in training, gradients reach the weights
    E, H = 8, 2
    lin = jtorch.nn.Linear(E, 3 * E)
    comps = components(rng, lengths=(3, 6, 1), inner=(E,))
    x = jtorch.nested.nested_tensor([jtorch.tensor(c) for c in comps], layout=jtorch.jagged)
    q, k, v = jtorch.chunk(lin(x), 3, dim=-1)
    q, k, v = (t.unflatten(-1, [H, E // H]).transpose(1, 2) for t in (q, k, v))
    jtorch.manual_seed(0)
    out = JF.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    out.transpose(1, 2).flatten(-2).values().sum().backward()
    assert lin.weight.grad is not None and np.isfinite(np.asarray(lin.weight.grad)).all()
    assert np.abs(np.asarray(lin.weight.grad)).sum() > 0


def test_strided_layout_attention(rng):
    # (B, H, j, D) components given directly: torch's strided kernel takes them (contiguous)
    comps = components(rng, lengths=(3, 5), inner=(2, 4), ragged=1)
    t, j = pair(comps, layout="strided")
    assert_nested_same(JF.scaled_dot_product_attention(j, j, j, scale=0.7),
                       F.scaled_dot_product_attention(t, t, t, scale=0.7), rtol=1e-4, atol=1e-5, padded=False)
    m = np.ones((1, 1, 1, 1), bool)
    e = raises_same(lambda: JF.scaled_dot_product_attention(j, j, j, attn_mask=jtorch.tensor(m)),
                    lambda: F.scaled_dot_product_attention(t, t, t, attn_mask=torch.tensor(m)))
    assert "attn_mask" in str(e)

"""The nested-tensor tutorial's pattern: multi-head attention over variable-length sequences, built
from nn.Linear and scaled_dot_product_attention on jagged tensors, against torch (outputs, gradients
of the input components and of the weights), and nested SDPA itself."""
import numpy as np
import torch

import jtorch
from helpers import assert_close
from nested_check import assert_nested_same, components, pair, raises_same


def make_mha(T, contiguous=False):
    """The tutorial's MultiHeadAttention, written against the torch-like namespace ``T``. (``contiguous``:
    torch's CPU attention has no kernel for the non-contiguous chunks of the packed projection, which
    its GPU kernels take; the torch oracle copies them.)"""
    nn, F = T.nn, T.nn.functional

    class MultiHeadAttention(nn.Module):
        def __init__(self, E_q, E_k, E_v, E_total, nheads, dropout=0.0, bias=True):
            super().__init__()
            self.nheads = nheads
            self.dropout = dropout
            self._qkv_same_embed_dim = E_q == E_k and E_q == E_v
            if self._qkv_same_embed_dim:
                self.packed_proj = nn.Linear(E_q, E_total * 3, bias=bias)
            else:
                self.q_proj = nn.Linear(E_q, E_total, bias=bias)
                self.k_proj = nn.Linear(E_k, E_total, bias=bias)
                self.v_proj = nn.Linear(E_v, E_total, bias=bias)
            self.out_proj = nn.Linear(E_total, E_q, bias=bias)
            self.E_head = E_total // nheads

        def forward(self, query, key, value, is_causal=False):
            if self._qkv_same_embed_dim:
                if query is key and key is value:
                    query, key, value = T.chunk(self.packed_proj(query), 3, dim=-1)
                    if contiguous:
                        query, key, value = query.contiguous(), key.contiguous(), value.contiguous()
                else:
                    q_w, k_w, v_w = T.chunk(self.packed_proj.weight, 3, dim=0)
                    q_b, k_b, v_b = T.chunk(self.packed_proj.bias, 3, dim=0)
                    query, key, value = F.linear(query, q_w, q_b), F.linear(key, k_w, k_b), F.linear(value, v_w, v_b)
            else:
                query, key, value = self.q_proj(query), self.k_proj(key), self.v_proj(value)
            # (N, L, E_total) -> (N, L, H, E_head) -> (N, H, L, E_head)
            query = query.unflatten(-1, [self.nheads, self.E_head]).transpose(1, 2)
            key = key.unflatten(-1, [self.nheads, self.E_head]).transpose(1, 2)
            value = value.unflatten(-1, [self.nheads, self.E_head]).transpose(1, 2)
            out = F.scaled_dot_product_attention(query, key, value, dropout_p=self.dropout, is_causal=is_causal)
            # (N, H, L, E_head) -> (N, L, H, E_head) -> (N, L, E_total)
            return self.out_proj(out.transpose(1, 2).flatten(-2))

    return MultiHeadAttention


def same_modules(*args, **kw):
    torch.manual_seed(0)
    mt = make_mha(torch, contiguous=True)(*args, **kw)
    mj = make_mha(jtorch)(*args, **kw)
    mj.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in mt.state_dict().items()})
    return mt, mj


def leaf_components(rng, lengths, E):
    comps = components(rng, lengths=lengths, inner=(E,))
    tc = [torch.tensor(c, requires_grad=True) for c in comps]
    jc = [jtorch.tensor(c, requires_grad=True) for c in comps]
    return tc, jc


def test_self_attention_variable_lengths(rng):
    E, H = 8, 2
    mt, mj = same_modules(E, E, E, E, H)
    tc, jc = leaf_components(rng, (3, 6, 1, 4), E)
    tq = torch.nested.as_nested_tensor(tc, layout=torch.jagged)
    jq = jtorch.nested.as_nested_tensor(jc, layout=jtorch.jagged)
    to, jo = mt(tq, tq, tq), mj(jq, jq, jq)
    assert_nested_same(jo, to, rtol=1e-4, atol=1e-5)
    w = rng.standard_normal((4, 6, E)).astype(np.float32)
    (to.to_padded_tensor(0.0) * torch.tensor(w)).sum().backward()
    (jo.to_padded_tensor(0.0) * jtorch.tensor(w)).sum().backward()
    for a, b in zip(jc, tc):
        assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5)
    jp = dict(mj.named_parameters())
    for name, p in mt.named_parameters():
        assert_close(jp[name].grad, p.grad, rtol=1e-4, atol=1e-4)


def test_matches_padded_dense_attention(rng):
    # the tutorial's point: nested attention equals padded attention with the padding masked out
    E, H = 8, 2
    _, mj = same_modules(E, E, E, E, H)
    lengths = (2, 5, 3)
    _, jc = leaf_components(rng, lengths, E)
    jq = jtorch.nested.as_nested_tensor(jc, layout=jtorch.jagged)
    out = mj(jq, jq, jq)
    with jtorch.no_grad():
        for c, o in zip(jc, out.unbind()):  # each sequence alone, densely
            x = c.unsqueeze(0)
            np.testing.assert_allclose(np.asarray(o), np.asarray(mj(x, x, x)[0]), rtol=1e-4, atol=1e-5)


def test_cross_attention_separate_projections(rng):
    E_q, E_k, E_v, E, H = 6, 4, 5, 8, 2
    mt, mj = same_modules(E_q, E_k, E_v, E, H)
    tq, jq = leaf_components(rng, (2, 4), E_q)
    tk, jk = leaf_components(rng, (5, 1), E_k)
    tv = [torch.tensor(rng.standard_normal((len(k), E_v)).astype(np.float32)) for k in tk]
    jv = [jtorch.tensor(v.numpy()) for v in tv]
    Tq = torch.nested.as_nested_tensor(tq, layout=torch.jagged)
    Jq = jtorch.nested.as_nested_tensor(jq, layout=jtorch.jagged)
    Tk = torch.nested.as_nested_tensor(tk, layout=torch.jagged)
    Jk = jtorch.nested.as_nested_tensor(jk, layout=jtorch.jagged)
    # value shares the key's structure: built from the key's offsets
    Tv = torch.nested.nested_tensor_from_jagged(torch.cat(tv), Tk.offsets())
    Jv = jtorch.nested.nested_tensor_from_jagged(jtorch.cat(jv), Jk.offsets())
    to, jo = mt(Tq, Tk, Tv), mj(Jq, Jk, Jv)
    assert_nested_same(jo, to, rtol=1e-4, atol=1e-5)
    to.values().sum().backward()
    jo.values().sum().backward()
    for a, b in zip(jq + jk, tq + tk):
        assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-4)
    jp = dict(mj.named_parameters())
    for name, p in mt.named_parameters():
        assert_close(jp[name].grad, p.grad, rtol=1e-4, atol=1e-4)


def test_sdpa_direct_and_errors(rng):
    comps = components(rng, lengths=(3, 2), inner=(2, 4))  # (j, H, D) components
    t0, j0 = pair(comps, requires_grad=True)
    t, j = t0.transpose(1, 2), j0.transpose(1, 2)  # (B, H, j, D)
    F, JF = torch.nn.functional, jtorch.nn.functional
    to, jo = F.scaled_dot_product_attention(t, t, t, scale=0.3), JF.scaled_dot_product_attention(j, j, j, scale=0.3)
    assert_nested_same(jo, to, rtol=1e-4, atol=1e-5)
    to.transpose(1, 2).values().pow(2).sum().backward()
    jo.transpose(1, 2).values().pow(2).sum().backward()
    assert_nested_same(j0.grad, t0.grad, rtol=1e-4, atol=1e-4)
    raises_same(lambda: JF.scaled_dot_product_attention(j, j, j, is_causal=True),
                lambda: F.scaled_dot_product_attention(t, t, t, is_causal=True))
    # on (B, j, H, D) the ragged dim is one of the attention's batch dims
    assert_nested_same(JF.scaled_dot_product_attention(j0, j0, j0), F.scaled_dot_product_attention(t0, t0, t0),
                       rtol=1e-4, atol=1e-5)

"""Nested tensors through jtorch.compile: nested arguments get a program per ragged structure over their values
and nested results are rebuilt; nested tensors made and consumed inside compile; a nested result of dense
arguments runs eagerly with one warning. Against torch's eager results."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from nested_check import assert_nested_same, components, pair, raises_same


def compiled_calls(fn, *args, calls=3):
    """``fn`` (compiled here unless it is) called ``calls`` times: (last result, the warnings' messages)."""
    c = fn if hasattr(fn, "_nested") else jtorch.compile(fn)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for _ in range(calls):
            out = c(*args)
    return out, [str(x.message) for x in w if "jtorch.compile" in str(x.message)]


def programs(c):
    """The programs a compiled function traced for its nested-argument structures (one count each)."""
    return [inner.compiles for inner, _ in c._nested.values()]


@pytest.mark.parametrize("layout", ["jagged", "strided"])
def test_compile_nested_argument(rng, layout):
    t, j = pair(components(rng, lengths=(2, 5, 3), inner=(4,)), layout=layout)

    def fn(T, x):
        return T.nn.functional.relu(x * 2 - 0.5) * x  # (ops torch also has for the strided layout)

    c = jtorch.compile(lambda x: fn(jtorch, x))
    out, msgs = compiled_calls(c, j)
    assert msgs == [] and programs(c) == [1]
    ref = fn(torch, t)
    assert_nested_same(out, ref)
    if layout == "jagged":  # the result shares the argument's ragged size, as torch's
        assert out.shape[1] == j.shape[1] and ref.shape[1] == t.shape[1]


def test_compile_nested_arguments_sharing_a_ragged_size(rng):
    t, j = pair(components(rng, lengths=(3, 1, 4), inner=(2, 3)))
    w = rng.standard_normal((3, 5)).astype(np.float32)

    def fn(T, x, y, w):
        h = T.nn.functional.gelu(x @ w) + y.sum(-1, keepdim=True)
        return h.softmax(-1), h.transpose(1, 2).mean(-1)

    c = jtorch.compile(lambda x, y: fn(jtorch, x, y, jtorch.tensor(w)))
    (o1, o2), msgs = compiled_calls(c, j, j * 3)
    r1, r2 = fn(torch, t, t * 3, torch.tensor(w))
    assert msgs == [] and programs(c) == [1]
    assert_nested_same(o1, r1, rtol=1e-5, atol=1e-6)
    assert_nested_same(o2, r2, rtol=1e-5, atol=1e-6)
    # tensors built apart never share a ragged size: torch's error, compiled or not
    t2, j2 = pair(components(rng, lengths=(3, 1, 4), inner=(2, 3)))
    raises_same(lambda: c(j, j2), lambda: fn(torch, t, t2, torch.tensor(w)))


def test_compile_nested_new_structure_recompiles(rng):
    c = jtorch.compile(lambda x: (x.cos() * 2).to_padded_tensor(0.5))
    pairs = [pair(components(rng, lengths=n, inner=(3,))) for n in ((2, 4), (5, 1, 2), (2, 4))]
    for t, j in pairs:
        out, _ = compiled_calls(c, j)
        assert_close(out, (t.cos() * 2).to_padded_tensor(0.5))
    assert programs(c) == [1, 1]  # the third call's structure is the first's: its program again


def test_compile_nested_gradients(rng):
    comps = components(rng, lengths=(2, 5, 3), inner=(4,))
    w = rng.standard_normal(4).astype(np.float32)
    c = jtorch.compile(lambda x, w: ((x.sin() * w).relu() ** 2).values().sum())
    for _ in range(3):
        tl = [torch.tensor(a, requires_grad=True) for a in comps]
        jl = [jtorch.tensor(a, requires_grad=True) for a in comps]
        tw, jw = torch.tensor(w, requires_grad=True), jtorch.tensor(w, requires_grad=True)
        ((torch.nested.as_nested_tensor(tl, layout=torch.jagged).sin() * tw).relu() ** 2).values().sum().backward()
        c(jtorch.nested.as_nested_tensor(jl, layout=jtorch.jagged), jw).backward()
        for a, b in zip(jl, tl):
            assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-5)
        assert_close(jw.grad, tw.grad, rtol=1e-5, atol=1e-5)
    assert programs(c) == [1]


def test_compile_nested_argument_dense_result(rng):
    t, j = pair(components(rng, lengths=(2, 5, 3), inner=(4,)))
    w = rng.standard_normal((4, 3)).astype(np.float32)

    def fn(T, x, w):
        return (x @ w).softmax(-1).to_padded_tensor(0.0).sum(1)

    c = jtorch.compile(lambda x: fn(jtorch, x, jtorch.tensor(w)))
    out, msgs = compiled_calls(c, j)
    assert msgs == [] and programs(c) == [1]
    assert_close(out, fn(torch, t, torch.tensor(w)), rtol=1e-5, atol=1e-6)
    # the same compiled function given a dense tensor first, then a nested one
    d = rng.standard_normal((3, 4)).astype(np.float32)
    c2 = jtorch.compile(lambda x: (x * 2).sum(-1))
    compiled_calls(c2, jtorch.tensor(d))
    out, msgs = compiled_calls(c2, j)
    assert msgs == []
    assert_nested_same(out, (t * 2).sum(-1))


def test_compile_nested_made_inside(rng):
    dense = rng.standard_normal((7, 3)).astype(np.float32)

    def padded(T, v):  # nested tensors made and consumed inside: one compiled program, no warning
        nt = T.nested.as_nested_tensor([v[:2], v[2:6], v[6:]], layout=T.jagged)
        return T.nested.to_padded_tensor(nt.sin() * 3, -1.0)

    out, msgs = compiled_calls(lambda v: padded(jtorch, v), jtorch.tensor(dense))
    assert msgs == []
    assert_close(out, padded(torch, torch.tensor(dense)))

    def nested_out(T, v):  # a nested result from dense arguments: eagerly, one warning
        return T.nested.as_nested_tensor([v[:2], v[2:]], layout=T.jagged).cos()

    out, msgs = compiled_calls(lambda v: nested_out(jtorch, v), jtorch.tensor(dense))
    assert len(msgs) == 1 and "returns a nested tensor" in msgs[0], msgs
    assert_nested_same(out, nested_out(torch, torch.tensor(dense)))


def test_compile_fullgraph_with_nested(rng):
    from jtorch.compile import GraphBreakError
    t, j = pair(components(rng, lengths=(2, 3), inner=(4,)))
    c = jtorch.compile(lambda x: x * 2, fullgraph=True)
    out, _ = compiled_calls(c, j)
    assert_nested_same(out, t * 2)
    dense = jtorch.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    c = jtorch.compile(lambda v: jtorch.nested.as_nested_tensor([v[:2], v[2:]], layout=jtorch.jagged), fullgraph=True)
    with pytest.raises(GraphBreakError, match="returns a nested tensor"):
        compiled_calls(c, dense)


def test_compile_nested_attention_block(rng):
    # the nested-tensor tutorial's attention block, compiled: outputs and gradients (inputs, weights) as torch's
    E, H = 8, 2
    W_in = rng.standard_normal((3 * E, E)).astype(np.float32) * 0.3
    W_out = rng.standard_normal((E, E)).astype(np.float32) * 0.3

    def block(T, x, w_in, w_out):
        F = T.nn.functional
        q, k, v = T.chunk(F.linear(x, w_in), 3, dim=-1)
        if T is torch:  # (torch's CPU kernel wants contiguous chunks; jtorch runs the views)
            q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
        q, k, v = (t.unflatten(-1, [H, E // H]).transpose(1, 2) for t in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v)
        return F.linear(o.transpose(1, 2).flatten(-2), w_out)

    comps = components(rng, lengths=(3, 6, 1), inner=(E,))
    tl = [torch.tensor(a, requires_grad=True) for a in comps]
    tw = [torch.tensor(W_in, requires_grad=True), torch.tensor(W_out, requires_grad=True)]
    ref = block(torch, torch.nested.as_nested_tensor(tl, layout=torch.jagged), *tw)
    ref.values().pow(2).sum().backward()
    c = jtorch.compile(lambda x, a, b: block(jtorch, x, a, b))
    for _ in range(3):
        jl = [jtorch.tensor(a, requires_grad=True) for a in comps]
        jw = [jtorch.tensor(W_in, requires_grad=True), jtorch.tensor(W_out, requires_grad=True)]
        out = c(jtorch.nested.as_nested_tensor(jl, layout=jtorch.jagged), *jw)
        out.values().pow(2).sum().backward()
    assert programs(c) == [1]
    assert_nested_same(out.detach(), ref.detach(), rtol=1e-4, atol=1e-5)
    for a, b in zip(jl + jw, tl + tw):
        assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-4)

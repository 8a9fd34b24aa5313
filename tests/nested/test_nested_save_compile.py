"""Nested tensors through torch.save/torch.load (torch's file formats, read and written both ways) and
through jtorch.compile (nested arguments: a program per ragged structure over their values, nested results
rebuilt; made and consumed inside: compiled; a nested result of dense arguments: eager, one warning)."""
import io
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from nested_check import assert_nested_same, components, pair, raises_same


def saved(mod, obj, **kw):
    buf = io.BytesIO()
    mod.save(obj, buf)
    buf.seek(0)
    return buf


def examples(rng):
    """(name, torch nested tensor, jtorch nested tensor) with the same components."""
    out = []
    t, j = pair(components(rng, lengths=(2, 4, 1), inner=(3,)))
    out.append(("jagged", t, j))
    t, j = pair(components(rng, lengths=(3, 1), inner=(2, 5)), requires_grad=True)
    out.append(("jagged leaf requiring grad", t, j))
    t, j = pair(components(rng, lengths=(3, 2), inner=(2, 4)))
    out.append(("jagged, ragged dim 2", t.transpose(1, 2), j.transpose(1, 2)))
    base = rng.standard_normal((3, 5, 2)).astype(np.float32)
    starts, lengths = [0, 1, 2], [2, 3, 1]
    out.append(("jagged with lengths",
                torch.nested.narrow(torch.tensor(base), 1, torch.tensor(starts), torch.tensor(lengths),
                                    layout=torch.jagged),
                jtorch.nested.narrow(jtorch.tensor(base), 1, jtorch.tensor(starts), jtorch.tensor(lengths),
                                     layout=jtorch.jagged)))
    t, j = pair(components(rng, lengths=(2, 4, 3), inner=(3,)), layout="strided")
    out.append(("strided", t, j))
    t, j = pair(components(rng, lengths=(2, 1), inner=(2, 3), dtype=np.float64, ragged=1), layout="strided")
    out.append(("strided float64, irregular dim 2", t, j))
    return out


def same_loaded(a, b):
    """Two loaded nested tensors (either library) agree: layout, structure, components, requires_grad."""
    assert a.is_nested and b.is_nested
    assert str(a.layout) == str(b.layout) and str(a.dtype) == str(b.dtype)
    assert a.requires_grad == b.requires_grad and a.is_leaf
    if str(a.layout) == "torch.jagged":
        assert a._ragged_idx == b._ragged_idx
        assert (a.lengths() is None) == (b.lengths() is None)
    ca, cb = a.unbind(), b.unbind()
    assert len(ca) == len(cb)
    for x, y in zip(ca, cb):
        np.testing.assert_array_equal(np.asarray(x.detach()), y.detach().numpy())


@pytest.mark.parametrize("weights_only", [True, False])
def test_save_load_round_trips_and_torch_files(rng, weights_only):
    for name, t, j in examples(rng):
        tt = torch.load(saved(torch, t), weights_only=weights_only)
        jj = jtorch.load(saved(jtorch, j), weights_only=weights_only)
        tj = jtorch.load(saved(torch, t), weights_only=weights_only)  # torch's file read by jtorch
        jt = torch.load(saved(jtorch, j), weights_only=weights_only)  # jtorch's file read by torch
        for a in (jj, tj):
            same_loaded(a, tt)
        same_loaded(tt, jt)
        assert_nested_same(jj, tt, padded=False)


def test_save_load_inside_a_checkpoint(rng):
    (_, t, j), (_, ts, js) = examples(rng)[0], examples(rng)[4]
    dense = rng.standard_normal((2, 3)).astype(np.float32)
    ck_t = {"nt": t, "st": ts, "w": torch.tensor(dense), "meta": [1, "a"]}
    ck_j = {"nt": j, "st": js, "w": jtorch.tensor(dense), "meta": [1, "a"]}
    for loaded, ref in ((jtorch.load(saved(jtorch, ck_j)), ck_t), (jtorch.load(saved(torch, ck_t)), ck_t),
                        (torch.load(saved(jtorch, ck_j)), ck_t)):
        same_loaded(loaded["nt"], ref["nt"])
        same_loaded(loaded["st"], ref["st"])
        np.testing.assert_array_equal(np.asarray(loaded["w"]), dense)
        assert loaded["meta"] == [1, "a"]


def test_loaded_nested_tensor_computes_like_torch(rng):
    _, t, j = examples(rng)[1]
    tl, jl = torch.load(saved(torch, t)), jtorch.load(saved(torch, t))
    to, jo = tl.sin().mul(2), jl.sin().mul(2)
    assert_nested_same(jo, to)
    to.values().sum().backward()
    jo.values().sum().backward()
    assert_close(jl.grad.values(), tl.grad.values())


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

"""Nested tensors through torch.save/torch.load: torch's file formats, written and read both ways (jtorch reads
torch's files, torch reads jtorch's), weights_only or not."""
import io

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from nested_check import assert_nested_same, components, pair


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

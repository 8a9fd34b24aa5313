"""torch.export.export through torch and jtorch on the same models and seeded inputs: the
ExportedProgram's signature, state, printing, ``module()`` results and errors agree."""
import os

import numpy as np
import pytest
import torch
import torch.export as tex
from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode as TGuard

import jtorch
import jtorch.export as jex
from jtorch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode as JGuard
from tests.export.export_models import both, arrays

LIBS = ((torch, tex), (jtorch, jex))


def _specs(ep):
    sig = ep.graph_signature
    ins = [(s.kind.name, s.arg.name, s.target, s.persistent, type(s.arg).__name__) for s in sig.input_specs]
    outs = [(s.kind.name, type(s.arg).__name__, s.target) for s in sig.output_specs]
    return ins, outs


def _close(j, t, rtol=1e-5, atol=1e-5):
    if isinstance(t, dict):
        assert list(j) == list(t)
        for k in t:
            _close(j[k], t[k], rtol, atol)
    elif isinstance(t, (tuple, list)):
        assert type(j) is type(t) and len(j) == len(t)
        for a, b in zip(j, t):
            _close(a, b, rtol, atol)
    else:
        assert tuple(j.shape) == tuple(t.shape) and str(j.dtype) == str(t.dtype).replace("torch.", "torch.")
        np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


def _net_inputs(lib, arrs):
    a, b, c = arrs
    return ([lib.tensor(a), lib.tensor(b)], {"b": lib.tensor(c)})


@pytest.mark.parametrize("train", [False, True])
def test_signature_state_and_module_match_torch(rng, train):
    t, j = both("Net")
    for m in (t, j):
        m.train(train)
    arrs = arrays(rng, (5, 4), (2, 6), (3,))
    eps = []
    for (T, ex), m in zip(LIBS, (t, j)):
        eps.append(ex.export(m, _net_inputs(T, arrs), {"scale": 3}))
    tep, jep = eps
    assert _specs(jep) == _specs(tep)
    sig_t, sig_j = tep.graph_signature, jep.graph_signature
    for attr in ("parameters", "buffers", "user_inputs", "lifted_tensor_constants", "non_persistent_buffers",
                 "inputs_to_parameters", "inputs_to_buffers", "inputs_to_lifted_tensor_constants"):
        assert getattr(sig_j, attr) == getattr(sig_t, attr), attr
    assert str(sig_j).split() == str(sig_t).split()
    assert list(jep.state_dict) == list(tep.state_dict) and set(jep.constants) == set(tep.constants)
    assert jep.state_dict["fc.weight"] is j.fc.weight  # (the module's own tensors, as torch)
    assert [n for n, _ in jep.named_parameters()] == [n for n, _ in tep.named_parameters()]
    assert [n for n, _ in jep.named_buffers()] == [n for n, _ in tep.named_buffers()]
    assert jep.range_constraints == {} and tep.range_constraints == {}
    # the graph: placeholders named as torch's, user outputs in a tuple
    ph = lambda ep: [n.name for n in ep.graph.nodes if n.op == "placeholder"]  # noqa: E731
    assert ph(jep) == ph(tep)
    text = str(jep)
    assert text.startswith("ExportedProgram:\n    class GraphModule(torch.nn.Module):") and "Graph signature:" in text
    assert "Range constraints: {}" in text
    # module(): the original module's results, on new inputs too, and the same buffer updates
    new = arrays(rng, (5, 4), (2, 6), (3,))
    tm, jm = tep.module(), jep.module()
    _close(jm(*_net_inputs(jtorch, new), scale=3), tm(*_net_inputs(torch, new), scale=3))
    _close(jm.bn.running_mean, tm.bn.running_mean)
    assert int(jm.bn.num_batches_tracked) == int(tm.bn.num_batches_tracked)
    assert set(jm.state_dict()) == set(tm.state_dict())
    # the lifted graph module runs on (state..., user inputs) as torch's
    flat_t = [tep.state_dict.get(s.target, tep.constants.get(s.target)) for s in sig_t.input_specs[:-4]]
    flat_j = [jep.state_dict.get(s.target, jep.constants.get(s.target)) for s in sig_j.input_specs[:-4]]
    ut, uj = _net_inputs(torch, new), _net_inputs(jtorch, new)
    out_t = tep.graph_module(*flat_t, ut[0][0], ut[0][1], ut[1]["b"], 3)
    out_j = jep.graph_module(*flat_j, uj[0][0], uj[0][1], uj[1]["b"], 3)
    assert isinstance(out_j, tuple) and len(out_j) == len(out_t) == 2
    _close(list(out_j), list(out_t))


def test_module_checks_inputs_like_torch(rng):
    t, j = both("Net")
    t.eval(), j.eval()
    arrs = arrays(rng, (5, 4), (2, 6), (3,))
    errs = []
    for (T, ex), m in zip(LIBS, (t, j)):
        mod = ex.export(m, _net_inputs(T, arrs), {"scale": 3}).module()
        bad = arrays(rng, (6, 4), (2, 6), (3,))
        with pytest.raises(AssertionError) as e:
            mod(*_net_inputs(T, bad), scale=3)
        errs.append(str(e.value).splitlines()[0])
        with pytest.raises(ValueError):  # another input structure
            mod(_net_inputs(T, arrs)[0], {"c": T.zeros(3)}, scale=3)
        with pytest.raises(RuntimeError, match="Unable to call ExportedProgram directly"):
            ex.export(m, _net_inputs(T, arrs), {"scale": 3})(*_net_inputs(T, arrs))
    assert errs[1] == errs[0] == "Guard failed: xs[0].size()[0] == 5"


def test_data_dependent_branch_raises_guard_error(rng):
    (x,) = arrays(rng, (3,))
    t, j = both("DataBranch")
    with pytest.raises(TGuard):
        tex.export(t, (torch.tensor(x),))
    with pytest.raises(JGuard, match="data-dependent"):
        jex.export(j, (jtorch.tensor(x),))
    assert issubclass(JGuard, RuntimeError) and JGuard.__name__ == TGuard.__name__


def test_item_used_as_a_value(rng):
    x, x2 = arrays(rng, (2,), (2,))
    t, j = both("ItemValue")
    tm = tex.export(t, (torch.tensor(x),)).module()
    jm = jex.export(j, (jtorch.tensor(x),)).module()
    _close(jm(jtorch.tensor(x2)), tm(torch.tensor(x2)))  # the item is recomputed for new data


def test_shape_branch_is_specialized_without_dynamic_shapes(rng):
    (x,) = arrays(rng, (5, 3))
    t, j = both("Branchy")
    tep, jep = tex.export(t, (torch.tensor(x),)), jex.export(j, (jtorch.tensor(x),))
    _close(jep.module()(jtorch.tensor(x)), tep.module()(torch.tensor(x)))
    assert [n.op for n in jep.graph.nodes] == ["placeholder", "call_function", "output"]


def test_dynamic_dim_with_range(rng):
    t, j = both("Attention")
    (x,) = arrays(rng, (2, 5, 8))
    eps = []
    for (T, ex), m in zip(LIBS, (t, j)):
        seq = ex.Dim("seq", min=2, max=32)
        eps.append(ex.export(m, (T.tensor(x),), dynamic_shapes={"x": {1: seq}}))
    tep, jep = eps
    assert [str(v) for v in jep.range_constraints.values()] == [str(v) for v in tep.range_constraints.values()] \
        == ["VR[2, 32]"]
    tm, jm = tep.module(), jep.module()
    for L in (3, 5, 17, 32):
        (y,) = arrays(rng, (2, L, 8))
        _close(jm(jtorch.tensor(y)), tm(torch.tensor(y)))
    msgs = []
    for T, m in ((torch, tm), (jtorch, jm)):
        for shape in ((2, 33, 8), (3, 5, 8)):
            with pytest.raises(AssertionError) as e:
                m(T.zeros(shape))
            msgs.append(str(e.value).splitlines()[0])
    assert msgs[2:] == msgs[:2] == ["Guard failed: x.size()[1] <= 32", "Guard failed: x.size()[0] == 2"]


def test_named_dim_reports_its_own_lower_bound(rng):
    # torch 2.13 keeps a named Dim's min (0 by default, 1 allowed) in range_constraints; a min of 0 or 1
    # lets sizes 0 and 1 through the module's checks, a larger min refuses smaller sizes
    (x,) = arrays(rng, (4, 3))
    for kw in ({}, {"min": 0, "max": 16}, {"min": 1, "max": 16}, {"min": 3}):
        ranges, accepted = [], []
        for T, ex in LIBS:
            ep = ex.export(T.nn.Flatten(0), (T.tensor(x),), dynamic_shapes={"input": {0: ex.Dim("b", **kw)}})
            ranges.append([str(v) for v in ep.range_constraints.values()])
            ok = []
            for n in (0, 1, 2, 5):
                try:
                    ep.module()(T.zeros(n, 3))
                    ok.append(True)
                except AssertionError:
                    ok.append(False)
            accepted.append(ok)
        assert ranges[0] == ranges[1] and accepted[0] == accepted[1], (kw, ranges, accepted)


def test_one_dim_shared_by_two_inputs_needs_equal_sizes(rng):
    a, b, c = arrays(rng, (4, 6), (4, 6), (5, 6))
    msgs, outs = [], []
    for T, ex in LIBS:
        n = ex.Dim("n", max=32)
        ep = ex.export(_Add(T), (T.tensor(a), T.tensor(b)),
                       dynamic_shapes=((n, ex.Dim.STATIC), (n, ex.Dim.STATIC)))
        outs.append(ep.module()(T.tensor(c), T.tensor(c)))
        with pytest.raises(AssertionError) as e:
            ep.module()(T.tensor(a), T.tensor(c))
        msgs.append(str(e.value))
    _close(outs[1], outs[0])
    assert msgs[0] == msgs[1] == "Guard failed: y.size()[0] == x.size()[0]"


def _Add(T):
    class Add(T.nn.Module):
        def forward(self, x, y):
            return x + y
    return Add()


def test_dynamic_batch_in_argument_order_and_auto(rng):
    t, j = both("CNN")
    t.eval(), j.eval()
    (x,) = arrays(rng, (3, 3, 6, 6))
    for spec in (lambda ex: ({0: ex.Dim.DYNAMIC},), lambda ex: ({0: ex.Dim.AUTO, 2: None, 3: None},)):
        tep = tex.export(t, (torch.tensor(x),), dynamic_shapes=spec(tex))
        jep = jex.export(j, (jtorch.tensor(x),), dynamic_shapes=spec(jex))
        assert [str(v) for v in jep.range_constraints.values()] == [str(v) for v in tep.range_constraints.values()]
        (y,) = arrays(rng, (7, 3, 6, 6))
        _close(jep.module()(jtorch.tensor(y)), tep.module()(torch.tensor(y)))


def test_branch_on_named_dim_is_a_constraint_violation(rng):
    t, j = both("Branchy")
    (x,) = arrays(rng, (5, 4))
    errs = []
    for (T, ex), m in zip(LIBS, (t, j)):
        batch = ex.Dim("batch", max=64)
        with pytest.raises(Exception) as e:
            ex.export(m, (T.tensor(x),), dynamic_shapes={"x": {0: batch}})
        errs.append(e)
    import torch._dynamo.exc as texc
    import jtorch._dynamo.exc as jexc
    assert errs[0].type is texc.UserError and errs[1].type is jexc.UserError
    assert issubclass(jexc.UserError, RuntimeError)
    for e in errs:
        assert "Constraints violated (batch)!" in str(e.value)
        assert "batch = Dim('batch', min=5, max=64)" in str(e.value)


@pytest.mark.parametrize("hint", ["AUTO", "DYNAMIC"])
def test_branch_on_auto_dim_narrows_the_range(rng, hint):
    t, j = both("Branchy")
    (x,) = arrays(rng, (5, 4))
    eps = [ex.export(m, (T.tensor(x),), dynamic_shapes={"x": {0: getattr(ex.Dim, hint)}})
           for (T, ex), m in zip(LIBS, (t, j))]
    assert [str(v) for v in eps[1].range_constraints.values()] == \
        [str(v) for v in eps[0].range_constraints.values()] == ["VR[5, int_oo]"]
    (y,) = arrays(rng, (9, 4))
    _close(eps[1].module()(jtorch.tensor(y)), eps[0].module()(torch.tensor(y)))
    with pytest.raises(AssertionError, match=r"Guard failed: x.size\(\)\[0\] >= 5"):
        eps[1].module()(jtorch.zeros(4, 4))


def test_dim_repr_and_hints():
    for ex in (tex, jex):
        assert repr(ex.Dim("batch", max=64)) == "Dim('batch', min=0, max=64)"
        assert repr(ex.Dim("batch", min=2)) == "Dim('batch')" and repr(ex.Dim("b", min=3)) == "Dim('b', min=3)"
        assert ex.Dim("b").min == 0
        assert repr(ex.Dim.AUTO) == "DimHint(AUTO)" and repr(ex.Dim.DYNAMIC) == "DimHint(DYNAMIC)"


def test_save_load_round_trip(rng, tmp_path):
    t, j = both("Net")
    j.eval()
    arrs = arrays(rng, (5, 4), (2, 6), (3,))
    ep = jex.export(j, _net_inputs(jtorch, arrs), {"scale": 3})
    path = tmp_path / "net.pt2"
    jex.save(ep, str(path), extra_files={"note.txt": "hello"})
    assert os.listdir(tmp_path) == ["net.pt2"]  # (atomic: no temporary file left behind)
    extra = {"note.txt": ""}
    ep2 = jex.load(str(path), extra_files=extra)
    assert extra["note.txt"] == "hello"
    assert _specs(ep2) == _specs(ep) and list(ep2.state_dict) == list(ep.state_dict)
    new = arrays(rng, (5, 4), (2, 6), (3,))
    _close(ep2.module()(*_net_inputs(jtorch, new), scale=3), ep.module()(*_net_inputs(jtorch, new), scale=3))
    assert str(ep2.graph_module.code) == str(ep.graph_module.code)
    # a file object, and a dynamic program keeps its ranges
    import io
    a, = arrays(rng, (2, 5, 8))
    ta, ja = both("Attention")
    dep = jex.export(ja, (jtorch.tensor(a),), dynamic_shapes={"x": {1: jex.Dim("seq", max=16)}})
    buf = io.BytesIO()
    jex.save(dep, buf)
    buf.seek(0)
    dep2 = jex.load(buf)
    assert [str(v) for v in dep2.range_constraints.values()] == ["VR[0, 16]"]  # (torch 2.13's)
    b, = arrays(rng, (2, 9, 8))
    _close(dep2.module()(jtorch.tensor(b)), ta(torch.tensor(b)))


def test_load_refuses_torch_archives(rng, tmp_path):
    t, _ = both("Branchy")
    (x,) = arrays(rng, (5, 4))
    path = str(tmp_path / "torch.pt2")
    tex.save(tex.export(t, (torch.tensor(x),)), path)
    with pytest.raises(RuntimeError, match="not an archive written by jtorch"):
        jex.load(path)


def test_run_decompositions_and_export_for_training(rng):
    t, j = both("CNN")
    j.eval(), t.eval()
    (x,) = arrays(rng, (2, 3, 6, 6))
    ep = jex.export(j, (jtorch.tensor(x),))
    dec = ep.run_decompositions()
    assert isinstance(dec, jex.ExportedProgram) and dec is not ep
    assert _specs(dec) == _specs(ep)
    _close(dec.module()(jtorch.tensor(x)), t(torch.tensor(x)))
    assert torch.export.ExportedProgram.__name__ == jex.ExportedProgram.__name__

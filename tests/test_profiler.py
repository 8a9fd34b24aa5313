"""torch.profiler / torch.autograd.profiler: op and range names and counts against torch's (where both
name an op alike), schedules, nesting, tables and traces; the dispatch hook exists only while recording."""
import json
import os
import warnings

import numpy as np
import pytest
import torch

import jtorch
from jtorch import _dispatch
from jtorch.autograd import graph


def _model(m):
    rng = np.random.RandomState(0)
    lin1, lin2 = m.nn.Linear(6, 8), m.nn.Linear(8, 3)
    for p in list(lin1.parameters()) + list(lin2.parameters()):
        with m.no_grad():
            p.copy_(m.from_numpy(rng.randn(*p.shape).astype(np.float32)))
    x = m.from_numpy(rng.randn(4, 6).astype(np.float32))
    return lin1, lin2, x


NAMES = ["outer", "inner", "aten::linear", "aten::relu", "aten::sigmoid", "aten::softmax", "aten::sum",
         "AddmmBackward0", "ReluBackward0", "SigmoidBackward0", "SumBackward0",
         "autograd::engine::evaluate_function: ReluBackward0", "torch::autograd::AccumulateGrad"]


def _profile(m):
    lin1, lin2, x = _model(m)
    with m.profiler.profile(activities=[m.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        with m.profiler.record_function("outer"):
            h = m.relu(lin1(x))
            with m.profiler.record_function("inner"):
                y = m.sigmoid(lin2(h))
                p = m.softmax(y, 1)
        y.sum().backward()
    return prof, p, lin1.weight.grad


def test_counts_and_values_match_torch():
    tp, tout, tg = _profile(torch)
    jp, jout, jg = _profile(jtorch)
    np.testing.assert_allclose(jout.detach().numpy(), tout.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(jg.numpy(), tg.numpy(), rtol=1e-5)
    tc = {e.key: e.count for e in tp.key_averages()}
    jc = {e.key: e.count for e in jp.key_averages()}
    for n in NAMES:
        # torch's aten::sum also counts the bias-gradient sums inside AddmmBackward0
        if n != "aten::sum":
            assert jc.get(n, 0) == tc.get(n, 0), (n, jc.get(n), tc.get(n))
    assert jc["aten::sum"] == 1
    # nesting: inner's ops are children of inner, inner a child of outer
    jev = {e.name: e for e in jp.events() if e.name in ("outer", "inner")}
    assert jev["inner"].cpu_parent is jev["outer"]
    assert {c.name for c in jev["inner"].cpu_children} == {"aten::linear", "aten::sigmoid", "aten::softmax"}
    assert jev["outer"].cpu_time_total >= jev["inner"].cpu_time_total > 0
    # shapes, grouped as torch groups them
    tshapes = sorted(str(e.input_shapes) for e in tp.key_averages(group_by_input_shape=True) if e.key == "aten::linear")
    jshapes = sorted(str(e.input_shapes) for e in jp.key_averages(group_by_input_shape=True) if e.key == "aten::linear")
    assert jshapes == tshapes == ["[[4, 6], [8, 6], [8]]", "[[4, 8], [3, 8], [3]]"]


def test_table_layout_like_torch():
    tp, _, _ = _profile(torch)
    jp, _, _ = _profile(jtorch)
    for grouped in (False, True):
        t = tp.key_averages(group_by_input_shape=grouped).table(sort_by="self_cpu_time_total", row_limit=3)
        j = jp.key_averages(group_by_input_shape=grouped).table(sort_by="self_cpu_time_total", row_limit=3)
        tl, jl = t.splitlines(), j.splitlines()
        assert len(jl) == len(tl)
        assert jl[1].split() == tl[1].split()
        assert jl[0].count("  ") == tl[0].count("  ")  # same columns
        assert jl[-1].startswith("Self CPU time total: ") and tl[-1].startswith("Self CPU time total: ")
    with pytest.raises(AttributeError):
        jp.key_averages().table(sort_by="no_such_key")


def test_schedule_actions_match_torch():
    for kw in (dict(wait=1, warmup=1, active=2), dict(wait=2, warmup=0, active=1, repeat=2),
               dict(wait=0, warmup=2, active=3, repeat=1, skip_first=3)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts, js = torch.profiler.schedule(**kw), jtorch.profiler.schedule(**kw)
        assert [js(i).name for i in range(20)] == [ts(i).name for i in range(20)], kw


def _scheduled(m, tmp):
    lin1, lin2, x = _model(m)
    seen = []

    def ready(p):
        seen.append((p.step_num, sorted((e.key, e.count) for e in p.key_averages()
                                        if e.key in ("ProfilerStep*", "aten::relu", "outer"))))
        m.profiler.tensorboard_trace_handler(tmp, worker_name="w")(p)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with m.profiler.profile(schedule=m.profiler.schedule(wait=1, warmup=1, active=2, repeat=2),
                                on_trace_ready=ready) as prof:
            for _ in range(9):
                with m.profiler.record_function("outer"):
                    m.relu(lin1(x))
                prof.step()
    return seen


def test_schedule_traces_match_torch(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "j").mkdir()
    t = _scheduled(torch, str(tmp_path / "t"))
    j = _scheduled(jtorch, str(tmp_path / "j"))
    assert j == t and len(j) == 2
    files = sorted(os.listdir(tmp_path / "j"))
    assert len(files) == 2 and all(f.startswith("w.") and f.endswith(".pt.trace.json") for f in files)
    with open(tmp_path / "j" / files[0]) as f:
        names = [e["name"] for e in json.load(f)["traceEvents"]]
    assert names.count("aten::relu") == 2 and "ProfilerStep#2" in names


def test_hook_only_while_recording():
    apply = _dispatch.apply
    lazy = _dispatch.LAZY[0]
    x = jtorch.randn(3)
    with jtorch.profiler.profile() as prof:
        assert _dispatch.apply is not apply and graph.NODE_HOOK[0] is not None
        with jtorch.autograd.profiler.profile() as inner:  # nested profiles both record
            x.exp()
        x.sin()
    assert _dispatch.apply is apply and graph.NODE_HOOK[0] is None and _dispatch.LAZY[0] == lazy
    assert [e.name for e in inner.function_events] == ["aten::exp"]
    assert [e.name for e in prof.events()] == ["aten::exp", "aten::sin"]
    # record_function outside a profile records nothing and costs nothing
    with jtorch.profiler.record_function("nothing"):
        x.cos()
    with pytest.raises(RuntimeError):
        jtorch.autograd.profiler.profile().key_averages()


def test_chrome_trace(tmp_path):
    jp, _, _ = _profile(jtorch)
    path = str(tmp_path / "t.json")
    jp.export_chrome_trace(path)
    with open(path) as f:
        ev = json.load(f)["traceEvents"]
    outer = [e for e in ev if e["name"] == "outer"][0]
    relu = [e for e in ev if e["name"] == "aten::relu"][0]
    assert outer["ph"] == relu["ph"] == "X"
    assert outer["ts"] <= relu["ts"] and relu["ts"] + relu["dur"] <= outer["ts"] + outer["dur"]

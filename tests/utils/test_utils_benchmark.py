"""jtorch.utils.benchmark against torch.utils.benchmark: Measurements built from the same times print and
summarize the same; Compare lays out the same tables; Timer's methods return the same kinds of results and
raise the same errors. Timings themselves are never compared."""
import re

import numpy as np
import pytest
from torch.utils import benchmark as tb

import jtorch
from jtorch.utils import benchmark as jb


def pair(times, number, **spec):
    spec.setdefault("setup", "pass")
    return (tb.Measurement(number, list(times), tb.TaskSpec(**spec)),
            jb.Measurement(number, list(times), jb.TaskSpec(**spec)))


def body(m):
    return repr(m).split("\n")[1:]  # the first line is the object's class and address


def masked(text):
    return re.sub(r"\d+(\.\d+)?", "N", text)


def test_measurement_like_torch(rng):
    cases = [(rng.random(1) * 1e-3, 100, dict(stmt="x + y")),
             (1e-6 * (1 + 0.01 * rng.random(16)), 1000,
              dict(stmt="x + y", label="add", sub_label="s", description="d")),
             (1e-6 * (1 + rng.random(8)), 10, dict(stmt="f()", setup="import math\nx = 1", num_threads=4)),
             (rng.random(2) * 2, 1, dict(stmt="g()", sub_label="only")),
             (1e-3 * (1 + 0.15 * rng.random(6)), 7, dict(stmt="h()", setup="y = 2", label="L", env="E"))]
    for times, number, spec in cases:
        t, j = pair(times, number, **spec)
        assert body(j) == body(t)
        assert repr(j).startswith("<jtorch.utils.benchmark.common.Measurement object at 0x")
        for attr in ("mean", "median", "iqr", "times", "has_warnings", "title", "number_per_run", "raw_times",
                     "env", "num_threads", "stmt", "label", "description"):
            assert getattr(j, attr) == pytest.approx(getattr(t, attr)) if attr in ("mean", "median", "iqr") \
                else getattr(j, attr) == getattr(t, attr), attr
        assert j.meets_confidence(0.1) == t.meets_confidence(0.1)
        assert 1 <= j.significant_figures <= 4


def test_merge_like_torch(rng):
    t1, j1 = pair(rng.random(3) * 1e-3, 10, stmt="a")
    t2, j2 = pair(rng.random(2) * 1e-3, 5, stmt="a")
    t3, j3 = pair(rng.random(1) * 1e-3, 5, stmt="b")
    mt, mj = tb.Measurement.merge([t1, t2, t3]), jb.Measurement.merge([j1, j2, j3])
    assert [body(m) for m in mj] == [body(m) for m in mt]
    assert [len(m.times) for m in mj] == [len(m.times) for m in mt]
    assert sum((m.times for m in mj), []) == pytest.approx(sum((m.times for m in mt), []))


def compare_pairs(rng):
    res_t, res_j = [], []
    for n in (10, 100):
        for d in ("a", "bb"):
            for threads in (1, 2):
                t, j = pair(1e-6 * n * (1 + 0.3 * rng.random(10)), 100, stmt="s", label="sums", sub_label=f"n={n}",
                            description=d, num_threads=threads)
                res_t.append(t)
                res_j.append(j)
    for r in (1.0, 1.005, 1.05, 1.5, 2.5, 6.0):  # every colour band
        t, j = pair([r * 1e-3], 1, stmt="q", sub_label=f"r{r}", description="c")
        res_t.append(t)
        res_j.append(j)
    return tb.Compare(res_t), jb.Compare(res_j)


def test_compare_tables_like_torch(rng, capsys):
    ct, cj = compare_pairs(rng)
    assert str(cj) == str(ct)
    ct.highlight_warnings(), cj.highlight_warnings()
    assert str(cj) == str(ct)
    ct.colorize(), cj.colorize()
    assert str(cj) == str(ct)
    ct.colorize(rowwise=True), cj.colorize(rowwise=True)
    assert str(cj) == str(ct)
    # trimmed digits follow each measurement's significant figures (estimated a little differently)
    ct.trim_significant_figures(), cj.trim_significant_figures()
    assert masked(str(cj)).split("\n")[2:] == masked(str(ct)).split("\n")[2:]
    cj.print()
    assert capsys.readouterr().out == str(cj) + "\n"
    with pytest.raises(ValueError):
        jb.Compare([1.0])


def test_timer_results_like_torch():
    x = np.arange(6.0)
    kinds = []
    for lib, bench in ((__import__("torch"), tb), (jtorch, jb)):
        t = bench.Timer("y = x * 2 + z", setup="z = 3", globals={"x": lib.tensor(x)}, label="mul",
                        sub_label="six", description="d")
        m = t.timeit(20)
        assert isinstance(m, bench.Measurement) and m.number_per_run == 20 and len(m.raw_times) == 1
        calls = []
        b = t.blocked_autorange(callback=lambda n, s: calls.append((n, s)), min_run_time=0.01)
        assert isinstance(b, bench.Measurement) and sum(b.raw_times) >= 0.01
        assert [s for _, s in calls] == b.raw_times and all(n == b.number_per_run for n, _ in calls)
        a = t.adaptive_autorange(min_run_time=0.005, max_run_time=0.05)
        assert isinstance(a, bench.Measurement) and len(a.times) >= 1
        for method in (t.repeat, t.autorange):
            with pytest.raises(NotImplementedError, match="blocked_autorange"):
                method()
        with pytest.raises(SyntaxError):
            bench.Timer("y = ").timeit(1)
        kinds.append([masked(line) for line in body(m)])
    assert kinds[0] == kinds[1]


def test_timer_runs_jtorch_statements():
    # ``torch`` inside a statement is jtorch; setup names are visible to the statement
    out = {}
    t = jb.Timer("out['v'] = torch.ones(n).sum()", setup="n = 4", globals={"out": out})
    t.timeit(3)
    assert isinstance(out["v"], jtorch.Tensor) and out["v"].item() == 4.0
    with pytest.raises(ValueError):
        jb.Timer("pass", language="c++")
    assert jb.select_unit(2.5e-6) == ("us", 1e-6) and jb.select_unit(3.0)[0] == "s"

"""jtorch.jit shim against torch.jit: scripted/traced functions and modules give torch's results,
is_scripting/is_tracing, the decorators, fork/wait, jit.isinstance, and save/load's clear errors."""
import io
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

F32 = np.float32
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")


def _fn(M):
    def f(x, y):
        return (x * y).relu().sum(-1) + x.mean()
    return f


def _mlp(M):
    return M.nn.Sequential(M.nn.Linear(4, 6), M.nn.ReLU(), M.nn.Linear(6, 2))


def test_script_and_trace_function(rng):
    x, y = rng.standard_normal((3, 4)).astype(F32), rng.standard_normal((3, 4)).astype(F32)
    tx, ty, jx, jy = torch.tensor(x), torch.tensor(y), jtorch.tensor(x), jtorch.tensor(y)
    ts = torch.jit.script(_fn(torch))
    js = jtorch.jit.script(_fn(jtorch))
    assert_close(js(jx, jy), ts(tx, ty))
    tt = torch.jit.trace(_fn(torch), (tx, ty))
    jt = jtorch.jit.trace(_fn(jtorch), (jx, jy))
    assert_close(jt(jx * 2, jy), tt(tx * 2, ty))
    assert callable(js) and js.__name__ == "f"


def test_decorator_form_and_autograd(rng):
    @jtorch.jit.script
    def g(a):
        return a.sin() * 2

    a = jtorch.tensor(rng.standard_normal(3).astype(F32), requires_grad=True)
    g(a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.cos(a.detach().numpy()), rtol=1e-6)


@pytest.mark.parametrize("how", ["script", "trace"])
def test_module_stays_the_same_module(how, rng):
    torch.manual_seed(0)
    tm = _mlp(torch)
    jm = _mlp(jtorch)
    jm.load_state_dict(tm.state_dict())
    x = rng.standard_normal((5, 4)).astype(F32)
    if how == "script":
        ts, js = torch.jit.script(tm), jtorch.jit.script(jm)
    else:
        ts, js = torch.jit.trace(tm, torch.tensor(x)), jtorch.jit.trace(jm, jtorch.tensor(x))
    assert js is jm  # parameters, buffers, hooks, train/eval: all shared
    assert list(js.state_dict()) == list(ts.state_dict())
    assert_close(js(jtorch.tensor(x)), ts(torch.tensor(x)), rtol=1e-5, atol=1e-6)
    js.eval()
    assert not jm.training
    out = js(jtorch.tensor(x))
    out.sum().backward()
    assert jm[0].weight.grad is not None


def test_trace_runs_once_and_surfaces_errors(rng):
    calls = []

    def f(x):
        calls.append(1)
        return x + 1

    t = jtorch.jit.trace(f, jtorch.ones(2))
    assert calls == [1]
    t(jtorch.ones(2))
    assert calls == [1, 1]

    def bad(x):
        return x @ jtorch.ones(5, 5)

    with pytest.raises(RuntimeError):
        torch.jit.trace(lambda x: x @ torch.ones(5, 5), torch.ones(2, 3))
    with pytest.raises(RuntimeError):
        jtorch.jit.trace(bad, jtorch.ones(2, 3))
    with pytest.raises(RuntimeError):
        jtorch.jit.trace(f)
    m = _mlp(jtorch)
    assert jtorch.jit.trace_module(m, {"forward": jtorch.ones(1, 4)}) is m
    with pytest.raises(RuntimeError):
        jtorch.jit.script(3)


def test_deprecation_warnings_like_torch():
    for name, args in (("script", (_fn(jtorch),)), ("trace", (_fn(jtorch), (jtorch.ones(2), jtorch.ones(2))))):
        with pytest.warns(DeprecationWarning, match=f"torch.jit.{name}` is deprecated"):
            getattr(jtorch.jit, name)(*args)


def test_flags_and_decorators():
    assert jtorch.jit.is_scripting() is torch.jit.is_scripting() is False
    assert jtorch.jit.is_tracing() is False

    class M(jtorch.nn.Module):
        @jtorch.jit.ignore
        def helper(self, x):
            return x * 3

        @jtorch.jit.unused
        def other(self, x):
            return x - 1

        @jtorch.jit.export
        def exported(self, x):
            return x + 1

        @jtorch.jit.ignore(drop=True)
        def dropped(self, x):
            return x

        def forward(self, x):
            return self.helper(x) + self.exported(x)

    m = jtorch.jit.script(M())
    assert float(m(jtorch.tensor(2.0))) == 9.0
    assert float(m.other(jtorch.tensor(2.0))) == 1.0
    fut = jtorch.jit.fork(lambda a, b: a + b, jtorch.tensor(1.0), b=jtorch.tensor(2.0))
    assert float(jtorch.jit.wait(fut)) == 3.0
    assert jtorch.jit.annotate(List[int], [1]) == [1]
    assert jtorch.jit.freeze(m) is m and jtorch.jit.optimize_for_inference(m) is m
    assert issubclass(jtorch.jit.ScriptModule, jtorch.nn.Module)
    assert issubclass(jtorch.jit.Error, Exception) and not issubclass(jtorch.jit.Error, RuntimeError)
    assert not issubclass(torch.jit.Error, RuntimeError)  # torch's is a plain Exception too


@pytest.mark.parametrize("value,typ", [
    ([1, 2], List[int]), ([1, "a"], List[int]), ({"a": 1}, Dict[str, int]), ({"a": "b"}, Dict[str, int]),
    (None, Optional[int]), (3, Optional[int]), ((1, "x"), Tuple[int, str]), ((1, 2), Tuple[int, str]),
    (1.5, float), ("s", int),
])
def test_jit_isinstance(value, typ):
    assert jtorch.jit.isinstance(value, typ) == torch.jit.isinstance(value, typ)


def test_save_needs_example_inputs_and_load_needs_an_archive():
    m = jtorch.jit.script(_mlp(jtorch))
    buf = io.BytesIO()
    with pytest.raises(RuntimeError, match="example inputs"):  # (tests/test_jit_archive.py covers the rest)
        jtorch.jit.save(m, buf)
    with pytest.raises(RuntimeError, match="zip archive"):
        jtorch.jit.load(io.BytesIO(b"not an archive"))

"""symbolic_trace against real torch.fx: the same model code traced by both gives the same nodes
(op, name, target), the GraphModules compute what the models compute, and tracing errors are torch's."""
import copy
import pickle
import math  # noqa: F401  (the traced functions below use it)

import numpy as np
import pytest
import torch
import torch.fx as tfx

import jtorch
import jtorch.fx as jfx
from tests.fx.fx_models import pair, INPUTS, structure, np_of


@pytest.mark.parametrize("name", ["MLP", "CNN", "Attention"])
def test_trace_matches_torch_fx(name, rng):
    t, j = pair(name)
    tg, jg = tfx.symbolic_trace(t), jfx.symbolic_trace(j)
    assert structure(jg) == structure(tg)
    x = rng.standard_normal(INPUTS[name]).astype(np.float32)
    want = t(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(np_of(jg(jtorch.tensor(x))), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np_of(j(jtorch.tensor(x))), want, rtol=1e-4, atol=1e-5)
    assert list(jg.state_dict()) == list(tg.state_dict())
    assert type(jg).__name__ == type(tg).__name__ == name


def test_generated_code_is_torchs():
    def f(x, y):
        a = x.size(0)
        z = torch.relu(x + y) * a
        return z.sum(dim=1, keepdim=True), x[:, 0], -y

    def g(x, y):
        a = x.size(0)
        z = jtorch.relu(x + y) * a
        return z.sum(dim=1, keepdim=True), x[:, 0], -y
    tcode = tfx.symbolic_trace(f).code
    jcode = jfx.symbolic_trace(g).code
    assert jcode == tcode
    assert "torch.relu(add)" in jcode


@pytest.mark.parametrize("concrete", [dict(double=True, bias=None, repeat=2), dict(double=False, bias=None, repeat=3)])
def test_concrete_args(concrete, rng):
    t, j = pair("Flagged")
    tg = tfx.symbolic_trace(t, concrete_args=concrete)
    jg = jfx.symbolic_trace(j, concrete_args=concrete)
    assert structure(jg) == structure(tg)
    x = rng.standard_normal(INPUTS["Flagged"]).astype(np.float32)
    kw = {k + "_1": v for k, v in concrete.items()}
    to, tn = tg(torch.from_numpy(x), **kw)
    jo, jn = jg(jtorch.tensor(x), **kw)
    np.testing.assert_allclose(np_of(jo), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert jn == tn
    if "double" in concrete:  # the specialized value is checked at run time, with torch's error
        with pytest.raises(AssertionError) as je:
            jg(jtorch.tensor(x), double_1=not concrete["double"])
        with pytest.raises(AssertionError) as te:
            tg(torch.from_numpy(x), double_1=not concrete["double"])
        assert str(je.value) == str(te.value)


def test_unspecialized_control_flow_raises_trace_error():
    t, j = pair("Flagged")
    with pytest.raises(tfx.proxy.TraceError):
        tfx.symbolic_trace(t, concrete_args={"repeat": 1})
    with pytest.raises(jfx.proxy.TraceError) as e:
        jfx.symbolic_trace(j, concrete_args={"repeat": 1})
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize("body, exc", [
    ("x if x.sum() > 0 else -x", "TraceError"),
    ("[i for i in x]", "TraceError"),
    ("len(x)", "RuntimeError"),
    ("x.shape[0] and x", "TraceError"),
    ("int(x)", "TypeError"),
])
def test_errors_like_torch(body, exc):
    errs = []
    for lib in (tfx, jfx):
        fn = eval(f"lambda x: {body}")
        with pytest.raises(Exception) as e:
            lib.symbolic_trace(fn)
        errs.append(e.value)
    assert type(errs[0]).__name__ == type(errs[1]).__name__ == exc
    assert str(errs[0]) == str(errs[1]) or exc == "TypeError"


def test_functions_with_loops_unpacking_and_math(rng):
    def make(T):
        def f(x, w):
            a, b = x.chunk(2, dim=1)
            d = x.size(-1)
            y = T.cat([a * b, a + b], 1) @ w.T / math.sqrt(d)
            for i in range(2):
                y = y + i
            return T.nn.functional.gelu(y), T.tanh(y).mean()
        return f
    tg, jg = tfx.symbolic_trace(make(torch)), jfx.symbolic_trace(make(jtorch))
    assert structure(jg) == structure(tg)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    for a, b in zip(jg(jtorch.tensor(x), jtorch.tensor(w)), tg(torch.from_numpy(x), torch.from_numpy(w))):
        np.testing.assert_allclose(np_of(a), b.numpy(), rtol=1e-5, atol=1e-6)


def test_varargs_and_dict_outputs(rng):
    def make(T):
        def f(x, *args, **kwargs):
            return {"sum": x + args[0], "k": kwargs["scale"] * x}
        return f
    tg, jg = tfx.symbolic_trace(make(torch)), jfx.symbolic_trace(make(jtorch))
    assert structure(jg) == structure(tg)
    assert jg.code == tg.code


class _Leafy(torch.nn.Module):
    pass


def test_custom_leaf_modules(rng):
    def build(T):
        class Inner(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = T.nn.Linear(3, 3)

            def forward(self, x):
                return self.lin(x).relu()

        class Outer(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = Inner()
                self.out = T.nn.Linear(3, 2)

            def forward(self, x):
                return self.out(self.inner(x) + x)
        return Outer, Inner
    graphs = []
    for T, lib in ((torch, tfx), (jtorch, jfx)):
        Outer, Inner = build(T)

        class LeafInner(lib.Tracer):
            def is_leaf_module(self, m, qualname):
                return isinstance(m, Inner) or super().is_leaf_module(m, qualname)
        m = Outer()
        graphs.append((lib.GraphModule(m, LeafInner().trace(m)), lib.symbolic_trace(m)))
    (tleaf, tfull), (jleaf, jfull) = graphs
    assert structure(jleaf) == structure(tleaf)
    assert [n.op for n in jleaf.graph.nodes].count("call_module") == 2
    assert structure(jfull) == structure(tfull)


def test_graph_module_copies_compiles_and_saves(rng, tmp_path):
    t, j = pair("CNN")
    gm = jfx.symbolic_trace(j)
    x = jtorch.tensor(rng.standard_normal(INPUTS["CNN"]).astype(np.float32))
    want = np_of(j(x))
    # parameters are the module's own (shared, like torch's)
    assert gm.head.weight is j.head.weight
    dup = copy.deepcopy(gm)
    assert dup.head.weight is not gm.head.weight
    np.testing.assert_allclose(np_of(dup(x)), want, rtol=1e-5, atol=1e-6)
    with jtorch.no_grad():
        dup.head.weight.mul_(2)
    np.testing.assert_allclose(np_of(gm(x)), want, rtol=1e-5, atol=1e-6)
    assert dup.code == gm.code
    back = pickle.loads(pickle.dumps(gm))
    assert back.code == gm.code and type(back).__name__ == "CNN"
    np.testing.assert_allclose(np_of(back(x)), want, rtol=1e-5, atol=1e-6)
    compiled = jtorch.compile(gm)
    for _ in range(2):
        np.testing.assert_allclose(np_of(compiled(x)), want, rtol=1e-4, atol=1e-5)
    # training through the GraphModule reaches the original parameters
    gm.train()
    loss = gm(x).pow(2).sum()
    loss.backward()
    assert j.head.weight.grad is not None
    # state_dict round trip through torch's file format
    jtorch.save(gm.state_dict(), tmp_path / "gm.pt")
    sd = torch.load(tmp_path / "gm.pt")
    assert list(sd) == list(tfx.symbolic_trace(t).state_dict())
    text = str(gm)
    assert text.startswith("CNN(") and "def forward(self, x):" in text


def test_wrap_and_math_autowrap(rng):
    import tests.fx.fx_wrapped as W
    jg = jfx.symbolic_trace(W.jtorch_fn)
    tg = tfx.symbolic_trace(W.torch_fn)
    assert structure(jg) == structure(tg)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(np_of(jg(jtorch.tensor(x))), tg(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-6)
    # nothing stays patched after a trace
    assert jtorch.add is jtorch._dispatch.REGISTRY["add"]
    assert W.helper.__name__ == "helper" and W.math.sqrt is math.sqrt


def test_eager_dispatch_untouched_outside_traces():
    from jtorch.nn import Module
    before = (Module.__call__, Module.__getattr__, jtorch.Tensor.add, jtorch.nn.functional.relu, jtorch.relu)
    jfx.symbolic_trace(lambda x: jtorch.relu(x).add(1))
    assert before == (Module.__call__, Module.__getattr__, jtorch.Tensor.add, jtorch.nn.functional.relu, jtorch.relu)
    with pytest.raises(ValueError):
        jfx.symbolic_trace(lambda x: jtorch.relu(x) if x.sum() > 0 else x)
    assert before == (Module.__call__, Module.__getattr__, jtorch.Tensor.add, jtorch.nn.functional.relu, jtorch.relu)


from jtorch.nn.functional import gelu as _jgelu  # noqa: E402  (imported by name, as scripts do)
from torch.nn.functional import gelu as _tgelu  # noqa: E402


def test_functions_imported_by_name_or_held_in_closures(rng):
    def make(T, gelu):
        relu = T.relu

        def f(x):
            return gelu(relu(x)) * 2
        return f
    jf = make(jtorch, _jgelu)
    tg, jg = tfx.symbolic_trace(make(torch, _tgelu)), jfx.symbolic_trace(jf)
    assert structure(jg) == structure(tg)
    # the module-level name and the closure cells hold the original functions again afterwards
    assert _jgelu is jtorch.nn.functional.gelu is globals()["_jgelu"]
    assert [c.cell_contents for c in jf.__closure__] == [_jgelu, jtorch.relu]
    assert all(type(c.cell_contents).__name__ != "_Recorder" for c in jf.__closure__)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(np_of(jg(jtorch.tensor(x))), tg(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_proxy_reaching_an_op_unrecorded_says_how_to_call_it():
    class Holder:
        pass
    h = Holder()
    h.fn = jtorch.relu  # an attribute of some object: not a name the tracer can see
    with pytest.raises(TypeError, match="torch.fx Proxy"):
        jfx.symbolic_trace(lambda x: h.fn(x))

"""Graph rewriting, Interpreter/Transformer and passes, each done the same way in torch.fx and jtorch.fx."""
import operator

import numpy as np
import pytest
import torch
import torch.fx as tfx

import jtorch
import jtorch.fx as jfx
from tests.fx.fx_models import pair, INPUTS, structure, np_of


def _adds(T):
    class M(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = T.nn.Linear(4, 4)

        def forward(self, x, y):
            a = T.add(self.lin(x), y)
            b = a + x
            return T.relu(b) + 1.5, b.sum(dim=-1)
    return M


def _both_adds(rng):
    torch.manual_seed(0)
    t = _adds(torch)()
    j = _adds(jtorch)()
    j.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = rng.standard_normal((3, 4)).astype(np.float32)
    return t, j, (torch.from_numpy(x), torch.from_numpy(y)), (jtorch.tensor(x), jtorch.tensor(y))


def _close(jouts, touts):
    for a, b in zip(jouts, touts):
        np.testing.assert_allclose(np_of(a), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_transformer_replaces_add_with_mul(rng):
    t, j, targs, jargs = _both_adds(rng)
    results = []
    for lib, T, m in ((tfx, torch, t), (jfx, jtorch, j)):
        class AddToMul(lib.Transformer):
            def call_function(self, target, args, kwargs):
                if target in (operator.add, T.add):
                    target = operator.mul if target is operator.add else T.mul
                return super().call_function(target, args, kwargs)
        results.append(AddToMul(lib.symbolic_trace(m)).transform())
    tg, jg = results
    assert structure(jg) == structure(tg)
    assert "mul" in jg.code and "add" not in jg.code.replace("torch.add", "")
    _close(jg(*jargs), tg(*targs))
    assert list(jg.state_dict()) == list(tg.state_dict())


def test_transformer_calling_torch_functions_on_proxies(rng):
    t, j, targs, jargs = _both_adds(rng)
    results = []
    for lib, T, m in ((tfx, torch, t), (jfx, jtorch, j)):
        class ReluToGelu(lib.Transformer):
            def call_function(self, target, args, kwargs):
                if target == T.relu:  # (torch docs compare with ==)
                    return T.nn.functional.gelu(*args) * 2  # torch functions on the Proxies record nodes
                return super().call_function(target, args, kwargs)
        results.append(ReluToGelu(lib.symbolic_trace(m)).transform())
    tg, jg = results
    assert structure(jg) == structure(tg)
    _close(jg(*jargs), tg(*targs))


def test_graph_surgery_replace_add_with_mul(rng):
    t, j, targs, jargs = _both_adds(rng)
    out = []
    for lib, m in ((tfx, t), (jfx, j)):
        gm = lib.symbolic_trace(m)
        for node in list(gm.graph.nodes):
            if node.op == "call_function" and node.target is operator.add:
                with gm.graph.inserting_after(node):
                    new = gm.graph.call_function(operator.mul, node.args, node.kwargs)
                node.replace_all_uses_with(new)
                gm.graph.erase_node(node)
        gm.graph.lint()
        gm.recompile()
        out.append(gm)
    tg, jg = out
    assert structure(jg) == structure(tg)
    assert jg.code == tg.code
    _close(jg(*jargs), tg(*targs))


def test_inserting_before_and_node_api(rng):
    t, j, targs, jargs = _both_adds(rng)
    out = []
    for lib, T, m in ((tfx, torch, t), (jfx, jtorch, j)):
        gm = lib.symbolic_trace(m)
        g = gm.graph
        relu = next(n for n in g.nodes if n.target is T.relu)
        assert [u.name for u in relu.args[0].users] == ["relu", "sum_1"]
        assert relu.all_input_nodes == [relu.args[0]]
        with g.inserting_before(relu):
            neg = g.call_method("neg", (relu.args[0],))
            sig = g.call_function(T.sigmoid, (neg,))
        relu.args = (sig,)
        relu.meta["tag"] = "rewired"
        g.lint()
        gm.recompile()
        out.append(gm)
        assert relu.meta == {"tag": "rewired"} or "tag" in relu.meta
    tg, jg = out
    assert structure(jg) == structure(tg)
    _close(jg(*jargs), tg(*targs))


def test_eliminate_dead_code_and_errors():
    outs = []
    for lib, T in ((tfx, torch), (jfx, jtorch)):
        g = lib.Graph()
        x = g.placeholder("x")
        dead = g.call_function(T.relu, (x,))
        g.call_method("sum", (dead,))
        live = g.call_function(operator.mul, (x, 2))
        g.output(live)
        with pytest.raises(RuntimeError) as e:
            g.erase_node(dead)
        assert "still had 1 users" in str(e.value)
        assert g.eliminate_dead_code() is True
        assert g.eliminate_dead_code() is False
        outs.append([(n.op, n.name) for n in g.nodes])
        # a node used before it is defined fails lint, with torch's exception type
        bad = lib.Graph()
        a = bad.placeholder("a")
        b = bad.call_function(operator.neg, (a,))
        c = bad.call_function(operator.neg, (b,))
        bad.output(c)
        b.prepend(c)
        with pytest.raises(RuntimeError):
            bad.lint()
    assert outs[0] == outs[1] == [("placeholder", "x"), ("call_function", "mul"), ("output", "output")]


def test_built_graph_code_and_names_match_torch():
    srcs = []
    for lib, T in ((tfx, torch), (jfx, jtorch)):
        g = lib.Graph()
        x = g.placeholder("x")
        y = g.placeholder("layers.0")
        a = g.call_function(operator.add, (x, y))
        b = g.call_function(T.add, (a, 1), {"alpha": 2})
        c = g.call_method("sum", (b,))
        d = g.create_node("call_function", T.add, (c, c), name="add")
        e = g.create_node("call_function", T.add, (d, d), name="add_1")
        f = g.call_function(operator.getitem, (e, slice(None, 2)))
        h = g.create_node("call_method", "__add__", (f, f))
        g.output((h, T.float32, float("inf")))
        srcs.append(([n.name for n in g.nodes], str(g)))
    assert srcs[0] == srcs[1]


def test_interpreter_overrides(rng):
    t, j, targs, jargs = _both_adds(rng)
    results = []
    for lib, T, m in ((tfx, torch, t), (jfx, jtorch, j)):
        seen = []

        class Swap(lib.Interpreter):
            def run_node(self, n):
                seen.append(n.op)
                return super().run_node(n)

            def call_function(self, target, args, kwargs):
                if target is operator.add:
                    return args[0] - args[1]
                return super().call_function(target, args, kwargs)
        gm = lib.symbolic_trace(m)
        results.append((Swap(gm).run(*(targs if lib is tfx else jargs)), seen,
                        lib.Interpreter(gm).run(*(targs if lib is tfx else jargs))))
    (tr, tseen, tplain), (jr, jseen, jplain) = results
    assert tseen == jseen
    _close(jr, tr)
    _close(jplain, tplain)
    _close(jplain, j(*jargs))
    with pytest.raises(RuntimeError):  # a missing argument without a default
        jfx.Interpreter(jfx.symbolic_trace(j)).run(jargs[0])


def test_shape_prop_matches_torch(rng):
    from torch.fx.passes.shape_prop import ShapeProp as TShapeProp
    from jtorch.fx.passes.shape_prop import ShapeProp as JShapeProp
    t, j = pair("CNN")
    tg, jg = tfx.symbolic_trace(t), jfx.symbolic_trace(j)
    x = rng.standard_normal(INPUTS["CNN"]).astype(np.float32)
    TShapeProp(tg).propagate(torch.from_numpy(x))
    JShapeProp(jg).propagate(jtorch.tensor(x))
    for tn, jn in zip(tg.graph.nodes, jg.graph.nodes):
        tm, jm = tn.meta.get("tensor_meta"), jn.meta.get("tensor_meta")
        assert (tm is None) == (jm is None), tn.name
        if tm is not None:
            assert tuple(jm.shape) == tuple(tm.shape) and str(jm.dtype) == str(tm.dtype), tn.name
            assert tuple(jm.stride) == tuple(tm.stride) and jm.requires_grad == tm.requires_grad, tn.name


def test_proxy_over_an_existing_graph():
    # torch's "Proxy/Retracing" recipe: new nodes through Proxies of a graph being built
    outs = []
    for lib, T in ((tfx, torch), (jfx, jtorch)):
        g = lib.Graph()
        tracer = lib.proxy.GraphAppendingTracer(g)
        x = lib.Proxy(g.placeholder("x"), tracer)
        y = (x * 2).relu() + x.shape[0]
        g.output(y.node)
        gm = lib.GraphModule(T.nn.Module(), g)
        outs.append((structure(gm), gm(T.tensor([[-1.0, 2.0]])).tolist()))
    assert outs[0] == outs[1]


def test_placeholder_defaults_print_like_torch():
    texts = []
    for lib in (tfx, jfx):
        g = lib.Graph()
        g.placeholder("a")
        b = g.placeholder("b", default_value=None)
        c = g.placeholder("c", default_value=3)
        g.output((b, c))
        texts.append((str(g), [n.args for n in g.nodes][:3]))
    assert texts[0] == texts[1]

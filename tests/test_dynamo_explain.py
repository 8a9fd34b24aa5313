"""torch._dynamo.explain and graph_break against real torch: the same functions (written once, over
either library) give torch's graph and break counts, ops per graph and break reasons."""
import logging
import warnings

import numpy as np
import pytest
import torch as real

import jtorch as torch


def _program(T, name):
    """Test functions over library ``T`` (real torch or jtorch), by name."""
    def no_break(x):
        return T.sin(x) + x * 2

    def user_break(x):
        y = T.sin(x)
        T._dynamo.graph_break()
        return T.cos(y)

    def break_first(x):
        T._dynamo.graph_break()
        return x.sin()

    def item_break(x):
        y = T.sin(x)
        v = y.sum().item()
        return y * v

    def two_items(x):
        y = T.sin(x)
        z = y * y.sum().item()
        return z + z.max().item()

    def float_break(x):
        return x * float(x.sum())

    def branch(x):
        y = x.sin()
        if (y * 0 + 1).sum() > 0:  # always taken, in both libraries
            y = T.tanh(y)
        return y.cos()

    def tolist_break(x):
        y = T.sin(x)
        return T.cos(y), y.tolist()

    def printing(x):
        y = T.sin(x)
        print(end="")
        return T.cos(y)

    def identity(x):
        return x

    def inner(x):
        y = T.sin(x)
        T._dynamo.graph_break()
        return T.cos(y)

    def nested(x):
        return inner(x) + 1

    def nested_twice(x):
        return T.exp(inner(inner(T.tan(x))))

    def loop_break(x):
        x = T.sin(x)
        for _ in range(2):
            x = T.cos(x)
            T._dynamo.graph_break()
        return T.tan(x)

    def calls_in_loop(x):
        x = T.tan(x)
        for _ in range(2):
            x = inner(x)
        return T.exp(x)

    def inner_loop(x):
        y = T.sin(x)
        for _ in range(2):
            T._dynamo.graph_break()
        return T.cos(y)

    def calls_inner_loop(x):
        return T.exp(inner_loop(T.tan(x)))

    lin = T.nn.Linear(3, 2)

    def module_ops(x):
        return T.nn.functional.relu(lin(x)).sum()

    def operators(x):
        return 2 * x, x[0], -x, x @ x, x.T, x.shape[0] * x

    def grad_mode(x):
        with T.no_grad():
            y = x * 2
        return y + 1

    def tuples(x):
        v, i = x.max(dim=0)
        return v + i.float(), x.chunk(2)

    def setitem(x):
        y = x.clone()
        y[0] = 1.0
        return T.sin(y) + x.dim()

    def backward(x):
        y = T.sin(x).sum()
        y.backward()
        return x.grad * 2
    return locals()[name]


NAMES = ["no_break", "user_break", "break_first", "item_break", "two_items", "float_break", "branch",
         "tolist_break", "printing", "identity", "nested", "nested_twice", "loop_break", "calls_in_loop",
         "calls_inner_loop", "module_ops", "operators", "grad_mode", "tuples", "setitem", "backward"]


def _summary(e):
    return (e.graph_count, e.graph_break_count, e.op_count, len(e.graphs),
            [[getattr(op, "__name__", str(op)) for op in ops] for ops in e.ops_per_graph],
            [br.reason.splitlines()[0] for br in e.break_reasons])


@pytest.fixture(scope="module")
def quiet_torch():
    real._logging.set_logs(dynamo=logging.ERROR)
    yield
    real._logging.set_logs()


@pytest.mark.parametrize("name", NAMES)
def test_explain_counts_match_torch(name, rng, quiet_torch):
    x = rng.standard_normal(3).astype(np.float32)
    grad = name == "backward"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = real._dynamo.explain(_program(real, name))(real.tensor(x, requires_grad=grad))
    got = torch._dynamo.explain(_program(torch, name))(torch.tensor(x, requires_grad=grad))
    assert type(got).__name__ == "ExplainOutput"
    assert _summary(got) == _summary(want)


def test_explain_output_report(rng):
    x = torch.tensor(rng.standard_normal(4).astype(np.float32))
    e = torch._dynamo.explain(_program(torch, "item_break"))(x)
    text = str(e)
    lines = text.splitlines()
    assert lines[:4] == ["Graph Count: 2", "Graph Break Count: 1", "Op Count: 2", "Break Reasons:"]
    assert "  Break Reason 1:" in lines and "    User Stack:" in lines
    assert "Ops per Graph:" in lines and "  Ops 2:" in lines and "Out Guards:" in lines
    assert any(line.startswith("Compile Times: ") for line in lines)
    # the user frame of the break, as torch's FrameSummary prints it
    assert "in item_break>" in text and __file__ in text
    assert {g.create_fn_name for g in e.out_guards} >= {"GRAD_MODE", "TENSOR_MATCH"}
    assert isinstance(e.compile_times, str)


def test_explain_graphs_are_graph_modules(rng):
    x = rng.standard_normal(3).astype(np.float32)
    e = torch._dynamo.explain(_program(torch, "user_break"))(torch.tensor(x))
    first, second = e.graphs
    assert [n.op for n in first.graph.nodes] == ["placeholder", "call_function", "output"]
    assert next(iter(first.graph.nodes)).target == "L_x_"  # (torch names its placeholders so)
    # the pieces run: the second graph on the first one's output gives the function's result
    (mid,) = first(torch.tensor(x))
    (out,) = second(mid)
    np.testing.assert_allclose(out.numpy(), np.cos(np.sin(x)), rtol=1e-6)


def test_explain_deprecated_form_and_compiled_function(rng):
    x = torch.tensor(rng.standard_normal(3).astype(np.float32))
    f = _program(torch, "item_break")
    with pytest.warns(FutureWarning):
        e = torch._dynamo.explain(f, x)
    assert (e.graph_count, e.graph_break_count) == (2, 1)
    e = torch._dynamo.explain(torch.compile(f))(x)  # the compiled function's own function is explained
    assert (e.graph_count, e.graph_break_count) == (2, 1)
    # explain leaves Tensor's methods and the __torch_function__ switch as they were
    from jtorch import _dispatch
    assert _dispatch.TORCH_FUNCTION is False
    assert torch.Tensor.item.__name__ == "item" and (x * 2).sum().item() == pytest.approx(float(x.sum()) * 2)


def test_explain_break_reason_user_stack(rng, quiet_torch):
    x = rng.standard_normal(3).astype(np.float32)
    want = real._dynamo.explain(_program(real, "nested"))(real.tensor(x))
    got = torch._dynamo.explain(_program(torch, "nested"))(torch.tensor(x))
    assert [[(fs.name, fs.lineno) for fs in br.user_stack] for br in got.break_reasons] == \
        [[(fs.name, fs.lineno) for fs in br.user_stack] for br in want.break_reasons]


def test_graph_break_eager_is_noop(rng):
    x = rng.standard_normal(3).astype(np.float32)
    want = _program(real, "user_break")(real.tensor(x))
    got = _program(torch, "user_break")(torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_graph_break_under_compile(rng):
    x = rng.standard_normal(3).astype(np.float32)
    want = _program(real, "user_break")(real.tensor(x))
    f = torch.compile(_program(torch, "user_break"))
    with pytest.warns(UserWarning, match="graph_break"):
        outs = [f(torch.tensor(x)) for _ in range(3)]  # the first call is eager; the second breaks
    for out in outs:
        np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-6)


def test_graph_break_fullgraph_raises_like_torch(rng):
    x = rng.standard_normal(3).astype(np.float32)
    with pytest.raises(real._dynamo.exc.Unsupported):
        real.compile(_program(real, "user_break"), fullgraph=True)(real.tensor(x))
    with pytest.raises(torch._dynamo.exc.Unsupported, match="graph_break"):
        torch.compile(_program(torch, "user_break"), fullgraph=True)(torch.tensor(x))


def _block(T, with_break):
    class Block(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = T.nn.Linear(4, 4)
            self.bn = T.nn.BatchNorm1d(4)

        def forward(self, x, scale=2.0):
            y = T.nn.functional.softmax(self.bn(self.lin(x)), dim=-1)
            if with_break:
                scale = scale * y.max().item()
            z = y[:, 1:].to(T.float64) * scale
            return T.zeros(2, dtype=T.float32), z.sum(dim=1, keepdim=True)
    return Block()


@pytest.mark.parametrize("with_break", [False, True])
def test_explain_module_matches_torch(with_break, rng, quiet_torch):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = real._dynamo.explain(_block(real, with_break))(real.tensor(x), scale=3.0)
    got = torch._dynamo.explain(_block(torch, with_break))(torch.tensor(x), scale=3.0)
    assert _summary(got) == _summary(want)
    # the module's own tensors are placeholders named as torch names them
    names = [n.target for n in got.graphs[0].graph.nodes if n.op == "placeholder"]
    assert "L_self_modules_lin_parameters_weight_" in names


def test_explain_torch_module_directly(rng, quiet_torch):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    want = real._dynamo.explain(real.nn.Linear(4, 2))(real.tensor(x))
    got = torch._dynamo.explain(torch.nn.Linear(4, 2))(torch.tensor(x))
    assert _summary(got) == _summary(want)


@pytest.mark.parametrize("name", ["item_break", "float_break", "tolist_break", "branch"])
def test_explain_capture_scalar_outputs(name, rng, quiet_torch):
    x = rng.standard_normal(3).astype(np.float32)
    summaries = []
    for T, t in ((real, real.tensor(x)), (torch, torch.tensor(x))):
        T._dynamo.config.capture_scalar_outputs = True
        try:
            summaries.append(_summary(T._dynamo.explain(_program(T, name))(t)))
        finally:
            T._dynamo.config.capture_scalar_outputs = False
    want, got = summaries
    assert got == want


def test_explain_traces_into_compiled_functions(rng, quiet_torch):
    x = rng.standard_normal(3).astype(np.float32)

    def outer(T):
        helper = T.compile(lambda x: x.sin() * 2)
        return lambda x: helper(helper(x)) + 1
    summaries = []
    for T, t in ((real, real.tensor(x)), (torch, torch.tensor(x))):
        f = outer(T)
        f(t)
        f(t)  # (jtorch's helper has its program by now)
        summaries.append(_summary(T._dynamo.explain(f)(t)))
    want, got = summaries
    assert got == want

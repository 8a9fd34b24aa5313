"""torch.compiler.set_stance, disable, allow_in_graph, assume_constant_result, is_exporting and the
torch._dynamo dimension markers, against real torch."""
import logging
import warnings

import numpy as np
import pytest
import torch as real
from torch._dynamo.testing import CompileCounter

import jtorch as torch


@pytest.fixture(autouse=True)
def default_stance():
    real._logging.set_logs(dynamo=logging.ERROR)
    yield
    real.compiler.set_stance("default")
    torch.compiler.set_stance("default")
    real._logging.set_logs()


def _pair(rng, *shape):
    x = rng.standard_normal(shape).astype(np.float32)
    return real.tensor(x), torch.tensor(x)


def _step(x):
    return x.sin() * 2


def _both(rng, dynamic=False):
    """The same function compiled by torch (counting its compiles) and by jtorch, warmed up on one
    shape (a torch compile; jtorch's eager first call and its first program)."""
    cnt = CompileCounter()
    want = real.compile(_step, backend=cnt, dynamic=dynamic)
    got = torch.compile(_step, dynamic=dynamic)
    a, b = _pair(rng, 3)
    for _ in range(2):
        np.testing.assert_allclose(got(b).numpy(), want(a).numpy(), rtol=1e-6)
    return want, got, cnt


def test_force_eager_runs_eagerly(rng):
    want, got, cnt = _both(rng)
    before, compiles = cnt.frame_count, got.compiles
    a, b = _pair(rng, 5)
    with real.compiler.set_stance("force_eager"), torch.compiler.set_stance("force_eager"):
        np.testing.assert_allclose(got(b).numpy(), want(a).numpy(), rtol=1e-6)
        assert real.compiler.is_compiling() is torch.compiler.is_compiling() is False
    assert cnt.frame_count == before and got.compiles == compiles


def test_fail_on_recompile(rng):
    want, got, cnt = _both(rng)
    real.compiler.set_stance("fail_on_recompile")
    torch.compiler.set_stance("fail_on_recompile")
    a, b = _pair(rng, 3)  # the shape already compiled: fine
    np.testing.assert_allclose(got(b).numpy(), want(a).numpy(), rtol=1e-6)
    a, b = _pair(rng, 5)
    with pytest.raises(RuntimeError) as expected:
        want(a)
    with pytest.raises(RuntimeError) as err:
        got(b)
    head = "Detected recompile when torch.compile stance is 'fail_on_recompile'. filename:"
    assert str(expected.value).startswith(head) and str(err.value).startswith(head)
    assert "function name: '_step'" in str(err.value)


def test_fail_on_recompile_of_a_function_never_called(rng):
    a, b = _pair(rng, 2)
    with real.compiler.set_stance("fail_on_recompile"), pytest.raises(RuntimeError, match="fail_on_recompile"):
        real.compile(lambda x: x + 1, backend=CompileCounter())(a)
    with torch.compiler.set_stance("fail_on_recompile"), pytest.raises(RuntimeError, match="fail_on_recompile"):
        torch.compile(lambda x: x + 1)(b)


def test_eager_on_recompile(rng):
    want, got, cnt = _both(rng)
    before, compiles = cnt.frame_count, got.compiles
    with real.compiler.set_stance("eager_on_recompile"), torch.compiler.set_stance("eager_on_recompile"):
        for n in (5, 3):
            a, b = _pair(rng, n)
            np.testing.assert_allclose(got(b).numpy(), want(a).numpy(), rtol=1e-6)
    assert cnt.frame_count == before and got.compiles == compiles


def test_set_stance_forms_restore(rng):
    from jtorch.compile import _STANCE
    from torch._dynamo import eval_frame

    @real.compiler.set_stance("force_eager")
    def real_inside():
        return eval_frame._stance.stance

    @torch.compiler.set_stance("force_eager")
    def inside():
        return _STANCE[0]
    assert eval_frame._stance.stance == _STANCE[0] == "default"  # decorating sets nothing
    assert real_inside() == inside() == "force_eager"
    assert eval_frame._stance.stance == _STANCE[0] == "default"
    with real.compiler.set_stance("eager_on_recompile"), torch.compiler.set_stance("eager_on_recompile"):
        assert eval_frame._stance.stance == _STANCE[0] == "eager_on_recompile"
    assert eval_frame._stance.stance == _STANCE[0] == "default"


def test_unknown_stance_raises_at_the_call(rng):
    a, b = _pair(rng, 2)
    real.compiler.set_stance("bogus")  # accepted here, refused by the next compiled call
    torch.compiler.set_stance("bogus")
    with pytest.raises(RuntimeError, match="invalid torch.compile stance"):
        real.compile(lambda x: x + 1, backend=CompileCounter())(a)
    with pytest.raises(RuntimeError, match="invalid torch.compile stance"):
        torch.compile(lambda x: x + 1)(b)


def _with_helper(T):
    @T.compiler.disable
    def helper(x):
        return x + (1 if T.compiler.is_compiling() else 2)

    def f(x):
        return helper(x) * (10 if T.compiler.is_compiling() else 20)
    return f


def test_disable_and_is_compiling(rng):
    a, b = _pair(rng, 3)
    want = real.compile(_with_helper(real), backend=CompileCounter())
    got = torch.compile(_with_helper(torch))
    w = want(a)
    g = [got(b) for _ in range(3)]  # jtorch: the first call eager, the second traces, the third runs
    # compiled: is_compiling() is True in the function, False in the disabled helper
    np.testing.assert_allclose(w.numpy(), ((a + 2) * 10).numpy(), rtol=1e-6)
    np.testing.assert_allclose(g[2].numpy(), w.numpy(), rtol=1e-6)
    assert real.compiler.is_compiling() is torch.compiler.is_compiling() is False
    # compiling a disabled function gives it back
    helper = torch.compiler.disable(lambda x: x * 3)
    assert torch.compile(helper) is helper
    np.testing.assert_allclose(helper(b).numpy(), (a * 3).numpy())


def test_allow_in_graph_and_assume_constant_result(rng):
    def scale():
        return 3.0
    for T in (real, torch):
        assert T.compiler.allow_in_graph(scale) is scale
        assert T.compiler.assume_constant_result(scale) is scale
        assert T._dynamo.allow_in_graph([scale]) == [scale]
    a, b = _pair(rng, 4)

    def f(T):
        return lambda x: T.sin(x) * scale()
    want = real.compile(f(real), backend=CompileCounter())
    got = torch.compile(f(torch))
    for _ in range(2):
        np.testing.assert_allclose(got(b).numpy(), want(a).numpy(), rtol=1e-6)


def test_dimension_markers_match_torch(rng):
    a, b = _pair(rng, 3, 4)
    for T, t in ((real, a), (torch, b)):
        T._dynamo.mark_dynamic(t, 0)
        T._dynamo.mark_dynamic(t, [1], min=2, max=9)
        T._dynamo.maybe_mark_dynamic(t, 1)
    assert b._dynamo_dynamic_indices == a._dynamo_dynamic_indices == {0, 1}
    assert b._dynamo_weak_dynamic_indices == a._dynamo_weak_dynamic_indices == {1}
    assert {(r.dim, r.min, r.max) for r in b._dynamo_dynamic_range} == \
        {(r.dim, r.min, r.max) for r in a._dynamo_dynamic_range}
    c, d = _pair(rng, 2, 2)
    real._dynamo.mark_static(c)
    torch._dynamo.mark_static(d)
    assert d._dynamo_static_indices == c._dynamo_static_indices == {0, 1}
    with pytest.raises(AttributeError):
        real._dynamo.mark_dynamic(3, 0)
    with pytest.raises(AttributeError):
        torch._dynamo.mark_dynamic(3, 0)


def test_marked_dynamic_inputs_compile_correctly(rng):
    f = torch.compile(lambda x: x.cos().sum(0))
    for n in (4, 5, 6):
        a, b = _pair(rng, n, 2)
        torch._dynamo.mark_dynamic(b, 0)
        np.testing.assert_allclose(f(b).numpy(), a.cos().sum(0).numpy(), rtol=1e-5)


def test_is_exporting(rng):
    def module(T, seen):
        class M(T.nn.Module):
            def forward(self, x):
                seen.append((T.compiler.is_exporting(), T.compiler.is_compiling(), T.compiler.is_dynamo_compiling()))
                return x + 1
        return M()
    a, b = _pair(rng, 2)
    want, got = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real.export.export(module(real, want), (a,))
    torch.export.export(module(torch, got), (b,))
    assert want[-1] == got[-1] == (True, True, False)
    assert real.compiler.is_exporting() is torch.compiler.is_exporting() is False


def test_fail_on_recompile_limit_hit(rng):
    def run(T, f):
        cfg = T._dynamo.config
        old = cfg.recompile_limit, cfg.fail_on_recompile_limit_hit
        cfg.recompile_limit, cfg.fail_on_recompile_limit_hit = 2, True
        try:
            with pytest.raises(T._dynamo.exc.FailOnRecompileLimitHit) as err:
                for n in range(1, 6):  # a new shape each call
                    f(T.ones(n))
        finally:
            cfg.recompile_limit, cfg.fail_on_recompile_limit_hit = old
        return str(err.value), n
    want, n_real = run(real, real.compile(lambda x: x + 1, backend=CompileCounter(), dynamic=False))
    got, n = run(torch, torch.compile(lambda x: x + 1, dynamic=False))
    assert got == want == "Hard failure due to fail_on_recompile_limit_hit"
    # torch compiles at the first call; jtorch runs that one eagerly and has one program fewer by then
    assert (n_real, n) == (3, 4)


def test_optimized_module_type(rng):
    a, b = _pair(rng, 3, 2)
    results = []
    for T, x in ((real, a), (torch, b)):
        T.manual_seed(0)
        model = T.nn.Linear(2, 2)
        compiled = T.compile(model)
        OptimizedModule = T._dynamo.eval_frame.OptimizedModule
        assert OptimizedModule is T._dynamo.OptimizedModule
        assert isinstance(compiled, OptimizedModule) and isinstance(T.compile(T.nn.ReLU()), OptimizedModule)
        assert not isinstance(model, OptimizedModule)
        # the idiom scripts use before saving: unwrap the compiled module
        plain = compiled._orig_mod if isinstance(compiled, OptimizedModule) else compiled
        assert plain is model
        results.append((type(compiled).__name__, repr(compiled), list(compiled.state_dict())))
    assert results[0] == results[1]


def test_error_on_recompile(rng):
    def run(T, f):
        cfg = T._dynamo.config
        cfg.error_on_recompile = True
        try:
            outs = [f(T.ones(2)) for _ in range(3)]  # one shape: never a recompile
            with pytest.raises(T._dynamo.exc.RecompileError) as err:
                f(T.ones(3))
        finally:
            cfg.error_on_recompile = False
        return outs[-1], str(err.value)

    def step(x):
        return x * 3
    want, want_msg = run(real, real.compile(step, backend=CompileCounter(), dynamic=False))
    got, msg = run(torch, torch.compile(step, dynamic=False))
    np.testing.assert_allclose(got.numpy(), want.numpy())
    assert msg.splitlines()[0] == want_msg.splitlines()[0]  # Recompiling function step in <file>:<line>
    assert issubclass(torch._dynamo.exc.RecompileError, torch._dynamo.exc.TorchDynamoException)


def test_config_defaults_and_compiler_helpers():
    for name in ["optimize_ddp", "capture_dynamic_output_shape_ops", "verbose", "accumulated_recompile_limit",
                 "accumulated_cache_size_limit", "compiled_autograd", "force_parameter_static_shapes",
                 "guard_nn_modules", "error_on_recompile", "suppress_errors", "automatic_dynamic_shapes",
                 "assume_static_by_default", "specialize_int", "specialize_float", "recompile_limit",
                 "cache_size_limit", "fail_on_recompile_limit_hit", "capture_scalar_outputs"]:
        assert getattr(torch._dynamo.config, name) == getattr(real._dynamo.config, name), name
    assert torch.compiler.cudagraph_mark_step_begin() is real.compiler.cudagraph_mark_step_begin() is None

    def index_of(a, b):
        return list(a).index(b)
    assert torch.compiler.substitute_in_graph(index_of)(index_of)([3, 4], 4) == 1
    region = torch.compiler.nested_compile_region(lambda x: x * 2)
    assert region(3) == real.compiler.nested_compile_region(lambda x: x * 2)(3) == 6

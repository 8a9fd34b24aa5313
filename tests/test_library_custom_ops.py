"""torch.library.custom_op / register_fake / register_autograd / register_kernel / opcheck against torch:
the same operators are defined under both libraries by one function taking the torch module."""
import types
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both

NS = "jt_lib_test"  # torch keeps custom ops for the whole process: one namespace for this file


def define_ops(lib):
    """mysin (numpy-backed, fake + autograd), addone_ (mutates its input), two (several results, int and
    keyword-only arguments, autograd), nograd (no formula), cpu_only / cuda_only (device kernels)."""
    Tensor = lib.Tensor

    @lib.library.custom_op(f"{NS}::mysin", mutates_args=())
    def mysin(x: Tensor) -> Tensor:
        return lib.from_numpy(np.sin(x.numpy()))

    @mysin.register_fake
    def _(x):
        return lib.empty_like(x)

    def sin_setup(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    def sin_backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * x.cos()

    mysin.register_autograd(sin_backward, setup_context=sin_setup)

    @lib.library.custom_op(f"{NS}::addone_", mutates_args={"x"})
    def addone_(x: Tensor) -> None:
        x.copy_(lib.from_numpy(x.numpy() + 1))

    @addone_.register_fake
    def _(x):
        return None

    @lib.library.custom_op(f"{NS}::two", mutates_args=())
    def two(x: Tensor, k: int, *, scale: float = 2.0) -> tuple[Tensor, Tensor]:
        return x * k, (x * scale).exp()

    @two.register_fake
    def _(x, k, *, scale=2.0):
        return lib.empty_like(x), lib.empty_like(x)

    def two_setup(ctx, inputs, keyword_only_inputs, output):
        x, k = inputs
        ctx.k, ctx.scale = k, keyword_only_inputs["scale"]
        ctx.save_for_backward(output[1])

    def two_backward(ctx, g0, g1):
        e, = ctx.saved_tensors
        return g0 * ctx.k + g1 * e * ctx.scale, None

    lib.library.register_autograd(f"{NS}::two", two_backward, setup_context=two_setup)

    @lib.library.custom_op(f"{NS}::nograd", mutates_args=())
    def nograd(x: Tensor) -> Tensor:
        return x * 3

    @lib.library.custom_op(f"{NS}::cuda_only", mutates_args=(), device_types="cuda")
    def cuda_only(x: Tensor) -> Tensor:
        return x + 1

    @lib.library.custom_op(f"{NS}::ident", mutates_args=())
    def ident(x: Tensor) -> Tensor:
        return x

    return types.SimpleNamespace(mysin=mysin, addone_=addone_, two=two, nograd=nograd, cuda_only=cuda_only,
                                 ident=ident)


@pytest.fixture(scope="module")
def ops():
    return define_ops(torch), define_ops(jtorch)


def test_values_and_ops_namespace(rng, ops):
    T, J = ops
    t, j = both(rng.standard_normal((3, 4)).astype(np.float32))
    assert_close(J.mysin(j), T.mysin(t))
    for m, x, ref in ((torch, t, T.mysin(t)), (jtorch, j, None)):
        packet = getattr(m.ops, NS).mysin
        out = packet(x), packet.default(x)
        for o in out:
            if ref is not None:
                assert_close(J.mysin(j), o)
    assert_close(getattr(jtorch.ops, NS).mysin.default(j), T.mysin(t))
    # several results, int and keyword-only arguments
    assert_close(J.two(j, 3, scale=0.5), T.two(t, 3, scale=0.5))
    assert_close(getattr(jtorch.ops, NS).two(j, k=2), getattr(torch.ops, NS).two(t, k=2))


def test_overload_objects_match_torch(ops):
    for name in ("mysin", "two", "addone_"):
        tp, jp = getattr(getattr(torch.ops, NS), name), getattr(getattr(jtorch.ops, NS), name)
        assert jp.overloads() == tp.overloads()
        assert str(jp.default._schema) == str(tp.default._schema)
        assert jp.default.name() == tp.default.name()
        assert jp.default.__name__ == tp.default.__name__
        assert str(jp.default) == str(tp.default) and str(jp) == str(tp)
        assert repr(jp) == repr(tp) and repr(jp.default) == repr(tp.default)
        assert jp._qualified_op_name == tp._qualified_op_name
        assert jp.default.namespace == tp.default.namespace
    T, J = ops
    assert repr(J.mysin) == repr(T.mysin)
    assert J.mysin._opoverload is jtorch.ops.jt_lib_test.mysin.default


def test_gradients(rng, ops):
    T, J = ops
    t, j = both(rng.standard_normal((5,)).astype(np.float32), requires_grad=True)
    yt, yj = T.mysin(t), J.mysin(j)
    assert yj.requires_grad and type(yj.grad_fn).__name__ == type(yt.grad_fn).__name__
    (yt * yt).sum().backward()
    (yj * yj).sum().backward()
    assert_close(j.grad, t.grad)
    # several results, gradient through both
    t.grad = j.grad = None
    at, bt = T.two(t, 3, scale=0.5)
    aj, bj = J.two(j, 3, scale=0.5)
    (at.sum() + (bt * bt).sum()).backward()
    (aj.sum() + (bj * bj).sum()).backward()
    assert_close(j.grad, t.grad, rtol=1e-5)


def test_gradcheck(rng, ops):
    T, J = ops
    x = rng.standard_normal((4,))
    for m, op in ((torch, T.mysin), (jtorch, J.mysin)):
        inp = m.tensor(x, dtype=m.float64, requires_grad=True)
        assert m.autograd.gradcheck(op, (inp,))
        assert m.autograd.gradcheck(lambda v: op.__call__(v) * 2, (inp,))


def test_backward_without_formula_raises(rng, ops):
    T, J = ops
    for op, m in ((T.nograd, torch), (J.nograd, jtorch)):
        x = m.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
        y = op(x)
        assert y.requires_grad
        with pytest.raises(RuntimeError, match="no autograd formula was registered"):
            y.sum().backward()
    # without grad the op just runs
    t, j = both(rng.standard_normal(3).astype(np.float32))
    assert_close(J.nograd(j), T.nograd(t))


def test_mutating_op(rng, ops):
    T, J = ops
    t, j = both(rng.standard_normal((2, 3)).astype(np.float32))
    assert T.addone_(t) is None and J.addone_(j) is None
    assert_close(j, t)
    getattr(jtorch.ops, NS).addone_.default(j)
    getattr(torch.ops, NS).addone_.default(t)
    assert_close(j, t)
    assert str(getattr(jtorch.ops, NS).addone_.default._schema) == f"{NS}::addone_(Tensor(a0!) x) -> ()"


def test_fake_on_meta(ops):
    T, J = ops
    for m, o in ((torch, T), (jtorch, J)):
        x = m.empty(3, 5, device="meta")
        y = o.mysin(x)
        assert y.is_meta and tuple(y.shape) == (3, 5)
        a, b = o.two(x, 2)
        assert a.is_meta and b.is_meta and tuple(b.shape) == (3, 5)
        with pytest.raises(RuntimeError, match="no fake impl registered"):
            o.nograd(x)


def test_device_kernels(rng, ops):
    T, J = ops
    t, j = both(rng.standard_normal(3).astype(np.float32))
    for op, x in ((T.cuda_only, t), (J.cuda_only, j)):
        with pytest.raises(NotImplementedError, match="Could not run"):
            op(x)
    for m, op in ((torch, T.cuda_only), (jtorch, J.cuda_only)):
        op.register_kernel("cpu")(lambda x: x * 5)
    assert_close(J.cuda_only(j), T.cuda_only(t))
    for m in (torch, jtorch):
        m.library.register_kernel(f"{NS}::cuda_only", "cpu", lambda x: x - 1)
    assert_close(J.cuda_only(j), T.cuda_only(t))


def test_call_errors(rng, ops):
    T, J = ops
    t, j = both(rng.standard_normal(3).astype(np.float32))
    for o, x in ((T, t), (J, j)):
        with pytest.raises(RuntimeError, match="Expected a value of type 'Tensor' for argument 'x'"):
            o.mysin(3)
        with pytest.raises(RuntimeError, match=r"expected at most 1 argument\(s\) but received 2"):
            o.mysin(x, x)
        with pytest.raises(RuntimeError, match="is missing value for argument 'x'"):
            o.mysin()
        with pytest.raises(RuntimeError, match="Expected a value of type 'int' for argument 'k'"):
            o.two(x, 2.5)
        with pytest.raises(RuntimeError, match="must not also be an input to this custom operator"):
            o.ident(x)


def test_ops_namespace_errors(ops):
    for m in (torch, jtorch):
        with pytest.raises(AttributeError, match=f"'_OpNamespace' '{NS}' object has no attribute 'nothere'"):
            getattr(m.ops, NS).nothere
        with pytest.raises(AttributeError, match=f"The underlying op of '{NS}.mysin' has no overload name 'x'"):
            getattr(m.ops, NS).mysin.x


def _definition_errors(m, name):
    Tensor = m.Tensor
    errors = []

    def attempt(fn):
        try:
            fn()
        except Exception as e:
            errors.append(type(e))
        else:
            errors.append(None)

    def no_mutates():
        m.library.custom_op(f"{NS}::{name}_a")(lambda x: x)

    def no_annotation():
        @m.library.custom_op(f"{NS}::{name}_b", mutates_args=())
        def f(x):
            return x

    def bad_annotation():
        @m.library.custom_op(f"{NS}::{name}_c", mutates_args=())
        def f(x: dict) -> Tensor:
            return x

    def mutate_int():
        @m.library.custom_op(f"{NS}::{name}_d", mutates_args={"k"})
        def f(x: Tensor, k: int) -> Tensor:
            return x

    def mutate_unknown_name():
        @m.library.custom_op(f"{NS}::{name}_e", mutates_args={"y"})
        def f(x: Tensor) -> Tensor:
            return x

    def no_return_annotation():
        @m.library.custom_op(f"{NS}::{name}_f", mutates_args=())
        def f(x: Tensor):
            return x

    def varargs():
        @m.library.custom_op(f"{NS}::{name}_g", mutates_args=())
        def f(x: Tensor, *rest) -> Tensor:
            return x

    def no_namespace():
        @m.library.custom_op(f"{name}_h", mutates_args=())
        def f(x: Tensor) -> Tensor:
            return x

    for fn in (no_mutates, no_annotation, bad_annotation, mutate_int, mutate_unknown_name, no_return_annotation,
               varargs, no_namespace):
        attempt(fn)
    return errors


def test_definition_errors():
    assert _definition_errors(jtorch, "jt") == _definition_errors(torch, "pt")


def test_redefining_a_custom_op_replaces_it(rng):
    t, j = both(rng.standard_normal(3).astype(np.float32))
    for m, x in ((torch, t), (jtorch, j)):
        Tensor = m.Tensor

        @m.library.custom_op(f"{NS}::redef", mutates_args=())
        def first(x: Tensor) -> Tensor:
            return x + 1

        @m.library.custom_op(f"{NS}::redef", mutates_args=())
        def second(x: Tensor) -> Tensor:
            return x * 10

        out = getattr(m.ops, NS).redef(x)
        assert np.allclose(np.asarray(out), np.asarray(x) * 10)


@pytest.mark.parametrize("case", range(4))
def test_infer_schema_matches_torch(case):
    def make(m):
        Tensor = m.Tensor
        if case == 0:
            def f(x: Tensor, y: int, z: float = 2.0, *, w: bool = False, s: str = "a",
                  o: Tensor | None = None) -> tuple[Tensor, Tensor]:
                pass
            return f, ()
        if case == 1:
            def f(x: Tensor, ys: list[Tensor], n: int | None = None, sc: int | float | bool = 1,
                  d: m.dtype = m.float32, sizes: list[int] | None = None) -> list[Tensor]:
                pass
            return f, {"x", "ys"}
        if case == 2:
            def f(x: Tensor, o: Tensor | None = None) -> None:
                pass
            return f, "unknown"
        def f(x: Tensor) -> int:
            pass
        return f, ()

    (ft, mt), (fj, mj) = make(torch), make(jtorch)
    assert jtorch.library.infer_schema(fj, mutates_args=mj) == torch.library.infer_schema(ft, mutates_args=mt)
    assert jtorch.library.infer_schema(fj, op_name="foo", mutates_args=mj) == \
        torch.library.infer_schema(ft, op_name="foo", mutates_args=mt)


def test_opcheck(rng, ops):
    T, J = ops
    t, j = both(rng.standard_normal((3,)).astype(np.float32))
    assert jtorch.library.opcheck(J.mysin, (j,)) == torch.library.opcheck(T.mysin, (t,))
    assert jtorch.library.opcheck(J.two, (j, 2), {"scale": 1.5}) == torch.library.opcheck(T.two, (t, 2),
                                                                                         {"scale": 1.5})
    # an op that writes an argument its schema does not declare mutated fails test_schema in both
    for m, x in ((torch, t), (jtorch, j)):
        Tensor = m.Tensor

        @m.library.custom_op(f"{NS}::sneaky", mutates_args=())
        def sneaky(x: Tensor) -> Tensor:
            x.add_(1)
            return x.clone()

        sneaky.register_fake(lambda x: m.empty_like(x))
        res = m.library.opcheck(sneaky, (x.clone(),), test_utils="test_schema", raise_exception=False)
        assert isinstance(res["test_schema"], Exception)
        with pytest.raises(Exception) as e:
            m.library.opcheck(sneaky, (x.clone(),), test_utils="test_schema")
        assert type(e.value).__name__ == "OpCheckError"


# ---------------------------------------------------------------- jtorch.compile
def test_compile_runs_opaque_op_in_one_program(rng, ops):
    T, J = ops
    x_np = rng.standard_normal(5).astype(np.float32)
    w_np = rng.standard_normal(5).astype(np.float32)
    tw = torch.tensor(w_np, requires_grad=True)
    jw = jtorch.tensor(w_np, requires_grad=True)

    def make_step(o, w):
        def step(x):
            w.grad = None
            loss = (o.mysin(x * w) ** 2).sum()
            loss.backward()
            return loss
        return step

    ref = make_step(T, tw)
    step = jtorch.compile(make_step(J, jw), fullgraph=True)  # a graph break would raise
    for _ in range(3):
        lt = ref(torch.tensor(x_np))
        lj = step(jtorch.tensor(x_np))
        assert_close(lj, lt, rtol=1e-5)
        assert_close(jw.grad, tw.grad, rtol=1e-5)


def test_compile_mutating_op(rng, ops):
    T, J = ops

    def f(o, a):
        b = a * 2
        o.addone_(b)
        return b + a

    cf = jtorch.compile(lambda a: f(J, a), fullgraph=True)
    for _ in range(3):
        t, j = both(rng.standard_normal(4).astype(np.float32))
        assert_close(cf(j), f(T, t))


def test_compile_without_fake_breaks_graph(rng):
    Tensor = jtorch.Tensor

    @jtorch.library.custom_op(f"{NS}::nofake", mutates_args=())
    def nofake(x: Tensor) -> Tensor:
        return jtorch.from_numpy(np.cos(x.numpy()))

    cf = jtorch.compile(lambda x: nofake(x) + 1)
    x_np = rng.standard_normal(3).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            out = cf(jtorch.tensor(x_np))
            assert_close(out, torch.cos(torch.tensor(x_np)) + 1)
    assert any("graph break" in str(w.message) for w in caught)
    with pytest.raises(Exception, match="graph break"):
        strict = jtorch.compile(lambda x: nofake(x) + 1, fullgraph=True)
        for _ in range(2):
            strict(jtorch.tensor(x_np))


# ---------------------------------------------------------------- fx / export
def test_fx_and_export_record_the_op(rng, ops):
    """A custom op (and a torch.ops.aten overload) is one call_function node on its OpOverload, as in torch."""
    T, J = ops
    x_np = rng.standard_normal((2, 3)).astype(np.float32)
    targets, outs = [], []
    for m, o in ((torch, T), (jtorch, J)):
        m.manual_seed(0)

        class M(m.nn.Module):
            def forward(self, x):
                return o.mysin(x * 2) + m.ops.aten.relu.default(x)

        x = m.tensor(x_np)
        gm = m.fx.symbolic_trace(M())
        targets.append([str(n.target) for n in gm.graph.nodes if n.op == "call_function" and "." in str(n.target)
                        and "built-in" not in str(n.target)])
        ep = m.export.export(M(), (x,))
        assert any(n.target is getattr(m.ops, NS).mysin.default for n in ep.graph.nodes)
        outs.append((gm(x), ep.module()(x)))
    assert targets[1] == targets[0] == [f"{NS}.mysin.default", "aten.relu.default"]
    assert_close(outs[1][0], outs[0][0])
    assert_close(outs[1][1], outs[0][1])


# ---------------------------------------------------------------- jtorch.func transforms
def test_func_vmap_and_grad(rng, ops):
    """vmap runs the opaque kernel per example (torch: its sequential fallback); func.grad uses the registered
    formula. torch 2.13's func.grad refuses custom ops, so its eager backward is the oracle for the gradient."""
    T, J = ops
    t, j = both(rng.standard_normal((4, 3)).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.func.vmap(T.mysin)(t)
    assert_close(jtorch.func.vmap(J.mysin)(j), ref)
    tg = t.clone().requires_grad_(True)
    (T.mysin(tg) ** 2).sum().backward()
    assert_close(jtorch.func.grad(lambda v: (J.mysin(v) ** 2).sum())(j), tg.grad, rtol=1e-5)
    assert_close(jtorch.func.vmap(jtorch.func.grad(lambda v: (J.mysin(v) ** 2).sum()))(j), tg.grad, rtol=1e-5)


def test_data_dependent_output_size(rng):
    """A fake that asks get_ctx() for a data-dependent size: meta inputs raise torch's error; under
    jtorch.compile the function runs eagerly (its result shape is not static)."""
    x_np = (rng.standard_normal(6) > 0).astype(np.float32)
    outs = []
    for m in (torch, jtorch):
        Tensor = m.Tensor

        @m.library.custom_op(f"{NS}::nonzero_np", mutates_args=())
        def nonzero_np(x: Tensor) -> Tensor:
            return m.from_numpy(np.stack(np.nonzero(x.numpy()), axis=1).astype(np.int64))

        @nonzero_np.register_fake
        def _(x):
            n = m.library.get_ctx().new_dynamic_size()
            return x.new_empty(n, x.dim(), dtype=m.int64)

        with pytest.raises(RuntimeError, match="data-dependent shape"):
            nonzero_np(m.empty(3, device="meta"))
        outs.append(nonzero_np(m.tensor(x_np)))
        if m is jtorch:
            cf = jtorch.compile(lambda v: nonzero_np(v * 1))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                for _ in range(2):
                    assert_close(cf(m.tensor(x_np)), outs[0])
            assert any("graph break" in str(w.message) for w in caught)
    assert_close(outs[1], outs[0])


def test_list_optional_and_explicit_schema(rng):
    xs_np = [rng.standard_normal(3).astype(np.float32) for _ in range(3)]
    w_np = rng.standard_normal(3).astype(np.float32)
    res = []
    for m in (torch, jtorch):
        Tensor = m.Tensor

        @m.library.custom_op(f"{NS}::weighted_sum", mutates_args=(), device_types="cpu")
        def weighted_sum(xs: list[Tensor], w: Tensor | None = None, *, bias: float = 0.0) -> Tensor:
            s = m.stack(xs).sum(0)
            return (s if w is None else s * w) + bias

        @m.library.custom_op(f"{NS}::scaled", mutates_args=(), schema="(Tensor x, float s) -> Tensor")
        def scaled(x, s):
            return x * s

        xs = [m.tensor(a) for a in xs_np]
        res.append((weighted_sum(xs), weighted_sum(xs, m.tensor(w_np), bias=0.5), scaled(xs[0], 3.0),
                    str(getattr(m.ops, NS).weighted_sum.default._schema),
                    str(getattr(m.ops, NS).scaled.default._schema)))
    for a, b in zip(res[1], res[0]):
        if isinstance(b, str):
            assert a == b
        else:
            assert_close(a, b)


def test_out_style_op_without_fake(rng):
    """The tutorial's ``numpy_sin(x, out)``: an op that returns nothing needs no fake (torch makes one), so
    opcheck passes and jtorch.compile keeps it in the program."""
    x_np = rng.standard_normal(5).astype(np.float32)
    results = []
    for m in (torch, jtorch):
        Tensor = m.Tensor

        @m.library.custom_op(f"{NS}::numpy_sin_out", mutates_args={"out"})
        def numpy_sin_out(x: Tensor, out: Tensor) -> None:
            np.sin(x.numpy(), out=out.numpy())

        x, out = m.tensor(x_np), m.empty(5)
        numpy_sin_out(x, out)
        results.append((out, m.library.opcheck(numpy_sin_out, (x, m.empty(5)))))
        meta_out = m.empty(5, device="meta")
        assert numpy_sin_out(m.empty(5, device="meta"), meta_out) is None
    assert_close(results[1][0], results[0][0])
    assert results[1][1] == results[0][1]

    def f(x):
        out = jtorch.zeros(5)
        jtorch.ops.jt_lib_test.numpy_sin_out(x * 2, out)
        return out + 1

    cf = jtorch.compile(f, fullgraph=True)
    for _ in range(2):
        assert_close(cf(jtorch.tensor(x_np)), torch.sin(torch.tensor(x_np) * 2) + 1)


def test_register_vmap(rng):
    """With a registered rule, vmap calls the kernel once on the whole batch (the rule here), in both."""
    x_np = rng.standard_normal((4, 3)).astype(np.float32)
    outs, counts = [], []
    for m in (torch, jtorch):
        Tensor = m.Tensor
        calls = []

        @m.library.custom_op(f"{NS}::vsin", mutates_args=())
        def vsin(x: Tensor) -> Tensor:
            calls.append(tuple(x.shape))
            return m.from_numpy(np.sin(x.numpy()))

        vsin.register_fake(lambda x: m.empty_like(x))

        def rule(info, in_dims, x):
            assert info.batch_size == 3
            return vsin(x), in_dims[0]

        m.library.register_vmap(f"{NS}::vsin", rule)
        outs.append(m.vmap(vsin, in_dims=1)(m.tensor(x_np)))
        counts.append(len(calls))
    assert_close(outs[1], outs[0])
    assert counts == [1, 1]

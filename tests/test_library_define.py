"""torch.library.Library(ns, kind).define/impl, torch.library.define/impl: schema-first operators, against
torch (values, gradients through composite kernels, schemas, errors)."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both

NS = "jt_libdef_test"


def define_library(m):
    lib = m.library.Library(NS, "DEF")
    names = [lib.define("mycos(Tensor x) -> Tensor"),
             lib.define("myadd.Tensor(Tensor x, Tensor y, *, Scalar alpha=1) -> Tensor"),
             lib.define("scaled(Tensor x, float s=0.5) -> Tensor")]
    lib.impl("mycos", lambda x: m.cos(x), "CompositeImplicitAutograd")
    lib.impl("myadd.Tensor", lambda x, y, alpha=1: x + alpha * y, "CPU")
    lib.impl("scaled", lambda x, s=0.5: x * s, "CompositeExplicitAutograd")
    frag = m.library.Library(NS, "FRAGMENT")
    m.library.define(f"{NS}::viadef", "(Tensor x, int k) -> Tensor", lib=frag)

    @m.library.impl(f"{NS}::viadef", "cpu", lib=frag)
    def _(x, k):
        return x * k

    return lib, frag, names


@pytest.fixture(scope="module")
def libs():
    return define_library(torch), define_library(jtorch)


def test_define_returns_names(libs):
    (_, _, tn), (_, _, jn) = libs
    assert jn == tn == ["mycos", "myadd", "scaled"]


def test_values(rng, libs):
    t, j = both(rng.standard_normal((3, 4)).astype(np.float32))
    t2, j2 = both(rng.standard_normal((3, 4)).astype(np.float32))
    T, J = getattr(torch.ops, NS), getattr(jtorch.ops, NS)
    assert_close(J.mycos(j), T.mycos(t))
    assert_close(J.myadd(j, j2, alpha=2), T.myadd(t, t2, alpha=2))
    assert_close(J.myadd.Tensor(j, j2), T.myadd.Tensor(t, t2))
    assert_close(J.scaled(j), T.scaled(t))
    assert_close(J.scaled.default(j, 3.0), T.scaled.default(t, 3.0))
    assert_close(J.viadef(j, 4), T.viadef(t, 4))


def test_schemas_and_overloads(libs):
    T, J = getattr(torch.ops, NS), getattr(jtorch.ops, NS)
    for name in ("mycos", "myadd", "scaled", "viadef"):
        assert getattr(J, name).overloads() == getattr(T, name).overloads()
        for ov in getattr(T, name).overloads():
            assert str(getattr(getattr(J, name), ov)._schema) == str(getattr(getattr(T, name), ov)._schema)
            assert getattr(getattr(J, name), ov).name() == getattr(getattr(T, name), ov).name()


def test_composite_implicit_kernel_is_differentiable(rng, libs):
    t, j = both(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    (getattr(torch.ops, NS).mycos(t) ** 2).sum().backward()
    (getattr(jtorch.ops, NS).mycos(j) ** 2).sum().backward()
    assert_close(j.grad, t.grad)


def test_meta_through_composite_kernel(libs):
    for m in (torch, jtorch):
        y = getattr(m.ops, NS).mycos(m.empty(2, 3, device="meta"))
        assert y.is_meta and tuple(y.shape) == (2, 3)


def test_errors(libs):
    (tl, tf, _), (jl, jf, _) = libs
    for m, lib, frag in ((torch, tl, tf), (jtorch, jl, jf)):
        with pytest.raises(RuntimeError, match="same name and overload name multiple times"):
            lib.define("mycos(Tensor x) -> Tensor")
        with pytest.raises(RuntimeError):
            lib.define("bad schema here")
        with pytest.raises(RuntimeError, match="unknown type specifier"):
            lib.define("bad2(Tensor x) -> Tensorx")
        with pytest.raises(RuntimeError, match="Only a single TORCH_LIBRARY"):
            m.library.Library(NS, "DEF")
        with pytest.raises(ValueError, match="Unsupported kind"):
            m.library.Library(NS, "BAD")
        impl_lib = m.library.Library(NS, "IMPL")
        with pytest.raises(RuntimeError, match="Cannot define an operator inside of a TORCH_LIBRARY_IMPL"):
            impl_lib.define("x(Tensor a) -> Tensor")
        frag.define("nokernel(Tensor x) -> Tensor")
        with pytest.raises(NotImplementedError, match="Could not run"):
            getattr(m.ops, NS).nokernel(m.ones(2))
        with pytest.raises(RuntimeError, match="Expected a value of type 'int' for argument 'k'"):
            getattr(m.ops, NS).viadef(m.ones(2), 1.5)


def test_impl_library_adds_a_kernel(rng, libs):
    (tl, tf, _), (jl, jf, _) = libs
    t, j = both(rng.standard_normal(3).astype(np.float32))
    keep = []  # torch drops a Library's registrations when the object goes
    for m, frag in ((torch, tf), (jtorch, jf)):
        frag.define("later(Tensor x) -> Tensor")
        keep.append(m.library.Library(NS, "IMPL"))
        keep[-1].impl("later", lambda x: x * 7, "CPU")
    assert_close(getattr(jtorch.ops, NS).later(j), getattr(torch.ops, NS).later(t))


def test_register_fake_and_autograd_on_defined_op(rng):
    """torch.library.register_fake / register_autograd by qualified name on a Library-defined op with a numpy
    CPU kernel (which then runs below autograd)."""
    ns = NS + "_reg"
    x = rng.standard_normal(4)
    outs, grads = [], []
    for m in (torch, jtorch):
        lib = m.library.Library(ns, "DEF")
        lib.define("numpy_exp(Tensor x) -> Tensor")
        lib.impl("numpy_exp", lambda x: m.from_numpy(np.exp(x.detach().numpy())), "CPU")
        m.library.register_fake(f"{ns}::numpy_exp", lambda x: m.empty_like(x))
        y = getattr(m.ops, ns).numpy_exp(m.empty(2, 2, device="meta"))
        assert y.is_meta and tuple(y.shape) == (2, 2)
        inp = m.tensor(x, dtype=m.float32)
        outs.append(getattr(m.ops, ns).numpy_exp(inp))
        m.library.register_autograd(f"{ns}::numpy_exp", lambda ctx, g: g * ctx.saved_tensors[0],
                                    setup_context=lambda ctx, inputs, output: ctx.save_for_backward(output))
        inp.requires_grad_(True)
        (getattr(m.ops, ns).numpy_exp(inp) * 3).sum().backward()
        grads.append(inp.grad)
    assert_close(outs[1], outs[0])
    assert_close(grads[1], grads[0])


def test_defined_op_with_fake_under_compile(rng):
    """A Library-defined op with a numpy kernel and a fake stays in the compiled program (no graph break)."""
    ns = NS + "_compile"
    lib = jtorch.library.Library(ns, "DEF")
    lib.define("numpy_tanh(Tensor x) -> Tensor")
    lib.impl("numpy_tanh", lambda x: jtorch.from_numpy(np.tanh(x.numpy())), "CPU")
    jtorch.library.register_fake(f"{ns}::numpy_tanh", lambda x: jtorch.empty_like(x))
    cf = jtorch.compile(lambda x: getattr(jtorch.ops, ns).numpy_tanh(x * 2) + 1, fullgraph=True)
    x_np = rng.standard_normal(4).astype(np.float32)
    for _ in range(2):
        assert_close(cf(jtorch.tensor(x_np)), torch.tanh(torch.tensor(x_np) * 2) + 1)

"""Which kernel of a torch.library operator runs, by dispatch key (CPU, CUDA, CompositeExplicitAutograd,
CompositeImplicitAutograd, Meta, Autograd, fallthrough_kernel), for plain, grad-requiring and meta inputs;
fake registration (register_fake, Library._register_fake, impl_abstract) and custom_op's device_types and
mutates_args; each against torch."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close

NS = "jt_libkeys_test"

# op name -> {dispatch key: multiplier of the kernel registered there} (0: a Meta kernel, empty_like)
COMBOS = {
    "cpu": {"CPU": 3}, "explicit": {"CompositeExplicitAutograd": 4}, "implicit": {"CompositeImplicitAutograd": 5},
    "cpu_implicit": {"CPU": 3, "CompositeImplicitAutograd": 5},
    "cpu_explicit": {"CPU": 3, "CompositeExplicitAutograd": 4},
    "explicit_implicit": {"CompositeExplicitAutograd": 4, "CompositeImplicitAutograd": 5},
    "cuda": {"CUDA": 6}, "cuda_implicit": {"CUDA": 6, "CompositeImplicitAutograd": 5},
    "cpu_meta": {"CPU": 3, "Meta": 0}, "meta_implicit": {"Meta": 0, "CompositeImplicitAutograd": 5},
    "explicit_meta": {"CompositeExplicitAutograd": 4, "Meta": 0},
    "cpu_fallthrough_autograd": {"CPU": 3, "Autograd": None},
    "cpu_fallthrough_autocast": {"CPU": 3, "AutocastCPU": None, "ADInplaceOrView": None},
    "fallthrough_cpu_implicit": {"CPU": None, "CompositeImplicitAutograd": 5},
}


def build(m, ran):
    lib = m.library.Library(NS, "DEF")
    for name, keys in COMBOS.items():
        lib.define(f"{name}(Tensor x) -> Tensor")
        for key, c in keys.items():
            if c is None:
                fn = m.library.fallthrough_kernel
            elif c == 0:
                def fn(x, key=key):
                    ran.append(key)
                    return m.empty_like(x)
            else:
                def fn(x, key=key, c=c):
                    ran.append(key)
                    return x * c
            lib.impl(name, fn, key)
    return lib


@pytest.fixture(scope="module")
def libs():
    ran_t, ran_j = [], []
    return (build(torch, ran_t), ran_t), (build(jtorch, ran_j), ran_j)


def outcome(m, ran, name, rng_values, device=None):
    """(kernels that ran, value, requires_grad, gradient) or the exception type's name."""
    op = getattr(getattr(m.ops, NS), name)
    ran.clear()
    try:
        if device == "meta":
            y = op(m.empty(2, 3, device="meta"))
            return list(ran), tuple(y.shape), y.is_meta
        x = m.tensor(rng_values, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (torch warns where a kernel's gradient is not registered)
            y = op(x)
            kernels = list(ran)
            y.sum().backward()
        return kernels, np.asarray(y.detach().numpy() if m is torch else y.detach()), y.requires_grad, \
            np.asarray(x.grad.numpy() if m is torch else x.grad)
    except Exception as e:  # noqa: BLE001
        return type(e).__name__


@pytest.mark.parametrize("name", list(COMBOS))
def test_kernel_selection_like_torch(libs, rng, name):
    (_, ran_t), (_, ran_j) = libs
    v = rng.standard_normal((2, 3)).astype(np.float32)
    for device in (None, "meta"):
        t, j = outcome(torch, ran_t, name, v, device), outcome(jtorch, ran_j, name, v, device)
        if isinstance(t, str) or isinstance(j, str):
            assert j == t, (name, device, j, t)
            continue
        assert j[0] == t[0], (name, device, "kernels", j[0], t[0])
        for a, b in zip(j[1:], t[1:]):
            if isinstance(b, np.ndarray):
                np.testing.assert_allclose(a, b, rtol=1e-6)
            else:
                assert a == b, (name, device, a, b)


def test_fallthrough_kernel_itself():
    for m in (torch, jtorch):
        with pytest.raises(NotImplementedError, match="should never be called"):
            m.library.fallthrough_kernel()


def test_autograd_kernel_handles_gradients(rng):
    v = rng.standard_normal(4).astype(np.float32)
    results = []
    for m in (torch, jtorch):
        lib = m.library.Library(NS + "_ag", "DEF")
        lib.define("scaled(Tensor x) -> Tensor")

        class Scale(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 5

            @staticmethod
            def backward(ctx, g):
                return g * 7  # deliberately not the derivative: it must be this formula that runs

        lib.impl("scaled", lambda x: Scale.apply(x), "Autograd")
        op = getattr(m.ops, NS + "_ag").scaled
        x = m.tensor(v, requires_grad=True)
        y = op(x)
        y.sum().backward()
        results.append((y, x.grad, op(m.tensor(v))))
        del lib
    for a, b in zip(results[1], results[0]):
        assert_close(a.detach(), b.detach())


def test_register_fake_forms(rng):
    v = rng.standard_normal((2, 5)).astype(np.float32)
    for m in (torch, jtorch):
        ns = NS + "_fake"
        lib = m.library.Library(ns, "DEF")
        ops = getattr(m.ops, ns)
        lib.define("a(Tensor x) -> Tensor")
        lib.impl("a", lambda x: x * 2, "CPU")
        lib._register_fake("a", lambda x: m.empty_like(x).sum(-1))
        assert tuple(ops.a(m.empty(3, 4, device="meta")).shape) == (3,)
        lib._register_fake("a", lambda x: m.empty_like(x))  # a second registration replaces the first
        assert tuple(ops.a(m.empty(3, 4, device="meta")).shape) == (3, 4)
        lib.define("b(Tensor x) -> Tensor")
        lib.impl("b", lambda x: x + 1, "CPU")
        m.library.impl_abstract(f"{ns}::b", lambda x: m.empty(x.shape[0], 1, device=x.device))
        assert tuple(ops.b(m.empty(3, 4, device="meta")).shape) == (3, 1)
        np.testing.assert_allclose(np.asarray(ops.b(m.tensor(v))), v + 1, rtol=1e-6)
        # a CompositeImplicitAutograd op decomposes: no fake for it
        lib.define("c(Tensor x) -> Tensor")
        lib.impl("c", lambda x: x.sin(), "CompositeImplicitAutograd")
        with pytest.raises(RuntimeError, match="CompositeImplicitAutograd kernel"):
            m.library.register_fake(f"{ns}::c", lambda x: x)
        with pytest.raises(RuntimeError, match="does not exist"):
            m.library.register_fake(f"{ns}::nonexistent", lambda x: x)
        del lib


def test_register_fake_with_lib_goes_with_the_library():
    for m in (torch, jtorch):
        ns = NS + "_fakelib"
        lib = m.library.Library(ns, "DEF")
        lib.define("a(Tensor x) -> Tensor")
        lib.impl("a", lambda x: x * 2, "CPU")
        other = m.library.Library(ns, "FRAGMENT")
        m.library.register_fake(f"{ns}::a", lambda x: m.empty_like(x), lib=other)
        assert getattr(m.ops, ns).a(m.empty(2, device="meta")).is_meta
        other._destroy()
        with pytest.raises(NotImplementedError):
            getattr(m.ops, ns).a(m.empty(2, device="meta"))
        del lib


def test_custom_op_device_types(rng):
    v = rng.standard_normal(3).astype(np.float32)

    def make(m, ns):
        def only_cuda(x: m.Tensor) -> m.Tensor:
            return x.clone()

        def only_cpu(x: m.Tensor) -> m.Tensor:
            return x * 2
        return (m.library.custom_op(f"{ns}::only_cuda", only_cuda, mutates_args=(), device_types="cuda"),
                m.library.custom_op(f"{ns}::only_cpu", only_cpu, mutates_args=(), device_types=["cpu"]))

    (tc, tp), (jc, jp) = make(torch, NS + "_dev"), make(jtorch, NS + "_dev")
    assert_close(jp(jtorch.tensor(v)), tp(torch.tensor(v)))
    for f in (tc, jc):
        with pytest.raises(NotImplementedError, match="CPU"):
            f((torch if f is tc else jtorch).tensor(v))

    for m in (torch, jtorch):
        def f(x: m.Tensor) -> m.Tensor:
            return x.clone()
        with pytest.raises(RuntimeError, match="device type at start of device string: tpu"):
            m.library.custom_op(NS + "_dev::bad", f, mutates_args=(), device_types="tpu")
        # a kernel added later for another device type
        op = m.library.custom_op(NS + "_dev::later", f, mutates_args=(), device_types="cuda")
        op.register_kernel("cpu", lambda x: x * 3)
        np.testing.assert_allclose(np.asarray(op(m.tensor(v))), v * 3, rtol=1e-6)


def test_custom_op_mutates_args_forms():
    for m in (torch, jtorch):
        def f(x: m.Tensor) -> m.Tensor:
            return x.clone()
        m.library.custom_op(NS + "_mut::a", f, mutates_args={})  # any iterable of names
        m.library.custom_op(NS + "_mut::b", f, mutates_args=iter(()))
        with pytest.raises(TypeError):
            m.library.custom_op(NS + "_mut::c", f, mutates_args=5)
        with pytest.raises(ValueError, match="'unknown'"):
            m.library.custom_op(NS + "_mut::d", f, mutates_args="x")


def test_public_names_like_torch():
    missing = [n for n in torch.library.__all__ if not hasattr(jtorch.library, n)]
    assert missing == []


def kernel_table(m):
    ns = NS + "_getk"
    lib = m.library.Library(ns, "DEF")
    lib.define("e(Tensor x) -> Tensor")
    lib.impl("e", lambda x: x * 4, "CompositeExplicitAutograd")
    lib.define("i(Tensor x) -> Tensor")
    lib.impl("i", lambda x: x * 5, "CompositeImplicitAutograd")
    lib.define("c(Tensor x, *, float k=3.0) -> Tensor")
    lib.impl("c", lambda x, k=3.0: x * k, "CPU")
    keyset = m._C.DispatchKeySet("CPU")
    out = []
    for op in ("e", "i", "c"):
        for key in ("CPU", "Meta", "CUDA", "CompositeExplicitAutograd", "CompositeImplicitAutograd", "AutogradCPU",
                    m._C.DispatchKey.CPU):
            try:
                kernel = m.library.get_kernel(f"{ns}::{op}", key)
                out.append((op, str(key), kernel.call_boxed(keyset, m.ones(2)).tolist()))
                if op == "c" and key == "CPU":
                    out.append(kernel.call_boxed(keyset, m.ones(2), k=0.5).tolist())
            except Exception as e:  # noqa: BLE001
                out.append((op, str(key), type(e).__name__))
    del lib
    return out


def test_get_kernel_resolves_like_the_dispatcher():
    assert kernel_table(jtorch) == kernel_table(torch)


def test_impl_with_keyset(rng):
    v = rng.standard_normal(3).astype(np.float32)
    res = []
    for m in (torch, jtorch):
        lib = m.library.Library(NS + "_ks", "DEF")
        lib.define("f(Tensor x) -> Tensor")
        seen = []

        def kernel(keyset, x):
            seen.append((repr(keyset), keyset.has(m._C.DispatchKey.CPU), keyset.has(m._C.DispatchKey.CUDA)))
            return x * 2
        lib.impl("f", kernel, "CPU", with_keyset=True)
        res.append((getattr(m.ops, NS + "_ks").f(m.tensor(v)), seen))
        del lib
    assert res[1][1] == res[0][1]
    assert_close(res[1][0], res[0][0])

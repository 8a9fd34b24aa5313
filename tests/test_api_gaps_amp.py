"""The autocast state functions (torch.set_autocast_enabled & co), torch.amp.custom_fwd/custom_bwd, the
torch.amp submodules, torch.functional and torch.nn.utils.stateless, against torch."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import to_np


@pytest.fixture(autouse=True)
def _clean_state():
    """Every test starts and ends with both libraries' autocast state at its defaults."""
    def reset():
        for lib in (torch, jtorch):
            for dev, dt in (("cpu", lib.bfloat16), ("cuda", lib.float16), ("xla", lib.bfloat16),
                            ("ipu", lib.float16)):
                lib.set_autocast_enabled(dev, False)
                lib.set_autocast_dtype(dev, dt)
            lib.set_autocast_cache_enabled(True)
    reset()
    yield
    reset()


def _state(lib):
    return (lib.is_autocast_enabled(), lib.is_autocast_enabled("cpu"), lib.is_autocast_enabled("xla"),
            str(lib.get_autocast_dtype("cpu")), str(lib.get_autocast_dtype("cuda")), str(lib.get_autocast_dtype("xpu")),
            str(lib.get_autocast_dtype("hpu")), lib.is_autocast_cache_enabled())


def _script(lib, x):
    """A run of state changes; the state and a matmul's dtype after each."""
    m = lib.tensor(x)
    seen = []

    def note():
        seen.append(_state(lib) + (str((m @ m).dtype),))
    note()
    lib.set_autocast_enabled("cpu", True)
    note()
    lib.set_autocast_dtype("cpu", lib.float16)
    note()
    lib.set_autocast_enabled("cpu", False)
    note()
    with lib.autocast("cpu"):  # takes the dtype set for the device
        note()
        with lib.autocast("cpu", dtype=lib.bfloat16):
            note()
        note()
    note()
    lib.set_autocast_dtype("cpu", lib.bfloat16)
    lib.set_autocast_enabled(True)  # the one-argument form is CUDA's
    note()
    lib.set_autocast_enabled(False)
    lib.set_autocast_dtype("xla", lib.float16)
    lib.set_autocast_enabled("xla", True)
    lib.set_autocast_cache_enabled(False)
    note()
    return seen


def test_state_functions_follow_torch(rng):
    x = rng.standard_normal((3, 3)).astype(np.float32)
    assert _script(jtorch, x) == _script(torch, x)


def test_deprecated_per_device_forms():
    def run(lib):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.set_autocast_cpu_dtype(lib.float16)
            lib.set_autocast_cpu_enabled(True)
            lib.set_autocast_gpu_dtype(lib.bfloat16)
            lib.set_autocast_ipu_enabled(True)
            lib.set_autocast_ipu_dtype(lib.bfloat16)
            lib.set_autocast_xla_dtype(lib.float16)
            out = (lib.is_autocast_cpu_enabled(), str(lib.get_autocast_cpu_dtype()), str(lib.get_autocast_gpu_dtype()),
                   lib.is_autocast_ipu_enabled(), str(lib.get_autocast_ipu_dtype()), lib.is_autocast_xla_enabled(),
                   str(lib.get_autocast_xla_dtype()), _state(lib))
            lib.set_autocast_cpu_enabled(False)
            lib.set_autocast_ipu_enabled(False)
            lib.set_autocast_ipu_dtype(lib.float16)
        messages = [(m.category, str(m.message).split(" (Triggered")[0]) for m in w]
        return out, messages
    assert run(jtorch) == run(torch)


def test_nesting_counts():
    def run(lib):
        counts = [lib.autocast_increment_nesting(), lib.autocast_increment_nesting()]
        counts += [lib.autocast_decrement_nesting(), lib.autocast_decrement_nesting()]
        with lib.autocast("cpu"):
            counts.append(lib.autocast_increment_nesting())
            counts.append(lib.autocast_decrement_nesting())
        counts.append(lib.autocast_decrement_nesting())
        counts.append(lib.autocast_increment_nesting())
        return counts
    assert run(jtorch) == run(torch)


@pytest.mark.parametrize("call", [
    lambda lib: lib.set_autocast_enabled("cpu", 1), lambda lib: lib.set_autocast_enabled("foo", True),
    lambda lib: lib.set_autocast_enabled(1, True), lambda lib: lib.set_autocast_dtype("cpu", 1),
    lambda lib: lib.set_autocast_dtype("foo", lib.float16), lambda lib: lib.get_autocast_dtype("foo"),
    lambda lib: lib.is_autocast_enabled("foo"), lambda lib: lib.amp.is_autocast_available("foo"),
    lambda lib: lib.amp.custom_fwd(lambda ctx, x: x, device_type=1), lambda lib: lib.amp.custom_fwd(lambda c, x: x),
    lambda lib: lib.amp.custom_bwd(lambda ctx, g: g)])
def test_bad_arguments_raise_torchs_errors(call):
    with pytest.raises(Exception) as te:
        call(torch)
    with pytest.raises(Exception) as je:
        call(jtorch)
    assert je.type is te.type
    if te.type is RuntimeError or te.type is ValueError:
        assert str(je.value) == str(te.value)


@pytest.mark.parametrize("dev", ["cpu", "cuda", "xpu", "mps", "hpu", "meta", "ipu", "xla"])
def test_is_autocast_available(dev):
    assert jtorch.amp.is_autocast_available(dev) == torch.amp.is_autocast_available(dev)


def _custom_function(lib, cast_inputs):
    seen = {}

    class Scale(lib.autograd.Function):
        @staticmethod
        @lib.amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, x, w):
            seen["fwd"] = (str(x.dtype), str(w.dtype), lib.is_autocast_enabled("cpu"))
            ctx.save_for_backward(x, w)
            return x @ w

        @staticmethod
        @lib.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            seen["bwd"] = (str(g.dtype), lib.is_autocast_enabled("cpu"), str(lib.get_autocast_dtype("cpu")))
            return g @ w.t(), x.t() @ g
    return Scale, seen


@pytest.mark.parametrize("cast_inputs", [None, "float32", "float16"])
@pytest.mark.parametrize("in_region", [False, True])
def test_custom_fwd_and_bwd(cast_inputs, in_region, rng):
    a, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    results = []
    for lib in (torch, jtorch):
        fn, seen = _custom_function(lib, None if cast_inputs is None else getattr(lib, cast_inputs))
        x, w = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        with lib.autocast("cpu", dtype=lib.bfloat16, enabled=in_region):
            y = fn.apply(x, w)
        y.float().sum().backward()
        results.append((seen, str(y.dtype), to_np(y.float()), to_np(x.grad), str(x.grad.dtype)))
    (ts, tdt, ty, tg, tgd), (js, jdt, jy, jg, jgd) = results
    assert js == ts and jdt == tdt and jgd == tgd
    np.testing.assert_allclose(jy, ty, rtol=2e-2, atol=2e-2)
    np.testing.assert_allclose(jg, tg, rtol=2e-2, atol=2e-2)


def test_custom_fwd_as_a_decorator_factory_and_cuda_amp_forms():
    for lib in (torch, jtorch):
        deco = lib.amp.custom_fwd(device_type="cpu")
        assert callable(deco)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.cuda.amp.custom_fwd(lambda ctx, x: x)
            lib.cuda.amp.custom_bwd(lambda ctx, g: g)
        assert [m.category for m in w] == [FutureWarning, FutureWarning]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        torch.cuda.amp.custom_fwd(lambda ctx, x: x)
        jtorch.cuda.amp.custom_fwd(lambda ctx, x: x)
    assert str(w[0].message) == str(w[1].message)


def test_amp_submodules():
    import jtorch.amp.autocast_mode as jam
    import jtorch.amp.grad_scaler as jgs
    assert jam.autocast is jtorch.autocast is jtorch.amp.autocast
    assert jgs.GradScaler is jtorch.amp.GradScaler
    assert set(jam.__all__) == set(torch.amp.autocast_mode.__all__)
    for name in torch.amp.autocast_mode.__all__:
        assert hasattr(jam, name)

    def decorated(lib):
        return lib.amp.autocast_mode.autocast_decorator(lib.autocast("cpu"),
                                                        lambda: (lib.is_autocast_enabled("cpu"),))()
    assert decorated(jtorch) == decorated(torch) == (True,)
    assert not jtorch.is_autocast_enabled("cpu")


@pytest.mark.parametrize("name", torch.functional.__all__)
def test_torch_functional_module(name):
    assert getattr(jtorch.functional, name) is getattr(jtorch, name)
    assert jtorch.functional.__all__ == torch.functional.__all__


def test_functional_module_values(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(to_np(jtorch.functional.einsum("ij,jk->ik", jtorch.tensor(a), jtorch.tensor(b))),
                               to_np(torch.functional.einsum("ij,jk->ik", torch.tensor(a), torch.tensor(b))), rtol=1e-6)
    for t, j in zip(torch.functional.split(torch.tensor(b), [1, 2]), jtorch.functional.split(jtorch.tensor(b), [1, 2])):
        np.testing.assert_array_equal(to_np(t), to_np(j))


def test_stateless_functional_call(rng):
    w, x = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    outs = []
    for lib in (torch, jtorch):
        m = lib.nn.Linear(3, 2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = lib.nn.utils.stateless.functional_call(m, {"weight": lib.tensor(w), "bias": lib.zeros(2)},
                                                       (lib.tensor(x),))
        outs.append((to_np(y), [(c.category, str(c.message)) for c in caught]))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-5, atol=1e-6)
    assert outs[1][1] == outs[0][1]
    assert jtorch.nn.utils.stateless.__all__ == torch.nn.utils.stateless.__all__

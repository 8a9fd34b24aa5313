"""torch.version, torch.types, torch.storage, torch.utils.hooks and torch.utils.swap_tensors against torch."""
import collections
import pickle
import typing
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import to_np


def test_version_module_mirrors_a_cpu_build():
    import jtorch.version as jv
    assert jv.__version__ == jtorch.__version__
    if jtorch.cuda.is_available():  # a JAX CUDA backend: its runtime's version, as torch's CUDA builds report
        assert isinstance(jv.cuda, str) and jv.cuda
    else:  # torch's CPU build (the oracle here) says None
        assert jv.cuda is None and torch.version.cuda is None
    for name in ("hip", "rocm", "xpu", "debug"):
        assert getattr(jv, name) == getattr(torch.version, name), name
    assert isinstance(jv.git_version, str)
    with pytest.raises(AttributeError):
        jv.nonexistent


def _alias_args(a):
    """An alias's members with torch's and jtorch's classes named alike, for comparison."""
    args = typing.get_args(a) or (a if isinstance(a, tuple) else (a,))
    return sorted(getattr(x, "__name__", str(x)) for x in args)


@pytest.mark.parametrize("name", ["Number", "Device", "_Number", "py_sym_types", "PySymType", "IntLikeType",
                                  "FloatLikeType", "BoolLikeType", "_size", "_TensorOrTensors", "_bool", "_int",
                                  "_float", "_complex", "_str", "_bytes", "_dtype", "_device", "_layout",
                                  "_qscheme", "Size", "SymInt", "Tensor"])
def test_types_aliases_name_the_same_types(name):
    import jtorch.types as jt
    mine, theirs = getattr(jt, name), getattr(torch.types, name)
    assert _alias_args(mine) == _alias_args(theirs)
    assert jt.__all__ == torch.types.__all__


def test_types_are_usable_for_isinstance():
    import jtorch.types as jt
    for v in (1, 2.5, True, "x", jtorch.ones(1)):
        assert isinstance(v, jt._Number) == isinstance(v, torch.types._Number)
    assert jt._dtype is jtorch.dtype and jt._device is jtorch.device and jt.Size is jtorch.Size


def test_storage_module_has_the_storage_classes():
    import jtorch.storage as js
    assert js.__all__ == torch.storage.__all__
    t = jtorch.arange(4, dtype=jtorch.float32)
    assert isinstance(t.untyped_storage(), js.UntypedStorage)
    assert js.UntypedStorage is jtorch.UntypedStorage and js.TypedStorage is jtorch.TypedStorage
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert isinstance(t.storage(), js.TypedStorage)


def _both_handles(extra):
    """A handle from torch's class and one from jtorch's, on same-shaped dicts."""
    from jtorch.utils.hooks import RemovableHandle as J
    T = torch.utils.hooks.RemovableHandle
    out = []
    for cls in (T, J):
        d, es = collections.OrderedDict(), [collections.OrderedDict() for _ in range(extra)]
        h = cls(d, extra_dict=es if extra > 1 else (es[0] if es else None))
        for x in (d, *es):
            x[h.id] = "hook"
        out.append((h, d, es))
    return out


@pytest.mark.parametrize("extra", [0, 1, 2])
def test_removable_handle_removes_from_every_dict(extra):
    for h, d, es in _both_handles(extra):
        assert len(h.extra_dict_ref) == extra
        with h:
            pass
        assert not d and not any(es)
        h.remove()  # twice is fine


def test_removable_handle_ids_grow_and_pickle_like_torch():
    from jtorch.utils.hooks import RemovableHandle as J
    (th, td, tes), (jh, jd, jes) = _both_handles(1)  # the dicts stay alive while the handles are pickled
    assert J(collections.OrderedDict()).id == jh.id + 1 == J.next_id - 1
    for h in (th, jh):
        state = h.__getstate__()
        assert len(state) == 3 and state[1] == h.id and state[0] == {h.id: "hook"} and state[2] == ({h.id: "hook"},)
        back = pickle.loads(pickle.dumps(h))
        assert back.id == h.id and back.hooks_dict_ref() is None  # the copied dict has no owner
        back.remove()
    with pytest.raises(TypeError):
        J({})  # a plain dict cannot be weakly referenced (torch: TypeError too)
    with pytest.raises(TypeError):
        torch.utils.hooks.RemovableHandle({})


def test_module_and_optimizer_hooks_return_the_shared_handle():
    from jtorch.utils.hooks import RemovableHandle as J
    m = jtorch.nn.Linear(2, 2)
    h = m.register_forward_pre_hook(lambda *a: None)
    assert type(h) is J and len(m._forward_pre_hooks) == 1
    h.remove()
    assert not m._forward_pre_hooks
    opt = jtorch.optim.SGD(m.parameters(), lr=0.1)
    h = opt.register_step_post_hook(lambda *a: None)
    assert type(h) is J
    h.remove()
    assert not opt._optimizer_step_post_hooks


def _hook_warnings(lib, mark):
    t = lib.ones(2, requires_grad=True)

    def hook(g):
        return g
    if mark:
        assert lib.utils.hooks.unserializable_hook(hook) is hook
    t.register_hook(hook)
    out = []
    for x in (t, t * 2, lib.ones(2)):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.utils.hooks.warn_if_has_hooks(x)
        out.append([str(m.message).split(" on tensor")[1] for m in w])
    return out


@pytest.mark.parametrize("mark", [False, True])
def test_warn_if_has_hooks(mark):
    assert _hook_warnings(jtorch, mark) == _hook_warnings(torch, mark)


def _swap_case(lib, a, b):
    t1, t2 = lib.tensor(a), lib.nn.Parameter(lib.tensor(b))
    t1.tag = "t1"
    lib.utils.swap_tensors(t1, t2)
    return t1, t2


def test_swap_tensors_trades_data_class_and_attributes(rng):
    a, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal((2, 2))
    (T1, T2), (J1, J2) = _swap_case(torch, a, b), _swap_case(jtorch, a, b)
    for t, j in ((T1, J1), (T2, J2)):
        assert type(t).__name__ == type(j).__name__
        assert t.dtype == getattr(torch, str(j.dtype).split(".")[1]) and tuple(t.shape) == tuple(j.shape)
        assert t.requires_grad == j.requires_grad and getattr(t, "tag", None) == getattr(j, "tag", None)
        np.testing.assert_array_equal(to_np(t), to_np(j))
    J2.add_(1)  # the swapped objects stay ordinary tensors
    np.testing.assert_allclose(to_np(J2), a + 1)


def _swap_gradients(lib, a, b):
    x = lib.tensor(a, requires_grad=True)
    (x * 2).sum().backward()
    y = lib.tensor(b)
    lib.utils.swap_tensors(x, y)
    (y * 3).sum().backward()  # y is the old leaf now: a fresh graph accumulates into its grad
    return x.grad, y.grad


def test_swap_tensors_moves_grads_and_new_graphs_work(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    (tx, ty), (jx, jy) = _swap_gradients(torch, a, b), _swap_gradients(jtorch, a, b)
    assert tx is None and jx is None
    np.testing.assert_allclose(to_np(jy), to_np(ty))


@pytest.mark.parametrize("lib", [torch, jtorch], ids=["torch", "jtorch"])
def test_swap_tensors_poisons_graphs_built_before(lib):
    x = lib.ones(3, requires_grad=True)
    loss = (x * 2).sum()
    lib.utils.swap_tensors(x, lib.zeros(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="poisoned by swap_tensors"):
        loss.backward()


@pytest.mark.parametrize("lib", [torch, jtorch], ids=["torch", "jtorch"])
def test_swap_tensors_errors(lib):
    import weakref
    t = lib.ones(2)
    ref = weakref.ref(t)  # noqa: F841
    with pytest.raises(RuntimeError, match="weakref"):
        lib.utils.swap_tensors(t, lib.ones(2))

    class Slotted(lib.Tensor):
        __slots__ = ("extra",)
    with pytest.raises(RuntimeError, match="different slots"):
        lib.utils.swap_tensors(Slotted(lib.ones(1)) if lib is torch else Slotted._wrap(lib.ones(1).jax()),
                               lib.ones(1))
    with pytest.raises(AttributeError):
        lib.utils.swap_tensors(lib.ones(1), 3)


@pytest.fixture
def _future_flags():
    yield
    for lib in (torch, jtorch):
        lib.__future__.set_swap_module_params_on_conversion(False)
        lib.__future__.set_overwrite_module_params_on_conversion(False)


def _convert(lib, weight, swap, overwrite):
    """A module converted to float64 under the given switches: what stayed the same object, and the values."""
    lib.__future__.set_swap_module_params_on_conversion(swap)
    lib.__future__.set_overwrite_module_params_on_conversion(overwrite)
    m = lib.nn.Linear(3, 2)
    with lib.no_grad():
        m.weight.copy_(lib.tensor(weight))
        m.bias.zero_()
    m(lib.ones(1, 3)).sum().backward()
    w, g = m.weight, m.weight.grad
    opt = lib.optim.SGD(m.parameters(), lr=0.5)
    m.double()
    seen = (m.weight is w, m.weight.grad is g, type(m.weight).__name__, str(m.weight.dtype), str(m.weight.grad.dtype),
            m.weight.requires_grad, m.weight.grad.requires_grad, opt.param_groups[0]["params"][0] is m.weight,
            lib.__future__.get_swap_module_params_on_conversion(),
            lib.__future__.get_overwrite_module_params_on_conversion())
    return seen, to_np(m.weight), to_np(m(lib.ones(1, 3, dtype=lib.float64)))


@pytest.mark.parametrize("swap,overwrite", [(False, False), (True, False), (False, True), (True, True)])
def test_future_switches_for_module_conversion(swap, overwrite, rng, _future_flags):
    weight = rng.standard_normal((2, 3)).astype(np.float32)
    (ts, tw, ty), (js, jw, jy) = _convert(torch, weight, swap, overwrite), _convert(jtorch, weight, swap, overwrite)
    assert js == ts
    np.testing.assert_array_equal(jw, tw)
    np.testing.assert_allclose(jy, ty, rtol=1e-12)


def test_swapping_conversion_fails_like_torch_on_a_weakly_referenced_parameter(_future_flags):
    import weakref
    for lib in (torch, jtorch):
        lib.__future__.set_swap_module_params_on_conversion(True)
        m = lib.nn.Linear(2, 2)
        ref = weakref.ref(m.weight)  # noqa: F841
        with pytest.raises(RuntimeError, match=r"_apply\(\): Couldn't swap Linear.weight"):
            m.double()


def _manual_backward_hook(lib, a, w, scale_input):
    """torch.utils.hooks.BackwardHook used by hand, as Module.__call__ uses it: what the hooks saw and the grads."""
    lin = lib.nn.Linear(3, 2, bias=False)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(w))
    seen = {}

    def hook(module, grad_input, grad_output):
        seen["grad_input"] = [None if g is None else to_np(g) for g in grad_input]
        seen["grad_output"] = [to_np(g) for g in grad_output]
        return tuple(g * 3 for g in grad_input) if scale_input else None

    def pre_hook(module, grad_output):
        seen["pre"] = [to_np(g) for g in grad_output]
        return (grad_output[0] * 2,)
    bw = lib.utils.hooks.BackwardHook(lin, [hook], [pre_hook])
    x = lib.tensor(a, requires_grad=True)
    (xin,) = bw.setup_input_hook((x,))
    out = bw.setup_output_hook(lin(xin))
    assert type(out.grad_fn).__name__ == "BackwardHookFunctionBackward"
    out.sum().backward()
    return seen, to_np(x.grad), to_np(lin.weight.grad)


@pytest.mark.parametrize("scale_input", [False, True])
def test_backward_hook_class(scale_input, rng):
    a, w = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((2, 3)).astype(np.float32)
    (ts, tx, tw), (js, jx, jw) = (_manual_backward_hook(torch, a, w, scale_input),
                                  _manual_backward_hook(jtorch, a, w, scale_input))
    assert js.keys() == ts.keys()
    for k in ts:
        for t, j in zip(ts[k], js[k]):
            np.testing.assert_allclose(j, t, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jx, tx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jw, tw, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lib", [torch, jtorch], ids=["torch", "jtorch"])
def test_module_backward_hooks_registered_after_forward_do_not_run(lib):
    m = lib.nn.Linear(2, 2)
    calls = []
    m.register_full_backward_hook(lambda *a: calls.append("first"))
    y = m(lib.ones(1, 2, requires_grad=True))
    m.register_full_backward_hook(lambda *a: calls.append("late"))
    y.sum().backward()
    assert calls == ["first"]


def _load_swapped(lib, weight, assign):
    lib.__future__.set_swap_module_params_on_conversion(True)
    m = lib.nn.BatchNorm1d(3)
    w, buf = m.weight, m.running_mean
    sd = {"weight": lib.tensor(weight, dtype=lib.float64), "bias": lib.zeros(3), "running_mean": lib.tensor(weight),
          "running_var": lib.ones(3), "num_batches_tracked": lib.tensor(4)}
    m.load_state_dict(sd, assign=assign)
    seen = (m.weight is w, m.running_mean is buf, type(m.weight).__name__, str(m.weight.dtype),
            m.weight.requires_grad, m.weight is sd["weight"], int(m.num_batches_tracked))
    return seen, to_np(m.weight), to_np(m.running_mean)


@pytest.mark.parametrize("assign", [False, True])
def test_load_state_dict_swaps_under_the_future_switch(assign, rng, _future_flags):
    weight = rng.standard_normal(3).astype(np.float32)
    (ts, tw, tb), (js, jw, jb) = _load_swapped(torch, weight, assign), _load_swapped(jtorch, weight, assign)
    assert js == ts
    np.testing.assert_array_equal(jw, tw)
    np.testing.assert_array_equal(jb, tb)


@pytest.mark.parametrize("how", ["save", "pickle", "deepcopy"])
@pytest.mark.parametrize("parameter", [False, True])
def test_saving_a_tensor_with_hooks_warns_like_torch(how, parameter):
    import copy
    import io

    def run(lib):
        t = lib.nn.Parameter(lib.ones(2)) if parameter else lib.ones(2, requires_grad=True)
        t.register_hook(lambda g: g)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            {"save": lambda: lib.save(t, io.BytesIO()), "pickle": lambda: pickle.dumps(t),
             "deepcopy": lambda: copy.deepcopy(t)}[how]()
        return [str(m.message).split(" on tensor")[1] for m in w if "backward hook" in str(m.message)]
    assert run(jtorch) == run(torch)


def _hooks_after_swap(lib):
    a, b = lib.ones(2, requires_grad=True), lib.zeros(2, requires_grad=True)
    calls = []
    a.register_hook(lambda g: calls.append(("a", to_np(g).tolist())))
    lib.utils.swap_tensors(a, b)
    (b * 2).sum().backward()  # b holds what a was, hooks included
    (a * 3).sum().backward()
    return calls, to_np(a.grad).tolist(), to_np(b.grad).tolist()


def test_swap_tensors_moves_tensor_hooks_with_the_data():
    assert _hooks_after_swap(jtorch) == _hooks_after_swap(torch)

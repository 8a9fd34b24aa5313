"""Inference tensors (torch.inference_mode): is_inference, their errors outside inference mode,
inference_mode(False) and the mode queries, each scenario run through torch and jtorch."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _outcome(fn):
    """(kind, value): an exception's type and message head, or the value converted for comparing."""
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return type(e).__name__, str(e)[:60]
    if isinstance(r, (torch.Tensor, jtorch.Tensor)):
        return "tensor", np.asarray(r.detach().numpy())
    return "value", r


def _same(fj, ft):
    j, t = _outcome(fj), _outcome(ft)
    assert j[0] == t[0], (j, t)
    if j[0] == "tensor":
        np.testing.assert_allclose(j[1], t[1], rtol=1e-5, atol=1e-6)
    else:
        assert j[1] == t[1], (j, t)


def _setup(lib, arr):
    w = lib.tensor(arr[0], requires_grad=True)
    n = lib.tensor(arr[1])
    with lib.inference_mode():
        x = lib.tensor(arr[2]) * 1  # an op result inside the mode
        made = lib.ones(3)
        view_of_normal = n[:2]
        from_normal = n * 2
        n.add_(0.5)  # in place on a normal tensor inside the mode: it stays normal
        inside = (x.is_inference(), made.is_inference(), view_of_normal.is_inference(),
                  from_normal.is_inference(), n.is_inference(), lib.is_grad_enabled(),
                  lib.is_inference_mode_enabled(), lib.ones(2, requires_grad=True).is_inference())
        with lib.inference_mode(False):
            off = (lib.ones(2).is_inference(), lib.is_grad_enabled(), lib.is_inference_mode_enabled(),
                   (x * 2).is_inference())
    return dict(w=w, n=n, x=x, inside=inside, off=off)


SCENARIOS = {
    # queries outside the mode
    "views": lambda s, L: (s["x"][:1].is_inference(), s["x"].view(3).is_inference(), s["x"].detach().is_inference(),
                           s["x"].data.is_inference(), s["x"].t().is_inference()),
    "results_are_normal": lambda s, L: ((s["x"] * 2).is_inference(), s["x"].clone().is_inference(),
                                        L.relu(s["x"]).is_inference(), L.is_inference(s["n"])),
    "mode_flags": lambda s, L: (L.is_inference_mode_enabled(), L.is_grad_enabled()),
    # autograd: an inference tensor a recorded op must save raises, one it need not save is fine
    "add_not_saved": lambda s, L: s["w"] + s["x"],
    "mul_saved": lambda s, L: s["w"] * s["x"],
    "mul_saved_rhs": lambda s, L: s["x"] * s["w"],
    "matmul_saved": lambda s, L: L.matmul(s["w"], s["x"]),
    "dot_saved": lambda s, L: s["w"].dot(s["x"]),
    "exp_times": lambda s, L: s["w"].exp() * s["x"],
    "relu_plus": lambda s, L: L.relu(s["w"]) + s["x"],
    "div_saved": lambda s, L: s["w"] / s["x"],
    "linear_input_no_grad": lambda s, L: L.nn.functional.linear(s["n"][None], s["w"][None] * 1),
    "no_grad_use": lambda s, L: s["w"].detach() * s["x"],
    # in place outside the mode
    "add_": lambda s, L: s["x"].add_(1),
    "mul_": lambda s, L: s["x"].mul_(2),
    "zero_": lambda s, L: s["x"].zero_(),
    "fill_": lambda s, L: s["x"].fill_(2),
    "copy_": lambda s, L: s["x"].copy_(s["n"]),
    "view_fill_": lambda s, L: s["x"][0].fill_(2),
    "setitem": lambda s, L: s["x"].__setitem__(0, 3.0),
    "relu_": lambda s, L: s["x"].relu_(),
    "copy_into_normal": lambda s, L: s["n"].copy_(s["x"]),
    "requires_grad_": lambda s, L: s["x"].requires_grad_(),
    "version": lambda s, L: s["x"]._version,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_inference_tensor_scenario(name, rng):
    arr = rng.standard_normal((3, 3)).astype(np.float32)
    st, sj = _setup(torch, arr), _setup(jtorch, arr)
    assert sj["inside"] == st["inside"]
    assert sj["off"] == st["off"]
    f = SCENARIOS[name]
    _same(lambda: f(sj, jtorch), lambda: f(st, torch))


def test_in_place_inside_mode_and_no_grad(rng):
    arr = rng.standard_normal(4).astype(np.float32)
    for lib in (torch, jtorch):
        with lib.inference_mode():
            x = lib.tensor(arr)
            x.add_(1)  # allowed inside the mode
        with lib.inference_mode():
            x.mul_(2)
        np.testing.assert_allclose(np.asarray(x.numpy()), (arr + 1) * 2, rtol=1e-6)
        with lib.no_grad():
            # no_grad is not inference mode (torch raises after writing; jtorch before: values not compared)
            with pytest.raises(RuntimeError, match="Inplace update to inference tensor"):
                x.mul_(2)


def test_decorators_and_nesting():
    for lib in (torch, jtorch):
        @lib.inference_mode()
        def f():
            return lib.ones(1)

        @lib.inference_mode
        def g():
            return lib.ones(1)

        @lib.inference_mode(False)
        def h():
            return lib.ones(1), lib.is_grad_enabled()

        assert f().is_inference() and g().is_inference()
        with lib.no_grad():
            with lib.inference_mode(False):
                assert lib.is_grad_enabled()  # inference_mode(False) turns grad mode on
            assert not lib.is_grad_enabled()
        with lib.inference_mode():
            t, on = h()
            assert not t.is_inference() and on and lib.is_inference_mode_enabled()
        assert not lib.is_inference_mode_enabled() and lib.is_grad_enabled()


def test_model_made_in_inference_mode(rng):
    arr = rng.standard_normal((2, 3)).astype(np.float32)
    res = {}
    for lib in (torch, jtorch):
        lib.manual_seed(0)
        with lib.inference_mode():
            m = lib.nn.Linear(3, 2)
            out_inside = m(lib.tensor(arr))
        b = lib.tensor(arr)
        out = m(b)  # parameters are inference tensors, but nothing needs saving them
        with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
            m(lib.tensor(arr, requires_grad=True))  # the weight must be saved for the input's gradient
        res[lib.__name__] = (out_inside.is_inference(), out.is_inference(), m.weight.is_inference(),
                             out.requires_grad)
    assert res["jtorch"] == res["torch"]


def test_leaf_made_in_inference_mode_with_grad(rng):
    arr = rng.standard_normal(3).astype(np.float32)
    grads = []
    for lib in (torch, jtorch):
        with lib.inference_mode():
            p = lib.tensor(arr, requires_grad=True)
        assert p.requires_grad and p.is_leaf and p.is_inference()
        (p * 2.5).sum().backward()  # mul by a number saves nothing of p
        grads.append(p.grad)
    assert_close(grads[1], grads[0])


def test_generator_state_first_made_in_inference_mode():
    # torch's generator state is no tensor: a key first drawn in the mode must stay usable outside it
    g = jtorch.Generator().manual_seed(3)
    with jtorch.inference_mode():
        a = jtorch.rand(3, generator=g)
    b = jtorch.rand(3, generator=g)
    assert a.is_inference() and not b.is_inference()
    jtorch.manual_seed(0)
    with jtorch.inference_mode():
        jtorch.nn.Linear(3, 2)  # draws from the default generator inside the mode
    model = jtorch.nn.Sequential(jtorch.nn.Linear(4, 4), jtorch.nn.Dropout(0.5))
    model.compile()
    x = jtorch.randn(3, 4)
    outs = [model(x) for _ in range(3)]  # the compiled step saves the (state) key for its backward
    assert all(o.requires_grad and not o.is_inference() for o in outs)
    (model[0](x) * 2).sum().backward()
    assert model[0].weight.grad is not None

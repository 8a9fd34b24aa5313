"""Differences that scripts/conformance_modules.py (torch's module_db) found, against torch on seeded inputs."""
import numpy as np
import pytest
import torch

import jtorch


def _same_error(f, *args):
    """f(torch, *args) and f(jtorch, *args) raise the same exception type with the same message."""
    with pytest.raises(Exception) as expected:
        f(torch, *args)
    with pytest.raises(type(expected.value)) as got:
        f(jtorch, *args)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (2, 3)), ("BatchNorm2d", (2, 3, 4, 4)),
                                       ("BatchNorm3d", (2, 3, 2, 2, 2))])
@pytest.mark.parametrize("eps,training", [(-1.0, True), (0.0, True), (-1e-3, False)])
def test_batch_norm_eps_must_be_positive(rng, cls, shape, eps, training):
    # torch's functional batch_norm refuses eps <= 0 in training (a zero variance divides by zero), eps < 0 in eval
    x = rng.standard_normal(shape).astype(np.float32)
    _same_error(lambda lib: getattr(lib.nn, cls)(3, eps=eps).train(training)(lib.tensor(x)))


def test_batch_norm_eps_zero_in_eval_is_allowed(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    t = torch.nn.BatchNorm1d(3, eps=0.0).eval()(torch.tensor(x))
    j = jtorch.nn.BatchNorm1d(3, eps=0.0).eval()(jtorch.tensor(x))
    np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("delta", [1 + 0j, "1.0", None])
def test_huber_loss_delta_must_be_a_number(delta):
    _same_error(lambda lib: lib.nn.HuberLoss(delta=delta))


@pytest.mark.parametrize("delta", [2, 0.5, True])
def test_huber_loss_int_and_float_delta(rng, delta):
    x, y = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((2, 3)).astype(np.float32)
    t = torch.nn.HuberLoss(delta=delta)(torch.tensor(x), torch.tensor(y))
    j = jtorch.nn.HuberLoss(delta=delta)(jtorch.tensor(x), jtorch.tensor(y))
    np.testing.assert_allclose(j.numpy(), t.numpy(), rtol=1e-5)


@pytest.mark.parametrize("loss", ["NLLLoss", "CrossEntropyLoss"])
@pytest.mark.parametrize("shape,weight_dtype", [((2, 3), "float64"), ((2, 3, 4), "float16"), ((0, 0), "float16")])
def test_class_loss_weight_dtype_must_match_input(rng, loss, shape, weight_dtype):
    # torch's nll_loss kernel does not promote: float32 scores with float64/float16 class weights raise
    x = rng.standard_normal(shape).astype(np.float32)
    c = shape[1]
    target = rng.integers(0, max(c, 1), (shape[0],) + shape[2:])
    w = rng.random(c)
    _same_error(lambda lib: getattr(lib.nn, loss)(weight=lib.tensor(w, dtype=getattr(lib, weight_dtype)))(
        lib.tensor(x), lib.tensor(target)))


def test_cross_entropy_float32_weight_under_autocast(rng):
    # autocast runs the class losses in float32: bfloat16 scores with float32 weights are fine
    x, w = rng.standard_normal((4, 3)).astype(np.float32), rng.random(3).astype(np.float32)
    target = rng.integers(0, 3, (4,))
    out = {}
    for lib in (torch, jtorch):
        with lib.autocast("cpu"):
            out[lib] = lib.nn.functional.cross_entropy(lib.tensor(x).bfloat16(), lib.tensor(target),
                                                       weight=lib.tensor(w))
    assert str(out[jtorch].dtype) == str(out[torch].dtype)
    np.testing.assert_allclose(out[jtorch].float().numpy(), out[torch].float().numpy(), rtol=1e-2)


@pytest.mark.parametrize("make,shape", [
    (lambda lib: lib.nn.LazyConv1d(4, 2), (2, 3, 5)),
    (lambda lib: lib.nn.LazyConvTranspose2d(4, 2), (2, 3, 4, 4)),
    (lambda lib: lib.nn.LazyLinear(3), (2, 5)),
    (lambda lib: lib.nn.LazyBatchNorm1d(), (4, 3)),
])
def test_lazy_module_converted_before_its_first_forward(rng, make, shape):
    # .double() before the first forward: the parameters and buffers materialise in float64
    x = rng.standard_normal(shape)
    out, mods = {}, {}
    for lib in (torch, jtorch):
        lib.manual_seed(0)
        mods[lib] = make(lib).double()
        mods[lib](lib.tensor(x))  # materialises
    mods[jtorch].load_state_dict({k: jtorch.tensor(v.numpy()) for k, v in mods[torch].state_dict().items()})
    for lib in (torch, jtorch):
        out[lib] = mods[lib](lib.tensor(x))
    for (jn, jv), (tn, tv) in zip(mods[jtorch].state_dict().items(), mods[torch].state_dict().items()):
        assert (jn, str(jv.dtype)) == (tn, str(tv.dtype))
    assert str(out[jtorch].dtype) == str(out[torch].dtype) == "torch.float64"
    np.testing.assert_allclose(out[jtorch].detach().numpy(), out[torch].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_lazy_module_deepcopy_keeps_converted_dtype(rng):
    import copy
    x = rng.standard_normal((2, 3, 5))
    for lib in (torch, jtorch):
        m = copy.deepcopy(lib.nn.LazyConv1d(4, 2).to(lib.float64))
        assert str(m(lib.tensor(x)).dtype) == "torch.float64"


@pytest.mark.parametrize("shape,var_shape", [((4, 3), (1, 3)), ((4, 3, 5), (4, 1, 5)), ((4, 3), (4, 1)),
                                             ((4, 3), (4,)), ((4, 3), (2, 3)), ((4, 3, 5), (1, 1, 5))])
def test_gaussian_nll_loss_variance_broadcast(rng, shape, var_shape):
    # one variance shared along any single dimension (var 1 there) is homoscedastic; two such dims are refused
    x, y, v = rng.standard_normal(shape), rng.standard_normal(shape), rng.random(var_shape) + 0.1
    res = {}
    for lib in (torch, jtorch):
        xi = lib.tensor(x, requires_grad=True)
        try:
            loss = lib.nn.GaussianNLLLoss()(xi, lib.tensor(y), lib.tensor(v))
        except ValueError as e:
            res[lib] = str(e)
            continue
        loss.backward()
        res[lib] = (loss.item(), xi.grad.numpy())
    if isinstance(res[torch], str):
        assert res[jtorch] == res[torch]
    else:
        np.testing.assert_allclose(res[jtorch][0], res[torch][0], rtol=1e-10)
        np.testing.assert_allclose(res[jtorch][1], res[torch][1], rtol=1e-10)


@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy", "cross_entropy_smoothed", "cross_entropy_weighted"])
def test_class_loss_every_target_ignored(rng, loss):
    # mean over no counted targets: torch gives nan, and a zero gradient (jax's 0 * inf would be nan)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    w = rng.random(4).astype(np.float32)
    res = {}
    for lib in (torch, jtorch):
        xi = lib.tensor(x, requires_grad=True)
        target = lib.tensor([2, 2, 2])
        f = lib.nn.functional
        out = {"nll_loss": lambda: f.nll_loss(xi, target, ignore_index=2),
               "cross_entropy": lambda: f.cross_entropy(xi, target, ignore_index=2),
               "cross_entropy_smoothed": lambda: f.cross_entropy(xi, target, ignore_index=2, label_smoothing=0.2),
               "cross_entropy_weighted": lambda: f.cross_entropy(xi, target, weight=lib.tensor(w), ignore_index=2),
               }[loss]()
        out.backward()
        res[lib] = (out.item(), xi.grad.numpy())
    assert np.isnan(res[torch][0]) and np.isnan(res[jtorch][0])
    np.testing.assert_array_equal(res[jtorch][1], res[torch][1])


def test_cross_entropy_probability_target_refuses_ignore_index(rng):
    x, p = rng.standard_normal((2, 3)).astype(np.float32), rng.random((2, 3)).astype(np.float32)
    _same_error(lambda lib: lib.nn.CrossEntropyLoss(ignore_index=1)(lib.tensor(x), lib.tensor(p)))


@pytest.mark.parametrize("kw", [dict(weight=[1.0, 2.0, 3.0]), dict(weight=[[1.0], [2.0]]), dict(weight=[0.5, 2.0]),
                                dict(label_smoothing=2.0), dict(label_smoothing=-0.1), dict(label_smoothing=1.0)])
def test_linear_cross_entropy_loss_constructor_checks(kw):
    def build(lib):
        args = {k: lib.tensor(v) if k == "weight" else v for k, v in kw.items()}
        try:
            return lib.nn.LinearCrossEntropyLoss(3, 2, **args).weight is not None
        except RuntimeError as e:
            return str(e)
    assert build(jtorch) == build(torch)


CELL_CASES = [((4,), (2, 5)), ((3, 4), (5,)), ((3, 4), (3, 1, 5)), ((4,), (1, 1, 5)), ((3, 4), (3, 6)),
              ((3, 4), (3, 5))]


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("shapes", CELL_CASES)
def test_rnn_cell_hidden_checks(cls, shapes, rng):
    xs, hs = shapes
    x, h = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(hs).astype(np.float32)

    def run(lib):
        lib.manual_seed(0)
        cell = getattr(lib.nn, cls)(4, 5)
        hx = (lib.tensor(h), lib.tensor(h)) if cls == "LSTMCell" else lib.tensor(h)
        try:
            return type(cell(lib.tensor(x), hx)).__name__
        except (RuntimeError, ValueError) as e:
            return type(e).__name__, str(e)
    assert run(jtorch) == run(torch)

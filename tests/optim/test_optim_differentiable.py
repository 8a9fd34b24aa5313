"""``differentiable=True`` optimizers against torch (float64): a step recorded in autograd, so the new
parameters and state are differentiable functions of the starting parameters, gradients, state and tensor
hyper-parameters. Seeded inputs go through both libraries; values, gradients (first and second order), which
state requires grad, and torch's errors (refused options, tensor hyper-parameters torch takes as numbers, and
its in-place errors when a later step overwrites state its graph keeps) are compared."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

RTOL = 1e-5  # torch's differentiable steps count in a float32 tensor (bias corrections rounded to float32)
SHAPE = (5,)


def _t(lib, a, grad=False):
    return lib.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _np(t):
    return None if t is None else np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


def _same_error(tres, jres):
    """Both libraries' results, or the same exception type with the same message."""
    if isinstance(tres, Exception) or isinstance(jres, Exception):
        assert type(jres) is type(tres), (tres, jres)
        assert str(jres).split("\n")[0][:60] == str(tres).split("\n")[0][:60], (str(tres), str(jres))
        return False
    return True


def _attempt(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - torch's exception is compared with jtorch's
        return e


# ------------------------------------------------------------------------------------------------- one step
# (optimizer, options, state given before the step: key -> ("rand" | "small" | number, requires grad)),
# as torch's own differentiable tests (gradcheck of one step over parameters, gradient and state)
ADAM_STATE = {"step": (10.0, False), "exp_avg": ("rand", True), "exp_avg_sq": ("rand", True),
              "max_exp_avg_sq": ("rand", True)}
ONE_STEP = [
    ("SGD", dict(lr=0.9), {"momentum_buffer": ("rand", True)}),
    ("SGD", dict(lr=0.5, momentum=0.9, dampening=0.2, weight_decay=0.1, maximize=True),
     {"momentum_buffer": ("rand", True)}),
    ("SGD", dict(lr=0.5, momentum=0.9, nesterov=True, weight_decay=0.1), {}),  # a fresh buffer: detached
    ("Adam", dict(lr=0.9, amsgrad=True), ADAM_STATE),
    ("Adam", dict(lr=0.1, weight_decay=0.1, maximize=True), ADAM_STATE),
    ("Adam", dict(lr=0.1, weight_decay=0.1), {}),
    ("AdamW", dict(lr=0.9, amsgrad=True), ADAM_STATE),
    ("RMSprop", dict(lr=0.9, maximize=True, momentum=0.9, centered=True, weight_decay=0.1),
     {"step": (0.0, False), "square_avg": ("rand", True), "momentum_buffer": ("rand", True),
      "grad_avg": ("small", True)}),
    ("RMSprop", dict(lr=0.1), {}),
    ("Adadelta", dict(lr=0.9, weight_decay=0.1),
     {"step": (10.0, False), "square_avg": ("rand", True), "acc_delta": ("rand", True)}),
    ("Adagrad", dict(lr=0.9, weight_decay=0.1, lr_decay=0.1), {"step": (10.0, False), "sum": ("rand", True)}),
    ("Adamax", dict(lr=0.9, weight_decay=0.1), {"step": (10.0, False), "exp_avg": ("rand", True),
                                                 "exp_inf": ("rand", True)}),
    ("Adamax", dict(lr=0.1, maximize=True), {}),
    ("ASGD", dict(lr=0.9), {"step": (10.0, False), "eta": (0.9, False), "mu": (1.0, False), "ax": ("rand", True)}),
    ("ASGD", dict(lr=0.9, t0=5, weight_decay=0.1),
     {"step": (10.0, False), "eta": (0.5, False), "mu": (1.0, False), "ax": ("rand", True)}),
    ("Rprop", dict(lr=0.9), {"step": (10.0, False), "prev": ("rand", True), "step_size": ("rand", True)}),
    ("Rprop", dict(lr=0.1, maximize=True), {}),
    ("NAdam", dict(lr=0.9), {"step": (10.0, False), "exp_avg": ("rand", True), "exp_avg_sq": ("rand", True),
                             "mu_product": (1.0, True)}),
    ("NAdam", dict(lr=0.9, weight_decay=0.1, decoupled_weight_decay=True),
     {"step": (10.0, False), "exp_avg": ("rand", True), "exp_avg_sq": ("rand", True), "mu_product": (0.5, True)}),
    # step 11: the rectified update; a fresh state: the plain one, with a zero gradient entry (a zero second
    # moment, whose rectified branch must not make the gradient NaN)
    ("RAdam", dict(lr=0.9), {"step": (10.0, False), "exp_avg": ("rand", True), "exp_avg_sq": ("rand", True)}),
    ("RAdam", dict(lr=0.9, weight_decay=0.1, decoupled_weight_decay=True), {}),
]


def _one_step(lib, name, kwargs, arrays):
    """A step from a clone of parameter leaf ``p0`` with gradient leaf ``g`` and clones of the state leaves,
    then a weighted sum of the new parameter and of the state that requires grad, backpropagated."""
    p0, g = _t(lib, arrays["param"], True), _t(lib, arrays["grad"], True)
    leaves = {k: _t(lib, v, grad) for k, (v, grad) in arrays["state"].items()}
    p = p0.clone()
    p.grad = g
    opt = getattr(lib.optim, name)([p], differentiable=True, **kwargs)
    opt.state[p].update({k: v.clone() if v.requires_grad else v for k, v in leaves.items()})
    opt.step()
    outs = {"param": p, **{k: v for k, v in opt.state[p].items() if isinstance(v, lib.Tensor) and v.requires_grad}}
    loss = sum((v * _t(lib, arrays["weights"][k])).sum() for k, v in outs.items())
    loss.backward()
    grads = {"param": _np(p0.grad), "grad": _np(g.grad), **{k: _np(v.grad) for k, v in leaves.items()}}
    state = {k: _np(v) for k, v in opt.state[p].items() if isinstance(v, lib.Tensor)}
    return {k: _np(v) for k, v in outs.items()}, grads, state


def _state_arrays(rng, spec, shape):
    def make(v):
        if v == "rand":
            return rng.random(shape)
        if v == "small":
            return 1e-2 * rng.random(shape)
        return np.float64(v)
    return {k: (make(v), grad) for k, (v, grad) in spec.items()}


@pytest.mark.parametrize("name,kwargs,spec", ONE_STEP, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ONE_STEP)])
def test_one_step_gradients_match_torch(rng, name, kwargs, spec):
    arrays = {"param": rng.standard_normal(SHAPE), "grad": rng.standard_normal(SHAPE),
              "state": _state_arrays(rng, spec, SHAPE)}
    if not spec:
        arrays["grad"][0] = 0.0
    keys = ["param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "square_avg", "grad_avg",
            "acc_delta", "sum", "exp_inf", "ax", "prev", "step_size", "mu_product", "eta", "mu"]
    arrays["weights"] = {k: rng.standard_normal(() if k in ("mu_product", "eta", "mu") else SHAPE) for k in keys}
    touts, tgrads, tstate = _one_step(torch, name, kwargs, arrays)
    jouts, jgrads, jstate = _one_step(jtorch, name, kwargs, arrays)
    assert sorted(jouts) == sorted(touts)  # the same state requires grad after the step
    for k in touts:
        np.testing.assert_allclose(jouts[k], touts[k], rtol=RTOL, atol=1e-9, err_msg=k)
    assert sorted(jstate) == sorted(tstate)
    for k in tstate:
        np.testing.assert_allclose(jstate[k], tstate[k], rtol=RTOL, atol=1e-9, err_msg=k)
    for k, tg in tgrads.items():
        jg = jgrads[k]
        assert (jg is None) == (tg is None), k
        if tg is not None:  # (NaN where torch's is NaN: a zero second moment's square root)
            np.testing.assert_allclose(jg, tg, rtol=RTOL, atol=1e-9, err_msg=k)


# ------------------------------------------------------------------------------------- hyper-parameters
# (optimizer, tensor hyper-parameters, other options): two steps on the gradients of a loss taken with
# create_graph, then the hyper-gradients of the loss after them, and the gradient of their sum with respect
# to the starting parameters (second order)
HYPER = [
    ("SGD", dict(lr=0.05, weight_decay=0.9), dict()),
    ("SGD", dict(lr=0.05), dict(momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.5, beta1=0.5, beta2=0.75), dict()),
    ("Adam", dict(lr=0.05), dict(amsgrad=True)),  # raises: exp_avg_sq is kept (maximum), then overwritten
    ("AdamW", dict(lr=0.05, weight_decay=0.5, beta1=0.5, beta2=0.75), dict()),
    ("RAdam", dict(lr=0.05), dict(decoupled_weight_decay=True, weight_decay=0.1)),
    ("ASGD", dict(lambd=0.1), dict(lr=0.05)),
    ("RMSprop", dict(eps=0.1, momentum=0.5), dict()),
    ("Adagrad", dict(eps=0.1), dict()),
]


def _hyper_steps(lib, name, hypers, extra, arrays):
    p0 = _t(lib, arrays["param"], True)
    hyper = {k: _t(lib, v, True) for k, v in hypers.items()}
    kw = dict(extra, **{k: v for k, v in hyper.items() if not k.startswith("beta")})
    if "beta1" in hyper:
        kw["betas"] = (hyper["beta1"], hyper["beta2"])
    p = p0.clone()
    opt = getattr(lib.optim, name)([p], differentiable=True, **kw)
    x, y = _t(lib, arrays["x"]), _t(lib, arrays["y"])

    def loss_of(q):
        c = q.clone()  # (saved by the ops below instead of q, which the steps update in place)
        return (((x * c).sum() - y) ** 2) + (c ** 4).sum() / 4

    for _ in range(2):
        p.grad = lib.autograd.grad(loss_of(p), p, create_graph=True)[0]
        opt.step()
        opt.zero_grad()
    meta = loss_of(p)
    hgrads = lib.autograd.grad(meta, list(hyper.values()), create_graph=True)
    sum(hgrads).backward()
    return _np(meta), [_np(h) for h in hgrads], _np(p0.grad)


@pytest.mark.parametrize("name,hypers,extra", HYPER, ids=[f"{n}-{'-'.join(h)}" for n, h, _ in HYPER])
def test_hyperparameter_gradients_match_torch(rng, name, hypers, extra):
    arrays = {"param": rng.standard_normal(SHAPE), "x": rng.standard_normal(SHAPE), "y": rng.standard_normal(())}
    tres = _attempt(lambda: _hyper_steps(torch, name, hypers, extra, arrays))
    jres = _attempt(lambda: _hyper_steps(jtorch, name, hypers, extra, arrays))
    if not _same_error(tres, jres):
        return
    (tmeta, thg, tp), (jmeta, jhg, jp) = tres, jres
    np.testing.assert_allclose(jmeta, tmeta, rtol=RTOL)
    for k, a, b in zip(hypers, jhg, thg):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-9, err_msg=k)
    np.testing.assert_allclose(jp, tp, rtol=RTOL, atol=1e-9)


# ------------------------------------------------------------------------------------------ several steps
# three steps over parameters of several shapes (a 0-dim one too) whose gradients depend on them, then the
# gradient of the parameters' sum with respect to the leaves they were cloned from. Where torch's own step
# keeps state in its graph that the next step overwrites in place, its backward raises: so must jtorch's.
STEPS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1), False),
    ("SGD", dict(momentum=0.9), True),                            # raises: the buffer is kept with a tensor lr
    ("Adam", dict(lr=0.1, weight_decay=0.1, betas=(0.5, 0.75)), False),
    ("Adam", dict(lr=0.1, weight_decay=0.1, amsgrad=True), False),  # raises: exp_avg_sq is kept (maximum)
    ("AdamW", dict(amsgrad=True, betas=(0.5, 0.75)), True),
    ("Adamax", dict(lr=0.1), False),                              # raises: exp_avg, exp_inf are kept
    ("NAdam", dict(), True),                                      # raises: exp_avg is kept with a tensor lr
    ("NAdam", dict(lr=0.1, weight_decay=0.1, betas=(0.5, 0.75)), False),
    ("RAdam", dict(lr=0.1, weight_decay=0.1, betas=(0.5, 0.75)), False),
    ("RMSprop", dict(lr=0.1, momentum=0.5, weight_decay=0.1), False),
    ("RMSprop", dict(lr=0.1, centered=True), False),              # raises: grad_avg is kept
    ("Rprop", dict(lr=0.1), False),                               # raises: step_size is kept
    ("Adagrad", dict(lr=0.1, weight_decay=0.1), False),
    ("Adadelta", dict(lr=0.5, weight_decay=0.1), False),
    ("ASGD", dict(lr=0.1, weight_decay=0.1, t0=1), False),
]
SHAPES = ((2, 3), (), (4,))


def _steps(lib, name, kwargs, tensor_lr, arrays):
    leaves = [_t(lib, a, True) for a in arrays["params"]]
    params = [w.clone() for w in leaves]
    lr = {"lr": _t(lib, 0.1, True)} if tensor_lr else {}
    opt = getattr(lib.optim, name)(params, differentiable=True, **kwargs, **lr)
    for grads in arrays["grads"]:
        for p, g in zip(params, grads):
            p.grad = _t(lib, g) + p
        opt.step()
    values = [_np(p) for p in params]
    err = _attempt(lambda: sum(p.sum() for p in params).backward())
    if isinstance(err, Exception):
        return err
    return values, [_np(w.grad) for w in leaves], _np(lr["lr"].grad) if tensor_lr else None


@pytest.mark.parametrize("name,kwargs,tensor_lr", STEPS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(STEPS)])
def test_several_steps_match_torch(rng, name, kwargs, tensor_lr):
    arrays = {"params": [rng.standard_normal(s) for s in SHAPES],
              "grads": [[rng.standard_normal(s) for s in SHAPES] for _ in range(3)]}
    tres = _steps(torch, name, kwargs, tensor_lr, arrays)
    jres = _steps(jtorch, name, kwargs, tensor_lr, arrays)
    if not _same_error(tres, jres):
        return
    for a, b in zip(jres[0] + jres[1], tres[0] + tres[1]):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-9)
    if tensor_lr:
        np.testing.assert_allclose(jres[2], tres[2], rtol=RTOL, atol=1e-9)


def test_two_steps_keep_graph_as_torch_after_one(rng):
    """The state torch's graph keeps is checked only once a later step overwrites it: one step backpropagates."""
    arrays = {"params": [rng.standard_normal(s) for s in SHAPES],
              "grads": [[rng.standard_normal(s) for s in SHAPES]]}
    tres = _steps(torch, "Adamax", dict(lr=0.1), False, arrays)
    jres = _steps(jtorch, "Adamax", dict(lr=0.1), False, arrays)
    for a, b in zip(jres[1], tres[1]):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-9)


# ------------------------------------------------------------------------------------------------- errors
DIFFERENTIABLE = ["SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "ASGD", "NAdam", "RAdam", "RMSprop",
                  "Rprop"]


def _step_on(lib, name, leaf, kwargs):
    p = _t(lib, np.arange(3.0) - 1.0, True)
    if not leaf:
        p = p.clone()
    p.grad = _t(lib, [0.5, -1.0, 2.0])
    opt = getattr(lib.optim, name)([p], **kwargs)
    opt.step()
    return _np(p), p.grad_fn is not None


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_leaf_parameter_is_refused_as_torch(name):
    tres = _attempt(lambda: _step_on(torch, name, True, dict(differentiable=True)))
    jres = _attempt(lambda: _step_on(jtorch, name, True, dict(differentiable=True)))
    assert isinstance(tres, RuntimeError)
    _same_error(tres, jres)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_foreach_as_torch(name):
    """torch's foreach kernels refuse differentiable=True at the step, but SGD's records autograd."""
    tres = _attempt(lambda: _step_on(torch, name, False, dict(differentiable=True, foreach=True)))
    jres = _attempt(lambda: _step_on(jtorch, name, False, dict(differentiable=True, foreach=True)))
    assert isinstance(tres, AssertionError) == (name != "SGD")
    if _same_error(tres, jres):
        assert_close(jres[0], tres[0])
        assert jres[1] and tres[1]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_is_refused_as_torch(name):
    tres = _attempt(lambda: _step_on(torch, name, False, dict(differentiable=True, fused=True)))
    jres = _attempt(lambda: _step_on(jtorch, name, False, dict(differentiable=True, fused=True)))
    assert isinstance(tres, RuntimeError)
    _same_error(tres, jres)


# (optimizer, hyper-parameter, its value, other options): a tensor that requires grad
NUMBER_HYPERS = [
    ("SGD", "lr", 0.1, {}), ("SGD", "weight_decay", 0.1, {}), ("SGD", "momentum", 0.5, {}),
    ("Adam", "lr", 0.1, {}), ("Adam", "weight_decay", 0.1, {}), ("Adam", "eps", 1e-3, {}),
    ("AdamW", "weight_decay", 0.1, {}),
    ("Adagrad", "lr", 0.1, {}), ("Adagrad", "lr_decay", 0.1, {}), ("Adagrad", "weight_decay", 0.1, {}),
    ("Adagrad", "eps", 0.1, {}),
    ("Adadelta", "lr", 0.1, {}), ("Adadelta", "rho", 0.5, {}), ("Adadelta", "weight_decay", 0.1, {}),
    ("Adamax", "lr", 0.1, {}), ("Adamax", "betas", (0.5, 0.75), {}), ("Adamax", "weight_decay", 0.1, {}),
    ("ASGD", "weight_decay", 0.1, {}), ("ASGD", "lambd", 0.1, {}),
    ("NAdam", "betas", (0.5, 0.75), {}), ("NAdam", "weight_decay", 0.1, {}),
    ("NAdam", "weight_decay", 0.1, dict(decoupled_weight_decay=True)), ("NAdam", "lr", 0.1, {}),
    ("RAdam", "betas", (0.5, 0.75), {}), ("RAdam", "weight_decay", 0.1, {}), ("RAdam", "lr", 0.1, {}),
    ("RMSprop", "lr", 0.1, {}), ("RMSprop", "lr", 0.1, dict(momentum=0.5)), ("RMSprop", "alpha", 0.5, {}),
    ("RMSprop", "weight_decay", 0.1, {}), ("RMSprop", "momentum", 0.5, {}),
    ("Rprop", "lr", 0.1, {}),
]


@pytest.mark.parametrize("differentiable", [True, False])
@pytest.mark.parametrize("name,hyper,value,extra", NUMBER_HYPERS,
                         ids=[f"{n}-{h}-{i}" for i, (n, h, _, _) in enumerate(NUMBER_HYPERS)])
def test_tensor_hyperparameter_that_requires_grad_as_torch(name, hyper, value, extra, differentiable):
    """torch hands some hyper-parameters to its ops as Python numbers, where a tensor that requires grad is
    a TypeError (a number computed from one requires grad only when the step records autograd)."""
    def run(lib):
        v = tuple(_t(lib, b, True) for b in value) if isinstance(value, tuple) else _t(lib, value, True)
        return _step_on(lib, name, not differentiable, dict(extra, differentiable=differentiable, **{hyper: v}))
    tres, jres = _attempt(lambda: run(torch)), _attempt(lambda: run(jtorch))
    if _same_error(tres, jres):
        assert_close(jres[0], tres[0], rtol=RTOL)
        assert jres[1] == tres[1]


@pytest.mark.parametrize("differentiable", [True, False])
def test_grad_mode_in_step_follows_differentiable(differentiable):
    """torch runs a differentiable step with grad mode on (even under no_grad), any other step with it off."""
    def run(lib):
        p = _t(lib, [1.0, -2.0, 0.5], True)
        p = p.clone() if differentiable else p
        p.grad = _t(lib, [0.5, -1.0, 2.0])
        opt = lib.optim.Adam([p], differentiable=differentiable)
        with (lib.no_grad() if differentiable else lib.enable_grad()):
            opt.step()
            mode = lib.is_grad_enabled()
        return _np(p), p.grad_fn is not None, opt.state[p]["exp_avg"].requires_grad, mode
    tres, jres = run(torch), run(jtorch)
    assert_close(jres[0], tres[0])
    assert jres[1:] == tres[1:]
    assert tres[1] == differentiable


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
                                         ("Adam", dict(lr=0.1, betas=(0.5, 0.75))), ("RMSprop", dict(lr=0.1)),
                                         ("Adagrad", dict(weight_decay=0.1)), ("ASGD", dict(lr=0.1))])
def test_complex_parameters_match_torch(rng, name, kwargs):
    """A complex parameter steps per component (torch's view_as_real) and gets torch's conjugate gradient."""
    a = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    grads = [rng.standard_normal(4) + 1j * rng.standard_normal(4) for _ in range(2)]

    def run(lib):
        leaf = lib.tensor(a, requires_grad=True)
        p = leaf.clone()
        opt = getattr(lib.optim, name)([p], differentiable=True, **kwargs)
        for g in grads:
            p.grad = lib.tensor(g) + p
            opt.step()
        (p.real.sum() + 2 * p.imag.sum()).backward()
        return _np(p), _np(leaf.grad)
    for j, t in zip(run(jtorch), run(torch)):
        np.testing.assert_allclose(j, t, rtol=RTOL, atol=1e-9)


# (options, the hyper-parameter given as a tensor that requires grad): torch's foreach SGD hands the weight
# decay, -lr and 1 - dampening (once its buffers exist) to _foreach_add as numbers, and a Nesterov step the
# momentum; its plain step decays p.grad in place with such a weight decay, differentiable or not
SGD_TENSOR_HYPERS = [
    (dict(foreach=True), "weight_decay"), (dict(foreach=True, maximize=True), "weight_decay"),
    (dict(foreach=True), "lr"), (dict(foreach=True, momentum=0.9), "dampening"), (dict(momentum=0.9), "dampening"),
    (dict(nesterov=True, momentum=0.9), "momentum"), (dict(nesterov=True, momentum=0.9, foreach=True), "momentum"),
    (dict(momentum=0.9), "weight_decay"), (dict(), "weight_decay"),
]


@pytest.mark.parametrize("differentiable", [True, False])
def test_sgd_tensor_hyperparameters_as_torch(rng, differentiable):
    arrays = [rng.standard_normal(3) for _ in range(3)]
    for options, hyper in SGD_TENSOR_HYPERS:
        res = {}
        for lib in (jtorch, torch):
            p = _t(lib, arrays[0], True)
            p = p.clone() if differentiable else p
            hp = {"lr": 0.1, "momentum": 0, "dampening": 0.1, "weight_decay": 0.1, **options}
            hp["dampening"] = 0 if hp.get("nesterov") else hp["dampening"]
            hp[hyper] = _t(lib, hp[hyper], True)
            opt = lib.optim.SGD([p], differentiable=differentiable, **hp)
            out = []
            for g in arrays[1:]:  # (two steps: the second one has momentum buffers)
                p.grad = _t(lib, g)
                out.append(_attempt(opt.step))
                out.append((_np(p), _np(p.grad)))
            res[lib] = out
        for j, t in zip(res[jtorch], res[torch]):
            if _same_error(t, j) and t is not None:
                assert_close(j, t)


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad", "Adadelta"])
def test_foreach_refusal_comes_before_the_hyperparameter_check_as_torch(name):
    res = [_attempt(lambda: _step_on(lib, name, False, dict(differentiable=True, foreach=True,
                                                           lr=_t(lib, 0.1, True)))) for lib in (torch, jtorch)]
    assert isinstance(res[0], AssertionError)
    _same_error(*res)

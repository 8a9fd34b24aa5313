"""Optimizer trajectories against torch: same initial parameters, same gradient sequence,
100 steps, parameters compared after every step."""
import numpy as np
import pytest
import torch

import jtorch
from jtorch._ops import optim_ops
from tests.helpers import assert_close

SHAPES = ((3, 4), (5,))

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=True, weight_decay=0.01)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), maximize=True, foreach=False, capturable=False)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, fused=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.1)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.2, eps=1e-6, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=1e-3, alpha=0.6, t0=20, weight_decay=0.1, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
]


def _pair(rng, shapes=SHAPES):
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return ([torch.tensor(a, requires_grad=True) for a in init],
            [jtorch.tensor(a, requires_grad=True) for a in init])


def _run(rng, name, tkw, jkw=None, steps=100, groups=None):
    tp, jp = _pair(rng)
    if groups:  # two param groups, the second with its own options
        to = getattr(torch.optim, name)([{"params": tp[:1]}, dict(params=tp[1:], **groups)], **tkw)
        jo = getattr(jtorch.optim, name)([{"params": jp[:1]}, dict(params=jp[1:], **groups)], **(jkw or tkw))
    else:
        to = getattr(torch.optim, name)(tp, **tkw)
        jo = getattr(jtorch.optim, name)(jp, **(jkw or tkw))
    for _ in range(steps):
        for t, j in zip(tp, jp):
            g = rng.standard_normal(tuple(t.shape)).astype(np.float32)
            t.grad = torch.tensor(g)
            j.grad = jtorch.tensor(g)
        to.step()
        jo.step()
        for t, j in zip(tp, jp):
            assert_close(j, t, rtol=1e-5, atol=1e-5)
    return to, jo


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_matches_torch(rng, name, kw):
    to, jo = _run(rng, name, kw)
    _assert_same_state(jo.state_dict(), to.state_dict())


def _assert_same_state(jsd, tsd):
    assert list(jsd.keys()) == list(tsd.keys())
    assert [{k: v for k, v in g.items()} for g in jsd["param_groups"]] == tsd["param_groups"]
    assert list(jsd["state"].keys()) == list(tsd["state"].keys())
    for i, ts in tsd["state"].items():
        js = jsd["state"][i]
        assert list(js.keys()) == list(ts.keys())
        for k, v in ts.items():
            if isinstance(v, torch.Tensor):
                assert_close(js[k], v, rtol=1e-4, atol=1e-5)
            else:
                assert js[k] == v


@pytest.mark.parametrize("name,kw,group", [
    ("SGD", dict(lr=0.05, momentum=0.9), dict(lr=0.01, momentum=0.0, weight_decay=0.2)),
    ("Adam", dict(lr=0.01), dict(lr=0.05, amsgrad=True, betas=(0.5, 0.9))),
    ("RMSprop", dict(lr=0.01), dict(momentum=0.3, centered=True)),
])
def test_param_groups_with_own_options(rng, name, kw, group):
    to, jo = _run(rng, name, kw, steps=30, groups=group)
    _assert_same_state(jo.state_dict(), to.state_dict())


def test_params_without_grad_are_skipped(rng):
    tp, jp = _pair(rng)
    to, jo = torch.optim.Adam(tp, lr=0.1), jtorch.optim.Adam(jp, lr=0.1)
    for step in range(5):
        g = rng.standard_normal((3, 4)).astype(np.float32)
        tp[0].grad, jp[0].grad = torch.tensor(g), jtorch.tensor(g)
        to.step()
        jo.step()
    for t, j in zip(tp, jp):
        assert_close(j, t)
    assert len(jo.state) == len(to.state) == 1


def test_lr_change_does_not_recompile(rng):
    _, jp = _pair(rng)
    opt = jtorch.optim.Adam(jp, lr=0.1)
    for p in jp:
        p.grad = jtorch.ones_like(p)
    opt.step()
    n = optim_ops._KERNELS["adam"]._cache_size()
    for lr in (0.05, 0.02, 0.01):
        opt.param_groups[0]["lr"] = lr
        opt.param_groups[0]["betas"] = (lr * 5, 0.99)
        opt.step()
    assert optim_ops._KERNELS["adam"]._cache_size() == n


def test_state_tensors_keep_identity(rng):
    _, jp = _pair(rng)
    opt = jtorch.optim.SGD(jp, lr=0.1, momentum=0.9)
    for p in jp:
        p.grad = jtorch.ones_like(p)
    opt.step()
    buf = opt.state[jp[0]]["momentum_buffer"]
    p0 = jp[0]
    opt.step()
    assert opt.state[jp[0]]["momentum_buffer"] is buf and jp[0] is p0
    assert_close(buf, torch.full((3, 4), 1.9))


def test_closure_zero_grad_and_hooks(rng):
    tp, jp = _pair(rng)
    res = []
    for lib, ps in ((torch, tp), (jtorch, jp)):
        opt = lib.optim.SGD(ps, lr=0.1)
        calls = []
        opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
        h = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))

        def closure():
            opt.zero_grad()
            loss = sum((p * p).sum() for p in ps)
            loss.backward()
            return loss
        loss = opt.step(closure)
        h.remove()
        opt.step(closure)
        assert calls == ["pre", "post", "pre"]
        opt.zero_grad(set_to_none=False)
        assert all(float(p.grad.abs().sum()) == 0 for p in ps)
        opt.zero_grad()
        assert all(p.grad is None for p in ps)
        res.append((float(loss.detach()), [p.detach() for p in ps]))
    assert abs(res[0][0] - res[1][0]) < 1e-4
    assert_close(res[1][1], res[0][1])


def test_repr_matches_torch(rng):
    tp, jp = _pair(rng)
    for name, kw in (("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(amsgrad=True)), ("LBFGS", {})):
        t = getattr(torch.optim, name)([{"params": tp[:1]}, {"params": tp[1:], "lr": 0.5}], **kw) \
            if name != "LBFGS" else torch.optim.LBFGS(tp)
        j = getattr(jtorch.optim, name)([{"params": jp[:1]}, {"params": jp[1:], "lr": 0.5}], **kw) \
            if name != "LBFGS" else jtorch.optim.LBFGS(jp)
        assert repr(j) == repr(t)


def _lbfgs_run(lib, x0, **kw):
    x = lib.tensor(x0.copy(), requires_grad=True)
    opt = lib.optim.LBFGS([x], **kw)

    def closure():
        opt.zero_grad()
        loss = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()  # Rosenbrock
        loss.backward()
        return loss
    traj, losses = [], []
    for _ in range(6):
        losses.append(float(opt.step(closure).detach()))
        traj.append(x.detach().numpy().copy())
    st = opt.state[x]
    return np.array(traj), losses, st["func_evals"], st["n_iter"]


@pytest.mark.parametrize("kw", [dict(lr=0.5, history_size=4, max_iter=4),
                                dict(lr=1, history_size=3, max_iter=5, line_search_fn="strong_wolfe")])
def test_lbfgs_matches_torch(rng, kw):
    # float64: LBFGS's data-dependent branches amplify float32 rounding near convergence; even in
    # float64 the cubic interpolation of the line search can amplify a dot product's summation order
    # to ~1e-6 relative on rare inputs, so the tolerance is loose while the path (evaluation and
    # iteration counts) must be identical
    x0 = rng.standard_normal(6) * 0.5
    t, j = _lbfgs_run(torch, x0, **kw), _lbfgs_run(jtorch, x0, **kw)
    np.testing.assert_allclose(j[0], t[0], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(j[1], t[1], rtol=1e-5)
    assert j[2:] == t[2:]


def test_lbfgs_errors(rng):
    _, jp = _pair(rng)
    with pytest.raises(ValueError, match="per-parameter options"):
        jtorch.optim.LBFGS([{"params": jp[:1]}, {"params": jp[1:]}])
    x = jtorch.zeros(2, requires_grad=True)
    opt = jtorch.optim.LBFGS([x], line_search_fn="bogus")

    def closure():
        opt.zero_grad()
        loss = ((x - 1) ** 2).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        opt.step(closure)


@pytest.mark.parametrize("make", [
    lambda lib, p: lib.optim.SGD(p, lr=-0.1),
    lambda lib, p: lib.optim.Adam(p, lr=-0.1),
    lambda lib, p: lib.optim.Adam(p, betas=(1.0, 0.9)),
    lambda lib, p: lib.optim.Adam(p, eps=-1.0),
    lambda lib, p: lib.optim.SGD(p, lr=0.1, nesterov=True),
    lambda lib, p: lib.optim.SGD(p, lr=0.1, momentum=-1),
    lambda lib, p: lib.optim.RMSprop(p, alpha=-1),
    lambda lib, p: lib.optim.Adagrad(p, lr_decay=-1),
    lambda lib, p: lib.optim.Adadelta(p, rho=1.5),
    lambda lib, p: lib.optim.Rprop(p, etas=(1.5, 2.0)),
    lambda lib, p: lib.optim.NAdam(p, momentum_decay=-1),
    lambda lib, p: lib.optim.SGD([], lr=0.1),
    lambda lib, p: lib.optim.SGD([{"params": p}, {"params": p[:1]}], lr=0.1),
    lambda lib, p: lib.optim.SGD([p[0] * 2], lr=0.1),
    lambda lib, p: lib.optim.SGD([{"params": {p[0]}}], lr=0.1),
    lambda lib, p: lib.optim.SGD(p[0], lr=0.1),
    lambda lib, p: lib.optim.SGD(p + [1.0], lr=0.1),
])
def test_bad_input_raises_like_torch(rng, make):
    tp, jp = _pair(rng)
    with pytest.raises(Exception) as te:
        make(torch, tp)
    with pytest.raises(type(te.value)) as je:
        make(jtorch, jp)
    assert str(je.value) == str(te.value)


def test_error_messages():
    p = jtorch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        jtorch.optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        jtorch.optim.Adam([p * 2])
    with pytest.raises(ValueError, match="more than one parameter group"):
        jtorch.optim.Adam([{"params": [p]}, {"params": [p]}])


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("Adam", dict(lr=0.01, amsgrad=True)), ("RMSprop", dict(centered=True))])
def test_compiled_train_step_matches_eager(rng, name, kw):
    """optimizer.step() inside jtorch.compile: one program per step, lr from a scheduler
    stays traced (no recompiles), parameters and state equal the eager run."""
    x = jtorch.tensor(rng.standard_normal((8, 4)).astype(np.float32))
    w0 = rng.standard_normal((4, 2)).astype(np.float32)
    out = []
    for compiled in (False, True):
        w = jtorch.tensor(w0, requires_grad=True)
        opt = getattr(jtorch.optim, name)([w], **kw)
        sched = jtorch.optim.lr_scheduler.ExponentialLR(opt, 0.8)

        def train_step():
            opt.zero_grad()
            loss = ((x @ w).tanh() ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        step = jtorch.compile(train_step) if compiled else train_step
        for _ in range(6):
            step()
            sched.step()
        out.append((w.detach().numpy().copy(), {k: v for k, v in opt.state[w].items()}))
        if compiled:
            assert len(step.entries) == 1
    # one fused program rounds differently from op-by-op eager (contractions): float32 tolerance
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-5, atol=1e-6)
    for k, v in out[0][1].items():
        np.testing.assert_allclose(np.asarray(out[1][1][k]), np.asarray(v), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw,shapes", [(dict(), ((6, 4), (5,))),
                                       (dict(lr=0.05, eps=(1e-20, 1e-2), d=1.5, weight_decay=0.1, maximize=True),
                                        ((2, 3, 4), (5,)))])
def test_adafactor_matches_torch(rng, kw, shapes):
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    jp = [jtorch.tensor(a, requires_grad=True) for a in init]
    to, jo = torch.optim.Adafactor(tp, **kw), jtorch.optim.Adafactor(jp, **kw)
    for _ in range(100):
        for t, j in zip(tp, jp):
            g = rng.standard_normal(tuple(t.shape)).astype(np.float32)
            t.grad, j.grad = torch.tensor(g), jtorch.tensor(g)
        to.step()
        jo.step()
        for t, j in zip(tp, jp):
            assert_close(j, t, rtol=1e-5, atol=1e-5)
    _assert_same_state(jo.state_dict(), to.state_dict())


def test_sparse_adam_matches_torch_on_sparse_gradients(rng):
    # both get the gradient as a sparse tensor (rows of zeros absent)
    init = rng.standard_normal((8, 3)).astype(np.float32)
    tp, jp = torch.tensor(init, requires_grad=True), jtorch.tensor(init, requires_grad=True)
    to, jo = torch.optim.SparseAdam([tp], lr=0.01), jtorch.optim.SparseAdam([jp], lr=0.01)
    for _ in range(30):
        g = rng.standard_normal((8, 3)).astype(np.float32)
        g[rng.random(8) < 0.5] = 0  # untouched embedding rows
        tp.grad, jp.grad = torch.tensor(g).to_sparse(), jtorch.tensor(g).to_sparse()
        to.step()
        jo.step()
        assert_close(jp, tp, rtol=1e-5, atol=1e-6)
    _assert_same_state(jo.state_dict(), to.state_dict())


@pytest.mark.parametrize("kw,shapes", [(dict(lr=0.01), ((6, 4), (3, 8))),
                                       (dict(lr=0.01, nesterov=False, adjust_lr_fn="match_rms_adamw",
                                             weight_decay=0.0), ((16, 4),))])
def test_muon_matches_torch(rng, kw, shapes):
    # the orthogonalisation runs in bfloat16, every intermediate rounded as torch rounds it (under jit XLA
    # would otherwise keep some in float32 and drift by bfloat16 ulps times lr): float32 agreement
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    jp = [jtorch.tensor(a, requires_grad=True) for a in init]
    to, jo = torch.optim.Muon(tp, **kw), jtorch.optim.Muon(jp, **kw)
    for _ in range(10):
        for t, j in zip(tp, jp):
            g = rng.standard_normal(tuple(t.shape)).astype(np.float32)
            t.grad, j.grad = torch.tensor(g), jtorch.tensor(g)
        to.step()
        jo.step()
        for t, j in zip(tp, jp):
            assert_close(j, t, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="2D parameters"):
        jtorch.optim.Muon([jtorch.zeros(3, requires_grad=True)])


@pytest.mark.parametrize("dtype", ["float64", "bfloat16"])
def test_other_dtypes(rng, dtype):
    """float64 parameters follow torch to double precision; bfloat16 ones are updated in float32
    and rounded once per step (torch rounds after every in-place op), agreeing to a few bfloat16
    ulps (SGD's momentum accumulates those roundings over 20 steps); state keeps the dtype."""
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=2 ** -4, atol=2 ** -4)
    for name, kw in [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01)), ("RMSprop", dict(centered=True)),
                     ("NAdam", {}), ("Rprop", {})]:
        init = rng.standard_normal((4, 3))
        tp = torch.tensor(init).to(getattr(torch, dtype)).requires_grad_()
        jp = jtorch.tensor(init).to(getattr(jtorch, dtype)).requires_grad_()
        to, jo = getattr(torch.optim, name)([tp], **kw), getattr(jtorch.optim, name)([jp], **kw)
        for _ in range(20):
            g = rng.standard_normal((4, 3))
            tp.grad, jp.grad = torch.tensor(g).to(tp.dtype), jtorch.tensor(g).to(jp.dtype)
            to.step()
            jo.step()
            assert_close(jp, tp, **tol)
        for k, v in to.state[tp].items():
            assert_close(jo.state[jp][k], v, **tol)


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_complex_parameters_match_torch(rng, name, kw):
    """Complex parameters are updated per (real, imag) component, as torch's view_as_real does:
    second moments are not |g|^2 and signs are per component (Rprop's step sizes and Adagrad's
    initial sum start at value + value*1j); the state keeps the complex dtype."""
    init = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex64)
    tp, jp = torch.tensor(init, requires_grad=True), jtorch.tensor(init, requires_grad=True)
    if kw.get("fused"):  # torch has no fused kernel for complex parameters
        for lib, p in ((torch, tp), (jtorch, jp)):
            with pytest.raises(RuntimeError, match="floating point"):
                p.grad = lib.ones_like(p)
                getattr(lib.optim, name)([p], **kw).step()  # torch raises at the first step, jtorch before
        return
    to, jo = getattr(torch.optim, name)([tp], **kw), getattr(jtorch.optim, name)([jp], **kw)
    for _ in range(15):
        g = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex64)
        tp.grad, jp.grad = torch.tensor(g), jtorch.tensor(g)
        to.step()
        jo.step()
        assert_close(jp, tp, rtol=1e-4, atol=1e-5)
    _assert_same_state(jo.state_dict(), to.state_dict())


# ---------------------------------------------------------------- found by scripts/conformance_optim.py
def _param_with_grad(rng, lib, shape=(2, 3), dtype=np.float32):
    a = rng.standard_normal(shape).astype(dtype)
    p = lib.tensor(a, requires_grad=True)
    p.grad = lib.tensor(rng.standard_normal(shape).astype(dtype))
    return p


def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return type(e)
    return None


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "Adadelta", "ASGD", "NAdam", "RAdam", "RMSprop",
                                  "Rprop"])
def test_capturable_on_cpu_asserts_at_step_like_torch(rng, name):
    # capturable=True is for CUDA-graph capture: torch constructs the optimizer, then asserts at the step
    seed = rng.integers(1 << 30)
    opts = [getattr(lib.optim, name)([_param_with_grad(np.random.default_rng(seed), lib)], capturable=True)
            for lib in (torch, jtorch)]
    assert _raised(opts[0].step) is AssertionError
    with pytest.raises(AssertionError, match="If capturable=True, params.* and state_steps must be on supported"):
        opts[1].step()


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "Adagrad"])
def test_fused_complex_param_raises_at_step_like_torch(rng, name):
    seed = rng.integers(1 << 30)
    raised = []
    for lib in (torch, jtorch):
        r = np.random.default_rng(seed)
        params = [_param_with_grad(r, lib), _param_with_grad(r, lib, dtype=np.complex64)]
        opt = getattr(lib.optim, name)(params, fused=True)  # the dtypes are checked at the first step
        raised.append(_raised(opt.step))
    assert raised[0] is not None and raised[1] is raised[0]


@pytest.mark.parametrize("kw", [dict(lr=torch.tensor(0.01), foreach=True),
                                dict(betas=(torch.tensor(0.9), torch.tensor(0.99)), foreach=True)])
def test_adam_tensor_hyper_parameters_with_foreach_raise_like_torch(rng, kw):
    jkw = {k: tuple(jtorch.tensor(b.item()) for b in v) if k == "betas" else
           jtorch.tensor(v.item()) if isinstance(v, torch.Tensor) else v for k, v in kw.items()}
    with pytest.raises(ValueError) as t:
        torch.optim.Adam([_param_with_grad(rng, torch)], **kw)
    with pytest.raises(ValueError, match="as a Tensor is not supported for capturable=False and foreach=True") as j:
        jtorch.optim.Adam([_param_with_grad(rng, jtorch)], **jkw)
    assert str(j.value) == str(t.value)


def test_adam_tensor_betas_stay_tensors_and_match_torch(rng):
    init = rng.standard_normal((3, 2)).astype(np.float32)
    tp, jp = torch.tensor(init, requires_grad=True), jtorch.tensor(init, requires_grad=True)
    to = torch.optim.Adam([tp], lr=0.01, betas=(torch.tensor([0.8]), torch.tensor(0.99)))
    jo = jtorch.optim.Adam([jp], lr=0.01, betas=(jtorch.tensor([0.8]), jtorch.tensor(0.99)))
    for _ in range(3):
        g = rng.standard_normal((3, 2)).astype(np.float32)
        tp.grad, jp.grad = torch.tensor(g), jtorch.tensor(g)
        to.step()
        jo.step()
        assert_close(jp, tp, rtol=1e-5, atol=1e-6)
    for jb, tb in zip(jo.param_groups[0]["betas"], to.param_groups[0]["betas"]):
        assert isinstance(jb, jtorch.Tensor) and tuple(jb.shape) == tuple(tb.shape) == ()


def _lbfgs_complex_run(lib, arrays, target, **kw):
    params = [lib.tensor(a, requires_grad=True) for a in arrays]
    opt = lib.optim.LBFGS(params, **kw)

    def closure():
        opt.zero_grad()
        loss = sum(((p - lib.tensor(t)).abs() ** 2).sum() for p, t in zip(params, target))
        loss.backward()
        return loss
    for _ in range(2):
        opt.step(closure)
    return params, opt.state[params[0]]


@pytest.mark.parametrize("kw", [dict(lr=0.5), dict(lr=torch.tensor(0.5), line_search_fn="strong_wolfe")])
def test_lbfgs_complex_parameters_and_tensor_lr_match_torch(rng, kw):
    # complex parameters take part as (real, imag) pairs; a tensor lr keeps the state's step t a tensor
    arrays = [rng.standard_normal(3), (rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2)))]
    target = [rng.standard_normal(3), (rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2)))]
    jkw = {k: jtorch.tensor(v.item()) if isinstance(v, torch.Tensor) else v for k, v in kw.items()}
    tparams, tstate = _lbfgs_complex_run(torch, arrays, target, **kw)
    jparams, jstate = _lbfgs_complex_run(jtorch, arrays, target, **jkw)
    for j, t in zip(jparams, tparams):
        assert_close(j, t, rtol=1e-6, atol=1e-9)
    assert isinstance(jstate["t"], jtorch.Tensor) == isinstance(tstate["t"], torch.Tensor)
    assert (jstate["func_evals"], jstate["n_iter"]) == (tstate["func_evals"], tstate["n_iter"])


def test_sparse_adam_refuses_sparse_params_like_torch(rng):
    dense = rng.standard_normal((3, 2)).astype(np.float32)
    for lib in (torch, jtorch):
        sparse = lib.tensor(dense).to_sparse()
        with pytest.raises(ValueError, match=r"Sparse params at indices \[\[0, 1\]\]: SparseAdam requires dense"):
            lib.optim.SparseAdam([lib.tensor(dense, requires_grad=True), sparse])

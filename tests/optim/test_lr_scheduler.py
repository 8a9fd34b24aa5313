"""Every scheduler's learning-rate (and momentum) sequence over 200 steps equals torch's."""
import warnings

import numpy as np
import pytest
import torch

import jtorch

CASES = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-list": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.99 ** e]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97),
    "StepLR": lambda m, o: m.StepLR(o, 30, 0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, [10, 50, 50, 120], 0.3),
    "ConstantLR": lambda m, o: m.ConstantLR(o, 0.25, 40),
    "LinearLR": lambda m, o: m.LinearLR(o, 0.1, 0.9, 57),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, 0.98),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, 150, 2.0),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, 37, 0.001),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, 10, 2, 0.001),
    "CosineAnnealingWarmRestarts-1": lambda m, o: m.CosineAnnealingWarmRestarts(o, 7),
    "CyclicLR": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 13, 7),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.1, 13, mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 9, mode="exp_range", gamma=0.99,
                                                  cycle_momentum=False),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 10, scale_fn=lambda x: 0.9 ** x,
                                                 scale_mode="iterations", base_momentum=0.5, max_momentum=0.95),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, 0.5, total_steps=200),
    "OneCycleLR-3phase": lambda m, o: m.OneCycleLR(o, [0.5, 0.3], epochs=20, steps_per_epoch=10,
                                                   anneal_strategy="linear", three_phase=True),
    "SequentialLR": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, 0.1, total_iters=20),
                                                    m.CosineAnnealingLR(o, 80)], [20]),
    "SequentialLR-3": lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, 0.5, 5), m.ExponentialLR(o, 0.97),
                                                      m.StepLR(o, 10, 0.5)], [15, 90]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, 0.99), m.StepLR(o, 25, 0.5)]),
}


def _sequence(lib, make, opt_name="SGD", opt_kw=None, steps=200, metrics=None):
    ps = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    opt = getattr(lib.optim, opt_name)([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}],
                                       **(opt_kw or dict(lr=0.1, momentum=0.9)))
    sched = make(lib.optim.lr_scheduler, opt)
    out = [(sched.get_last_lr(), [g.get("momentum", g.get("betas")) for g in opt.param_groups])]
    for i in range(steps):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[i])
        out.append((list(sched.get_last_lr()), [g.get("momentum", g.get("betas")) for g in opt.param_groups]))
    return out, sched, opt


@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_equals_torch(name):
    t, ts, _ = _sequence(torch, CASES[name])
    j, js, _ = _sequence(jtorch, CASES[name])
    assert j == t  # exact: same float operations in the same order
    assert getattr(js, "last_epoch", None) == getattr(ts, "last_epoch", None)


@pytest.mark.parametrize("name", ["OneCycleLR", "CyclicLR"])
def test_momentum_cycles_adam_betas(name):
    t = _sequence(torch, CASES[name], "Adam", dict(lr=0.01))[0]
    j = _sequence(jtorch, CASES[name], "Adam", dict(lr=0.01))[0]
    assert j == t


@pytest.mark.parametrize("kw", [dict(), dict(mode="max", factor=0.5, patience=3, threshold=0.01,
                                             threshold_mode="abs", cooldown=2, min_lr=0.002),
                                dict(patience=2, cooldown=1, min_lr=[0.01, 0.001], eps=1e-3)])
def test_reduce_lr_on_plateau(rng, kw):
    metrics = list(np.cumsum(rng.standard_normal(200)) * 0.1 + 5)
    make = lambda m, o: m.ReduceLROnPlateau(o, **kw)  # noqa: E731
    t, ts, _ = _sequence(torch, make, metrics=metrics)
    j, js, _ = _sequence(jtorch, make, metrics=metrics)
    assert j == t
    for k in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
        assert getattr(js, k) == getattr(ts, k)


def test_closed_form_with_epoch_argument():
    res = []
    for lib in (torch, jtorch):
        p = lib.zeros(1, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        s = lib.optim.lr_scheduler.StepLR(opt, 3, 0.5)
        seq = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for e in (5, 9, 2, 12):
                opt.step()
                s.step(e)
                seq.append(s.get_last_lr())
        res.append(seq)
        c = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 5, 2)
        for e in (0.5, 3.7, 6.2, 16.9, 40.0):
            c.step(e)
            res[-1].append(c.get_last_lr())
    assert res[0] == res[1]


def test_state_dict_round_trip_matches_torch():
    for name in ("StepLR", "CyclicLR", "SequentialLR", "OneCycleLR"):
        t, ts, _ = _sequence(torch, CASES[name], steps=50)
        j, js, _ = _sequence(jtorch, CASES[name], steps=50)
        tsd, jsd = ts.state_dict(), js.state_dict()
        assert set(jsd) == set(tsd)
        # continue a fresh scheduler from the saved state
        _, js2, jopt2 = _sequence(jtorch, CASES[name], steps=0)
        js2.load_state_dict(jsd)
        for g, lr in zip(jopt2.param_groups, js.get_last_lr()):
            g["lr"] = lr
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(20):
                js.step()
                js2.step()
        assert js2.get_last_lr() == js.get_last_lr()


def test_warning_when_scheduler_steps_before_optimizer():
    for lib in (torch, jtorch):
        p = lib.zeros(1, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        s = lib.optim.lr_scheduler.StepLR(opt, 3)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            s.step()
        opt2 = lib.optim.SGD([p], lr=0.1)
        s2 = lib.optim.lr_scheduler.StepLR(opt2, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt2.step()
            s2.step()
        assert "initial_lr" in opt2.param_groups[0]


@pytest.mark.parametrize("make", [
    lambda m, o: m.ConstantLR(o, factor=2.0),
    lambda m, o: m.LinearLR(o, start_factor=0),
    lambda m, o: m.ReduceLROnPlateau(o, factor=1.5),
    lambda m, o: m.ReduceLROnPlateau(o, mode="avg"),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda m, o: m.OneCycleLR(o, 0.1),
    lambda m, o: m.CyclicLR(o, 0.1, 1.0, mode="bogus"),
    lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], [3]),
    lambda m, o: m.StepLR(None, 2),
    lambda m, o: m.StepLR(o, 2, last_epoch=4),
])
def test_bad_input_raises_like_torch(make):
    errs = []
    for lib in (torch, jtorch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        with pytest.raises(Exception) as e:
            make(lib.optim.lr_scheduler, opt)
        errs.append(e.value)
    assert type(errs[1]) is type(errs[0])
    assert str(errs[1]) == str(errs[0])


def test_one_cycle_too_many_steps():
    p = jtorch.zeros(1, requires_grad=True)
    opt = jtorch.optim.SGD([p], lr=0.1, momentum=0.9)
    s = jtorch.optim.lr_scheduler.OneCycleLR(opt, 0.5, total_steps=3)
    for _ in range(3):
        opt.step()
        s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()

"""jtorch.compile with Python numbers that change between calls (issue #7): scalar arguments become
symbolic inputs after a value change (torch's automatic dynamic), specialise again where Python needs
their value, and Python state the step writes (counters, dict entries, object attributes, ``g["lr"]``)
is replayed after each compiled call. Each test runs the same loop eagerly (and in PyTorch where
the values are tensors) and compares."""
import math
import warnings

import numpy as np
import pytest
import torch as real

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F


def _no_warnings():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error")  # no graph break, no recompile warning
    return ctx


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))


def _real_copy(model):
    ref = real.nn.Sequential(real.nn.Linear(6, 8), real.nn.Tanh(), real.nn.Linear(8, 3))
    with real.no_grad():
        for a, b in zip(ref.parameters(), model.parameters()):
            a.copy_(real.from_numpy(b.detach().numpy().copy()))
    return ref


def _data(n=3, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((5, 6)).astype(np.float32), rng.integers(0, 3, 5)) for _ in range(n)]


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)


# ------------------------------------------------------------------ scalar arguments
def _scaled_training(compiled, values, lib=torch, **kw):
    """SGD with momentum on a loss scaled by a float argument, for each value in ``values``."""
    model = _mlp()
    if lib is real:
        model = _real_copy(model)
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(x, y, scale):
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y) * scale
        loss.backward()
        opt.step()
        return loss
    fn = torch.compile(step, **kw) if compiled else step
    data = _data()
    losses = []
    for i, v in enumerate(values):
        x, y = data[i % len(data)]
        losses.append(fn(lib.from_numpy(x), lib.from_numpy(y), v).item())
    return losses, [p.detach().numpy().copy() for p in model.parameters()], fn


def test_a_float_argument_with_20_values_compiles_at_most_twice():
    values = [0.5 + 0.137 * i for i in range(20)]
    le, pe, _ = _scaled_training(False, values)
    lt, pt, _ = _scaled_training(False, values, lib=real)
    ctx = _no_warnings()
    try:
        lc, pc, fn = _scaled_training(True, values)
    finally:
        ctx.__exit__(None, None, None)
    assert not fn.eager and fn.compiles <= 2, fn.compiles
    _close(lc, le)
    _close(lc, lt)
    for a, b, c in zip(pc, pe, pt):
        _close(a, b)
        _close(a, c)


def test_dynamic_true_traces_scalars_from_the_start_and_false_never():
    values = [0.5, 0.75, 1.25, 1.5]
    le, pe, _ = _scaled_training(False, values)
    lc, pc, fn = _scaled_training(True, values, dynamic=True)
    # one program for the first call with .grads None, one after: no value recompiles
    assert fn.compiles <= 2 and fn._dyn_pos == {2}
    _close(lc, le)
    lc, pc, fn = _scaled_training(True, values, dynamic=False)
    assert fn._dyn_pos == set() and fn.compiles == len(values) - 1  # one program per value (the first call is eager)
    _close(lc, le)
    for a, b in zip(pc, pe):
        _close(a, b)


def _adam_lr_training(compiled, lrs, lib=torch):
    """The learning rate passed as an argument and set inside the step (a hand-written schedule)."""
    model = _mlp(2)
    if lib is real:
        model = _real_copy(model)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y, lr):
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    fn = torch.compile(step) if compiled else step
    data = _data(seed=3)
    out = []
    for i, lr in enumerate(lrs):
        x, y = data[i % len(data)]
        out.append((fn(lib.from_numpy(x), lib.from_numpy(y), lr).item(), opt.param_groups[0]["lr"]))
    return out, [p.detach().numpy().copy() for p in model.parameters()], fn


def test_a_learning_rate_argument_set_in_the_step_is_replayed():
    lrs = [0.01 * (1 + math.cos(i / 3)) + 1e-4 for i in range(20)]
    oe, pe, _ = _adam_lr_training(False, lrs)
    ot, pt, _ = _adam_lr_training(False, lrs, lib=real)
    ctx = _no_warnings()
    try:
        oc, pc, fn = _adam_lr_training(True, lrs)
    finally:
        ctx.__exit__(None, None, None)
    assert not fn.eager and fn.compiles <= 2, fn.compiles
    assert [lr for _, lr in oc] == [lr for _, lr in oe] == lrs  # the group's lr written back exactly
    _close([l for l, _ in oc], [l for l, _ in oe])
    _close([l for l, _ in oc], [l for l, _ in ot])
    for a, b, c in zip(pc, pe, pt):
        _close(a, b)
        _close(a, c)


def test_int_arguments_used_as_values_are_dynamic_and_follow_python_arithmetic():
    def f(x, n, s):
        k = n // 3 - n % 4 + 2 ** (n % 5) - abs(-n)
        t = (s * 2 + 1) / 3 - s ** 2 + n / 7
        return x * k + t, x.int() * n
    g = torch.compile(f)
    x = torch.randn(4)
    xr = real.from_numpy(x.numpy().copy())
    ctx = _no_warnings()
    try:
        for n, s in [(3, 0.5), (11, -1.25), (-7, 2.0), (0, 0.1), (25, 3.5), (-2, -0.75)]:
            a, b = g(x, n, s)
            ea, eb = f(x, n, s)
            ra, rb = f(xr, n, s)
            assert a.dtype == ea.dtype == torch.float32 and b.dtype == eb.dtype == torch.int32
            _close(a.numpy(), ea.numpy(), 1e-6)
            _close(a.numpy(), ra.numpy(), 1e-6)
            np.testing.assert_array_equal(b.numpy(), eb.numpy())
            np.testing.assert_array_equal(b.numpy(), rb.numpy())
    finally:
        ctx.__exit__(None, None, None)
    assert g.compiles <= 2 and g._dyn_pos == {1, 2}


@pytest.mark.parametrize("use", ["range", "view", "slice", "branch", "dim"])
def test_an_int_python_needs_the_value_of_specialises(use):
    """``range(n)``, a shape, a slice bound or a dim need the value: tracing with a SymInt fails, so
    that argument is specialised again (one program per value), as torch does. ``if n > 2`` is a
    guard instead: n stays symbolic, one program per branch (torch's symbolic guard)."""
    def f(x, n, s):
        if use == "range":
            y = sum(x[i] for i in range(n))
        elif use == "view":
            y = x.reshape(n, -1).sum(0)
        elif use == "slice":
            y = x[:n].sum()
        elif use == "branch":
            y = x * 2 if n > 2 else x * 3
        else:
            y = x.reshape(2, 6).sum(n % 2)
        return y * s
    g = torch.compile(f)
    x = torch.randn(12)
    ctx = _no_warnings()
    try:
        for i in range(8):
            n, s = (2, 3)[i % 2], 0.25 * (i + 1)
            _close(g(x, n, s).numpy(), f(x, n, s).numpy(), 1e-6)
    finally:
        ctx.__exit__(None, None, None)
    assert not g.eager
    if use == "branch":
        assert g._dyn_pos == {1, 2}  # n and s dynamic; the branch guarded
    else:
        assert 1 not in g._dyn_pos and 1 in g._static_pos and 2 in g._dyn_pos  # n specialised, s dynamic
    assert g.compiles <= 4


def test_recompile_limit_then_eager_with_one_warning_and_dynamo_config():
    def f(x, n):
        return x.reshape(n, -1).sum(0)
    g = torch.compile(f)
    x = torch.randn(12)
    cfg = torch._dynamo.config
    old = cfg.cache_size_limit
    cfg.cache_size_limit = 2
    try:
        assert cfg.recompile_limit == 2
        with pytest.warns(UserWarning, match="cache_size_limit") as rec:
            for n in (1, 2, 3, 4, 6, 12, 3):
                np.testing.assert_array_equal(g(x, n).numpy(), f(x, n).numpy())
        assert len([w for w in rec if "cache_size_limit" in str(w.message)]) == 1
        assert g.eager and len(g.entries) == 2
        torch._dynamo.reset()  # forgets programs, state and the eager fallback
        assert not g.eager and not g.entries and g.state is None
        np.testing.assert_array_equal(g(x, 4).numpy(), f(x, 4).numpy())
        np.testing.assert_array_equal(g(x, 4).numpy(), f(x, 4).numpy())
        assert len(g.entries) == 1
    finally:
        cfg.cache_size_limit = old
    assert torch.compiler.reset is torch._dynamo.reset


def test_a_symbolic_number_returned_is_a_python_number():
    """``return loss, self.t`` or a value computed from a scalar argument: recomputed in Python."""
    count = {"t": 0}

    def f(x, s, n):
        count["t"] += 1
        return x * s, {"double": s * 2, "steps": count["t"], "half": n // 2, "ratio": n / 4}
    g = torch.compile(f)
    x = torch.randn(3)
    ctx = _no_warnings()
    try:
        for i, s in enumerate((0.5, 1.5, 2.5, 0.1, 0.7)):
            a, b = g(x, s, 7 + i)
            assert b == {"double": s * 2, "steps": i + 1, "half": (7 + i) // 2, "ratio": (7 + i) / 4}
            assert {k: type(v) for k, v in b.items()} == {"double": float, "steps": int, "half": int, "ratio": float}
            _close(a.numpy(), (x * s).numpy(), 1e-7)
    finally:
        ctx.__exit__(None, None, None)
    assert not g.eager and g.compiles == 1 and g._dyn_pos == {1, 2}


_SEEN = []


def _see(*xs):
    _SEEN.append(tuple(map(type, xs)))  # (a list the compiled function itself does not name)


def test_symbolic_numbers_are_torch_sym_types():
    seen = _SEEN
    seen.clear()

    def f(x, n, s):
        _see(n, s)
        return x * n * s
    g = torch.compile(f, dynamic=True)
    x = torch.randn(3)
    for v in range(3):
        g(x, v, v + 0.5)
    assert seen[0] == (int, float)  # the first call runs eagerly
    assert seen[1] == (torch.SymInt, torch.SymFloat)  # then traced (once)
    assert len(seen) == 2
    assert not isinstance(3, torch.SymInt) and not isinstance(0.5, torch.SymFloat)


# ------------------------------------------------------------------ Python state written by the step
class _Meter:
    def __init__(self):
        self.count = 0
        self.mean = 0.0


STATS = {"steps": 0, "scale_sum": 0.0}


class Trainer:
    """A step that counts calls on itself, in a module-level dict and on an object, and uses the
    counts it wrote (an Adam-like bias correction of the loss scale)."""

    def __init__(self, lib):
        self.lib = lib
        model = _mlp(4)
        self.model = _real_copy(model) if lib is real else model
        self.opt = lib.optim.SGD(self.model.parameters(), lr=0.1)
        self.t = 0
        self.meter = _Meter()
        self.last_scale = None
        STATS.update(steps=0, scale_sum=0.0)

    def step(self, x, y, scale):
        self.t += 1
        STATS["steps"] += 1
        STATS["scale_sum"] += scale
        self.meter.count = self.meter.count + 2
        self.meter.mean = self.meter.mean * 0.9 + 0.1 * scale
        self.last_scale = scale
        corr = 1 - 0.9 ** self.t
        self.opt.zero_grad()
        loss = self.lib.nn.functional.cross_entropy(self.model(x), y) * (self.meter.mean / corr)
        loss.backward()
        self.opt.step()
        return loss

    def state(self):
        return (self.t, STATS["steps"], STATS["scale_sum"], self.meter.count, self.meter.mean, self.last_scale)


def _trainer_run(compiled, lib=torch, steps=12):
    tr = Trainer(lib)
    fn = torch.compile(tr.step) if compiled else tr.step
    data = _data(seed=5)
    out = []
    for i in range(steps):
        x, y = data[i % len(data)]
        loss = fn(lib.from_numpy(x), lib.from_numpy(y), 0.3 + 0.05 * (i % 7))
        out.append((loss.item(), tr.state()))
    return out, [p.detach().numpy().copy() for p in tr.model.parameters()], fn


def test_python_state_written_by_the_step_is_replayed_exactly():
    oe, pe, _ = _trainer_run(False)
    ot, pt, _ = _trainer_run(False, lib=real)
    ctx = _no_warnings()
    try:
        oc, pc, fn = _trainer_run(True)
    finally:
        ctx.__exit__(None, None, None)
    assert not fn.eager and fn.compiles <= 2, fn.compiles
    # the Python values exactly (Python's arithmetic replayed, not float32 or XLA's)
    assert [s for _, s in oc] == [s for _, s in oe] == [s for _, s in ot]
    _close([l for l, _ in oc], [l for l, _ in oe])
    _close([l for l, _ in oc], [l for l, _ in ot])
    for a, b, c in zip(pc, pe, pt):
        _close(a, b)
        _close(a, c)


def test_a_counter_changed_outside_between_calls_is_read_afresh():
    calls = {"n": 0}
    w = torch.randn(3)

    def f(x):
        calls["n"] += 1
        return x * w * calls["n"]
    g = torch.compile(f)
    x = torch.randn(3)
    ctx = _no_warnings()
    try:
        for i in range(6):
            if i == 3:
                calls["n"] = 100  # reset outside the step
            _close(g(x).numpy(), (x * w * calls["n"]).numpy(), 1e-7)
    finally:
        ctx.__exit__(None, None, None)
    assert calls["n"] == 103 and g.compiles == 1


def test_a_constant_write_is_replayed_and_a_flag_guards():
    class Box:
        pass
    box = Box()
    box.ready, box.mode = False, "a"

    def f(x):
        box.ready = True  # the same value every call: replayed as a constant
        box.mode = "b" if box.mode == "a" else "a"  # guarded by value: one program per mode
        return x * (2 if box.mode == "a" else 3)
    g = torch.compile(f)
    x = torch.randn(3)
    for i in range(6):
        before = box.mode
        out = g(x)
        assert box.ready is True and box.mode != before
        _close(out.numpy(), (x * (2 if box.mode == "a" else 3)).numpy(), 1e-7)
    assert not g.eager and g.compiles == 2


class _Growing:
    def __init__(self):
        self.losses = []
        self.best = None
        self.w = torch.randn(3)


@pytest.mark.parametrize("write", ["append", "rebind", "dict_key"])
def test_writes_a_compiled_call_cannot_replay_run_eagerly_with_one_warning(write):
    def make():
        torch.manual_seed(0)
        obj = _Growing()
        extra = {}

        def f(x):
            y = (x * obj.w).sum()
            if write == "append":
                obj.losses.append(y.detach())
            elif write == "rebind":
                obj.best = [y.detach()]
            else:
                extra[len(extra)] = y.detach()
            return y
        return obj, extra, f
    obj_e, extra_e, fe = make()
    obj_c, extra_c, f = make()
    g = torch.compile(f)
    x = torch.randn(3)
    with pytest.warns(UserWarning, match="graph break") as rec:
        for _ in range(4):
            _close(g(x).item(), fe(x).item(), 1e-7)
    assert len([w for w in rec if "graph break" in str(w.message)]) == 1
    assert g.eager
    assert len(obj_c.losses) == len(obj_e.losses) and len(extra_c) == len(extra_e)
    assert (obj_c.best is None) == (obj_e.best is None)


_USES = {
    "where": lambda t, x, s: t.where(x > 0, x, s),
    "clamp": lambda t, x, s: x.clamp(min=-s, max=s),
    "lerp": lambda t, x, s: x.lerp(x * 2, s),
    "add_alpha": lambda t, x, s: x.add(x * 3, alpha=s),
    "masked_fill": lambda t, x, s: x.masked_fill(x > 0, s),
    "leaky_relu": lambda t, x, s: t.nn.functional.leaky_relu(x, s),
    "rpow": lambda t, x, s: s ** x,
    "int_tensor": lambda t, x, s: (x * 10).int() * s,
    "int_tensor_div": lambda t, x, s: (x * 10).int() / s,
    "setitem": lambda t, x, s: (lambda y: (y.__setitem__(0, s), y)[1])(x.clone()),
    "tensor": lambda t, x, s: t.tensor(s) * x,
    "full_like": lambda t, x, s: t.full_like(x, s),
    "isinstance": lambda t, x, s: x * (2 if isinstance(s, float) else 3),
    "math_exp": lambda t, x, s: x * math.exp(s),
    "huber": lambda t, x, s: t.nn.functional.huber_loss(x, x * 0, delta=s),
}


@pytest.mark.parametrize("use", sorted(_USES))
def test_a_float_argument_in_tensor_code_equals_eager_and_torch(use):
    """Traced as a SymFloat where jtorch's ops accept it, specialised where they need the value: the
    same values, dtypes and shapes as eager and PyTorch either way."""
    fn = _USES[use]
    g = torch.compile(lambda x, s: fn(torch, x, s))
    rng = np.random.default_rng(7)
    xn = rng.standard_normal((3, 4)).astype(np.float32)
    ctx = _no_warnings()
    try:
        for s in (0.5, 0.7, 1.3, 0.9):
            a = g(torch.from_numpy(xn), s)
            e = fn(torch, torch.from_numpy(xn), s)
            r = fn(real, real.from_numpy(xn.copy()), s)
            assert a.dtype == e.dtype and str(a.dtype) == str(r.dtype) and tuple(a.shape) == tuple(r.shape)
            _close(a.double().numpy(), e.double().numpy(), 1e-6)
            _close(a.double().numpy(), r.double().numpy(), 1e-6)
    finally:
        ctx.__exit__(None, None, None)
    assert not g.eager
    if use in _SPECIALISED:  # the op needs the value (a Python float, a tensor's data): one program per value
        assert 1 in g._static_pos and g.compiles == 3
    else:
        assert 1 in g._dyn_pos and g.compiles == 1


_SPECIALISED = {"tensor", "full_like", "math_exp", "huber"}


def test_a_compiled_forward_with_a_dynamic_scalar_backpropagates():
    """A compiled module forward (no backward inside) with a float argument: its outputs carry a graph
    through the program; the gradients equal eager's for every value."""
    torch.manual_seed(0)

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(5, 3)

        def forward(self, x, temperature):
            return F.softmax(self.lin(x) / temperature, -1)
    model = Scaled()
    cm = torch.compile(model)
    x = torch.randn(4, 5)
    for t in (0.5, 1.0, 2.0, 3.0):
        model.zero_grad()
        cm(x, t).pow(2).sum().backward()
        gc = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        model(x, t).pow(2).sum().backward()
        for a, p in zip(gc, model.parameters()):
            _close(a.numpy(), p.grad.numpy(), 1e-5)
    assert cm._compiled_call.compiles <= 2 and 1 in cm._compiled_call._dyn_pos


@pytest.mark.parametrize("dynamic", [None, False])
def test_a_counter_python_branches_on_is_guarded_and_still_replayed(dynamic):
    """``if self.t % 2``: the counter stays symbolic and the branch is a guard: one program per
    branch, the new count replayed after each call (torch's symbolic guard). With ``dynamic=False``
    it is never traced as an input: each value is its own program (its new value replayed as a
    constant) until the recompile limit, then eager with one warning. The values are eager's."""
    class Step:
        def __init__(self):
            self.t = 0
            self.w = torch.arange(1.0, 4.0)

        def __call__(self, x):
            self.t += 1
            return x * self.w * (2 if self.t % 2 else 3) + self.t
    x = torch.randn(3)
    se, sc = Step(), Step()
    g = torch.compile(sc.__call__, dynamic=dynamic)
    cfg = torch._dynamo.config
    old = cfg.recompile_limit
    cfg.recompile_limit = 3
    try:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            for _ in range(7):
                _close(g(x).numpy(), se(x).numpy(), 1e-6)
                assert sc.t == se.t
    finally:
        cfg.recompile_limit = old
    if dynamic is None:
        assert not rec and not g.eager and g.compiles == 2
    else:
        assert len(rec) == 1 and "cache_size_limit" in str(rec[0].message) and g.eager and g.compiles == 3

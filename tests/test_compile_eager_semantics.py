"""A compiled function gives what torch eager gives running the same code: forward-mode AD through no_grad
regions (dual tensors, ``func.jvp``), ``retain_grad()`` on tensors it computes, ``.data`` writes inside it.
Torch running the function eagerly on the same seeded inputs is the oracle; each compiled function is called
several times (jtorch's first call runs eagerly, the later ones run its program)."""
import warnings

import numpy as np
import pytest
import torch

import jtorch

CALLS = 3


def _np(x):
    return None if x is None else x.detach().numpy().copy()


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if isinstance(w, np.ndarray):
            assert isinstance(g, np.ndarray) and g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5)
        else:
            assert g == w


def _both(run, fullgraph=True):
    """``run(lib, compiled)`` for torch (eager) and jtorch (``compiled`` wraps with jtorch.compile), which
    must give the same list of values without a graph break."""
    want = run(torch, lambda f: f)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = run(jtorch, lambda f: jtorch.compile(f, fullgraph=fullgraph))
    assert not [w for w in seen if "graph break" in str(w.message)]
    _assert_same(got, want)


def _tangent_through_no_grad(lib):
    def f(x):
        with lib.no_grad():  # (forward AD goes through: torch's grad mode is about the tape)
            k = x.sin() * 2
        c = x.detach().cos()  # (detach() drops the tangent)
        return k * x + c
    return f


@pytest.mark.parametrize("requires_grad", [False, True])
def test_forward_ad_through_no_grad_inside(rng, requires_grad):
    data, tan = rng.standard_normal((2, 3, 4)).astype(np.float32)

    def run(lib, compiled):
        g = compiled(_tangent_through_no_grad(lib))
        fw = lib.autograd.forward_ad
        seen = []
        for _ in range(CALLS):  # a program first (jtorch), then calls with dual tensors
            seen.append(_np(g(lib.tensor(data, requires_grad=requires_grad))))
        for _ in range(CALLS):
            with fw.dual_level():
                x = fw.make_dual(lib.tensor(data, requires_grad=requires_grad), lib.tensor(tan))
                primal, tangent = fw.unpack_dual(g(x))
                seen += [_np(primal), _np(tangent)]
            primal, tangent = lib.func.jvp(g, (lib.tensor(data),), (lib.tensor(tan),))
            seen += [_np(primal), _np(tangent)]
        return seen
    _both(run)


def _retained_forward(lib):
    def f(w):
        h = w.sin() * 2
        h.retain_grad()  # (before any op reads it)
        z = (h * w).tanh()
        z.retain_grad()
        unused = w.exp()
        unused.retain_grad()  # (not returned: nothing to see)
        return (z * h).sum(), h, z.detach()
    return f


def test_retain_grad_inside_a_compiled_forward(rng):
    data, cot = rng.standard_normal((2, 3, 4)).astype(np.float32)

    def run(lib, compiled):
        g = compiled(_retained_forward(lib))
        w = lib.tensor(data, requires_grad=True)
        seen = []
        for _ in range(CALLS):
            w.grad = None
            loss, h, z = g(w)
            (loss + (h * lib.tensor(cot)).sum()).backward()  # (a gradient from outside the program too)
            seen += [_np(loss), _np(w.grad), _np(h.grad), h.retains_grad, z.grad is None]
        return seen
    _both(run)


def test_retain_grad_with_the_backward_inside(rng):
    data = rng.standard_normal((3, 4)).astype(np.float32)

    def run(lib, compiled):
        def step(w):
            h = w.cos()
            h.retain_grad()
            made = lib.ones(4, requires_grad=True)  # a leaf made inside
            loss = (h * h * made).sum()
            loss.backward()
            return h, h.grad, made
        g = compiled(step)
        w = lib.tensor(data, requires_grad=True)
        seen = []
        for _ in range(CALLS):
            w.grad = None
            h, hg, made = g(w)
            seen += [_np(h.grad), _np(hg), h.grad is hg, _np(made.grad), _np(w.grad)]
        return seen
    _both(run)


def test_retain_grad_after_a_read_runs_eagerly(rng):
    # (a probe added at retain_grad() would miss the gradient through the earlier read: eager it is)
    data = rng.standard_normal(5).astype(np.float32)

    def run(lib):
        def f(w):
            h = w.exp()
            early = h * 3
            h.retain_grad()
            return (early + h * h).sum(), h
        g = jtorch.compile(f) if lib is jtorch else f
        w = lib.tensor(data, requires_grad=True)
        seen = []
        for _ in range(CALLS):
            loss, h = g(w)
            loss.backward()
            seen += [_np(h.grad)]
        return seen
    want = run(torch)
    with pytest.warns(UserWarning, match="retain_grad"):
        got = run(jtorch)
    _assert_same(got, want)


def _rebind_argument(lib, p):
    def f(w):
        w.data = w.data * 2 + 1  # (the same autograd leaf, a new value: its gradient is at the new value)
        return (w * w * p).sum()
    return f


def _rebind_intermediate(lib, p):
    def f(w):
        h = w * 1.5
        h.data = h.data.exp()  # (h keeps its history to w)
        return (h * w).sum()
    return f


def _rebind_closure_parameter(lib, p):
    def f(w):
        p.data = p.data * 0.5 + 1  # (state of the program: rebound in each call)
        return (p * w * w).sum()
    return f


@pytest.mark.parametrize("f", [_rebind_argument, _rebind_intermediate, _rebind_closure_parameter],
                         ids=lambda f: f.__name__.strip("_"))
def test_data_rebound_inside_a_compiled_forward(f, rng):
    data, p_data = rng.standard_normal((2, 2, 3)).astype(np.float32)

    def run(lib, compiled):
        p = lib.tensor(p_data, requires_grad=True)
        g = compiled(f(lib, p))
        w = lib.tensor(data, requires_grad=True)
        seen = []
        for _ in range(CALLS):
            w.grad = p.grad = None
            loss = g(w)
            loss.backward()
            # (.numpy() shares the storage's buffer: the next call's write-back must not reach the values
            # the previous call's backward read)
            seen += [_np(loss), w.grad.numpy().copy(), w.detach().numpy().copy(), _np(p), _np(p.grad)]
        return seen
    _both(run)


def test_an_argument_written_under_no_grad_inside_a_compiled_forward(rng):
    data = rng.standard_normal((2, 3)).astype(np.float32)

    def run(lib, compiled):
        def f(w):
            with lib.no_grad():
                w.mul_(-1.5)
            return (w * w.sin()).sum()
        g = compiled(f)
        w = lib.tensor(data, requires_grad=True)
        seen = []
        for _ in range(CALLS):
            w.grad = None
            g(w).backward()
            seen += [w.grad.numpy().copy(), w.detach().numpy().copy()]
        return seen
    _both(run)


def test_a_training_step_updating_parameters_by_data_rebinding(rng):
    x_data = rng.standard_normal((4, 3)).astype(np.float32)
    weights = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3), (2,)]]

    def run(lib, compiled):
        model = lib.nn.Linear(3, 2)
        with lib.no_grad():
            for p, v in zip(model.parameters(), weights):
                p.copy_(lib.tensor(v))

        def step(x):
            loss = model(x).tanh().pow(2).sum()
            loss.backward()
            for p in model.parameters():
                p.data = p.data - 0.1 * p.grad  # (old-style SGD)
                p.grad = None
            return loss.detach()
        g = compiled(step)
        seen = []
        for _ in range(CALLS + 1):
            seen.append(_np(g(lib.tensor(x_data))))
        return seen + [_np(p) for p in model.parameters()]
    _both(run)


def test_a_compiled_module_keeping_a_retained_activation(rng):
    # (``self.h = h`` in a compiled forward: the step keeps a tensor it computes; after the backward it holds
    # that call's values and gradient, not a tensor of the program's trace)
    x_data = rng.standard_normal((3, 4)).astype(np.float32)
    weights = [rng.standard_normal(s).astype(np.float32) for s in [(2, 4), (2,)]]

    def run(lib, compiled):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(4, 2)

            def forward(self, x):
                h = self.lin(x)
                h.retain_grad()
                self.h = h
                return h.tanh().sum()
        net = Net()
        with lib.no_grad():
            for p, v in zip(net.lin.parameters(), weights):
                p.copy_(lib.tensor(v))
        fwd = compiled(net)
        seen = []
        for k in range(CALLS):
            x = lib.tensor(x_data * (k + 1))
            loss = fwd(x)
            seen.append(_np(net.h))
            loss.backward()
            seen += [_np(net.h), _np(net.h.grad)]
        return seen
    _both(run, fullgraph=False)

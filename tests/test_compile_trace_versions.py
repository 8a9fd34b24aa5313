"""A trace of a compiled function swaps tracers into the state's storages and back: autograd graphs of earlier
calls that saved that state (the first, eager call; a call before a retrace for new shapes) still
backpropagate, with torch eager's gradients."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _model(lib, rng_state):
    rng = np.random.default_rng(rng_state)
    m = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 2))
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return m


def _grads(m):
    return [p.grad.numpy().copy() for p in m.parameters()]


@pytest.mark.parametrize("fullgraph", [True, False])
def test_backward_of_the_first_call_after_its_trace(rng, fullgraph):
    xs = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(3)]

    def run(lib):
        m = _model(lib, 0)
        f = m if lib is torch else jtorch.compile(m, fullgraph=fullgraph)
        seen = []
        for x in xs:
            m.zero_grad()
            f(lib.tensor(x)).pow(2).sum().backward()
            seen.append(_grads(m))
        return seen
    for a, b in zip(run(torch), run(jtorch)):
        for ga, gb in zip(a, b):
            assert_close(gb, ga, rtol=1e-4, atol=1e-5)


def test_outputs_of_calls_before_a_retrace_backpropagate_together(rng):
    xa, xb, xc = (rng.standard_normal((n, 4)).astype(np.float32) for n in (5, 3, 7))

    def run(lib):
        m = _model(lib, 1)
        f = m if lib is torch else jtorch.compile(m)
        outs = [f(lib.tensor(x)) for x in (xa, xb, xc)]  # new shapes: the compiled one retraces
        sum(o.pow(2).sum() for o in outs).backward()
        return _grads(m)
    for ga, gb in zip(run(torch), run(jtorch)):
        assert_close(gb, ga, rtol=1e-4, atol=1e-5)

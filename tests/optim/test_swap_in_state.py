"""torch.optim.swap_in_optimizer_params_and_state against real torch: a step inside the block updates
the swapped-in parameters and state like torch, and leaves the live ones alone."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close


def _setup(m, rng_seed, opt_name):
    rng = np.random.default_rng(rng_seed)
    model = m.nn.Sequential(m.nn.Linear(4, 3), m.nn.Tanh(), m.nn.Linear(3, 2))
    with m.no_grad():
        for p in model.parameters():
            p.copy_(m.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    kw = {"momentum": 0.9} if opt_name == "SGD" else {}
    opt = getattr(m.optim, opt_name)(model.parameters(), lr=0.05, **kw)
    x = m.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    for _ in range(2):
        opt.zero_grad()
        model(x).square().sum().backward()
        opt.step()
    return model, opt, x


@pytest.mark.parametrize("opt_name", ["Adam", "SGD"])
def test_swap_in_step(opt_name):
    out = {}
    for m in (torch, jtorch):
        model, opt, x = _setup(m, 0, opt_name)
        live = [p.detach().clone() for p in model.parameters()]
        params = {n: p.detach().clone() for n, p in model.named_parameters()}
        sd = opt.state_dict()
        osd = {"state": {k: {n: (v.clone() if isinstance(v, m.Tensor) else v) for n, v in s.items()}
                         for k, s in sd["state"].items()},
               "param_groups": [dict(g, lr=0.2) for g in sd["param_groups"]]}
        for p, lp in zip(params.values(), model.parameters()):
            p.grad = lp.grad.clone() * 3
        with m.optim.swap_in_optimizer_params_and_state(opt, params, osd):
            assert opt.param_groups[0]["params"][0] is params["0.weight"]
            assert opt.param_groups[0]["lr"] == 0.2
            opt.step()
        for p, before in zip(model.parameters(), live):  # live parameters untouched
            assert np.array_equal(p.detach().numpy(), before.numpy())
        assert opt.param_groups[0]["lr"] == 0.05 and opt.param_groups[0]["params"][0] is model[0].weight
        out[m] = ([p.detach() for p in params.values()], osd["state"])
        # the live optimizer goes on as before
        opt.step()
        out[m, "after"] = [p.detach().clone() for p in model.parameters()]
    assert_close(out[jtorch][0], out[torch][0], rtol=1e-4, atol=1e-5)
    for k, st in out[torch][1].items():
        for name, v in st.items():
            if isinstance(v, torch.Tensor):
                assert_close(out[jtorch][1][k][name], v, rtol=1e-4, atol=1e-5)
    assert_close(out[jtorch, "after"], out[torch, "after"], rtol=1e-4, atol=1e-5)


def test_swap_in_errors():
    model, opt, _ = _setup(jtorch, 1, "SGD")
    with pytest.raises(ValueError):
        with jtorch.optim.swap_in_optimizer_params_and_state(opt, {"a": jtorch.zeros(2)}, opt.state_dict()):
            pass
    for m in (torch, jtorch):  # no state yet (plain SGD keeps none)
        lin = m.nn.Linear(2, 2)
        opt = m.optim.SGD(lin.parameters(), lr=0.1)
        with pytest.raises(RuntimeError):
            with m.optim.swap_in_optimizer_params_and_state(opt, dict(lin.named_parameters()), opt.state_dict()):
                pass

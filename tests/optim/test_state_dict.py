"""Optimizer state dicts move between torch and jtorch (tensors through numpy) and training
continues identically."""
import copy

import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

CASES = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)), ("Adam", dict(lr=0.01, amsgrad=True)),
         ("AdamW", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
         ("Adagrad", dict(lr=0.1, lr_decay=0.01)), ("Adadelta", dict()), ("Adamax", dict()), ("NAdam", dict()),
         ("RAdam", dict()), ("ASGD", dict(t0=3)), ("Rprop", dict())]


def _convert(obj, to):
    """Deep-convert a state dict's tensors: to='jtorch' | 'torch' | 'numpy'."""
    if isinstance(obj, (torch.Tensor, jtorch.Tensor)):
        a = np.array(obj.detach().numpy())
        return {"jtorch": jtorch.tensor, "torch": torch.tensor, "numpy": lambda x: x}[to](a)
    if isinstance(obj, dict):
        return {k: _convert(v, to) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_convert(v, to) for v in obj]
    return obj


def _setup(rng, name, kw):
    init = [rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (2,))]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    jp = [jtorch.tensor(a, requires_grad=True) for a in init]
    return tp, jp, getattr(torch.optim, name)(tp, **kw), getattr(jtorch.optim, name)(jp, **kw)


def _steps(rng, pairs, n):
    """Same random gradients into every (params, optimizer) pair, ``n`` steps."""
    for _ in range(n):
        gs = [rng.standard_normal(tuple(p.shape)).astype(np.float32) for p in pairs[0][0]]
        for ps, opt in pairs:
            lib = torch if isinstance(ps[0], torch.Tensor) else jtorch
            for p, g in zip(ps, gs):
                p.grad = lib.tensor(g)
            opt.step()


@pytest.mark.parametrize("name,kw", CASES, ids=[c[0] for c in CASES])
def test_torch_state_dict_loads_into_jtorch(rng, name, kw):
    tp, jp, to, jo = _setup(rng, name, kw)
    _steps(rng, [(tp, to)], 7)
    # the jtorch model starts where torch's is, with torch's optimizer state
    with jtorch.no_grad():
        for j, t in zip(jp, tp):
            j.copy_(jtorch.tensor(t.detach().numpy()))
    sd = to.state_dict()
    jo.load_state_dict(_convert(sd, "jtorch"))
    assert jo.state_dict()["param_groups"] == sd["param_groups"]
    _steps(rng, [(tp, to), (jp, jo)], 10)
    for j, t in zip(jp, tp):
        assert_close(j, t, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,kw", CASES[:4], ids=[c[0] for c in CASES[:4]])
def test_jtorch_state_dict_loads_into_torch(rng, name, kw):
    tp, jp, to, jo = _setup(rng, name, kw)
    _steps(rng, [(jp, jo)], 7)
    with torch.no_grad():
        for j, t in zip(jp, tp):
            t.copy_(torch.tensor(j.detach().numpy()))
    to.load_state_dict(_convert(jo.state_dict(), "torch"))
    _steps(rng, [(tp, to), (jp, jo)], 10)
    for j, t in zip(jp, tp):
        assert_close(j, t, rtol=1e-5, atol=1e-5)


def test_numpy_and_torch_tensors_accepted(rng):
    tp, jp, to, jo = _setup(rng, "Adam", dict(lr=0.01))
    _steps(rng, [(tp, to), (jp, jo)], 3)
    for sd in (_convert(to.state_dict(), "numpy"), copy.deepcopy(to.state_dict())):
        jo2 = jtorch.optim.Adam(jp, lr=0.01)
        jo2.load_state_dict(sd)
        st = jo2.state[jp[0]]
        assert isinstance(st["exp_avg"], jtorch.Tensor) and st["step"].dtype == jtorch.float32
        assert_close(st["exp_avg"], to.state[tp[0]]["exp_avg"], rtol=1e-5, atol=1e-6)


def test_state_dict_structure_before_and_after_steps(rng):
    tp, jp, to, jo = _setup(rng, "Adagrad", dict())  # Adagrad creates its state eagerly
    assert list(jo.state_dict()["state"]) == list(to.state_dict()["state"]) == [0, 1]
    tp, jp, to, jo = _setup(rng, "SGD", dict(lr=0.1))
    _steps(rng, [(tp, to), (jp, jo)], 1)
    assert jo.state_dict() == {"state": {}, "param_groups": to.state_dict()["param_groups"]}


def test_state_dict_aliases_state_and_loaded_lr_is_used(rng):
    tp, jp, to, jo = _setup(rng, "SGD", dict(lr=0.1, momentum=0.9))
    _steps(rng, [(jp, jo)], 1)
    sd = jo.state_dict()
    assert sd["state"][0]["momentum_buffer"] is jo.state[jp[0]]["momentum_buffer"]
    sd = copy.deepcopy(sd)
    sd["param_groups"][0]["lr"] = 0.5
    jo.load_state_dict(sd)
    assert jo.param_groups[0]["lr"] == 0.5 and jo.param_groups[0]["params"] == jp


@pytest.mark.parametrize("change", ["groups", "size"])
def test_mismatched_state_dict_raises_like_torch(rng, change):
    tp, jp, to, jo = _setup(rng, "Adam", dict())
    if change == "groups":
        t2 = torch.optim.Adam([{"params": tp[:1]}, {"params": tp[1:]}])
    else:
        t2 = torch.optim.Adam(tp[:1])
    sd = t2.state_dict()
    with pytest.raises(ValueError) as te:
        to.load_state_dict(sd)
    with pytest.raises(ValueError) as je:
        jo.load_state_dict(_convert(sd, "jtorch"))
    assert str(je.value) == str(te.value)


def test_state_dict_hooks(rng):
    tp, jp, to, jo = _setup(rng, "SGD", dict(lr=0.1))
    seen = []
    jo.register_state_dict_pre_hook(lambda o: seen.append("pre"))
    jo.register_state_dict_post_hook(lambda o, sd: seen.append("post"))
    jo.register_load_state_dict_pre_hook(lambda o, sd: seen.append("lpre"))
    jo.register_load_state_dict_post_hook(lambda o: seen.append("lpost"))
    jo.load_state_dict(jo.state_dict())
    assert seen == ["pre", "post", "lpre", "lpost"]


def test_old_format_state_dict(rng):
    """A state dict from an older torch: python-number steps, options missing from the groups."""
    tp, jp, to, jo = _setup(rng, "Adam", dict(lr=0.01))
    _steps(rng, [(tp, to)], 4)
    sd = _convert(to.state_dict(), "jtorch")
    for st in sd["state"].values():
        st["step"] = float(st["step"])
    for g in sd["param_groups"]:
        for k in ("decoupled_weight_decay", "fused", "capturable", "differentiable", "foreach"):
            del g[k]
    jo.load_state_dict(sd)
    assert jo.state[jp[0]]["step"].dtype == jtorch.float32 and float(jo.state[jp[0]]["step"]) == 4.0
    assert jo.param_groups[0]["decoupled_weight_decay"] is False
    with jtorch.no_grad():
        for j, t in zip(jp, tp):
            j.copy_(jtorch.tensor(t.detach().numpy()))
    _steps(rng, [(tp, to), (jp, jo)], 3)
    for j, t in zip(jp, tp):
        assert_close(j, t, rtol=1e-5, atol=1e-6)


def test_pickle_round_trip(rng):
    import pickle
    tp, jp, to, jo = _setup(rng, "SGD", dict(lr=0.1, momentum=0.9))
    _steps(rng, [(jp, jo)], 2)
    jo.register_step_pre_hook(lambda *a: None)
    state = jo.__getstate__()
    assert set(state) == {"defaults", "state", "param_groups"}
    jo2 = jtorch.optim.SGD.__new__(jtorch.optim.SGD)
    jo2.__setstate__(pickle.loads(pickle.dumps({"defaults": jo.defaults, "state": {}, "param_groups": []})))
    assert jo2._optimizer_step_pre_hooks == {} and jo2.defaults["momentum"] == 0.9


@pytest.mark.parametrize("name", ["Adafactor", "SparseAdam", "LBFGS"])
def test_load_state_dict_keeps_group_keys_like_torch(rng, name):
    # torch adds ``differentiable`` to an optimizer's defaults on load, never to its param groups
    a = rng.standard_normal((2, 2)).astype(np.float32)
    keys = []
    for lib in (torch, jtorch):
        opt = getattr(lib.optim, name)([lib.tensor(a, requires_grad=True)])
        fresh = getattr(lib.optim, name)([lib.tensor(a, requires_grad=True)])
        fresh.load_state_dict(opt.state_dict())
        keys.append((sorted(fresh.param_groups[0]), sorted(fresh.state_dict()["param_groups"][0])))
    assert keys[1] == keys[0]

"""nn.utils.prune against torch: masks, iterative pruning (PruningContainer), structured and global
pruning, custom masks, remove, training through a mask, and the errors."""
import numpy as np
import pytest
import torch
import torch.nn.utils.prune  # noqa: F401  (torch.nn.utils does not import it)

import jtorch
import jtorch.nn.utils.prune  # noqa: F401
from helpers import assert_close


def _pair(rng, make):
    t, j = make(torch), make(jtorch)
    for (name, pt), (_, pj) in zip(t.named_parameters(), j.named_parameters()):
        w = rng.standard_normal(tuple(pt.shape)).astype(np.float32)
        with torch.no_grad():
            pt.copy_(torch.tensor(w))
        with jtorch.no_grad():
            pj.copy_(jtorch.tensor(w))
    return t, j


def _conv(m):
    return m.nn.Conv2d(3, 6, 3)


def _state(module):
    return {k: v for k, v in module.state_dict().items()}


def _same_state(j, t):
    sj, st = _state(j), _state(t)
    assert list(sj) == list(st)
    for k in st:
        assert_close(sj[k], st[k])


@pytest.mark.parametrize("steps", [
    [("l1_unstructured", dict(name="weight", amount=0.3))],
    [("l1_unstructured", dict(name="bias", amount=2))],
    [("ln_structured", dict(name="weight", amount=0.5, n=2, dim=0))],
    [("ln_structured", dict(name="weight", amount=1, n=1, dim=1))],
    [("l1_unstructured", dict(name="weight", amount=0.3)), ("ln_structured", dict(name="weight", amount=0.5, n=2, dim=0)),
     ("l1_unstructured", dict(name="weight", amount=0.2))],
    [("ln_structured", dict(name="weight", amount=2, n=float("inf"), dim=0)),
     ("ln_structured", dict(name="weight", amount=1, n=2, dim=0))],
    [("identity", dict(name="weight")), ("l1_unstructured", dict(name="weight", amount=0.0))],
])
def test_prune_methods_match_torch(rng, steps):
    t, j = _pair(rng, _conv)
    for fn, kw in steps:
        getattr(torch.nn.utils.prune, fn)(t, **kw)
        getattr(jtorch.nn.utils.prune, fn)(j, **kw)
        _same_state(j, t)
        assert_close(getattr(j, kw["name"]), getattr(t, kw["name"]))
    hooks = [[type(h).__name__ for h in m._forward_pre_hooks.values()] for m in (j, t)]
    assert hooks[0] == hooks[1]
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    (t(torch.tensor(x)) ** 2).sum().backward()
    (j(jtorch.tensor(x)) ** 2).sum().backward()
    assert_close(j.weight_orig.grad, t.weight_orig.grad, atol=1e-5) if hasattr(t, "weight_orig") else None
    for m in (torch, jtorch):
        mod = t if m is torch else j
        for name in {kw["name"] for _, kw in steps}:
            m.nn.utils.prune.remove(mod, name)
    _same_state(j, t)
    assert [n for n, _ in j.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert not jtorch.nn.utils.prune.is_pruned(j)


def test_global_and_custom_from_mask_match_torch(rng):
    def make(m):
        return m.nn.Sequential(m.nn.Linear(4, 6), m.nn.Linear(6, 3))
    t, j = _pair(rng, make)
    for m, mod in ((torch, t), (jtorch, j)):
        m.nn.utils.prune.l1_unstructured(mod[0], "weight", amount=3)
        m.nn.utils.prune.global_unstructured([(mod[0], "weight"), (mod[1], "weight")],
                                             pruning_method=m.nn.utils.prune.L1Unstructured, amount=0.4)
        m.nn.utils.prune.custom_from_mask(mod[1], "bias", mask=m.tensor([1.0, 0.0, 1.0]))
    _same_state(j, t)
    assert jtorch.nn.utils.prune.is_pruned(j)
    assert [type(h).__name__ for h in j[0]._forward_pre_hooks.values()] == ["PruningContainer"]


def test_random_unstructured_counts(rng):
    lin = jtorch.nn.Linear(10, 10)
    jtorch.nn.utils.prune.random_unstructured(lin, "weight", amount=0.37)
    assert int((lin.weight_mask == 0).sum()) == 37
    jtorch.nn.utils.prune.random_structured(lin, "weight", amount=3, dim=1)
    assert int((lin.weight_mask.sum(0) == 0).sum()) >= 3


@pytest.mark.parametrize("call,exc", [
    (lambda m, mod: m.nn.utils.prune.l1_unstructured(mod, "weight", amount=-1), ValueError),
    (lambda m, mod: m.nn.utils.prune.l1_unstructured(mod, "weight", amount=1.5), ValueError),
    (lambda m, mod: m.nn.utils.prune.l1_unstructured(mod, "weight", amount="a"), TypeError),
    (lambda m, mod: m.nn.utils.prune.l1_unstructured(mod, "weight", amount=1000), ValueError),
    (lambda m, mod: m.nn.utils.prune.ln_structured(mod, "bias", amount=1, n=2, dim=0), ValueError),
    (lambda m, mod: m.nn.utils.prune.remove(mod, "weight"), ValueError),
    (lambda m, mod: m.nn.utils.prune.global_unstructured(5, m.nn.utils.prune.L1Unstructured, amount=1), TypeError),
    (lambda m, mod: m.nn.utils.prune.global_unstructured([(mod, "weight")], m.nn.utils.prune.LnStructured,
                                                         amount=1, n=2, dim=0), TypeError),
])
def test_prune_errors_like_torch(call, exc):
    names = []
    for m in (torch, jtorch):
        mod = m.nn.Linear(3, 4)
        with pytest.raises(exc):
            call(m, mod)
        # a failed first pruning puts the parameter back (and no mask or hook stays)
        names.append(([n for n, _ in mod.named_parameters()], [n for n, _ in mod.named_buffers()],
                      len(mod._forward_pre_hooks)))
    assert names[1] == names[0]

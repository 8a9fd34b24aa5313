"""torch.fx.passes.split_module: the same model and partition policy through torch.fx and jtorch.fx give
the same generated code (the calling graph and every submodule), the same qualname_map, and the same
results as the unsplit module."""
import numpy as np
import pytest
import torch
import torch.fx as tfx
import torch.fx.passes.split_module as tsm

import jtorch
import jtorch.fx as jfx
import jtorch.fx.passes.split_module as jsm
from tests.fx.fx_models import np_of

LIBS = ((torch, tfx, tsm), (jtorch, jfx, jsm))


def _two_branch(T):
    class M(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.param = T.nn.Parameter(T.zeros(3, 4))
            self.linear = T.nn.Linear(4, 5)

        def forward(self, x, y):
            z = self.linear(x + self.param).clamp(min=0.0, max=1.0)
            w = self.linear(y).clamp(min=0.0, max=1.0)
            return z + w
    return M()


def _nested(T):
    class M(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.seq = T.nn.Sequential(T.nn.Linear(4, 4), T.nn.ReLU())
            self.buf = T.nn.Parameter(T.zeros(4))

        def forward(self, x, scale=2):
            h = self.seq(x) * scale
            h = T.relu(h + self.buf)
            return {"a": h, "b": x.sum()}
    return M()


def _round_robin(n):
    count = [0]

    def policy(node):
        count[0] += 1
        return (count[0] - 1) % n
    return policy


def _by_name(groups, default):
    return lambda node: next((k for k, names in groups.items() if node.name in names), default)


def _seed_weights(T, m):
    rng = np.random.default_rng(5)
    with T.no_grad():
        for p in m.parameters():
            p.copy_(T.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))


def _codes(gm):
    return [gm.code] + [(name, sub.code, sorted(n for n, _ in sub.named_modules()))
                        for name, sub in gm.named_children()]


CASES = [
    (_two_branch, lambda: _round_robin(3), {}, ((3, 4), (3, 4))),
    (_two_branch, lambda: _round_robin(3), {"keep_original_order": True}, ((3, 4), (3, 4))),
    (_two_branch, lambda: _by_name({1: ("linear_1", "clamp_1")}, 0), {}, ((3, 4), (3, 4))),
    (_nested, lambda: _by_name({0: ("seq_0", "seq_1", "mul"), 2: ("sum_1",)}, 1), {}, ((2, 4),)),
    (_nested, lambda: _by_name({0: ("seq_0", "seq_1", "mul"), 2: ("sum_1",)}, 1),
     {"keep_original_order": True}, ((2, 4),)),
    (_nested, lambda: _by_name({0: ("seq_0", "seq_1", "mul"), 2: ("sum_1",)}, 1),
     {"keep_original_input_name": False, "partition_affix": "pp", "tuple_return": True}, ((2, 4),)),
    (_nested, lambda: _by_name({7: ("add", "relu")}, 3), {"keep_original_node_name": True}, ((2, 4),)),
]


@pytest.mark.parametrize("make, policy, kwargs, shapes", CASES)
def test_split_module_like_torch(make, policy, kwargs, shapes, rng):
    arrs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    out = []
    for T, fx, sm in LIBS:
        m = make(T)
        _seed_weights(T, m)
        gm = fx.symbolic_trace(m)
        qualnames = {}
        split = sm.split_module(gm, m, policy(), qualnames, **kwargs)
        args = [T.tensor(a) for a in arrs]
        out.append((m, split, qualnames, gm(*args), split(*args)))
    (_, tsplit, tq, twhole, tparts), (_, jsplit, jq, jwhole, jparts) = out
    assert _codes(jsplit) == _codes(tsplit)
    assert jq == tq
    if isinstance(twhole, dict):
        twhole, tparts, jwhole, jparts = (list(d.values()) for d in (twhole, tparts, jwhole, jparts))
    for t, jw, jp in zip(twhole if isinstance(twhole, list) else [twhole],
                         jwhole if isinstance(jwhole, list) else [jwhole],
                         jparts if isinstance(jparts, list) else [jparts]):
        np.testing.assert_allclose(np_of(jw), t.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(np_of(jp), np_of(jw))


def test_cycle_between_partitions_is_an_error_like_torch():
    errors = []
    for T, fx, sm in LIBS:
        gm = fx.symbolic_trace(_two_branch(T))
        # add (0) -> linear (1) -> clamp (0): partition 0 needs 1 and 1 needs 0
        policy = _by_name({1: ("linear",)}, 0)
        with pytest.raises(RuntimeError) as e:
            sm.split_module(gm, None, policy)
        errors.append(str(e.value))
    assert errors[0] == errors[1]

"""symbolic_trace with containers in ``concrete_args`` (PH leaves and specialized leaves): forward takes
the original arguments and flattens them by ``_in_spec``, the result is rebuilt by ``_out_spec``; the
generated code, the graph, results and the errors of a call that breaks the specialization are torch's."""
import numpy as np
import pytest
import torch
import torch.fx as tfx

import jtorch
import jtorch.fx as jfx
from tests.fx.fx_models import np_of

LIBS = ((torch, tfx), (jtorch, jfx))


def _fn(x, y, z):
    return x["a"] + x["b"] * y * z


def _fn_tuple(x, y, z):
    return x["a"] + x["b"] * y[0] * z


def _module(T):
    class M(T.nn.Module):
        def forward(self, x):
            return [x[0] + 1, {"k": x[1] * 2}]
    return M()


def _leaves(out):
    if isinstance(out, dict):
        return [v for x in out.values() for v in _leaves(x)]
    if isinstance(out, (list, tuple)):
        return [v for x in out for v in _leaves(x)]
    return [out]


def _spec(s):
    return (s.type, s.context, [_spec(c) for c in s.children()]) if not s.is_leaf() else "*"


CASES = [
    (lambda T: _fn_tuple, lambda fx: {"x": {"a": fx.PH, "b": fx.PH}, "y": (fx.PH,)},
     lambda T, a: ({"a": a[0], "b": a[1]}, (a[2],), 2), "fn"),
    (lambda T: _fn, lambda fx: {"x": {"a": fx.PH, "b": 3.0}},
     lambda T, a: ({"a": a[0], "b": 3.0}, a[1], 2), "fn"),
    (lambda T: _fn, lambda fx: {"x": {"a": fx.PH, "b": fx.PH}, "z": 5},
     lambda T, a: ({"a": a[0], "b": a[1]}, a[2], 5), "fn"),
    (_module, lambda fx: {"x": [fx.PH, fx.PH]}, lambda T, a: ([a[0], a[1]],), "module"),
]


@pytest.mark.parametrize("make, concrete, call, kind", CASES)
def test_container_concrete_args_like_torch(make, concrete, call, kind, rng):
    arrs = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3)]
    got = []
    for T, fx in LIBS:
        gm = fx.symbolic_trace(make(T), concrete_args=concrete(fx))
        args = call(T, [T.tensor(a) for a in arrs])
        got.append((gm.code, str(gm.graph), _spec(gm._in_spec), _spec(gm._out_spec),
                    [np_of(v) if isinstance(v, jtorch.Tensor) else v.numpy() for v in _leaves(gm(*args))]))
    (tcode, tgraph, tin, tout, tvals), (jcode, jgraph, jin, jout, jvals) = got
    assert jcode == tcode and jgraph == tgraph
    assert jin == tin and jout == tout
    assert len(jvals) == len(tvals)
    for j, t in zip(jvals, tvals):
        np.testing.assert_allclose(j, t, rtol=1e-6)


def test_broken_specialization_and_missing_key_raise_like_torch(rng):
    a = rng.standard_normal(3).astype(np.float32)
    errors = []
    for T, fx in LIBS:
        gm = fx.symbolic_trace(_fn, concrete_args={"x": {"a": fx.PH, "b": 3.0}})
        t = T.tensor(a)
        with pytest.raises(AssertionError) as wrong_value:
            gm({"a": t, "b": 4.0}, t, 2)
        with pytest.raises(KeyError) as missing:
            gm({"a": t}, t, 2)
        errors.append((str(wrong_value.value), str(missing.value)))
    assert errors[0] == errors[1]


def test_ph_with_meta_keys_its_placeholder_like_torch():
    from torch.fx._symbolic_trace import PHWithMeta as TPH
    from jtorch.fx._symbolic_trace import PHWithMeta as JPH
    got = []
    for (T, fx), ph in zip(LIBS, (TPH, JPH)):
        nested = fx.symbolic_trace(lambda x: x[0] + x[1], concrete_args={"x": [ph(ph_key="k0"), fx.PH]})
        whole = fx.symbolic_trace(lambda x: x[0] + x[1], concrete_args={"x": ph(ph_key="kk")})
        got.append([(n.name, getattr(n, "ph_key", None)) for g in (nested, whole) for n in g.graph.nodes] +
                   [whole.code, repr(fx.PH)])
    assert got[0] == got[1]

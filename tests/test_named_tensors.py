"""Named tensors: torch 2.13 removed them (pytorch/pytorch#173895), so jtorch has none either.

Every former entry point (``names=`` on factories, ``Tensor.names``/``rename``/``refine_names``/``align_to``,
dims given by name) behaves as in torch 2.13: the same exception types, checked against torch itself.
What code that named its dims moves to is plain Python attributes on tensors (``t.names = [...]``,
``t._dim_names = ...``): those travel through torch.save/load (both ways between torch and jtorch),
pickle, copy and deepcopy exactly as torch's do, and not through ops, clone, detach or views.
"""
import copy
import io
import pickle

import numpy as np
import pytest
import torch

import jtorch


def _pair(rng, shape=(2, 3)):
    a = rng.standard_normal(shape).astype(np.float32)
    return torch.from_numpy(a.copy()), jtorch.tensor(a)


def _outcome(fn, *args):
    """'ok' or the exception type's name."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 (the type is what is compared)
        return type(e).__name__
    return "ok"


# former named-tensor API: (lib, x) -> call
REMOVED = {
    "zeros(names=)": lambda L, x: L.zeros(2, 3, names=("N", "C")),
    "ones(names=)": lambda L, x: L.ones(2, 3, names=("N", "C")),
    "empty(names=)": lambda L, x: L.empty(2, 3, names=("N", "C")),
    "full(names=)": lambda L, x: L.full((2, 3), 1.5, names=("N", "C")),
    "rand(names=)": lambda L, x: L.rand(2, 3, names=("N", "C")),
    "randn(names=)": lambda L, x: L.randn(2, 3, names=("N", "C")),
    "tensor(names=)": lambda L, x: L.tensor([1.0, 2.0], names=("N",)),
    "x.names": lambda L, x: x.names,
    "has_names": lambda L, x: x.has_names(),
    "rename": lambda L, x: x.rename("N", "C"),
    "rename(None)": lambda L, x: x.rename(None),
    "rename_": lambda L, x: x.rename_("N", "C"),
    "refine_names": lambda L, x: x.refine_names(..., "C"),
    "align_to": lambda L, x: x.align_to("C", "N"),
    "align_as": lambda L, x: x.align_as(x),
    "size(name)": lambda L, x: x.size("C"),
    "stride(name)": lambda L, x: x.stride("C"),
    "sum(name)": lambda L, x: x.sum("C"),
    "sum((name,))": lambda L, x: x.sum(("C",)),
    "torch.sum(x, name)": lambda L, x: L.sum(x, "C"),
    "mean(name)": lambda L, x: x.mean("C"),
    "std(name)": lambda L, x: x.std("C"),
    "prod(name)": lambda L, x: x.prod("C"),
    "logsumexp(name)": lambda L, x: x.logsumexp("C"),
    "max(name)": lambda L, x: x.max("C"),
    "all(name)": lambda L, x: x.all("C"),
    "softmax(name)": lambda L, x: x.softmax("C"),
    "F.softmax(name)": lambda L, x: L.nn.functional.softmax(x, "C"),
    "cumsum(name)": lambda L, x: x.cumsum("C"),
    "transpose(names)": lambda L, x: x.transpose("N", "C"),
    "select(name)": lambda L, x: x.select("N", 0),
    "squeeze(name)": lambda L, x: x.squeeze("N"),
    "narrow(name)": lambda L, x: x.narrow("C", 0, 2),
    "unbind(name)": lambda L, x: x.unbind("N"),
    "chunk(name)": lambda L, x: x.chunk(2, "C"),
    "split(name)": lambda L, x: x.split(1, "N"),
    "index_select(name)": lambda L, x: x.index_select("C", L.tensor([0, 2])),
    "cat(name)": lambda L, x: L.cat([x, x], "N"),
    "flatten(names, out)": lambda L, x: x.flatten(["N", "C"], "F"),
    "flatten(name, name)": lambda L, x: x.flatten("N", "C"),
    "unflatten(named sizes)": lambda L, x: x.unflatten(1, (("A", 1), ("B", 3))),
    "unflatten(name)": lambda L, x: x.unflatten("C", (1, 3)),
}


@pytest.mark.parametrize("name", list(REMOVED))
def test_removed_api_fails_as_torch(rng, name):
    t, j = _pair(rng)
    want = _outcome(REMOVED[name], torch, t)
    assert want != "ok", f"torch {torch.__version__} accepts {name}: named tensors are back, revisit this file"
    assert _outcome(REMOVED[name], jtorch, j) == want


def test_names_is_a_plain_attribute(rng):
    t, j = _pair(rng)
    names = [str(c) for c in rng.choice(list("NCHW"), size=3)]  # any value: not checked against the shape
    for x in (t, j):
        x.names = names
    assert j.names == t.names == names
    assert j.__dict__ == t.__dict__ == {"names": names}
    # no op propagates it (nothing knows of it), as in torch
    for op in (lambda x: x + 1, lambda x: x.sum(1), lambda x: x.clone(), lambda x: x.detach(), lambda x: x[0],
               lambda x: x.view(6), lambda x: x.t(), lambda x: x.data, lambda x: x.to(torch.float64 if isinstance(
                   x, torch.Tensor) else jtorch.float64)):
        assert hasattr(op(j), "names") == hasattr(op(t), "names") == False  # noqa: E712
    np.testing.assert_array_equal((j * 2).numpy(), (t * 2).numpy())


def _attributed(L, a, rng_names):
    x = L.tensor(a)
    x.names = list(rng_names)
    x._dim_names = tuple(rng_names)  # private keys travel too (sglang's replacement for named tensors)
    x.meta = {"scale": float(a.ravel()[0]), "ids": {1, 2}}
    return x


def _same_attrs(j, t):
    assert sorted(j.__dict__) == sorted(t.__dict__)
    for k, v in t.__dict__.items():
        assert j.__dict__[k] == v, k


def _names(rng, k):
    return [str(c) for c in rng.choice(list("ABCDEFG"), size=k, replace=False)]


@pytest.mark.parametrize("weights_only", [True, False])
def test_attributes_survive_save_load_both_ways(rng, weights_only):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    nm = _names(rng, 2)
    t, j = _attributed(torch, a, nm), _attributed(jtorch, a, nm)
    for lib_save, lib_load, x in ((jtorch, torch, j), (torch, jtorch, t), (jtorch, jtorch, j), (torch, torch, t)):
        buf = io.BytesIO()
        lib_save.save({"x": x, "view": x[1]}, buf)
        buf.seek(0)
        r = lib_load.load(buf, weights_only=weights_only)
        np.testing.assert_array_equal(np.asarray(r["x"]), a)
        _same_attrs(r["x"], t)
        assert r["view"].__dict__ == {}
        r["view"][0] = 100.0  # still a view of the same storage after the round trip
        assert float(r["x"][1, 0]) == 100.0


def test_parameter_and_requires_grad_attributes_both_ways(rng):
    a = rng.standard_normal(4).astype(np.float32)
    tp, jp = torch.nn.Parameter(torch.tensor(a)), jtorch.nn.Parameter(jtorch.tensor(a))
    tl, jl = torch.tensor(a, requires_grad=True), jtorch.tensor(a, requires_grad=True)
    tag = _names(rng, 3)
    for x in (tp, jp, tl, jl):
        x.tag = tag
    for lib_save, lib_load, p, leaf in ((jtorch, torch, jp, jl), (torch, jtorch, tp, tl)):
        buf = io.BytesIO()
        lib_save.save([p, leaf], buf)
        buf.seek(0)
        rp, rl = lib_load.load(buf)
        assert type(rp).__name__ == "Parameter" and rp.requires_grad and rp.tag == tag
        assert type(rl).__name__ == "Tensor" and rl.requires_grad and rl.is_leaf and rl.tag == tag
        np.testing.assert_array_equal(rp.detach().numpy(), a)


_LAMBDA = lambda: 0  # noqa: E731 (a module-level lambda: not picklable by name)


def test_unpicklable_attribute_fails_as_torch(rng):
    t, j = _pair(rng)
    for x in (t, j):
        x.fn = _LAMBDA
    want = _outcome(torch.save, t, io.BytesIO())
    assert want != "ok"
    assert _outcome(jtorch.save, j, io.BytesIO()) == want
    assert _outcome(pickle.dumps, j) == _outcome(pickle.dumps, t)


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_attributes_through_pickle_and_copies(rng, how):
    a = rng.standard_normal((2, 5)).astype(np.float32)
    nm = _names(rng, 2)
    t, j = _attributed(torch, a, nm), _attributed(jtorch, a, nm)
    do = {"pickle": lambda x: pickle.loads(pickle.dumps(x)), "copy": copy.copy, "deepcopy": copy.deepcopy}[how]
    rt, rj = do(t), do(j)
    _same_attrs(rj, rt)
    np.testing.assert_array_equal(rj.numpy(), rt.numpy())
    # deepcopy copies the attribute values, copy shares them, pickle rebuilds them
    assert (rj.names is j.names) == (rt.names is t.names)
    assert (rj.meta is j.meta) == (rt.meta is t.meta)


def test_parameter_pickle_keeps_attributes(rng):
    a = rng.standard_normal(3).astype(np.float32)
    tp, jp = torch.nn.Parameter(torch.tensor(a)), jtorch.nn.Parameter(jtorch.tensor(a))
    for p in (tp, jp):
        p.names = ["K"]
    rt, rj = pickle.loads(pickle.dumps(tp)), pickle.loads(pickle.dumps(jp))
    assert type(rj).__name__ == type(rt).__name__ == "Parameter"
    _same_attrs(rj, rt)


def test_parameter_deepcopy_as_torch(rng):
    """torch deep-copies a Parameter as a new Parameter over a copy of its data: no .grad, no attributes."""
    a = rng.standard_normal(3).astype(np.float32)
    g = rng.standard_normal(3).astype(np.float32)
    tp, jp = torch.nn.Parameter(torch.tensor(a)), jtorch.nn.Parameter(jtorch.tensor(a))
    tp.grad, jp.grad = torch.tensor(g), jtorch.tensor(g)
    tp.tag = jp.tag = "w"
    rt, rj = copy.deepcopy(tp), copy.deepcopy(jp)
    assert type(rj).__name__ == type(rt).__name__
    assert (rj.grad is None) == (rt.grad is None)
    assert rj.__dict__ == rt.__dict__
    assert rj.requires_grad == rt.requires_grad
    np.testing.assert_array_equal(rj.detach().numpy(), rt.detach().numpy())
    rj.data[0] = 5.0  # a copy, not an alias
    assert float(jp[0]) == a[0]

    # a module deep-copied after backward: its parameters come without gradients, as in torch
    x = rng.standard_normal((4, 3)).astype(np.float32)
    grads = []
    for L in (torch, jtorch):
        L.manual_seed(0)
        m = L.nn.Linear(3, 2)
        m(L.tensor(x)).sum().backward()
        grads.append([p.grad is None for p in copy.deepcopy(m).parameters()])
    assert grads[0] == grads[1]


def test_plain_tensor_deepcopy_keeps_grad_and_attributes(rng):
    a = rng.standard_normal(3).astype(np.float32)
    g = rng.standard_normal(3).astype(np.float32)
    t, j = torch.tensor(a, requires_grad=True), jtorch.tensor(a, requires_grad=True)
    t.grad, j.grad = torch.tensor(g), jtorch.tensor(g)
    t.names = j.names = ["C"]
    rt, rj = copy.deepcopy(t), copy.deepcopy(j)
    np.testing.assert_array_equal(rj.grad.numpy(), rt.grad.numpy())
    assert rj.names == rt.names and (rj.names is j.names) == (rt.names is t.names)
    assert rj.requires_grad == rt.requires_grad and rj.is_leaf == rt.is_leaf


def test_shallow_copy_aliases_like_torch(rng):
    """``copy.copy`` of a tensor, a view, a non-leaf and a Parameter: torch gives a leaf over the same storage
    (a write shows in both), with requires_grad kept and the attribute values shared."""
    a = rng.standard_normal(6).astype(np.float32)
    results = []
    for lib in (torch, jtorch):
        t = lib.tensor(a)
        t.tag = [1]
        c = copy.copy(t)
        c[0] = 7.0
        v = copy.copy(t[2:4])
        v[0] = -1.0
        x = lib.tensor(a, requires_grad=True)
        y = copy.copy(x * 2)
        p = lib.nn.Parameter(lib.tensor(a))
        q = copy.copy(p)
        q.data[1] = 3.0
        results.append((t.tolist(), c.tolist(), c.tag is t.tag, type(c).__name__, y.requires_grad, y.is_leaf,
                        y.grad_fn is None, type(q).__name__, q.requires_grad, p.tolist()))
    assert results[0] == results[1]

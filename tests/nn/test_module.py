"""nn.Module semantics against torch: registration, traversal, state_dict round trips,
modes, moves, hooks, containers, repr and errors."""
import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close
from tests.nn.layer_check import copy_weights


def build(nn, mod):
    """The same model for torch (mod=torch) and jtorch: nested, with a shared submodule,
    a non-persistent buffer and a None parameter."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.register_buffer("steps", mod.zeros(2))
            self.register_buffer("scratch", mod.ones(3), persistent=False)
            self.register_parameter("unused", None)

        def forward(self, x):
            return mod.relu(self.fc(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Block()
            self.b = Block()
            self.shared = self.a.fc
            self.seq = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
            self.bn = nn.BatchNorm1d(2)
            self.scale = nn.Parameter(mod.ones(1))

        def forward(self, x):
            return self.bn(self.seq(self.b(self.a(x)))) * self.scale

    return Net()


@pytest.fixture
def pair():
    return build(torch.nn, torch), build(jtorch.nn, jtorch)


def test_traversal_names_match_torch(pair):
    t, j = pair
    for fn in [lambda m: [n for n, _ in m.named_parameters()],
               lambda m: [n for n, _ in m.named_parameters(prefix="net", recurse=True)],
               lambda m: [n for n, _ in m.named_parameters(recurse=False)],
               lambda m: [n for n, _ in m.named_parameters(remove_duplicate=False)],
               lambda m: [n for n, _ in m.named_buffers()],
               lambda m: [n for n, _ in m.named_buffers(remove_duplicate=False)],
               lambda m: [n for n, _ in m.named_modules()],
               lambda m: [n for n, _ in m.named_modules(remove_duplicate=False)],
               lambda m: [n for n, _ in m.named_modules(prefix="root")],
               lambda m: [n for n, _ in m.named_children()],
               lambda m: [type(c).__name__ for c in m.children()],
               lambda m: [type(c).__name__ for c in m.modules()],
               lambda m: [tuple(p.shape) for p in m.parameters()],
               lambda m: [tuple(b.shape) for b in m.buffers()],
               lambda m: list(m.state_dict().keys()),
               lambda m: list(m.state_dict(prefix="p.").keys()),
               lambda m: list(m.a.state_dict().keys())]:
        assert fn(j) == fn(t)
    assert repr(j) == repr(t)
    assert j.a.fc.weight is j.shared.weight


def test_state_dict_aliases_parameters_and_keep_vars(pair):
    _, j = pair
    sd = j.state_dict()
    assert isinstance(sd, OrderedDict) and hasattr(sd, "_metadata")
    assert not sd["seq.0.weight"].requires_grad and type(sd["seq.0.weight"]) is jtorch.Tensor
    sd["seq.0.weight"][0, 0] = 123.0  # writes through to the parameter
    assert j.seq[0].weight[0, 0].item() == 123.0
    kv = j.state_dict(keep_vars=True)
    assert kv["seq.0.weight"] is j.seq[0].weight and kv["bn.running_mean"] is j.bn.running_mean


def test_load_state_dict_keeps_parameter_objects(pair, rng):
    t, j = pair
    ids = {n: id(p) for n, p in j.named_parameters()}
    copy_weights(t, j)
    assert {n: id(p) for n, p in j.named_parameters()} == ids
    for n, p in j.named_parameters():
        assert_close(p, dict(t.named_parameters())[n])
        assert p.requires_grad and isinstance(p, jtorch.nn.Parameter)
    # real torch tensors and jtorch tensors are accepted too
    j.load_state_dict(t.state_dict())
    j2 = build(jtorch.nn, jtorch)
    res = j2.load_state_dict(j.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == [] and repr(res) == "<All keys matched successfully>"
    x = rng.standard_normal((5, 4)).astype(np.float32)
    t.eval(), j.eval(), j2.eval()
    assert_close(j(jtorch.tensor(x)), t(torch.from_numpy(x)).detach(), atol=1e-5)
    assert_close(j2(jtorch.tensor(x)), t(torch.from_numpy(x)).detach(), atol=1e-5)


def test_load_state_dict_errors_match_torch(pair):
    t, j = pair
    sd_t = t.state_dict()
    sd_j = j.state_dict()
    # missing and unexpected keys
    for mutate in [lambda d: d.pop("seq.0.bias"),
                   lambda d: d.__setitem__("extra.weight", d["scale"]),
                   lambda d: (d.pop("a.steps"), d.__setitem__("seq.9.bias", d["scale"]))]:
        dt, dj = OrderedDict(sd_t), OrderedDict(sd_j)
        mutate(dt)
        mutate(dj)
        with pytest.raises(RuntimeError) as et:
            t.load_state_dict(dt)
        with pytest.raises(RuntimeError) as ej:
            j.load_state_dict(dj)
        assert str(ej.value) == str(et.value)
        rt, rj = t.load_state_dict(dt, strict=False), j.load_state_dict(dj, strict=False)
        assert rj.missing_keys == rt.missing_keys and rj.unexpected_keys == rt.unexpected_keys
    # size mismatch raises even when not strict
    dt, dj = OrderedDict(sd_t), OrderedDict(sd_j)
    dt["scale"] = torch.ones(3)
    dj["scale"] = jtorch.ones(3)
    for m, d in ((t, dt), (j, dj)):
        with pytest.raises(RuntimeError):
            m.load_state_dict(d, strict=False)
    with pytest.raises(RuntimeError) as et:
        t.load_state_dict(dt)
    with pytest.raises(RuntimeError) as ej:
        j.load_state_dict(dj)
    assert str(ej.value).replace("jtorch", "torch") == str(et.value)
    with pytest.raises(TypeError):
        j.load_state_dict([1, 2])


def test_load_state_dict_assign(rng):
    m = jtorch.nn.Linear(3, 2)
    w = jtorch.nn.Parameter(jtorch.randn(2, 3))
    m.load_state_dict({"weight": w, "bias": jtorch.zeros(2)}, assign=True)
    assert m.weight is w and isinstance(m.bias, jtorch.nn.Parameter)


def test_modes_grads_apply(pair, rng):
    t, j = pair
    j.eval()
    assert all(not m.training for m in j.modules())
    j.train()
    assert all(m.training for m in j.modules())
    with pytest.raises(ValueError):
        j.train("yes")
    j.requires_grad_(False)
    assert all(not p.requires_grad for p in j.parameters())
    j.requires_grad_()
    x = jtorch.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    j(x).sum().backward()
    grads = [p.grad for p in j.parameters()]
    assert all(g is not None for g in grads)
    j.zero_grad(set_to_none=False)
    assert all(p.grad is g and float(g.abs().sum()) == 0 for p, g in zip(j.parameters(), grads))
    j.zero_grad()
    assert all(p.grad is None for p in j.parameters())
    seen = []
    assert j.apply(lambda m: seen.append(type(m).__name__)) is j
    tseen = []
    t.apply(lambda m: tseen.append(type(m).__name__))
    assert seen == tseen


def test_dtype_moves_keep_parameter_identity(pair):
    _, j = pair
    params = list(j.parameters())
    j.double()
    assert all(p is q for p, q in zip(j.parameters(), params))
    assert all(p.dtype == jtorch.float64 for p in j.parameters())
    assert j.bn.num_batches_tracked.dtype == jtorch.int64 and j.bn.running_mean.dtype == jtorch.float64
    j.to(jtorch.float32)
    assert all(p.dtype == jtorch.float32 for p in j.parameters())
    j.half()
    assert j.scale.dtype == jtorch.float16
    j.float().to("cpu").cpu()
    j.to(jtorch.ones(1, dtype=jtorch.float64))
    assert j.scale.dtype == jtorch.float64 and j.scale.is_leaf and j.scale.requires_grad
    j.type(jtorch.float32)
    assert j.scale.dtype == jtorch.float32
    with pytest.raises(TypeError):
        j.to(jtorch.int64)
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).to(torch.int64)


def test_attribute_protocol_errors():
    for nn in (torch.nn, jtorch.nn):
        m = nn.Linear(2, 3)
        with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
            m.foo
        with pytest.raises(TypeError):
            m.weight = (torch if nn is torch.nn else jtorch).ones(3, 2)  # a plain tensor for a parameter
        with pytest.raises(TypeError):
            m.register_parameter("p", (torch if nn is torch.nn else jtorch).ones(1))
        with pytest.raises(KeyError):
            m.register_buffer("a.b", None)
        with pytest.raises(KeyError):
            m.register_buffer("weight", None)
        with pytest.raises(TypeError):
            m.add_module("x", 3)
        with pytest.raises(KeyError):
            m.add_module("a.b", nn.ReLU())
        with pytest.raises(AttributeError):
            m.get_submodule("nothing")
        with pytest.raises(AttributeError):
            m.get_parameter("nothing")
        m.register_module("act", nn.ReLU())
        assert isinstance(m.get_submodule("act"), nn.ReLU)
        assert m.get_parameter("weight") is m.weight
        del m.act
        with pytest.raises(AttributeError):
            m.act
        assert "weight" in dir(m) and "forward" in dir(m)
        m.weight = None
        assert m.weight is None and [n for n, _ in m.named_parameters()] == ["bias"]
        class Bare(nn.Module):
            pass
        with pytest.raises(NotImplementedError):
            Bare()(1)


def test_get_buffer_and_submodule():
    t, j = build(torch.nn, torch), build(jtorch.nn, jtorch)
    assert tuple(j.get_buffer("a.steps").shape) == tuple(t.get_buffer("a.steps").shape)
    assert j.get_submodule("seq.0") is j.seq[0]
    assert j.get_parameter("seq.2.weight") is j.seq[2].weight
    for m in (t, j):
        with pytest.raises(AttributeError, match="is not a buffer"):
            m.get_buffer("seq.0.weight")
        with pytest.raises(AttributeError, match="is not an nn.Parameter"):
            m.get_parameter("a.steps")


def test_buffer_and_plain_attributes():
    m = jtorch.nn.Module()
    m.b = jtorch.nn.Buffer(jtorch.ones(2), persistent=False)
    m.c = jtorch.nn.Buffer(jtorch.zeros(1))
    m.d = jtorch.ones(3)  # a plain tensor attribute is not registered
    assert [n for n, _ in m.named_buffers()] == ["b", "c"]
    assert list(m.state_dict()) == ["c"]
    m.c = jtorch.full((1,), 5.0)  # reassigning a buffer name keeps it a buffer
    assert m.state_dict()["c"].item() == 5.0


def test_forward_hooks_match_torch(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    res = {}
    for name, nn, mod in (("t", torch.nn, torch), ("j", jtorch.nn, jtorch)):
        m = nn.Linear(3, 2)
        if name == "t":
            tm = m
        else:
            copy_weights(tm, m)
        calls = []
        h1 = m.register_forward_pre_hook(lambda mm, args: (args[0] * 2,))
        h2 = m.register_forward_hook(lambda mm, args, out: out + 1)
        m.register_forward_hook(lambda mm, args, out: calls.append("late"))
        m.register_forward_hook(lambda mm, args, out: calls.append("early"), prepend=True)
        m.register_forward_pre_hook(lambda mm, args, kwargs: ((args[0] - 1,), kwargs), with_kwargs=True)
        m.register_forward_hook(lambda mm, args, kwargs, out: calls.append(("kw", len(kwargs))), with_kwargs=True)
        a = torch.from_numpy(x) if name == "t" else jtorch.tensor(x)
        o1 = m(a)
        h1.remove()
        with h2:
            pass
        o2 = m(a)
        res[name] = (o1.detach(), o2.detach(), calls)
    assert res["j"][2] == res["t"][2]
    assert_close(res["j"][0], res["t"][0])
    assert_close(res["j"][1], res["t"][1])


def test_full_backward_hooks_match_torch(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    rec = {}
    for name, nn, mod in (("t", torch.nn, torch), ("j", jtorch.nn, jtorch)):
        mod.manual_seed(0)
        m = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
        if name == "j":
            copy_weights(tm, m)
        else:
            tm = m
        got = {}

        def bhook(module, gin, gout, got=got):
            got["gin"] = [None if g is None else np.asarray(g.detach()) for g in gin]
            got["gout"] = [np.asarray(g.detach()) for g in gout]
            return (gin[0] * 3,)

        def prehook(module, gout, got=got):
            got["pre"] = True
            return (gout[0] * 2,)

        m[1].register_full_backward_hook(bhook)
        m[1].register_full_backward_pre_hook(prehook)
        inp = (torch.from_numpy(x) if name == "t" else jtorch.tensor(x)).requires_grad_()
        m(inp).sum().backward()
        got["x"] = np.asarray(inp.grad)
        got["w0"] = np.asarray(m[0].weight.grad)
        rec[name] = got
    t, j = rec["t"], rec["j"]
    assert j["pre"]
    np.testing.assert_allclose(j["gout"][0], t["gout"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(j["gin"][0], t["gin"][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(j["x"], t["x"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(j["w0"], t["w0"], rtol=1e-5, atol=1e-6)


def test_sequential_and_modulelist_containers():
    for nn in (torch.nn, jtorch.nn):
        s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        assert len(s) == 3 and isinstance(s[-1], nn.Linear) and isinstance(s[1:], nn.Sequential)
        assert len(s[1:]) == 2 and list(s[1:]._modules) == ["1", "2"]
        s.append(nn.Sigmoid())
        s.insert(0, nn.Identity())
        assert [type(m).__name__ for m in s] == ["Identity", "Linear", "ReLU", "Linear", "Sigmoid"]
        del s[0]
        assert list(s._modules) == ["0", "1", "2", "3"]
        with pytest.raises(IndexError):
            s[10]
        named = nn.Sequential(OrderedDict([("first", nn.Linear(1, 1)), ("act", nn.ReLU())]))
        assert list(named._modules) == ["first", "act"] and isinstance(named.first, nn.Linear)
        ml = nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Linear(1, 2)])
        ml.append(nn.Tanh())
        ml.extend([nn.ReLU()])
        ml.insert(1, nn.Sigmoid())
        assert len(ml) == 6 and isinstance(ml[1], nn.Sigmoid) and isinstance(ml[-1], nn.ReLU)
        assert isinstance(ml[1:3], nn.ModuleList)
        md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
        md["c"] = nn.Identity()
        assert list(md.keys()) == ["b", "a", "c"] and "a" in md and len(md) == 3
        md.pop("a")
        assert list(md) == ["b", "c"]
    t = [torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.ReLU(), torch.nn.Linear(1, 2), torch.nn.ReLU()]),
         torch.nn.ModuleDict({"x": torch.nn.ReLU()}), torch.nn.Sequential()]
    j = [jtorch.nn.ModuleList([jtorch.nn.ReLU(), jtorch.nn.ReLU(), jtorch.nn.Linear(1, 2), jtorch.nn.ReLU()]),
         jtorch.nn.ModuleDict({"x": jtorch.nn.ReLU()}), jtorch.nn.Sequential()]
    for a, b in zip(j, t):
        assert repr(a) == repr(b)


def test_parameter_containers():
    tl = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)), torch.zeros(2)])
    jl = jtorch.nn.ParameterList([jtorch.nn.Parameter(jtorch.ones(2, 3)), jtorch.zeros(2)])
    assert repr(jl) == repr(tl)
    assert isinstance(jl[1], jtorch.nn.Parameter) and len(jl) == 2
    jl.append(jtorch.ones(1))
    assert [n for n, _ in jl.named_parameters()] == ["0", "1", "2"]
    td = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.ones(2, 3))})
    jd = jtorch.nn.ParameterDict({"w": jtorch.nn.Parameter(jtorch.ones(2, 3))})
    assert repr(jd) == repr(td)
    jd["b"] = jtorch.zeros(2)
    assert isinstance(jd["b"], jtorch.nn.Parameter) and list(jd.keys()) == ["w", "b"]
    assert list(jd.state_dict()) == ["w", "b"]

    class M(jtorch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = jtorch.nn.ParameterList([jtorch.nn.Parameter(jtorch.ones(1)) for _ in range(2)])

    assert [n for n, _ in M().named_parameters()] == ["ps.0", "ps.1"]


def test_parameter_basics():
    d = jtorch.randn(2, 3)
    p = jtorch.nn.Parameter(d)
    tp = torch.nn.Parameter(torch.ones(2))
    assert p.requires_grad and p.is_leaf and isinstance(p, jtorch.Tensor)
    assert repr(jtorch.nn.Parameter(jtorch.ones(2))) == repr(tp)
    assert not jtorch.nn.Parameter(d, requires_grad=False).requires_grad
    d[0, 0] = 7.0  # shares storage with the data it wraps
    assert p[0, 0].item() == 7.0
    with pytest.raises(RuntimeError):
        jtorch.nn.Parameter(jtorch.ones(2, dtype=jtorch.int64))
    assert type(p * 2) is jtorch.Tensor and type(p.data) is jtorch.Tensor
    assert repr(jtorch.nn.UninitializedParameter()) == repr(torch.nn.UninitializedParameter())


def test_deepcopy_module():
    m = jtorch.nn.Sequential(jtorch.nn.Linear(2, 2), jtorch.nn.BatchNorm1d(2))
    m2 = copy.deepcopy(m)
    assert m2[0].weight is not m[0].weight and isinstance(m2[0].weight, jtorch.nn.Parameter)
    np.testing.assert_array_equal(np.asarray(m2[0].weight.detach()), np.asarray(m[0].weight.detach()))
    with jtorch.no_grad():
        m2[0].weight.fill_(1.0)
    assert float(m[0].weight.sum()) != 4.0


def test_module_init_errors():
    class Bad(jtorch.nn.Module):
        def __init__(self):
            self.fc = jtorch.nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="cannot assign module before Module.__init__"):
        Bad()
    with pytest.raises(TypeError):
        jtorch.nn.Module(3)


def test_module_utils_helpers(rng):
    from jtorch.nn.modules.utils import _pair, _triple, consume_prefix_in_state_dict_if_present
    from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present as tconsume
    assert _pair(3) == (3, 3) and _triple((1, 2, 3)) == (1, 2, 3)
    t, j = torch.nn.Linear(2, 2), jtorch.nn.Linear(2, 2)
    tsd = OrderedDict(("module." + k, v) for k, v in t.state_dict().items())
    jsd = OrderedDict(("module." + k, v) for k, v in j.state_dict().items())
    tconsume(tsd, "module.")
    consume_prefix_in_state_dict_if_present(jsd, "module.")
    assert list(jsd) == list(tsd)
    # SyncBatchNorm on one process is batch norm over the local batch
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    from tests.nn.layer_check import compare
    compare(torch.nn.BatchNorm1d(3), jtorch.nn.SyncBatchNorm(3), [x], rng)


def test_always_call_forward_hook_runs_when_forward_raises():
    for nn, mod in ((torch.nn, torch), (jtorch.nn, jtorch)):
        m = nn.Linear(3, 2)
        calls = []
        m.register_forward_hook(lambda mm, a, o: calls.append("always"), always_call=True)
        m.register_forward_hook(lambda mm, a, o: calls.append("normal"))
        with pytest.raises(RuntimeError):
            m(mod.ones(2, 4))
        assert calls == ["always"]


def test_backward_hook_grad_input_layout_matches_torch():
    got = {}
    for name, lib in (("t", torch), ("j", jtorch)):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.p = lib.nn.Parameter(lib.ones(1))

            def forward(self, x, k, y):
                return (x * k).sum() * self.p

        m, rec = M(), []
        m.register_full_backward_hook(lambda mod, gi, go: rec.append([None if g is None else g.tolist() for g in gi]))
        with pytest.warns(UserWarning) if name == "t" else contextlib_null():
            m(lib.ones(2), 3, lib.ones(2)).sum().backward()  # no input requires grad
        m(lib.ones(2, requires_grad=True), 3, lib.ones(2)).sum().backward()
        got[name] = rec
    assert got["j"] == got["t"]


def contextlib_null():
    import contextlib
    return contextlib.nullcontext()

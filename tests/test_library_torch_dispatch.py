"""torch.library.register_torch_dispatch with TorchDispatchMode and Tensor subclasses, register_autocast,
triton_op and wrap_triton (no Triton here), each against torch. jtorch's modes see the calls of library
operators only (docs/internals.md)."""
import importlib

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close

NS = "jt_libtd_test"


def modules(m):
    return m, importlib.import_module(m.__name__ + ".utils._python_dispatch")


def define(m, ns):
    """A custom op with a gradient formula and a Library op with a CPU kernel."""
    def scale(x: m.Tensor, k: float) -> m.Tensor:
        return x * k
    op = m.library.custom_op(f"{ns}::scale", scale, mutates_args=())
    op.register_autograd(lambda ctx, g: (g * ctx.k, None),
                         setup_context=lambda ctx, inputs, output: setattr(ctx, "k", inputs[1]))
    lib = m.library.Library(ns, "FRAGMENT")
    lib.define("shift(Tensor x, *, float by=1.0) -> Tensor")
    lib.impl("shift", lambda x, by=1.0: x + by, "CPU")
    lib.define("decomposed(Tensor x) -> Tensor")
    lib.impl("decomposed", lambda x: x.cos(), "CompositeImplicitAutograd")
    return op, lib


def recording_mode(PD):
    class Recorder(PD.TorchDispatchMode):
        def __init__(self, tag, seen):
            super().__init__()
            self.tag, self.seen = tag, seen

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.append((self.tag, str(func), types, len(args), dict(kwargs or {})))
            return func(*args, **(kwargs or {}))
    return Recorder


def run_modes(m, rng_values):
    m, PD = modules(m)
    ns = NS + "_modes"
    op, lib = define(m, ns)
    Recorder = recording_mode(PD)
    x = m.tensor(rng_values, requires_grad=True)
    seen = []
    with Recorder("outer", seen), Recorder("inner", seen):
        y = op(x, 3.0)
        z = getattr(m.ops, ns).shift(y.detach(), by=2.0)
        getattr(m.ops, ns).decomposed(z)
    (y * y).sum().backward()  # (the formula registered for the op, below which the modes ran)
    ours = [s for s in seen if s[1].startswith(ns.replace("::", "."))]
    out = {"seen": ours, "y": y, "z": z, "grad": x.grad}
    # a rule for the mode's class replaces its __torch_dispatch__ for that op (the class itself only)
    m.library.register_torch_dispatch(f"{ns}::scale", Recorder,
                                      lambda mode, func, types, args, kwargs: args[0] * 100 + args[1])

    class Sub(Recorder):
        pass
    seen2 = []
    with Recorder("r", seen2):
        out["ruled"] = op(x.detach(), 2.0)
    with Sub("s", seen2):
        out["sub_mode"] = op(x.detach(), 2.0)
    out["outside"] = op(x.detach(), 2.0)
    out["seen2"] = [s for s in seen2 if s[1].startswith(ns.replace("::", "."))]
    del lib
    return out


def test_modes_see_library_ops_like_torch(rng):
    v = rng.standard_normal(4).astype(np.float32)
    t, j = run_modes(torch, v), run_modes(jtorch, v)
    assert j["seen"] == t["seen"]  # inner mode first, then the outer one (func re-entered)
    assert all("decomposed" not in s[1] for s in j["seen"] + t["seen"])  # it decomposes before the modes
    for k in ("y", "z", "grad", "ruled", "sub_mode", "outside"):
        assert_close(j[k].detach(), t[k].detach(), rtol=1e-5, atol=1e-5)
    assert j["seen2"] == t["seen2"]


def run_subclass(m, rng_values):
    m, _ = modules(m)
    ns = NS + "_sub"

    def double(x: m.Tensor) -> m.Tensor:
        return x * 2
    op = m.library.custom_op(f"{ns}::double", double, mutates_args=())
    plain = m.tensor(rng_values)
    log = []

    class Tagged(m.Tensor):
        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            log.append(("dispatch", str(func), tuple(c.__name__ for c in types)))
            return plain - 1

    class Other(m.Tensor):
        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            return NotImplemented

    s = m.Tensor._make_subclass(Tagged, m.zeros(len(rng_values)))
    out = {"unruled": op(s)}
    m.library.register_torch_dispatch(op, Tagged, lambda cls, func, types, args, kwargs: (
        log.append(("rule", cls.__name__, str(func), tuple(c.__name__ for c in types))), plain * 7)[1])
    out["ruled"] = op(s)
    out["plain"] = op(plain)  # a plain tensor: the op's kernel
    out["log"] = log
    o = m.Tensor._make_subclass(Other, m.zeros(2))
    try:
        op(o)
    except Exception as e:  # noqa: BLE001
        out["not_implemented"] = type(e).__name__
    return out


def test_tensor_subclass_dispatch_like_torch(rng):
    v = rng.standard_normal(3).astype(np.float32)
    t, j = run_subclass(torch, v), run_subclass(jtorch, v)
    for k in ("unruled", "ruled", "plain"):
        assert_close(j[k], t[k])
    assert j["log"] == t["log"]
    assert j["not_implemented"] == t["not_implemented"] == "TypeError"


def run_autocast(m, rng_values):
    ns = NS + "_ac"
    seen = []

    def mm(a: m.Tensor, b: m.Tensor) -> m.Tensor:
        seen.append((str(a.dtype), str(b.dtype), m.is_autocast_enabled("cpu")))
        return a @ b
    op = m.library.custom_op(f"{ns}::mm", mm, mutates_args=())
    m.library.register_autocast(op, "cpu", m.float16)
    a = m.tensor(rng_values[:6].reshape(2, 3))
    b = m.tensor(rng_values[6:12].reshape(3, 2))
    out = []
    with m.autocast("cpu", dtype=m.bfloat16):
        out.append(op(a, b))
        out.append(op(a.double(), b.double()))  # float64 is never cast
    out.append(op(a, b))  # outside: as is
    # through the Library API, for a Library-defined op
    lib = m.library.Library(ns, "FRAGMENT")
    lib.define("twice(Tensor x) -> Tensor")
    lib.impl("twice", lambda x: (seen.append(str(x.dtype)), x * 2)[1], "CPU")
    m.library.register_autocast(f"{ns}::twice", "cpu", m.bfloat16, lib=lib)
    with m.autocast("cpu"):
        out.append(getattr(m.ops, ns).twice(a))
    with pytest.raises(AttributeError):
        m.library.register_autocast(op, "xla", m.float16)
    del lib
    return out, seen


def test_register_autocast_like_torch(rng):
    v = rng.standard_normal(12).astype(np.float32)
    (to, ts), (jo, js) = run_autocast(torch, v), run_autocast(jtorch, v)
    assert js == ts
    for a, b in zip(jo, to):
        assert str(a.dtype) == str(b.dtype)
        assert_close(a, b, rtol=1e-2, atol=1e-2)


def test_triton_op_without_triton(rng):
    v = rng.standard_normal(5).astype(np.float32)
    outs = []
    for m in (torch, jtorch):
        ns = NS + "_triton"

        @m.library.triton_op(f"{ns}::add", mutates_args={})
        def add(x: m.Tensor, y: m.Tensor) -> m.Tensor:
            return x + y  # the Python body runs (torch's too, where Triton is missing)

        add.register_fake(lambda x, y: m.empty_like(x))
        assert type(add).__name__ == "CustomOpDef"
        outs.append((add(m.tensor(v), m.tensor(v)), getattr(m.ops, ns).add(m.tensor(v), m.tensor(v[::-1].copy()))))
        assert tuple(add(m.empty(3, device="meta"), m.empty(3, device="meta")).shape) == (3,)
        with pytest.raises(ModuleNotFoundError, match="triton"):
            m.library.wrap_triton(lambda: None)
    for a, b in zip(outs[1], outs[0]):
        assert_close(a, b)

"""User Tensor subclasses as the 'extending torch' docs write them, against torch: _make_subclass
inside __new__ before the subclass's attributes exist (not seen by __torch_function__), the
subclass constructor on a tensor / data / sizes, the class name in repr, and resolve_name."""
import numpy as np
import pytest
import torch

import jtorch


def _unit_class(lib):
    class Unit(lib.Tensor):
        @staticmethod
        def __new__(cls, data, unit):
            t = lib.Tensor._make_subclass(cls, lib.as_tensor(data, dtype=lib.float32), True)
            t.unit = unit
            return t

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            units = {a.unit for a in args if isinstance(a, Unit)}  # reads an attribute __new__ sets
            with lib._C.DisableTorchFunctionSubclass():
                out = func(*args, **(kwargs or {}))
            if isinstance(out, lib.Tensor) and not isinstance(out, Unit):
                out = out.as_subclass(Unit)
                out.unit = units.pop() if len(units) == 1 else None
            return out
    return Unit


def test_make_subclass_in_new_with_handler(rng):
    x = rng.standard_normal(3).astype(np.float32)
    res = []
    for lib in (torch, jtorch):
        Unit = _unit_class(lib)
        a = Unit(x, "m")
        assert a.requires_grad and a.is_leaf and a.unit == "m"
        out = a * 2 + a
        assert type(out) is Unit and out.unit == "m"
        out.sum().backward()
        res.append(a.grad.numpy() if lib is torch else np.asarray(a.grad))
    np.testing.assert_allclose(res[1], res[0])


@pytest.mark.parametrize("args", ["tensor", "grad_tensor", "list", "sizes", "empty"])
def test_subclass_constructor(rng, args):
    x = rng.standard_normal(3).astype(np.float32)
    seen = []
    for lib in (torch, jtorch):
        class Sub(lib.Tensor):
            pass
        src = lib.tensor(x, requires_grad=args == "grad_tensor")
        made = {"tensor": lambda: Sub(src), "grad_tensor": lambda: Sub(src), "list": lambda: Sub([1.0, 2.0]),
                "sizes": lambda: Sub(2, 3), "empty": lambda: Sub()}[args]()
        assert type(made) is Sub
        facts = (tuple(made.shape), str(made.dtype).split(".")[-1], made.requires_grad, made.is_leaf)
        if args.endswith("tensor"):
            made.add_(0) if not made.requires_grad else None
            facts += (made.data_ptr() == src.data_ptr(),)
        if args != "sizes":  # sizes give uninitialised memory in torch
            facts += (made.tolist(),)
        seen.append(facts)
    assert seen[1] == seen[0]
    # the plain class: torch.Tensor(t) aliases t with its history
    for lib in (torch, jtorch):
        t = lib.tensor(x, requires_grad=True)
        a = lib.Tensor(t)
        assert type(a) is lib.Tensor and a is not t and a.requires_grad and not a.is_leaf


def test_repr_uses_subclass_name(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    reprs = []
    for lib in (torch, jtorch):
        class MyTensor(lib.Tensor):
            pass
        plain = lib.tensor(x)
        reprs.append([repr(plain.as_subclass(MyTensor)), str(plain.as_subclass(MyTensor)),
                      repr(lib.arange(3).as_subclass(MyTensor)), repr(plain.sum().as_subclass(MyTensor)),
                      repr(lib.nn.Parameter(plain)), repr(plain)])
    assert reprs[1] == reprs[0]


def test_resolve_name():
    for f_t, f_j in ((torch.add, jtorch.add), (torch.Tensor.size, jtorch.Tensor.size),
                     (torch.Tensor.__add__, jtorch.Tensor.__add__), (torch.nn.functional.relu, jtorch.nn.functional.relu),
                     (torch.linalg.norm, jtorch.linalg.norm), (torch.Tensor.shape.__get__, jtorch.Tensor.shape.__get__)):
        assert jtorch.overrides.resolve_name(f_j) == torch.overrides.resolve_name(f_t)
    assert jtorch.overrides.resolve_name(len) is None

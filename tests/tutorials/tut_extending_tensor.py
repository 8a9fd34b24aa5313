"""Extending torch's Python API (the 'Extending torch' notes): a tensor-like ScalarTensor with
__torch_function__ and a HANDLED_FUNCTIONS table filled by an @implements decorator (torch.mean /
torch.add overridden, functools.update_wrapper keeping names, an unhandled torch.sum raising
TypeError), a MetadataTensor wrapper that unwraps its arguments and re-wraps results, a LoggingTensor
subclass that records the functions it sees through super().__torch_function__, subclass results
from ops and indexing, torch._C.DisableTorchFunctionSubclass, torch.overrides helpers
(has_torch_function, is_tensor_like, resolve_name), and a Unit subclass made with
Tensor._make_subclass in __new__ whose handler checks units, keeps them through torch.stack and
gets gradients; also a TorchFunctionMode that counts the calls inside it and a subclass trained as
a model's parameter."""
import functools

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from tut_common import finish, np_params, record

HANDLED_FUNCTIONS = {}


class ScalarTensor(object):
    def __init__(self, N, value):
        self._N = N
        self._value = value

    def __repr__(self):
        return "ScalarTensor(N={}, value={})".format(self._N, self._value)

    def tensor(self):
        return self._value * torch.eye(self._N)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        if func not in HANDLED_FUNCTIONS or not all(issubclass(t, (torch.Tensor, ScalarTensor)) for t in types):
            return NotImplemented
        return HANDLED_FUNCTIONS[func](*args, **kwargs)


def implements(torch_function):
    def decorator(func):
        functools.update_wrapper(func, torch_function)
        HANDLED_FUNCTIONS[torch_function] = func
        return func
    return decorator


@implements(torch.mean)
def mean(input):
    return float(input._value) / input._N


@implements(torch.add)
def add(input, other):
    try:
        if input._N == other._N:
            return ScalarTensor(input._N, input._value + other._value)
        raise ValueError("Shape mismatch!")
    except AttributeError:
        return torch.add(input.tensor(), other)


d = ScalarTensor(5, 2)
print(d, torch.mean(d), torch.add(d, d), torch.add(d, torch.ones(5, 5)))
print(mean.__name__)
try:
    torch.sum(d)
except TypeError:
    print("unhandled torch.sum: TypeError")


class MetadataTensor(object):
    def __init__(self, data, metadata=None, **kwargs):
        self._t = torch.as_tensor(data, **kwargs)
        self._metadata = metadata

    def __repr__(self):
        return "Metadata:\n{}\n\ndata:\n{}".format(self._metadata, self._t)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        metadatas = tuple(a._metadata for a in args if hasattr(a, '_metadata'))
        args = [getattr(a, '_t', a) for a in args]
        assert len(metadatas) > 0
        ret = func(*args, **kwargs)
        return MetadataTensor(ret, metadata=metadatas[0])


metadata = {'owner': 'Ministry of Silly Walks'}
m = MetadataTensor([[1, 2], [3, 4]], metadata=metadata)
t = torch.tensor([[1, 2], [1, 2]])
print(torch.add(t, m))
print(torch.mul(t, m))


class LoggingTensor(torch.Tensor):
    log = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        LoggingTensor.log.append(getattr(func, "__name__", str(func)))
        return super().__torch_function__(func, types, args, kwargs)


x = torch.arange(6.).view(2, 3).as_subclass(LoggingTensor)
y = (x * 2 + 1).sum(dim=0)
print(type(y).__name__, y.tolist(), type(x[0]).__name__)
print(LoggingTensor.log)
z = torch.nn.functional.relu(x - 2)
print(type(z).__name__, LoggingTensor.log[-3:])
with torch._C.DisableTorchFunctionSubclass():
    w = x + 1
print(type(w).__name__)
print(torch.overrides.has_torch_function((x,)), torch.overrides.is_tensor_like(d), torch.overrides.is_tensor_like(x))


class Unit(torch.Tensor):
    @staticmethod
    def __new__(cls, data, unit):
        t = torch.Tensor._make_subclass(cls, torch.as_tensor(data, dtype=torch.float32), False)
        t.unit = unit
        return t

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        units = {a.unit for a in args if isinstance(a, Unit)}
        with torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **kwargs)
        if func in (torch.add, torch.Tensor.add, torch.Tensor.__add__, torch.sub, torch.Tensor.__sub__) and len(units) > 1:
            raise ValueError(f"cannot combine units {sorted(units)}")
        if isinstance(out, torch.Tensor) and not isinstance(out, Unit):
            out = out.as_subclass(Unit)
            out.unit = units.pop() if len(units) == 1 else None
        return out


a = Unit([1.0, 2.0], "m")
b = Unit([3.0, 4.0], "m")
c = a + b
print(type(c).__name__, c.unit, c.tolist())
try:
    a + Unit([1.0, 1.0], "s")
except ValueError as e:
    print("ValueError", e)
r = torch.stack([a, b])
print(type(r).__name__, r.unit, r.shape)
g = Unit([1.0, 2.0], "m").requires_grad_()
(g * g).sum().backward()
print(g.grad, type(g.grad).__name__)
print(torch.overrides.get_overridable_functions is not None, len(torch.overrides.get_ignored_functions()) > 0)
print(torch.overrides.resolve_name(torch.add), torch.overrides.resolve_name(torch.Tensor.__add__),
      torch.overrides.resolve_name(torch.nn.functional.relu), torch.overrides.resolve_name(torch.Tensor.shape.__get__))
record("unit_grad", g.grad.as_subclass(torch.Tensor))
print(repr(Unit([[1.0, 2.0], [3.0, 4.0]], "kg")))


class CountingMode(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.counts = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        self.counts[name] = self.counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


model = np_params(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), seed=1)
inp = torch.tensor(np.random.RandomState(0).randn(5, 4).astype(np.float32))
with CountingMode() as mode:
    out = model(inp)
print("mode saw linear:", mode.counts.get("linear", 0), "relu:", mode.counts.get("relu", 0))
record("mode_out", out)


class ScaledParam(nn.Parameter):
    """A Parameter subclass flagging weights that an optimizer should scale."""


lin = np_params(nn.Linear(4, 2), seed=2)
lin.weight = ScaledParam(lin.weight.detach().clone())
print(type(lin.weight).__name__, isinstance(lin.weight, nn.Parameter), [n for n, _ in lin.named_parameters()])
opt = torch.optim.SGD(lin.parameters(), lr=0.1)
losses = []
for _ in range(3):
    opt.zero_grad()
    loss = lin(inp).pow(2).mean()
    loss.backward()
    with torch.no_grad():
        for p in lin.parameters():
            if isinstance(p, ScaledParam):
                p.grad.mul_(0.5)
    opt.step()
    losses.append(loss.item())
record("losses", losses)
record("weight", lin.weight.detach().as_subclass(torch.Tensor))
print(type(lin.weight).__name__, type(lin.weight.grad).__name__)
finish()

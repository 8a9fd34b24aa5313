"""nn.Parameter (a leaf Tensor that Modules register), UninitializedParameter
(lazy modules), and nn.Buffer (a marker that registers a tensor as a buffer)."""
import jtorch as torch
from jtorch.tensor import Tensor

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "Buffer", "is_lazy"]


class Parameter(Tensor):
    """A Tensor that is a module parameter: a leaf with ``requires_grad=True`` by default.
    It shares storage with ``data`` (as torch's does)."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = torch.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        p = data.detach()._alias(cls)
        p.requires_grad = requires_grad
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __deepcopy__(self, memo):
        # torch's: a new Parameter over a copy of the data; its .grad and Python attributes stay behind
        # (``copy.deepcopy(model)`` after a backward gives parameters without gradients)
        r = memo.get(id(self))
        if r is None:
            r = memo[id(self)] = type(self)(self.data.clone(memory_format=torch.preserve_format), self.requires_grad)
        return r

    def __reduce_ex__(self, proto):
        # (a Parameter's own Python attributes travel with it, as torch's pickles carry them)
        state = dict(self.__dict__) if type(self) is Parameter and self.__dict__ else None
        return (_rebuild_parameter, (self.detach(), self.requires_grad, state))


def _rebuild_parameter(data, requires_grad, state=None):
    p = Parameter(data, requires_grad)
    if state:
        p.__dict__.update(state)
    return p


class UninitializedParameter(Parameter):
    """A Parameter without a shape yet: ``materialize(shape)`` gives it storage and
    turns it into a plain Parameter (lazy modules call it on their first forward)."""
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return Parameter.__new__(cls, torch.empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass

    def materialize(self, shape, device=None, dtype=None):
        # the empty placeholder's dtype and device, which module.to(...) converts before the first forward
        self.data = torch.empty(tuple(shape), device=device or self.device, dtype=dtype or self.dtype)
        self.__class__ = self.cls_to_become

    def __repr__(self):
        return "<UninitializedParameter>"

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. This error usually "
                           "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
                           "initialized one. Call `forward` to initialize the parameters before accessing their "
                           "attributes.")

    def __deepcopy__(self, memo):
        r = type(self)(self.requires_grad, self.device, self.dtype)
        memo[id(self)] = r
        return r


class UninitializedBuffer(Tensor):
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        return torch.empty(0, device=device, dtype=dtype)._alias(cls)

    def __init__(self, *args, **kwargs):
        pass

    def materialize(self, shape, device=None, dtype=None):
        self.data = torch.empty(tuple(shape), device=device or self.device, dtype=dtype or self.dtype)
        self.__class__ = self.cls_to_become


def is_lazy(param):
    return isinstance(param, (UninitializedParameter, UninitializedBuffer))


class _BufferMeta(type):
    def __instancecheck__(cls, inst):
        return isinstance(inst, Tensor) and inst.__dict__.get("_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """``self.x = nn.Buffer(t, persistent=False)`` registers ``t`` as a buffer."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = torch.empty(0)
        t = data.detach()
        t.__dict__["_is_buffer"] = True
        t.__dict__["persistent"] = persistent
        return t

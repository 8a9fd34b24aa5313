"""Tensor subclasses with a ``__torch_dispatch__``: which classes dispatch, wrapper subclasses, and the members
of Tensor that reach the handler on their instances (the road itself is utils/_dispatch_road.py).

A class dispatches when it (or a base below Tensor) defines an enabled ``__torch_dispatch__``; as in torch,
defining one without a ``__torch_function__`` of its own turns the class's ``__torch_function__`` off. The
eager road finds such an argument where it already sorts the arguments of an op (``_torch_function.
subclass_met``) and raises ``DispatchArgument`` before anything ran; ``_dispatch.apply`` catches it like a
sparse or meta argument and its ``route`` runs the call through the Python dispatch level. Plain tensors pay
nothing: the road tests ``type(a) is Tensor`` first, as before.

``Tensor._make_wrapper_subclass(cls, size, ...)`` makes an instance with a shape, dtype, device and strides
and no data (its storage holds a ``NoData``; reading it raises torch's error). The handler of a wrapper keeps
its data elsewhere (an inner tensor) and sees every op, so nothing reads the wrapper's own storage."""
from . import _dispatch
from . import _torch_function as TF
from ._meta import MetaArray

_NO_STORAGE = ("The tensor has a non-zero number of elements, but its data is not allocated yet.\nIf you're using "
               "torch.compile/export/fx, it is likely that we are erroneously tracing into a custom kernel. To fix "
               "this, please wrap the custom kernel into an opaque custom op. Please see the following for details: "
               "https://pytorch.org/tutorials/advanced/custom_ops_landing_page.html")


class DispatchArgument(_dispatch.SparseArgument):
    """Raised where the road meets an instance of a dispatching subclass; ``apply`` routes the call."""

    def __init__(self):
        NotImplementedError.__init__(self, "a tensor subclass with __torch_dispatch__")

    def route(self, op, dyn, statics):
        from .utils import _dispatch_road
        return _dispatch_road.subclass_apply(op, dyn, statics)


class InplaceDispatch(Exception):
    """Raised by the road when an in-place op's call (``Tensor._inplace``) meets a dispatching argument or a
    mode: ``_inplace`` catches it and hands the in-place aten overload itself to them (nothing ran yet)."""


class NoDataArgument(_dispatch.SparseArgument):
    """Raised where something reads a wrapper subclass's data (its handler is off or bypassed)."""

    def __init__(self):
        NotImplementedError.__init__(self, _NO_STORAGE)

    def route(self, op, dyn, statics):
        raise RuntimeError(_NO_STORAGE)


class NoData(MetaArray):
    """A wrapper subclass's storage: its shape, dtype and device (``Tensor.device`` reads ``torch_device``)."""
    __slots__ = ("torch_device",)

    def __init__(self, shape, dtype, device):
        super().__init__(shape, dtype)
        self.torch_device = device


class _Off:
    """``torch._C.DisableTorchDispatch``: dispatching subclasses' instances run as plain tensors inside."""
    off = False

    def __enter__(self):
        self._prev, _Off.off = _Off.off, True
        return self

    def __exit__(self, *exc):
        _Off.off = self._prev
        return False


DisableTorchDispatch = _Off
_DISPATCHES = {}  # type -> whether its instances dispatch


def _disabled_torch_dispatch_impl(func, types, args=(), kwargs=None):
    """The ``__torch_dispatch__`` of classes that opt out: their instances run as plain tensors."""
    with _Off():
        return func(*args, **(kwargs or {}))


def dispatches(t):
    r = _DISPATCHES.get(t)
    if r is None:
        f = getattr(t, "__torch_dispatch__", None)
        f = getattr(f, "__func__", f)
        r = _DISPATCHES[t] = f is not None and f is not _disabled_torch_dispatch_impl and \
            isinstance(t, type) and issubclass(t, _dispatch.Tensor)
    return r


def met(a):
    """The road met ``a`` (a Tensor subclass instance, its ``__torch_function__`` done with): raise
    DispatchArgument where its class dispatches."""
    if not _Off.off and dispatches(type(a)):
        raise DispatchArgument()
    return True


SUBCLASSES_DEFINED = [False]  # whether a dispatching class exists (aten overload calls look only then)


def among(args, kwargs):
    """Whether an instance of a dispatching class is among a call's arguments (lists and tuples looked into)."""
    T = _dispatch.Tensor

    def found(a):
        t = type(a)
        if t is list or t is tuple:
            return any(found(x) for x in a)
        return t is not T and isinstance(a, T) and dispatches(t)
    return not _Off.off and (found(args) or bool(kwargs) and found(tuple(kwargs.values())))


def subclass_defined(cls):
    """From ``Tensor.__init_subclass__``: torch turns ``__torch_function__`` off for a class defining
    ``__torch_dispatch__`` but not ``__torch_function__``; its instances' members that are no ops get
    dispatching versions (``detach``, ``item``, ``.data``, ...)."""
    _DISPATCHES.clear()
    if "__torch_dispatch__" in cls.__dict__ and "__torch_function__" not in cls.__dict__ and dispatches(cls):
        cls.__torch_function__ = TF._disabled_torch_function_impl
    if dispatches(cls):
        SUBCLASSES_DEFINED[0] = True
        for name, member in _MEMBERS.items():
            if not any(name in k.__dict__ for k in cls.__mro__[:cls.__mro__.index(_dispatch.Tensor)]):
                setattr(cls, name, member)


def make_wrapper_subclass(cls, size, strides=None, storage_offset=None, memory_format=None, dtype=None,
                          layout=None, device=None, pin_memory=False, requires_grad=False,
                          dispatch_sizes_strides_policy=None, dispatch_device=False, dispatch_layout=False,
                          _extra_dispatch_keys=None, storage_size=None):
    from . import _dtype as D
    from ._device import CPU, to_device
    dtype = dtype or D.get_default_dtype()
    t = cls._wrap(NoData(tuple(size), dtype.np, CPU if device is None else to_device(device)))
    if strides is not None:
        from ._size import contiguous_strides
        strides = tuple(int(s) for s in strides)
        if strides != contiguous_strides(tuple(size)):
            t._strides = strides
    if requires_grad:
        t._requires_grad = True
    return t


# ---------------------------------------------------------------- members that reach the handler
def _call(func, *args, **kwargs):
    from .utils import _dispatch_road
    return _dispatch_road.python_key(func, args, kwargs)


def _aten():
    import jtorch
    return jtorch.ops.aten


def _detach(self):
    if _Off.off:
        return _dispatch.Tensor.detach(self)
    prev = _dispatch.GRAD.enabled
    _dispatch.GRAD.enabled = False
    try:
        return _call(_aten().detach.default, self)
    finally:
        _dispatch.GRAD.enabled = prev


def _item(self):
    if _Off.off:
        return _dispatch.Tensor.item(self)
    if self.numel() != 1:
        raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
    return _call(_aten()._local_scalar_dense.default, self)


def ones_like_dispatched(t):
    """backward()'s implicit seed for a dispatching instance: ``aten.ones_like`` through its handler."""
    import jtorch
    return _call(_aten().ones_like.default, t, memory_format=jtorch.preserve_format)


def factory(name, args, **kwargs):
    """``zeros_like(sub)``, ``sub.new_zeros(2)``: the aten factory through the handler (keywords given only)."""
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    return _call(getattr(_aten(), name).default, *args, **kwargs)


def _new(kind):
    def new(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False, **kw):
        size = kw.pop("size", size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size)
        out = factory(f"new_{kind}", (self, list(size)) + ((kw.pop("fill_value"),) if kind == "full" else ()),
                      dtype=dtype, device=device, layout=layout)
        return out.requires_grad_() if requires_grad else out
    new.__name__ = f"new_{kind}"
    return new


def _new_full(self, size, fill_value, **kwargs):
    return _new("full")(self, size, fill_value=fill_value, **kwargs)


def _tolist(self):
    raise RuntimeError(f".tolist() is not supported for tensor subclasses, got {type(self).__name__}")


def _numpy(self, *, force=False):
    raise RuntimeError(f".numpy() is not supported for tensor subclasses, got {type(self).__name__}")


def _data_get(self):
    return _detach(self)


def _data_set(self, other):
    _dispatch.Tensor.data.fset(self, other)


_MEMBERS = {"detach": _detach, "item": _item, "tolist": _tolist, "numpy": _numpy,
            "data": property(_data_get, _data_set), "new_zeros": _new("zeros"), "new_ones": _new("ones"),
            "new_empty": _new("empty"), "new_full": _new_full}

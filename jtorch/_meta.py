"""Meta tensors (``device='meta'``): a shape, a dtype and strides, no data.

A meta tensor is an ordinary Tensor whose storage holds a ``MetaArray`` (shape and dtype) instead
of a jax array. Shape queries read it like any array; reading the *value* (``Storage.array``, which
every op's argument loop and ``Tensor._value`` go through) raises ``MetaArgument``. ``_dispatch.apply``
already catches ``SparseArgument`` around its argument loop (a ``try`` costs nothing until something
raises) and asks the exception where to send the call: a MetaArgument sends it to ``route`` here,
which runs ``jax.eval_shape`` of the op's own kernel on the argument shapes and wraps the result
shapes as new meta tensors. So every op declared with ``defop`` works on meta tensors, records
autograd as usual (backward runs the VJP ops the same way: meta gradients), and dense calls test
nothing. Python-level code that reads values (``.item()``, ``nonzero``, boolean masks, printing the
data) raises torch's NotImplementedError "Cannot copy out of meta tensor; no data!".
"""
import math

import jax
import numpy as np

from . import _dispatch
from ._device import device as _device, DEFAULT as _DEFAULT_DEVICE

META = _device("meta")
NO_DATA = "Cannot copy out of meta tensor; no data!"


class MetaArray:
    """What a meta tensor's storage holds in place of an array: its shape and numpy dtype."""
    __slots__ = ("shape", "dtype")
    torch_device = META  # Tensor.device reads it (a jax array answers ``devices()`` instead)

    def __init__(self, shape, dtype):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    def __repr__(self):
        return f"MetaArray({self.shape}, {self.dtype})"


class MetaArgument(_dispatch.SparseArgument):
    """Raised when something reads a meta tensor's data; ``apply`` routes the op to ``route``,
    anything else lets it escape as torch's error."""

    def __init__(self):
        NotImplementedError.__init__(self, NO_DATA)

    def route(self, op, dyn, statics):
        return route(op, dyn, statics)


def is_meta_device(device):
    """Whether a factory call with ``device`` (None: the default device) makes a meta tensor."""
    d = _DEFAULT_DEVICE[0] if device is None else device
    if d is None:
        return False
    if isinstance(d, str):
        return d == "meta" or d.startswith("meta:")
    return getattr(d, "type", None) == "meta"


def empty(shape, dtype, requires_grad=False):
    """A new meta tensor (``dtype`` a jtorch dtype or numpy dtype)."""
    t = _dispatch.Tensor._wrap(MetaArray(shape, getattr(dtype, "np", dtype)))
    if requires_grad:
        t.requires_grad = True
    return t


def to_meta(t):
    """``t.to('meta')``: same shape and dtype, no data; differentiable like torch's copy (its
    gradient cannot go back: reading a meta gradient raises)."""
    shape, dt = t._shape_dtype()
    if t.requires_grad and _dispatch.GRAD.enabled:
        return _to_meta_fn().apply(t)
    return _dispatch.Tensor._wrap(MetaArray(shape, dt))


_TO_META = []


def _to_meta_fn():
    if not _TO_META:
        from .autograd.function import Function

        class ToCopy(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.device = x.device
                shape, dt = x._shape_dtype()
                return _dispatch.Tensor._wrap(MetaArray(shape, dt))

            @staticmethod
            def backward(ctx, g):
                return g.to(ctx.device)
        ToCopy._backward_cls.__name__ = "ToCopyBackward0"  # torch's node name
        _TO_META.append(ToCopy)
    return _TO_META[0]


# ---------------------------------------------------------------- routing ops
# advanced indexing (x[idx], x[idx] = v, index_put): torch takes CPU index tensors for a tensor on any device
_INDICES_ANYWHERE = frozenset(["_adv_getitem", "_adv_setitem", "_index_put"])


def _devices_agree(op, dyn):
    """torch's device check for an op with a meta operand: every tensor on the first one's device,
    except 0-dim CPU tensors (wrapped scalars, allowed with any device) and CPU index tensors."""
    T = _dispatch.Tensor
    tensors = []
    for i, a in enumerate(dyn):
        if isinstance(a, T):
            tensors.append(a)
        elif op.seq and i == 0 and isinstance(a, (list, tuple)):
            tensors.extend(x for x in a if isinstance(x, T) and not (op.name in _INDICES_ANYWHERE and
                                                                      x.device.type == "cpu"))
    expected = None
    for t in tensors:
        d = t.device
        if d.type == "cpu" and t.ndim == 0:
            continue
        if expected is None:
            expected = d
        elif d != expected:
            raise RuntimeError(f"Tensor on device {d} is not on the expected device {expected}!")


def _abstract(a):
    """(abstract argument for eval_shape, raw value to save for backward) of one dynamic argument."""
    T = _dispatch.Tensor
    if isinstance(a, T):
        shape, dt = a._shape_dtype()
        raw = a._lazy_value()  # a MetaArray for a meta tensor (a CPU scalar tensor: its array)
        return jax.ShapeDtypeStruct(shape, dt), raw
    if isinstance(a, MetaArray) or (hasattr(a, "shape") and hasattr(a, "dtype")):
        # raw values handed back by autograd (a VJP's saved primals): meta or not, only the shape counts
        return jax.ShapeDtypeStruct(tuple(a.shape), a.dtype), a
    return a, a


_SHAPES = {}  # (op, statics, dt, argument signature) -> output shapes ([(shape, dtype)], multi)


def _signature(args):
    sig = []
    for a in args:
        if isinstance(a, tuple):
            sig.append(tuple((x.shape, x.dtype) if isinstance(x, jax.ShapeDtypeStruct) else type(x) for x in a))
        elif isinstance(a, jax.ShapeDtypeStruct):
            sig.append((a.shape, a.dtype))
        else:
            sig.append(type(a) if a is not None else None)
    return tuple(sig)


def route(op, dyn, statics):
    """Run ``op`` on meta tensors: the result shapes/dtypes of its kernel, as meta tensors."""
    T = _dispatch.Tensor
    _devices_agree(op, dyn)
    args, raws = [], []
    needs_grad = False
    for i, a in enumerate(dyn):
        if op.seq and i == 0 and isinstance(a, (list, tuple)):
            pairs = [_abstract(x) for x in a]
            args.append(tuple(p[0] for p in pairs))
            raws.append(tuple(p[1] for p in pairs))
            needs_grad = needs_grad or any(isinstance(x, T) and x.requires_grad for x in a)
        else:
            s, r = _abstract(a)
            args.append(s)
            raws.append(r)
            if isinstance(a, T) and a.requires_grad:
                needs_grad = True
    dt = _dispatch.promote_dtype(op, dyn, args) if op.promote else None
    key = (op, statics, dt, _signature(args))
    out = _SHAPES.get(key)
    if out is None:
        try:
            res = jax.eval_shape(op.kernel(statics, dt), *args)
        except (TypeError, ValueError) as e:
            raise _dispatch._translate_error(op, e, dyn) from None
        multi = isinstance(res, (tuple, list))
        out = ([(tuple(o.shape), o.dtype) for o in (res if multi else [res])], multi)
        if len(_SHAPES) > 4096:
            _SHAPES.clear()
        _SHAPES[key] = out
    shapes, multi = out
    wrap = T._wrap
    if multi:
        res = tuple(wrap(MetaArray(s, d)) for s, d in shapes)
        if op.returns:
            res = op.returns(*res)
    else:
        res = wrap(MetaArray(*shapes[0]))
    if needs_grad and _dispatch.GRAD.enabled and op.differentiable:
        _dispatch._record(op, statics, dt, dyn, raws, res)
    return res


_dispatch.MetaArray, _dispatch.MetaArgument = MetaArray, MetaArgument

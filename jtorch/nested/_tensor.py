"""The nested tensor: B tensors of one rank that differ in one dimension (the ragged one), kept packed.

A ``NestedTensor`` of shape (B, ..., j, ...) holds one dense ``values`` tensor: its own shape without the
batch dimension, with the ragged dimension (``_ragged_idx``, counted in the nested tensor's dims) holding
all components one after another, plus ``offsets`` (B+1 starts along it) and optionally ``lengths``
(a narrowed nested tensor whose components leave gaps). Component b is
``values.narrow(_ragged_idx - 1, offsets[b], length_b)``.

Ops run jtorch's public ops on the packed values (pointwise ops, linear, layer_norm, softmax over a
regular dim need nothing else), so autograd is the dense tape's: the nested tensor's ``requires_grad``,
``grad_fn`` and ``is_leaf`` are its values', and a leaf's ``.grad`` is its values' gradient with the same
structure. Like sparse tensors, a nested tensor's storage raises (``NestedArgument``) when a dense
kernel reads it, and ``_dispatch.apply`` hands that call to ``_route.route``.

The ragged size is a ``NestedInt`` (torch's ``j1``): it prints as ``j<n>``, equals only itself, and is
shared by every nested tensor made from the same offsets, which is how binary ops tell matching
structures from different ones (as torch, two nested tensors built separately never match).
"""
import itertools
import weakref

import numpy as np

from .._dispatch import SparseArgument, SparseOperand
from .._tensor_kinds import AutogradOnValues
from ..tensor import Storage, Tensor
from .. import _legacy

_OPERAND = SparseOperand()
_COUNTER = itertools.count(1)


class NestedArgument(SparseArgument):
    """Raised when a dense kernel reads a nested tensor's storage: ``apply`` routes the call here."""

    def __init__(self, msg="this operation is not supported on nested tensors"):
        NotImplementedError.__init__(self, msg)

    def route(self, op, dyn, statics):
        from ._route import route
        return route(op, dyn, statics)


class NestedInt:
    """The size of a ragged dimension (torch's symbolic ``j<n>``): equal only to itself, greater than 1,
    multiplies by ints symbolically; it has no integer value."""
    __slots__ = ("id", "coeff")

    def __init__(self, id, coeff=1):
        self.id, self.coeff = id, coeff

    def __eq__(self, other):
        return isinstance(other, NestedInt) and other.id == self.id and other.coeff == self.coeff

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.id, self.coeff))

    def __gt__(self, other):
        if isinstance(other, int) and other <= 1:
            return True
        raise RuntimeError("NestedInt can only be compared with integers 0 and 1 and with itself")

    def __ge__(self, other):
        return self == other or self > other

    def __lt__(self, other):
        return not self >= other

    def __le__(self, other):
        return not self > other

    def __mul__(self, other):
        if isinstance(other, int) and not isinstance(other, bool):
            return NestedInt(self.id, self.coeff * other)
        return NotImplemented

    __rmul__ = __mul__

    def __index__(self):
        # (a NestedArgument: when dense code inside an op's dispatch needs the value, the op is routed to
        # the nested kernels like one that read a nested tensor's storage)
        raise NestedArgument(f"the ragged size {self} has no integer value (a nested tensor's ragged dimension)")

    __int__ = __index__

    def __repr__(self):
        return f"j{self.id}" if self.coeff == 1 else f"{self.coeff}*j{self.id}"


# the NestedInt of an offsets tensor (of the lengths, when given), by the tensor's id while it lives: nested
# tensors derived from one another share it (a tensor cannot key a dict: == is elementwise)
_JINTS = {}


def nested_int(offsets, lengths=None):
    key = offsets if lengths is None else lengths
    j = _JINTS.get(id(key))
    if j is None:
        j = _JINTS[id(key)] = NestedInt(next(_COUNTER))
        weakref.finalize(key, _JINTS.pop, id(key), None)
    return j


class _NestedStorage(Storage):
    """A storage with no array: a dense kernel reading it means an op met a nested tensor."""
    __slots__ = ()

    def __init__(self):
        self._arr = _OPERAND
        self.version = 0
        self.host = None
        self.alias = False
        self.shadow = None

    @property
    def array(self):
        raise NestedArgument()

    @array.setter
    def array(self, a):
        raise RuntimeError("a nested tensor has no dense storage to write")


def _irregular_error(dim):
    return RuntimeError(f"Given dimension {dim} is irregular and does not have a size.")


_NO_SIZES = "Internal error: NestedTensorImpl doesn't support sizes. Please file an issue."


class NestedTensor(AutogradOnValues, Tensor):
    is_nested = True

    # ---- construction
    @classmethod
    def _make(cls, values, offsets, lengths=None, ragged_idx=1, layout=_legacy.jagged, jint=None, host=None):
        """A nested tensor over ``values`` (ragged dim at ``ragged_idx - 1``) and int64 ``offsets``
        (``host``: their (starts, lengths) in numpy when known, else read from the offsets)."""
        t = object.__new__(cls)
        t._st = _NestedStorage()
        t._vfn = ()
        t._val = None
        t._valver = 0
        t._base = None
        t._avfn = ()
        t._gver = 0
        t._gver_seen = 0
        t._requires_grad = False
        t._grad_fn = None
        t._out_idx = 0
        t._grad = None
        t._accumulator = None
        t._retains = False
        d = t.__dict__
        d["_values"], d["_offsets"], d["_lengths"] = values, offsets, lengths
        d["_ragged_idx"], d["_layout"] = ragged_idx, layout
        if host is None:
            off = np.asarray(offsets.detach()._value, dtype=np.int64)
            host = off[:-1], np.diff(off) if lengths is None else np.asarray(lengths.detach()._value, dtype=np.int64)
        d["_starts"], d["_lens"] = host
        d["_jint"] = jint if jint is not None else nested_int(offsets, lengths)
        shape = list(values.shape)
        lens = d["_lens"]
        regular = layout is _legacy.strided and len(lens) and (lens == lens[0]).all()
        shape[ragged_idx - 1] = int(lens[0]) if regular else d["_jint"]  # (strided: an int where all agree)
        np_dt = values._shape_dtype()[1]
        t._sig = (np.dtype(np_dt), False)
        t._meta = (tuple([len(lens)] + shape), np.dtype(np_dt))
        return t

    def _rebuild(self, values, ragged_idx=None):
        """The same structure over other values (same offsets: same NestedInt)."""
        return NestedTensor._make(values, self._offsets, self._lengths,
                                  self._ragged_idx if ragged_idx is None else ragged_idx, self._layout, self._jint,
                                  (self._starts, self._lens))

    # ---- what dense code must not touch
    @property
    def _strides(self):
        raise NestedArgument()  # a view op: routed by _dispatch.apply

    @_strides.setter
    def _strides(self, v):
        pass

    @property
    def _value(self):
        raise NestedArgument()

    def _lazy_value(self):
        raise NestedArgument()

    def _set_array(self, arr):
        raise RuntimeError("in-place writes of dense values into a nested tensor are not supported")

    def _inplace(self, f, args, kwargs):
        """``nt.op_(...)``: the op's nested result copied into this tensor's values (autograd: copy_)."""
        out = f(self, *args, **kwargs)
        if not isinstance(out, NestedTensor) or out._jint != self._jint:
            raise RuntimeError("in-place operation on a nested tensor changed its structure")
        if out.dtype is not self.dtype and out.dtype._cat > self.dtype._cat:
            raise RuntimeError(f"result type {out.dtype} can't be cast to the desired output type {self.dtype}")
        self._values.copy_(out._values)
        return self

    def copy_(self, src, non_blocking=False):
        if not isinstance(src, NestedTensor):
            raise RuntimeError("copy_(): a nested tensor can only copy a nested tensor")
        self._values.copy_(src._values)
        return self

    # ---- torch's accessors
    def values(self):
        if self._layout is _legacy.strided:
            if self._ragged_idx == 1 and self._lengths is None:
                return self._values.reshape(-1)
            from .. import cat
            return cat([c.reshape(-1) for c in self.unbind()])  # each component's elements in turn
        return self._values.view(self._values.shape)  # a view: torch's values() is not the leaf itself

    def offsets(self):
        self._jagged_only("offsets")
        return self._offsets

    def lengths(self):
        self._jagged_only("lengths")
        return self._lengths

    def _jagged_only(self, name):
        if self._layout is not _legacy.jagged:
            raise AttributeError(f"'Tensor' object has no attribute '{name}'")

    @property
    def layout(self):
        return self._layout

    # ``shape`` is the symbolic (B, ..., j, ...) for both layouts: torch's strided layout raises an internal
    # error there, which jtorch's Python-level ops (that read shapes before dispatch) cannot afford.

    def size(self, dim=None):
        if dim is None:
            return self.shape
        n = self.dim()
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
        d = dim % n
        s = self._meta[0][d]
        if self._layout is _legacy.strided and d == self._ragged_idx:
            if len(set(self._lens.tolist())) > 1:
                raise _irregular_error(dim)
            return int(self._lens[0])
        return s

    def dim(self):
        return len(self._meta[0])

    ndimension = dim

    @property
    def ndim(self):
        return self.dim()

    def numel(self):
        inner = 1
        for i, s in enumerate(self._values.shape):
            if i != self._ragged_idx - 1:
                inner *= s
        return int(self._lens.sum()) * inner

    nelement = numel

    def __len__(self):
        if self._layout is _legacy.strided:
            raise RuntimeError(_NO_SIZES)
        return self._meta[0][0]

    def stride(self, dim=None):
        if self._layout is _legacy.strided:
            raise RuntimeError("Internal error: NestedTensorImpl doesn't support strides. Please file an issue.")
        raise RuntimeError("jtorch does not give strides of a nested tensor (torch's are symbolic)")

    def is_contiguous(self, memory_format=None):
        # packed without gaps (a transposed tensor, chunks of a regular dim and narrowed ones are not)
        return self._lengths is None and self._values.is_contiguous()

    def contiguous(self, memory_format=None):
        if self.is_contiguous():
            return self
        if self._lengths is None:  # same structure (same ragged size), values copied in order
            return self._rebuild(self._values.contiguous())
        from ._construct import from_components
        return from_components(self.unbind(), self._layout, ragged_idx=self._ragged_idx)

    @property
    def device(self):
        return self._values.device

    def data_ptr(self):
        return self._values.data_ptr()

    def unbind(self, dim=0):
        if dim != 0:
            if self._layout is _legacy.strided:
                raise RuntimeError(f"NestedTensor can only be unbound along dimension 0 got dimension {dim} "
                                   "instead.")
            raise RuntimeError("unbind(): only supported for NestedTensor on dim=0")
        r = self._ragged_idx - 1
        return tuple(self._values.narrow(r, int(s), int(n)) for s, n in zip(self._starts, self._lens))

    def to_padded_tensor(self, padding, output_size=None):
        from ._padding import to_padded_tensor
        return to_padded_tensor(self, padding, output_size)

    # ---- autograd: the values tensor carries it
    def _autograd_values(self):
        return self._values

    @property
    def grad(self):
        g = self._values.grad
        return None if g is None else self._rebuild(g)

    @grad.setter
    def grad(self, g):
        if g is not None and not isinstance(g, NestedTensor):
            raise RuntimeError("assigned grad of a nested tensor must be a nested tensor")
        self._values.grad = None if g is None else g._values

    @grad.deleter
    def grad(self):
        self._values.grad = None

    def retain_grad(self):
        self._values.retain_grad()

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        if gradient is None:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        if not isinstance(gradient, NestedTensor):
            raise RuntimeError("the gradient of a nested tensor must be a nested tensor of the same structure")
        self._values.backward(gradient._values, retain_graph, create_graph, inputs)

    def detach(self):
        return self._rebuild(self._values.detach())

    def detach_(self):
        self._values.detach_()
        return self

    @property
    def data(self):
        return self.detach()

    def _alias(self, cls=None):
        raise NotImplementedError("jtorch does not support nested parameters (nn.Parameter of a nested tensor)")

    # ---- conversions
    def to(self, *args, **kwargs):
        v = self._values
        nv = v.to(*args, **kwargs)
        return self if nv is v else self._rebuild(nv)

    def cpu(self, memory_format=None):
        return self.to("cpu")

    def numpy(self, *, force=False):
        if self._layout is _legacy.strided:
            raise RuntimeError(_NO_SIZES)
        raise RuntimeError(".numpy() is not supported for tensor subclasses.")

    def __array__(self, dtype=None, copy=None):
        return self.numpy()

    def tolist(self):
        if self._layout is _legacy.strided:
            raise RuntimeError("Internal error: NestedTensorImpl doesn't support strides. Please file an issue.")
        raise RuntimeError(".tolist() is not supported for tensor subclasses, got NestedTensor")

    def item(self):
        n = self.numel()
        if n != 1:
            raise RuntimeError(f"a Tensor with {n} elements cannot be converted to Scalar")
        return self._values.reshape(-1)[0].item()

    def jax(self):
        raise TypeError("a nested tensor is not one jax array: use values() or to_padded_tensor()")

    def __getitem__(self, idx):
        if isinstance(idx, tuple) and idx and isinstance(idx[0], int):
            return self.unbind()[idx[0]][idx[1:]]
        if isinstance(idx, int):
            return self.unbind()[idx]
        raise RuntimeError("slice(): not supported for NestedTensor on dim=0" if self._layout is _legacy.jagged
                           else "jtorch's nested tensors are indexed by an int (a component) first")

    def select(self, dim, index):
        if dim != 0:
            raise RuntimeError("select(): only dim=0 is supported for nested tensors in jtorch")
        return self.unbind()[index]

    def __iter__(self):
        return iter(self.unbind())

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __hash__(self):
        return id(self)

    def __repr__(self, *, tensor_contents=None):
        from ._repr import nested_repr
        return nested_repr(self)

    def __reduce_ex__(self, proto):
        # plain pickle: by value (values, offsets, lengths and the layout)
        return _unpickle, (self._layout.name, self._values.detach(), self._offsets, self._lengths, self._ragged_idx,
                           self.requires_grad)

    def _sparse_parts(self):  # (what jtorch.save asks a non-strided tensor for)
        raise NotImplementedError("jtorch.save does not write nested tensors in torch's format yet: save values() "
                                  "and offsets() instead")

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        v = self._values
        out = self._rebuild(v.detach().clone().requires_grad_(v.requires_grad) if v.is_leaf else v.clone())
        memo[id(self)] = out
        return out


def _unpickle(layout_name, values, offsets, lengths, ragged_idx, requires_grad):
    nt = NestedTensor._make(values, offsets, lengths, ragged_idx, getattr(_legacy, layout_name))
    return nt.requires_grad_(requires_grad) if requires_grad else nt

"""What every sparse layout shares: a Tensor subclass that holds dense component tensors
(indices and values) instead of one array.

Dispatch never tests for these tensors: their storage and strides raise ``SparseArgument``
when an op reads them, and ``_dispatch.apply`` hands such a call to ``_route.route``.
Autograd is the dense tape's: every sparse kernel is written with jtorch's dense ops on the
values, so gradients flow through the values tensor; the sparse tensor's
``requires_grad``/``grad_fn``/``is_leaf`` are its values'. A leaf's ``.grad`` is rebuilt from
its values' gradient in its own layout, plus what reached its dense stand-in (``_products.product``,
``_products.dense_value``: the ops whose gradient torch gives a sparse leaf densely).
"""
import math

import numpy as np

from .._dispatch import SparseArgument, SparseOperand
from .._tensor_kinds import AutogradOnValues
from ..tensor import Storage, Tensor

_OPERAND = SparseOperand()


class _SparseStorage(Storage):
    """A storage with no array: dispatch reading it means a dense kernel met a sparse tensor."""
    __slots__ = ()

    def __init__(self):
        self._arr = _OPERAND  # the lazy batcher declines it (unknown argument kind)
        self.version = 0
        self.host = None
        self.alias = False
        self.shadow = None

    @property
    def array(self):
        raise SparseArgument()

    @array.setter
    def array(self, a):
        raise RuntimeError("a sparse tensor has no dense storage to write")


def _init(t, shape, np_dtype):
    """Fill the Tensor slots of a freshly allocated sparse tensor (no autograd of its own)."""
    t._st = _SparseStorage()
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
    t._sig = (np.dtype(np_dtype), len(shape) == 0)
    t._meta = (tuple(int(s) for s in shape), np.dtype(np_dtype))


class SparseTensor(AutogradOnValues, Tensor):
    """Base of the sparse layouts. Subclasses keep their component tensors in ``__dict__`` (named in
    ``_COMPONENTS``) and define ``_values_t`` (the values tensor), ``_rebuild(values)`` (the same
    structure over other values), ``_leaf_grad(g)`` (a leaf's gradient from its values' gradient)
    and ``_sparse_parts()`` (torch's pickled form)."""

    # ---- what dense code must not touch
    @property
    def _strides(self):
        raise SparseArgument()  # a view op on a sparse tensor: routed by _dispatch.apply

    @_strides.setter
    def _strides(self, v):
        pass

    @property
    def _value(self):
        raise SparseArgument()

    def _lazy_value(self):
        raise SparseArgument()

    def _set_array(self, arr):
        raise RuntimeError(f"in-place writes of dense values into a {self.layout} tensor are not supported")

    def view(self, *shape):
        from ._route import not_supported
        raise not_supported("view", (self,))

    def reshape(self, *shape):
        raise RuntimeError("reshape is not implemented for sparse tensors")

    # ---- in place: the op's sparse result replaces this tensor's components
    _COMPONENTS = ()

    def _inplace(self, f, args, kwargs):
        self._check_inplace()
        return self._take(f(self, *args, **kwargs))

    def _check_inplace(self):
        from .._dispatch import GRAD
        if GRAD.enabled and self.requires_grad and self.is_leaf:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")

    def _take(self, out):
        if not isinstance(out, SparseTensor) or out.layout is not self.layout:
            raise RuntimeError(f"in-place operation on a {self.layout} tensor produced a "
                               f"{getattr(out, 'layout', type(out).__name__)} result")
        if out.dtype is not self.dtype:
            if out.dtype._cat > self.dtype._cat:
                raise RuntimeError(f"result type {out.dtype} can't be cast to the desired output type {self.dtype}")
            out = out.to(self.dtype)
        if tuple(out.shape) != tuple(self.shape):
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(out.shape)}")
        for k in self._COMPONENTS:
            self.__dict__[k] = out.__dict__[k]
        self._meta, self._sig = out._meta, out._sig
        return self

    def copy_(self, src, non_blocking=False):
        if not isinstance(src, SparseTensor) or src.layout is not self.layout:
            raise RuntimeError(f"copy_(): a {self.layout} tensor can only copy a tensor of the same layout")
        if tuple(src.shape) != tuple(self.shape):
            raise RuntimeError(f"copy_(): sizes do not match: {list(self.shape)} and {list(src.shape)}")
        self._check_inplace()
        return self._take(src.to(self.dtype) if src.dtype is not self.dtype else src)

    # ---- metadata
    @property
    def device(self):
        return self._values_t.device

    def is_contiguous(self, memory_format=None):
        return False

    def stride(self, dim=None):
        raise RuntimeError(f"Sparse {_LAYOUT_NAME[self.layout.name]} tensors do not have strides")

    def data_ptr(self):
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def untyped_storage(self):
        raise RuntimeError(f"Cannot access storage of Sparse{_LAYOUT_NAME[self.layout.name]}TensorImpl")

    def storage_offset(self):
        raise RuntimeError(f"Cannot access storage of Sparse{_LAYOUT_NAME[self.layout.name]}TensorImpl")

    def numel(self):
        return math.prod(self._meta[0])

    nelement = numel

    # ---- autograd: the values tensor carries it
    def _autograd_values(self):
        return self._values_t

    @property
    def grad(self):
        """The values' gradient as a sparse tensor of this layout (torch.sparse.mm, to_dense, elementwise
        ops), plus, densely, what torch.mm/matmul/addmm sent (see _products.product): torch's layouts."""
        if "_grad_set" in self.__dict__:
            return self.__dict__["_grad_set"]
        return self._assemble_grad(self._values_t.grad, self._stand_in_grad("_unmasked_leaf"),
                                   self._stand_in_grad("_dense_leaf"))

    def _assemble_grad(self, g, unmasked, dense):
        """This tensor's gradient in torch's layout from the gradients of its values, of its unmasked
        stand-in (``to_dense(masked_grad=False)``: the dense gradient made sparse) and of its dense one."""
        sg = None if g is None else self._leaf_grad(g)
        if unmasked is not None:
            unmasked = unmasked.to_sparse(layout=self.layout, blocksize=getattr(self, "_blocksize", None))
            if unmasked.layout.name == "sparse_coo":
                unmasked._coalesced_(False)  # torch's flag on it
            sg = unmasked if sg is None else sg + unmasked
        if dense is None:
            return sg
        return dense if sg is None else dense + sg.to_dense()

    def _stand_in_grad(self, key):
        aux = self.__dict__.get(key)
        return None if aux is None else aux.grad

    @grad.setter
    def grad(self, g):
        self.__dict__.pop("_grad_set", None)
        self._values_t._grad = None
        for key in ("_dense_leaf", "_unmasked_leaf"):
            if self.__dict__.get(key) is not None:
                self.__dict__[key]._grad = None
        if g is not None:
            if g.shape != self.shape:
                raise RuntimeError("assigned grad has data of a different size")
            self.__dict__["_grad_set"] = g

    @grad.deleter
    def grad(self):
        self.grad = None

    def retain_grad(self):
        raise RuntimeError("retain_grad is not supported on sparse tensors in jtorch")

    def register_hook(self, hook):
        raise RuntimeError("register_hook is not supported on sparse tensors in jtorch")

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        raise RuntimeError("backward() from a sparse tensor is not supported: reduce it to a dense tensor first "
                           "(e.g. torch.sparse.sum(x))")

    def detach(self):
        return self._rebuild(self._values_t.detach())

    def detach_(self):
        self._set_values(self._values_t.detach())
        return self

    @property
    def data(self):
        return self.detach()

    def _alias(self, cls=None):
        # nn.Parameter(data) aliases its data: sparse parameters (which torch has) are not supported here
        raise NotImplementedError("jtorch does not support sparse parameters (nn.Parameter of a sparse tensor); "
                                  "keep the parameter dense (nn.Embedding(sparse=True) gives sparse gradients)")

    # ---- conversions
    def numpy(self, *, force=False):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def tolist(self):
        raise RuntimeError("tolist() is not supported for sparse tensors: call to_dense() first")

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self.to_dense().item()

    def jax(self):
        raise TypeError("a sparse tensor is not one jax array: use to_dense().jax(), or its indices and values")

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        v = self._values_t
        out = self._rebuild(v.detach().clone().requires_grad_(v.requires_grad) if v.is_leaf else v.clone())
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, proto):
        # plain pickle/copy: by value (jtorch.save writes torch's own form, see serialization/_writer.py)
        return _rebuild, (self.layout.name, self._sparse_parts())

    def to(self, *args, **kwargs):
        from .._device import device as _device_cls
        from .. import _dtype as D
        dtype = kwargs.get("dtype")
        dev = kwargs.get("device")
        for a in args:
            if isinstance(a, D.dtype):
                dtype = a
            elif isinstance(a, (str, _device_cls)):
                dev = a
            elif isinstance(a, Tensor):
                dtype, dev = a.dtype, a.device
        v = self._values_t
        nv = v.to(*[x for x in (dev, dtype) if x is not None])
        if nv is v and not kwargs.get("copy", False):
            return self
        return self._rebuild(nv, device=dev)

    def cpu(self, memory_format=None):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        return self.to("cuda" if device is None else device)

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return "torch.sparse." + self.type_name()
        return Tensor.type(self, dtype)

    def __repr__(self, *, tensor_contents=None):
        from ._repr import sparse_repr
        return sparse_repr(self)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._meta[0][0]

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __iter__(self):
        raise NotImplementedError("iterating over a sparse tensor is not supported: call to_dense() first")

    def __hash__(self):
        return id(self)


def grad_inputs(inputs):
    """For autograd.grad: the tensors to differentiate (a sparse input's values and dense stand-ins) and
    a function putting their gradients back together per input."""
    flat, spans = [], []
    for t in inputs:
        if isinstance(t, SparseTensor):
            parts = [t._values_t] + [t.__dict__.get(k) for k in ("_unmasked_leaf", "_dense_leaf")]
            spans.append((t, [p for p in parts if p is not None], [p is not None for p in parts]))
            flat.extend(p for p in parts if p is not None)
        else:
            spans.append((t, [t], None))
            flat.append(t)

    def assemble(res):
        out, k = [], 0
        for t, parts, present in spans:
            got = list(res[k:k + len(parts)])
            k += len(parts)
            if present is None:
                out.append(got[0])
                continue
            full = [got.pop(0) if p else None for p in present]
            r = t._assemble_grad(*full)
            if r is not None and full[1] is None and full[2] is None and r.layout.name == "sparse_coo":
                r._coalesced_(True)  # torch's masked gradient is coalesced (as .grad, after accumulation, it is not)
            out.append(r)
        return out
    return flat, assemble


def _rebuild(layout_name, parts):
    from .. import _legacy
    from ..serialization._safe import _rebuild_sparse_tensor
    return _rebuild_sparse_tensor(getattr(_legacy, layout_name), parts)


_LAYOUT_NAME = {"sparse_coo": "", "sparse_csr": "Csr", "sparse_csc": "Csc", "sparse_bsr": "Bsr", "sparse_bsc": "Bsc"}


def np_of(t):
    """The concrete numpy value of a dense (index) tensor."""
    return np.asarray(t.detach()._value)


"""Tensor: a jax array in a mutable storage, with views, autograd metadata and
torch's methods (bound from the op registry, see ``_bind_methods``).

Storage and views: a Storage owns the root jax array and a version counter.
A tensor is (storage, view chain). A view's value is recomputed from the root
when the storage version moved; an in-place write to a view scatters into the
root through the chain (``_dispatch.scatter_fn``), so every alias sees it.
"""
import builtins
import math
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from . import _dispatch
from . import _dtype as D
from . import _legacy as _layouts
from ._device import CPU, device as _device_cls, from_jax_device, jax_device, to_device
from ._dispatch import GRAD, LAZY, MULTI_OUTPUT_VIEW, NO_GRAD_VIEW, TRANSFORMS as _FUNC, OpDef as _OpDef
from . import _torch_function as _tf
from ._lazy import Pending, CONCRETE as _CONCRETE
from ._meta import MetaArray, MetaArgument
from . import _chalf
from . import _subclass_dispatch as _sd
from ._size import Size, contiguous_strides
from ._symbolic import _SymNumber


_new = object.__new__

# torch gives ``t.data`` a version counter of its own (writes through it do not count as writes of ``t``:
# no "modified by an inplace operation" error, ``t._version`` unchanged), while the storage version
# must still move for every write (views' cached values). A ``.data`` alias and the views and detaches
# made from it carry their counter in ``_vc`` (as ``unsafe_split``'s pieces do); a write through one steps the
# storage version by HIDDEN, so ``st.version % HIDDEN`` stays the count torch shows for the storage's own
# tensors, and its own counter, which the saved-tensor checks of ops that saved it read (autograd.graph.record).
HIDDEN = 1 << 48


class VersionCounter:
    """A tensor's own version counter (``_vc``), apart from its storage's."""
    __slots__ = ("version",)

    def __init__(self):
        self.version = 0


def bump_version(t, st):
    """Count one in-place write through ``t`` (storage ``st``)."""
    vc = t._vc
    if vc is None:
        st.version += 1
    else:
        vc.version += 1
        st.version += HIDDEN


_ADDRESSES = weakref.WeakKeyDictionary()  # Storage -> the address its data_ptr() reports
_NEXT_ADDRESS = [1 << 32]


def address(st):
    """A storage's ``data_ptr()``: given on first request from a counter that steps over each storage's
    bytes, so that pointers into different live storages never coincide (as real addresses) while
    views of one storage differ by their byte offsets, as torch's do."""
    a = _ADDRESSES.get(st)
    if a is None:
        a = _ADDRESSES[st] = _NEXT_ADDRESS[0]
        arr = st._arr  # (shape and dtype only: no pending value forced, complex32 counts 4 bytes)
        _NEXT_ADDRESS[0] += (math.prod(arr.shape) * np.dtype(arr.dtype).itemsize + 127) // 64 * 64
    return a


class Storage:
    __slots__ = ("_arr", "version", "host", "alias", "shadow", "pyobj", "__weakref__")  # pyobj: see _storage.py

    def __init__(self, array):
        self._arr = array
        self.version = 0
        self.host = None  # numpy buffer shared with the user (from_numpy / .numpy()), see interop.py
        self.alias = False  # whether ``array`` reads ``host`` in place (else it is re-read on access)
        self.shadow = None  # for re-read buffers: the content last read (see interop.sync_host)
        if _dispatch.TRACE is not None:
            _dispatch.TRACE.created(self)

    @property
    def array(self):
        """The root jax array; a pending lazy value (see _lazy.py) is computed here, so every reader
        of a storage sees a real array."""
        a = self._arr
        if type(a) is not _CONCRETE:  # (one test on the common path, as before meta tensors)
            if type(a) is Pending:
                a = self._arr = a.get()
            elif type(a) is MetaArray:
                raise MetaArgument()  # a meta tensor's data: ``apply`` routes the op to _meta.route
            elif type(a) is _chalf.ChalfArray:
                raise _chalf.ChalfArgument()  # a complex32 tensor's data: routed to _chalf.route
            elif type(a) is _sd.NoData:
                raise _sd.NoDataArgument()  # a wrapper subclass's (its __torch_dispatch__ holds the data)
        return a

    @array.setter
    def array(self, a):
        self._arr = a

    inference = False  # a class attribute: InferenceStorage says True
    layout = None  # the flat buffer's dim order where not row-major (_memfmt.LaidStorage)


class InferenceStorage(Storage):
    """The storage of a tensor made in inference mode (torch's inference tensors, shared by their views).
    Outside inference mode such a tensor cannot be written in place, saved for backward or made to
    require grad. Tensors made in inference mode get this class because ``inference_mode`` swaps the
    class the constructors use (``_set_storage_class``), so the eager hot path tests nothing."""
    __slots__ = ()
    inference = True


_NewStorage = Storage  # the class new tensors' storages get (InferenceStorage in inference mode)


def _set_storage_class(inference):
    global _NewStorage
    _NewStorage = InferenceStorage if inference else Storage
    _dispatch._Storage = _NewStorage


def _inference_inplace_error():
    return RuntimeError(
        "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to get "
        "a normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for more details.")


class Tensor:
    __slots__ = ("_st", "_vfn", "_val", "_valver", "_strides", "_base", "_avfn", "_gver", "_gver_seen",
                 "_requires_grad", "_grad_fn", "_out_idx", "_grad", "_accumulator", "_retains",
                 "_is_param", "_names", "_sig", "_meta", "__dict__", "__weakref__")

    # ---------------------------------------------------------------- construction
    @classmethod
    def _wrap(cls, array):
        t = object.__new__(cls)
        t._st = _NewStorage(array)
        t._vfn = ()
        t._val = None
        t._valver = 0
        t._strides = None
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
        t._sig = None  # (numpy dtype, is 0-dim): the type-promotion signature, filled on first use
        t._meta = None  # views: (shape, numpy dtype), known before the value is computed
        return t

    @classmethod
    def _wrap_untraced(cls, array):
        """``_wrap`` for the eager hot path, known to run outside jtorch.compile (no storage to report)."""
        st = _new(_NewStorage)
        st._arr = array
        st.version = 0
        st.host = None
        st.alias = False
        st.shadow = None
        t = _new(cls)
        t._st = st
        t._vfn = ()
        t._val = None
        t._valver = 0
        t._strides = None
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
        t._sig = None
        t._meta = None
        return t

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and isinstance(args[0], Tensor):
            # torch.Tensor(t) / MyTensor(t): an alias of t (its dtype, storage and autograd history)
            return args[0].as_subclass(cls)
        # torch.Tensor(data) / torch.Tensor(2, 3): float tensors of the default dtype
        from ._ops.creation import _legacy_new
        t = _legacy_new(cls, *args, **kwargs)
        return t if type(t) is cls else t.as_subclass(cls)  # MyTensor([1., 2.]) is a MyTensor

    def __init__(self, *args, **kwargs):
        pass

    # ---------------------------------------------------------------- __torch_function__ (_torch_function.py)
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """The default: run ``func`` with subclass dispatch off and hand Tensor results back as ``cls``."""
        if not all(issubclass(cls, t) for t in types):
            return NotImplemented
        with _tf.DisableTorchFunctionSubclass():
            ret = func(*args, **(kwargs or {}))
            if getattr(func, "__self__", None) in _tf.NO_CONVERT:
                return ret
            return _tf.convert(ret, cls)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__torch_function__" not in cls.__dict__ and cls.__module__.startswith("jtorch."):
            # jtorch's own subclasses (Parameter, sparse, quantized) behave as plain Tensors in ops
            cls.__torch_function__ = _tf._disabled_torch_function_impl
        _tf.subclass_defined(cls)

    def as_subclass(self, cls):
        """This tensor as an instance of ``cls``: an alias sharing its data and autograd history (a view
        where there is history to share, so gradients reach this tensor; else a plain alias)."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not "
                            "possible. Make sure your class inherits from Tensor.")
        if self._requires_grad or (self._base is not None and self.requires_grad):
            with _tf.DisableTorchFunction():
                r = Tensor.view(self, self._shape_dtype()[0])
            r.__class__ = cls
            return r
        return self._alias(cls)

    @staticmethod
    def _make_subclass(cls, data, require_grad=False):
        """A new leaf ``cls`` instance sharing ``data``'s storage (how nn.Parameter-like classes are made)."""
        t = Tensor._alias(data, cls)
        # not an op: cls's __torch_function__ must not see it (it runs before the subclass's __new__
        # has set the attributes its handler reads)
        with _tf.DisableTorchFunction():
            Tensor.requires_grad.fset(t, require_grad)
        return t

    _make_wrapper_subclass = staticmethod(_sd.make_wrapper_subclass)

    def _alias(self, cls=None):
        """A new tensor object sharing this one's storage, layout and version counter (no autograd)."""
        t = Tensor._wrap(None) if cls is None else cls._wrap(None)
        t._st, t._vfn, t._val, t._valver, t._strides = self._st, self._vfn, self._val, self._valver, self._strides
        t._meta = self._meta
        if self._vc is not None:
            t._vc = self._vc
        return t

    _vc = None  # a ``.data`` alias's own VersionCounter (see HIDDEN), kept in the instance dict
    # how a view was made, where torch forbids writing through it with grad mode on: NO_GRAD_VIEW (in
    # no_grad mode, of a base that may require grad), MULTI_OUTPUT_VIEW (a piece of split/chunk/unbind);
    # views of such a view inherit it (``_dispatch._apply_view``). In the instance dict too.
    _cm = None
    _cmv = 0  # a multi-output view's storage version when it was made (see rebased)
    # a non-leaf detached in place (``detach_``): a weak reference to the node it was the output of; the tape may
    # not use its saved value elsewhere
    _detached = None

    # ---------------------------------------------------------------- storage
    @property
    def _value(self):
        if _dispatch.TRACE is not None:
            _dispatch.TRACE.read(self)
        st = self._st
        if st.host is not None and not st.alias:
            from .interop import sync_host
            sync_host(st)  # numpy-side writes to a buffer XLA could not alias
        if not self._vfn:
            return st.array
        if self._valver != st.version or self._val is None or st.host is not None:
            self._val = _dispatch.chain_fn(self._vfn)(st.array)
            self._valver = st.version
        v = self._val
        if type(v) is Pending:
            v = self._val = v.get()
        return v

    def _lazy_value(self):
        """The value without forcing pending lazy work: a jax array or a ``_lazy.Pending`` (which has
        ``shape`` and ``dtype``). A view reads through its chain lazily too. Same as ``_value``
        when lazy batching is off, inside jtorch.compile and for host-shared storages."""
        st = self._st
        if _dispatch.TRACE is not None or st.host is not None:
            return self._value
        if not self._vfn:
            return st._arr
        if self._valver == st.version and self._val is not None:
            return self._val
        root = st._arr
        if not LAZY[0] or not _lazy_kind(root) or not _dispatch.lazy_here(root.shape):
            if type(root) is MetaArray:  # a view of a meta tensor: its shape, no data
                return MetaArray(*self._shape_dtype())
            if type(root) is _chalf.ChalfArray:  # a view of a complex32 tensor: dispatch routes it
                return _chalf.view_value(self)
            return self._value
        self._val = _dispatch.lazy_chain(self._vfn, st._arr, self._meta)
        self._valver = st.version
        return self._val

    def _meta_src(self):
        # what shape/dtype queries read: never forces a pending value
        st = self._st
        if _dispatch.TRACE is None and st.host is None:
            return st._arr
        return self._value

    def _set_array(self, arr):
        """Replace this tensor's value in place (writes through views), bumping the version."""
        st = self._st
        self._sig = None
        cut = None
        if _dispatch.TRACE is not None:
            _dispatch.TRACE.write(self)
            cut = _dispatch.CUT[0]
            old = st._arr
        if st.host is not None and not st.alias and self._vfn:
            from .interop import sync_host
            sync_host(st)
        if not self._vfn:
            st._arr = arr
        elif LAZY[0] and st.host is None and _lazy_kind(arr) and _lazy_kind(st._arr) and \
                _dispatch.lazy_here(st._arr.shape):
            st._arr = _dispatch.lazy_scatter(self._vfn, st._arr, arr)
            self._val = arr
        elif type(st._arr) is MetaArray:
            pass  # a write through a view of a meta tensor: nothing to store
        elif type(st._arr) is _chalf.ChalfArray:
            st._arr = _chalf.scatter(self._vfn, st._arr, arr)
        else:
            if type(arr) is Pending:
                arr = arr.get()
            st.array = _dispatch.scatter_fn(self._vfn)(st.array, arr)
            self._val = arr
        if cut is not None:  # (a compile trace: an untracked write keeps the storage's derivative)
            cut.written(self, old)
        bump_version(self, st)
        self._valver = st.version
        if st.host is not None:
            from .interop import write_host
            write_host(st)

    def _write(self, new, same_dtype=False):
        """In-place assignment of Tensor ``new`` (same shape) into self, with autograd."""
        if self._st.inference and not GRAD.inference:
            raise _inference_inplace_error()
        if not same_dtype and new._shape_dtype()[1] != self._shape_dtype()[1]:
            new = new.to(self.dtype)
        base = self._base
        if new._requires_grad and base is not None and (GRAD.enabled or _FUNC.depth and _tape_inside(self)):
            # the write-through is an op on the base, so the base's gradient flows into ``new``;
            # this view's grad_fn is then regenerated from the base (see _refresh_view_grad_fn)
            from ._ops.indexing import view_scatter
            res = _dispatch.apply(view_scatter, [base, new, _dispatch.chain_args(self._avfn)],
                                  (_dispatch.chain_structure(self._avfn), _internal_overlap(self)))
            old = base._grad_fn
            if res._grad_fn is not None:  # (inside vmap: none where the base holds a batched value)
                base._grad_fn, base._out_idx, base._requires_grad = res._grad_fn, 0, True
                base._gver += 1
                if base._retains:
                    _move_retain(base, old)
        elif new._requires_grad and (GRAD.enabled or _FUNC.depth and _tape_inside(self)):
            old = self._grad_fn
            self._grad_fn, self._out_idx, self._requires_grad = new._grad_fn, new._out_idx, True
            self._gver += 1
            if self._retains:
                _move_retain(self, old)
        self._set_array(new._lazy_value())
        _fix_saved_version(new._grad_fn, self, new)
        return self

    def _refresh_view_grad_fn(self):
        """After an in-place write through the base, this view's grad_fn is the view of the new base."""
        base = self._base
        if self._cm is MULTI_OUTPUT_VIEW and base._requires_grad:
            raise view_write_error(self, rebased=True)
        self._gver_seen = base._gver
        if not base._requires_grad:
            return
        from ._ops.indexing import view_chain
        prev = GRAD.enabled
        GRAD.enabled = True
        try:
            res = _dispatch.apply(view_chain, [base, _dispatch.chain_args(self._avfn)],
                                  (_dispatch.chain_structure(self._avfn),))
        finally:
            GRAD.enabled = prev
        self._requires_grad = True
        old = self._grad_fn
        self._grad_fn, self._out_idx = res._grad_fn, 0
        if self._retains:
            _move_retain(self, old)

    def _inplace(self, f, args, kwargs):
        """``self.op_(...)``: compute ``op(self, ...)`` and write it back into self."""
        try:
            if self._vfn and _internal_overlap(self) and not _writes_overlap(f, self, args):
                raise overlap_error()
            st = self._st
            for a in args:
                if type(a) is Tensor and a._st is st and a is not self and _partial_overlap(self, a) and \
                        not _writes_overlap(f, self, args):
                    raise RuntimeError("unsupported operation: some elements of the input tensor and the written-to "
                                       "tensor refer to a single memory location. Please clone() the tensor before "
                                       "performing the operation.")
            if self._st.inference and not GRAD.inference:
                raise _inference_inplace_error()
            if GRAD.enabled and (self._requires_grad or self._base is not None):
                self._check_inplace()
            elif _FUNC.depth:
                from .func import check_inplace_inside
                check_inplace_inside(self)
            if not kwargs and type(f) is _OpDef and _dispatch.TRACE is None:
                # fast road: the op's bare result value; written straight into the storage when no
                # autograd node was recorded and its shape and dtype are self's
                out = f.call_raw((self, *args))
                if out is not None and type(out) is not Tensor and type(out) is not tuple:
                    m = self._meta
                    if m is None:
                        m = self._st._arr
                        sshape, sdt = m.shape, m.dtype
                    else:
                        sshape, sdt = m
                    if out.shape == sshape and (out.dtype is sdt or out.dtype == sdt):
                        st = self._st
                        if not self._vfn and st.host is None:  # a base tensor: the storage takes the value
                            st._arr = out
                            self._sig = None
                            if self._vc is None:
                                st.version += 1
                            else:
                                bump_version(self, st)
                            self._valver = st.version
                        else:
                            self._set_array(out)
                        return self
                    out = Tensor._wrap(out)
            else:
                out = None
            if out is None:
                out = f(self, *args, **kwargs)
                if _dispatch.STOP_GRADIENT[0] is not None and out._st is not self._st:  # inside a transform
                    from .autograd.grad_mode import untracked_write
                    out = Tensor._wrap(untracked_write(self._value, out._value))
            oshape, odt = out._shape_dtype()  # raw (shape, numpy dtype): cheaper than .shape/.dtype
            sshape, sdt = self._shape_dtype()
            if odt != sdt and out.dtype._cat > self.dtype._cat:
                raise RuntimeError(f"result type {_TYPE_NAMES[out.dtype._cat]} can't be cast to the desired "
                                   f"output type {self.type_name()[:-6]}")
            if oshape != sshape:
                if jnp.broadcast_shapes(out.shape, self.shape) != self.shape:
                    raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast "
                                       f"shape {list(out.shape)}")
                out = out.expand(self.shape)
            return self._write(out, odt == sdt)
        except _sd.InplaceDispatch:  # (a try costs nothing) an argument or a mode takes the in-place op itself
            from .utils._dispatch_road import inplace_apply
            return inplace_apply(self, f, args, kwargs)

    def _check_inplace(self):
        base = self._base
        if GRAD.enabled and base is not None and self._cm is not None and (self._requires_grad or base._requires_grad):
            raise view_write_error(self)
        if GRAD.enabled and (self._requires_grad or base is not None and _follows_base(self)):
            if self._grad_fn is None and self._base is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
            # (the base a leaf: also one that does not require grad, whose view was made to: torch's check)
            if self._base is not None and self._base._grad_fn is None:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation.")

    # ---------------------------------------------------------------- metadata
    def _shape_dtype(self):
        """(shape, numpy dtype) without computing a lazy view's value."""
        m = self._meta
        if m is not None:
            return m
        st = self._st
        if _dispatch.TRACE is None and st.host is None:
            v = st._arr
        else:
            try:
                v = self._value  # (recorded as a read: jtorch.compile)
            except _chalf.ChalfArgument:
                v = st._arr  # a complex32 root: its ChalfArray has the shape and dtype
        t = type(v)
        if t is _CONCRETE:
            v = v.aval  # its shape and dtype are plain attributes (the array's are properties)
        elif t is Pending:
            return v.av
        return v.shape, v.dtype

    @property
    def shape(self):
        return tuple.__new__(Size, self._shape_dtype()[0])

    def size(self, dim=None):
        s = self._shape_dtype()[0]
        if dim is None:
            return Size(s)
        return s[_wrap_dim(dim, len(s))]

    @property
    def dtype(self):
        return D._FROM_NP[self._shape_dtype()[1]]

    @property
    def device(self):
        a = self._st._arr
        if type(a) is Pending:  # lazy batching runs only on a single-device CPU backend
            return CPU
        if isinstance(a, jax.core.Tracer):
            return _traced_device()
        try:
            devs = a.devices()
        except AttributeError:
            return getattr(a, "torch_device", CPU)  # a meta tensor's MetaArray says 'meta'
        # an array sharded or replicated over a mesh (nn.DataParallel) reports the mesh's first device
        return from_jax_device(next(iter(devs)) if len(devs) == 1 else min(devs, key=_device_id))

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def is_cpu(self):
        return self.device.type == "cpu"

    @property
    def is_meta(self):
        return type(self._st._arr) is MetaArray

    # properties as torch's (__torch_function__ receives ``Tensor.layout.__get__``), each with a getter of its
    # own (_torch_function._build_swaps); other kinds (sparse, nested, quantized) override them with class
    # attributes. XLA here runs as 'cpu'/'cuda'.
    (is_sparse, is_quantized, is_mkldnn, is_nested, is_sparse_csr, is_xla, is_xpu, is_mps, is_ipu, is_maia, is_mtia,
     is_vulkan) = (property(lambda self: False) for _ in range(12))
    layout = property(lambda self: _layouts.strided)

    def get_device(self):
        d = self.device
        return -1 if d.type in ("cpu", "meta") else d.index or 0

    @property
    def ndim(self):
        return len(self._shape_dtype()[0])

    def dim(self):
        return self.ndim

    ndimension = _tf.own_copy(dim, "ndimension")  # (torch's aliases are methods of their own)

    def numel(self):
        m = self._meta
        return math.prod(m[0]) if m is not None else int(self._meta_src().size)

    nelement = _tf.own_copy(numel, "nelement")

    def element_size(self):
        return self.dtype.itemsize

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.numel() * self.dtype.itemsize

    def stride(self, dim=None):
        s = self._strides
        if s is None:
            s = contiguous_strides(self._shape_dtype()[0])
        elif type(s) is _dispatch.LazyStrides:
            s = s.get()
        return s if dim is None else s[_wrap_dim(dim, len(s))]

    def is_contiguous(self, memory_format=None):
        if self._strides is None and memory_format is None:
            return True
        from ._memfmt import is_contiguous
        return is_contiguous(self, memory_format)

    def storage_offset(self):
        from .serialization import storage_offset
        return storage_offset(self)

    def data_ptr(self):
        if isinstance(self._st._arr, MetaArray):  # (a wrapper subclass's NoData too)
            return 0 if type(self._st._arr) is not MetaArray else self.storage_offset() * self.element_size()
        return address(self._st) + self.storage_offset() * self.element_size()

    const_data_ptr = _tf.own_copy(data_ptr, "const_data_ptr")

    def untyped_storage(self):
        from ._storage import untyped_storage
        return untyped_storage(self)

    def storage(self):
        from ._storage import storage
        return storage(self)

    def storage_type(self):
        from ._storage import storage_type
        return storage_type(self)

    def set_(self, source=None, storage_offset=0, size=None, stride=None):
        from ._storage import set_
        return set_(self, source, storage_offset, size, stride)

    def is_set_to(self, tensor):
        from ._storage import is_set_to
        return is_set_to(self, tensor)

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def is_complex(self):
        return self.dtype.is_complex

    def is_signed(self):
        return self.dtype.is_signed

    @property
    def is_leaf(self):
        if _FUNC.depth:
            return self.grad_fn is None
        return self._grad_fn is None or not self._requires_grad

    @property
    def requires_grad(self):
        if self._base is not None and self._gver_seen != self._base._gver:
            if self._cm is MULTI_OUTPUT_VIEW:  # (its grad_fn raises, its flag answers: torch's)
                return self._requires_grad or self._base._requires_grad
            self._refresh_view_grad_fn()
        if _FUNC.depth:  # inside a torch.func transform JAX differentiates: ask its levels
            from .func import requires_grad_inside
            return requires_grad_inside(self)
        return self._requires_grad or self._base is not None and _follows_base(self)

    @requires_grad.setter
    def requires_grad(self, flag):
        if not self.is_leaf:
            if flag:
                return  # (a non-leaf requires grad already: torch lets it be asked again)
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use "
                               "a computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if flag and self.dtype._cat < 2:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        if flag and self._st.inference and not GRAD.inference:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        if _dispatch.TRANSFORMS.depth:  # (JAX differentiates there: jtorch's tape is off)
            raise RuntimeError("You are attempting to call Tensor.requires_grad_() inside of a function being "
                               "transformed by a torch.func transform. This is unsupported: use the transforms "
                               "(grad, vjp, jacrev, jacfwd, hessian) instead, or call requires_grad_() outside "
                               "of the transformed function.")
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self):
        if self._cm is not None and rebased(self):
            raise view_write_error(self, rebased=True)
        if self._base is not None and self._gver_seen != self._base._gver:
            self._refresh_view_grad_fn()
        if _FUNC.depth:
            from .func import grad_fn_inside
            return grad_fn_inside(self)
        return self._grad_fn

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, g):
        if g is not None:
            if not isinstance(g, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(g).__name__}")
            if g.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size")
            if g.dtype is not self.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        if _dispatch.TRACE is not None:
            _dispatch.TRACE.grad_set(self, g)
        self._grad = g

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def data(self):
        if _dispatch.TRANSFORMS.depth:  # inside a torch.func transform: JAX's stop_gradient (see detach)
            return self.detach()
        t = self._alias()
        t._vc = VersionCounter()
        return t

    @data.setter
    def data(self, other):
        if _dispatch.TRANSFORMS.depth:
            raise RuntimeError("mutating directly with `.data` inside functorch transform is not allowed.")
        if _dispatch.CUT[0] is not None:  # (a compile trace: see _compile_cuts.Cuts.rebinding)
            other = _dispatch.CUT[0].rebinding(self, other)
        self._sig = None
        self._meta = other._meta
        self._st, self._vfn, self._val, self._valver = other._st, other._vfn, other._val, other._valver
        self._strides = other._strides

    @property
    def grad_dtype(self):
        """The dtype a gradient of this tensor has: its own."""
        return self.dtype

    name = None  # a named tensor's name: jtorch tensors have none

    @property
    def volatile(self):
        import warnings
        warnings.warn("volatile was removed (Variable.volatile is always False)", UserWarning, stacklevel=2)
        return False

    @property
    def is_view(self):
        return self._base is not None

    def _is_view(self):
        return self._base is not None

    @property
    def retains_grad(self):
        return self._retains

    @property
    def output_nr(self):
        fn = self._grad_fn
        if fn is not None and self._out_idx == 0:  # a split/chunk/unbind piece: its index, as torch's
            from .autograd.next_functions import part_index
            k = part_index(fn)
            if k is not None:
                return k
        return self._out_idx

    @property
    def _version(self):
        if self._st.inference:
            raise RuntimeError("Inference tensors do not track version counter.")
        return self._st.version % HIDDEN if self._vc is None else self._vc.version

    def type_name(self):
        return D.scalar_type_name(self.dtype) + "Tensor"

    # ---------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self):
        if _dispatch.TRANSFORMS.depth:  # inside a torch.func transform JAX differentiates: cut from it
            from .autograd.grad_mode import detached
            return detached(self)
        return self._alias()

    def detach_(self):
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        if _dispatch.TRANSFORMS.depth:  # its value cut from JAX's differentiation, in a storage of its own
            d = Tensor._wrap(jax.lax.stop_gradient(self._value))
            self._st, self._vfn, self._val, self._valver = d._st, (), None, 0
            self._strides = self._meta = self._sig = None
        if self._grad_fn is not None:
            self._detached = weakref.ref(self._grad_fn)  # (its node may still read it as its saved result: torch's)
        self._grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self):
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.is_leaf or self._retains:
            return
        self._retains = True
        if _dispatch.CUT[0] is not None:  # (inside a compile trace: see _compile_cuts.Cuts.retain)
            _dispatch.CUT[0].retain(self)
        node = self.grad_fn
        if node._retain is None:
            node._retain = {}
        node._retain[self._out_idx] = self

    def register_hook(self, hook):
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.is_leaf:
            from .autograd.graph import edge_of
            node = edge_of(self)[0]
            key = 0
        else:
            node, key = self.grad_fn, self._out_idx
            if _dispatch.CUT[0] is not None:  # (inside a compile trace: see _compile_cuts.Cuts)
                _dispatch.CUT[0].hooked = True
        if node._tensor_hooks is None:
            node._tensor_hooks = {}
        lst = node._tensor_hooks.setdefault(key, [])
        lst.append(hook)
        from .autograd.graph import _Handle
        return _Handle(lst, hook)

    def register_post_accumulate_grad_hook(self, hook):
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not self.is_leaf:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        from .autograd.graph import edge_of
        node = edge_of(self)[0]
        return node.register_hook(lambda gi, go: hook(self))

    # ---------------------------------------------------------------- conversions
    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        try:
            v = self._value
        except _chalf.ChalfArgument:
            v = _chalf.value(self)
        except MetaArgument:
            raise RuntimeError("Tensor.item() cannot be called on meta tensors") from None
        return np.asarray(v).reshape(()).item()

    def tolist(self):
        try:
            return np.asarray(self._value).tolist()
        except _chalf.ChalfArgument:
            return np.asarray(_chalf.value(self)).tolist()

    def numpy(self, *, force=False):
        if self._requires_grad and not force and (_FUNC.enabled if _FUNC.depth else GRAD.enabled):  # (no_grad: reads)
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.device.type != "cpu" and not force:
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy "
                            "the tensor to host memory first.")
        if self.dtype is D.complex32:
            raise TypeError("Got unsupported ScalarType ComplexHalf")
        from .interop import shared_numpy
        return shared_numpy(self)

    def __array__(self, dtype=None, copy=None):
        if self._strides is not None:  # a view or a memory format: torch's strides (interop.strided_array)
            from .interop import strided_array
            a = strided_array(self)
            if a is not None:
                return a if dtype is None else a.astype(dtype)
        try:
            v = self._value
        except _chalf.ChalfArgument:
            if self.dtype is D.complex32:
                raise TypeError("Got unsupported ScalarType ComplexHalf") from None
            v = _chalf.value(self)  # a float16 view of a complex32 tensor (real, imag, view_as_real)
        except MetaArgument:
            raise TypeError("can't convert meta device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                            "to host memory first.") from None
        a = np.asarray(v)
        return a if dtype is None else a.astype(dtype)

    def jax(self):
        """The jax array holding this tensor's current value (no copy)."""
        return self._value

    def __dlpack__(self, *args, **kwargs):
        return self._value.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._value.__dlpack_device__()

    __array_priority__ = 1000  # (NumPy scalars and arrays defer to Tensor's reflected operators, as torch's)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        """A NumPy ufunc's result on tensors, as a tensor (torch's: a bool result as uint8)."""
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        from ._ops.creation import from_numpy
        return from_numpy(np.asarray(array))

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return builtins.bool(self.item())

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __long__(self):  # (Python 2's names, which torch keeps; no dispatch of their own: int() and bool()'s)
        return self.__int__()

    def __nonzero__(self):
        return self.__bool__()

    def __complex__(self):
        return builtins.complex(self.item())

    def __index__(self):
        if self.dtype._cat > 1 or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._shape_dtype()[0][0]

    def __iter__(self):  # (no dispatch of its own, as torch's: its dim() and unbind() dispatch)
        if self.dim() == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __reversed__(self):
        return self.flip(0)

    def __contains__(self, element):
        if not isinstance(element, _OPERANDS):
            raise RuntimeError("Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                               f"{type(element)}.")
        return builtins.bool((element == self).any())

    def __repr__(self, *, tensor_contents=None):
        from ._tensor_str import tensor_repr
        return tensor_repr(self, tensor_contents)

    def __format__(self, spec):
        if self.dim() == 0 and type(self) is Tensor and not self.is_meta:  # (as torch: a subclass's is object's)
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __copy__(self):
        """torch's ``copy.copy``: a leaf over the same storage (writes show in both), keeping
        ``requires_grad`` and sharing the Python attributes' values."""
        cls = type(self)
        if cls is not Tensor and cls.__module__.startswith("jtorch.") and cls.__name__ != "Parameter":
            import copy  # (jtorch's sparse and quantized kinds keep their internals: their pickling rules)
            return copy._reconstruct(self, None, *self.__reduce_ex__(4))
        t = self._alias(None if cls is Tensor else cls)
        if self.requires_grad:
            t._requires_grad = True
        if self.__dict__:
            t.__dict__.update(self.__dict__)
        return t

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the "
                "moment.  If you were attempting to deepcopy a module, this may be because of a "
                "torch.nn.utils.weight_norm usage, see https://github.com/pytorch/pytorch/pull/103001")
        if id(self) in memo:
            return memo[id(self)]
        from ._storage import deepcopy_tensor  # (one copy per storage: views stay views of one storage)
        return deepcopy_tensor(self, memo)

    def __reduce_ex__(self, proto):
        from .serialization import _reduce_tensor
        return _reduce_tensor(self)

    def __getstate__(self):
        return {}

    # ---------------------------------------------------------------- devices and dtypes
    def to(self, *args, **kwargs):
        dtype, dev, copy = None, None, kwargs.get("copy", False)
        flags = [a for a in args if isinstance(a, builtins.bool)]  # (non_blocking, copy) positionally
        if len(flags) > 1:
            copy = flags[1]
        for a in list(args) + [kwargs.get("dtype"), kwargs.get("device")]:
            if a is None or isinstance(a, builtins.bool):
                continue
            if isinstance(a, Tensor):
                dtype, dev = a.dtype, a.device
            elif isinstance(a, D.dtype):
                dtype = a
            elif isinstance(a, (str, _device_cls, int)):
                dev = to_device(a if not isinstance(a, int) else _device_cls("cuda", a))
        r = self
        if dev is not None and (dev.type != self.device.type or (dev.index is not None and dev != self.device)
                                or _on_mesh(self)):
            r = _to_device(r, dev)
        if dtype is not None and dtype is not r.dtype:
            r = _chalf.cast(r) if dtype is D.complex32 else _dispatch.REGISTRY["_cast"](r, dtype=dtype)
        fmt = kwargs.get("memory_format")
        if fmt is not None and getattr(fmt, "name", None) != "preserve_format":
            from ._memfmt import to_format
            r = to_format(r, fmt, suggested=True)
        if copy and r is self:
            r = r.clone()
        return r

    def cpu(self, memory_format=None):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        d = _device_cls("cuda") if device is None else (
            _device_cls("cuda", device) if isinstance(device, int) else to_device(device))
        return self.to(d)

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return "torch." + self.type_name()
        if isinstance(dtype, str):
            name = dtype.split(".")[-1]
            dtype = _LEGACY_TYPES.get(name) or D.to_dtype(dtype)
        dtype = getattr(dtype, "_legacy_dtype", dtype)  # x.type(torch.IntTensor)
        return self.to(dtype)

    def float(self, memory_format=None):
        return self.to(D.float32)

    def double(self, memory_format=None):
        return self.to(D.float64)

    def half(self, memory_format=None):
        return self.to(D.float16)

    def bfloat16(self, memory_format=None):
        return self.to(D.bfloat16)

    def long(self, memory_format=None):
        return self.to(D.int64)

    def int(self, memory_format=None):
        return self.to(D.int32)

    def short(self, memory_format=None):
        return self.to(D.int16)

    def char(self, memory_format=None):
        return self.to(D.int8)

    def byte(self, memory_format=None):
        return self.to(D.uint8)

    def bool(self, memory_format=None):
        return self.to(D.bool)

    def cfloat(self, memory_format=None):
        return self.to(D.complex64)

    def cdouble(self, memory_format=None):
        return self.to(D.complex128)

    def chalf(self, memory_format=None):
        return self.to(D.complex32)

    def type_as(self, other):
        return self.to(other.dtype)

    def pin_memory(self, device=None):
        return self

    def is_pinned(self, device=None):
        return False

    def share_memory_(self):
        return self

    def is_shared(self):
        return False

    def contiguous(self, memory_format=None):
        if memory_format is not None:
            from ._memfmt import to_format
            return to_format(self, memory_format)
        return self if self.is_contiguous() else self.clone(memory_format=_layouts.contiguous_format)

    @property
    def T(self):
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    @property
    def H(self):
        return self.T.conj() if self.is_complex() else self.T

    @property
    def mH(self):
        return self.mT.conj() if self.is_complex() else self.mT

    def adjoint(self):
        return self.mH

    @property
    def real(self):
        return _dispatch.REGISTRY["real"](self)

    @real.setter
    def real(self, value):
        _assign(_dispatch.REGISTRY["real"](self), value)

    @property
    def imag(self):
        return _dispatch.REGISTRY["imag"](self)

    @imag.setter
    def imag(self, value):
        _assign(_dispatch.REGISTRY["imag"](self), value)


def _assign(view, value):
    """``z.real = value``: written into the view (a number fills it)."""
    if isinstance(value, Tensor):
        view.copy_(value)
    else:
        view.fill_(value)


_LEGACY_TYPES = {D.scalar_type_name(d) + "Tensor": d for d in D.ALL}  # x.type("torch.IntTensor")
_TYPE_NAMES = {0: "Bool", 1: "Long", 2: "Float", 3: "ComplexFloat"}


def _lazy_kind(a):
    """Whether a value can enter a lazy segment (a pending value or a concrete jax array, not a tracer)."""
    return type(a) is Pending or type(a) is _dispatch.CONCRETE


def _traced_device():
    """Inside jtorch.compile/jax transforms: the device the program will run on."""
    return from_jax_device(jax.local_devices()[0])


def _tape_inside(target):
    from .func import tape_inside  # (inside vmap the tape records unbatched ops, as torch's)
    return tape_inside(target)


_ZERO_STRIDE_VIEWS = ("_expand", "_storage_view", "_storage_view_masked")


def _internal_overlap(t):
    """Whether view ``t`` has a dim of size > 1 and stride 0 (an expand or as_strided), where torch's
    in-place ops raise rather than write one element several times."""
    for link in t._vfn:
        if link[0].name in _ZERO_STRIDE_VIEWS:
            return t.numel() > 0 and any(n > 1 and s == 0 for n, s in zip(t.shape, t.stride()))
    return False


def _move_retain(t, old):
    """``t`` retains its grad and an in-place write gave it a new grad_fn: its ``.grad`` is now the gradient
    of the new value (torch's), so the registration moves from ``old`` to the new node."""
    if old is not None and old._retain:
        old._retain = {k: v for k, v in old._retain.items() if v is not t} or None
    node = t._grad_fn
    if node._retain is None:
        node._retain = {}
    node._retain[t._out_idx] = t


def _dense_range(t):
    """(first, end) element positions of ``t`` in its storage when its elements fill that range with no
    gaps or repeats (torch's non-overlapping-and-dense), else None."""
    if not t.numel():
        return None
    expect = 1
    for s, n in sorted((s, n) for n, s in zip(t.shape, t.stride()) if n != 1):
        if s != expect:
            return None
        expect *= n
    first = t.storage_offset()
    return first, first + t.numel()


def _partial_overlap(out, a):
    """torch's check of an in-place op's input ``a`` against its output (same storage): their dense
    ranges meet, yet they are not the same elements in the same order."""
    ro, ra = _dense_range(out), _dense_range(a)
    if ro is None or ra is None:
        return False  # (torch's "too hard": not checked)
    if ro == ra and out.stride() == a.stride():
        return False
    return ro[0] < ra[1] and ra[0] < ro[1]


def overlap_error():
    return RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a single "
                        "memory location. Please clone() the tensor before performing the operation.")


def _writes_overlap(f, t, args):
    """The in-place ops torch lets write such a tensor: fill_/zero_ with a number, masked_fill_, index_fill_,
    index_put_, and copy_ from itself (or a view of the same elements)."""
    name = getattr(f, "__name__", "")
    if name == "_fill":
        return not isinstance(args[0], Tensor)
    return name in ("masked_fill", "index_fill", "index_put") or name == "_copy_from" and (args[0] is t or (
        type(args[0]) is Tensor and args[0]._st is t._st and args[0].shape == t.shape and
        args[0].stride() == t.stride() and args[0].storage_offset() == t.storage_offset()))


def _follows_base(view):
    """A view made in no_grad mode or before its base required grad (no grad_fn): torch's flag is its base's,
    though no gradient flows through it (``autograd.graph.record`` gives it no edge)."""
    return view._grad_fn is None and view._base._requires_grad and all(link[0].differentiable for link in view._avfn)


def rebased(view):
    """Whether ``view`` is a split/chunk/unbind piece (of a base that requires grad) whose storage was
    written since it was made (``.data`` writes aside): torch refuses to give it a grad_fn then."""
    return view._cm is MULTI_OUTPUT_VIEW and view._base is not None and \
        (view._st.version - view._cmv) % HIDDEN != 0 and (view._requires_grad or view._base._requires_grad)


def view_write_error(view, rebased=False):
    if view._cm is NO_GRAD_VIEW:
        return RuntimeError(
            "A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that "
            "this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both "
            "the view and the inplace either both inside the no_grad block (if you don't want the inplace to be "
            "tracked) or both outside (if you want the inplace to be tracked).")
    node = view._grad_fn
    name = "" if node is None else node.name().rsplit("Backward", 1)[0]
    from .autograd.next_functions import part_index
    k = None if node is None else part_index(node)  # (the piece's place among its split's outputs)
    what = "its base or another view of its base has been modified inplace" if rebased else \
        "is being modified inplace"
    return RuntimeError(
        f"Output {view._out_idx if k is None else k} of {name} is a view and {what}. This view is the output of a function that returns "
        "multiple views. Such functions do not allow the output views to be modified inplace. You should replace "
        "the inplace operation by an out-of-place one.")


def _fix_saved_version(node, target, result):
    """The in-place op's own node saved its target's pre-write value: an immutable jax array, like
    torch's clone of the original self, so later writes to the target cannot corrupt it. Its other
    operands keep their check: one that aliases the target (``b.mul_(b)``) was overwritten, as torch's.
    A saved result (``OpDef.saves_result``) is now the target itself: its later writes are checked."""
    if node is None or not hasattr(node, "versions"):
        return
    try:
        vs = list(node.versions)
        for k, (s, v, t) in enumerate(vs):
            if t is target:
                del vs[k]
                break
        st = result._st
        kept = [e for e in vs if e[0] is not st]
        if len(kept) < len(vs) or getattr(getattr(node, "op", None), "saves_result", False) == "inplace":
            vc = target._vc
            kept.append((target._st, target._st.version, target) if vc is None else (vc, vc.version, target))
        node.versions = kept
    except AttributeError:
        pass


def _wrap_dim(dim, ndim):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _device_id(d):
    return d.id


def _on_mesh(t):
    """Whether t's array spans several devices: .to(its device) / .cpu() then gathers it onto one."""
    a = t._st._arr
    if type(a) is Pending:
        return False
    return not isinstance(a, jax.core.Tracer) and hasattr(a, "devices") and len(a.devices()) > 1


def _to_device(t, dev):
    if dev.type == "meta":
        from ._meta import to_meta
        return to_meta(t)
    jd = jax_device(dev)
    if t._requires_grad and GRAD.enabled:
        return _device_transfer().apply(t, jd)
    return Tensor._wrap(jax.device_put(t._value, jd))


_TRANSFER = []


def _device_transfer():
    """A differentiable device move: the gradient goes back to the source device."""
    if not _TRANSFER:
        from .autograd.function import Function

        class ToCopyBackward(Function):
            @staticmethod
            def forward(ctx, x, jd):
                ctx.src = x._value.sharding  # a mesh array's gradient goes back onto the mesh
                return Tensor._wrap(jax.device_put(x._value, jd))

            @staticmethod
            def backward(ctx, g):
                return Tensor._wrap(jax.device_put(g._value, ctx.src)), None
        _TRANSFER.append(ToCopyBackward)
    return _TRANSFER[0]


_BINARY = {  # python operator -> op name (reflected handled below)
    "add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "floordiv": "floor_divide",
    "mod": "remainder", "pow": "pow", "matmul": "matmul", "and": "bitwise_and", "or": "bitwise_or",
    "xor": "bitwise_xor", "lshift": "bitwise_left_shift", "rshift": "bitwise_right_shift",
}
_COMPARE = {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge"}
# the Tensor method torch's __torch_function__ receives for an operator (the others receive the operator)
_OPERATOR_METHODS = {
    "__add__": "add", "__radd__": "add", "__iadd__": "add_", "__sub__": "sub", "__isub__": "sub_", "__mul__": "mul",
    "__rmul__": "mul", "__imul__": "mul_", "__truediv__": "div", "__itruediv__": "div_",
    "__ifloordiv__": "floor_divide_", "__mod__": "remainder", "__imod__": "remainder_", "__matmul__": "matmul",
    "__rand__": "bitwise_and", "__ror__": "bitwise_or", "__rxor__": "bitwise_xor", "__ne__": "ne", "__lt__": "lt",
    "__le__": "le", "__gt__": "gt", "__ge__": "ge"}


def _bind_methods():
    """Bind every registered op as a Tensor method, and Python's operators onto ops. Each method is an
    object of its own, made from the one definition (``_tf.method``): ``Tensor.add is not torch.add``."""
    R, M = _dispatch.REGISTRY, _dispatch.METHODS
    for name, f in M.items():
        if not isinstance(f, _OpDef):
            f = M[name] = _tf.public(f, name)  # (methods set into METHODS directly: Tensor.new_zeros & co)
        if name not in Tensor.__dict__ or getattr(Tensor.__dict__[name], "_from_registry", False):
            m = _tf.method(f, name)
            m._from_registry = True
            setattr(Tensor, name, m)
    for name, f in (("__getitem__", R["_getitem"]), ("__setitem__", R["_setitem"])):
        setattr(Tensor, name, _tf.method(f, name))
    methods = Tensor.__dict__
    for py, opname in list(_BINARY.items()) + list(_COMPARE.items()):
        op = R[opname]
        for d in ("", "r", "i") if py in _BINARY else ("",):
            name = f"__{d}{py}__"
            method = methods.get(_OPERATOR_METHODS.get(name))
            if d == "i":  # (checks for itself, as before: it writes in place)
                _tf.operator(name, _ibinop(op, method))
                continue
            f = _rbinop(op if name != "__rtruediv__" else _reciprocal_times, method) if d else _binop(op, method)
            _tf.operator(name, f, method or f, _dispatching(f, method or f, _operand))
    f = _binop(R["div"], Tensor.div)  # (Python 2's name, which torch keeps: an object of its own)
    _tf.operator("__div__", f, Tensor.div, _dispatching(f, Tensor.div, _operand))
    f = _unop(R["bitwise_not"])
    _tf.operator("__invert__", f, f, _dispatching(f, f))
    # torch's aliases: one object under both names (``Tensor.__neg__ is Tensor.neg``)
    for name, of in (("__neg__", "neg"), ("__abs__", "abs"), ("__pos__", "positive"), ("__rdiv__", "__rtruediv__"),
                     ("__idiv__", "__itruediv__")):
        _tf.alias(name, of)
    _tf.methods_bound()


_OPERANDS = (Tensor, int, float, complex, builtins.bool, np.number, np.bool_, _SymNumber)  # what operators take


def _operand(other):
    return type(other) is Tensor or isinstance(other, _OPERANDS)


def _binop(op, method):
    """A binary operator over ``op``; __torch_function__ receives ``method`` (``Tensor.add`` for ``x + y``),
    or the operator itself where torch's does. A plain Tensor pays no test for __torch_function__: a mode
    puts the dispatching version on (``_dispatching``)."""
    def f(self, other):
        if type(other) is not Tensor and not isinstance(other, _OPERANDS):
            return NotImplemented
        try:
            return op(self, other)
        except _tf.TensorLikeArgument as e:  # (an argument that dispatches: this operator is its entry)
            if _tf.declines(e, (self, other), None):
                raise
        return _tf.handle(method or f, (self, other), caught=True)
    return f


# torch's reflected operators defined on its C tensor type, which refuse another ``self``; its others (``__rsub__``,
# ``__rpow__``, ...) are Python functions that take one
_DESCRIPTOR_OPERATORS = frozenset(["__radd__", "__rmul__", "__rand__", "__ror__", "__rxor__"])


def _rbinop(op, method):
    """``2 - t``: the scalar goes first as a wrapped number, which every binary op accepts (else as _binop)."""
    def f(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented
        if type(self) is not Tensor and not isinstance(self, Tensor) and f.__name__ in _DESCRIPTOR_OPERATORS:
            raise _dispatch.not_a_tensor(f.__name__, self)  # (``Tensor.__radd__(2, 3)``)
        try:
            return op(other, self)
        except _tf.TensorLikeArgument as e:
            if _tf.declines(e, (self, other), None):
                raise
        return _tf.handle(method or f, (self, other), caught=True)
    return f


def _unop(op):
    """``~t``: as _binop (__torch_function__ receives the operator, as torch's)."""
    def f(self):
        try:
            return op(self)
        except _tf.TensorLikeArgument as e:
            if _tf.declines(e, (self,), None):
                raise
        return _tf.handle(f, (self,), caught=True)
    return f


def _dispatching(plain, func, operand=None):
    """An operator's version while a mode is entered and on overloading subclasses: ``func`` (the method
    torch's __torch_function__ receives for it, or the operator) goes to __torch_function__."""
    def f(self, *other):
        if _tf.wants((self, *other), None) and (operand is None or operand(other[0])):
            return _tf.handle(func, (self, *other))
        return plain(self, *other)
    return f


def _reciprocal_times(other, self):
    """``2 / t`` as torch computes it: ``t.reciprocal() * 2`` (not a division: the two round differently)."""
    return _dispatch.METHODS["__rdiv__"](self, other)


def _ibinop(op, method):
    """``x += y``: in place; __torch_function__ receives ``method`` (``Tensor.add_``), or the operator
    itself where torch's does (``x **= 2``)."""
    def f(self, other):
        if (_dispatch.TORCH_FUNCTION is True or type(self) is not Tensor) and _tf.wants((self, other), None):
            return _tf.handle(method or f, (self, other))
        try:
            return self._inplace(op, (other,), {})
        except _tf.TensorLikeArgument as e:  # ``other`` dispatches (found before anything was written)
            if _tf.declines(e, (self, other), None):
                raise
        return _tf.handle(method or f, (self, other), caught=True)
    return f


_dispatch.Tensor = Tensor
_tf.tensor_defined(Tensor)
_dispatch._Storage = Storage
_dispatch._INFERENCE_HOOKS.append(_set_storage_class)

"""The weights-only unpickler: allowed globals (torch's names mapped to jtorch's objects), the
rebuild functions they resolve to, user-added safe globals, and torch's refusal messages."""
import collections
import contextlib
import math
import os
import pickle
import sys
import _compat_pickle

import numpy as np

from .. import _dtype as D
from .._device import device as _device_cls, to_device
from .._size import Size
from ._common import _STORAGE_DTYPES, _T, _contiguous, _parameter, _set_attribute_state, _storage_view
from .._memfmt import dense_strides, from_buffer, infer_order, lay


# ====================================================================== safe globals
_user_safe = {}   # "module.name" -> object


def _full_name(obj):
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', ''))}"


def add_safe_globals(safe_globals):
    """Allow these classes/functions (or ``(obj, "module.name")`` pairs) in weights-only loads."""
    for g in safe_globals:
        if isinstance(g, tuple):
            obj, name = g
            _user_safe[name] = obj
        else:
            _user_safe[_full_name(g)] = g


def get_safe_globals():
    return list(_user_safe.values())


def clear_safe_globals():
    _user_safe.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    saved = dict(_user_safe)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _user_safe.clear()
        _user_safe.update(saved)


_BLOCKED_MODULES = ("sys", "os", "posix", "nt")
_UNSAFE_MESSAGE = ("In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
                   "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will likely "
                   "succeed, but it can result in arbitrary code execution. Do it only if you got the file from a "
                   "trusted source.")
_DOCS_MESSAGE = ("\n\nCheck the documentation of torch.load to learn more about types accepted by default with "
                 "weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")


def _weights_only_message(message, unsafe_global):
    if unsafe_global:
        return ("Weights only load failed. This file can still be loaded, to do so you have two options, "
                "\033[1mdo those steps only if you trust the source of the checkpoint\033[0m. "
                f"\n\t(1) {_UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with `weights_only=True` please check "
                "the recommended steps in the following error message.\n\tWeightsUnpickler error: "
                + message + _DOCS_MESSAGE)
    return f"Weights only load failed. {_UNSAFE_MESSAGE}\n\n\n{message}{_DOCS_MESSAGE}"


class _Unsafe(pickle.UnpicklingError):
    pass


# ====================================================================== reading
class _StorageType:
    """What ``torch.FloatStorage`` & co. resolve to while loading: just a dtype."""
    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError("storage classes can't be called while loading")


class _LoadedStorage:
    """A storage of the file, read lazily; ``map_location`` callables receive it."""

    def __init__(self, loader, key, dtype, location, numel):
        self.loader, self.key, self.dtype, self.location, self.numel = loader, key, dtype, location, numel
        self.target = None   # device chosen by map_location
        self.root = None     # the jtorch Tensor owning the loaded array
        self._array = None

    # map_location callables call these, like on torch's storages
    def cpu(self):
        self.target = _device_cls("cpu")
        return self

    def cuda(self, device=None, non_blocking=False):
        self.target = _device_cls("cuda", device if isinstance(device, int) else None) if not isinstance(
            device, (str, _device_cls)) else to_device(device)
        return self

    def to(self, device=None, *args, **kwargs):
        self.target = to_device(device)
        return self

    @property
    def device(self):
        return self.target or to_device(self.location)

    def size(self):
        return self.numel

    def nbytes(self):
        return self.numel * self.dtype.itemsize

    def __len__(self):
        return self.numel

    def array(self, shape=None):
        """The storage's elements as a jax array on the target device (read once), shaped ``shape``."""
        if self._array is None:
            self._array = self.loader.read_storage(self, (self.numel,) if shape is None else shape)
        return self._array

    def retyped(self, dtype):
        """This (byte) storage seen as ``dtype`` elements (torch's _rebuild_tensor_v3)."""
        if dtype is self.dtype:
            return self
        typed = self.loader.storages.get((self.key, dtype))
        if typed is None:
            nbytes = self.numel * self.dtype.itemsize
            if nbytes % dtype.itemsize:
                raise RuntimeError(f"storage {self.key} of {nbytes} bytes can't hold {dtype} elements")
            typed = _LoadedStorage(self.loader, self.key, dtype, self.location, nbytes // dtype.itemsize)
            typed.target = self.target
            self.loader.storages[(self.key, dtype)] = typed
        return typed


_DTYPE_NAMES = {d._name: d for d in D.ALL + D.QUANTIZED}


def _torch_globals():
    """torch names a weights-only load may resolve, mapped to jtorch's objects."""
    g = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "torch.Size": Size,
        "torch.device": _device_cls,
        "torch.Tensor": _TensorRef,
        "torch.nn.parameter.Parameter": _ParameterRef,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch._utils._rebuild_sparse_tensor": _rebuild_sparse_tensor,
        "torch._utils._rebuild_nested_tensor": _rebuild_nested_tensor,
        "torch.nested._internal.nested_tensor._rebuild_njt": _rebuild_njt,
        "torch.nested._internal.nested_tensor.NestedTensor": _NestedRef,
        "torch._dynamo.decorators._DimRange": _Ignored,  # (torch's compile hints on a jagged tensor's values)
        "torch._utils._rebuild_meta_tensor_no_storage": _rebuild_meta_tensor_no_storage,
        "torch._utils._rebuild_qtensor": _rebuild_qtensor,
        "torch.storage.UntypedStorage": _StorageType(D.uint8),
        "torch.UntypedStorage": _StorageType(D.uint8),
        "_codecs.encode": _encode,
        "builtins.bytearray": _bytearray,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.complex": complex,
    }
    for name, dt in _STORAGE_DTYPES.items():
        g["torch." + name] = _StorageType(dt)
    for name, dt in _DTYPE_NAMES.items():
        g["torch." + name] = dt
    g["torch.serialization._get_layout"] = _get_layout
    from ..ao._qtensor import _tensor as _qt
    for name, qs in _qt._QSCHEMES.items():
        g["torch." + name] = qs
    for alias in ("half", "float", "double", "cfloat", "cdouble", "short", "int", "long"):
        g["torch." + alias] = getattr(D, alias)
    return g


_GLOBALS = None


def _allowed():
    global _GLOBALS
    if _GLOBALS is None:
        _GLOBALS = _torch_globals()
    return _GLOBALS


class _ParameterRef:
    """``torch.nn.Parameter`` when it appears as a class in a pickle (NEWOBJ / REDUCE)."""

    def __new__(cls, data=None, requires_grad=True):
        if not isinstance(data, _T()):
            raise pickle.UnpicklingError("torch.nn.Parameter can only wrap a loaded tensor")
        return _parameter(data, requires_grad)


class _TensorRef:
    """``torch.Tensor`` as a name in a pickle: a type marker only; constructing one (which could
    allocate any size) is refused."""

    def __new__(cls, *args, **kwargs):
        raise pickle.UnpicklingError("torch.Tensor can't be constructed while loading weights")


def _bytearray(data=b""):
    # protocol-2 pickles spell bytearray(b) as bytearray(str, 'latin1')-like data; never a size
    if isinstance(data, (bytes, str)):
        return bytearray(data, "latin1") if isinstance(data, str) else bytearray(data)
    if isinstance(data, (list, tuple)) and len(data) <= 1 << 20:
        return bytearray(data)
    raise pickle.UnpicklingError("bytearray may only be rebuilt from its bytes")


def _encode(obj, encoding="utf-8", errors="strict"):
    # protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1'); nothing else is needed
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed on str with a text encoding")
    return obj.encode(encoding, errors)


def _check_int(v, what):
    if type(v) is not int and not isinstance(v, (np.integer,)):
        raise RuntimeError(f"{what} must be an int, got {type(v).__name__}")
    return int(v)


_MAX_BLOWUP = 1 << 28


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride, False, None)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    if not isinstance(storage, _LoadedStorage) or not isinstance(dtype, D.dtype):
        raise RuntimeError("_rebuild_tensor_v3: expected a storage and a dtype")
    return _rebuild_tensor_v2(storage.retyped(dtype), storage_offset, size, stride, requires_grad, backward_hooks,
                              metadata)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    if not isinstance(storage, _LoadedStorage):
        raise RuntimeError(f"_rebuild_tensor_v2: expected a storage, got {type(storage).__name__}")
    offset = _check_int(storage_offset, "storage_offset")
    if not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)) or len(size) != len(stride):
        raise RuntimeError("_rebuild_tensor_v2: size and stride must be sequences of the same length")
    size = tuple(_check_int(s, "size") for s in size)
    stride = tuple(_check_int(s, "stride") for s in stride)
    if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise RuntimeError("_rebuild_tensor_v2: negative size, stride or storage offset")
    n = math.prod(size)
    need = 0 if n == 0 else offset + 1 + sum((s - 1) * st for s, st in zip(size, stride))
    if need > storage.numel or offset > storage.numel:
        isz = storage.dtype.itemsize
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {isz} requiring a storage size of {need * isz} are out of bounds for "
                           f"storage of size {storage.numel * isz}")
    if n > max(storage.numel, _MAX_BLOWUP):
        raise RuntimeError(f"tensor of {n} elements over a storage of {storage.numel} is too large to load")
    t = _tensor_on(storage, offset, size, stride)
    if requires_grad:
        if t.dtype._cat < D._FLOAT:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad_(True)
    return t


def _tensor_on(storage, offset, size, stride):
    T = _T()
    if storage.root is None:
        whole = offset == 0 and math.prod(size) == storage.numel and (
            storage.numel <= 1 or tuple(st for s, st in zip(size, stride) if s != 1)
            == tuple(c for s, c in zip(size, _contiguous(size)) if s != 1))
        # shaped on the host, so the device array is the file's bytes with no extra copy
        storage.root = T._wrap(storage.array(size if whole else None))
        if whole:
            return storage.root
        order = infer_order(size, stride) if offset == 0 and math.prod(size) == storage.numel else None
        if order is not None and dense_strides(size, order) == stride:
            # the whole storage, dense in another dim order (channels_last): a laid tensor, as saved
            storage.root = lay(T._wrap(from_buffer(storage.array(None), size, order)), order)
            return storage.root
    root = storage.root
    if tuple(root.shape) == size and offset == 0 and stride == root.stride():
        return root._alias()  # same elements as the root: share it as torch's tensors share a storage
    return _storage_view(root, offset=offset, size=size, stride=stride, order=root._st.layout)


def _rebuild_qtensor(storage, storage_offset, size, stride, quantizer_params, requires_grad, backward_hooks):
    """torch's quantized tensors: the integers over a QInt8Storage & co, then the quantizer's parameters."""
    from ..ao._qtensor import _tensor as _qt
    if not isinstance(storage, _LoadedStorage) or storage.dtype not in D.QUANTIZED:
        raise RuntimeError("_rebuild_qtensor: expected a quantized storage")
    if not isinstance(quantizer_params, tuple) or not quantizer_params or \
            not isinstance(quantizer_params[0], _qt.qscheme):
        raise RuntimeError("_rebuild_qtensor: bad quantizer parameters")
    ir = _rebuild_tensor_v2(storage, storage_offset, size, stride)
    qs = quantizer_params[0]
    if qs is _qt.per_tensor_affine and len(quantizer_params) == 3:
        return _qt.QTensor._make(ir, storage.dtype, qs, float(quantizer_params[1]), int(quantizer_params[2]))
    if qs in (_qt.per_channel_affine, _qt.per_channel_affine_float_qparams) and len(quantizer_params) == 4:
        scales, zps, axis = quantizer_params[1:]
        if not isinstance(scales, _T()) or not isinstance(zps, _T()):
            raise RuntimeError("_rebuild_qtensor: per-channel scales and zero points must be tensors")
        return _qt.QTensor._make(ir, storage.dtype, qs, scales.to(D.float64), zps, _check_int(axis, "axis"))
    raise RuntimeError(f"_rebuild_qtensor: unsupported quantization scheme {qs}")


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    if not isinstance(data, _T()):
        raise RuntimeError("_rebuild_parameter: expected a tensor")
    return _parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _set_attribute_state(_rebuild_parameter(data, requires_grad, backward_hooks), state)


def _get_layout(name):
    from .. import _legacy
    lay = getattr(_legacy, name[len("torch."):], None) if name.startswith("torch.") else None
    if not isinstance(lay, _legacy.layout):
        raise pickle.UnpicklingError(f"unknown layout {name!r}")
    return lay


def _rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad=False):
    """torch's saved meta tensor: dtype, size and stride, no data (strides are contiguous here)."""
    from .. import _meta
    if not isinstance(dtype, D.dtype) or not all(isinstance(s, int) and s >= 0 for s in size):
        raise pickle.UnpicklingError("_rebuild_meta_tensor_no_storage: bad arguments")
    return _meta.empty(tuple(size), dtype, bool(requires_grad))


def _rebuild_sparse_tensor(layout, data):
    """torch's sparse tensors: (indices, values, size, is_coalesced) for COO, (compressed indices, plain
    indices, values, size) for the compressed layouts."""
    from .. import sparse
    if not isinstance(data, tuple) or not all(isinstance(x, _T()) for x in data[:-2]):
        raise pickle.UnpicklingError("_rebuild_sparse_tensor: bad arguments")
    if layout.name == "sparse_coo":
        indices, values, size = data[:3]
        return sparse.sparse_coo_tensor(indices, values, size, is_coalesced=bool(data[3]) if len(data) > 3 else None)
    if layout.name in ("sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc"):
        return sparse.sparse_compressed_tensor(*data[:4], layout=layout)
    raise pickle.UnpicklingError(f"_rebuild_sparse_tensor: unsupported layout {layout}")


def _rebuild_njt(kwargs):
    """torch's jagged nested tensor: its constructor's arguments (the cached sequence lengths are not needed)."""
    from ..nested._tensor import NestedTensor
    T = _T()
    if not isinstance(kwargs, dict) or not isinstance(kwargs.get("values"), T) or \
            not isinstance(kwargs.get("offsets"), T):
        raise pickle.UnpicklingError("_rebuild_njt: bad arguments")
    lengths, ragged_idx = kwargs.get("lengths"), kwargs.get("_ragged_idx", 1)
    if lengths is not None and not isinstance(lengths, T) or not isinstance(ragged_idx, int):
        raise pickle.UnpicklingError("_rebuild_njt: bad arguments")
    nt = NestedTensor._make(kwargs["values"], kwargs["offsets"], lengths, ragged_idx)
    return nt.requires_grad_() if kwargs.get("requires_grad") else nt


def _rebuild_nested_tensor(buffer, sizes, strides, offsets):
    """torch's strided nested tensor: one flat buffer, each component's size, strides and offset in it."""
    from .. import nested, strided
    T = _T()
    if not all(isinstance(x, T) for x in (buffer, sizes, strides, offsets)) or buffer.dim() != 1:
        raise pickle.UnpicklingError("_rebuild_nested_tensor: bad arguments")
    comps = [buffer.as_strided(tuple(sz), tuple(st), int(o))
             for sz, st, o in zip(sizes.tolist(), strides.tolist(), offsets.tolist())]
    return nested.nested_tensor(comps, dtype=buffer.dtype, layout=strided)


class _NestedRef:
    """torch's NestedTensor class, named in a jagged tensor's pickle (the rebuild function makes the tensor)."""


class _Ignored:
    """An object of torch's that carries no data jtorch uses: built and dropped."""

    def __setstate__(self, state):
        pass


def _rebuild_from_type_v2(func, new_type, args, state):
    if not callable(func) or not isinstance(args, tuple):
        raise RuntimeError("_rebuild_from_type_v2: bad arguments")
    t = func(*args)
    return _set_attribute_state(t, state) if isinstance(t, _T()) else t


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, loader, weights_only, **kwargs):
        super().__init__(file, **kwargs)
        self.loader = loader
        self.weights_only = weights_only

    def find_class(self, module, name):
        if (module, name) in _compat_pickle.NAME_MAPPING:  # python 2 names (protocol 2 pickles)
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        if self.weights_only:
            if module in _BLOCKED_MODULES or module.split(".")[0] in _BLOCKED_MODULES:
                raise _Unsafe(f"Trying to load unsupported GLOBAL {full} whose module {module} is blocked.")
            obj = _allowed().get(full)
            if obj is None:
                obj = _user_safe.get(full)
            if obj is None:
                raise _Unsafe(f"Unsupported global: GLOBAL {full} was not an allowed global by default. "
                              f"Please use `torch.serialization.add_safe_globals([{name}])` or the "
                              f"`torch.serialization.safe_globals([{name}])` context manager to allowlist this "
                              "global if you trust this class/function.")
            return obj
        obj = _allowed().get(full)
        if obj is not None:
            return obj
        if module == "torch" or module.startswith("torch."):
            return _jtorch_global(module, name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return self.loader.persistent_load(pid)


def _jtorch_global(module, name):
    """``torch.a.b.C`` in a full (weights_only=False) pickle: jtorch's same-named object."""
    import importlib
    jmod = "jtorch" + module[len("torch"):]
    try:
        mod = importlib.import_module(jmod)
        obj = mod
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError):
        raise pickle.UnpicklingError(f"jtorch has no equivalent of torch global {module}.{name}") from None

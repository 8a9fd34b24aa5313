"""Quantized tensors: a Tensor subclass holding an integer tensor (its ``int_repr``) and quantization
parameters (per tensor: scale and zero point; per channel: scale and zero-point tensors and an axis).

Dispatch never tests for them, as for sparse and meta tensors: their storage and strides raise
``QuantizedArgument`` (a ``SparseArgument``) when an op reads them, and ``_dispatch.apply`` hands the call to
``_route.route``, which runs the ops torch supports on quantized tensors on the integer representation
and raises torch's NotImplementedError for the others. A view of a quantized tensor is a quantized tensor over
a view of its integer tensor, so in-place writes through views are shared as torch's are.
"""
import math

import numpy as np

from ... import _dtype as D
from ..._dispatch import SparseArgument
from ...sparse._base import _SparseStorage
from ...tensor import Tensor


class qscheme:
    """torch.qscheme: how a quantized tensor maps integers to real values."""
    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return "torch." + self._name

    def __reduce__(self):
        return (_qscheme_by_name, (self._name,))


per_tensor_affine = qscheme("per_tensor_affine")
per_channel_affine = qscheme("per_channel_affine")
per_tensor_symmetric = qscheme("per_tensor_symmetric")
per_channel_symmetric = qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = qscheme("per_channel_affine_float_qparams")
_QSCHEMES = {q._name: q for q in (per_tensor_affine, per_channel_affine, per_tensor_symmetric,
                                  per_channel_symmetric, per_channel_affine_float_qparams)}


def _qscheme_by_name(name):
    return _QSCHEMES[name]


def _save_qscheme(pickler, obj):  # jtorch.save writes a qscheme as torch's global (torch.per_tensor_affine)
    from ...serialization._writer import _ref
    pickler.save(_ref("torch", obj._name))


def _register_pickling():
    from ...serialization._writer import _Pickler
    _Pickler.dispatch[qscheme] = _save_qscheme


_register_pickling()


def not_supported(name, backend="QuantizedCPU"):
    return NotImplementedError(
        f"Could not run 'aten::{name}' with arguments from the '{backend}' backend. This could be because the "
        "operator doesn't exist for this backend, or was omitted during the selective/custom build process (if "
        "using custom build).")


class QuantizedArgument(SparseArgument):
    """Raised when dense code reads a quantized tensor's storage; ``apply`` routes the op to ``_route``."""

    def __init__(self, what="this op"):
        NotImplementedError.__init__(self, f"{what} is not supported on quantized tensors")

    def route(self, op, dyn, statics):
        from ._route import route
        return route(op, dyn, statics)


class _QStorage(_SparseStorage):
    """A storage with no array (as a sparse tensor's); reading it routes the op to the quantized kernels."""
    __slots__ = ()

    @property
    def array(self):
        raise QuantizedArgument()

    @array.setter
    def array(self, a):
        raise RuntimeError("a quantized tensor has no float storage to write")


class QTensor(Tensor):
    """``__dict__`` holds ``_ir`` (the integer tensor, one element per value: quint4x2 is packed only by
    ``int_repr``), ``_qdtype``, ``_qscheme`` and the parameters: ``_scale``/``_zp`` (Python float/int) per
    tensor, ``_scales`` (float64)/``_zps`` (int64, float for float_qparams)/``_axis`` per channel."""

    is_quantized = True

    @classmethod
    def _make(cls, ir, qdtype, qscheme_, scale=None, zero_point=None, axis=None):
        t = cls._wrap_untraced(None)  # the Tensor fields (no autograd of its own); the storage replaced
        t._st = _QStorage()
        shape = tuple(ir.shape)
        t._sig = (ir._shape_dtype()[1], len(shape) == 0)
        t._meta = (shape, ir._shape_dtype()[1])
        d = t.__dict__
        d["_ir"], d["_qdtype"], d["_qscheme"] = ir, qdtype, qscheme_
        if axis is None:
            d["_scale"], d["_zp"] = float(scale), int(zero_point)
        else:
            d["_scales"], d["_zps"], d["_axis"] = scale, zero_point, int(axis)
        return t

    def _like(self, ir):
        """A quantized tensor over ``ir`` with this one's dtype and parameters."""
        if "_axis" in self.__dict__:
            return QTensor._make(ir, self._qdtype, self._qscheme, self._scales, self._zps, self._axis)
        return QTensor._make(ir, self._qdtype, self._qscheme, self._scale, self._zp)

    @property
    def _per_channel(self):
        return "_axis" in self.__dict__

    # ---- what dense code must not touch
    @property
    def _strides(self):
        raise QuantizedArgument()  # a view op: routed by _dispatch.apply

    @_strides.setter
    def _strides(self, v):
        pass

    @property
    def _value(self):
        raise QuantizedArgument()

    def _lazy_value(self):
        raise QuantizedArgument()

    def _set_array(self, arr):
        raise RuntimeError("a quantized tensor has no float storage to write")

    # ---- metadata
    @property
    def dtype(self):
        return self.__dict__["_qdtype"]

    @property
    def device(self):
        return self._ir.device

    def stride(self, dim=None):
        return self._ir.stride(dim)

    def is_contiguous(self, memory_format=None):
        if memory_format is None:
            return self._ir.is_contiguous()
        return self._ir.is_contiguous(memory_format=memory_format)

    def storage_offset(self):
        return self._ir.storage_offset()

    def data_ptr(self):
        return self._ir.data_ptr()

    def numel(self):
        return math.prod(self._meta[0])

    nelement = numel

    def element_size(self):
        return self.dtype.itemsize

    # ---- quantization parameters
    def int_repr(self):
        from . import _kernels as K
        ir = self._ir
        if self._qdtype in (D.quint4x2, D.quint2x4):
            return K._pack_nibbles(ir, bits=self._qdtype.bits)
        return ir.clone()

    def dequantize(self):
        from . import _kernels as K
        if self._per_channel:
            return K._dq_per_channel(self._ir, self._scales, self._zps, axis=self._axis,
                                     float_qparams=self._qscheme is per_channel_affine_float_qparams)
        return K._dq_per_tensor(self._ir, self._scale, self._zp)

    def qscheme(self):
        return self._qscheme

    def q_scale(self):
        if self._per_channel:
            raise RuntimeError("Expected quantizer->qscheme() == kPerTensorAffine to be true, but got false.  "
                               "(Could this error message be improved?  If so, please report an enhancement "
                               "request to PyTorch.)")
        return self._scale

    def q_zero_point(self):
        self.q_scale()
        return self._zp

    def _check_channel(self):
        if not self._per_channel:
            raise RuntimeError("Expected quantizer->qscheme() == kPerChannelAffine || quantizer->qscheme() == "
                               "kPerChannelAffineFloatQParams to be true, but got false.  (Could this error message "
                               "be improved?  If so, please report an enhancement request to PyTorch.)")

    def q_per_channel_scales(self):
        self._check_channel()
        return self._scales.clone()

    def q_per_channel_zero_points(self):
        self._check_channel()
        return self._zps.clone()

    def q_per_channel_axis(self):
        self._check_channel()
        return self._axis

    # ---- autograd: torch's quantized tensors never require grad
    @property
    def requires_grad(self):
        return False

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self):
        return None

    @property
    def is_leaf(self):
        return True

    def detach(self):
        return self._like(self._ir.detach())

    def detach_(self):
        return self

    @property
    def data(self):
        return self.detach()

    def clone(self, memory_format=None):
        return self._like(self._ir.clone())

    def view(self, *shape, dtype=None):
        if dtype is not None:
            raise not_supported("view.dtype")
        if self._per_channel:
            raise RuntimeError("Setting strides is possible only on uniformly quantized tensor")
        return self._like(self._ir.view(*shape))

    def contiguous(self, memory_format=None):
        return self if self._ir.is_contiguous() else self._like(self._ir.contiguous())

    # ---- conversions
    def numpy(self, *, force=False):
        raise TypeError(f"Got unsupported ScalarType {_scalar_type_name(self._qdtype)}")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"Got unsupported ScalarType {_scalar_type_name(self._qdtype)}")

    def tolist(self):
        raise RuntimeError("load_scalar: invalid type")

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self.dequantize().item()

    def jax(self):
        raise TypeError("a quantized tensor is not one jax array: use int_repr().jax() or dequantize().jax()")

    def to(self, *args, **kwargs):
        from ..._device import device as _device_cls
        dtype = kwargs.get("dtype")
        dev = kwargs.get("device")
        for a in args:
            if isinstance(a, D.dtype):
                dtype = a
            elif isinstance(a, (str, _device_cls)):
                dev = a
            elif isinstance(a, Tensor):
                dtype, dev = a.dtype, a.device
        if dtype is not None and dtype is not self._qdtype:
            raise RuntimeError("Creation of quantized tensor requires quantized dtype like torch.quint8")
        if dev is None:
            return self.clone() if kwargs.get("copy") else self
        ir = self._ir.to(dev)
        if ir is self._ir and not kwargs.get("copy"):
            return self
        out = self._like(ir)
        if self._per_channel:
            out.__dict__["_scales"], out.__dict__["_zps"] = self._scales.to(dev), self._zps.to(dev)
        return out

    def cpu(self, memory_format=None):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        return self.to("cuda" if device is None else device)

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return "torch." + _scalar_type_name(self._qdtype).replace("QInt", "QInt").replace("QU", "QU") + "Tensor"
        return self.to(dtype)

    def __repr__(self, *, tensor_contents=None):
        from ._repr import qtensor_repr
        return qtensor_repr(self)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = self.clone()
        if self._per_channel:
            out.__dict__["_scales"], out.__dict__["_zps"] = self._scales.clone(), self._zps.clone()
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, proto):
        # plain pickle/copy: by value (integer values and parameters)
        d = self.__dict__
        params = (d["_scales"], d["_zps"], d["_axis"]) if self._per_channel else (d["_scale"], d["_zp"], None)
        return _rebuild, (self._ir.detach().clone(), self._qdtype, self._qscheme, params)

    # ---- in place
    def _inplace(self, f, args, kwargs):
        """``self.op_(...)``: the quantized result of ``op`` written into this tensor's integers."""
        out = f(self, *args, **kwargs)
        if not isinstance(out, QTensor) or out._qdtype is not self._qdtype:
            raise not_supported(getattr(f, "name", getattr(f, "__name__", "op")).lstrip("_") + "_")
        if out._per_channel or self._per_channel or (out._scale, out._zp) != (self._scale, self._zp):
            out = out.dequantize()
        return self.copy_(out)

    def copy_(self, src, non_blocking=False):
        """Quantizes a float ``src`` with this tensor's parameters (a quantized one is copied as is)."""
        from ._functions import _quantize_like
        if isinstance(src, QTensor):
            if src._qdtype is not self._qdtype:
                raise RuntimeError("Quantized Copy only works with same qtype and same Quantizer")
            ir = src._ir
        else:
            ir = _quantize_like(self, src)._ir
        self._ir.copy_(ir.expand(self.shape) if tuple(ir.shape) != tuple(self.shape) else ir)
        return self


def _rebuild(ir, qdtype, qscheme_, params):
    scale, zp, axis = params
    return QTensor._make(ir, qdtype, qscheme_, scale, zp, axis)


def _scalar_type_name(qdtype):
    return {"qint8": "QInt8", "quint8": "QUInt8", "qint32": "QInt32", "quint4x2": "QUInt4x2",
            "quint2x4": "QUInt2x4"}[qdtype._name]


def np_of(t):
    return np.asarray(t.detach()._value)

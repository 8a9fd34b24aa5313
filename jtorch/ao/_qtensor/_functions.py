"""torch's functions that make and read quantized tensors: quantize_per_tensor (also with tensor parameters
and lists of tensors), quantize_per_channel, quantize_per_tensor_dynamic, dequantize, the parameter choice
torch's dynamic quantization and fused fake quantization use (``choose_qparams``) and
fused_moving_avg_obs_fake_quant."""
import numpy as np

from ... import _dtype as D
from ...tensor import Tensor
from . import _kernels as K
from ._tensor import (QTensor, not_supported, per_tensor_affine, per_channel_affine,
                      per_channel_affine_float_qparams)

def _check_qdtype(dtype):
    if dtype not in D.QUANTIZED:
        raise RuntimeError(f"ScalarType {D.scalar_type_name(dtype)} is not supported in new_qtensor.")


def _check_float(x):
    if isinstance(x, QTensor) or x.dtype is not D.float32:
        got = "quantized" if isinstance(x, QTensor) else D.scalar_type_name(x.dtype)
        raise RuntimeError(f"Quantize only works on Float Tensor, got {got}")


def _check_zero_point(zp, dtype, fn="quantize_tensor_per_tensor_affine"):
    lo, hi = dtype.qrange
    if zp > hi:
        raise RuntimeError(f"{fn} zero_point {zp} is above upper bound.")
    if zp < lo:
        raise RuntimeError(f"{fn} zero_point {zp} is below lower bound.")


def _per_tensor(x, scale, zero_point, dtype, mode=None):
    _check_float(x)
    scale, zero_point = float(scale), int(zero_point)
    _check_zero_point(zero_point, dtype)
    lo, hi = dtype.qrange
    mode = mode or ("add" if dtype is D.qint32 else "fma")
    ir = K._q_per_tensor(x.detach(), scale, zero_point, qmin=lo, qmax=hi, np_dtype=dtype.np.name, mode=mode)
    return QTensor._make(ir, dtype, per_tensor_affine, scale, zero_point)


def quantize_per_tensor(input, scale, zero_point, dtype):
    """``torch.quantize_per_tensor``: a float tensor (or a list of them, with 1-D tensors of scales and zero
    points) to a quantized tensor with one scale and zero point."""
    _check_qdtype(dtype)
    if isinstance(input, (list, tuple)):
        scales = [float(s) for s in np.asarray(scale.detach()._value).reshape(-1)]
        zps = [int(z) for z in np.asarray(zero_point.detach()._value).reshape(-1)]
        if len(scales) != len(input) or len(zps) != len(input):
            raise RuntimeError("quantize_per_tensor: the number of scales and zero points must match the number "
                               "of tensors")
        return [_per_tensor(t, s, z, dtype) for t, s, z in zip(input, scales, zps)]
    if isinstance(scale, Tensor):
        scale = scale.item()
    if isinstance(zero_point, Tensor):
        zero_point = zero_point.item()
    return _per_tensor(input, scale, zero_point, dtype)


def quantize_per_channel(input, scales, zero_points, axis, dtype):
    """``torch.quantize_per_channel``: one scale and zero point per slice along ``axis``."""
    _check_qdtype(dtype)
    _check_float(input)
    nd = input.ndim
    if not 0 <= axis < nd:
        raise RuntimeError(f"Channel axis out of range in per channel affine quantization. Got: {axis}"
                           f"Expected: [0, {nd})")
    c = input.shape[axis]
    if scales.numel() != c:
        raise RuntimeError(f"length of scales must equal to channel, expected {c} got, {scales.numel()}")
    if zero_points.numel() != c:
        raise RuntimeError(f"length of zero_points must equal to channel expected {c} got, {zero_points.numel()}")
    scales = scales.detach().reshape(-1).to(D.float64)
    lo, hi = dtype.qrange
    if zero_points.dtype.is_floating_point:
        # per_channel_affine_float_qparams (embedding weights): round(x / scale + zero point), float zero points
        zps = zero_points.detach().reshape(-1).to(D.float32)
        scales = scales.to(D.float32)  # (torch keeps float32 scales here)
        ir = K._q_per_channel(input.detach(), scales, zps, axis=int(axis), qmin=lo, qmax=hi, np_dtype=dtype.np.name)
        return QTensor._make(ir, dtype, per_channel_affine_float_qparams, scales, zps, axis)
    zps = zero_points.detach().reshape(-1).to(D.int64)
    zv = np.asarray(zps._value)
    if zv.size and zv.max() > hi:
        raise RuntimeError(f"quantize_tensor_per_channel_affine zero_point {int(zv.max())} is above upper bound.")
    if zv.size and zv.min() < lo:
        raise RuntimeError(f"quantize_tensor_per_channel_affine zero_point {int(zv.min())} is below lower bound.")
    ir = K._q_per_channel(input.detach(), scales, zps, axis=int(axis), qmin=lo, qmax=hi, np_dtype=dtype.np.name)
    return QTensor._make(ir, dtype, per_channel_affine, scales, zps, axis)


_SMALL_SCALE = float(np.float32(6.1e-5))  # torch raises smaller scales to this (the range widened with them)


def choose_qparams(min_val, max_val, qmin, qmax, preserve_sparsity=False):
    """(scale, zero_point) mapping [min_val, max_val] onto [qmin, qmax] as torch's ChooseQuantizationParams
    (dynamic quantization, fused observer + fake quantization): with ``preserve_sparsity`` a range around 0 is
    made symmetric (zero point the middle of the range); the range is widened to include 0; a double scale
    (0.1 where float32 makes it 0 or its inverse infinite, at least 6.1e-5); the zero point from whichever end
    loses less, rounded half to even and clamped. Host arithmetic in float32/float64 as torch's C++."""
    f = np.float32
    mn, mx = f(min_val), f(max_val)
    symmetric = preserve_sparsity and mn < 0 < mx
    if symmetric:
        sym_min, sym_max = -((qmax - qmin) // 2 + 1), (qmax - qmin) // 2
        m = max(abs(float(mn / f(sym_min))), abs(float(mx / f(sym_max))))
        mn, mx = f(m * sym_min), f(m * sym_max)
    mn, mx = min(mn, f(0)), max(mx, f(0))
    scale = (float(mx) - float(mn)) / (qmax - qmin)
    with np.errstate(over="ignore", divide="ignore"):
        if f(scale) == 0 or np.isinf(f(1) / f(scale)):
            scale = 0.1
    if scale < _SMALL_SCALE:
        grow = f(f(_SMALL_SCALE) / f(scale))
        scale = _SMALL_SCALE
        if mn == 0:
            mx = f(_SMALL_SCALE * (qmax - qmin))
        elif mx == 0:
            mn = f(-_SMALL_SCALE * (qmax - qmin))
        else:
            mn, mx = f(mn * grow), f(mx * grow)
    from_min, from_max = qmin - float(mn) / scale, qmax - float(mx) / scale
    err_min, err_max = abs(qmin) - abs(float(mn) / scale), abs(qmax) - abs(float(mx) / scale)
    initial = from_min if err_min < err_max else from_max
    if symmetric:
        initial = (qmin + qmax) / 2
    zp = qmin if initial < qmin else qmax if initial > qmax else int(np.rint(initial))
    return scale, int(zp)


def _qrange(dtype, reduce_range):
    lo, hi = dtype.qrange
    if reduce_range:
        lo, hi = lo // 2, hi // 2
    return lo, hi


def _min_max(x):
    if x.numel() == 0:
        return 0.0, 0.0
    return float(x.min().item()), float(x.max().item())


def quantize_per_tensor_dynamic(input, dtype, reduce_range):
    """``torch.quantize_per_tensor_dynamic``: quantize with a scale and zero point chosen from the tensor's own
    range (quint8 or qint8)."""
    if dtype not in (D.quint8, D.qint8):
        raise RuntimeError(f"Expected dtype to be one of torch.quint8 or torch.qint8 for dynamic quantization, "
                           f"but got {dtype}")
    _check_float(input)
    lo, hi = _qrange(dtype, reduce_range)
    scale, zp = choose_qparams(*_min_max(input), lo, hi)
    return _per_tensor(input, scale, zp, dtype)


def _choose_qparams_per_tensor(input, reduce_range=False):
    lo, hi = _qrange(D.quint8, reduce_range)
    return choose_qparams(*_min_max(input), lo, hi)


def _empty_affine_quantized(size, *, scale=1.0, zero_point=0, dtype=None, device=None, layout=None,
                            pin_memory=False, memory_format=None):
    """A quantized tensor of ``size`` (its integers all ``zero_point``: torch leaves them uninitialized)."""
    from ... import zeros
    dtype = D.quint8 if dtype is None else dtype
    _check_qdtype(dtype)
    if isinstance(size, int):
        size = (size,)
    ir = zeros(tuple(size), dtype=D.from_numpy_dtype(dtype.np), device=device) + int(zero_point)
    return QTensor._make(ir.to(D.from_numpy_dtype(dtype.np)), dtype, per_tensor_affine, float(scale), int(zero_point))


def dequantize(input):
    """``torch.dequantize``: a quantized tensor (or a list of them) back to float32; a float tensor as is."""
    if isinstance(input, (list, tuple)):
        return tuple(dequantize(t) for t in input)
    if isinstance(input, QTensor):
        return input.dequantize()
    return input


def requantize(x, scale, zero_point, dtype):
    """A float result quantized as torch's quantized kernels do (add, mul, cat...): round(x / scale) + zp."""
    return _per_tensor(x, scale, zero_point, dtype, mode="round")


def _quantize_like(q, x):
    """``x`` (float) quantized with ``q``'s dtype and parameters."""
    if isinstance(x, (int, float)):
        x = Tensor._wrap(np.full(q.shape, x, np.float32))
    x = x.to(D.float32)
    if q._per_channel:
        if q._qscheme is per_channel_affine_float_qparams:
            raise NotImplementedError("quantizing with per_channel_affine_float_qparams is not supported by jtorch")
        lo, hi = q._qdtype.qrange
        ir = K._q_per_channel(x.detach(), q._scales, q._zps, axis=q._axis, qmin=lo, qmax=hi,
                              np_dtype=q._qdtype.np.name)
        return q._like(ir)
    return _per_tensor(x, q._scale, q._zp, q._qdtype)


# ---- methods of plain (float) tensors: torch's errors for the quantized-only ones
def _dense_dequantize(self):
    return self


def _cpu_only(name):
    def f(self, *args, **kwargs):
        raise not_supported(name, "CUDA" if self.device.type == "cuda" else "CPU")
    f.__name__ = name
    return f


for _name in ("int_repr", "q_scale", "q_zero_point", "q_per_channel_scales", "q_per_channel_zero_points",
              "q_per_channel_axis", "qscheme"):
    setattr(Tensor, _name, _cpu_only(_name))
Tensor.dequantize = _dense_dequantize


# ---- torch-level forms of the quantized tensor methods and ops
def _method(name):
    def f(input, *args):
        return getattr(input, name)(*args)
    f.__name__ = name
    f.__doc__ = f"``torch.{name}(t)``: ``t.{name}()``."
    return f


int_repr, q_scale, q_zero_point, q_per_channel_scales, q_per_channel_zero_points, q_per_channel_axis = (
    _method(n) for n in ("int_repr", "q_scale", "q_zero_point", "q_per_channel_scales", "q_per_channel_zero_points",
                         "q_per_channel_axis"))


def _quantized_max_pool(n):
    def pool(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        from ...nn import functional as F
        if not isinstance(input, QTensor):
            raise not_supported(f"quantized_max_pool{n}d", "CPU")
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
        return fn(input, kernel_size, stride if stride else None, padding, dilation, ceil_mode=ceil_mode)
    pool.__name__ = f"quantized_max_pool{n}d"
    pool.__doc__ = f"Max pooling ({n}d) of a quantized tensor: on its integers, parameters kept."
    return pool


quantized_max_pool1d, quantized_max_pool2d, quantized_max_pool3d = (_quantized_max_pool(n) for n in (1, 2, 3))


def empty_quantized(size, qtensor, *, dtype=None, layout=None, device=None, pin_memory=None, memory_format=None):
    """A quantized tensor of ``size`` with ``qtensor``'s dtype and per-tensor parameters (its integers the
    zero point)."""
    if qtensor._per_channel:
        raise NotImplementedError("empty_quantized with a per-channel quantized tensor is not supported by jtorch")
    return _empty_affine_quantized(size, scale=qtensor.q_scale(), zero_point=qtensor.q_zero_point(),
                                   dtype=qtensor.dtype if dtype is None else dtype, device=device)


def quantized_batch_norm(input, weight, bias, mean, var, eps, output_scale, output_zero_point):
    """Batch norm of a quantized (N, C, ...) tensor in inference form, quantized to the output parameters."""
    from ...nn import functional as F
    out = F.batch_norm(input.dequantize(), mean, var, weight, bias, False, 0.0, eps)
    return quantize_per_tensor(out, float(output_scale), int(output_zero_point), input.dtype)


def fused_moving_avg_obs_fake_quant(input, observer_on, fake_quant_on, running_min, running_max, scale, zero_point,
                                    averaging_const, quant_min, quant_max, ch_axis, per_row_fake_quant=False,
                                    symmetric_quant=False):
    """``torch.fused_moving_avg_obs_fake_quant`` (what FusedMovingAvgObsFakeQuantize runs): with the observer on,
    ``running_min``/``running_max`` move towards the input's minimum and maximum (per row of the flattened
    input with ``per_row_fake_quant``; set outright while still infinite or empty) and ``scale``/``zero_point``
    are chosen from them by ``choose_qparams`` (``symmetric_quant``: preserve sparsity); with fake quantization
    on, the input fake-quantized with them (straight-through gradient), else a copy. The buffers are written
    in place; the statistics run on the host in float32, as torch's CPU kernel."""
    from ... import fake_quantize_per_tensor_affine, fake_quantize_per_channel_affine
    if int(observer_on.item()):
        x = input.detach().to(D.float32)
        if per_row_fake_quant:
            if ch_axis != 0:
                raise RuntimeError("Per-channel FakeQuant in fused_moving_avg_obs_fake_quant is only supported on "
                                   "axis == 0")
            lo, hi = x.reshape(x.shape[0], -1).aminmax(dim=1)
        else:
            lo, hi = x.aminmax()
        f = np.float32
        c = f(averaging_const)
        for buf, cur in ((running_min, lo), (running_max, hi)):
            cur = np.asarray(cur._value, f).reshape(-1)
            old = np.asarray(buf.detach()._value, f).reshape(-1)
            if old.size != cur.size:  # an empty per-channel buffer: sized on the first batch
                old = np.full(cur.shape, np.inf, f)
                buf.resize_(cur.shape)
            new = np.where(np.isinf(old), cur, old + c * (cur - old)).astype(f)
            buf.copy_(Tensor._wrap(new.reshape(tuple(buf.shape))))
    if not int(fake_quant_on.item()):
        return input.clone()
    mins = np.asarray(running_min.detach()._value, np.float32).reshape(-1)
    maxs = np.asarray(running_max.detach()._value, np.float32).reshape(-1)
    params = [choose_qparams(a, b, quant_min, quant_max, symmetric_quant) for a, b in zip(mins, maxs)]
    if scale.numel() != len(params):
        scale.resize_((len(params),))
        zero_point.resize_((len(params),))
    scale.copy_(Tensor._wrap(np.array([p[0] for p in params], np.float32)))
    zero_point.copy_(Tensor._wrap(np.array([p[1] for p in params], np.int64)).to(zero_point.dtype))
    if per_row_fake_quant:
        return fake_quantize_per_channel_affine(input, scale, zero_point.to(D.int32), ch_axis, quant_min, quant_max)
    return fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max)

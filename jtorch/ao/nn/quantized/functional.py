"""torch.ao.nn.quantized.functional: functional forms of the quantized ops (quantized tensors in and out)."""
import numpy as np

import jtorch as torch
from jtorch.ao._qtensor import QTensor
from jtorch.ao._qtensor._kernels import _q_relu
from . import _kernels as K

__all__ = ["linear", "conv1d", "conv2d", "conv3d", "max_pool1d", "max_pool2d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool2d", "adaptive_avg_pool3d", "hardtanh", "clamp", "threshold", "relu", "leaky_relu",
           "hardsigmoid"]


def _weight_params(w):
    """(zero point(s), float32 scale(s)) of a quantized weight as numpy values, per tensor (0-dim) or per
    output channel (1-D)."""
    if w.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        return np.int64(w.q_zero_point()), np.float32(w.q_scale())
    return (np.asarray(w.q_per_channel_zero_points().numpy(), np.int64),
            np.asarray(w.q_per_channel_scales().numpy()).astype(np.float32))


def _mult(x_scale, w_scales, out_c):
    """float32 x_scale * w_scale per output channel, as torch's engine multiplies them."""
    return torch.tensor(np.broadcast_to(np.float32(x_scale) * w_scales, (out_c,)).astype(np.float32))


def _inv(scale):
    """float32 1 / out_scale: requantization multiplies by it."""
    return float(np.float32(1) / np.float32(scale))


def _zp(z):
    return torch.tensor(z) if np.ndim(z) else int(z)


def _check_act(x, name):
    if not isinstance(x, QTensor):
        raise NotImplementedError(f"Could not run 'quantized::{name}' with arguments from the 'CPU' backend.")
    if x.dtype is not torch.quint8:
        raise RuntimeError(f"quantized::{name} (fbgemm): expected the input to be quint8, got {x.dtype}")


def qlinear(x, w, bias, scale, zero_point, relu=False, name="linear"):
    """y = x @ w.T + bias with quantized x (quint8) and w (qint8), quantized to (scale, zero_point) quint8."""
    _check_act(x, name)
    if x.shape[-1] != w.shape[1]:
        raise RuntimeError(f"The number of rows in the packed weight ({w.shape[1]}) doesn't match the number of "
                           f"columns in the input ({x.shape[-1]})")
    wzp, wsc = _weight_params(w)
    ir = K._qlinear(x._ir, w._ir, bias, x.q_zero_point(), _zp(wzp), _mult(x.q_scale(), wsc, w.shape[0]),
                    _inv(scale), int(zero_point), relu=relu)
    return QTensor._make(ir, torch.quint8, torch.per_tensor_affine, float(scale), int(zero_point))


def linear(input, weight, bias=None, scale=None, zero_point=None):
    """Quantized linear: the weight is a float tensor quantized here to qint8 (per tensor, from its range)."""
    if scale is None:
        scale = input.q_scale()
    if zero_point is None:
        zero_point = input.q_zero_point()
    if not isinstance(weight, QTensor):
        from jtorch.ao.quantization.observer import MinMaxObserver
        obs = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
        obs(weight)
        s, z = obs.calculate_qparams()
        weight = torch.quantize_per_tensor(weight.detach().float(), float(s), int(z), torch.qint8)
    return qlinear(input, weight, bias, scale, zero_point)


def qconv(x, w, bias, stride, padding, dilation, groups, scale, zero_point, relu=False, name="conv2d"):
    _check_act(x, name)
    n = x.ndim - 2
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected input{list(x.shape)} "
                           f"to have {w.shape[1] * groups} channels, but got {x.shape[1]} channels instead")
    wzp, wsc = _weight_params(w)
    tup = (lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * n)
    ir = K._qconv(x._ir, w._ir, bias, x.q_zero_point(), _zp(wzp), _mult(x.q_scale(), wsc, w.shape[0]),
                  _inv(scale), int(zero_point), stride=tup(stride), padding=tup(padding), dilation=tup(dilation),
                  groups=int(groups), relu=relu)
    return QTensor._make(ir, torch.quint8, torch.per_tensor_affine, float(scale), int(zero_point))


def _conv(n):
    def conv(input, weight, bias, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", scale=1.0,
             zero_point=0, dtype=torch.quint8):
        if padding_mode != "zeros":
            raise NotImplementedError("Only zero-padding is supported!")
        if input.dtype is not torch.quint8:
            raise NotImplementedError("Only torch.quint8 is supported for activation tensor!")
        if weight.dtype is not torch.qint8:
            raise NotImplementedError("Only torch.qint8 is supported for weight tensor!")
        if input.ndim != n + 2:
            raise ValueError(f"Input shape must be `(N, C, {'D, ' if n == 3 else ''}{'H, ' if n >= 2 else ''}W)`!")
        return qconv(input, weight, bias, stride, padding, dilation, groups, scale, zero_point, name=f"conv{n}d")
    conv.__name__ = f"conv{n}d"
    return conv


conv1d, conv2d, conv3d = _conv(1), _conv(2), _conv(3)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    if return_indices:
        raise NotImplementedError("return_indices is not yet implemented!")
    return torch.nn.functional.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    if return_indices:
        raise NotImplementedError("return_indices is not yet implemented!")
    return torch.nn.functional.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)


def _clamped(x, lo, hi):
    """x clamped to the real range [lo, hi] in its own quantized domain (the bounds rounded as torch does)."""
    s, z = x.q_scale(), x.q_zero_point()
    qlo, qhi = x.dtype.qrange
    ir = x._ir.to(torch.int64)
    if lo is not None:
        ir = torch.clamp(ir, min=int(np.clip(np.round(np.float32(lo) / np.float32(s)) + z, qlo, qhi)))
    if hi is not None:
        ir = torch.clamp(ir, max=int(np.clip(np.round(np.float32(hi) / np.float32(s)) + z, qlo, qhi)))
    return x._like(ir.to(x._ir.dtype))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if not isinstance(input, QTensor):
        raise ValueError("Input to 'quantized.hardtanh' must be quantized!")
    out = _clamped(input, min_val, max_val)
    return input.copy_(out) if inplace else out


def clamp(input, min_, max_):
    if not isinstance(input, QTensor):
        raise ValueError("Input to 'quantized.clamp' must be quantized!")
    return _clamped(input, min_, max_)


def threshold(input, threshold, value):
    if not isinstance(input, QTensor):
        raise ValueError("Input to 'quantized.threshold' must be quantized!")
    d = input.dequantize()
    return torch.quantize_per_tensor(torch.where(d > threshold, d, torch.full_like(d, value)), input.q_scale(),
                                     input.q_zero_point(), input.dtype)


def relu(input, inplace=False):
    out = input._like(_q_relu(input._ir, input.q_zero_point()))
    return input.copy_(out) if inplace else out


def _quantized_input(input, name):
    if not isinstance(input, QTensor):
        raise ValueError(f"Input to 'quantized.{name}' must be quantized!")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling of a quantized tensor (its integers averaged, rounded half to even; parameters kept)."""
    _quantized_input(input, "avg_pool2d")
    return torch.nn.functional.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                          divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    _quantized_input(input, "avg_pool3d")
    return torch.nn.functional.avg_pool3d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                          divisor_override)


def adaptive_avg_pool2d(input, output_size):
    _quantized_input(input, "functional.adaptive_avg_pool2d")
    return torch.nn.functional.adaptive_avg_pool2d(input, output_size)


def adaptive_avg_pool3d(input, output_size):
    _quantized_input(input, "functional.adaptive_avg_pool3d")
    return torch.nn.functional.adaptive_avg_pool3d(input, output_size)


def leaky_relu(input, negative_slope=0.01, inplace=False, scale=None, zero_point=None):
    """Quantized leaky ReLU: with ``scale``/``zero_point`` the result takes those parameters, else the input's."""
    if scale is None or zero_point is None:
        return torch.nn.functional.leaky_relu(input, negative_slope, inplace)
    from jtorch.ao._qtensor._functions import requantize
    out = requantize(torch.nn.functional.leaky_relu(input.dequantize(), negative_slope), scale, zero_point,
                     input.dtype)
    return input.copy_(out) if inplace else out


def hardsigmoid(input, inplace=False):
    """Quantized hardsigmoid: torch's fixed output parameters (scale 1/256)."""
    if not isinstance(input, QTensor):
        raise ValueError("Input to 'quantized.hardsigmoid' must be quantized!")
    return torch.nn.functional.hardsigmoid(input)

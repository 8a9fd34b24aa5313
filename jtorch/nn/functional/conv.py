"""Convolutions (torch.nn.functional.conv*d / conv_transpose*d). NCHW API; the
kernel (``_ops.nn_ops._conv``) runs channels-last, which XLA's CPU backend prefers."""
from jtorch._dtype import cpp_type_name, scalar_type_name
from jtorch._ops import nn_ops as _k
from jtorch.amp import casts_together

from ._utils import ntuple

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_tbc"]


def _batchify(input, n, name):
    if input.ndim == n + 2:
        return input, False
    if input.ndim == n + 1:
        return input.unsqueeze(0), True
    raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {name}, but got input of "
                       f"size: {list(input.shape)}")


def _check_dtype(input, weight, bias=None):
    if input.dtype != weight.dtype and not casts_together(input, weight):
        raise RuntimeError(f"expected scalar type {scalar_type_name(input.dtype)} but found "
                           f"{scalar_type_name(weight.dtype)}")
    if bias is not None and bias.dtype != input.dtype and not casts_together(input, weight, bias):
        raise RuntimeError(f"Input type ({cpp_type_name(input.dtype)}) and bias type ({cpp_type_name(bias.dtype)}) "
                           "should be the same")


def _check_weight_rank(x, weight):
    if weight.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if weight.ndim != x.ndim:
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional weight "
                           f"{list(weight.shape)}, but got {x.ndim}-dimensional input of size {list(x.shape)} instead")


def _check_conv(x, weight, bias, stride, padding, dilation, groups, transposed):
    """torch's convolution argument checks, in its order (shared by conv and conv_transpose); ``x`` batched."""
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    w = list(weight.shape)
    if w[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but got "
                           f"weight of size {w} instead")
    if w[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size {w} instead")
    C = x.shape[1]
    if transposed and C != w[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {w}, expected input {list(x.shape)} to have {w[0]} "
                           f"channels, but got {C} channels instead")
    if not transposed and C != w[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {w}, expected input{list(x.shape)} to have "
                           f"{w[1] * groups} channels, but got {C} channels instead")
    out_channels = w[1] * groups if transposed else w[0]
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(f"Given {'transposed=1, ' if transposed else ''}weight of size {w}, expected bias to be "
                           f"1-dimensional with {out_channels} elements, but got bias of size {list(bias.shape)} "
                           "instead")
    _check_dtype(x, weight, None if transposed else bias)  # (torch's transposed convolution casts its bias)


def _conv(input, weight, bias, stride, padding, dilation, groups, n):
    name = f"conv{n}d"
    x, unbatched = _batchify(input, n, name)
    _check_weight_rank(x, weight)
    stride, dilation = ntuple(stride, n, "stride"), ntuple(dilation, n, "dilation")
    k = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = []
            for kk, d in zip(k, dilation):
                total = d * (kk - 1)
                pads.append((total // 2, total - total // 2))  # the extra element goes to the right
            pads = tuple(pads)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = tuple((p, p) for p in ntuple(padding, n, "padding"))
    _check_conv(x, weight, bias, stride, [p for p, _ in pads], dilation, groups, transposed=False)
    for L, (lo, hi), kk, d in zip(x.shape[2:], pads, k, dilation):
        if L + lo + hi < d * (kk - 1) + 1:
            raise RuntimeError(f"Calculated padded input size per channel: ({L + lo + hi}). Kernel size: ({kk}). "
                               "Kernel size can't be greater than actual input size")
    out = _k._conv(x, weight, bias, stride=stride, padding=pads, dilation=dilation, groups=int(groups))
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3)


def _conv_t(input, weight, bias, stride, padding, output_padding, groups, dilation, n):
    x, unbatched = _batchify(input, n, f"conv_transpose{n}d")
    _check_weight_rank(x, weight)
    stride, padding = ntuple(stride, n, "stride"), ntuple(padding, n, "padding")
    output_padding, dilation = ntuple(output_padding, n, "output_padding"), ntuple(dilation, n, "dilation")
    _check_conv(x, weight, bias, stride, padding, dilation, groups, transposed=True)
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                               f"output_padding: {op}, stride: {s}, dilation: {d}")
    if bias is not None and bias.dtype != x.dtype and not casts_together(x, weight, bias):
        bias = bias.to(x.dtype)  # (torch's transposed convolution adds its bias in the input's dtype)
    out = _k._conv_transpose(x, weight, bias, stride=stride, padding=padding, output_padding=output_padding,
                             dilation=dilation, groups=int(groups))
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_t(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_t(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_t(input, weight, bias, stride, padding, output_padding, groups, dilation, 3)


def conv_tbc(input, weight, bias, pad=0):
    """1-D convolution in (time, batch, channel) layout; weight (kernel, in_channels, out_channels)."""
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, out_channels.")
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)

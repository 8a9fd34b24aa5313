"""Convolutions (torch.nn.functional.conv*d / conv_transpose*d). NCHW API; the
kernel (``_ops.nn_ops._conv``) runs channels-last, which XLA's CPU backend prefers."""
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


def _check_dtype(input, weight):
    if input.dtype != weight.dtype and not casts_together(input, weight):
        raise RuntimeError(f"Input type ({input.dtype}) and weight type ({weight.dtype}) should be the same")


def _conv(input, weight, bias, stride, padding, dilation, groups, n):
    name = f"conv{n}d"
    x, unbatched = _batchify(input, n, name)
    if weight.ndim != n + 2:
        raise RuntimeError(f"weight should have at least three dimensions")
    stride, dilation = ntuple(stride, n, "stride"), ntuple(dilation, n, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    C = x.shape[1]
    if C != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {weight.shape[1] * groups} channels, but got {C} channels "
                           "instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size {list(weight.shape)} instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead")
    _check_dtype(x, weight)
    k = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            pads = []
            for kk, d in zip(k, dilation):
                total = d * (kk - 1)
                pads.append((total // 2, total - total // 2))  # the extra element goes to the right
            pads = tuple(pads)
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
    else:
        pads = tuple((p, p) for p in ntuple(padding, n, "padding"))
        if any(p < 0 for p, _ in pads):
            raise RuntimeError("negative padding is not supported")
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
    stride, padding = ntuple(stride, n, "stride"), ntuple(padding, n, "padding")
    output_padding, dilation = ntuple(output_padding, n, "output_padding"), ntuple(dilation, n, "dilation")
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input "
                           f"{list(x.shape)} to have {weight.shape[0]} channels, but got {x.shape[1]} channels "
                           "instead")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                               f"output_padding: {op}, stride: {s}, dilation: {d}")
    _check_dtype(x, weight)
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

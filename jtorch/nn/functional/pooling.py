"""Pooling (torch.nn.functional.*pool*)."""
import jtorch as torch
from jtorch._ops import nn_ops as _k
from jtorch._ops.loss_ops import concrete_min_max

from ._utils import ntuple

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d",
           "max_unpool2d", "max_unpool3d"]


def _rank_error(input, n, name):
    return RuntimeError(f"{name}: Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional 0 dim batch size "
                        f"for input, but got:{list(input.shape)}")


def _check_rank(input, n, name):
    if input.ndim not in (n + 1, n + 2):
        raise _rank_error(input, n, name)


def _out_sizes(input, n, kernel, stride, padding, dilation, ceil_mode, name):
    for k, s, p, d in zip(kernel, stride, padding, dilation):
        if k <= 0 or s <= 0 or d <= 0:
            raise RuntimeError("kernel size, stride and dilation should be greater than zero")
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > k // 2:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got pad = {p}, "
                               f"kernel_size = {k}")
    spatial = input.shape[-n - 1:]  # (channels and spatial dims: only a batch may be empty)
    if 0 in spatial:
        if n == 3:
            raise RuntimeError(f"{name}(): Expected input's non-batch dimensions to have positive length, but input "
                               f"has a shape of {list(input.shape)} and non-batch dimension {spatial.index(0)} has "
                               f"length zero!")
        raise _rank_error(input, n, name)
    sizes = []
    for L, k, s, p, d in zip(input.shape[-n:], kernel, stride, padding, dilation):
        span = L + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= L + p:
            o -= 1
        if o < 1:
            raise RuntimeError(f"Given input size: ({'x'.join(map(str, input.shape[-n - 1:]))}). Calculated output "
                               f"size: ({'x'.join(map(str, [input.shape[-n - 1]] + [max(o, 0)] * 1))}). "
                               "Output size is too small")
        sizes.append(o)
    return tuple(sizes)


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n):
    _check_rank(input, n, f"max_pool{n}d")
    kernel = ntuple(kernel_size, n, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        ntuple(stride, n, "stride")
    padding, dilation = ntuple(padding, n, "padding"), ntuple(dilation, n, "dilation")
    out = _out_sizes(input, n, kernel, stride, padding, dilation, ceil_mode, f"max_pool{n}d")
    return _k._max_pool(input, kernel=kernel, stride=stride, padding=padding, dilation=dilation, osize=out,
                        indices=bool(return_indices))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 1)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 2)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 3)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, n):
    _check_rank(input, n, f"avg_pool{n}d")
    kernel = ntuple(kernel_size, n, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        ntuple(stride, n, "stride")
    padding = ntuple(padding, n, "padding")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    out = _out_sizes(input, n, kernel, stride, padding, (1,) * n, ceil_mode, f"avg_pool{n}d")
    return _k._avg_pool(input, kernel=kernel, stride=stride, padding=padding, osize=out,
                        count_include_pad=bool(count_include_pad), divisor_override=divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3)


def _adaptive_out(input, output_size, n, name):
    sized = not isinstance(output_size, int)
    if n > 1 and sized and input.ndim <= len(output_size):
        # (torch's Python layer fills None sizes from the input's trailing sizes: it needs enough of them)
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got {list(input.shape)}")
    out = tuple(output_size) if sized else (output_size,) * n
    if len(out) != n:
        raise RuntimeError(f"{name}() argument 'output_size' should contain one int (got {len(out)})" if n == 1 else
                           f"{name}(): internal error: output_size.size() must be {n}" if "max" in name else
                           f"{name}: output_size must be {n}")
    out = tuple(int(L) if o is None else int(o) for o, L in zip(out, input.shape[-n:]))
    if min(out) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(out)}: "
                           f"{list(input.shape[:-n]) + list(out)}" if "max" in name else
                           f"{name}: elements of output_size must be greater than or equal to 0 but received "
                           f"{{{', '.join(map(str, out))}}}")
    for d in range(input.ndim - n, input.ndim):
        if input.shape[d] == 0 and d > 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but "
                               f"input has sizes {list(input.shape)} with dimension {d} being empty")
    return out


def adaptive_avg_pool1d(input, output_size):
    return _k._adaptive_avg_pool(input, osize=_adaptive_out(input, output_size, 1, "adaptive_avg_pool1d"))


def adaptive_avg_pool2d(input, output_size):
    return _k._adaptive_avg_pool(input, osize=_adaptive_out(input, output_size, 2, "adaptive_avg_pool2d"))


def adaptive_avg_pool3d(input, output_size):
    return _k._adaptive_avg_pool(input, osize=_adaptive_out(input, output_size, 3, "adaptive_avg_pool3d"))


def _adaptive_max(input, output_size, return_indices, n):
    vals, idx = _k._adaptive_max_pool(input, osize=_adaptive_out(input, output_size, n, f"adaptive_max_pool{n}d"))
    return (vals, idx) if return_indices else vals


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, return_indices, 2)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, return_indices, 3)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max(input, output_size, True, 1)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max(input, output_size, True, 2)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return _adaptive_max(input, output_size, True, 3)


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, n):
    kernel = ntuple(kernel_size, n, "kernel_size")
    size = 1
    for k in kernel:
        size *= k
    if stride is not None:
        out = _avg_pool(input.pow(norm_type), kernel, stride, 0, ceil_mode, True, None, n)
    else:
        out = _avg_pool(input.pow(norm_type), kernel, None, 0, ceil_mode, True, None, n)
    # (sum x^p)^(1/p); sign*relu keeps the sum non-negative like torch
    return (torch.sign(out) * torch.relu(torch.abs(out))).mul(size).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


def _unpool_size(input, n, kernel, stride, padding, output_size):
    default = tuple((L - 1) * s - 2 * p + k for L, s, p, k in zip(input.shape[-n:], stride, padding, kernel))
    if output_size is None:
        return default
    out = tuple(output_size)
    if len(out) == n + 2 or len(out) == n + 1:
        out = out[-n:]
    if len(out) != n:
        raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a length "
                         f"of '{len(out)}'")
    for o, d, s in zip(out, default, stride):
        if not d - s < o < d + s:
            raise ValueError(f"invalid output_size \"{list(out)}\" (dim 0 must be between {d - s} and {d + s})")
    return tuple(int(o) for o in out)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, n):
    kernel = ntuple(kernel_size, n, "kernel_size")
    stride = kernel if stride is None else ntuple(stride, n, "stride")
    padding = ntuple(padding, n, "padding")
    out = _unpool_size(input, n, kernel, stride, padding, output_size)
    if indices.shape != input.shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    total = 1
    for o in out:
        total *= o
    mm = concrete_min_max(indices)  # (not read while traced: indices out of range are dropped)
    if mm is not None and (mm[1] >= total or mm[0] < 0):
        raise RuntimeError(f"Found an invalid max index: {mm[1]} (output volumes are of size "
                           f"{'x'.join(map(str, out))}")
    return _k._max_unpool(input, indices, osize=out)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)

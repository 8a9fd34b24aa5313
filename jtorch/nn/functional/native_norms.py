"""torch.native_layer_norm / native_batch_norm / native_group_norm: the normalisations that also return the
statistics they used (ATen's forms, which torch exposes at top level).

The normalised output comes from the ordinary functional op (its kernel and gradient); the statistics are
computed beside it. As in torch, the mean and inverse standard deviation of layer and batch norm carry no
gradient, while group norm's do.
"""
import jtorch as torch

from .normalization import batch_norm, group_norm, layer_norm

__all__ = []  # exported at top level only (jtorch.native_layer_norm, ...), as in torch


def _rstd(input, dims, eps):
    return (input.var(dims, unbiased=False, keepdim=True) + eps).rsqrt()


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    out = layer_norm(input, shape, weight, bias, eps)
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    with torch.no_grad():
        return out, input.mean(dims, keepdim=True), _rstd(input, dims, eps)


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("native_batch_norm: running_mean and running_var must be defined in evaluation mode")
    out = batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:  # torch returns empty saved statistics in evaluation mode
        empty = torch.empty(0, dtype=input.dtype, device=input.device)
        return out, empty, empty.clone()
    dims = (0,) + tuple(range(2, input.dim()))
    with torch.no_grad():
        return out, input.mean(dims), _rstd(input, dims, eps).reshape(-1)


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    if input.numel() != N * C * HxW:
        raise RuntimeError(f"Expected X.numel() == N * C * HxW, but got {input.numel()} != {N} * {C} * {HxW}")
    if C % group:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={group}")
    out = group_norm(input, group, weight, bias, eps)
    x = input.reshape(N, group, (C // group) * HxW)
    return out, x.mean(-1), _rstd(x, (-1,), eps).reshape(N, group)

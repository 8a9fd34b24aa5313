"""Activation functions (torch.nn.functional)."""
import warnings

import jtorch as torch
from jtorch._dispatch import wants_tensors
from jtorch._ops import nn_ops as _k

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_", "elu", "elu_",
           "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "sigmoid", "tanh", "softmax",
           "log_softmax", "softmin", "softplus", "softsign", "hardtanh", "hardtanh_", "hardsigmoid", "hardswish",
           "tanhshrink", "softshrink", "hardshrink", "threshold", "threshold_", "glu", "logsigmoid",
           "gumbel_softmax"]


def _maybe_inplace(op, inplace, input, *args, **kwargs):
    # ``inplace=True``: the op's in-place Tensor method (torch's checks on leaves and dtypes apply)
    if inplace:
        return getattr(input, op.name + "_")(*args, **kwargs)
    return op(input, *args, **kwargs)


def relu(input, inplace=False):
    return _maybe_inplace(_k.relu, inplace, input)


def relu_(input):
    return relu(input, inplace=True)


@wants_tensors("input")
def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(_k.hardtanh, inplace, input, min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _maybe_inplace(_k.leaky_relu, inplace, input, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


@wants_tensors("input", "weight")
def prelu(input, weight):
    return _k.prelu(input, weight)


@wants_tensors("input")
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    if inplace:
        return input.rrelu_(lower, upper, training)
    return _k.rrelu(input, lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, True)


def elu(input, alpha=1.0, inplace=False):
    return _maybe_inplace(_k.elu, inplace, input, alpha)


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def selu(input, inplace=False):
    return _maybe_inplace(_k.selu, inplace, input)


def selu_(input):
    return selu(input, True)


def celu(input, alpha=1.0, inplace=False):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _maybe_inplace(_k.celu, inplace, input, alpha)


def celu_(input, alpha=1.0):
    return celu(input, alpha, True)


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _k.gelu(input, approximate=approximate)


def silu(input, inplace=False):
    return _maybe_inplace(_k.silu, inplace, input)


def mish(input, inplace=False):
    return _maybe_inplace(_k.mish, inplace, input)


def sigmoid(input):
    return torch.sigmoid(input)


def tanh(input):
    return torch.tanh(input)


def _get_softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmax", input.ndim)
    return torch.softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmin", input.ndim)
    return torch.softmax(-input, dim, dtype=dtype)  # torch negates in the input's type (uint8 wraps), then casts


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.ndim)
    return torch.log_softmax(input, dim, dtype=dtype)


def softplus(input, beta=1.0, threshold=20.0):
    return _k.softplus(input, beta, threshold)


def softsign(input):
    return _k.softsign(input)


def hardsigmoid(input, inplace=False):
    return _maybe_inplace(_k.hardsigmoid, inplace, input)


def hardswish(input, inplace=False):
    return _maybe_inplace(_k.hardswish, inplace, input)


def tanhshrink(input):
    return _k.tanhshrink(input)


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _k.softshrink(input, lambd)


def hardshrink(input, lambd=0.5):
    return _k.hardshrink(input, lambd)


@wants_tensors("input")
def threshold(input, threshold, value, inplace=False):
    return _maybe_inplace(_k.threshold, inplace, input, threshold, value)


def threshold_(input, threshold, value):
    return _maybe_inplace(_k.threshold, True, input, threshold, value)


def glu(input, dim=-1):
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim % input.ndim if -input.ndim <= dim < input.ndim else None
    if d is None:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-input.ndim}, {input.ndim - 1}], "
                         f"but got {dim})")
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {input.shape[d]}")
    return _k.glu(input, dim=d)


def logsigmoid(input):
    return _k.logsigmoid(input)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    g = -torch.log(torch.empty_like(logits).exponential_())  # Gumbel(0, 1) noise
    y = softmax((logits + g) / tau, dim)
    if hard:
        idx = y.argmax(dim, keepdim=True)
        hard_y = (torch.arange(y.shape[dim]).reshape([-1 if i == (dim % y.ndim) else 1 for i in range(y.ndim)])
                  == idx).to(y.dtype)
        return hard_y - y.detach() + y
    return y

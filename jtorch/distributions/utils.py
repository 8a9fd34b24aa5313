"""Helpers shared by the distributions (torch.distributions.utils)."""
import numbers

import jtorch as torch

euler_constant = 0.57721566490153286060


class lazy_property:
    """A property computed on first access and then cached in the instance's __dict__
    (so ``'probs' in d.__dict__`` says whether a parameter was given or derived)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with torch.enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


class _lazy_property_and_property(lazy_property, property):
    def __init__(self, wrapped):
        property.__init__(self, wrapped)


def broadcast_all(*values):
    """Broadcast tensors and numbers to one shape; numbers take the tensors' dtype and device
    (the default float dtype when there are no tensors)."""
    if not all(isinstance(v, (torch.Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number or torch.tensor.")
    if not any(isinstance(v, torch.Tensor) for v in values):
        values = tuple(torch.tensor(float(v), dtype=torch.get_default_dtype()) for v in values)
        return torch.broadcast_tensors(*values)
    ref = next(v for v in values if isinstance(v, torch.Tensor))
    values = [v if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=ref.dtype, device=ref.device)
              for v in values]
    return torch.broadcast_tensors(*values)


def _sum_rightmost(value, dim):
    """Sum out the ``dim`` rightmost dimensions of ``value``."""
    if dim == 0:
        return value
    return value.reshape(value.shape[:value.dim() - dim] + (-1,)).sum(-1)


def clamp_probs(probs):
    eps = torch.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary=False):
    if is_binary:
        return torch.sigmoid(logits)
    return torch.nn.functional.softmax(logits, dim=-1)


def probs_to_logits(probs, is_binary=False):
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return torch.log(ps_clamped) - torch.log1p(-ps_clamped)
    return torch.log(ps_clamped)


def tril_matrix_to_vec(mat, diag=0):
    n = mat.shape[-1]
    rows, cols = torch.tril_indices(n, n, offset=diag)
    return mat[..., rows, cols]


def vec_to_tril_matrix(vec, diag=0):
    import math
    n = int((-(1 + 2 * diag) + math.sqrt((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1))) / 2
            + 1e-9)
    rows, cols = torch.tril_indices(n, n, offset=diag)
    mat = torch.zeros(vec.shape[:-1] + (n, n), dtype=vec.dtype)
    mat[..., rows, cols] = vec
    return mat


class BinaryProbsLogits:
    """Mixin for distributions given by the `probs` or the `logits` of a binary event."""

    def _init_param(self, probs, logits, *others):
        """Broadcast `others` with the one of probs/logits given, set that one (and _param);
        return the broadcast `others` and whether it was a plain number."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        name, value = ("probs", probs) if probs is not None else ("logits", logits)
        *others, param = broadcast_all(*others, value)
        setattr(self, name, param)
        self._param = param
        return others, isinstance(value, numbers.Number)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.size()

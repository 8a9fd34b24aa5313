"""Dropout family. Masks come from jtorch's global generator (values differ from
torch's stream; the distribution and scaling match)."""
import warnings

import jtorch as torch
from jtorch._dispatch import wants_tensors

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _run(op, input, p, training, inplace):
    _check_p(p)
    if inplace:
        if p == 0 or not training:
            return input  # torch leaves the input untouched (no write, no version bump)
        return getattr(input, op + "_")(p, training)
    return getattr(torch, op)(input, p, training)


@wants_tensors("input")
def dropout(input, p=0.5, training=True, inplace=False):
    return _run("dropout", input, p, training, inplace)


@wants_tensors("input")
def alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _run("alpha_dropout", input, p, training, inplace)


@wants_tensors("input")
def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _run("feature_alpha_dropout", input, p, training, inplace)


def _feature(input, p, training, inplace, n):
    _check_p(p)
    if input.ndim not in (n + 1, n + 2):
        if n == 2:
            warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will "
                          "result in an error in a future release.")
        else:
            raise RuntimeError(f"dropout{n}d: Expected {n + 1}D or {n + 2}D input, but received a {input.ndim}D "
                               f"input. Note that dropout{n}d exists to provide channel-wise dropout on inputs with "
                               f"{n} spatial dimension{'s' if n > 1 else ''}, a channel dimension, and an optional "
                               "batch dimension (i.e. 2D or 3D inputs).")
    unbatched = input.ndim == n + 1
    x = input.unsqueeze(0) if unbatched else input
    if inplace and not unbatched:
        return input.feature_dropout_(p, training)
    out = torch.feature_dropout(x, p, training)
    out = out.squeeze(0) if unbatched else out
    if inplace:
        return input.copy_(out)
    return out


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _feature(input, p, training, inplace, 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    return _feature(input, p, training, inplace, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature(input, p, training, inplace, 3)

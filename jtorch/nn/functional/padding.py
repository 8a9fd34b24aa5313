"""torch.nn.functional.pad: constant, reflect, replicate, circular."""
from jtorch._ops import nn_ops as _k

__all__ = ["pad"]


def _pairs(pad):
    # torch lists pads last dimension first: (left, right, top, bottom, ...)
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)]
    return tuple(reversed(pairs))


def pad(input, pad, mode="constant", value=None):
    pairs = _pairs(pad)
    n = len(pairs)
    if n > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {2 * n} and input of dimension {input.ndim}")
    if mode == "constant":
        return _k._pad_constant(input, 0 if value is None else value, pads=pairs)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if n not in (1, 2, 3) or input.ndim not in (n + 1, n + 2):
        raise NotImplementedError(
            f"Padding size {2 * n} is not supported for {input.ndim}D input tensor.\nSupported combinations for "
            "non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D input: "
            "padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 "
            "dimensions)")
    for i, (lo, hi) in enumerate(pairs):
        d = input.ndim - n + i
        L = input.shape[d]
        if mode == "reflect" and (lo >= L or hi >= L):
            raise RuntimeError(f"Argument #{4 + 2 * (n - 1 - i)}: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({lo}, {hi}) at dimension {d} of input "
                               f"{list(input.shape)}")
        if mode == "circular" and (lo > L or hi > L):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and L == 0:
            raise RuntimeError(f"padding size is expected to be non-empty, got input of size {list(input.shape)}")
        if mode == "replicate" and L + lo + hi < (1 if n == 1 else 0):
            raise RuntimeError(f"input (size {L} at dimension {d}) is too small. Calculated output size: "
                               f"{L + lo + hi}")
    return _k._pad_mode(input, pads=pairs, mode=mode)

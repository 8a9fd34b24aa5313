"""torch.signal.windows: the scipy-style window functions (``M``, ``sym=``).

A window depends only on its length and static parameters, so it is computed on the host in float64
(numpy) and cast once to the requested dtype; like torch, the result is a leaf (``requires_grad=``).
``sym=False`` gives the periodic window: the symmetric window of length ``M + 1`` without its last point.
"""
import math

import numpy as np

from .. import _dtype as D

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _check(name, M, dtype, layout):
    from .. import _legacy
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not None and layout is not _legacy.strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    dt = D.get_default_dtype() if dtype is None else D.to_dtype(dtype)
    if dt not in (D.float32, D.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dt}")
    return dt


def _make(w, dt, device, requires_grad):
    import jtorch
    return jtorch.tensor(np.asarray(w, dtype=np.float64).astype(dt.np), device=device, requires_grad=requires_grad)


def _window(name, M, sym, dtype, layout, device, requires_grad, values):
    """``values(n, N)``: the window at sample positions ``n`` (float64) of a symmetric window of length ``N``."""
    dt = _check(name, M, dtype, layout)
    if M <= 1:
        return _make(np.ones(M), dt, device, requires_grad)
    N = M if sym else M + 1
    return _make(values(np.arange(N, dtype=np.float64), N)[:M], dt, device, requires_grad)


def _cosine_sum(name, a, M, sym, dtype, layout, device, requires_grad):
    a = [float(c) for c in a]
    return _window(name, M, sym, dtype, layout, device, requires_grad,
                   lambda n, N: sum((-1) ** i * c * np.cos(2 * math.pi * i * n / (N - 1)) for i, c in enumerate(a)))


def general_cosine(M, *, a, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    if not isinstance(a, (list, tuple)):
        raise TypeError(f"Coefficients must be a list/tuple, got: {type(a).__name__}")
    if len(a) == 0:
        raise ValueError("Coefficients cannot be empty")
    return _cosine_sum("general_cosine", a, M, sym, dtype, layout, device, requires_grad)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _cosine_sum("general_hamming", (alpha, 1.0 - alpha), M, sym, dtype, layout, device, requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _cosine_sum("hamming", (0.54, 0.46), M, sym, dtype, layout, device, requires_grad)


def hann(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _cosine_sum("hann", (0.5, 0.5), M, sym, dtype, layout, device, requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _cosine_sum("blackman", (0.42, 0.5, 0.08), M, sym, dtype, layout, device, requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    # the minimum 4-term Blackman-Harris coefficients (Nuttall 1981), as scipy and torch use
    return _cosine_sum("nuttall", (0.3635819, 0.4891775, 0.1365995, 0.0106411), M, sym, dtype, layout, device,
                       requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _window("bartlett", M, sym, dtype, layout, device, requires_grad,
                   lambda n, N: 1 - np.abs(2 * n / (N - 1) - 1))


def cosine(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _window("cosine", M, sym, dtype, layout, device, requires_grad,
                   lambda n, N: np.sin(math.pi * (n + 0.5) / N))


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    return _window("gaussian", M, sym, dtype, layout, device, requires_grad,
                   lambda n, N: np.exp(-((n - (N - 1) / 2) ** 2) / (2 * std * std)))


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    c = (M - 1) / 2 if center is None and sym else M / 2 if center is None else float(center)
    return _window("exponential", M, sym, dtype, layout, device, requires_grad,
                   lambda n, N: np.exp(-np.abs(n - c) / tau))


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    return _window("kaiser", M, sym, dtype, layout, device, requires_grad,
                   lambda n, N: np.i0(beta * np.sqrt(np.clip(1 - ((n - (N - 1) / 2) / ((N - 1) / 2)) ** 2, 0, None)))
                   / np.i0(beta))

"""torch.gradient: derivative estimates of a sampled function by finite differences, one tensor per dim.

Interior points use the second-order central difference (its non-uniform form when coordinates are
given); the two edges use one-sided differences of order ``edge_order`` (1 or 2). Differentiable.
"""
import jax.numpy as jnp

from .._dispatch import defop, function


def _take(x, axis, start, stop):
    return jnp.moveaxis(jnp.moveaxis(x, axis, 0)[start:stop], 0, axis)


def _along(c, axis, ndim):
    """A 1-D array shaped to broadcast along ``axis``."""
    return c.reshape([-1 if i == axis else 1 for i in range(ndim)])


@defop(promote="float", method=False, function=False)
def _gradient_along(input, spacing, axis=0, edge_order=1, uniform=True):
    f, nd = input, input.ndim
    s = lambda a, b: _take(f, axis, a, b)  # noqa: E731
    if uniform:
        h = spacing
        mid = (s(2, None) - s(None, -2)) / (2 * h)
        if edge_order == 1:
            lo, hi = (s(1, 2) - s(0, 1)) / h, (s(-1, None) - s(-2, -1)) / h
        else:
            lo = (-1.5 * s(0, 1) + 2 * s(1, 2) - 0.5 * s(2, 3)) / h
            hi = (0.5 * s(-3, -2) - 2 * s(-2, -1) + 1.5 * s(-1, None)) / h
    else:
        dx = jnp.diff(spacing)
        hl, hr = _along(dx[:-1], axis, nd), _along(dx[1:], axis, nd)
        mid = (-hr / (hl * (hl + hr))) * s(None, -2) + ((hr - hl) / (hl * hr)) * s(1, -1) + \
            (hl / (hr * (hl + hr))) * s(2, None)
        if edge_order == 1:
            lo, hi = (s(1, 2) - s(0, 1)) / dx[0], (s(-1, None) - s(-2, -1)) / dx[-1]
        else:
            a, b = dx[0], dx[1]
            lo = -(2 * a + b) / (a * (a + b)) * s(0, 1) + (a + b) / (a * b) * s(1, 2) - a / (b * (a + b)) * s(2, 3)
            a, b = dx[-2], dx[-1]
            hi = b / (a * (a + b)) * s(-3, -2) - (a + b) / (a * b) * s(-2, -1) + \
                (2 * b + a) / (b * (a + b)) * s(-1, None)
    return jnp.concatenate([lo, mid, hi], axis).astype(mid.dtype)


@function(method=False)
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    from .. import Tensor
    nd = input.ndim
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if dim is None:
        dims = list(range(nd))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
        dims = [d + nd if d < 0 else d for d in dims]
        for d in dims:
            if not 0 <= d < max(nd, 1):
                raise IndexError(f"Dimension out of range (expected to be in range of [{-max(nd, 1)}, "
                                 f"{max(nd, 1) - 1}], but got {d})")
        if len(set(dims)) != len(dims):
            twice = [d for d in dims if dims.count(d) > 1][0]
            raise RuntimeError(f"dim {twice} appears multiple times in the list of dims")
    if spacing is None:
        spacing = 1
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(
                f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length equal to "
                f"'self.dim() = {nd}', since dim argument was not given, but got a list of length {len(spacing)}"
                if dim is None else
                f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim arguments to "
                f"have the same length, but got a spacing argument of length {len(spacing)} and a dim argument of "
                f"length {len(dims)}.")
        spacings = list(spacing)
    else:
        spacings = [spacing] * len(dims)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    out = []
    for d, sp in zip(dims, spacings):
        coords = isinstance(sp, Tensor) and sp.ndim == 1
        if coords and sp.shape[0] != input.shape[d]:
            raise RuntimeError(f"torch.gradient expected the coordinates along dimension {d} to have "
                               f"{input.shape[d]} elements, but got {sp.shape[0]}")
        if isinstance(sp, Tensor) and not coords:
            sp = sp.item()
        out.append(_gradient_along(input, sp, axis=d, edge_order=edge_order, uniform=not coords))
    return tuple(out)

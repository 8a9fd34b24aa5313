"""torch.gradient: derivative estimates by finite differences (second-order central differences
inside, first- or second-order one-sided differences at the edges), written with jtorch ops so
that autograd and jtorch.compile need nothing special."""
import numbers

import jtorch as torch
from . import _dtype as D

__all__ = ["gradient"]


def _along(v, dim, ndim):
    """A 1-D tensor shaped to broadcast along ``dim`` of an ``ndim``-D tensor."""
    shape = [1] * ndim
    shape[dim] = -1
    return v.reshape(shape)


def _uniform(f, h, dim, edge_order):
    n = f.shape[dim]
    inner = (f.narrow(dim, 2, n - 2) - f.narrow(dim, 0, n - 2)) / (2 * h)
    if edge_order == 1:
        first = (f.narrow(dim, 1, 1) - f.narrow(dim, 0, 1)) / h
        last = (f.narrow(dim, n - 1, 1) - f.narrow(dim, n - 2, 1)) / h
    else:
        first = (-1.5 * f.narrow(dim, 0, 1) + 2 * f.narrow(dim, 1, 1) - 0.5 * f.narrow(dim, 2, 1)) / h
        last = (0.5 * f.narrow(dim, n - 3, 1) - 2 * f.narrow(dim, n - 2, 1) + 1.5 * f.narrow(dim, n - 1, 1)) / h
    return torch.cat([first, inner, last], dim)


def _coordinates(f, x, dim, edge_order):
    n, nd = f.shape[dim], f.ndim
    dx = x[1:] - x[:-1]
    hl, hr = dx[:-1], dx[1:]
    a = _along(-hr / (hl * (hl + hr)), dim, nd)
    b = _along((hr - hl) / (hl * hr), dim, nd)
    c = _along(hl / (hr * (hl + hr)), dim, nd)
    inner = a * f.narrow(dim, 0, n - 2) + b * f.narrow(dim, 1, n - 2) + c * f.narrow(dim, 2, n - 2)
    if edge_order == 1:
        first = (f.narrow(dim, 1, 1) - f.narrow(dim, 0, 1)) / dx[0]
        last = (f.narrow(dim, n - 1, 1) - f.narrow(dim, n - 2, 1)) / dx[-1]
    else:
        d1, d2 = dx[0], dx[1]
        first = (-(2 * d1 + d2) / (d1 * (d1 + d2)) * f.narrow(dim, 0, 1) + (d1 + d2) / (d1 * d2) * f.narrow(dim, 1, 1)
                 - d1 / (d2 * (d1 + d2)) * f.narrow(dim, 2, 1))
        d1, d2 = dx[-2], dx[-1]
        last = (d2 / (d1 * (d1 + d2)) * f.narrow(dim, n - 3, 1) - (d1 + d2) / (d1 * d2) * f.narrow(dim, n - 2, 1)
                + (2 * d2 + d1) / (d2 * (d1 + d2)) * f.narrow(dim, n - 1, 1))
    return torch.cat([first, inner, last], dim)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Tuple of d(input)/d(x_k), one tensor per dimension in ``dim`` (all dimensions by default).
    ``spacing``: one scalar for every dimension, one scalar per dimension, or one coordinate tensor
    per dimension (non-uniform samples)."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    nd = input.ndim
    if dim is None:
        dims = list(range(nd))
    else:
        dims = [dim] if isinstance(dim, numbers.Integral) else list(dim)
        for d in dims:
            if not -nd <= d < max(nd, 1):
                raise IndexError(f"Dimension out of range (expected to be in range of [{-max(nd, 1)}, "
                                 f"{max(nd, 1) - 1}], but got {d})")
        dims = [d % nd for d in dims]
        if len(set(dims)) != len(dims):
            dup = next(d for d in dims if dims.count(d) > 1)
            raise RuntimeError(f"dim {dup} appears multiple times in the list of dims")
    if isinstance(spacing, (numbers.Number, torch.Tensor)) and not (isinstance(spacing, torch.Tensor)
                                                                    and spacing.ndim > 0):
        spacings = [spacing] * len(dims)
    else:
        spacings = list(spacing)
        if len(spacings) != len(dims):
            where = ("since dim argument was not given" if dim is None else "")
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
                               f"equal to 'self.dim() = {nd}', {where}, but got a list of length {len(spacings)}"
                               if dim is None else
                               f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
                               f"dim arguments to have the same length, but got a spacing argument of length "
                               f"{len(spacings)} and a dim argument of length {len(dims)}.")
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    f = input if input.dtype.is_floating_point or input.dtype.is_complex else input.to(D.get_default_dtype())
    out = []
    for d, h in zip(dims, spacings):
        if isinstance(h, torch.Tensor) and h.ndim == 1:
            if h.shape[0] != input.shape[d]:
                raise RuntimeError(f"torch.gradient expected each tensor to be on the same device and to have "
                                   f"{input.shape[d]} coordinates along dimension {d}, got {h.shape[0]}")
            out.append(_coordinates(f, h, d, edge_order))
        else:
            if isinstance(h, torch.Tensor):
                h = h.item()
            out.append(_uniform(f, h, d, edge_order))
    return tuple(out)

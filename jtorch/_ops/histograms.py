"""torch.histogramdd: a D-dimensional histogram of the rows of an (..., D) tensor.

Computed on the host with numpy, like torch.histogram (the result's shape depends on the bins, and torch
gives no gradient). Binning follows torch: an element counts when it lies between the first and the last
edge of every dimension (both included), and its bin is found by binary search over the edges as given
(upper bound minus one, the last edge belonging to the last bin); for sorted edges that is the usual
half-open binning, and unsorted edges give torch's answer too.
"""
import collections

import numpy as np

from .._dispatch import function
from .reduction import return_type_repr

histogramdd_return = collections.namedtuple("histogramdd", ["hist", "bin_edges"])
histogramdd_return.__module__ = "torch.return_types"
histogramdd_return.__repr__ = return_type_repr


def _jt():
    import jtorch
    return jtorch


def _upper_bound(edges, x):
    """For each x, the first position p in ``edges`` with x < edges[p], by the classic binary search
    (well defined for any order of ``edges``)."""
    first = np.zeros(x.shape, np.int64)
    length = np.full(x.shape, len(edges), np.int64)
    while np.any(length > 0):
        half = length >> 1
        mid = first + half
        live = length > 0
        go_left = x < edges[np.minimum(mid, len(edges) - 1)]
        first = np.where(live & ~go_left, mid + 1, first)
        length = np.where(live, np.where(go_left, half, length - half - 1), 0)
    return first


def _default_edges(col, bins, lo_hi, np_dtype, dim):
    if bins < 1:
        got = bins + 1 if bins >= 0 else 0
        raise RuntimeError(f"torch.histogramdd: bins tensor should have at least 1 element, but got {got} "
                           f"elements in the bins tensor for dimension {dim}")
    if lo_hi is not None:
        lo, hi = lo_hi
    elif col.size:
        lo, hi = float(col.min()), float(col.max())
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo:g} max {hi:g} "
                           f"for dimension {dim}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: range of [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, int(bins) + 1).astype(np_dtype)


@function(method=False)
def histogramdd(input, bins, *, range=None, weight=None, density=False):
    jt = _jt()
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"histogramdd" not implemented for \'{str(input.dtype)[6:].capitalize()}\'')
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions, but got "
                           f"{input.ndim}")
    D = input.shape[-1]
    npd = input.dtype.np
    x = np.asarray(input.detach()).reshape(-1, D)
    if isinstance(bins, int) or isinstance(bins, jt.Tensor) and bins.ndim == 0:
        bins = [int(bins)] * D
    bins = list(bins)
    if len(bins) != D:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    if range is not None and len(range) != 2 * D:
        raise RuntimeError(f"torch.histogramdd: for a {D}-dimensional histogram range should have {2 * D} elements, "
                           f"but got {len(range)}")
    edges = []
    for d, b in enumerate(bins):
        if isinstance(b, jt.Tensor):
            e = np.asarray(b.detach()).astype(npd).reshape(-1)
            if e.size < 1:
                raise RuntimeError(f"torch.histogramdd: bins tensor should have at least 1 element, but got 0 "
                                   f"elements in the bins tensor for dimension {d}")
        else:
            lo_hi = None if range is None else (float(range[2 * d]), float(range[2 * d + 1]))
            e = _default_edges(x[:, d], int(b), lo_hi, npd, d)
        edges.append(e)
    w = np.ones(len(x), np.float64) if weight is None else np.asarray(weight.detach(), np.float64).reshape(-1)
    shape = tuple(len(e) - 1 for e in edges)
    keep = np.ones(len(x), bool)
    idx = []
    for d, e in enumerate(edges):
        col = x[:, d]
        keep &= (col >= e[0]) & (col <= e[-1])
        pos = _upper_bound(e, col) - 1
        idx.append(np.clip(np.where(pos == len(e) - 1, pos - 1, pos), 0, max(len(e) - 2, 0)))
    hist = np.zeros(shape, np.float64)
    if all(shape) and keep.any():
        np.add.at(hist, tuple(i[keep] for i in idx), w[keep])
    if density:
        widths = [np.diff(e.astype(np.float64)) for e in edges]
        vol = np.ones(shape)
        for d, wd in enumerate(widths):
            vol = vol * wd.reshape([-1 if i == d else 1 for i in np.arange(D)])
        with np.errstate(invalid="ignore", divide="ignore"):  # an empty histogram is NaN, like torch's
            hist = hist / hist.sum() / vol
    return histogramdd_return(jt.tensor(hist.astype(npd)), tuple(jt.tensor(e) for e in edges))

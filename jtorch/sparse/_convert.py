"""Conversions between layouts: dense <-> COO <-> CSR/CSC/BSR/BSC, and ``sparse_mask``."""
import numpy as np

import jtorch as torch
from ._base import SparseTensor, np_of
from ._coo import SparseCooTensor, make_coo

_LAYOUTS = {}


def dense_to_coo(x, sparse_dim=None):
    nd = x.ndim
    sd = nd if sparse_dim is None else int(sparse_dim)
    if not 0 <= sd <= nd:
        raise RuntimeError(f"sparse_dim argument must be in [0,{nd}] range, but {sd} is given")
    a = np_of(x)
    mask = a != 0
    if sd < nd:
        mask = mask.any(axis=tuple(range(sd, nd))) if mask.ndim else mask
    if sd == 0:
        idx = np.zeros((0, 1), np.int64)
        vals = x.unsqueeze(0)
    else:
        idx = np.stack(np.nonzero(mask)).astype(np.int64).reshape(sd, -1)
        vals = x[tuple(torch.tensor(idx[k], device=x.device) for k in range(sd))]
    return make_coo(torch.tensor(idx, device=x.device), vals, tuple(x.shape), True)


def to_sparse(self, *args, layout=None, blocksize=None, dense_dim=None):
    """``Tensor.to_sparse(sparse_dim)`` or ``to_sparse(*, layout, blocksize, dense_dim)``."""
    sparse_dim = args[0] if args else None
    if sparse_dim is not None and (layout is not None or blocksize is not None):
        raise RuntimeError("to_sparse: sparse_dim cannot be combined with layout or blocksize")
    if layout is None or layout is torch.sparse_coo:
        if blocksize is not None:
            raise RuntimeError("to_sparse for Strided to SparseCoo conversion does not use specified blocksize")
        if isinstance(self, SparseTensor):
            coo = self if type(self) is SparseCooTensor else self.to_sparse_coo()
            if sparse_dim is not None and sparse_dim != coo.sparse_dim():
                raise RuntimeError(f"to_sparse: conversion from Sparse to Sparse with sparse_dim argument !="
                                   f"self.sparse_dim() is not supported")
            return coo
        if dense_dim is not None:
            sparse_dim = self.ndim - dense_dim
        return dense_to_coo(self, sparse_dim)
    from ._compressed import to_compressed
    return to_compressed(self, layout, blocksize, dense_dim)


def to_dense(self, dtype=None, *, masked_grad=None):
    return self if dtype is None else self.to(dtype)


def sparse_mask(self, mask):
    """The entries of ``self`` at ``mask``'s specified positions (a sparse tensor with mask's pattern)."""
    if not isinstance(mask, SparseTensor):
        raise RuntimeError("sparse_mask: expected mask to be a sparse tensor")
    if tuple(self.shape) != tuple(mask.shape):
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size {list(self.shape)} but "
                           f"mask has size {list(mask.shape)}")
    if mask.layout is not torch.sparse_coo:
        return sparse_mask(self, mask.to_sparse_coo()).to_sparse(layout=mask.layout, blocksize=_bs(mask))
    dense = self.to_dense() if isinstance(self, SparseTensor) else self
    m = mask.coalesce()
    sd = m.sparse_dim()
    i = m._indices()
    vals = dense[tuple(i[k] for k in range(sd))] if sd else dense.unsqueeze(0)
    return make_coo(i, vals.to(dense.dtype), tuple(self.shape), mask.is_coalesced())


def _bs(t):
    return getattr(t, "_blocksize", None)


def sparse_zeros(kind, size, layout, dtype, device, requires_grad, like=None):
    """zeros/zeros_like/empty_like with a sparse layout: no entries (COO keeps ``like``'s sparse dims)."""
    from ._route import not_supported
    from ._compressed import make_compressed, _BLOCKED, _ROW_MAJOR
    if kind != "zeros":  # torch fills with fill_, which sparse tensors lack
        raise not_supported("fill_", (like,) if like is not None else ())
    dtype = dtype or torch.get_default_dtype()
    if layout is torch.sparse_coo:
        sd = like.sparse_dim() if isinstance(like, SparseCooTensor) else len(size)
        v = torch.zeros((0,) + tuple(size[sd:]), dtype=dtype, device=device)
        t = make_coo(torch.zeros((sd, 0), dtype=torch.int64, device=device), v, size, True)
    else:
        if len(size) != 2:
            raise NotImplementedError("only 2-D compressed sparse tensors are supported by jtorch")
        bs = like._blocksize if isinstance(like, SparseTensor) and _BLOCKED[layout.name] else (1, 1)
        n_outer = size[0] // bs[0] if _ROW_MAJOR[layout.name] else size[1] // bs[1]
        v = torch.zeros((0,) + (tuple(bs) if _BLOCKED[layout.name] else ()), dtype=dtype, device=device)
        t = make_compressed(layout.name, torch.zeros(n_outer + 1, dtype=torch.int64, device=device),
                            torch.zeros(0, dtype=torch.int64, device=device), v, size)
    return t.requires_grad_() if requires_grad else t

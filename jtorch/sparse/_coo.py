"""COO sparse tensors: an int64 ``indices`` tensor (sparse_dim x nnz) and a ``values`` tensor
(nnz x dense dims...), with torch's ``is_coalesced`` flag.

Index bookkeeping (coalescing, conversions) is numpy on concrete indices: the number of
entries depends on the data, so sparse tensors are eager-only (not traced by jtorch.compile).
Values always go through jtorch's dense ops, so autograd reaches them.
"""
import math

import numpy as np

import jtorch as torch
from .. import _dtype as D
from .._legacy import sparse_coo
from ._base import SparseTensor, _init, np_of


class SparseCooTensor(SparseTensor):
    is_sparse = True
    layout = sparse_coo
    _COMPONENTS = ("_i", "_v", "_c")

    # ---- components
    @property
    def _values_t(self):
        return self.__dict__["_v"]

    def _set_values(self, v):
        self.__dict__["_v"] = v

    def _rebuild(self, values, device=None):
        idx = self.__dict__["_i"]
        if device is not None:
            idx = idx.to(device)
        return make_coo(idx, values, self.shape, self.__dict__["_c"])

    def _sparse_parts(self):
        return self._i, self._v.detach(), self.shape, self.is_coalesced()

    def sparse_dim(self):
        return self.__dict__["_i"].shape[0]

    def dense_dim(self):
        return self.ndim - self.sparse_dim()

    def _nnz(self):
        return self.__dict__["_i"].shape[1]

    def is_coalesced(self):
        return self.__dict__["_c"]

    def _coalesced_(self, flag):
        self.__dict__["_c"] = bool(flag)
        return self

    def _indices(self):
        return self.__dict__["_i"]

    def _values(self):
        return self.__dict__["_v"].detach()  # untracked, as torch's (values() is the tracked one)

    def indices(self):
        if not self.__dict__["_c"]:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self.__dict__["_i"]

    def values(self):
        if not self.__dict__["_c"]:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self.__dict__["_v"]

    def stride(self, dim=None):
        s = (0,) * self.ndim
        return s if dim is None else s[dim]

    # ---- conversions
    def coalesce(self):
        if self.__dict__["_c"]:
            return self
        idx, inv = _unique_rows(np_of(self._i), self.shape[:self.sparse_dim()])
        v = self._v
        nv = torch.zeros((idx.shape[1],) + tuple(v.shape[1:]), dtype=v.dtype, device=v.device)
        nv = _index_add0(nv, torch.tensor(inv, device=v.device), v)
        out = make_coo(torch.tensor(idx, device=v.device), nv, self.shape, True)
        if out.requires_grad and torch.is_grad_enabled():
            out.__dict__["_dense_of"] = (_same, (self,))  # densely, coalescing changes nothing (_products)
        return out

    def to_dense(self, dtype=None, *, masked_grad=None):
        if masked_grad is False:  # torch then gives the (leaf's) gradient densely, not masked to its entries
            from ._products import dense_value
            out = dense_value(self, "_unmasked_leaf")
            return out if dtype is None else out.to(dtype)
        v = self._v
        sd = self.sparse_dim()
        sshape, dshape = self.shape[:sd], self.shape[sd:]
        lin = _linear(np_of(self._i), sshape)
        flat = torch.zeros((math.prod(sshape),) + tuple(dshape), dtype=v.dtype, device=v.device)
        out = _index_add0(flat, torch.tensor(lin, device=v.device), v).reshape(self.shape)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, *args, layout=None, blocksize=None, dense_dim=None):
        from ._convert import to_sparse
        return to_sparse(self, *args, layout=layout, blocksize=blocksize, dense_dim=dense_dim)

    def to_sparse_coo(self):
        return self

    def _leaf_grad(self, g):
        """A sparse leaf's gradient from its values' gradient ``g``: one entry per distinct index (torch's
        pattern), holding the gradient at that position (every duplicate of it received the same, since
        only ``values()`` of a coalesced tensor exposes single entries to autograd)."""
        sshape = self.shape[:self.sparse_dim()]
        lin = _linear(np_of(self._i), sshape)
        if lin.size < 2 or np.all(lin[1:] > lin[:-1]):  # distinct and sorted already
            return make_coo(self._i, g, self.shape, False)
        uniq, first = np.unique(lin, return_index=True)
        dev = g.device
        return make_coo(torch.tensor(_unlinear(uniq, sshape, len(sshape)), device=dev),
                        g[torch.tensor(first.astype(np.int64), device=dev)], self.shape, False)

    def sparse_resize_(self, size, sparse_dim, dense_dim):
        self._check_inplace()
        size = tuple(int(s) for s in size)
        if len(size) != sparse_dim + dense_dim:
            raise RuntimeError(f"number of dimensions must be sparse_dim ({sparse_dim}) + dense_dim ({dense_dim}), "
                               f"but got {len(size)}")
        nnz = self._nnz()
        if nnz and (sparse_dim != self.sparse_dim() or dense_dim != self.dense_dim()):
            raise RuntimeError("changing the number of sparse or dense dimensions of a non-empty sparse tensor is "
                               "not supported")
        old = tuple(self.shape)
        if nnz and any(n < o for n, o in zip(size[:sparse_dim], old[:sparse_dim])):
            raise RuntimeError(f"shrinking the size of sparse dimensions (from {list(old[:sparse_dim])} to "
                               f"{list(size[:sparse_dim])}) on a non-empty sparse tensor is not supported.")
        if nnz and size[sparse_dim:] != old[sparse_dim:]:
            raise RuntimeError(f"shrinking or expanding dense dimensions (from {list(old[sparse_dim:])} to "
                               f"{list(size[sparse_dim:])}) on a non-empty sparse tensor is not supported.")
        if not nnz:
            v = self._v
            self.__dict__["_i"] = torch.zeros((sparse_dim, 0), dtype=torch.int64, device=v.device)
            self.__dict__["_v"] = torch.zeros((0,) + size[sparse_dim:], dtype=v.dtype, device=v.device)
        self._meta = (size, self._meta[1])
        return self

    def sparse_resize_and_clear_(self, size, sparse_dim, dense_dim):
        self._check_inplace()
        v = self._v
        self.__dict__["_i"] = torch.zeros((sparse_dim, 0), dtype=torch.int64, device=v.device)
        self.__dict__["_v"] = torch.zeros((0,) + tuple(size)[sparse_dim:], dtype=v.dtype, device=v.device)
        self.__dict__["_c"] = True
        self._meta = (tuple(int(s) for s in size), self._meta[1])
        return self

    def zero_(self):
        return self.sparse_resize_and_clear_(self.shape, self.sparse_dim(), self.dense_dim())

    def sparse_mask(self, mask):
        from ._convert import sparse_mask
        return sparse_mask(self, mask)

    def smm(self, mat):
        from ._functional import smm
        return smm(self, mat)

    def hspmm(self, mat):
        from ._functional import hspmm
        return hspmm(self, mat)

    def sspaddmm(self, mat1, mat2, *, beta=1, alpha=1):
        from ._functional import sspaddmm
        return sspaddmm(self, mat1, mat2, beta=beta, alpha=alpha)

    @property
    def _i(self):
        return self.__dict__["_i"]

    @property
    def _v(self):
        return self.__dict__["_v"]


def _same(d):
    return d


def make_coo(indices, values, shape, coalesced):
    t = object.__new__(SparseCooTensor)
    _init(t, shape, values._shape_dtype()[1])
    t.__dict__.update(_i=indices, _v=values, _c=bool(coalesced))
    return t


def _linear(idx, sshape):
    """Row-major linear positions of the index columns (numpy), checked against the size."""
    idx = np.asarray(idx, np.int64)
    for d, n in enumerate(sshape):
        if idx.shape[1] and (idx[d].min() < 0 or idx[d].max() >= n):
            bad = idx[d].min() if idx[d].min() < 0 else idx[d].max()
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {n} but found index {bad}"
                               if bad >= 0 else f"found negative index {bad} for dim {d}")
    if not sshape:
        return np.zeros(idx.shape[1], np.int64)
    return np.ravel_multi_index(tuple(idx), tuple(sshape)) if idx.shape[1] else np.zeros(0, np.int64)


def _unique_rows(idx, sshape):
    """(sorted distinct index columns, position of each original column among them)."""
    lin = _linear(idx, sshape)
    uniq, inv = np.unique(lin, return_inverse=True)
    return _unlinear(uniq, sshape, idx.shape[0]), inv.reshape(-1).astype(np.int64)


def _unlinear(lin, sshape, sd):
    if not sshape:
        return np.zeros((sd, lin.size), np.int64)
    return np.stack(np.unravel_index(lin, tuple(sshape))).astype(np.int64).reshape(sd, -1)


def _index_add0(base, index, src):
    """base.index_add(0, index, src), bool values included (added as integers, then tested)."""
    if base.dtype is D.bool:
        return base.to(torch.int64).index_add(0, index, src.to(torch.int64)) != 0
    return base.index_add(0, index, src)


# ---------------------------------------------------------------- construction
def sparse_coo_tensor(indices, values=None, size=None, *, dtype=None, device=None, pin_memory=False,
                      requires_grad=False, check_invariants=None, is_coalesced=None):
    if values is None or (isinstance(values, (tuple, list, torch.Size)) and size is None
                          and not isinstance(indices, torch.Tensor) and _is_size(indices)):
        # torch.sparse_coo_tensor(size): an empty tensor of that size
        size = indices if values is None else values
        return _empty_coo(tuple(size), dtype or torch.get_default_dtype(), device, requires_grad)
    if not isinstance(indices, torch.Tensor):
        indices = torch.tensor(indices, dtype=torch.int64, device=device)
    if not isinstance(values, torch.Tensor):
        values = torch.tensor(values, dtype=dtype, device=device)
    if indices.dtype is not torch.int64:
        indices = indices.to(torch.int64)
    if dtype is not None and values.dtype is not dtype:
        values = values.to(dtype)
    if device is not None:
        values, indices = values.to(device), indices.to(device)
    if indices.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    sd, nnz = indices.shape
    if values.ndim == 0:
        raise RuntimeError("values must be at least 1-dimensional")
    if values.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {nnz}, nnz from "
                           f"values: {values.shape[0]}")
    dshape = tuple(values.shape[1:])
    idx_np = np_of(indices)
    if size is None:
        if nnz == 0 and sd:
            sshape = (0,) * sd
        else:
            sshape = tuple(int(m) + 1 for m in idx_np.max(axis=1)) if nnz else ()
        size = sshape + dshape
    size = tuple(int(s) for s in size)
    if len(size) != sd + len(dshape):
        raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
                           f"sparse_dim = {sd}, dense_dim = {len(dshape)}")
    if tuple(size[sd:]) != dshape:
        raise RuntimeError(f"values has incorrect size, expected {list(size[:0]) + [nnz] + list(size[sd:])}, got "
                           f"{list(values.shape)}")
    if check_invariants or (check_invariants is None and _CHECK[0]):
        _linear(idx_np, size[:sd])
    coalesced = bool(is_coalesced) if is_coalesced is not None else nnz < 2
    values = _own_values(values, requires_grad)
    return make_coo(indices, values, size, coalesced)


def _own_values(values, requires_grad):
    """The values a new sparse tensor holds: the caller's tensor when it carries a graph (a non-leaf
    whose gradient flows back to it, as torch's), else a fresh alias that may become a leaf."""
    if values.requires_grad:
        return values.view_as(values)
    v = values.detach()
    if requires_grad:
        v.requires_grad_(True)
    return v


def _is_size(x):
    return all(isinstance(s, int) for s in x)


def _empty_coo(size, dtype, device, requires_grad):
    v = torch.zeros((0,), dtype=dtype, device=device)
    t = make_coo(torch.zeros((len(size), 0), dtype=torch.int64, device=device), v, size, True)
    return t.requires_grad_(requires_grad) if requires_grad else t


def _sparse_coo_tensor_unsafe(indices, values, size=None, dtype=None, device=None, requires_grad=False,
                              is_coalesced=None):
    return sparse_coo_tensor(indices, values, size, dtype=dtype, device=device, requires_grad=requires_grad,
                             check_invariants=False, is_coalesced=is_coalesced)


_CHECK = [False]  # torch.sparse.check_sparse_tensor_invariants toggles it

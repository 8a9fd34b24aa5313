"""Compressed sparse layouts (CSR, CSC, BSR, BSC) of 2-D tensors: compressed indices (one
offset per row, or per column for CSC/BSC, plus one), plain indices and values (nnz scalars,
or nnz blocks for BSR/BSC).

Arithmetic goes through COO (``to_sparse_coo``); the values keep their autograd graph through
every conversion, so gradients reach them.
"""
import numpy as np

import jtorch as torch
from .._legacy import sparse_csr, sparse_csc, sparse_bsr, sparse_bsc
from ._base import SparseTensor, _init, np_of
from ._coo import SparseCooTensor, make_coo, _own_values

_ROW_MAJOR = {"sparse_csr": True, "sparse_bsr": True, "sparse_csc": False, "sparse_bsc": False}
_BLOCKED = {"sparse_csr": False, "sparse_csc": False, "sparse_bsr": True, "sparse_bsc": True}
_NAMES = {"sparse_csr": "Csr", "sparse_csc": "Csc", "sparse_bsr": "Bsr", "sparse_bsc": "Bsc"}
_LAYOUT_OF = {"sparse_csr": sparse_csr, "sparse_csc": sparse_csc, "sparse_bsr": sparse_bsr,
              "sparse_bsc": sparse_bsc}


class SparseCompressedTensor(SparseTensor):
    is_sparse = False
    _COMPONENTS = ("_lay", "_ci", "_pi", "_v")

    @property
    def layout(self):
        return _LAYOUT_OF[self.__dict__["_lay"]]

    @property
    def is_sparse_csr(self):
        return self.__dict__["_lay"] == "sparse_csr"

    @property
    def _values_t(self):
        return self.__dict__["_v"]

    @property
    def _compressed(self):
        return self.__dict__["_ci"]

    @property
    def _plain(self):
        return self.__dict__["_pi"]

    @property
    def _blocksize(self):
        v = self.__dict__["_v"]
        return tuple(v.shape[1:3]) if _BLOCKED[self.__dict__["_lay"]] else None

    def _set_values(self, v):
        self.__dict__["_v"] = v

    def _sparse_parts(self):
        return self._compressed, self._plain, self._values_t.detach(), self.shape

    def _rebuild(self, values, device=None):
        ci, pi = self._compressed, self._plain
        if device is not None:
            ci, pi = ci.to(device), pi.to(device)
        return make_compressed(self.__dict__["_lay"], ci, pi, values, self.shape)

    # ---- components, under torch's names for each layout
    def _need(self, row_major, what):
        if _ROW_MAJOR[self.__dict__["_lay"]] != row_major:
            raise RuntimeError(f"{what} expected sparse row compressed tensor layout but got "
                               f"Sparse{_NAMES[self.__dict__['_lay']]}" if row_major else
                               f"{what} expected sparse column compressed tensor layout but got "
                               f"Sparse{_NAMES[self.__dict__['_lay']]}")

    def crow_indices(self):
        self._need(True, "crow_indices")
        return self._compressed

    def col_indices(self):
        self._need(True, "col_indices")
        return self._plain

    def ccol_indices(self):
        self._need(False, "ccol_indices")
        return self._compressed

    def row_indices(self):
        self._need(False, "row_indices")
        return self._plain

    def values(self):
        return self.__dict__["_v"]

    def _nnz(self):
        return self._plain.shape[0]

    def sparse_dim(self):
        return 2

    def dense_dim(self):
        v = self.__dict__["_v"]
        return v.ndim - (3 if _BLOCKED[self.__dict__["_lay"]] else 1)

    def indices(self):
        raise RuntimeError(f"indices expected sparse coordinate tensor layout but got "
                           f"Sparse{_NAMES[self.__dict__['_lay']]}")

    _indices = indices

    def is_coalesced(self):
        raise RuntimeError(f"is_coalesced expected sparse coordinate tensor layout but got "
                           f"Sparse{_NAMES[self.__dict__['_lay']]}")

    def coalesce(self):
        raise RuntimeError(f"coalesce expected sparse coordinate tensor layout but got "
                           f"Sparse{_NAMES[self.__dict__['_lay']]}")

    def _leaf_grad(self, g):
        return self._rebuild(g)

    def t(self):
        """The transpose keeps the arrays and swaps the layout (CSR <-> CSC, BSR <-> BSC), as torch's."""
        lay = self.__dict__["_lay"]
        v = self._values_t
        if _BLOCKED[lay]:
            v = v.transpose(1, 2)
        swapped = {"sparse_csr": "sparse_csc", "sparse_csc": "sparse_csr", "sparse_bsr": "sparse_bsc",
                   "sparse_bsc": "sparse_bsr"}[lay]
        out = make_compressed(swapped, self._compressed, self._plain, v, tuple(reversed(self.shape)))
        if out.requires_grad and torch.is_grad_enabled():
            out.__dict__["_dense_of"] = (_dense_t, (self,))  # see _route._REPLAYABLE
        return out

    # ---- conversions
    def to_sparse_coo(self):
        """The same entries in COO, in this layout's order (blocks: every element of a stored block)."""
        lay = self.__dict__["_lay"]
        ci, pi = np_of(self._compressed), np_of(self._plain)
        outer = np.repeat(np.arange(len(ci) - 1), np.diff(ci))
        rows, cols = (outer, pi) if _ROW_MAJOR[lay] else (pi, outer)
        v = self._values_t
        dev = v.device
        if not _BLOCKED[lay]:
            idx = np.stack([rows, cols]).astype(np.int64)
            # CSR's entries come out sorted (coalesced); CSC's in column order (not coalesced), as torch's
            return make_coo(torch.tensor(idx, device=dev), v, self.shape, _ROW_MAJOR[lay])
        br, bc = v.shape[1], v.shape[2]
        # each block's entries, block by block: (nnz, br, bc) -> nnz*br*bc scalars
        r = (rows[:, None, None] * br + np.arange(br)[None, :, None] + 0 * np.arange(bc)[None, None, :])
        c = (cols[:, None, None] * bc + np.arange(bc)[None, None, :] + 0 * np.arange(br)[None, :, None])
        idx = np.stack([r.reshape(-1), c.reshape(-1)]).astype(np.int64)
        flat = v.reshape((-1,) + tuple(v.shape[3:]))
        return make_coo(torch.tensor(idx, device=dev), flat, self.shape, False)

    def to_dense(self, dtype=None, *, masked_grad=None):
        if masked_grad is False:
            from ._products import dense_value
            out = dense_value(self, "_unmasked_leaf")
            return out if dtype is None else out.to(dtype)
        return self.to_sparse_coo().to_dense(dtype)

    def to_sparse(self, *args, layout=None, blocksize=None, dense_dim=None):
        from ._convert import to_sparse
        return to_sparse(self, *args, layout=layout, blocksize=blocksize, dense_dim=dense_dim)

    def sparse_mask(self, mask):
        from ._convert import sparse_mask
        return sparse_mask(self, mask)


def _dense_t(d):
    return d.t()


def make_compressed(lay, compressed, plain, values, shape):
    t = object.__new__(SparseCompressedTensor)
    _init(t, shape, values._shape_dtype()[1])
    t.__dict__.update(_lay=lay, _ci=compressed, _pi=plain, _v=values)
    return t


# ---------------------------------------------------------------- conversion from COO / dense
def to_compressed(x, layout, blocksize=None, dense_dim=None):
    lay = layout.name
    if lay not in _ROW_MAJOR:
        raise RuntimeError(f"to_sparse: unsupported layout {layout}")
    if _BLOCKED[lay]:
        if blocksize is None:
            raise RuntimeError(f"to_sparse for Strided to Sparse{_NAMES[lay]} conversion requires blocksize "
                               "specified")
    elif blocksize is not None:
        raise RuntimeError(f"to_sparse for Strided to Sparse{_NAMES[lay]} conversion does not use specified "
                           "blocksize")
    if dense_dim:
        raise NotImplementedError("hybrid compressed sparse tensors (dense_dim > 0) are not supported by jtorch")
    if isinstance(x, SparseCompressedTensor):
        if x.layout is layout:
            return x
        x = x.to_sparse_coo()
    if x.ndim != 2:
        raise RuntimeError(f"to_sparse: only 2-D tensors can be converted to Sparse{_NAMES[lay]} by jtorch, got "
                           f"{x.ndim}-D")
    if _BLOCKED[lay]:
        return _to_blocked(x.to_dense() if isinstance(x, SparseTensor) else x, lay, tuple(blocksize))
    coo = x.coalesce() if isinstance(x, SparseCooTensor) else _dense_coo(x)
    if coo.dense_dim():
        raise NotImplementedError("hybrid COO to compressed conversion is not supported by jtorch")
    idx = np_of(coo._indices())
    v = coo._v
    n_outer = x.shape[0] if _ROW_MAJOR[lay] else x.shape[1]
    outer, inner = (idx[0], idx[1]) if _ROW_MAJOR[lay] else (idx[1], idx[0])
    order = np.lexsort((inner, outer))
    if not np.array_equal(order, np.arange(len(order))):
        v = v[torch.tensor(order.astype(np.int64), device=v.device)]
    outer, inner = outer[order], inner[order]
    ci = np.concatenate([[0], np.cumsum(np.bincount(outer, minlength=n_outer))]).astype(np.int64)
    dev = v.device
    return make_compressed(lay, torch.tensor(ci, device=dev), torch.tensor(inner.astype(np.int64), device=dev), v,
                           x.shape)


def _dense_coo(x):
    from ._convert import dense_to_coo
    return dense_to_coo(x)


def _to_blocked(x, lay, bs):
    br, bc = bs
    R, C = x.shape
    if R % br or C % bc:
        raise RuntimeError(f"Tensor size({R}, {C}) is not divisible by blocksize ({br}, {bc})")
    a = np_of(x)
    present = (a.reshape(R // br, br, C // bc, bc) != 0).any(axis=(1, 3))
    if not _ROW_MAJOR[lay]:
        present_t = present.T
        bcols, brows = np.nonzero(present_t)
    else:
        brows, bcols = np.nonzero(present)
    blocks = x.reshape(R // br, br, C // bc, bc).permute(0, 2, 1, 3)
    dev = x.device
    vals = blocks[torch.tensor(brows.astype(np.int64), device=dev), torch.tensor(bcols.astype(np.int64), device=dev)]
    outer, inner, n = (brows, bcols, R // br) if _ROW_MAJOR[lay] else (bcols, brows, C // bc)
    ci = np.concatenate([[0], np.cumsum(np.bincount(outer, minlength=n))]).astype(np.int64)
    return make_compressed(lay, torch.tensor(ci, device=dev), torch.tensor(inner.astype(np.int64), device=dev), vals,
                           x.shape)


# ---------------------------------------------------------------- constructors
def sparse_compressed_tensor(compressed_indices, plain_indices, values, size=None, *, dtype=None, layout=None,
                             device=None, pin_memory=False, requires_grad=False, check_invariants=None):
    if layout is None:
        raise RuntimeError("sparse_compressed_tensor: layout must be specified")
    return _construct(layout.name, compressed_indices, plain_indices, values, size, dtype, device, requires_grad)


def _factory(lay):
    def make(compressed_indices, plain_indices, values, size=None, *, dtype=None, device=None, pin_memory=False,
             requires_grad=False, check_invariants=None):
        return _construct(lay, compressed_indices, plain_indices, values, size, dtype, device, requires_grad)
    make.__name__ = f"sparse_{lay[7:]}_tensor"
    return make


def _construct(lay, ci, pi, values, size, dtype, device, requires_grad):
    ci = ci if isinstance(ci, torch.Tensor) else torch.tensor(ci, dtype=torch.int64, device=device)
    pi = pi if isinstance(pi, torch.Tensor) else torch.tensor(pi, dtype=torch.int64, device=device)
    values = values if isinstance(values, torch.Tensor) else torch.tensor(values, dtype=dtype, device=device)
    if dtype is not None and values.dtype is not dtype:
        values = values.to(dtype)
    if ci.dtype is not pi.dtype:
        raise RuntimeError(f"{_cname(lay)}_indices and {_pname(lay)}_indices must have the same dtype, bot got "
                           f"{ci.dtype} and {pi.dtype}")
    if ci.ndim != 1 or pi.ndim != 1:
        raise NotImplementedError("batched compressed sparse tensors are not supported by jtorch")
    blocked = _BLOCKED[lay]
    if values.ndim != (3 if blocked else 1):
        raise RuntimeError(f"values must be a {'3' if blocked else '1'}-D tensor for Sparse{_NAMES[lay]} layout "
                           f"in jtorch, got {values.ndim}-D")
    nnz = pi.shape[0]
    if values.shape[0] != nnz:
        raise RuntimeError(f"{_pname(lay)}_indices and values must have the same number of elements, but got "
                           f"{nnz} and {values.shape[0]}")
    c, p = np_of(ci), np_of(pi)
    if c.size == 0 or c[0] != 0:
        raise RuntimeError(f"`{_cname(lay)}_indices[..., 0] == 0` is not satisfied.")
    if c[-1] != nnz:
        raise RuntimeError(f"`{_cname(lay)}_indices[..., -1] == nnz` is not satisfied.")
    if np.any(np.diff(c) < 0):
        raise RuntimeError(f"`0 <= {_cname(lay)}_indices[..., 1:] - {_cname(lay)}_indices[..., :-1] <= "
                           f"{'ncols' if not _ROW_MAJOR[lay] else 'ncols'}` is not satisfied.")
    bs = tuple(values.shape[1:3]) if blocked else (1, 1)
    if size is None:
        n_outer = len(c) - 1
        n_inner = int(p.max()) + 1 if p.size else 0
        size = (n_outer * bs[0], n_inner * bs[1]) if _ROW_MAJOR[lay] else (n_inner * bs[0], n_outer * bs[1])
    size = tuple(int(s) for s in size)
    if len(size) != 2:
        raise NotImplementedError("only 2-D compressed sparse tensors are supported by jtorch")
    n_outer_expected = size[0] // bs[0] if _ROW_MAJOR[lay] else size[1] // bs[1]
    if len(c) - 1 != n_outer_expected:
        raise RuntimeError(f"{_cname(lay)}_indices.size(-1) must be equal to size[{0 if _ROW_MAJOR[lay] else 1}] "
                           f"+ 1 (that is {n_outer_expected + 1}), but got: {len(c)}")
    inner_n = size[1] // bs[1] if _ROW_MAJOR[lay] else size[0] // bs[0]
    if p.size and (p.min() < 0 or p.max() >= inner_n):
        raise RuntimeError(f"`0 <= {_pname(lay)}_indices < {'ncols' if _ROW_MAJOR[lay] else 'nrows'}` is not "
                           "satisfied.")
    return make_compressed(lay, ci, pi, _own_values(values, requires_grad), size)


def _cname(lay):
    return "crow" if _ROW_MAJOR[lay] else "ccol"


def _pname(lay):
    return "col" if _ROW_MAJOR[lay] else "row"


sparse_csr_tensor = _factory("sparse_csr")
sparse_csc_tensor = _factory("sparse_csc")
sparse_bsr_tensor = _factory("sparse_bsr")
sparse_bsc_tensor = _factory("sparse_bsc")

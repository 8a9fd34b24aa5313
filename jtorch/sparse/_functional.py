"""The torch.sparse functions: mm, addmm, sum, softmax, log_softmax."""
import numpy as np

import jtorch as torch
from ._base import SparseTensor, np_of
from ._coo import SparseCooTensor, make_coo, _linear
from ._products import spmm, _addmm
from ._structure import sparse_sum_dims


def mm(mat1, mat2, reduce=None):
    if reduce is not None:
        raise NotImplementedError("torch.sparse.mm with reduce= is not supported by jtorch")
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {mat1.ndim}-D and {mat2.ndim}-D")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    if mat1.dtype is not mat2.dtype:
        raise RuntimeError(f"mm: expected mat1 and mat2 to have the same dtype, but got: {mat1.dtype} != "
                           f"{mat2.dtype}")
    return spmm(mat1, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    return _addmm(None, mat, mat1, mat2, beta, alpha, masked=True)


def sum(input, dim=None, dtype=None):
    if type(input) is not SparseCooTensor:  # torch's sparse.sum coalesces first: COO only
        lay = "Strided" if not isinstance(input, SparseTensor) else "Sparse" + input.layout.name[7:].capitalize()
        raise RuntimeError(f"coalesce expected sparse coordinate tensor layout but got {lay}")
    x = input
    if dim is None:
        return x._v.sum() if dtype is None else x._v.sum(dtype=dtype)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    nd = x.ndim
    dims = tuple(sorted({_wrap(d, nd) for d in dims}))
    v = x._v if dtype is None else x._v.to(dtype)
    if len(dims) == nd:
        return v.sum()
    return sparse_sum_dims(x, v, dims)


def _wrap(d, nd):
    if not -nd <= d < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {d})")
    return d % nd


def softmax(input, dim, *, dtype=None):
    return _softmax(input, dim, dtype, log=False)


def log_softmax(input, dim, *, dtype=None):
    return _softmax(input, dim, dtype, log=True)


def _softmax(input, dim, dtype, log):
    """Softmax over the specified entries only (unspecified ones count as -inf, as in torch)."""
    if type(input) is not SparseCooTensor:
        raise NotImplementedError(f"torch.sparse.{'log_' if log else ''}softmax supports sparse COO tensors only")
    x = input.coalesce()
    dim = _wrap(dim, x.ndim)
    v = x._v
    if dtype is not None:
        v = v.to(dtype)
    sd = x.sparse_dim()
    if dim >= sd:  # along a dense dim: each value row on its own
        f = torch.log_softmax if log else torch.softmax
        return make_coo(x._indices(), f(v, dim - sd + 1), x.shape, True)
    idx = np_of(x._indices())
    rest = np.delete(idx, dim, axis=0)
    shape_rest = tuple(s for k, s in enumerate(x.shape[:sd]) if k != dim)
    _, gid = np.unique(_linear(rest, shape_rest), return_inverse=True)
    gid = gid.reshape(-1).astype(np.int64)
    ngroups = int(gid.max()) + 1 if gid.size else 0
    vn = np_of(v)
    mx = np.full((ngroups,) + vn.shape[1:], -np.inf, vn.dtype)
    np.maximum.at(mx, gid, vn)  # the shift only steadies exp: no gradient needed through it
    g = torch.tensor(gid, device=v.device)
    shifted = v - torch.tensor(mx, device=v.device)[g]
    e = shifted.exp()
    denom = torch.zeros((ngroups,) + tuple(v.shape[1:]), dtype=v.dtype, device=v.device).index_add(0, g, e)
    out = shifted - denom.log()[g] if log else e / denom[g]
    return make_coo(x._indices(), out, x.shape, True)


class check_sparse_tensor_invariants:
    """Turns on (or off) validation of the indices given to the sparse constructors."""

    def __init__(self, enable=True):
        self.state = enable
        self.saved = None

    @staticmethod
    def is_enabled():
        from ._coo import _CHECK
        return _CHECK[0]

    @staticmethod
    def enable():
        from ._coo import _CHECK
        _CHECK[0] = True

    @staticmethod
    def disable():
        from ._coo import _CHECK
        _CHECK[0] = False

    def __enter__(self):
        from ._coo import _CHECK
        self.saved = _CHECK[0]
        _CHECK[0] = self.state
        return self

    def __exit__(self, *exc):
        from ._coo import _CHECK
        _CHECK[0] = self.saved

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*a, **k):
            with check_sparse_tensor_invariants(self.state):
                return fn(*a, **k)
        return wrapped


# ---------------------------------------------------------------- sparse-result products
def _rows_product(mat1, mat2, name):
    """(distinct rows of the sparse mat1, (mat1 @ mat2) at those rows)."""
    if name == "hspmm" and not isinstance(mat1, SparseTensor):  # torch has no dense hspmm kernel at all
        raise NotImplementedError("Could not run 'aten::hspmm' with arguments from the 'CPU' backend")
    if type(mat1) is not SparseCooTensor or isinstance(mat2, SparseTensor):
        raise RuntimeError(f"{name}: expected a sparse COO mat1 and a dense mat2")
    out = mm(mat1, mat2)
    rows = np.unique(np_of(mat1._indices())[0]).astype(np.int64)
    r = torch.tensor(rows, device=out.device)
    return rows, out[r]


def smm(input, mat):
    """sparse @ dense as a sparse tensor: every column of each row that has entries."""
    rows, vals = _rows_product(input, mat, "smm")
    k = mat.shape[1]
    idx = np.stack([np.repeat(rows, k), np.tile(np.arange(k), len(rows))]).astype(np.int64)
    return make_coo(torch.tensor(idx, device=vals.device), vals.reshape(-1), (input.shape[0], k),
                    len(rows) * k < 2)


def hspmm(mat1, mat2):
    """sparse @ dense as a hybrid COO tensor (one sparse dim: the rows that have entries)."""
    rows, vals = _rows_product(mat1, mat2, "hspmm")
    return make_coo(torch.tensor(rows.reshape(1, -1), device=vals.device), vals, (mat1.shape[0], mat2.shape[1]),
                    len(rows) < 2)


def sspaddmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2), sparse: input's entries, then smm's."""
    if type(input) is not SparseCooTensor:
        raise RuntimeError("sspaddmm: expected a sparse COO input")
    prod = smm(mat1, mat2)
    if tuple(prod.shape) != tuple(input.shape):
        raise RuntimeError(f"sspaddmm: input has size {list(input.shape)} but mat1 @ mat2 has size "
                           f"{list(prod.shape)}")
    vals = torch.cat([input._v * beta, prod._v * alpha])
    return make_coo(torch.cat([input._indices(), prod._indices()], 1), vals, tuple(input.shape), vals.shape[0] < 2)


# torch's older names for these products
def dsmm(input, mat2):
    """torch.dsmm: torch.mm (a sparse @ dense product is dense)."""
    return torch.mm(input, mat2)


def spmm_alias(input, mat2):
    """torch.spmm: torch.mm."""
    return torch.mm(input, mat2)


hsmm = hspmm


def saddmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """torch.saddmm: sspaddmm with an ``out=``."""
    res = sspaddmm(input, mat1, mat2, beta=beta, alpha=alpha)
    return res if out is None else out.copy_(res)


def sampled_addmm(input, mat1, mat2, *, beta=1.0, alpha=1.0, out=None):
    """beta * input + alpha * (mat1 @ mat2) at input's entries only (input sparse CSR)."""
    if input.layout is not torch.sparse_csr:
        raise RuntimeError(f"sampled_addmm: Expected input to be a sparse CSR tensor, but got {input.layout}")
    if mat1.shape[1] != mat2.shape[0] or (input.shape[0], input.shape[1]) != (mat1.shape[0], mat2.shape[1]):
        raise RuntimeError(f"sampled_addmm: input of size {list(input.shape)} can't take the product of "
                           f"{list(mat1.shape)} and {list(mat2.shape)}")
    coo = input.to_sparse_coo()
    rows, cols = coo._indices()[0], coo._indices()[1]
    dots = (mat1[rows] * mat2.t()[cols]).sum(1)
    res = input._rebuild(input.values() * beta + dots * alpha)
    if out is not None:
        return out._take(res)
    return res


def spdiags(diagonals, offsets, shape, layout=None):
    """A sparse matrix with ``diagonals[i]`` on diagonal ``offsets[i]`` (element j of a row of diagonals
    goes to column j, as scipy's spdiags)."""
    if diagonals.ndim != 2 or offsets.ndim != 1 or diagonals.shape[0] != offsets.shape[0]:
        raise RuntimeError("spdiags: expected 2-D diagonals and 1-D offsets with one offset per diagonal")
    rows_n, cols_n = shape
    offs = np_of(offsets).astype(np.int64)
    if len(set(offs.tolist())) != len(offs):
        raise RuntimeError("spdiags: offsets tensor contains duplicate values")
    r_all, c_all, which = [], [], []
    for i, o in enumerate(offs):
        j = np.arange(min(diagonals.shape[1], cols_n))
        j = j[(j - o >= 0) & (j - o < rows_n)]
        r_all.append(j - o)
        c_all.append(j)
        which.append(i * diagonals.shape[1] + j)
    cat = lambda xs: np.concatenate(xs).astype(np.int64) if xs else np.zeros(0, np.int64)  # noqa: E731
    idx = np.stack([cat(r_all), cat(c_all)])
    dev = diagonals.device
    vals = diagonals.reshape(-1)[torch.tensor(cat(which), device=dev)]
    res = make_coo(torch.tensor(idx, device=dev), vals, (rows_n, cols_n), idx.shape[1] < 2)
    if layout is None or layout is torch.sparse_coo:
        return res
    return res.to_sparse(layout=layout)

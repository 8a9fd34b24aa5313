"""Sparse kernels that change a tensor's structure: sum over dims, permute/transpose, select and
integer indexing, index_select, unsqueeze, cat."""
import numpy as np

import jtorch as torch
from ._base import np_of
from ._coo import SparseCooTensor, make_coo, _unique_rows, _index_add0
from ._route import kernel, not_supported, _coo


# ---------------------------------------------------------------- reductions
@kernel("_sum")
def _sum(op, x, dim=None, keepdim=False, dtype=None):
    if type(x) is not SparseCooTensor and dim is not None and not keepdim:
        raise RuntimeError("reduction operations on CSR tensors with keepdim=False is unsupported")
    full = dim is None or (isinstance(dim, tuple) and len(dim) == x.ndim)
    if full and x.requires_grad and torch.is_grad_enabled():
        # torch's Tensor.sum gives a sparse operand a dense gradient (torch.sparse.sum a masked one)
        from ._products import dense_value
        d = dense_value(x)
        return d.sum() if dtype is None else d.sum(dtype=dtype)
    x = _coo(x)
    v = x._v
    if dtype is not None:
        v = v.to(dtype)
    if full:
        return v.sum() if dtype is None else v.sum(dtype=dtype)
    if keepdim:
        raise RuntimeError("sum on a sparse tensor does not support keepdim=True")
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return sparse_sum_dims(x, v, dims)


def sparse_sum_dims(x, v, dims):
    sd = x.sparse_dim()
    sdims = sorted(d for d in dims if d < sd)
    ddims = sorted(d for d in dims if d >= sd)
    if ddims:
        v = v.sum([d - sd + 1 for d in ddims])
    if not sdims:
        return make_coo(x._i, v, tuple(s for k, s in enumerate(x.shape) if k not in dims), x.is_coalesced()).coalesce()
    keep = [k for k in range(sd) if k not in sdims]
    if not keep:  # every sparse dim reduced: a dense result
        return v.sum(0)
    new_shape = tuple(s for k, s in enumerate(x.shape) if k not in dims)
    idx = np_of(x._i)[keep]
    uniq, inv = _unique_rows(idx, tuple(x.shape[k] for k in keep))
    nv = torch.zeros((uniq.shape[1],) + tuple(v.shape[1:]), dtype=v.dtype, device=v.device)
    nv = _index_add0(nv, torch.tensor(inv, device=v.device), v)
    return make_coo(torch.tensor(uniq, device=v.device), nv, new_shape, True)


# ---------------------------------------------------------------- shape
@kernel("_permute")
def _permute(op, x, dims=()):
    if type(x) is not SparseCooTensor:
        if tuple(dims) == (1, 0):  # t()/transpose of a compressed tensor: the other compressed layout
            return x.t()
        if tuple(dims) == (0, 1):
            return x
        raise not_supported("permute", (x,))
    sd = x.sparse_dim()
    dims = tuple(dims)
    if sorted(dims[:sd]) != list(range(sd)):
        raise RuntimeError("permute(sparse_coo): transpositions between sparse and dense dimensions are not "
                           "allowed. Only transpositions within sparse and within dense dimensions are allowed.")
    idx = x._i[list(dims[:sd])] if dims[:sd] != tuple(range(sd)) else x._i
    v = x._v
    if dims[sd:] != tuple(range(sd, x.ndim)):
        v = v.permute(0, *[d - sd + 1 for d in dims[sd:]])
    return make_coo(idx, v, tuple(x.shape[d] for d in dims), x._nnz() < 2)



# ---------------------------------------------------------------- indexing and joining (COO)
def _coo_only(name, x):
    if type(x) is not SparseCooTensor:
        raise not_supported(name, (x,))


def select(x, dim, i):
    """x.select(dim, i): a sparse dim keeps the entries at i (their order), a dense dim selects in the values."""
    sd = x.sparse_dim()
    i = i % x.shape[dim]
    shape = tuple(s for k, s in enumerate(x.shape) if k != dim)
    if dim >= sd:
        return make_coo(x._i, x._v.select(dim - sd + 1, i), shape, x._nnz() < 2)
    idx = np_of(x._i)
    keep = np.nonzero(idx[dim] == i)[0].astype(np.int64)
    dev = x._v.device
    if sd == 1:  # no sparse dim left: the (dense) sum of the entries at i
        return x._v[torch.tensor(keep, device=dev)].sum(0)
    new_idx = np.delete(idx[:, keep], dim, axis=0).astype(np.int64)
    return make_coo(torch.tensor(new_idx, device=dev), x._v[torch.tensor(keep, device=dev)], shape, keep.size < 2)


@kernel("_basic_index_op")
def _basic_index(op, x, starts, index=()):
    """Integer indices and full slices (``x[i]``, ``x.select(d, i)``); other slices and new axes need
    strides, which torch's sparse tensors lack (its as_strided error)."""
    _coo_only("as_strided", x)
    picks, d = [], 0
    for e, start in zip(index, starts):
        if e == "i":
            picks.append((d, int(start)))
        elif e is None or not (int(start) == 0 and e[0] == x.shape[d] and e[1] == 1):
            raise not_supported("as_strided", (x,))
        d += 1
    out = x
    for dim, i in reversed(picks):  # last first: earlier dims keep their numbers
        out = select(out, dim, i)
    return out


@kernel("_index_select")
def _index_select(op, x, index, dim=0):
    _coo_only("index_select", x)
    sd = x.sparse_dim()
    if dim >= sd:
        v = x._v.index_select(dim - sd + 1, index)
        return make_coo(x._i, v, tuple(x.shape[:sd]) + tuple(v.shape[1:]), x._nnz() < 2)
    idx = np_of(x._i)
    ind = np_of(index).reshape(-1)
    ks, es = [], []
    for k, val in enumerate(ind):  # index position first, then entry order (torch's order)
        e = np.nonzero(idx[dim] == val)[0]
        ks.append(np.full(e.size, k))
        es.append(e)
    ks = np.concatenate(ks).astype(np.int64) if ks else np.zeros(0, np.int64)
    es = np.concatenate(es).astype(np.int64) if es else np.zeros(0, np.int64)
    new_idx = idx[:, es].copy()
    new_idx[dim] = ks
    dev = x._v.device
    shape = tuple(len(ind) if k == dim else s for k, s in enumerate(x.shape))
    return make_coo(torch.tensor(new_idx.astype(np.int64), device=dev), x._v[torch.tensor(es, device=dev)], shape,
                    es.size < 2)


@kernel("_unsqueeze")
def _unsqueeze(op, x, dim=0):
    _coo_only("unsqueeze", x)
    sd = x.sparse_dim()
    shape = tuple(x.shape[:dim]) + (1,) + tuple(x.shape[dim:])
    if dim > sd:
        return make_coo(x._i, x._v.unsqueeze(dim - sd + 1), shape, x._nnz() < 2)
    i = x._i
    zero = torch.zeros((1, i.shape[1]), dtype=i.dtype, device=i.device)
    return make_coo(torch.cat([i[:dim], zero, i[dim:]], 0), x._v, shape, x._nnz() < 2)


@kernel("_cat")
def _cat(op, tensors, dim=0):
    tensors = list(tensors)
    if not all(type(t) is SparseCooTensor for t in tensors):
        raise not_supported("cat", tensors)
    first = tensors[0]
    sd = first.sparse_dim()
    for t in tensors[1:]:
        if t.sparse_dim() != sd or t.ndim != first.ndim:
            raise RuntimeError("cat: sparse tensors must have the same numbers of sparse and dense dimensions")
        if any(a != b for k, (a, b) in enumerate(zip(t.shape, first.shape)) if k != dim):
            raise RuntimeError(f"cat: all tensors must have the same shape except in dimension {dim}, but got "
                               f"{list(first.shape)} and {list(t.shape)}")
    if dim >= sd:
        raise not_supported("cat", tensors)  # along a dense dimension: not implemented here
    dev = first._v.device
    parts, off = [], 0
    for t in tensors:
        i = t._i
        if off:
            shift = torch.zeros((sd, 1), dtype=i.dtype, device=dev)
            shift[dim, 0] = off
            i = i + shift
        parts.append(i)
        off += t.shape[dim]
    dt = torch.result_type(*[t._v for t in tensors]) if len(tensors) > 1 else first.dtype
    shape = tuple(off if k == dim else s for k, s in enumerate(first.shape))
    nnz = sum(t._nnz() for t in tensors)
    return make_coo(torch.cat(parts, 1), torch.cat([t._v.to(dt) for t in tensors], 0), shape, nnz < 2)

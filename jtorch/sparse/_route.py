"""Sparse kernels for the dense ops torch also runs on sparse tensors.

``_dispatch.apply`` calls ``route(op, dyn, statics)`` when one of an op's arguments is a sparse
tensor (see ``_base``). Kernels are keyed by the name of the op that met the sparse tensor:
the primitive under torch's Python-level function (``torch.mm`` -> ``_matmul``,
``torch.sum`` -> ``_sum``), so argument checks stay in the dense wrappers. Everything else
raises torch's NotImplementedError for a missing sparse kernel.
"""
import numpy as np

import jtorch as torch
from .. import _dispatch
from ._base import SparseTensor, np_of
from ._coo import SparseCooTensor, make_coo, _unique_rows, _index_add0, _linear, _unlinear

KERNELS = {}


def route(op, dyn, statics):
    try:
        fn = KERNELS.get(op.name)
        if fn is None:
            raise not_supported(op.name, dyn)
        return fn(op, *dyn, **dict(zip(op.static_names, statics)))
    except Exception as e:
        if isinstance(e.__context__, _dispatch.SparseArgument):
            e.__suppress_context__ = True  # raised while apply handled the reroute: not part of the story
        raise


def not_supported(name, args):
    s = next((a for a in _flat(args) if isinstance(a, SparseTensor)), None)
    backend = {"sparse_coo": "Sparse", "sparse_csr": "SparseCsr", "sparse_csc": "SparseCsr",
               "sparse_bsr": "SparseCsr", "sparse_bsc": "SparseCsr"}[s.layout.name] if s is not None else "Sparse"
    dev = "CUDA" if s is not None and s.device.type == "cuda" else "CPU"
    return NotImplementedError(
        f"Could not run 'aten::{name.lstrip('_')}' with arguments from the '{backend}{dev}' backend. This could be "
        "because the operator doesn't exist for this backend, or was omitted during the selective/custom build "
        "process (if using custom build).")


def _flat(args):
    for a in args:
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a


def kernel(*names):
    def deco(fn):
        for n in names:
            KERNELS[n] = fn
        return fn
    return deco


def _coo(x):
    """A COO view of any sparse operand (compressed layouts convert)."""
    return x if type(x) is SparseCooTensor else x.to_sparse_coo()


def _is_scalar(x):
    return not isinstance(x, torch.Tensor) or (x.ndim == 0 and not isinstance(x, SparseTensor))


# ---------------------------------------------------------------- elementwise, values only
# f(0) == 0 and f is not additive: duplicates are summed first, the result is coalesced
_NONLINEAR = ("abs", "sqrt", "sin", "tanh", "relu", "square", "sign", "floor", "ceil", "round", "trunc", "expm1",
              "log1p", "asin", "asinh", "atan", "atanh", "sinh", "erf", "erfinv", "frac", "sgn", "deg2rad",
              "rad2deg", "tan", "nan_to_num", "signbit", "isnan", "isinf", "isposinf", "isneginf", "_abs")
# linear in the values: duplicates may stay
_LINEAR = ("neg", "positive", "conj", "clone", "_cast", "_conj", "conj_physical", "_neg")


@kernel(*_NONLINEAR)
def _unary_nonlinear(op, x, **kw):
    if type(x) is SparseCooTensor:
        x = x.coalesce()
    out = x._rebuild(op(x._values_t, **kw))
    if type(out) is SparseCooTensor:
        out._coalesced_(True)
    return out


@kernel(*_LINEAR)
def _unary_linear(op, x, **kw):
    if type(x) is SparseCooTensor and op.name == "clone":
        return make_coo(x._i.clone(), op(x._v, **kw), x.shape, x.is_coalesced())
    return x._rebuild(op(x._values_t, **kw))


# ---------------------------------------------------------------- binary
@kernel("add", "sub")
def _add(op, a, b, alpha=1):
    alpha = 1 if alpha is None else alpha
    if op.name == "sub":
        alpha = -alpha
    if not isinstance(a, SparseTensor):  # dense + sparse -> dense
        if isinstance(b, SparseTensor):
            if tuple(a.shape) != tuple(b.shape):
                raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has size "
                                   f"{list(a.shape)} while other has size {list(b.shape)} (FYI: dense-sparse "
                                   "addition does not currently support broadcasting)")
            return torch.add(a, dense_value(b), alpha=alpha)
    if not isinstance(b, SparseTensor):
        raise RuntimeError(f"{op.name}(sparse, dense) is not supported. Use {op.name}(dense, sparse) instead.")
    if a.layout is not b.layout:
        raise RuntimeError(f"{op.name}(): expected both tensors to have the same layout, got {a.layout} and "
                           f"{b.layout}")
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but {list(a.shape)} != "
                           f"{list(b.shape)}")
    lay = a.layout
    if lay.name in ("sparse_csc", "sparse_bsc"):  # torch's add reads crow_indices of any compressed operand
        raise RuntimeError(f"crow_indices expected sparse row compressed tensor layout but got "
                           f"Sparse{lay.name[7:].capitalize()}")
    a, b = _coo(a), _coo(b)
    if a.sparse_dim() != b.sparse_dim():
        raise RuntimeError(f"add: expected 'self' and 'other' to have same sparse dimensions, but "
                           f"{a.sparse_dim()} != {b.sparse_dim()}")
    dt = torch.result_type(a._v, b._v)
    bv = b._v if isinstance(alpha, (int, float)) and alpha == 1 else b._v * alpha
    idx, pos_a, pos_b = _merge(np_of(a._i), np_of(b._i), tuple(a.shape[:a.sparse_dim()]))
    dev = a._v.device
    vals = torch.zeros((idx.shape[1],) + tuple(a._v.shape[1:]), dtype=dt, device=dev)
    vals = _index_add0(vals, torch.tensor(pos_a, device=dev), a._v.to(dt))
    vals = _index_add0(vals, torch.tensor(pos_b, device=dev), bv.to(dt))
    out = make_coo(torch.tensor(idx, device=dev), vals, a.shape, a.is_coalesced() and b.is_coalesced())
    return out if lay is torch.sparse_coo else out.to_sparse(layout=lay, blocksize=_blocksize(a, lay))


def _blocksize(a, lay):
    return getattr(a, "_blocksize", None) if lay.name in ("sparse_bsr", "sparse_bsc") else None


def _merge(ia, ib, sshape):
    """torch's sparse add: one pass over both entry lists comparing linear indices, taking the smaller
    and summing a pair that meets at the same index. (On coalesced inputs it is the sorted union.)
    Returns the merged indices and where each entry of a and of b went."""
    la, lb = _linear(ia, sshape), _linear(ib, sshape)
    if _increasing(la) and _increasing(lb):  # both coalesced: the sorted union, vectorised
        lin = np.union1d(la, lb)
        return _unlinear(lin, sshape, ia.shape[0]), np.searchsorted(lin, la), np.searchsorted(lin, lb)
    na, nb = la.size, lb.size
    pos_a, pos_b = np.empty(na, np.int64), np.empty(nb, np.int64)
    lin = []
    i = j = 0
    while i < na and j < nb:
        if la[i] < lb[j]:
            pos_a[i] = len(lin); lin.append(la[i]); i += 1
        elif lb[j] < la[i]:
            pos_b[j] = len(lin); lin.append(lb[j]); j += 1
        else:
            pos_a[i] = pos_b[j] = len(lin); lin.append(la[i]); i += 1; j += 1
    pos_a[i:] = len(lin) + np.arange(na - i)
    lin.extend(la[i:])
    pos_b[j:] = len(lin) + np.arange(nb - j)
    lin.extend(lb[j:])
    return _unlinear(np.asarray(lin, np.int64), sshape, ia.shape[0]), pos_a, pos_b


def _increasing(lin):
    return lin.size < 2 or bool(np.all(lin[1:] > lin[:-1]))


@kernel("mul")
def _mul(op, a, b):
    if _is_scalar(b) or _is_scalar(a):
        s, scal = (a, b) if _is_scalar(b) else (b, a)
        return s._rebuild(s._values_t * scal)
    if isinstance(a, SparseTensor) and isinstance(b, SparseTensor):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"mul(sparse, sparse): expected both tensors to have the same size, got "
                               f"{list(a.shape)} and {list(b.shape)}")
        a, b = _coo(a).coalesce(), _coo(b).coalesce()
        sd = a.sparse_dim()
        sshape = tuple(a.shape[:sd])
        _, ia, ib = np.intersect1d(_linear(np_of(a._i), sshape), _linear(np_of(b._i), sshape), return_indices=True)
        idx = np_of(a._i)[:, ia] if ia.size else np.zeros((sd, 0), np.int64)
        dev = a._v.device
        va = a._v[torch.tensor(ia.astype(np.int64), device=dev)]
        vb = b._v[torch.tensor(ib.astype(np.int64), device=dev)]
        return make_coo(torch.tensor(idx.astype(np.int64), device=dev), va * vb, a.shape, True)
    s, d = (a, b) if isinstance(a, SparseTensor) else (b, a)
    s = _coo(s)
    if tuple(d.shape) != tuple(s.shape):
        raise RuntimeError(f"mul(sparse, dense): expected both tensors to have the same size, got {list(s.shape)} "
                           f"and {list(d.shape)}")
    sd = s.sparse_dim()
    picked = d[tuple(s._i[k] for k in range(sd))]
    return make_coo(s._i, s._v * picked, s.shape, s.is_coalesced())


@kernel("_true_divide", "_true_div")
def _div(op, a, b):
    if not isinstance(a, SparseTensor) or not _is_scalar(b):
        raise not_supported("div", (a, b))
    return a._rebuild(op(a._values_t, b))


@kernel("_pow")
def _pow(op, a, b):
    if not isinstance(a, SparseTensor) or not _is_scalar(b):
        raise not_supported("pow", (a, b))
    if (b.item() if isinstance(b, torch.Tensor) else b) == 0:
        raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor")
    a = a.coalesce() if type(a) is SparseCooTensor else a
    out = a._rebuild(op(a._values_t, b))
    if type(out) is SparseCooTensor:
        out._coalesced_(True)
    return out


# ---------------------------------------------------------------- reductions
@kernel("_sum")
def _sum(op, x, dim=None, keepdim=False, dtype=None):
    x = _coo(x)
    v = x._v
    if dtype is not None:
        v = v.to(dtype)
    if dim is None or (isinstance(dim, tuple) and len(dim) == x.ndim):
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


# ---------------------------------------------------------------- products
@kernel("_matmul")
def _matmul(op, a, b):
    return product(a, b)


def product(a, b):
    """torch.mm/matmul/addmm with a sparse operand. Their gradient for a sparse *leaf* is dense in torch
    (the full ``grad @ other^T``, not masked to the specified entries as torch.sparse.mm's is): such a
    leaf routes its gradient through a dense stand-in leaf (``_dense_grad_leaf``)."""
    s = a if isinstance(a, SparseTensor) else b
    if isinstance(a, SparseTensor) and isinstance(b, SparseTensor) or not (
            s.requires_grad and s.is_leaf and torch.is_grad_enabled()):
        return spmm(a, b)
    return _leaf_product().apply(_dense_grad_leaf(s), b if a is s else a, _Hold(s), a is s)


def dense_value(s, key="_dense_leaf"):
    """``s.to_dense()``; for a sparse leaf that requires grad, one whose gradient reaches the leaf's dense
    stand-in ``key`` unmasked: dense as torch's dense + sparse sends it (``_dense_leaf``), or made sparse
    from the dense gradient as ``to_dense(masked_grad=False)`` (``_unmasked_leaf``)."""
    if not (s.requires_grad and s.is_leaf and torch.is_grad_enabled()):
        return s.to_dense(masked_grad=True)
    return _leaf_dense().apply(_dense_grad_leaf(s, key), _Hold(s))


_LEAF_DENSE = []


def _leaf_dense():
    if not _LEAF_DENSE:
        class SparseLeafDenseBackward(torch.autograd.Function):
            @staticmethod
            def forward(ctx, aux, hold):
                return hold.s.detach().to_dense(masked_grad=True)

            @staticmethod
            def backward(ctx, g):
                return g, None
        _LEAF_DENSE.append(SparseLeafDenseBackward)
    return _LEAF_DENSE[0]


class _Hold:
    """A sparse tensor passed to a custom Function as a plain (non-input) argument."""
    __slots__ = ("s",)

    def __init__(self, s):
        self.s = s


def _dense_grad_leaf(s, key="_dense_leaf"):
    aux = s.__dict__.get(key)
    if aux is None:
        aux = s.__dict__[key] = torch.zeros(tuple(s.shape), dtype=s.dtype, device=s.device)
        aux.requires_grad_(True)
    return aux


_LEAF_PRODUCT = []


def _leaf_product():
    if not _LEAF_PRODUCT:
        class SparseLeafMmBackward(torch.autograd.Function):
            @staticmethod
            def forward(ctx, aux, other, hold, sparse_left):
                ctx.hold, ctx.left = hold, sparse_left
                ctx.save_for_backward(other)
                s = hold.s.detach()
                return spmm(s, other) if sparse_left else spmm(other, s)

            @staticmethod
            def backward(ctx, g):
                other, = ctx.saved_tensors
                s = _coo(ctx.hold.s.detach())
                if ctx.left:  # out = S @ O
                    ds = g.unsqueeze(1) * other.unsqueeze(0) if other.ndim == 1 else g @ other.t()
                    do = spmm(s.t(), g) if ctx.needs_input_grad[1] else None
                else:  # out = O @ S
                    ds = other.t() @ g
                    do = spmm(s, g.t()).t() if ctx.needs_input_grad[1] else None
                return ds, do, None, None
        _LEAF_PRODUCT.append(SparseLeafMmBackward)
    return _LEAF_PRODUCT[0]


def spmm(a, b):
    if isinstance(a, SparseTensor) and a.layout.name == "sparse_bsc" and not isinstance(b, SparseTensor):
        raise RuntimeError("addmm: computation on CPU is not implemented for Strided + SparseBsc @ Strided")
    if isinstance(a, SparseTensor) and isinstance(b, SparseTensor):
        if a.ndim != 2 or b.ndim != 2:
            raise not_supported("matmul", (a, b))
        out = spmm(a, b.to_dense())
        res = out.to_sparse()
        return res if a.layout is torch.sparse_coo else res.to_sparse(layout=a.layout)
    if not isinstance(a, SparseTensor):  # dense @ sparse = (sparse^T @ dense^T)^T
        if a.ndim != 2 or b.ndim != 2:
            raise not_supported("matmul", (a, b))
        return spmm(_coo(b).t(), a.t()).t()
    s = _coo(a)
    if s.ndim != 2 or s.dense_dim() != 0 or b.ndim > 2:
        raise not_supported("matmul", (a, b))
    rows, cols = s._i[0], s._i[1]
    v = s._v
    if b.ndim == 1:
        contrib = v * b[cols]
        out = torch.zeros((s.shape[0],), dtype=contrib.dtype, device=v.device)
    else:
        contrib = v.unsqueeze(1) * b[cols]
        out = torch.zeros((s.shape[0], b.shape[1]), dtype=contrib.dtype, device=v.device)
    return out.index_add(0, rows, contrib)


@kernel("_addmm")
def _addmm(op, input, mat1, mat2, beta=1, alpha=1, **statics):
    if isinstance(input, SparseTensor):
        input = input.to_dense()
    prod = product(mat1, mat2)
    if isinstance(prod, SparseTensor):
        prod = prod.to_dense()
    prod = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return prod.expand(input.shape).clone() if prod.shape != input.shape else prod
    return (input if beta == 1 else input * beta) + prod


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


_dispatch.SPARSE[0] = route


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

"""Sparse kernels of elementwise ops: unary ops on the values, add/sub of sparse tensors (torch's
merge), dense + sparse, mul, and division/power by a scalar."""
import numpy as np

import jtorch as torch
from ._base import SparseTensor, np_of
from ._coo import SparseCooTensor, make_coo, _index_add0, _linear, _unlinear
from ._products import dense_value
from ._route import kernel, not_supported, _coo, _is_scalar


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
        lay = a.layout
        a, b = _coo(a).coalesce(), _coo(b).coalesce()
        sd = a.sparse_dim()
        sshape = tuple(a.shape[:sd])
        _, ia, ib = np.intersect1d(_linear(np_of(a._i), sshape), _linear(np_of(b._i), sshape), return_indices=True)
        idx = np_of(a._i)[:, ia] if ia.size else np.zeros((sd, 0), np.int64)
        dev = a._v.device
        va = a._v[torch.tensor(ia.astype(np.int64), device=dev)]
        vb = b._v[torch.tensor(ib.astype(np.int64), device=dev)]
        out = make_coo(torch.tensor(idx.astype(np.int64), device=dev), va * vb, a.shape, True)
        return out if lay is torch.sparse_coo else out.to_sparse(layout=lay)
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

"""Sparse kernels of matrix products (torch.mm/matmul/addmm with a sparse operand), and the dense
stand-in leaves through which torch's dense gradients reach a sparse leaf."""
import jtorch as torch
from ._base import SparseTensor
from ._route import kernel, not_supported, _coo


@kernel("_matmul")
def _matmul(op, a, b):
    return product(a, b)


def product(a, b):
    """torch.mm/matmul/addmm with a sparse operand. Their gradient for a sparse *leaf* is dense in torch
    (the full ``grad @ other^T``, not masked to the specified entries as torch.sparse.mm's is): such a
    leaf routes its gradient through a dense stand-in leaf (``_dense_grad_leaf``)."""
    s = a if isinstance(a, SparseTensor) else b
    if isinstance(a, SparseTensor) and isinstance(b, SparseTensor) or not (
            s.requires_grad and torch.is_grad_enabled()):
        return spmm(a, b)
    if "_dense_of" in s.__dict__:  # an intermediate (S * 2 @ D): computed densely, so the gradient stays dense
        d = dense_value(s)
        return torch.matmul(d, b) if a is s else torch.matmul(a, d)
    if s.is_leaf:
        return _leaf_product().apply(_dense_grad_leaf(s), b if a is s else a, _Hold(s), a is s)
    return spmm(a, b)


def dense_value(s, key="_dense_leaf"):
    """``s.to_dense()``; for a sparse leaf that requires grad (or a result computed from one by the ops of
    ``_route._REPLAYABLE``), one whose gradient reaches the leaf's dense stand-in ``key`` unmasked: dense as torch's dense + sparse sends it (``_dense_leaf``), or made sparse
    from the dense gradient as ``to_dense(masked_grad=False)`` (``_unmasked_leaf``)."""
    if not (s.requires_grad and torch.is_grad_enabled()):
        return s.to_dense(masked_grad=True)
    replay = s.__dict__.get("_dense_of")  # (first: S.t() of a leaf S shares its leaf values)
    if replay is None:
        if s.is_leaf:
            return _leaf_dense().apply(_dense_grad_leaf(s, key), _Hold(s))
        return s.to_dense(masked_grad=True)  # not made from a leaf by ops with a dense form: masked
    fn, args = replay  # recompute s densely from its operands' dense values (_route._REPLAYABLE)
    return fn(*[dense_value(x, key) if isinstance(x, SparseTensor) else x for x in args])


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
def _addmm(op, input, mat1, mat2, beta=1, alpha=1, masked=False, **statics):
    # masked: torch.sparse.addmm, whose gradient for the sparse operand is masked (torch.addmm's is dense)
    if isinstance(input, SparseTensor):
        input = input.to_dense()
    prod = spmm(mat1, mat2) if masked else product(mat1, mat2)
    if isinstance(prod, SparseTensor):
        prod = prod.to_dense()
    prod = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return prod.expand(input.shape).clone() if prod.shape != input.shape else prod
    return (input if beta == 1 else input * beta) + prod

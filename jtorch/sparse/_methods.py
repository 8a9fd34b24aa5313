"""The sparse-related methods of dense tensors (torch.Tensor.to_sparse & co), bound on Tensor."""
from ..tensor import Tensor
from ._convert import to_sparse, to_dense, sparse_mask


def _to_layout(layout):
    if layout.name in ("sparse_bsr", "sparse_bsc"):
        def conv(self, blocksize, dense_dim=None):  # blocksize is required, as torch's
            return to_sparse(self, layout=layout, blocksize=blocksize, dense_dim=dense_dim)
    else:
        def conv(self, dense_dim=None):
            return to_sparse(self, layout=layout, dense_dim=dense_dim)
    conv.__name__ = "to_" + layout.name
    return conv


def _dense_only(name, expected="sparse coordinate"):
    def f(self, *args, **kwargs):
        raise RuntimeError(f"{name} expected {expected} tensor layout but got Strided")
    f.__name__ = name
    return f


def _to_sparse_coo(self):
    return to_sparse(self)


def _sparse_dim(self):
    return 0


def _dense_dim(self):
    return self.ndim


def _sspaddmm_dense(self, *args, **kwargs):
    raise RuntimeError("tensor.sspaddmm(...) can only be called on sparse tensors")


def _bind():
    import jtorch as torch
    methods = {
        "to_sparse": to_sparse, "to_sparse_coo": _to_sparse_coo, "to_dense": to_dense, "sparse_mask": sparse_mask,
        "to_sparse_csr": _to_layout(torch.sparse_csr), "to_sparse_csc": _to_layout(torch.sparse_csc),
        "to_sparse_bsr": _to_layout(torch.sparse_bsr), "to_sparse_bsc": _to_layout(torch.sparse_bsc),
        "sparse_dim": _sparse_dim, "dense_dim": _dense_dim,
        "is_coalesced": _dense_only("is_coalesced"), "coalesce": _dense_only("coalesce"),
        "indices": _dense_only("indices"), "values": _dense_only("values"),
        "_indices": _dense_only("_indices"), "_values": _dense_only("_values"), "_nnz": _dense_only("_nnz"),
        "crow_indices": _dense_only("crow_indices", "sparse row compressed"),
        "col_indices": _dense_only("col_indices", "sparse row compressed"),
        "ccol_indices": _dense_only("ccol_indices", "sparse column compressed"),
        "row_indices": _dense_only("row_indices", "sparse column compressed"),
        "sparse_resize_": _dense_only("sparse_resize_"),
        "sparse_resize_and_clear_": _dense_only("sparse_resize_and_clear_"),
        # a dense self: torch's smm runs sspaddmm, which wants a sparse self (SparseCooTensor has its own)
        "smm": _sspaddmm_dense, "sspaddmm": _sspaddmm_dense,
    }
    from .._torch_function import own_copy
    for name, fn in methods.items():
        setattr(Tensor, name, own_copy(fn, name))  # (one object per name, as torch's methods)


_bind()

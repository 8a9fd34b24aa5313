"""torch.sparse: COO and compressed (CSR/CSC/BSR/BSC) sparse tensors on jtorch's dense ops.

See docs/sparse.md for the design. Importing this package binds the sparse methods of
``Tensor`` (to_sparse, to_dense, ...) and installs the router that ``_dispatch.apply`` uses when
an op meets a sparse tensor.
"""
from ._base import SparseTensor
from ._coo import SparseCooTensor, sparse_coo_tensor, _sparse_coo_tensor_unsafe
from ._compressed import (SparseCompressedTensor, sparse_compressed_tensor, sparse_csr_tensor, sparse_csc_tensor,
                          sparse_bsr_tensor, sparse_bsc_tensor)
from ._functional import (mm, addmm, sum, softmax, log_softmax, check_sparse_tensor_invariants, sampled_addmm, spdiags,
                          smm, hspmm, sspaddmm, dsmm, hsmm, saddmm, spmm_alias)
from . import _route, _elementwise, _products, _structure  # noqa: F401  (the router and its kernels)
from . import _methods  # noqa: F401  (binds Tensor.to_sparse & co)

__all__ = ["mm", "addmm", "sum", "softmax", "log_softmax", "check_sparse_tensor_invariants", "sampled_addmm",
           "spdiags"]

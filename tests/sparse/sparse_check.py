"""Comparing sparse results of jtorch with torch's (layout, shape, dtype, nnz, components, dense value)."""
import numpy as np
import torch

import jtorch
from helpers import assert_close


def pair_coo(rng, shape=(4, 5), nnz=6, dense=(), dtype=np.float32, coalesced=False):
    """The same random COO tensor (with duplicate indices unless ``coalesced``) in torch and jtorch."""
    sd = len(shape)
    idx = np.stack([rng.integers(0, n, nnz) for n in shape]).astype(np.int64)
    if not coalesced:
        idx[:, -1] = idx[:, 0]  # one duplicated position
    vals = rng.standard_normal((nnz,) + dense).astype(dtype)
    t = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(vals), shape + dense)
    j = jtorch.sparse_coo_tensor(jtorch.tensor(idx), jtorch.tensor(vals), shape + dense)
    if coalesced:
        t, j = t.coalesce(), j.coalesce()
    return t, j


def assert_sparse_same(j, t, rtol=1e-5, atol=1e-6):
    assert str(j.layout) == str(t.layout), (j.layout, t.layout)
    assert tuple(j.shape) == tuple(t.shape)
    assert str(j.dtype) == str(t.dtype)
    assert j._nnz() == t._nnz(), (j._nnz(), t._nnz())
    assert j.requires_grad == t.requires_grad
    if t.layout == torch.sparse_coo:
        assert j.is_coalesced() == t.is_coalesced()
        assert j.sparse_dim() == t.sparse_dim() and j.dense_dim() == t.dense_dim()
        assert_close(j._indices(), t._indices())
        assert_close(j._values(), t._values(), rtol=rtol, atol=atol)
    else:
        comp = "crow_indices" if t.layout in (torch.sparse_csr, torch.sparse_bsr) else "ccol_indices"
        plain = "col_indices" if t.layout in (torch.sparse_csr, torch.sparse_bsr) else "row_indices"
        assert_close(getattr(j, comp)(), getattr(t, comp)())
        assert_close(getattr(j, plain)(), getattr(t, plain)())
        assert_close(j.values(), t.values(), rtol=rtol, atol=atol)
    assert_close(j.to_dense(), t.to_dense(), rtol=rtol, atol=atol)

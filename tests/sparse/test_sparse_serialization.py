"""Sparse tensors through jtorch.save/load in torch's format, both ways, and plain pickle."""
import copy
import io
import pickle
import warnings

import numpy as np
import torch

import jtorch
from sparse_check import assert_sparse_same, pair_coo

warnings.filterwarnings("ignore", message="Sparse invariant checks")
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")


def _pairs(rng):
    t, j = pair_coo(rng, nnz=6)  # uncoalesced
    tc, jc = pair_coo(rng, shape=(3, 4), nnz=4, dense=(2,), coalesced=True)
    a = rng.standard_normal((4, 6)).astype(np.float32)
    a[rng.random((4, 6)) < 0.5] = 0
    out = {"coo": (t, j), "hybrid": (tc, jc),
           "csr": (torch.tensor(a).to_sparse_csr(), jtorch.tensor(a).to_sparse_csr()),
           "csc": (torch.tensor(a).to_sparse_csc(), jtorch.tensor(a).to_sparse_csc()),
           "bsr": (torch.tensor(a).to_sparse_bsr((2, 3)), jtorch.tensor(a).to_sparse_bsr((2, 3)))}
    return {k: v[0] for k, v in out.items()}, {k: v[1] for k, v in out.items()}


def test_jtorch_save_torch_load(rng):
    t, j = _pairs(rng)
    buf = io.BytesIO()
    jtorch.save({**j, "layout": jtorch.sparse_csr}, buf)
    buf.seek(0)
    back = torch.load(buf)
    assert back["layout"] == torch.sparse_csr
    for k in t:
        assert back[k].layout == t[k].layout
        assert back[k]._nnz() == t[k]._nnz()
        np.testing.assert_allclose(back[k].to_dense().numpy(), t[k].to_dense().numpy())
        if t[k].layout == torch.sparse_coo:
            assert back[k].is_coalesced() == t[k].is_coalesced()


def test_torch_save_jtorch_load(rng):
    t, j = _pairs(rng)
    buf = io.BytesIO()
    torch.save({**t, "layout": torch.sparse_bsc}, buf)
    buf.seek(0)
    back = jtorch.load(buf)
    assert back["layout"] is jtorch.sparse_bsc
    for k in t:
        assert_sparse_same(back[k], t[k])


def test_pickle_and_deepcopy(rng):
    t, j = _pairs(rng)
    for k in t:
        assert_sparse_same(pickle.loads(pickle.dumps(j[k])), t[k])
        assert_sparse_same(copy.deepcopy(j[k]), t[k])

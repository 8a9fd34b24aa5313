"""torch's older names for the sparse products (torch.dsmm, hsmm, spmm, saddmm; Tensor.smm / sspaddmm on a
dense tensor) against torch."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from sparse_check import assert_sparse_same, pair_coo


def test_old_names_of_sparse_products(rng):
    t, j = pair_coo(rng, shape=(5, 4), nnz=6)
    d = rng.standard_normal((4, 3)).astype(np.float32)
    td, jd = torch.tensor(d), jtorch.tensor(d)
    assert_close(jtorch.dsmm(j, jd), torch.dsmm(t, td), rtol=1e-5, atol=1e-5)
    assert_close(jtorch.spmm(j, jd), torch.spmm(t, td), rtol=1e-5, atol=1e-5)
    # both are torch.mm: dense operands too, and a dense @ sparse product
    e = rng.standard_normal((5, 4)).astype(np.float32)
    assert_close(jtorch.dsmm(jtorch.tensor(e), jd), torch.dsmm(torch.tensor(e), td), rtol=1e-5, atol=1e-5)
    assert_close(jtorch.spmm(jd.t(), j.t()), torch.spmm(td.t(), t.t()), rtol=1e-5, atol=1e-5)
    assert_sparse_same(jtorch.hsmm(j, jd), torch.hsmm(t, td), rtol=1e-5, atol=1e-5)
    ti, ji = pair_coo(rng, shape=(5, 3), nnz=3)
    assert_sparse_same(jtorch.saddmm(ji, j, jd, beta=2, alpha=0.5), torch.saddmm(ti, t, td, beta=2, alpha=0.5),
                       rtol=1e-5, atol=1e-5)
    to, jo = pair_coo(rng, shape=(5, 3), nnz=2)
    rt, rj = torch.saddmm(ti, t, td, out=to), jtorch.saddmm(ji, j, jd, out=jo)
    assert rt is to and rj is jo
    assert_close(jo.to_dense(), to.to_dense(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("call", [
    lambda m, a, b: a.smm(b),  # a dense self
    lambda m, a, b: a.sspaddmm(a, b),
    lambda m, a, b: m.dsmm(a, b.t()),  # shapes that do not multiply
    lambda m, a, b: m.hsmm(a, b),  # a dense mat1
])
def test_old_names_errors(rng, call):
    a = rng.standard_normal((4, 4)).astype(np.float32)
    with pytest.raises(Exception) as te:
        call(torch, torch.tensor(a), torch.tensor(a[:, :3]))
    with pytest.raises(Exception) as je:
        call(jtorch, jtorch.tensor(a), jtorch.tensor(a[:, :3]))
    assert je.type is te.type

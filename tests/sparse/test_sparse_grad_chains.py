"""Gradients through intermediate sparse results (S * 2, -S, S.t(), S.coalesce(), S + S) reaching a
sparse leaf in torch's layout: dense where the consuming op gives a dense gradient (torch.mm, matmul,
addmm, mv, dense + sparse, Tensor.sum), the dense gradient made sparse for to_dense(masked_grad=False),
masked to the leaf's entries for torch.sparse ops and to_dense()."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from sparse_check import pair_coo

warnings.filterwarnings("ignore", message="Sparse invariant checks")

MIDDLES = {
    "x2": lambda s: s * 2.5,
    "neg": lambda s: -s,
    "div": lambda s: s / 4,
    "t_t": lambda s: s.t().t(),
    "coalesce": lambda s: (s * 3).coalesce(),
    "s_plus_s": lambda s: s + s * 2,
    "s_minus_s": lambda s: s * 3 - s,
}


def _ends(lib, w, d, v):
    return {
        "to_dense": lambda m: (m.to_dense() * w).sum(),
        "to_dense_unmasked": lambda m: (m.to_dense(masked_grad=False) * w).sum(),
        "mm": lambda m: (lib.mm(m, d) ** 2).sum(),
        "matmul": lambda m: ((m @ d) ** 2).sum(),
        "mv": lambda m: (lib.mv(m, v) ** 2).sum(),
        "addmm": lambda m: (lib.addmm(w[:, :3], m, d) ** 2).sum(),
        "sparse_mm": lambda m: (lib.sparse.mm(m, d) ** 2).sum(),
        "sparse_addmm": lambda m: (lib.sparse.addmm(w[:, :3], m, d) ** 2).sum(),
        "dense_plus": lambda m: ((w + m) * w).sum(),
        "sparse_sum": lambda m: lib.sparse.sum(m * m),
        "tensor_sum": lambda m: m.sum(),
        "values": lambda m: (m.coalesce().values() ** 2).sum(),
    }


def _grad(lib, s, middle, end, rng_arrays):
    w, d, v = (lib.tensor(a) for a in rng_arrays)
    s = s.detach().requires_grad_()
    _ends(lib, w, d, v)[end](MIDDLES[middle](s)).backward()
    return s.grad


def _same_grad(gj, gt):
    assert str(gj.layout) == str(gt.layout), (gj.layout, gt.layout)
    if gt.layout == torch.strided:
        assert_close(gj, gt, rtol=1e-5, atol=1e-5)
        return
    gt, gj = gt.coalesce(), gj.coalesce()
    assert_close(gj.indices(), gt.indices())
    assert_close(gj.values(), gt.values(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("end", list(_ends(torch, *([None] * 3))))
@pytest.mark.parametrize("middle", list(MIDDLES))
@pytest.mark.parametrize("coalesced", [True, False])
def test_gradient_layout_through_sparse_results(rng, middle, end, coalesced):
    t, j = pair_coo(rng, shape=(4, 4), nnz=6, coalesced=coalesced)
    arrays = [rng.standard_normal((4, 4)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32),
              rng.standard_normal(4).astype(np.float32)]
    _same_grad(_grad(jtorch, j, middle, end, arrays), _grad(torch, t, middle, end, arrays))


@pytest.mark.parametrize("end", ["mm", "to_dense_unmasked", "dense_plus", "sparse_sum"])
def test_values_leaf_through_sparse_results(rng, end):
    # sparse_coo_tensor(i, v) with v requiring grad: v gets the dense gradient of its entries
    idx = np.array([[0, 1, 1, 3], [2, 0, 3, 1]])
    vals = rng.standard_normal(4).astype(np.float32)
    arrays = [rng.standard_normal((4, 4)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32),
              rng.standard_normal(4).astype(np.float32)]
    grads = []
    for lib in (torch, jtorch):
        v = lib.tensor(vals, requires_grad=True)
        s = lib.sparse_coo_tensor(lib.tensor(idx), v, (4, 4))
        w, d, vv = (lib.tensor(a) for a in arrays)
        _ends(lib, w, d, vv)[end](s * 2 + s).backward()
        grads.append(v.grad)
    assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("end", ["to_dense", "to_dense_unmasked", "mm", "matmul", "mv", "dense_plus", "tensor_sum"])
@pytest.mark.parametrize("middle", ["x2", "neg", "t_t", "s_plus_s"])
def test_gradient_layout_through_csr_results(rng, middle, end):
    # (CSR / number with autograd raises in torch, "unsupported tensor layout": jtorch computes it; left out)
    dense = rng.standard_normal((4, 4)).astype(np.float32) * (rng.random((4, 4)) < 0.4)
    arrays = [rng.standard_normal((4, 4)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32),
              rng.standard_normal(4).astype(np.float32)]
    res = []
    for lib in (torch, jtorch):
        s = lib.tensor(dense).to_sparse_csr()
        try:
            res.append(("ok", _grad(lib, s, middle, end, arrays)))
        except (RuntimeError, NotImplementedError) as e:
            res.append((type(e).__name__, None))
    assert res[1][0] == res[0][0], res
    if res[0][0] == "ok":
        gt, gj = res[0][1], res[1][1]
        assert str(gj.layout) == str(gt.layout)
        assert_close(gj.to_dense(), gt.to_dense(), rtol=1e-5, atol=1e-5)

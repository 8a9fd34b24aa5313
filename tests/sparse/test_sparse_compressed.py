"""CSR/CSC/BSR/BSC tensors against torch: construction, accessors, conversions, products, grads."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from sparse_check import assert_sparse_same, pair_coo

warnings.filterwarnings("ignore", message="Sparse invariant checks")
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")


def _dense(rng, shape=(4, 6), p=0.5):
    a = rng.standard_normal(shape).astype(np.float32)
    a[rng.random(shape) < p] = 0
    return a


LAYOUTS = ["csr", "csc"]
BLOCKED = ["bsr", "bsc"]


@pytest.mark.parametrize("lay", LAYOUTS)
def test_dense_to_compressed(rng, lay):
    a = _dense(rng)
    t, j = getattr(torch.tensor(a), f"to_sparse_{lay}")(), getattr(jtorch.tensor(a), f"to_sparse_{lay}")()
    assert_sparse_same(j, t)
    assert j.layout is getattr(jtorch, f"sparse_{lay}")
    assert j.is_sparse_csr == t.is_sparse_csr and j.is_sparse == t.is_sparse
    assert repr(j) == repr(t)
    assert_sparse_same(jtorch.tensor(a).to_sparse(layout=j.layout), torch.tensor(a).to_sparse(layout=t.layout))


@pytest.mark.parametrize("lay", BLOCKED)
@pytest.mark.parametrize("bs", [(2, 2), (1, 3), (2, 3)])
def test_dense_to_blocked(rng, lay, bs):
    a = _dense(rng, (4, 6), p=0.7)
    a[:2, :3] = 0  # a whole absent block
    t = getattr(torch.tensor(a), f"to_sparse_{lay}")(bs)
    j = getattr(jtorch.tensor(a), f"to_sparse_{lay}")(bs)
    assert_sparse_same(j, t)
    assert repr(j) == repr(t)


@pytest.mark.parametrize("lay", LAYOUTS)
def test_coo_to_compressed_and_back(rng, lay):
    t, j = pair_coo(rng, shape=(5, 4), nnz=8)
    tc, jc = getattr(t, f"to_sparse_{lay}")(), getattr(j, f"to_sparse_{lay}")()
    assert_sparse_same(jc, tc)
    assert_sparse_same(jc.to_sparse_coo(), tc.to_sparse_coo())
    assert_sparse_same(jc.to_sparse(), tc.to_sparse())


def test_csr_constructor(rng):
    crow, col = [0, 2, 2, 5], [0, 3, 1, 2, 3]
    v = rng.standard_normal(5).astype(np.float32)
    t = torch.sparse_csr_tensor(torch.tensor(crow), torch.tensor(col), torch.tensor(v), (3, 4))
    j = jtorch.sparse_csr_tensor(jtorch.tensor(crow), jtorch.tensor(col), jtorch.tensor(v), (3, 4))
    assert_sparse_same(j, t)
    t2 = torch.sparse_csr_tensor(torch.tensor(crow), torch.tensor(col), torch.tensor(v))
    j2 = jtorch.sparse_csr_tensor(jtorch.tensor(crow), jtorch.tensor(col), jtorch.tensor(v))
    assert_sparse_same(j2, t2)
    tc = torch.sparse_compressed_tensor(torch.tensor(crow), torch.tensor(col), torch.tensor(v), (4, 3),
                                        layout=torch.sparse_csc)
    jc = jtorch.sparse_compressed_tensor(jtorch.tensor(crow), jtorch.tensor(col), jtorch.tensor(v), (4, 3),
                                         layout=jtorch.sparse_csc)
    assert_sparse_same(jc, tc)
    vb = rng.standard_normal((5, 2, 2)).astype(np.float32)
    tb = torch.sparse_bsr_tensor(torch.tensor(crow), torch.tensor(col), torch.tensor(vb), (6, 8))
    jb = jtorch.sparse_bsr_tensor(jtorch.tensor(crow), jtorch.tensor(col), jtorch.tensor(vb), (6, 8))
    assert_sparse_same(jb, tb)


@pytest.mark.parametrize("case", ["first", "last", "nnz"])
def test_csr_constructor_errors(rng, case):
    crow, col = {"first": ([1, 2, 5], [0, 3, 1, 2, 3]), "last": ([0, 2, 4], [0, 3, 1, 2, 3]),
                 "nnz": ([0, 2, 5], [0, 3, 1, 2])}[case]
    v = rng.standard_normal(5).astype(np.float32)
    for m in (torch, jtorch):
        with pytest.raises(RuntimeError):
            m.sparse_csr_tensor(m.tensor(crow), m.tensor(col), m.tensor(v), (2, 4), check_invariants=True)


@pytest.mark.parametrize("lay", LAYOUTS + BLOCKED)
def test_matmul_with_dense(rng, lay):
    a = _dense(rng, (4, 6))
    d = rng.standard_normal((6, 3)).astype(np.float32)
    args = ((2, 2),) if lay in BLOCKED else ()
    t = getattr(torch.tensor(a), f"to_sparse_{lay}")(*args)
    j = getattr(jtorch.tensor(a), f"to_sparse_{lay}")(*args)
    if lay == "bsc":  # torch has no CPU kernel for it
        with pytest.raises(RuntimeError):
            t @ torch.tensor(d)
        with pytest.raises(RuntimeError):
            j @ jtorch.tensor(d)
        return
    assert_close(j @ jtorch.tensor(d), t @ torch.tensor(d), rtol=1e-5, atol=1e-5)
    assert_close(jtorch.mm(j, jtorch.tensor(d)), torch.mm(t, torch.tensor(d)), rtol=1e-5, atol=1e-5)
    v = rng.standard_normal(6).astype(np.float32)
    assert_close(jtorch.mv(j, jtorch.tensor(v)) if hasattr(jtorch, "mv") else j @ jtorch.tensor(v),
                 torch.mv(t, torch.tensor(v)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["ccol", "indices", "no_blocksize", "bad_blocksize", "dense_crow", "csr_coalesce"])
def test_accessor_errors(rng, case):
    a = _dense(rng)
    calls = {"ccol": lambda m: m.tensor(a).to_sparse_csr().ccol_indices(),
             "indices": lambda m: m.tensor(a).to_sparse_csr().indices(),
             "no_blocksize": lambda m: m.tensor(a).to_sparse_bsr(),
             "bad_blocksize": lambda m: m.tensor(a).to_sparse_bsr((3, 4)),
             "dense_crow": lambda m: m.tensor(a).crow_indices(),
             "csr_coalesce": lambda m: m.tensor(a).to_sparse_csr().coalesce()}
    with pytest.raises(Exception) as te:
        calls[case](torch)
    with pytest.raises(type(te.value)):
        calls[case](jtorch)


@pytest.mark.parametrize("lay", LAYOUTS)
def test_elementwise_on_values(rng, lay):
    a, b = _dense(rng), _dense(rng)
    t = getattr(torch.tensor(a), f"to_sparse_{lay}")()
    j = getattr(jtorch.tensor(a), f"to_sparse_{lay}")()
    for f in (lambda x: x * 2.5, lambda x: -x, lambda x: x.abs(), lambda x: x.sin(), lambda x: x.double()):
        assert_sparse_same(f(j), f(t))
    t2 = getattr(torch.tensor(b), f"to_sparse_{lay}")()
    j2 = getattr(jtorch.tensor(b), f"to_sparse_{lay}")()
    if lay == "csc":  # torch's add of two CSC tensors raises (it reads crow_indices)
        with pytest.raises(RuntimeError):
            t + t2
        with pytest.raises(RuntimeError):
            j + j2
    else:
        assert_sparse_same(j + j2, t + t2)


@pytest.mark.parametrize("lay", LAYOUTS)
def test_grad_to_csr_values_and_dense(rng, lay):
    a = _dense(rng)
    d = rng.standard_normal((6, 3)).astype(np.float32)
    t = getattr(torch.tensor(a), f"to_sparse_{lay}")().requires_grad_()
    j = getattr(jtorch.tensor(a), f"to_sparse_{lay}")().requires_grad_()
    td, jd = torch.tensor(d, requires_grad=True), jtorch.tensor(d, requires_grad=True)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    ((t @ td) * torch.tensor(w)).sum().backward()
    ((j @ jd) * jtorch.tensor(w)).sum().backward()
    assert_close(jd.grad, td.grad, rtol=1e-5, atol=1e-5)
    assert_close(j.grad, t.grad, rtol=1e-5, atol=1e-5)  # torch.mm gives a sparse leaf a dense gradient
    if lay == "csr":  # torch.sparse.mm gives it one of its own layout
        t.grad = None
        j.grad = None
        (torch.sparse.mm(t, td) * torch.tensor(w)).sum().backward()
        (jtorch.sparse.mm(j, jd) * jtorch.tensor(w)).sum().backward()
        assert_sparse_same(j.grad, t.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lay", LAYOUTS + BLOCKED)
def test_transpose_swaps_layout(rng, lay):
    a = _dense(rng, (4, 6))
    args = ((2, 3),) if lay in BLOCKED else ()
    t = getattr(torch.tensor(a), f"to_sparse_{lay}")(*args)
    j = getattr(jtorch.tensor(a), f"to_sparse_{lay}")(*args)
    assert_sparse_same(j.t(), t.t())
    assert_sparse_same(j.transpose(0, 1), t.transpose(0, 1))
    assert_sparse_same(jtorch.t(j), torch.t(t))


def test_sparse_mm_of_two_sparse(rng):
    a = _dense(rng, (4, 5), p=0.6)
    b = _dense(rng, (5, 3), p=0.6)
    t = torch.sparse.mm(torch.tensor(a).to_sparse(), torch.tensor(b).to_sparse())
    j = jtorch.sparse.mm(jtorch.tensor(a).to_sparse(), jtorch.tensor(b).to_sparse())
    assert j.layout is jtorch.sparse_coo
    assert_close(j.to_dense(), t.to_dense(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["sparse_sum", "sum_dim", "softmax", "sum_all", "mul"])
def test_csr_reductions_and_products_like_torch(rng, case):
    a, b = _dense(rng), _dense(rng)
    calls = {"sparse_sum": lambda m, x, y: m.sparse.sum(x), "sum_dim": lambda m, x, y: x.sum(1),
             "softmax": lambda m, x, y: m.sparse.softmax(x, 1), "sum_all": lambda m, x, y: x.sum(),
             "mul": lambda m, x, y: x * y}
    res = []
    for m in (torch, jtorch):
        try:
            res.append(calls[case](m, m.tensor(a).to_sparse_csr(), m.tensor(b).to_sparse_csr()))
        except Exception as e:  # noqa: BLE001 - compared below
            res.append(e)
    if isinstance(res[0], Exception):
        assert type(res[1]) is type(res[0]), (res[1], res[0])
    elif res[0].layout == torch.strided:
        assert_close(res[1], res[0], rtol=1e-5, atol=1e-5)
    else:
        assert_sparse_same(res[1], res[0])

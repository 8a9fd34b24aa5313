"""COO sparse tensors against torch: construction, metadata, conversions, ops, errors, repr."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from sparse_check import assert_sparse_same, pair_coo

warnings.filterwarnings("ignore", message="Sparse invariant checks")


def test_construct_and_metadata(rng):
    t, j = pair_coo(rng)
    assert_sparse_same(j, t)
    assert j.is_sparse and not j.is_sparse_csr and j.layout is jtorch.sparse_coo
    assert j.numel() == t.numel() and j.ndim == t.ndim and len(j) == len(t)
    assert jtorch.randn(2).layout is jtorch.strided and not jtorch.randn(2).is_sparse
    assert isinstance(j, jtorch.Tensor)


def test_construct_infers_size_and_flags(rng):
    idx = np.array([[0, 2, 1], [1, 0, 3]])
    vals = rng.standard_normal(3).astype(np.float32)
    t = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(vals))
    j = jtorch.sparse_coo_tensor(jtorch.tensor(idx), jtorch.tensor(vals))
    assert_sparse_same(j, t)
    t1 = torch.sparse_coo_tensor(torch.tensor(idx[:, :1]), torch.tensor(vals[:1]), (3, 4))
    j1 = jtorch.sparse_coo_tensor(jtorch.tensor(idx[:, :1]), jtorch.tensor(vals[:1]), (3, 4))
    assert_sparse_same(j1, t1)  # one entry: coalesced
    tc = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(vals), (3, 4), is_coalesced=True)
    jc = jtorch.sparse_coo_tensor(jtorch.tensor(idx), jtorch.tensor(vals), (3, 4), is_coalesced=True)
    assert jc.is_coalesced() == tc.is_coalesced()
    td = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(vals), (3, 4), dtype=torch.float64)
    jd = jtorch.sparse_coo_tensor(jtorch.tensor(idx), jtorch.tensor(vals), (3, 4), dtype=jtorch.float64)
    assert_sparse_same(jd, td)
    assert repr(jd) == repr(td)
    te, je = torch.sparse_coo_tensor((2, 3)), jtorch.sparse_coo_tensor((2, 3))
    assert_sparse_same(je, te)


def test_hybrid_construct_and_to_dense(rng):
    t, j = pair_coo(rng, shape=(3, 4), nnz=5, dense=(2,))
    assert_sparse_same(j, t)
    assert_sparse_same(j.coalesce(), t.coalesce())


@pytest.mark.parametrize("case", ["nnz", "ndim", "dims"])
def test_construct_errors(rng, case):
    idx = np.array([[0, 1, 1], [2, 0, 2]])
    vals = rng.standard_normal(3).astype(np.float32)
    args = {"nnz": (idx, vals[:2], (2, 3)), "ndim": (idx[0], vals, (2, 3)), "dims": (idx, vals, (2,))}[case]

    def run(mod):
        return mod.sparse_coo_tensor(mod.tensor(args[0]), mod.tensor(args[1]), args[2])
    with pytest.raises(Exception) as te:
        run(torch)
    with pytest.raises(type(te.value)):
        run(jtorch)


def test_coalesce_indices_values(rng):
    t, j = pair_coo(rng, nnz=8)
    assert not j.is_coalesced()
    for name in ("indices", "values"):
        with pytest.raises(RuntimeError):
            getattr(t, name)()
        with pytest.raises(RuntimeError):
            getattr(j, name)()
    tc, jc = t.coalesce(), j.coalesce()
    assert_sparse_same(jc, tc)
    assert_close(jc.indices(), tc.indices())
    assert_close(jc.values(), tc.values())
    assert jc.coalesce() is jc


@pytest.mark.parametrize("sparse_dim", [None, 1, 2])
def test_dense_to_sparse(rng, sparse_dim):
    a = rng.standard_normal((4, 3, 2)).astype(np.float32)
    a[rng.random((4, 3, 2)) < 0.5] = 0
    a[1] = 0
    args = () if sparse_dim is None else (sparse_dim,)
    t, j = torch.tensor(a).to_sparse(*args), jtorch.tensor(a).to_sparse(*args)
    assert_sparse_same(j, t)
    assert_sparse_same(jtorch.tensor(a).to_sparse_coo(), torch.tensor(a).to_sparse_coo())
    assert_close(jtorch.tensor(a).to_dense(), torch.tensor(a).to_dense())
    assert jtorch.tensor(a).sparse_dim() == 0 and jtorch.tensor(a).dense_dim() == 3


def test_dense_tensor_sparse_accessors_raise(rng):
    for name in ("indices", "values", "_nnz", "is_coalesced", "coalesce"):
        with pytest.raises(RuntimeError):
            getattr(torch.ones(2), name)()
        with pytest.raises(RuntimeError):
            getattr(jtorch.ones(2), name)()


def test_repr_matches_torch(rng):
    t, j = pair_coo(rng, shape=(3, 4), nnz=4)
    assert repr(j) == repr(t)
    assert repr(j.coalesce()) == repr(t.coalesce())
    t, j = pair_coo(rng, shape=(3, 4), nnz=3, dense=(2,))
    assert repr(j) == repr(t)
    assert repr(j.detach().requires_grad_()) == repr(t.detach().requires_grad_())
    for dt in ("int64", "int32", "bool", "float64"):
        assert repr(j.to(getattr(jtorch, dt))) == repr(t.to(getattr(torch, dt)))


@pytest.mark.parametrize("name", ["neg", "abs", "sqrt", "sin", "tanh", "relu", "square", "sign", "floor", "trunc",
                                  "expm1", "log1p", "asinh", "atan", "erf", "sgn", "tan", "signbit", "isnan", "clone",
                                  "positive"])
def test_unary_ops(rng, name):
    t, j = pair_coo(rng, nnz=7)
    if name in ("sqrt", "log1p"):
        t, j = t.abs(), j.abs()
    assert_sparse_same(getattr(jtorch, name)(j), getattr(torch, name)(t), rtol=1e-5, atol=1e-6)
    assert_sparse_same(getattr(j, name)(), getattr(t, name)(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("coalesced", [False, True])
def test_binary_ops(rng, coalesced):
    t1, j1 = pair_coo(rng, nnz=6, coalesced=coalesced)
    t2, j2 = pair_coo(rng, nnz=5, coalesced=coalesced)
    for f in (lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a.add(b, alpha=2.5), lambda a, b: a + a,
              lambda a, b: torch.sub(a, b, alpha=2) if isinstance(a, torch.Tensor) else jtorch.sub(a, b, alpha=2)):
        assert_sparse_same(f(j1, j2), f(t1, t2))
    for f in (lambda a: a * 2.5, lambda a: 3 * a, lambda a: a / 4, lambda a: a ** 2, lambda a: a.double()):
        assert_sparse_same(f(j1), f(t1))
    if coalesced:
        assert_sparse_same(j1 * j2, t1 * t2)
    d = rng.standard_normal((4, 5)).astype(np.float32)
    assert_close(jtorch.tensor(d) + j1, torch.tensor(d) + t1)
    assert_close(jtorch.add(jtorch.tensor(d), j1, alpha=2), torch.add(torch.tensor(d), t1, alpha=2))
    assert_sparse_same(j1 * jtorch.tensor(d), t1 * torch.tensor(d))


def test_sparse_plus_dense_raises(rng):
    t, j = pair_coo(rng)
    with pytest.raises(RuntimeError):
        t + torch.ones(4, 5)
    with pytest.raises(RuntimeError):
        j + jtorch.ones(4, 5)
    with pytest.raises(RuntimeError):
        j + 1


@pytest.mark.parametrize("coalesced", [False, True])
def test_transpose_permute(rng, coalesced):
    t, j = pair_coo(rng, coalesced=coalesced)
    assert_sparse_same(j.t(), t.t())
    assert_sparse_same(jtorch.transpose(j, 0, 1), torch.transpose(t, 0, 1))
    th, jh = pair_coo(rng, shape=(3, 4), dense=(2, 3), coalesced=coalesced)
    assert_sparse_same(jh.permute(1, 0, 3, 2), th.permute(1, 0, 3, 2))
    with pytest.raises(RuntimeError):
        th.permute(2, 1, 0, 3)
    with pytest.raises(RuntimeError):
        jh.permute(2, 1, 0, 3)


def test_sum(rng):
    t, j = pair_coo(rng, shape=(3, 4), nnz=6, dense=(2,))
    assert_close(j.sum(), t.sum())
    assert_close(jtorch.sparse.sum(j), torch.sparse.sum(t))
    assert_sparse_same(jtorch.sparse.sum(j, 0), torch.sparse.sum(t, 0))
    assert_sparse_same(jtorch.sparse.sum(j, 2), torch.sparse.sum(t, 2))
    assert_close(jtorch.sparse.sum(j, (0, 1)), torch.sparse.sum(t, (0, 1)))
    assert_close(jtorch.sparse.sum(j, (0, 1, 2)), torch.sparse.sum(t, (0, 1, 2)))
    assert_sparse_same(j.sum(1), t.sum(1))


@pytest.mark.parametrize("coalesced", [False, True])
def test_mm_matmul_addmm(rng, coalesced):
    t, j = pair_coo(rng, shape=(4, 5), nnz=8, coalesced=coalesced)
    d = rng.standard_normal((5, 3)).astype(np.float32)
    td, jd = torch.tensor(d), jtorch.tensor(d)
    assert_close(jtorch.sparse.mm(j, jd), torch.sparse.mm(t, td), rtol=1e-5, atol=1e-5)
    assert_close(jtorch.mm(j, jd), torch.mm(t, td), rtol=1e-5, atol=1e-5)
    assert_close(j @ jd, t @ td, rtol=1e-5, atol=1e-5)
    v = rng.standard_normal(5).astype(np.float32)
    assert_close(jtorch.matmul(j, jtorch.tensor(v)), torch.matmul(t, torch.tensor(v)), rtol=1e-5, atol=1e-5)
    c = rng.standard_normal((4, 3)).astype(np.float32)
    assert_close(jtorch.addmm(jtorch.tensor(c), j, jd, beta=0.5, alpha=2),
                 torch.addmm(torch.tensor(c), t, td, beta=0.5, alpha=2), rtol=1e-5, atol=1e-5)
    assert_close(jtorch.sparse.addmm(jtorch.tensor(c), j, jd), torch.sparse.addmm(torch.tensor(c), t, td),
                 rtol=1e-5, atol=1e-5)
    l = rng.standard_normal((2, 4)).astype(np.float32)
    assert_close(jtorch.mm(jtorch.tensor(l), j), torch.mm(torch.tensor(l), t), rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError):
        torch.mm(t, torch.ones(4, 2))
    with pytest.raises(RuntimeError):
        jtorch.mm(j, jtorch.ones(4, 2))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("log", [False, True])
def test_sparse_softmax(rng, dim, log):
    t, j = pair_coo(rng, shape=(4, 5), nnz=9)
    f = "log_softmax" if log else "softmax"
    assert_sparse_same(getattr(jtorch.sparse, f)(j, dim), getattr(torch.sparse, f)(t, dim), rtol=1e-5, atol=1e-5)
    th, jh = pair_coo(rng, shape=(4, 5), nnz=6, dense=(3,))
    assert_sparse_same(getattr(jtorch.sparse, f)(jh, 2), getattr(torch.sparse, f)(th, 2), rtol=1e-5, atol=1e-5)


def test_sparse_mask_and_resize(rng):
    t, j = pair_coo(rng, nnz=6)
    d = rng.standard_normal((4, 5)).astype(np.float32)
    assert_sparse_same(jtorch.tensor(d).sparse_mask(j.coalesce()), torch.tensor(d).sparse_mask(t.coalesce()))
    t.sparse_resize_((6, 7), 2, 0)
    j.sparse_resize_((6, 7), 2, 0)
    assert_sparse_same(j, t)
    with pytest.raises(RuntimeError):
        t.sparse_resize_((1, 7), 2, 0)
    with pytest.raises(RuntimeError):
        j.sparse_resize_((1, 7), 2, 0)


@pytest.mark.parametrize("op", ["view", "reshape", "exp", "softmax", "mean", "numpy", "data_ptr"])
def test_unsupported_ops_raise_like_torch(rng, op):
    t, j = pair_coo(rng)
    calls = {"view": lambda x: x.view(20), "reshape": lambda x: x.reshape(20), "exp": lambda x: x.exp(),
             "softmax": lambda x: x.softmax(1), "mean": lambda x: x.mean(), "numpy": lambda x: x.numpy(),
             "data_ptr": lambda x: x.data_ptr()}
    with pytest.raises(Exception) as te:
        calls[op](t)
    with pytest.raises(type(te.value)):
        calls[op](j)


@pytest.mark.parametrize("coalesced", [False, True])
def test_select_index_select_unsqueeze_cat(rng, coalesced):
    t, j = pair_coo(rng, shape=(4, 5), nnz=9, coalesced=coalesced)
    for f in (lambda x: x.select(0, 1), lambda x: x.select(1, -2), lambda x: x[2], lambda x: x[1, 3],
              lambda x: x.index_select(0, x.new_tensor([3, 0, 0]) if False else _idx(x, [3, 0, 0])),
              lambda x: x.index_select(1, _idx(x, [4, 1])), lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(1),
              lambda x: x.unsqueeze(2)):
        r_t, r_j = f(t), f(j)
        if r_t.layout == torch.strided:
            assert_close(r_j, r_t)
        else:
            assert_sparse_same(r_j, r_t)
    t2, j2 = pair_coo(rng, shape=(3, 5), nnz=4, coalesced=coalesced)
    assert_sparse_same(jtorch.cat([j, j2]), torch.cat([t, t2]))
    t3, j3 = pair_coo(rng, shape=(4, 2), nnz=3, coalesced=coalesced)
    assert_sparse_same(jtorch.cat([j, j3], 1), torch.cat([t, t3], 1))
    th, jh = pair_coo(rng, shape=(4, 5), nnz=6, dense=(3,), coalesced=coalesced)
    assert_sparse_same(jh.select(2, 1), th.select(2, 1))
    assert_sparse_same(jh.index_select(2, _idx(jh, [2, 0])), th.index_select(2, _idx(th, [2, 0])))
    assert_sparse_same(jh.unsqueeze(3), th.unsqueeze(3))


def _idx(x, vals):
    return (torch if isinstance(x, torch.Tensor) else jtorch).tensor(vals)


def test_select_errors(rng):
    t, j = pair_coo(rng)
    for m, x in ((torch, t), (jtorch, j)):
        with pytest.raises(IndexError):
            x.select(0, 7)
        with pytest.raises(NotImplementedError):
            x[1:3]


def test_in_place_ops(rng):
    t, j = pair_coo(rng, nnz=6)
    t2, j2 = pair_coo(rng, nnz=4)
    t, j = t.clone(), j.clone()
    t.mul_(2.5)
    j.mul_(2.5)
    assert_sparse_same(j, t)
    t += t2
    j += j2
    assert_close(j.to_dense(), t.to_dense())
    assert j.is_coalesced() == t.is_coalesced() and j._nnz() == t._nnz()
    t.copy_(t2)
    j.copy_(j2)
    assert_sparse_same(j, t)
    t.zero_()
    j.zero_()
    assert_sparse_same(j, t)
    d_t, d_j = torch.ones(4, 5), jtorch.ones(4, 5)
    d_t += t2
    d_j += j2
    assert_close(d_j, d_t)
    lt, lj = t2.detach().requires_grad_(), j2.detach().requires_grad_()
    with pytest.raises(RuntimeError):
        lt.mul_(2)
    with pytest.raises(RuntimeError):
        lj.mul_(2)


@pytest.mark.parametrize("bad", [[[0, 5], [1, 1]], [[0, -1], [1, 1]]])
def test_check_invariants(rng, bad):
    vals = rng.standard_normal(2).astype(np.float32)
    for m in (torch, jtorch):
        with pytest.raises(RuntimeError):
            m.sparse_coo_tensor(m.tensor(bad), m.tensor(vals), (3, 3), check_invariants=True)
        with m.sparse.check_sparse_tensor_invariants():
            assert m.sparse.check_sparse_tensor_invariants.is_enabled()
            with pytest.raises(RuntimeError):
                m.sparse_coo_tensor(m.tensor(bad), m.tensor(vals), (3, 3))
        assert not m.sparse.check_sparse_tensor_invariants.is_enabled()
    # without the checks jtorch still refuses to densify out-of-range indices (torch reads out of bounds)
    j = jtorch.sparse_coo_tensor(jtorch.tensor(bad), jtorch.tensor(vals), (3, 3))
    with pytest.raises(RuntimeError):
        j.to_dense()


def test_layout_objects_and_dense_metadata():
    x = jtorch.randn(2, 3)
    assert x.layout is jtorch.strided and repr(jtorch.sparse_csr) == "torch.sparse_csr"
    assert not x.is_sparse and not x.is_sparse_csr
    assert x.to_dense() is x
    assert jtorch.sparse_coo_tensor((2, 3)).type() == torch.sparse_coo_tensor((2, 3)).type()


def test_sparse_result_products(rng):
    t, j = pair_coo(rng, shape=(5, 4), nnz=6)
    d = rng.standard_normal((4, 3)).astype(np.float32)
    td, jd = torch.tensor(d), jtorch.tensor(d)
    assert_sparse_same(jtorch.smm(j, jd), torch.smm(t, td), rtol=1e-5, atol=1e-5)
    assert_sparse_same(j.smm(jd), t.smm(td), rtol=1e-5, atol=1e-5)
    assert_sparse_same(jtorch.hspmm(j, jd), torch.hspmm(t, td), rtol=1e-5, atol=1e-5)
    ti, ji = pair_coo(rng, shape=(5, 3), nnz=3)
    assert_sparse_same(jtorch.sspaddmm(ji, j, jd, beta=2, alpha=0.5), torch.sspaddmm(ti, t, td, beta=2, alpha=0.5),
                       rtol=1e-5, atol=1e-5)


def test_spdiags(rng):
    diags = rng.standard_normal((3, 5)).astype(np.float32)
    for offs, shape in (([0, -1, 2], (5, 5)), ([1, 0, -3], (4, 6)), ([0, 2, -2], (6, 5))):
        t = torch.sparse.spdiags(torch.tensor(diags), torch.tensor(offs), shape)
        j = jtorch.sparse.spdiags(jtorch.tensor(diags), jtorch.tensor(offs), shape)
        assert_sparse_same(j, t)
        t = torch.sparse.spdiags(torch.tensor(diags), torch.tensor(offs), shape, layout=torch.sparse_csr)
        j = jtorch.sparse.spdiags(jtorch.tensor(diags), jtorch.tensor(offs), shape, layout=jtorch.sparse_csr)
        assert_sparse_same(j, t)


def test_sampled_addmm(rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    a[rng.random((4, 5)) < 0.5] = 0
    m1 = rng.standard_normal((4, 3)).astype(np.float32)
    m2 = rng.standard_normal((3, 5)).astype(np.float32)
    tm1, jm1 = torch.tensor(m1, requires_grad=True), jtorch.tensor(m1, requires_grad=True)
    t = torch.sparse.sampled_addmm(torch.tensor(a).to_sparse_csr(), tm1, torch.tensor(m2), beta=0.5, alpha=2)
    j = jtorch.sparse.sampled_addmm(jtorch.tensor(a).to_sparse_csr(), jm1, jtorch.tensor(m2), beta=0.5, alpha=2)
    assert_sparse_same(j.detach(), t.detach(), rtol=1e-5, atol=1e-5)
    t.values().pow(2).sum().backward()
    j.values().pow(2).sum().backward()
    assert_close(jm1.grad, tm1.grad, rtol=1e-5, atol=1e-5)


def test_zeros_like_and_sparse_layout_factories(rng):
    th, jh = pair_coo(rng, shape=(3, 4), nnz=5, dense=(2,))
    for f in ("zeros_like", "empty_like"):
        assert_sparse_same(getattr(jtorch, f)(jh), getattr(torch, f)(th))
    for m, x in ((torch, th), (jtorch, jh)):
        with pytest.raises(NotImplementedError):
            m.ones_like(x)
        with pytest.raises(NotImplementedError):
            m.full_like(x, 2.0)
    assert_sparse_same(jtorch.zeros(2, 3, layout=jtorch.sparse_coo), torch.zeros(2, 3, layout=torch.sparse_coo))
    assert_sparse_same(jtorch.zeros_like(jtorch.ones(2, 3), layout=jtorch.sparse_coo),
                       torch.zeros_like(torch.ones(2, 3), layout=torch.sparse_coo))
    a = rng.standard_normal((3, 4)).astype(np.float32)
    assert_sparse_same(jtorch.zeros_like(jtorch.tensor(a).to_sparse_csr()),
                       torch.zeros_like(torch.tensor(a).to_sparse_csr()))


@pytest.mark.parametrize("case", ["same", "values", "dense", "nnz", "csr", "csr_values", "layouts"])
def test_testing_assert_close_on_sparse(rng, case):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    a[rng.random((3, 4)) < 0.4] = 0
    a[0, 0] = 1.0

    def pair(m):
        x = m.tensor(a)
        u = m.sparse_coo_tensor(m.tensor([[0, 0]]), m.tensor([1.0, 2.0]), (2,))
        c = m.sparse_coo_tensor(m.tensor([[0]]), m.tensor([3.0]), (2,))
        return {"same": (x.to_sparse(), x.to_sparse()), "values": (x.to_sparse(), (x * 1.1).to_sparse()),
                "dense": (x.to_sparse(), x), "nnz": (u, c), "csr": (x.to_sparse_csr(), x.to_sparse_csr()),
                "csr_values": (x.to_sparse_csr(), (x * 1.1).to_sparse_csr()),
                "layouts": (x.to_sparse(), x.to_sparse_csr())}[case]
    outcome = []
    for m in (torch, jtorch):
        try:
            m.testing.assert_close(*pair(m))
            outcome.append(None)
        except AssertionError as e:
            outcome.append(str(e).split("\n")[0])
    assert outcome[1] == outcome[0]


def test_sparse_parameter_is_refused_clearly(rng):
    _, j = pair_coo(rng)
    with pytest.raises(NotImplementedError, match="sparse parameters"):
        jtorch.nn.Parameter(j)

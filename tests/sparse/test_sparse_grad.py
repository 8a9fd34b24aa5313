"""Gradients through sparse tensors, sparse gradients of nn.Embedding(sparse=True), and the
optimizers that consume them, against torch."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close
from sparse_check import assert_sparse_same, pair_coo

warnings.filterwarnings("ignore", message="Sparse invariant checks")


def _leaf(t, j):
    return t.detach().requires_grad_(), j.detach().requires_grad_()


@pytest.mark.parametrize("coalesced", [False, True])
def test_sparse_mm_grads_to_sparse_leaf_and_dense(rng, coalesced):
    t, j = _leaf(*pair_coo(rng, shape=(4, 5), nnz=8, coalesced=coalesced))
    d = rng.standard_normal((5, 3)).astype(np.float32)
    td, jd = torch.tensor(d, requires_grad=True), jtorch.tensor(d, requires_grad=True)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    (torch.sparse.mm(t, td) * torch.tensor(w)).sum().backward()
    (jtorch.sparse.mm(j, jd) * jtorch.tensor(w)).sum().backward()
    assert_close(jd.grad, td.grad, rtol=1e-5, atol=1e-5)
    assert j.is_leaf and j.requires_grad
    assert_sparse_same(j.grad, t.grad, rtol=1e-5, atol=1e-5)


def test_to_dense_backward_and_accumulation(rng):
    t, j = _leaf(*pair_coo(rng, nnz=7))
    w = rng.standard_normal((4, 5)).astype(np.float32)
    for _ in range(2):
        (t.to_dense() ** 2 * torch.tensor(w)).sum().backward()
        (j.to_dense() ** 2 * jtorch.tensor(w)).sum().backward()
    assert_sparse_same(j.grad, t.grad, rtol=1e-5, atol=1e-5)
    j.grad = None
    assert j.grad is None


@pytest.mark.parametrize("masked", [True, False])
def test_to_dense_masked_grad(rng, masked):
    t, j = _leaf(*pair_coo(rng, nnz=7))
    w = rng.standard_normal((4, 5)).astype(np.float32)
    (t.to_dense(masked_grad=masked) * torch.tensor(w)).sum().backward()
    (j.to_dense(masked_grad=masked) * jtorch.tensor(w)).sum().backward()
    assert_sparse_same(j.grad, t.grad)  # masked: the leaf's entries; unmasked: the dense gradient made sparse


def test_grads_through_ops_to_sparse_leaf(rng):
    t, j = _leaf(*pair_coo(rng, nnz=7))
    (torch.sparse.sum(t * 2.5 + t.abs())).backward()
    (jtorch.sparse.sum(j * 2.5 + j.abs())).backward()
    assert j.grad.layout is jtorch.sparse_coo and j.grad._nnz() == t.grad._nnz()
    assert_close(j.grad.to_dense(), t.grad.to_dense())


def test_values_tensor_gets_gradient(rng):
    idx = np.array([[0, 1, 1, 0], [2, 0, 2, 2]])
    v = rng.standard_normal(4).astype(np.float32)
    tv, jv = torch.tensor(v, requires_grad=True), jtorch.tensor(v, requires_grad=True)
    ts = torch.sparse_coo_tensor(torch.tensor(idx), tv, (2, 3))
    js = jtorch.sparse_coo_tensor(jtorch.tensor(idx), jv, (2, 3))
    assert js.requires_grad and not js.is_leaf and js.grad_fn is not None
    d = rng.standard_normal((3, 2)).astype(np.float32)
    torch.sparse.mm(ts, torch.tensor(d)).pow(2).sum().backward()
    jtorch.sparse.mm(js, jtorch.tensor(d)).pow(2).sum().backward()
    assert_close(jv.grad, tv.grad, rtol=1e-5, atol=1e-5)


def test_dense_to_sparse_backward(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    a[0, 1] = 0
    tx, jx = torch.tensor(a, requires_grad=True), jtorch.tensor(a, requires_grad=True)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    (tx.to_sparse().to_dense() * torch.tensor(w)).sum().backward()
    (jx.to_sparse().to_dense() * jtorch.tensor(w)).sum().backward()
    assert_close(jx.grad, tx.grad)


@pytest.mark.parametrize("dim", [0, 1])
def test_sparse_softmax_backward(rng, dim):
    t, j = _leaf(*pair_coo(rng, shape=(4, 5), nnz=9, coalesced=True))
    w = rng.standard_normal((4, 5)).astype(np.float32)
    (torch.sparse.softmax(t, dim).to_dense() * torch.tensor(w)).sum().backward()
    (jtorch.sparse.softmax(j, dim).to_dense() * jtorch.tensor(w)).sum().backward()
    assert_sparse_same(j.grad, t.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding_idx,scale", [(None, False), (2, False)])
def test_embedding_sparse_grad(rng, padding_idx, scale):
    w = rng.standard_normal((6, 3)).astype(np.float32)
    te = torch.nn.Embedding(6, 3, sparse=True, padding_idx=padding_idx, scale_grad_by_freq=scale)
    je = jtorch.nn.Embedding(6, 3, sparse=True, padding_idx=padding_idx, scale_grad_by_freq=scale)
    with torch.no_grad():
        te.weight.copy_(torch.tensor(w))
    je.weight.data = jtorch.tensor(w)
    x = rng.integers(0, 6, (3, 4))
    g = rng.standard_normal((3, 4, 3)).astype(np.float32)
    (te(torch.tensor(x)) * torch.tensor(g)).sum().backward()
    (je(jtorch.tensor(x)) * jtorch.tensor(g)).sum().backward()
    assert_sparse_same(je.weight.grad, te.weight.grad)
    # a second backward accumulates (how torch lays out the entries is its own business: compare values)
    (te(torch.tensor(x)) * torch.tensor(g)).sum().backward()
    (je(jtorch.tensor(x)) * jtorch.tensor(g)).sum().backward()
    assert je.weight.grad.layout is jtorch.sparse_coo
    assert_close(je.weight.grad.to_dense(), te.weight.grad.to_dense())


def test_embedding_sparse_scale_grad_by_freq_raises():
    for m in (torch, jtorch):
        e = m.nn.Embedding(6, 3, sparse=True, scale_grad_by_freq=True)
        with pytest.raises(RuntimeError, match="scale_grad_by_freq"):
            e(m.tensor([[1, 2, 1]])).sum().backward()


@pytest.mark.parametrize("name,kw", [("SparseAdam", dict(lr=0.05)), ("SGD", dict(lr=0.1)),
                                     ("SGD", dict(lr=0.1, momentum=0.9)), ("Adagrad", dict(lr=0.1))])
def test_optimizers_on_sparse_embedding_grads(rng, name, kw):
    w = rng.standard_normal((8, 3)).astype(np.float32)
    te, je = torch.nn.Embedding(8, 3, sparse=True), jtorch.nn.Embedding(8, 3, sparse=True)
    with torch.no_grad():
        te.weight.copy_(torch.tensor(w))
    je.weight.data = jtorch.tensor(w)
    to, jo = getattr(torch.optim, name)(te.parameters(), **kw), getattr(jtorch.optim, name)(je.parameters(), **kw)
    for _ in range(5):
        x = rng.integers(0, 8, (2, 3))
        g = rng.standard_normal((2, 3, 3)).astype(np.float32)
        for o, e, m in ((to, te, torch), (jo, je, jtorch)):
            o.zero_grad()
            (e(m.tensor(x)) * m.tensor(g)).sum().backward()
            o.step()
        assert_close(je.weight, te.weight, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop"])
def test_optimizers_refuse_sparse_grads(name):
    for m in (torch, jtorch):
        e = m.nn.Embedding(5, 2, sparse=True)
        o = getattr(m.optim, name)(e.parameters(), lr=0.1)
        e(m.tensor([[1, 3]])).sum().backward()
        with pytest.raises(RuntimeError, match="sparse gradients"):
            o.step()


def test_sparse_adam_refuses_dense_grads():
    for m in (torch, jtorch):
        e = m.nn.Embedding(5, 2)
        o = m.optim.SparseAdam(e.parameters())
        e(m.tensor([[1, 3]])).sum().backward()
        with pytest.raises(RuntimeError, match="dense gradients"):
            o.step()


def test_compile_runs_sparse_code_eagerly(rng):
    # sparse tensors are eager only: a compiled function meeting one breaks the graph (one warning)
    # and gives the eager results
    w = rng.standard_normal((6, 3)).astype(np.float32)
    x = rng.integers(0, 6, (2, 4))
    losses = []
    for compiled in (False, True):
        e = jtorch.nn.Embedding(6, 3, sparse=True)
        e.weight.data = jtorch.tensor(w)
        opt = jtorch.optim.SGD(e.parameters(), lr=0.1)

        def step(inp):
            opt.zero_grad()
            loss = (e(inp) ** 2).sum()
            loss.backward()
            opt.step()
            return loss
        f = jtorch.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses.append([float(f(jtorch.tensor(x))) for _ in range(3)])
        assert any("graph break" in str(c.message) for c in caught) == compiled
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-6)
    t, j = pair_coo(rng, coalesced=True)
    d = rng.standard_normal((5, 2)).astype(np.float32)
    g = jtorch.compile(lambda s, m: jtorch.sparse.mm(s, m) * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            assert_close(g(j, jtorch.tensor(d)), torch.sparse.mm(t, torch.tensor(d)) * 2, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("two_d", [False, True])
def test_embedding_bag_sparse_grad(rng, mode, padding_idx, two_d):
    w = rng.standard_normal((6, 3)).astype(np.float32)
    bags = []
    for m in (torch, jtorch):
        e = m.nn.EmbeddingBag(6, 3, mode=mode, sparse=True, padding_idx=padding_idx)
        e.weight.data = m.tensor(w)
        bags.append(e)
    if two_d:
        x, off = rng.integers(0, 6, (3, 4)), None
        g = rng.standard_normal((3, 3)).astype(np.float32)
    else:
        x, off = rng.integers(0, 6, 9), np.array([0, 2, 2, 6])
        g = rng.standard_normal((4, 3)).astype(np.float32)
    for m, e in zip((torch, jtorch), bags):
        out = e(m.tensor(x)) if off is None else e(m.tensor(x), m.tensor(off))
        (out * m.tensor(g)).sum().backward()
    assert_sparse_same(bags[1].weight.grad, bags[0].weight.grad, rtol=1e-5, atol=1e-6)


def test_embedding_bag_sparse_per_sample_weights_and_errors(rng):
    w = rng.standard_normal((5, 2)).astype(np.float32)
    psw = rng.standard_normal(4).astype(np.float32)
    res = []
    for m in (torch, jtorch):
        e = m.nn.EmbeddingBag(5, 2, mode="sum", sparse=True)
        e.weight.data = m.tensor(w)
        p = m.tensor(psw, requires_grad=True)
        e(m.tensor([1, 2, 1, 3]), m.tensor([0, 2]), per_sample_weights=p).pow(2).sum().backward()
        res.append((e.weight.grad, p.grad))
        with pytest.raises(ValueError, match="max mode"):
            m.nn.EmbeddingBag(5, 2, mode="max", sparse=True)(m.tensor([[1, 2]]))
        e = m.nn.EmbeddingBag(5, 2, sparse=True, scale_grad_by_freq=True)
        with pytest.raises(RuntimeError, match="scale_grad_by_freq"):
            e(m.tensor([[1, 1]])).sum().backward()
    assert_sparse_same(res[1][0], res[0][0], rtol=1e-5, atol=1e-5)
    assert_close(res[1][1], res[0][1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["sum_dim", "coalesce_values", "dense_to_sparse_mm", "add_dense_sparse", "mul_dense",
                                  "raw_values", "softmax_dense_dim", "addmm"])
def test_more_gradients(rng, case):
    w = rng.standard_normal((4, 5)).astype(np.float32)
    d = rng.standard_normal((5, 3)).astype(np.float32)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    a[rng.random((4, 5)) < 0.4] = 0
    t1, j1 = _leaf(*pair_coo(rng, nnz=7))
    t2, j2 = _leaf(*pair_coo(rng, nnz=5))
    tx, jx = torch.tensor(a, requires_grad=True), jtorch.tensor(a, requires_grad=True)

    def run(m, s1, s2, x):
        W, Dm = m.tensor(w), m.tensor(d)
        if case == "sum_dim":
            return (m.sparse.sum(s1, 0).to_dense() * W[0]).sum()
        if case == "coalesce_values":
            return (s1.coalesce().values() ** 2).sum()
        if case == "dense_to_sparse_mm":
            return (m.sparse.mm(x.to_sparse(), Dm) ** 2).sum()
        if case == "add_dense_sparse":
            return ((x + s1 - s2) * W).sum()
        if case == "mul_dense":
            return ((s1 * W).to_dense() ** 2).sum()
        if case == "raw_values":  # _values() is not tracked; values() of the coalesced tensor is
            return (s1._values() * m.arange(7.0)).sum() + (s1.coalesce().values() * m.arange(6.0)).sum()
        if case == "softmax_dense_dim":
            s1 = s1.coalesce()
            h = m.sparse_coo_tensor(s1.indices(), s1.values().unsqueeze(1) * m.tensor([1.0, -2.0]), (4, 5, 2))
            return (m.sparse.log_softmax(h, 2).to_dense() ** 2).sum()
        return (m.addmm(m.ones(4, 3), s1, Dm, beta=0.5, alpha=2) ** 2).sum()
    run(torch, t1, t2, tx).backward()
    run(jtorch, j1, j2, jx).backward()
    for jt, tt in ((j1, t1), (j2, t2), (jx, tx)):
        if tt.grad is None:
            assert jt.grad is None
        elif tt.grad.layout == torch.strided:
            assert_close(jt.grad, tt.grad, rtol=1e-4, atol=1e-5)
        else:
            assert jt.grad.layout is jtorch.sparse_coo
            assert_close(jt.grad.to_dense(), tt.grad.to_dense(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("how", ["sparse.mm", "mm", "to_dense"])
def test_autograd_grad_wrt_sparse(rng, how):
    t, j = _leaf(*pair_coo(rng, nnz=7))
    d = rng.standard_normal((5, 3)).astype(np.float32)
    td, jd = torch.tensor(d, requires_grad=True), jtorch.tensor(d, requires_grad=True)
    f = {"sparse.mm": lambda m, s, x: m.sparse.mm(s, x), "mm": lambda m, s, x: m.mm(s, x),
         "to_dense": lambda m, s, x: s.to_dense() @ x}[how]
    gt = torch.autograd.grad((f(torch, t, td) ** 2).sum(), [t, td])
    gj = jtorch.autograd.grad((f(jtorch, j, jd) ** 2).sum(), [j, jd])
    assert_close(gj[1], gt[1], rtol=1e-5, atol=1e-5)
    if gt[0].layout == torch.strided:
        assert_close(gj[0], gt[0], rtol=1e-5, atol=1e-5)
    else:
        assert_sparse_same(gj[0], gt[0], rtol=1e-5, atol=1e-5)
    assert j.grad is None and jd.grad is None

"""Differences found by scripts/conformance.py (torch's op_db) and ops added for coverage, against torch."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close


def pair(a):
    return torch.from_numpy(np.array(a)), jtorch.tensor(np.array(a))


def test_integral_addmv_family_truncates_float_scalars(rng):
    m = rng.integers(-5, 5, (3, 4))
    v = rng.integers(-5, 5, 4)
    b1, b2 = rng.integers(-5, 5, (2, 3, 4)), rng.integers(-5, 5, (2, 4, 2))
    (tm, jm), (tv, jv), (tb1, jb1), (tb2, jb2) = pair(m), pair(v), pair(b1), pair(b2)
    ti, ji = pair(rng.integers(-5, 5, 3))
    for beta, alpha in ((0.2, 0.6), (-1.7, 2.9), (2, 3)):
        assert_close(jtorch.addmv(ji, jm, jv, beta=beta, alpha=alpha), torch.addmv(ti, tm, tv, beta=beta, alpha=alpha))
        tI, jI = pair(rng.integers(-5, 5, (3, 2)))
        assert_close(jtorch.addbmm(jI, jb1, jb2, beta=beta, alpha=alpha),
                     torch.addbmm(tI, tb1, tb2, beta=beta, alpha=alpha))
        assert_close(jtorch.baddbmm(jI, jb1, jb2, beta=beta, alpha=alpha),
                     torch.baddbmm(tI, tb1, tb2, beta=beta, alpha=alpha))
        assert_close(jtorch.addmm(jI, jm, jm.t()[:, :2], beta=beta, alpha=alpha),
                     torch.addmm(tI, tm, tm.t()[:, :2], beta=beta, alpha=alpha))
    # addr raises for float scalars with integers
    with pytest.raises(RuntimeError):
        torch.addr(tI, ti, tv[:2], beta=0.5)
    with pytest.raises(RuntimeError):
        jtorch.addr(jI, ji, jv[:2], beta=0.5)
    assert_close(jtorch.addr(jI, ji, jv[:2], beta=2, alpha=3), torch.addr(tI, ti, tv[:2], beta=2, alpha=3))


def test_beta_zero_ignores_nan_input(rng):
    x = np.full((2, 3), np.nan, np.float32)
    a, b = rng.standard_normal((2, 4)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    (tx, jx), (ta, ja), (tb, jb) = pair(x), pair(a), pair(b)
    assert_close(jtorch.addmm(jx, ja, jb, beta=0), torch.addmm(tx, ta, tb, beta=0))
    assert_close(jtorch.addmv(jx[:, 0], ja, jb[:, 0], beta=0), torch.addmv(tx[:, 0], ta, tb[:, 0], beta=0))
    assert_close(jtorch.addr(jx, ja[:, 0], jb[0], beta=0), torch.addr(tx, ta[:, 0], tb[0], beta=0))
    tB, jB = pair(rng.integers(0, 2, (2, 3)).astype(bool))
    tv, jv = pair(rng.integers(0, 2, 2).astype(bool))
    tw, jw = pair(rng.integers(0, 2, 3).astype(bool))
    assert_close(jtorch.addr(jB, jv, jw), torch.addr(tB, tv, tw))
    assert_close(jtorch.addr(jB, jv, jw, beta=False), torch.addr(tB, tv, tw, beta=False))


def test_gather_and_scatter_with_an_empty_index(rng):
    tx, jx = pair(rng.standard_normal(5).astype(np.float32))
    for shape in ((0,), (2, 0)):
        ti, ji = pair(np.zeros(shape, np.uint8))
        assert_close(jtorch.gather(jx, 0, ji), torch.gather(tx, 0, ti))
    ti, ji = pair(np.zeros(0, np.uint8))
    assert_close(jtorch.scatter(jx, 0, ji, jx[:0]), torch.scatter(tx, 0, ti, tx[:0]))
    assert_close(jtorch.scatter_add(jx, 0, ji, jx[:0]), torch.scatter_add(tx, 0, ti, tx[:0]))
    with pytest.raises(RuntimeError):
        jtorch.gather(jx, 0, jtorch.zeros(2, dtype=jtorch.uint8))


def test_tensordot_broadcasts_size_one_contracted_dims(rng):
    ta, ja = pair(rng.standard_normal((1, 1, 1)).astype(np.float32))
    tb, jb = pair(rng.standard_normal((2, 1, 2)).astype(np.float32))
    assert_close(jtorch.tensordot(ja, jb, dims=([0, 1], [2, 0])), torch.tensordot(ta, tb, dims=([0, 1], [2, 0])),
                 rtol=1e-5, atol=1e-6)
    assert_close(jtorch.tensordot(jb, ja, dims=([2, 0], [0, 1])), torch.tensordot(tb, ta, dims=([2, 0], [0, 1])),
                 rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError):
        jtorch.tensordot(jb, jtorch.ones(3, 3), dims=([0], [0]))


def test_small_fixes(rng):
    assert_close(jtorch.linspace(-2.0, -3, 1), torch.linspace(-2.0, -3, 1))
    assert_close(jtorch.logspace(0, -3, 1), torch.logspace(0, -3, 1))
    tx, jx = pair(rng.standard_normal((5, 5, 5)).astype(np.float32) * 3)
    assert_close(jtorch.renorm(jx, float("inf"), 2, 0.5), torch.renorm(tx, float("inf"), 2, 0.5))
    tr, jr = pair(rng.standard_normal((1, 4)).astype(np.float32))
    assert_close(jtorch.corrcoef(jr), torch.corrcoef(tr))
    ts, js = pair(np.float32(rng.standard_normal()))
    assert_close(jtorch.softmax(js, 0), torch.softmax(ts, 0))
    assert_close(jtorch.log_softmax(js, -1), torch.log_softmax(ts, -1))
    with pytest.raises(IndexError):
        jtorch.softmax(js, 1)
    r = jx.to("cpu", jtorch.float64, True, True)
    assert r.dtype is jtorch.float64 and r.device.type == "cpu"
    assert jx.chalf().dtype.is_complex


def test_polygamma_of_negative_inputs_and_its_gradient(rng):
    x = np.concatenate([rng.uniform(-9, -0.1, 6), rng.uniform(0.1, 9, 4)]).astype(np.float64)
    for n in range(5):
        assert_close(jtorch.polygamma(n, jtorch.tensor(x)), torch.polygamma(n, torch.tensor(x)), rtol=1e-6)
    j = jtorch.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    jtorch.polygamma(1, j).sum().backward()
    torch.polygamma(1, t).sum().backward()
    assert_close(j.grad, t.grad, rtol=1e-6)


def test_integer_inputs_of_pooling_and_losses(rng):
    tx, jx = pair(rng.integers(-9, 9, (1, 2, 7)))
    assert_close(jtorch.nn.functional.avg_pool1d(jx, 3), torch.nn.functional.avg_pool1d(tx, 3))
    assert_close(jtorch.nn.functional.avg_pool1d(jx, 3, 1, 1, count_include_pad=False),
                 torch.nn.functional.avg_pool1d(tx, 3, 1, 1, count_include_pad=False))
    t4, j4 = pair(rng.integers(-9, 9, (1, 1, 4, 4)))
    assert_close(jtorch.nn.functional.avg_pool2d(j4, 2, divisor_override=3),
                 torch.nn.functional.avg_pool2d(t4, 2, divisor_override=3))
    assert_close(jtorch.nn.functional.softsign(jx), torch.nn.functional.softsign(tx))
    assert_close(jtorch.nn.functional.tanhshrink(jx), torch.nn.functional.tanhshrink(tx))
    ty, jy = pair(rng.integers(-9, 9, (1, 2, 7)))
    tt, jt = pair(np.sign(rng.standard_normal((1, 2, 7))).astype(np.int64))
    assert_close(jtorch.nn.functional.margin_ranking_loss(jx, jy, jt, margin=0.5),
                 torch.nn.functional.margin_ranking_loss(tx, ty, tt, margin=0.5))


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_norm_layers_compute_half_inputs_in_float32(dt, rng):
    x = rng.standard_normal((4, 6, 5)).astype(np.float32) * 3 + 1
    t, j = torch.tensor(x).to(getattr(torch, dt)), jtorch.tensor(x).to(getattr(jtorch, dt))
    for mk in (lambda m: m.LayerNorm(5), lambda m: m.BatchNorm1d(6), lambda m: m.GroupNorm(3, 6),
               lambda m: m.InstanceNorm1d(6, affine=True)):
        tm, jm = mk(torch.nn), mk(jtorch.nn)
        assert_close(jm(j), tm(t), rtol=0, atol=0)
        if hasattr(tm, "running_mean") and tm.running_mean is not None:
            assert_close(jm.running_mean, tm.running_mean, rtol=1e-6, atol=1e-6)
            tm.eval(), jm.eval()
            assert_close(jm(j), tm(t), rtol=0, atol=0)
    jl = jtorch.tensor(x).to(getattr(jtorch, dt)).requires_grad_()
    jtorch.nn.LayerNorm(5)(jl).float().pow(2).sum().backward()
    assert jl.grad.dtype is getattr(jtorch, dt)


def test_top_level_norm_functions(rng):
    x = rng.standard_normal((4, 6, 5)).astype(np.float32)
    w, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    (tx, jx), (tw, jw), (tb, jb) = pair(x), pair(w), pair(b)
    trm, jrm = pair(np.zeros(6, np.float32))
    trv, jrv = pair(np.ones(6, np.float32))
    assert_close(jtorch.batch_norm(jx, jw, jb, jrm, jrv, True, 0.1, 1e-5, False),
                 torch.batch_norm(tx, tw, tb, trm, trv, True, 0.1, 1e-5, False), rtol=1e-5, atol=1e-5)
    assert_close(jrm, trm, rtol=1e-5, atol=1e-6)
    assert_close(jtorch.batch_norm(jx, jw, jb, jrm, jrv, False, 0.1, 1e-5, False),
                 torch.batch_norm(tx, tw, tb, trm, trv, False, 0.1, 1e-5, False), rtol=1e-5, atol=1e-5)
    assert_close(jtorch.instance_norm(jx, jw, jb, None, None, True, 0.1, 1e-5, False),
                 torch.instance_norm(tx, tw, tb, None, None, True, 0.1, 1e-5, False), rtol=1e-5, atol=1e-5)
    assert_close(jtorch.layer_norm(jx, [5]), torch.layer_norm(tx, [5]), rtol=1e-5, atol=1e-5)
    assert_close(jtorch.layer_norm(jx, (6, 5), None, None, 1e-3), torch.layer_norm(tx, (6, 5), None, None, 1e-3),
                 rtol=1e-5, atol=1e-5)
    assert_close(jtorch.group_norm(jx, 3, jw, jb), torch.group_norm(tx, 3, tw, tb), rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError):
        jtorch.group_norm(jx, 4)


def test_complex_views_and_constructors(rng):
    z = (rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))).astype(np.complex64)
    tz, jz = pair(z)
    assert_close(jtorch.view_as_real(jz), torch.view_as_real(tz))
    r = rng.standard_normal((3, 2)).astype(np.float32)
    tr, jr = pair(r)
    assert_close(jtorch.view_as_complex(jtorch.view_as_real(jz)), tz)
    assert_close(jtorch.complex(jr, jr * 2), torch.complex(tr, tr * 2))
    assert_close(jtorch.polar(jr.abs(), jr), torch.polar(tr.abs(), tr), rtol=1e-5, atol=1e-6)
    assert_close(jtorch.vdot(jz[:, 0], jz[:, 1]), torch.vdot(tz[:, 0], tz[:, 1]), rtol=1e-5, atol=1e-6)
    assert_close(jtorch.vdot(jr[:, 0], jr[:, 1]), torch.vdot(tr[:, 0], tr[:, 1]), rtol=1e-5, atol=1e-6)
    assert_close(jz.resolve_conj(), tz.resolve_conj())
    assert_close(jtorch.adjoint(jz), torch.adjoint(tz).resolve_conj())
    assert jz.is_conj() is False and jz.is_neg() is False
    with pytest.raises(RuntimeError):
        jtorch.view_as_real(jr)
    with pytest.raises(RuntimeError):
        jtorch.view_as_complex(jtorch.ones(3, 3))
    with pytest.raises(RuntimeError):
        jtorch.complex(jr, jr.double())


def test_splits(rng):
    tx, jx = pair(rng.standard_normal((4, 6, 2)).astype(np.float32))
    assert_close(jtorch.hsplit(jx, 3), torch.hsplit(tx, 3))
    assert_close(jtorch.vsplit(jx, [1, 3]), torch.vsplit(tx, [1, 3]))
    assert_close(jx.dsplit(2), tx.dsplit(2))
    assert_close(jx.split_with_sizes([2, 4], 1), tx.split_with_sizes([2, 4], 1))
    assert_close(jtorch.unsafe_split(jx, 3, 1), torch.unsafe_split(tx, 3, 1))
    assert_close(jx.unsafe_chunk(2), tx.unsafe_chunk(2))
    with pytest.raises(RuntimeError):
        jtorch.hsplit(jx, 4)
    with pytest.raises(RuntimeError):
        jtorch.vsplit(jx[0, 0], 2)
    with pytest.raises(RuntimeError):
        jx.split_with_sizes([2, 3], 1)


def test_scatter_and_copy_variants(rng):
    tx, jx = pair(rng.standard_normal((4, 4)).astype(np.float32))
    ts, js = pair(rng.standard_normal(4).astype(np.float32))
    assert_close(jtorch.diagonal_scatter(jx, js), torch.diagonal_scatter(tx, ts))
    assert_close(jtorch.diagonal_scatter(jx, js[:3], 1), torch.diagonal_scatter(tx, ts[:3], 1))
    assert_close(jtorch.select_scatter(jx, js, 1, 2), torch.select_scatter(tx, ts, 1, 2))
    tt, jt = pair(rng.standard_normal((2, 4)).astype(np.float32))
    assert_close(jtorch.slice_scatter(jx, jt, 0, 0, 4, 2), torch.slice_scatter(tx, tt, 0, 0, 4, 2))
    assert_close(jx, tx)  # inputs untouched
    with pytest.raises(RuntimeError):
        jtorch.select_scatter(jx, js[:3], 1, 2)
    j = jx.clone().requires_grad_()
    src = js.clone().requires_grad_()
    jtorch.diagonal_scatter(j, src).pow(2).sum().backward()
    t = tx.clone().requires_grad_()
    tsrc = ts.clone().requires_grad_()
    torch.diagonal_scatter(t, tsrc).pow(2).sum().backward()
    assert_close(j.grad, t.grad)
    assert_close(src.grad, tsrc.grad)
    for name, args in (("transpose_copy", (0, 1)), ("diagonal_copy", ()), ("t_copy", ()), ("permute_copy", ((1, 0),)),
                       ("unsqueeze_copy", (1,)), ("narrow_copy", (0, 1, 2)), ("expand_copy", ((2, 4, 4),)),
                       ("view_copy", ((16,),)), ("unbind_copy", ())):
        assert_close(getattr(jtorch, name)(jx, *args), getattr(torch, name)(tx, *args))
    c = jtorch.transpose_copy(jx, 0, 1)
    c.zero_()
    assert_close(jx, tx)


def test_isin_unravel_index_fill_and_sizes(rng):
    te, je = pair(rng.integers(0, 10, (3, 4)))
    tt, jt = pair(rng.integers(0, 10, 5))
    assert_close(jtorch.isin(je, jt), torch.isin(te, tt))
    assert_close(jtorch.isin(je, jt, invert=True), torch.isin(te, tt, invert=True))
    assert_close(jtorch.isin(je, 3), torch.isin(te, 3))
    assert_close(jtorch.isin(je.float(), jt), torch.isin(te.float(), tt))
    ti, ji = pair(rng.integers(-24, 24, 7))
    assert_close(jtorch.unravel_index(ji, (2, 3, 4)), torch.unravel_index(ti, (2, 3, 4)))
    with pytest.raises(ValueError):
        jtorch.unravel_index(jtorch.tensor([24]), (2, 3, 4))
    with pytest.raises(TypeError):
        jtorch.unravel_index(jtorch.tensor([1.0]), (2, 3))
    tx, jx = pair(rng.standard_normal((2, 3, 4)).astype(np.float32))
    assert_close(jtorch.fill(jx, 2.5), torch.fill(tx, 2.5))
    assert_close(jx.sum_to_size(3, 1), tx.sum_to_size(3, 1), rtol=1e-5)
    assert_close(jx.sum_to_size((1, 3, 4)), tx.sum_to_size((1, 3, 4)), rtol=1e-5)
    with pytest.raises(RuntimeError):
        jx.sum_to_size(5)
    assert_close(jx.__rdiv__(2.0), tx.__rdiv__(2.0))
    assert jx.is_same_size(jx[0:2]) == tx.is_same_size(tx[0:2])
    assert jx.is_signed() and not jx.byte().is_signed()
    assert jtorch.tensor([3]).is_nonzero() is True
    with pytest.raises(RuntimeError):
        jx.is_nonzero()
    assert jx.equal(jx.clone()) and jx.allclose(jx + 1e-9)
    tz, jz = pair(np.array([[0, 1], [2, 0]]))
    assert_close(jtorch.nonzero_static(jz, size=4), torch.nonzero_static(tz, size=4))
    assert_close(jtorch.nonzero_static(jz, size=1), torch.nonzero_static(tz, size=1))


def test_block_diag_index_reduce_fill_diagonal(rng):
    a, b, c = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3), (1, 2), (3,)))
    assert_close(jtorch.block_diag(*map(jtorch.tensor, (a, b, c))),
                 torch.block_diag(*map(torch.from_numpy, (a, b, c))))
    assert_close(jtorch.block_diag(jtorch.tensor(a), jtorch.tensor([[1, 2]])),
                 torch.block_diag(torch.from_numpy(a), torch.tensor([[1, 2]])))
    tx, jx = pair(rng.standard_normal((5, 3)).astype(np.float32))
    ts, js = pair(rng.standard_normal((4, 3)).astype(np.float32))
    ti, ji = pair(np.array([0, 4, 0, 2]))
    for red in ("prod", "mean", "amax", "amin"):
        for inc in (True, False):
            assert_close(jx.index_reduce(0, ji, js, red, include_self=inc),
                         tx.index_reduce(0, ti, ts, red, include_self=inc), rtol=1e-5)
    j = jx.clone()
    j.index_reduce_(0, ji, js, "amax")
    assert_close(j, tx.clone().index_reduce_(0, ti, ts, "amax"))
    with pytest.raises(RuntimeError):
        jx.index_reduce(0, ji, js, "sum")
    for shape, wrap in (((4, 4), False), ((7, 3), True), ((7, 3), False), ((3, 3, 3), False)):
        t = torch.zeros(shape)
        j = jtorch.zeros(shape)
        assert_close(j.fill_diagonal_(2.0, wrap=wrap), t.fill_diagonal_(2.0, wrap=wrap))


def test_histogram_windows_igamma(rng):
    tx, jx = pair(rng.standard_normal(50).astype(np.float32))
    for kw in ({"bins": 5}, {"bins": 4, "range": (-1.0, 1.0)}, {"bins": 6, "density": True}):
        h, e = jtorch.histogram(jx, **kw)
        th, te = torch.histogram(tx, **kw)
        assert_close(h, th, rtol=1e-5, atol=1e-6)
        assert_close(e, te, rtol=1e-6, atol=1e-6)
    h, e = jtorch.histogram(jx, jtorch.tensor([-1.0, 0.0, 0.5, 2.0]))
    th, te = torch.histogram(tx, torch.tensor([-1.0, 0.0, 0.5, 2.0]))
    assert_close(h, th)
    for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"):
        for n in (0, 1, 5, 8):
            for periodic in (True, False):
                assert_close(getattr(jtorch, name)(n, periodic), getattr(torch, name)(n, periodic),
                             rtol=1e-5, atol=1e-6)
        assert_close(getattr(jtorch, name)(6, dtype=jtorch.float64), getattr(torch, name)(6, dtype=torch.float64))
    ta, ja = pair(rng.uniform(0.1, 5, 6))
    tb, jb = pair(rng.uniform(0.1, 5, 6))
    assert_close(jtorch.igamma(ja, jb), torch.igamma(ta, tb), rtol=1e-6)
    assert_close(ja.igammac(jb), ta.igammac(tb), rtol=1e-6)
    assert_close(jtorch.constant_pad_nd(ja, (1, 2), 3.0), torch.constant_pad_nd(ta, (1, 2), 3.0))


def test_inplace_shape_ops_keep_aliasing(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    for name, args in (("t_", ()), ("transpose_", (0, 1)), ("swapaxes_", (0, 1)), ("unsqueeze_", (1,)),
                       ("squeeze_", ())):
        t, j = torch.from_numpy(a.copy()).reshape(1, 2, 3) if name == "squeeze_" else torch.from_numpy(a.copy()), \
            jtorch.tensor(a).reshape(1, 2, 3) if name == "squeeze_" else jtorch.tensor(a)
        if name in ("t_", "transpose_", "swapaxes_"):
            t, j = t.clone(), j.clone()
        tv, jv = t.view(-1), j.view(-1)
        assert getattr(j, name)(*args) is j
        getattr(t, name)(*args)
        assert_close(j, t)
        j[(0,) * j.ndim] = 7.0
        t[(0,) * t.ndim] = 7.0
        assert_close(jv, tv)


def test_lu_and_small_top_level_functions(rng):
    a = rng.standard_normal((3, 3))
    b = rng.standard_normal((3, 2))
    (ta, ja), (tb, jb) = pair(a), pair(b)
    tLU, tp = torch.lu(ta)
    jLU, jp = jtorch.lu(ja)
    assert_close(jLU, tLU, rtol=1e-10, atol=1e-10)
    assert_close(jp, tp)
    assert_close(jtorch.lu_solve(jb, jLU, jp), torch.lu_solve(tb, tLU, tp), rtol=1e-8, atol=1e-10)
    assert jtorch.get_device(ja) == torch.get_device(ta) == -1
    assert jtorch.is_anomaly_enabled() is torch.is_anomaly_enabled() is False
    assert jtorch.is_autocast_enabled() is torch.is_autocast_enabled() is False
    assert str(jtorch.get_autocast_dtype("cpu")) == str(torch.get_autocast_dtype("cpu"))
    with jtorch.autocast("cpu"):
        assert_close(ja + 1, ta + 1)
    assert_close(jtorch.vmap(lambda x: x.sum())(ja), torch.vmap(lambda x: x.sum())(ta), rtol=1e-10)
    assert_close(jtorch.detach(ja), torch.detach(ta))

"""float16/bfloat16 results rounded where torch's CPU kernels round them (found by
``scripts/conformance.py --dtypes float16``): one rounding of a float32 computation (bfloat16 conv_transpose,
interpolate, adaptive_avg_pool2d, embedding_bag, huber_loss, einsum), or one per step in the half type
(float16 conv_transpose's kernel taps, cross, addr, addbmm's batches, adaptive_avg_pool3d's sums, batch/instance
norm's statistics). Seeded inputs through torch and jtorch; the results must be equal (assert_close's 1e-5 is
below half an ulp), or within torch's own half tolerance (ULP) where float32 sums run in another order than
torch's."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

HALF = ("float16", "bfloat16")
# torch's own testing tolerance for half types (about an ulp): where the float32 sums run in another order
# than torch's, a value on a rounding boundary may round the other way
ULP = {"float16": dict(rtol=1e-3, atol=1e-5), "bfloat16": dict(rtol=1.6e-2, atol=1e-5)}


def pair(rng, shape, dtype, scale=3.0):
    a = (rng.standard_normal(shape) * scale).astype(np.float32)
    return torch.from_numpy(a).to(getattr(torch, dtype)), jtorch.tensor(a).to(getattr(jtorch, dtype))


@pytest.mark.parametrize("dtype", HALF)
def test_cross_rounds_each_product(rng, dtype):
    (ta, ja), (tb, jb) = pair(rng, (64, 3), dtype, 10), pair(rng, (64, 3), dtype, 10)
    assert_close(jtorch.linalg.cross(ja, jb), torch.linalg.cross(ta, tb))
    (tc, jc), (td, jd) = pair(rng, (4, 3, 5), dtype, 10), pair(rng, (1, 3, 5), dtype, 10)
    assert_close(jtorch.cross(jc, jd, dim=1), torch.cross(tc, td, dim=1))


@pytest.mark.parametrize("dtype", HALF)
def test_addr_rounds_each_step(rng, dtype):
    (ti, ji), (tu, ju), (tv, jv) = pair(rng, (16, 24), dtype), pair(rng, (16,), dtype), pair(rng, (24,), dtype)
    for beta, alpha in ((1, 1), (0.6, 0.2), (0, 1.7)):
        assert_close(jtorch.addr(ji, ju, jv, beta=beta, alpha=alpha), torch.addr(ti, tu, tv, beta=beta, alpha=alpha))
    ti[0, 0] = float("nan")
    ji[0, 0] = float("nan")
    assert_close(jtorch.addr(ji, ju, jv, beta=0), torch.addr(ti, tu, tv, beta=0))  # nan of input ignored


@pytest.mark.parametrize("dtype", HALF)
def test_addbmm_rounds_after_each_batch(rng, dtype):
    (ti, ji), (t1, j1), (t2, j2) = pair(rng, (6, 10), dtype), pair(rng, (7, 6, 5), dtype), pair(rng, (7, 5, 10), dtype)
    for beta, alpha in ((1, 1), (0.6, 0.2), (0, 1)):
        assert_close(jtorch.addbmm(ji, j1, j2, beta=beta, alpha=alpha),
                     torch.addbmm(ti, t1, t2, beta=beta, alpha=alpha))
    (tb, jb) = pair(rng, (10,), dtype)
    assert_close(jtorch.addbmm(jb, j1, j2), torch.addbmm(tb, t1, t2))  # input broadcast
    x = j1.detach().requires_grad_(True)
    jtorch.addbmm(ji, x, j2).float().sum().backward()
    y = t1.detach().requires_grad_(True)
    torch.addbmm(ti, y, t2).float().sum().backward()
    assert_close(x.grad, y.grad, rtol=2e-2, atol=1e-2)


@pytest.mark.parametrize("dtype", HALF)
def test_einsum_sum_and_contraction_in_float(rng, dtype):
    (ta, ja), (tb, jb) = pair(rng, (8, 64), dtype), pair(rng, (64, 8), dtype)
    for eq, ops in (("ij->i", 1), ("ij->", 1), ("ij,jk->ik", 2), ("ij,kj->ik", 2)):
        targs = (ta, tb if eq != "ij,kj->ik" else tb.T) if ops == 2 else (ta,)
        jargs = (ja, jb if eq != "ij,kj->ik" else jb.T) if ops == 2 else (ja,)
        assert_close(jtorch.einsum(eq, *jargs), torch.einsum(eq, *targs))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("n", (1, 2, 3))
def test_conv_transpose_accumulates_in_float(rng, dtype, n):
    (tx, jx) = pair(rng, (2, 4) + (5,) * n, dtype)
    (tw, jw) = pair(rng, (4, 3) + (3,) * n, dtype)
    (tb, jb) = pair(rng, (3,), dtype)
    f = "conv_transpose%dd" % n
    kw = dict(stride=2, padding=1, output_padding=1, dilation=2)
    assert_close(getattr(jtorch.nn.functional, f)(jx, jw, jb, **kw), getattr(torch.nn.functional, f)(tx, tw, tb, **kw))
    # groups, no bias, stride 1 (float16: each kernel tap's product rounded, the taps summed in float16)
    (tw, jw) = pair(rng, (4, 2) + (2,) * n, dtype)
    kw = dict(groups=2, dilation=3, padding=1)
    assert_close(getattr(jtorch.nn.functional, f)(jx, jw, **kw), getattr(torch.nn.functional, f)(tx, tw, **kw))
    # an output padding reaching its stride (allowed below the dilation): torch's bfloat16 leaves oneDNN for
    # the tap-by-tap kernel float16 always takes
    (tw, jw) = pair(rng, (4, 2) + (4,) * n, dtype)
    kw = dict(groups=2, stride=2, padding=1, output_padding=2, dilation=3)
    assert_close(getattr(jtorch.nn.functional, f)(jx, jw, jb[:2].repeat(2), **kw),
                 getattr(torch.nn.functional, f)(tx, tw, tb[:2].repeat(2), **kw))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("mode,size", (("bilinear", (7, 9)), ("bicubic", (7, 9)), ("area", (3, 5)),
                                       ("bilinear", None), ("bicubic", None)))
def test_interpolate_rounds_once(rng, dtype, mode, size):
    tx, jx = pair(rng, (2, 3, 5, 6), dtype)
    kw = dict(mode=mode) if mode == "area" else dict(mode=mode, align_corners=True)
    if size is None:
        kw["scale_factor"] = 1.5
    else:
        kw["size"] = size
    assert_close(jtorch.nn.functional.interpolate(jx, **kw), torch.nn.functional.interpolate(tx, **kw), **ULP[dtype])


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_linear_trilinear_round_lambda(rng, dtype, align_corners):
    # torch's 1-d linear and trilinear kernels keep lambda in the half type (and 1 - lambda rounded again),
    # sum in float32, innermost dim first: equal bits
    F, G = jtorch.nn.functional, torch.nn.functional
    for shape, mode, sizes in [((2, 3, 7), "linear", [(11,), (4,), (6,)]),
                               ((2, 2, 4, 3, 5), "trilinear", [(5, 4, 7), (3, 2, 4)])]:
        tx, jx = pair(rng, shape, dtype)
        for size in sizes:
            kw = dict(size=size, mode=mode, align_corners=align_corners)
            assert_close(F.interpolate(jx, **kw), G.interpolate(tx, **kw))
        kw = dict(scale_factor=1.7, mode=mode, align_corners=align_corners)
        assert_close(F.interpolate(jx, **kw), G.interpolate(tx, **kw))


@pytest.mark.parametrize("dtype", HALF)
def test_interpolate_area_3d_is_the_adaptive_pool(rng, dtype):
    # torch's 3-d area resize runs adaptive_avg_pool3d, which sums each window in the half type
    tx, jx = pair(rng, (2, 2, 4, 3, 5), dtype)
    # (an output dim of 1, e.g. size=(2, 1, 3), still differs by an ulp in places: so does adaptive_avg_pool3d)
    for kw in [dict(size=(3, 2, 4)), dict(size=(5, 4, 6)), dict(size=(2, 2, 3)), dict(scale_factor=1.7)]:
        assert_close(jtorch.nn.functional.interpolate(jx, mode="area", **kw),
                     torch.nn.functional.interpolate(tx, mode="area", **kw))


@pytest.mark.parametrize("dtype", HALF)
def test_adaptive_avg_pool(rng, dtype):
    tx, jx = pair(rng, (2, 8, 9, 11), dtype)
    assert_close(jtorch.nn.functional.adaptive_avg_pool2d(jx, (4, 5)),
                 torch.nn.functional.adaptive_avg_pool2d(tx, (4, 5)), **ULP[dtype])
    tx, jx = pair(rng, (2, 3, 8, 9, 7), dtype)
    for size in ((5, 7, 4), (3, None, 2), (1, 1, 1)):  # sums in the half type; all ones: a mean
        assert_close(jtorch.nn.functional.adaptive_avg_pool3d(jx, size),
                     torch.nn.functional.adaptive_avg_pool3d(tx, size), **ULP[dtype])


def test_norms_round_their_statistics(rng):
    dtype = "float16"
    tx, jx = pair(rng, (6, 4, 5, 3), dtype)
    (tw, jw), (tb, jb) = pair(rng, (4,), dtype), pair(rng, (4,), dtype)
    F, G = jtorch.nn.functional, torch.nn.functional
    assert_close(F.batch_norm(jx, None, None, jw, jb, training=True, eps=0.5),
                 G.batch_norm(tx, None, None, tw, tb, training=True, eps=0.5))
    assert_close(F.instance_norm(jx, weight=jw, bias=jb), G.instance_norm(tx, weight=tw, bias=tb))
    assert_close(F.instance_norm(jx), G.instance_norm(tx))
    x = jx.detach().requires_grad_(True)
    F.batch_norm(x, None, None, jw, jb, training=True).float().sum().backward()
    assert x.grad is not None and x.grad.dtype == jtorch.float16


@pytest.mark.parametrize("dtype", HALF)
def test_embedding_bag_and_huber_loss_in_float(rng, dtype):
    (tw, jw) = pair(rng, (10, 5), dtype)
    idx = rng.integers(0, 10, 12)
    ti, ji = torch.from_numpy(idx), jtorch.tensor(idx)
    to, jo = torch.tensor([0, 3, 3, 7]), jtorch.tensor([0, 3, 3, 7])
    (tp, jp) = pair(rng, (12,), dtype)
    for mode in ("sum", "mean", "max"):
        assert_close(jtorch.nn.functional.embedding_bag(ji, jw, jo, mode=mode),
                     torch.nn.functional.embedding_bag(ti, tw, to, mode=mode), **ULP[dtype])
    assert_close(jtorch.nn.functional.embedding_bag(ji, jw, jo, mode="sum", per_sample_weights=jp),
                 torch.nn.functional.embedding_bag(ti, tw, to, mode="sum", per_sample_weights=tp), **ULP[dtype])
    (ta, ja), (tt, jt) = pair(rng, (8, 9), dtype, 10), pair(rng, (8, 9), dtype, 10)
    for red in ("none", "mean", "sum"):
        assert_close(jtorch.nn.functional.huber_loss(ja, jt, reduction=red, delta=8.7),
                     torch.nn.functional.huber_loss(ta, tt, reduction=red, delta=8.7))


def test_norms_with_float32_parameters_keep_float32_statistics(rng):
    # torch's mixed-type path (a float16 input, float32 weight/running stats as in a float32 module)
    tx, jx = pair(rng, (4, 6, 5), "float16")
    for mk in (lambda m: m.BatchNorm1d(6), lambda m: m.InstanceNorm1d(6, affine=True)):
        assert_close(mk(jtorch.nn)(jx), mk(torch.nn)(tx), rtol=0, atol=0)
    (tw, jw) = pair(rng, (6,), "float16")
    F, G = jtorch.nn.functional, torch.nn.functional
    assert_close(F.batch_norm(jx, jtorch.zeros(6), jtorch.ones(6), training=True),
                 G.batch_norm(tx, torch.zeros(6), torch.ones(6), training=True))
    assert_close(F.batch_norm(jx, jtorch.zeros(6, dtype=jtorch.float16), jtorch.ones(6, dtype=jtorch.float16), jw,
                              training=True),
                 G.batch_norm(tx, torch.zeros(6, dtype=torch.float16), torch.ones(6, dtype=torch.float16), tw,
                              training=True))


@pytest.mark.parametrize("dtype", HALF)
def test_normalize_and_renorm_round_the_norm(rng, dtype):
    tx, jx = pair(rng, (6, 5, 4), dtype)
    for kw in (dict(), dict(p=1.0, dim=2), dict(p=3.0, dim=0)):
        assert_close(jtorch.nn.functional.normalize(jx, **kw), torch.nn.functional.normalize(tx, **kw))
    for p, dim, maxnorm in ((2, 1, 0.5), (1, 0, 3.0), (float("inf"), 2, 1.0)):
        assert_close(jx.renorm(p, dim, maxnorm), tx.renorm(p, dim, maxnorm), **ULP[dtype])


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_bilinear_rounds_each_step(rng, dtype, padding_mode, align_corners):
    # torch's vectorized 2-d kernel: source coordinates, weights and the sum over the corners in the half type
    tx, jx = pair(rng, (2, 3, 5, 6), dtype)
    g = (rng.random((2, 4, 7, 2)) * 2.4 - 1.2).astype(np.float32)
    tg, jg = torch.from_numpy(g).to(getattr(torch, dtype)), jtorch.tensor(g).to(getattr(jtorch, dtype))
    kw = dict(mode="bilinear", padding_mode=padding_mode, align_corners=align_corners)
    assert_close(jtorch.nn.functional.grid_sample(jx, jg, **kw), torch.nn.functional.grid_sample(tx, tg, **kw))

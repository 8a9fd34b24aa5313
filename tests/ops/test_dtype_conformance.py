"""Dtype conformance with torch beyond float32/int64 (found by scripts/conformance.py over op_db in every CPU
dtype): bool accumulation, integer division by zero, half-precision accuracy, promotion. Seeded random
inputs through torch and jtorch."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close

INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")


def pair(a):
    a = np.asarray(a)
    return torch.from_numpy(a.copy()), jtorch.tensor(a.copy())


def raises_like(f_torch, f_jtorch):
    """Both raise the same exception type, or both return the same result."""
    try:
        want = f_torch()
    except Exception as e:
        with pytest.raises(type(e)):
            f_jtorch()
        return
    assert_close(f_jtorch(), want)


# ---- bool tensors accumulate with `or` (sums) and `and` (products)
def test_bool_scatter_family(rng):
    tx, jx = pair(rng.random((5, 4)) < 0.3)
    tsrc, jsrc = pair(rng.random((6, 4)) < 0.5)
    ti, ji = pair(rng.integers(0, 5, (6, 4)))
    tr, jr = pair(rng.integers(0, 5, 6))  # repeated rows accumulate
    assert_close(jx.index_add(0, jr, jsrc), tx.index_add(0, tr, tsrc))
    assert_close(jx.index_add(0, jr, jsrc, alpha=0), tx.index_add(0, tr, tsrc, alpha=0))
    assert_close(jx.scatter_add(0, ji, jsrc), tx.scatter_add(0, ti, tsrc))
    for reduce in ("sum", "prod", "amax", "amin"):
        for include_self in (True, False):
            assert_close(jx.scatter_reduce(0, ji, jsrc, reduce, include_self=include_self),
                         tx.scatter_reduce(0, ti, tsrc, reduce, include_self=include_self))
    for reduce in ("add", "multiply"):
        assert_close(jx.scatter(0, ji, jsrc, reduce=reduce), tx.scatter(0, ti, tsrc, reduce=reduce))
    raises_like(lambda: tx.scatter_reduce(0, ti, tsrc, "mean"), lambda: jx.scatter_reduce(0, ji, jsrc, "mean"))
    tv, jv = pair(rng.random(6) < 0.5)
    assert_close(jx.index_put((jr, jr % 4), jv, accumulate=True), tx.index_put((tr, tr % 4), tv, accumulate=True))
    tp, jp = pair(rng.integers(0, 20, 6))
    assert_close(jx.put(jp, jv, accumulate=True), tx.put(tp, tv, accumulate=True))
    j2 = jx.clone()
    j2.index_add_(0, jr, jsrc)
    assert_close(j2, tx.index_add(0, tr, tsrc))


def test_bool_kron(rng):
    (ta, ja), (tb, jb) = pair(rng.random((2, 3)) < 0.5), pair(rng.random((3, 2)) < 0.5)
    assert_close(jtorch.kron(ja, jb), torch.kron(ta, tb))


@pytest.mark.parametrize("dtype", ("bool", "uint8", "int16", "float16", "float64"))
def test_sum_to_empty_size_is_the_full_sum(rng, dtype):
    tx, jx = pair((rng.standard_normal((3, 2)) * 4).astype(dtype))
    for x_t, x_j in ((tx, jx), (tx[0, 0], jx[0, 0])):
        assert_close(x_j.sum_to_size(()), x_t.sum_to_size(()), rtol=1e-3)
    assert_close(jx.sum_to_size(1, 2), tx.sum_to_size(1, 2), rtol=1e-3)


# ---- digamma/polygamma at the poles: torch's signed infinities
def test_polygamma_poles(rng):
    x = np.concatenate([[0.0, -0.0, -1.0, -2.0, -3.0, 1e-30, -1.5, -2.5], rng.uniform(-4, 4, 16)]).astype(np.float32)
    tx, jx = pair(x)
    assert_close(jtorch.digamma(jx), torch.digamma(tx), rtol=1e-4, atol=1e-5)
    for n in range(1, 5):
        want = torch.polygamma(n, tx)
        keep = torch.isinf(want) | (tx > 0) | (tx != tx.floor())  # torch's n=1 at negative integers is not a limit
        got = jtorch.polygamma(n, jx)
        assert_close(got[jtorch.tensor(keep.numpy())], want[keep], rtol=1e-4, atol=1e-5)
    tb, jb = pair(rng.random(8) < 0.5)
    assert_close(jtorch.polygamma(2, jb), torch.polygamma(2, tb), rtol=1e-4)


# ---- integer division and remainder by zero raise RuntimeError("ZeroDivisionError")
@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_division_by_zero_raises(rng, dtype):
    lo = 0 if dtype == "uint8" else -9
    ta, ja = pair(rng.integers(lo, 10, 6).astype(dtype))
    tb, jb = pair(rng.integers(1, 5, 6).astype(dtype))
    tz, jz = pair(np.where(rng.random(6) < 0.5, 0, rng.integers(1, 5, 6)).astype(dtype))
    tz[0], jz[0] = 0, 0
    ops = [lambda m, a, b: m.floor_divide(a, b), lambda m, a, b: m.remainder(a, b), lambda m, a, b: m.fmod(a, b),
           lambda m, a, b: m.div(a, b, rounding_mode="trunc"), lambda m, a, b: m.div(a, b, rounding_mode="floor"),
           lambda m, a, b: a // b, lambda m, a, b: a % b]
    for f in ops:
        assert_close(f(jtorch, ja, jb), f(torch, ta, tb))
        raises_like(lambda: f(torch, ta, tz), lambda: f(jtorch, ja, jz))
        raises_like(lambda: f(torch, ta, 0), lambda: f(jtorch, ja, 0))
        raises_like(lambda: f(torch, ta, tz.double()), lambda: f(jtorch, ja, jz.double()))  # float: inf/nan
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ja.clone().floor_divide_(jz)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        j2 = ja.clone()
        j2 %= jz
    raises_like(lambda: 7 // tz, lambda: 7 // jz)


def test_bool_division_is_rejected_before_the_zero_check(rng):
    tb, jb = pair(rng.random(6) < 0.5)
    tb[0], jb[0] = False, False
    for f in (lambda m, a: m.floor_divide(a, a), lambda m, a: m.remainder(a, a), lambda m, a: m.fmod(a, a),
              lambda m, a: m.div(a, a, rounding_mode="trunc"), lambda m, a: m.div(a, 0, rounding_mode="floor")):
        raises_like(lambda: f(torch, tb), lambda: f(jtorch, jb))


# ---- float16/bfloat16: torch computes in float32 and rounds once (pointwise "opmath", float accumulation in
# reductions, scans and products); compared at torch's own half tolerances (about one rounding)
HALF_TOL = {"float16": dict(rtol=1e-3, atol=1e-5), "bfloat16": dict(rtol=1.6e-2, atol=1e-5)}

HALF_OPS = {
    "sum": lambda m, a, b, c: a.sum(1), "sum_all": lambda m, a, b, c: a.sum(),
    "sum_dtype": lambda m, a, b, c: a.sum(0, dtype=a.dtype), "nansum": lambda m, a, b, c: a.nansum(1),
    "mean_dtype": lambda m, a, b, c: a.mean(1, dtype=a.dtype), "cumsum": lambda m, a, b, c: a.cumsum(1),
    "cumprod": lambda m, a, b, c: c[:, :12].cumprod(1), "logcumsumexp": lambda m, a, b, c: a.logcumsumexp(1),
    "norm": lambda m, a, b, c: (a * 300).norm(dim=1), "vector_norm3": lambda m, a, b, c: m.linalg.vector_norm(a, 3, 1),
    "matrix_norm": lambda m, a, b, c: m.linalg.matrix_norm(a * 300), "addmm": lambda m, a, b, c: m.addmm(c[:, :32], a, b),
    "baddbmm": lambda m, a, b, c: m.baddbmm(c[None, :, :32], a[None], b[None], beta=0.5, alpha=1.5),
    "sdpa": lambda m, a, b, c: m.nn.functional.scaled_dot_product_attention(a[None, :8, :16], b.T[None, :8, :16],
                                                                          c[None, 8:16, :16]),
    "gelu": lambda m, a, b, c: m.nn.functional.gelu(a), "silu": lambda m, a, b, c: m.nn.functional.silu(a),
    "softplus": lambda m, a, b, c: m.nn.functional.softplus(a), "sinc": lambda m, a, b, c: a.sinc(),
    "lerp": lambda m, a, b, c: m.lerp(a, c, 0.3), "lerp_hi": lambda m, a, b, c: m.lerp(a, c, 0.9),
    "add_alpha": lambda m, a, b, c: m.add(a, c, alpha=0.1), "mul_scalar": lambda m, a, b, c: a * 0.1,
    "softmax": lambda m, a, b, c: (a * 4).softmax(1),
    "linear": lambda m, a, b, c: m.nn.functional.linear(a, b.T.contiguous(), c[0, :32]),
    "addcdiv": lambda m, a, b, c: m.addcdiv(a, a, c, value=0.7), "leaky_relu": lambda m, a, b, c: m.nn.functional.leaky_relu(a, 0.1),
}


@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
@pytest.mark.parametrize("name", sorted(HALF_OPS))
def test_half_precision_computes_in_float(rng, dtype, name):
    f = HALF_OPS[name]
    arrays = (rng.standard_normal((32, 128)), rng.standard_normal((128, 32)), rng.uniform(0.5, 1.5, (32, 128)))
    T = [torch.from_numpy(a.astype(np.float32)).to(getattr(torch, dtype)) for a in arrays]
    J = [jtorch.tensor(a.astype(np.float32)).to(getattr(jtorch, dtype)) for a in arrays]
    assert_close(f(jtorch, *J), f(torch, *T), **HALF_TOL[dtype])


def test_half_opmath_keeps_types(rng):
    th, jh = pair(rng.standard_normal(6).astype(np.float16))
    ti, ji = pair(rng.integers(-5, 5, 6).astype(np.int32))
    for f in (lambda a, b: a + b, lambda a, b: a * 2, lambda a, b: b / a, lambda a, b: a.exp(), lambda a, b: a > 0.5,
              lambda a, b: a.to(torch.bfloat16 if isinstance(a, torch.Tensor) else jtorch.bfloat16).sin(),
              lambda a, b: a.frexp(), lambda a, b: a.nextafter(a + 1), lambda a, b: a.double() + a):
        assert_close(f(jh, ji), f(th, ti), rtol=1e-3, atol=1e-5)
    x = jh.clone().requires_grad_(True)
    jtorch.nn.functional.gelu(x).sum().backward()
    y = th.clone().requires_grad_(True)
    torch.nn.functional.gelu(y).sum().backward()
    assert_close(x.grad, y.grad, rtol=2e-3, atol=1e-4)


# ---- complex
@pytest.mark.parametrize("dtype", ("complex64", "complex128"))
def test_complex_zero_base_power_and_logit(rng, dtype):
    z = (rng.standard_normal(8) + 1j * rng.standard_normal(8)).astype(dtype)
    z[:3] = 0
    w = (rng.uniform(0.2, 2, 8) + 1j * rng.standard_normal(8)).astype(dtype)  # positive real parts
    (tz, jz), (tw, jw) = pair(z), pair(w)
    assert_close(jz ** jw, tz ** tw, rtol=1e-4, atol=1e-5)
    assert_close(jz ** 2.5, tz ** 2.5, rtol=1e-4, atol=1e-5)
    raises_like(lambda: tz.logit(), lambda: jz.logit())


@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
def test_half_linspace_special_and_rms_norm(rng, dtype):
    tdt, jdt = getattr(torch, dtype), getattr(jtorch, dtype)
    assert_close(jtorch.linspace(-3, 7.5, 9, dtype=jdt), torch.linspace(-3, 7.5, 9, dtype=tdt), **HALF_TOL[dtype])
    x = rng.standard_normal(16).astype(np.float32) * 3
    tx, jx = torch.from_numpy(x).to(tdt), jtorch.tensor(x).to(jdt)
    for name in ("ndtr",):
        # (torch's half ndtr loses small values to 0 in its tail: compared where the result is above 0.05)
        keep = slice(None) if name != "ndtr" else torch.special.ndtr(tx.float()) > 0.05
        jkeep = keep if name != "ndtr" else jtorch.tensor(keep.numpy())
        assert_close(getattr(jtorch.special, name)(jx)[jkeep], getattr(torch.special, name)(tx)[keep],
                     **HALF_TOL[dtype])
    big = rng.uniform(100, 300, (4, 8)).astype(np.float32)  # squares overflow float16
    tb, jb = torch.from_numpy(big).to(tdt), jtorch.tensor(big).to(jdt)
    tw, jw = torch.from_numpy(big[0] / 100).to(tdt), jtorch.tensor(big[0] / 100).to(jdt)
    assert_close(jtorch.nn.functional.rms_norm(jb, (8,)), torch.nn.functional.rms_norm(tb, (8,)), **HALF_TOL[dtype])
    assert_close(jtorch.nn.functional.rms_norm(jb, (8,), jw), torch.nn.functional.rms_norm(tb, (8,), tw),
                 **HALF_TOL[dtype])


# ---- promotion
def test_cov_promotes_with_aweights(rng):
    x = rng.standard_normal((3, 5))
    w = rng.uniform(0.5, 2, 5)
    for xd, wd in (("float16", "float32"), ("float32", "float64"), ("int64", "float32"), ("bfloat16", "float64")):
        tx, jx = torch.from_numpy(x.astype(np.float32)).to(getattr(torch, xd)), \
            jtorch.tensor(x.astype(np.float32)).to(getattr(jtorch, xd))
        (tw, jw) = pair(w.astype(wd))
        assert_close(jtorch.cov(jx, aweights=jw), torch.cov(tx, aweights=tw), rtol=2e-2, atol=1e-3)


@pytest.mark.parametrize("dtype", ("int8", "uint8", "int16", "int32"))
def test_unravel_index_of_narrow_integers(rng, dtype):
    ti, ji = pair(rng.integers(0, 100, (2, 3)).astype(dtype))
    for shape in ((4, 1 << 30), (1 << 30, 4), (10, 10)):
        assert_close(jtorch.unravel_index(ji, shape), torch.unravel_index(ti, shape))


# ---- half-precision addbmm/addr round where torch's kernels do (exactly torch's bits on these inputs)
@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
@pytest.mark.parametrize("batches", (4, 1, 0))
def test_half_addbmm_rounds_per_batch(rng, dtype, batches):
    arrays = (rng.standard_normal((5, 7)), rng.standard_normal((batches, 5, 3)) * 3,
              rng.standard_normal((batches, 3, 7)) * 3)
    T = [torch.from_numpy(a.astype(np.float32)).to(getattr(torch, dtype)) for a in arrays]
    J = [jtorch.tensor(a.astype(np.float32)).to(getattr(jtorch, dtype)) for a in arrays]
    for beta, alpha in ((0.5, 0.7), (1, 1), (0, 2.3)):
        assert_close(jtorch.addbmm(*J, beta=beta, alpha=alpha), torch.addbmm(*T, beta=beta, alpha=alpha), rtol=0, atol=0)
    assert_close(jtorch.addbmm(J[0][0], *J[1:]), torch.addbmm(T[0][0], *T[1:]), rtol=0, atol=0)  # broadcast input


@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
def test_half_addr_rounds_each_step(rng, dtype):
    arrays = (rng.standard_normal((5, 7)), rng.standard_normal(5) * 3, rng.standard_normal(7) * 3)
    T = [torch.from_numpy(a.astype(np.float32)).to(getattr(torch, dtype)) for a in arrays]
    J = [jtorch.tensor(a.astype(np.float32)).to(getattr(jtorch, dtype)) for a in arrays]
    for beta, alpha in ((0.5, 0.7), (1, 1), (0, 2.3), (0.3, 0)):
        assert_close(jtorch.addr(*J, beta=beta, alpha=alpha), torch.addr(*T, beta=beta, alpha=alpha), rtol=0, atol=0)
        assert_close(jtorch.addr(J[0][0], *J[1:], beta=beta, alpha=alpha),
                     torch.addr(T[0][0], *T[1:], beta=beta, alpha=alpha), rtol=0, atol=0)


# ---- torch's half logit computes step by step in the half type (eps and clamp bounds rounded to it too)
@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
def test_half_logit_rounds_each_step(rng, dtype):
    x = rng.random(2000).astype(np.float32)
    x[:6] = [0, 1, 0.5, 1e-3, 0.999, 1e-7]
    tx, jx = torch.from_numpy(x).to(getattr(torch, dtype)), jtorch.tensor(x).to(getattr(jtorch, dtype))
    for eps in (None, 0.0, 0.05, 0.2, 0.45, 1e-6):
        assert_close(jtorch.logit(jx, eps), torch.logit(tx, eps), rtol=0, atol=0)
    jg = jx[6:20].clone().requires_grad_(True)
    tg = tx[6:20].clone().requires_grad_(True)
    jtorch.logit(jg).sum().backward()
    torch.logit(tg).sum().backward()
    assert_close(jg.grad, tg.grad, **HALF_TOL[dtype])


# ---- integer einsum: torch sums labels only one operand has with `sum` (int64), then combines with mul/bmm
EINSUM_CASES = ("ij,jk->ik", "ij->", "ij->i", "ii->i", "ii", "ii->", "i,i->", "i,j->ij", "ij->ji", "ij,ij->", "ij,ij->i",
                "ij,j->i", "ij,k->k", "ij,j->j", "ij,jk->k", "ij,jk->", "ij,k->", "ij,k->ik", "ii,i->i", "ij,jk,k->i",
                "i,j,k->", "i,j,k->ijk", "...ij,...jk", "i...->...", "ji")


@pytest.mark.parametrize("dtype", ("int32", "int8", "uint8", "int16", "bool", "int64", "float32"))
def test_integer_einsum_result_types(rng, dtype):
    shapes = {"i": 3, "j": 4, "k": 5}
    for eq in EINSUM_CASES:
        terms = eq.split("->")[0].split(",")
        arrays = [rng.integers(-5, 5, [2] * t.count("...") + [shapes[c] for c in t.replace("...", "")]) for t in terms]
        T = [torch.from_numpy(a.astype(dtype)) for a in arrays]
        J = [jtorch.tensor(a.astype(dtype)) for a in arrays]
        raises_like(lambda: torch.einsum(eq, *T), lambda: jtorch.einsum(eq, *J))


@pytest.mark.parametrize("dtype", ("int8", "int32", "bool"))
def test_integer_and_bool_tensordot(rng, dtype):
    (ta, ja), (tb, jb) = pair(rng.integers(-5, 5, (2, 3, 4)).astype(dtype)), pair(rng.integers(-5, 5, (3, 4, 5)).astype(dtype))
    for dims in (2, 0, ([1], [0])):
        raises_like(lambda: torch.tensordot(ta, tb, dims), lambda: jtorch.tensordot(ja, jb, dims))
    # a size-1 contracted dim broadcasts (the other side is summed): the result keeps the integer type
    (tc, jc), (td, jd) = pair(rng.integers(-5, 5, (1, 1, 1)).astype(dtype)), pair(rng.integers(-5, 5, (2, 1, 2)).astype(dtype))
    raises_like(lambda: torch.tensordot(tc, td, ([0, 1], [2, 0])), lambda: jtorch.tensordot(jc, jd, ([0, 1], [2, 0])))


@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
def test_half_tanhshrink_rounds_tanh_first(rng, dtype):
    x = (rng.standard_normal(2000) * 2).astype(np.float32)
    tx, jx = torch.from_numpy(x).to(getattr(torch, dtype)), jtorch.tensor(x).to(getattr(jtorch, dtype))
    assert_close(jtorch.nn.functional.tanhshrink(jx), torch.nn.functional.tanhshrink(tx), rtol=0, atol=0)

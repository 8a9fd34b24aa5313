"""Contractions and array combinators against torch: einsum, tensordot, kron, cdist, diff,
trapezoid, cov/corrcoef, renorm, vander, cartesian_prod, combinations."""
import numpy as np
import pytest
import torch

import jtorch
from tests.ops.mathcheck import check


def _both_raise(fn, match, exc=RuntimeError):
    msgs = []
    for L in (torch, jtorch):
        with pytest.raises(exc, match=match) as e:
            fn(L)
        msgs.append(str(e.value))
    return msgs


def test_einsum(rng):
    a, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    c = rng.standard_normal((5, 2, 3)).astype(np.float32)
    check(lambda L, x, y: L.einsum("ij,jk->ik", x, y), a, b, grad=(0, 1))
    check(lambda L, x, y: L.einsum("ij,jk", [x, y]), a, b, grad=(0, 1))           # operand list, implicit output
    check(lambda L, x: L.einsum("bij->bji", x), c, grad=(0,))
    check(lambda L, x: L.einsum("...ij->...j", x), c, grad=(0,))
    check(lambda L, x: L.einsum("ii", x), a @ a.T, grad=(0,))
    check(lambda L, x, y: L.einsum("bij, jk -> bik", x, y), c, b, grad=(0, 1))
    check(lambda L, x, y: L.einsum("i,j->ij", x, y), np.arange(3), np.arange(4))  # int64 stays int64
    _both_raise(lambda L: L.einsum("ij,jk->ik", L.ones(2, 2), L.ones(2, 2, dtype=L.float64)),
                "expected scalar type Float but found Double")
    _both_raise(lambda L: L.einsum("ij,jk->ik", L.ones(2, 2), L.ones(3, 2)), "subscript j has size 3")
    _both_raise(lambda L: L.einsum("ij,jk->ik", L.ones(2, 2)), "fewer operands")


def test_einsum_sublist_form(rng):
    """einsum(op1, sublist1, op2, sublist2, ..., [out]): subscripts as integers in [0, 52), Ellipsis."""
    a, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    c = rng.standard_normal((5, 2, 3)).astype(np.float32)
    check(lambda L, x, y: L.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b, grad=(0, 1))
    check(lambda L, x, y: L.einsum(x, [0, 1], y, [1, 2]), a, b, grad=(0, 1))       # implicit output
    check(lambda L, x: L.einsum(x, [51, 30]), a, grad=(0,))                          # implicit order of the letters
    check(lambda L, x, y: L.einsum(x, [Ellipsis, 0, 1], y, [1, 2], [Ellipsis, 0, 2]), c, b, grad=(0, 1))
    check(lambda L, x: L.einsum(x, [0, 0]), a @ a.T, grad=(0,))
    _both_raise(lambda L: L.einsum(L.ones(2, 2), [0, 52]), "valid range", exc=ValueError)


def test_tensordot_kron(rng):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4, 5))
    check(lambda L, x, y: L.tensordot(x, y), a, b, grad=(0, 1))
    check(lambda L, x, y: L.tensordot(x, y, dims=1), a, b.transpose(1, 0, 2).copy(), grad=(0, 1))
    check(lambda L, x, y: L.tensordot(x, y, dims=([1, 2], [0, 1])), a, b, grad=(0, 1))
    check(lambda L, x, y: L.tensordot(x, y, dims=([1], [0])), a, b, grad=(0, 1))
    check(lambda L, x, y: L.tensordot(x, y, dims=0), a[0, 0], b[0, 0], grad=(0, 1))
    _both_raise(lambda L: L.tensordot(L.ones(2, 3), L.ones(2, 2), dims=1), "contracted dimensions need to match")
    _both_raise(lambda L: L.tensordot(L.ones(2, 3), L.ones(3, 2, dtype=L.float64), dims=1), "same dtype")
    check(lambda L, x, y: L.kron(x, y), a[0], b[0, :2, :2], grad=(0, 1))
    check(lambda L, x, y: L.kron(x, y), np.arange(4).reshape(2, 2), rng.standard_normal((2, 1)).astype(np.float32))


@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, float("inf")])
def test_cdist(rng, p):
    x1 = rng.standard_normal((2, 4, 3)).astype(np.float32)
    x2 = rng.standard_normal((2, 5, 3)).astype(np.float32)
    check(lambda L, a, b: L.cdist(a, b, p=p), x1, x2, grad=(0, 1) if p else (), rtol=1e-4, atol=1e-5)


def test_cdist_errors():
    _both_raise(lambda L: L.cdist(L.ones(2, 3), L.ones(2, 4)), "same number of columns")
    _both_raise(lambda L: L.cdist(L.ones(2, 3, dtype=L.long), L.ones(2, 3, dtype=L.long)), "floating-point")
    _both_raise(lambda L: L.cdist(L.ones(2, 3), L.ones(2, 3), p=-1), "non-negative p")


def test_combinatorics(rng):
    x, y = rng.standard_normal(3).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    check(lambda L, a, b: L.cartesian_prod(a, b), x, y, grad=(0, 1))
    check(lambda L, a: L.cartesian_prod(a), x)
    check(lambda L, a: L.combinations(a), x, grad=(0,))
    check(lambda L, a: L.combinations(a, r=3, with_replacement=True), x, grad=(0,))
    check(lambda L, a: L.combinations(a, r=4), np.arange(3))
    check(lambda L, a: L.combinations(a, r=0), np.arange(3))
    check(lambda L, a: L.vander(a), np.arange(1, 4))
    check(lambda L, a: L.vander(a, N=4, increasing=True), x)  # torch's own backward fails here
    _both_raise(lambda L: L.cartesian_prod(L.ones(2), L.ones(2, dtype=L.long)), "same dtype")


def test_diff(rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    check(lambda L, a: L.diff(a), x, grad=(0,))
    check(lambda L, a: a.diff(n=2, dim=0), x, grad=(0,))
    check(lambda L, a, p, q: L.diff(a, dim=1, prepend=p, append=q), x, x[:, :2].copy(), x[:, :1].copy(),
          grad=(0, 1, 2))
    check(lambda L, a: L.diff(a, n=3), np.array([1, 4, 9, 16, 25]))
    check(lambda L, a: L.diff(a), np.array([True, False, False, True]))
    check(lambda L, a: L.diff(a, n=7), x)  # n larger than the dim: empty
    _both_raise(lambda L: L.diff(L.tensor(1.0)), "at least one-dimensional")


def test_trapezoid(rng):
    y = rng.standard_normal((3, 5)).astype(np.float32)
    xs = np.sort(rng.standard_normal(5)).astype(np.float32)
    check(lambda L, a: L.trapezoid(a), y, grad=(0,))
    check(lambda L, a: L.trapezoid(a, dx=0.5, dim=0), y, grad=(0,))
    check(lambda L, a, b: L.trapezoid(a, b), y, xs, grad=(0, 1))
    check(lambda L, a, b: L.trapz(a, b), y, np.broadcast_to(xs, (3, 5)).copy(), grad=(0, 1))
    check(lambda L, a: L.trapz(a, dx=2.0), y, grad=(0,))
    check(lambda L, a: L.trapezoid(a), np.arange(5))  # integers -> float
    check(lambda L, a: L.cumulative_trapezoid(a), y, grad=(0,))
    check(lambda L, a, b: L.cumulative_trapezoid(a, b), y, xs, grad=(0, 1))
    check(lambda L, a: L.cumulative_trapezoid(a, dx=0.1, dim=0), y, grad=(0,))


def test_cov_corrcoef(rng):
    x = rng.standard_normal((3, 6)).astype(np.float32)
    fw = rng.integers(1, 4, 6)
    aw = rng.random(6).astype(np.float32)
    check(lambda L, a: L.cov(a), x, grad=(0,))
    check(lambda L, a: a.cov(correction=0), x, grad=(0,))
    check(lambda L, a: L.cov(a), x[0], grad=(0,))
    check(lambda L, a, f, w: L.cov(a, fweights=f, aweights=w), x, fw, aw, grad=(0, 2), rtol=1e-4)
    check(lambda L, a, f: L.cov(a, fweights=f, correction=2), x, fw, grad=(0,), rtol=1e-4)
    check(lambda L, a: L.cov(a), np.arange(6).reshape(2, 3))
    check(lambda L, a: L.corrcoef(a), x, grad=(0,), rtol=1e-4)
    check(lambda L, a: L.corrcoef(a), np.array([[1, 2, 3], [3, 1, 2]]))
    _both_raise(lambda L: L.cov(L.ones(2, 2, 2)), "two or fewer dimensions")
    _both_raise(lambda L: L.cov(L.ones(2, 3), fweights=L.ones(3)), "integral dtype")


def test_renorm(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32) * 2
    check(lambda L, a: L.renorm(a, 2, 0, 1.5), x, grad=(0,), rtol=1e-4)
    check(lambda L, a: a.renorm(1, 1, 2.0), x, grad=(0,), rtol=1e-4)
    rt, rj = check(lambda L, a: a.clone().renorm_(2, 0, 1.0), x)
    _both_raise(lambda L: L.renorm(L.ones(3), 2, 0, 1.0), "at least 2 dimensions")

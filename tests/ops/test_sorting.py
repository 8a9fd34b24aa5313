"""sort/argsort/msort/topk/kthvalue/median/nanmedian/mode/unique/searchsorted/histc/bincount
against torch: values, indices, return types, gradients, NaN handling, errors."""
import numpy as np
import pytest

import jtorch
from tests.ops.indexcheck import check, raises


@pytest.fixture
def x(rng):
    return rng.standard_normal((4, 5)).astype(np.float32)


@pytest.fixture
def xnan(x):
    n = x.copy()
    n[1, 2] = n[2, 0] = n[2, 3] = np.nan
    n[3, :] = np.nan
    return n


def test_sort(x, xnan):
    check(lambda m, x: m.sort(x), x, grad=(0,))
    check(lambda m, x: x.sort(0, True), x, grad=(0,))
    check(lambda m, x: x.sort(dim=0, descending=True, stable=True), x)
    check(lambda m, x: x.sort(dim=1, descending=True, stable=True), xnan)
    check(lambda m, x: x.sort(dim=1, stable=True), xnan)
    check(lambda m: m.tensor([3, 1, 2, 1, 3]).sort(stable=True))
    check(lambda m: m.tensor([3, 1, 2, 1, 3]).sort(descending=True, stable=True))
    check(lambda m: m.sort(m.tensor(3.0)))
    check(lambda m: m.tensor([True, False, True]).sort(stable=True))


def test_argsort_msort(x, xnan):
    check(lambda m, x: m.argsort(x), x)
    check(lambda m, x: x.argsort(0, descending=True), x)
    check(lambda m, x: x.argsort(stable=True), xnan)
    check(lambda m, x: m.msort(x), x, grad=(0,))


def test_topk(x):
    check(lambda m, x: m.topk(x, 3), x, grad=(0,))
    check(lambda m, x: x.topk(2, dim=0, largest=False), x, grad=(0,))
    check(lambda m, x: x.topk(5), x)
    raises(lambda m, x: x.topk(6), x)


def test_kthvalue(x):
    check(lambda m, x: x.kthvalue(2), x, grad=(0,))
    check(lambda m, x: m.kthvalue(x, 4, 0, True), x, grad=(0,))
    raises(lambda m, x: x.kthvalue(6), x)
    raises(lambda m, x: x.kthvalue(0, 0), x)


def test_median(x, xnan):
    check(lambda m, x: x.median(), x, grad=(0,))
    check(lambda m, x: x.median(), xnan)
    check(lambda m, x: m.median(x, 0), x, grad=(0,))
    check(lambda m, x: x.median(1, keepdim=True), x)
    check(lambda m, x: x.median(1), xnan)
    check(lambda m: m.tensor([[3, 1, 4, 1], [5, 9, 2, 6]]).median(1))
    check(lambda m: m.tensor([[3, 1, 4, 1], [5, 9, 2, 6]]).median())  # lower median of an even count


def test_nanmedian(x, xnan):
    check(lambda m, x: x.nanmedian(1), xnan)
    check(lambda m, x: m.nanmedian(x), xnan)
    check(lambda m, x: x.nanmedian(), x, grad=(0,))
    check(lambda m, x: x.nanmedian(0), x, grad=(0,))


def test_mode(rng):
    ints = rng.integers(0, 3, (4, 7))
    check(lambda m, a: a.mode(), ints)
    check(lambda m, a: m.mode(a, 0, True), ints)
    check(lambda m, a: a.mode(1), ints.astype(np.float32), grad=(0,))
    check(lambda m: m.tensor([3.0, 1, 2, 1, 3, 1, 3]).mode())  # tie: smallest value, last index


def test_return_types():
    import jtorch.return_types as rt
    r = jtorch.sort(jtorch.tensor([2.0, 1.0]))
    assert isinstance(r, rt.sort) and r._fields == ("values", "indices")
    v, i = jtorch.topk(jtorch.tensor([2.0, 1.0]), 1)
    assert isinstance(jtorch.topk(jtorch.tensor([2.0]), 1), jtorch.return_types.topk)
    assert type(jtorch.kthvalue(jtorch.tensor([2.0]), 1)).__name__ == "kthvalue"
    assert type(jtorch.median(jtorch.tensor([2.0]), 0)).__name__ == "median"
    assert type(jtorch.mode(jtorch.tensor([2.0]))).__name__ == "mode"
    assert i.dtype is jtorch.int64 and v.item() == 2.0


def test_unique(rng):
    a = rng.integers(0, 4, (4, 7))
    check(lambda m, a: m.unique(a), a)
    check(lambda m, a: a.unique(return_inverse=True, return_counts=True), a)
    check(lambda m, a: m.unique(a, sorted=False, return_counts=True), a)
    check(lambda m, a: m.unique(a, dim=1, return_inverse=True, return_counts=True), a)
    check(lambda m, a: m.unique(a[:, :2] % 2, dim=0, return_inverse=True), a)
    check(lambda m, a: m.unique(a.float()), a)


def test_unique_consecutive(rng):
    a = rng.integers(0, 3, (4, 7))
    check(lambda m, a: m.unique_consecutive(a, return_inverse=True, return_counts=True), a)
    check(lambda m, a: m.unique_consecutive(a[0].sort().values), a)
    check(lambda m, a: m.unique_consecutive(a[:, :2] % 2, dim=0, return_inverse=True, return_counts=True), a)
    check(lambda m, a: (a[:2] % 2).unique_consecutive(dim=1, return_inverse=True, return_counts=True), a)


def test_searchsorted_bucketize(rng):
    s = np.sort(rng.standard_normal(6)).astype(np.float32)
    s2 = np.sort(rng.standard_normal((2, 6)), 1)
    v = rng.standard_normal((2, 3)).astype(np.float32)
    check(lambda m, s, v: m.searchsorted(s, v), s, v)
    check(lambda m, s: m.searchsorted(s, s[[1, 3]], right=True), s)
    check(lambda m, s: m.searchsorted(s, s[[1, 3]], side="right", out_int32=True), s)
    check(lambda m, s: m.searchsorted(s, s[[1, 3]]), s)
    check(lambda m, s: m.searchsorted(s, 0.3), s)
    check(lambda m, s, v: m.searchsorted(s, v), s2, v.astype(np.float64))
    check(lambda m, s, v: m.searchsorted(s.flip(0), v, sorter=m.arange(5, -1, -1)), s, v)
    check(lambda m, s, v: m.bucketize(v, s), s, v)
    check(lambda m, s, v: m.bucketize(v, s, right=True, out_int32=True), s, v)
    raises(lambda m, s, v: m.searchsorted(s, v, right=True, side="left"), s, v)


def test_histc(x):
    check(lambda m, x: m.histc(x, 5), x)
    check(lambda m, x: x.histc(7, -1, 1), x)
    check(lambda m: m.histc(m.tensor([2.0, 2.0, 2.0]), 4))
    raises(lambda m: m.histc(m.tensor([1, 2]), 4))


def test_bincount(rng):
    a = rng.integers(0, 5, 8)
    w = rng.standard_normal(8).astype(np.float32)
    check(lambda m, a: m.bincount(a), a)
    check(lambda m, a: a.bincount(minlength=7), a)
    check(lambda m, a, w: m.bincount(a, w), a, w)
    check(lambda m, a, w: m.bincount(a, w.double()), a, w)
    check(lambda m, a: m.bincount(a, a), a)  # integer weights count in float64
    raises(lambda m: m.bincount(m.tensor([-1, 2])))
    raises(lambda m: m.bincount(m.tensor([[1, 2]])))


def test_out_argument(x):
    def f(m, x):
        v, i = m.empty(0), m.empty(0, dtype=m.int64)
        r = m.sort(x, 1, out=(v, i))
        o = m.empty(4, 5)
        m.where(x > 0, x, m.zeros(()), out=o)
        mv, mi = m.empty(4), m.empty(4, dtype=m.int64)
        m.median(x, 1, out=(mv, mi))
        g = m.empty(4, 1)
        m.gather(x, 1, m.zeros(4, 1, dtype=m.int64), out=g)
        t = m.empty(4, 5)
        m.tril(x, out=t)
        return r[0], v, i, o, mv, mi, g, t
    check(f, x)

"""gather/scatter/index_*/masked_*/take/put/nonzero/where against torch: values, dtypes,
gradients, in-place variants and torch's errors for out-of-range indices."""
import numpy as np
import pytest

import jtorch
from tests.ops.indexcheck import check, raises

IDX = np.array([[1, 0, 3], [2, 2, 0]])  # duplicates on purpose


@pytest.fixture
def xs(rng):
    return rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((2, 3)).astype(np.float32)


def test_gather(xs):
    x, _ = xs
    check(lambda m, x: m.gather(x, 0, m.tensor(IDX)), x, grad=(0,))
    check(lambda m, x: x.gather(1, m.tensor([[2, 0], [1, 1]])), x, grad=(0,))
    check(lambda m, x: x.gather(1, m.tensor([[2, 0]], dtype=m.int32)), x)


def test_gather_errors(xs):
    x, _ = xs
    raises(lambda m, x: x.gather(0, m.tensor([[4, 0, 0]])), x)
    raises(lambda m, x: x.gather(0, m.tensor([[-1, 0, 0]])), x)
    raises(lambda m, x: x.gather(0, m.tensor([0, 0, 0])), x)
    raises(lambda m, x: x.gather(0, m.tensor([[0, 0, 0, 0]])), x)


def test_scatter(xs):
    x, s = xs
    check(lambda m, x, s: x.scatter(0, m.tensor(IDX), s), x, s * 10, grad=(0, 1))
    check(lambda m, x: m.scatter(x, 0, m.tensor(IDX), 2.5), x, grad=(0,))
    check(lambda m, x: x.scatter(1, m.tensor([[1], [2], [0], [0]]), 2.5, reduce="multiply"), x)
    check(lambda m, x, s: x.scatter(0, m.tensor(IDX), s, reduce="add"), x, s)
    check(lambda m, x, s: x.clone().scatter_(0, m.tensor(IDX), s), x, s, grad=(1,))


def test_scatter_add(xs):
    x, s = xs
    check(lambda m, x, s: x.scatter_add(0, m.tensor(IDX), s), x, s, grad=(0, 1))
    check(lambda m, x, s: m.scatter_add(x, 1, m.tensor(IDX[:, :2]), s), x, s[:, :2].copy(), grad=(0, 1))

    def inplace(m, x, s):
        y = x * 1
        y.scatter_add_(0, m.tensor(IDX), s)
        return y
    check(inplace, x, s, grad=(0, 1))


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce(xs, reduce):
    x, s = xs
    s = s.copy()
    s[0, 1] = 0.0  # a zero factor for prod's gradient
    for include_self in (True, False):
        check(lambda m, x, s: x.scatter_reduce(0, m.tensor(IDX), s, reduce, include_self=include_self),
              x, s * 3, grad=(0, 1))
    ints = np.arange(12).reshape(4, 3) - 5
    check(lambda m, x: x.scatter_reduce(0, m.tensor(IDX), m.tensor(IDX * 7 - 5), reduce, include_self=False), ints)


def test_scatter_errors(xs):
    x, s = xs
    raises(lambda m, x: x.scatter(0, m.tensor([[4, 0, 0]]), 1.0), x)
    raises(lambda m, x: x.scatter_add(0, m.tensor([[0, 7, 0]]), m.ones(1, 3)), x)
    raises(lambda m, x: x.scatter(0, m.tensor([[1, 0, 0]]), m.ones(1, 3, dtype=m.float64)), x)


def test_index_select(xs):
    x, _ = xs
    check(lambda m, x: x.index_select(1, m.tensor([2, 0, 2])), x, grad=(0,))
    check(lambda m, x: m.index_select(x, 0, m.tensor(3)), x)
    raises(lambda m, x: x.index_select(0, m.tensor([4])), x)
    raises(lambda m, x: x.index_select(0, m.tensor([-1])), x)


def test_index_add_copy_fill(xs):
    x, s = xs
    check(lambda m, x, s: x.index_add(0, m.tensor([1, 1]), s, alpha=2.0), x, s, grad=(0, 1))
    check(lambda m, x, s: m.index_add(x, 1, m.tensor([2, 2]), s), x, np.concatenate([s, s])[:, :2].copy(), grad=(0, 1))
    raises(lambda m, x, s: x.index_add(1, m.tensor([2, 2]), s.T), x, s)
    raises(lambda m, x, s: x.index_add(0, m.tensor([2, 2]), s.double()), x, s)
    raises(lambda m, x, s: x.index_copy(0, m.tensor([2, 2]), s.double()), x, s)
    check(lambda m, x, s: x.index_copy(0, m.tensor([3, 0]), s), x, s, grad=(0, 1))
    check(lambda m, x: x.index_fill(1, m.tensor([-1, 0]), -2.0), x, grad=(0,))
    check(lambda m, x: x.clone().index_fill_(1, m.tensor([2]), m.tensor(7.0)), x)
    check(lambda m, x, s: x.clone().index_add_(0, m.tensor([0, 0]), s), x, s)
    check(lambda m, x, s: x.clone().index_copy_(0, m.tensor([2, 1]), s), x, s)
    raises(lambda m, x, s: x.index_add(0, m.tensor([5, 0]), s), x, s)
    raises(lambda m, x, s: x.index_copy(0, m.tensor([4, 0]), s), x, s)
    raises(lambda m, x: x.index_fill(0, m.tensor([4]), 1.0), x)


def test_index_put(xs):
    x, s = xs
    rows, cols = np.array([0, 0, 3]), np.array([1, 1, 2])
    check(lambda m, x: x.index_put((m.tensor(rows),), m.tensor(5.0), accumulate=True), x)
    check(lambda m, x, v: x.index_put((m.tensor(rows), m.tensor(cols)), v, accumulate=True), x, s[0], grad=(0, 1))
    check(lambda m, x, v: x.index_put((m.tensor([0, 3]),), v), x, s, grad=(0, 1))
    check(lambda m, x: x.clone().index_put_((x > 0,), m.tensor(5.0)), x)
    check(lambda m, x, v: x.clone().index_put_((m.tensor(rows), m.tensor(cols)), v, accumulate=True), x, s[0])
    check(lambda m, x, v: m.index_put_(x.clone(), (m.tensor(rows),), v), x, s[0])
    raises(lambda m, x: x.index_put((m.tensor([5]),), m.tensor(1.0)), x)
    raises(lambda m, x: x.index_put((m.tensor([1]),), m.tensor(1.0, dtype=m.float64)), x)


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_bool_mask_with_row_values(xs, rng, accumulate):
    """One bool mask over the leading dims and values that fill each selected row alike (a where(): no host
    sync, so jtorch.compile traces it); values with one row per selected element take the general path."""
    x, _ = xs
    rows, cells = rng.random(4) > 0.4, rng.random((4, 3)) > 0.5
    for mask, v in [(rows, rng.standard_normal(3)), (rows, rng.standard_normal((1, 3))), (rows, rng.standard_normal(())),
                    (rows, rng.standard_normal((1, 1))), (cells, rng.standard_normal(1)),
                    (rows, rng.standard_normal((int(rows.sum()), 3)))]:
        check(lambda m, x, v: x.index_put((m.tensor(mask),), v, accumulate=accumulate), x, v.astype(np.float32),
              grad=(0, 1))
    check(lambda m, x: x.index_put((m.tensor(rows),), m.tensor([True, False, True]), accumulate=accumulate),
          cells)
    raises(lambda m, x: x.index_put((m.tensor(rows),), m.ones(2)), x, match=False)


def test_accumulate_adds_duplicates_setitem_does_not(xs):
    x, _ = xs
    check(lambda m, x: x.index_put((m.tensor([1, 1, 1]),), m.tensor(1.0), accumulate=True), x)

    def inc(m, x):
        y = x * 1
        y[m.tensor([1, 1, 1])] += 1
        return y
    check(inc, x, grad=(0,))


def test_masked_fill(xs):
    x, _ = xs
    check(lambda m, x: x.masked_fill(x > 0, 3), x, grad=(0,))
    check(lambda m, x: m.masked_fill(x, m.tensor([True, False, True]), m.tensor(3.0)), x)
    check(lambda m, x, v: x.masked_fill(x > 0, v), x, np.array(1.5, np.float32), grad=(0, 1))
    check(lambda m, x: x.clone().masked_fill_(m.tensor([True, False, True]), 3.5), x)
    raises(lambda m, x: x.masked_fill(m.tensor([1, 0, 1]), 1.0), x)
    raises(lambda m, x: x.masked_fill(m.tensor([True, False, True]), m.tensor([1.0, 2.0])), x)


def test_masked_select_scatter(xs, rng):
    x, _ = xs
    src = rng.standard_normal(12).astype(np.float32)
    check(lambda m, x: x.masked_select(m.tensor([True, False, True])), x, grad=(0,))
    check(lambda m, x: m.masked_select(x, x > 0), x, grad=(0,))
    check(lambda m, x, s: x.masked_scatter(x > 0, s), x, src, grad=(0, 1))
    check(lambda m, x, s: x.clone().masked_scatter_(m.tensor([True, False, True]), s.reshape(3, 4)), x, src)
    raises(lambda m, x: x.masked_scatter(m.tensor([True, False, True]), m.ones(2)), x)


def test_take_put(xs):
    x, s = xs
    check(lambda m, x: x.take(m.tensor([[0, -1], [5, 11]])), x, grad=(0,))
    check(lambda m, x, v: m.put(x, m.tensor([0, -1, 0]), v, accumulate=True), x, s[0], grad=(0, 1))
    check(lambda m, x, v: x.put(m.tensor([0, -1, 4]), v), x, s[0], grad=(0, 1))
    check(lambda m, x, v: x.clone().put_(m.tensor([3, 2, 1]), v), x, s[0])
    raises(lambda m, x: x.take(m.tensor([0, 12])), x)
    raises(lambda m, x: x.take(m.tensor([-13])), x)
    raises(lambda m, x: x.put(m.tensor([12]), m.tensor([1.0])), x)


def test_take_along_dim(xs):
    x, _ = xs
    check(lambda m, x: m.take_along_dim(x, m.tensor([[0], [2], [1], [1]]), 1), x, grad=(0,))
    check(lambda m, x: m.take_along_dim(x, m.tensor([[0, 2]]), 1), x)
    check(lambda m, x: x.take_along_dim(m.tensor([0, 5, 7])), x)
    check(lambda m, x: m.take_along_dim(x, x.argsort(0), 0), x, grad=(0,))


def test_nonzero_argwhere(xs):
    x, _ = xs
    check(lambda m, x: m.nonzero(x > 0), x)
    check(lambda m, x: (x > 0).nonzero(as_tuple=True), x)
    check(lambda m, x: m.argwhere(x > 0), x)
    check(lambda m: m.tensor(5.0).nonzero())
    check(lambda m: m.tensor(5.0).nonzero(as_tuple=True))
    check(lambda m: m.zeros(2, 3).nonzero())


def test_where(xs):
    x, s = xs
    check(lambda m, x: m.where(x > 0), x)
    check(lambda m, x, y: m.where(x > 0, x, y[:1]), x, s, grad=(0, 1))
    check(lambda m, x: m.where(x > 0, x, 0), x, grad=(0,))
    check(lambda m, x: m.where(x > 0, 1, 0), x)
    check(lambda m, x: m.where(x > 0, 1.0, 0), x)
    check(lambda m, x: m.where(x > 0, 1, True), x)
    check(lambda m, x: m.where(x > 0, x, m.tensor(2.0, dtype=m.float64)), x)
    check(lambda m, x: m.where(x > 0, x, x.double()), x)
    check(lambda m, x, y: x.where(x > 0, y[:1]), x, s, grad=(0, 1))
    raises(lambda m, x: m.where(x, x, 0.0), x)


def test_oob_check_skipped_under_jit():
    # traced index values are unknown: no eager check, no error
    import jax
    x = jtorch.arange(6.0)

    def f(i):
        return jtorch.gather(x, 0, jtorch.from_jax(i)).jax()
    out = jax.jit(f)(jax.numpy.array([1, 2]))
    np.testing.assert_array_equal(np.asarray(out), [1.0, 2.0])


def test_second_order_gradients(xs):
    x, s = xs

    def grads(m, x, s):
        x.requires_grad_()
        s.requires_grad_()
        y = x.scatter(0, m.tensor(IDX), s ** 2) * x
        z = x * 1
        z[[0, 0, 2]] = s[0] ** 3           # duplicate writes
        loss = (y ** 2).sum() + (z ** 2).sum() + x.gather(0, m.tensor(IDX)).pow(3).sum()
        gx, gs = m.autograd.grad(loss, (x, s), create_graph=True)
        return m.autograd.grad((gx ** 2).sum() + (gs ** 2).sum(), (x, s))
    check(grads, x, s)


def test_inplace_errors(xs):
    x, _ = xs
    raises(lambda m, x: x.clone().masked_fill_(m.ones(2, 4, 3, dtype=m.bool), 1.0), x)
    raises(lambda m, x: x.requires_grad_().index_fill_(0, m.tensor([0]), 1.0), x)
    check(lambda m, x: x.clone().scatter_(0, m.tensor(IDX), m.tensor(np.ones((2, 3), np.float32)), reduce="add"), x)


I32 = np.array([[0, 1, 2]], np.int32)


@pytest.mark.parametrize("f", [
    lambda m, x, i: x.gather(0, i),
    lambda m, x, i: x.scatter(0, i, 1.0),
    lambda m, x, i: x.scatter_add(0, i, m.ones(1, 3)),
    lambda m, x, i: x.scatter_reduce(0, i, m.ones(1, 3), "sum"),
    lambda m, x, i: x.index_select(0, i[0]),
    lambda m, x, i: x.index_add(0, i[0], m.ones(3, 3)),
])
def test_int32_indices_accepted(xs, f):
    check(f, xs[0], I32)


@pytest.mark.parametrize("f", [
    lambda m, x, i: x.index_copy(0, i[0], m.ones(3, 3)),
    lambda m, x, i: x.index_fill(0, i[0], 1.0),
    lambda m, x, i: x.take(i),
    lambda m, x, i: x.put(i[0], m.ones(3)),
    lambda m, x, i: m.take_along_dim(x, i, 0),
    lambda m, x, i: x.gather(0, i.float()),
])
def test_index_dtype_errors(xs, f):
    raises(f, xs[0], I32)


def test_take_along_dim_wraps_negative_indices(xs):
    check(lambda m, x: m.take_along_dim(x, m.tensor([[-1, 0, -4]]), 0), xs[0], grad=(0,))

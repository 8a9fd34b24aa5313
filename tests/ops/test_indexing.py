"""``t[idx]`` and ``t[idx] = v`` against torch: basic and advanced indices, bool masks, lists,
negative indices, None/Ellipsis, mixed basic/advanced placement, setitem broadcasting and dtype
rules, duplicate indices, gradients and IndexError for out-of-range indices."""
import warnings

import numpy as np
import pytest

import jtorch
from tests.ops.indexcheck import check, raises


@pytest.fixture
def x(rng):
    return rng.standard_normal((4, 5, 3)).astype(np.float32)


def T(m, v, dtype=None):
    return m.tensor(v, dtype=dtype)


GETS = [
    lambda m, x: x[1],
    lambda m, x: x[-1, 2],
    lambda m, x: x[1:3, ::2],
    lambda m, x: x[-10:10, 1:-1],
    lambda m, x: x[3:1],
    lambda m, x: x[None, ..., 1],
    lambda m, x: x[..., None],
    lambda m, x: x[1, ..., None, 2],
    lambda m, x: x[..., ...],
    lambda m, x: x[[0, 2, 3]],
    lambda m, x: x[[-1, -4]],
    lambda m, x: x[[]],
    lambda m, x: x[[0, 2], [1, 4]],
    lambda m, x: x[:, [0, 1]],
    lambda m, x: x[[0, 2], :, [1, 0]],         # advanced dims apart: broadcast dims go first
    lambda m, x: x[:, [0, 2], [1, 0]],
    lambda m, x: x[0, :, [0, 1]],              # torch: the int is basic (numpy would differ)
    lambda m, x: x[1, [0, 1], None],
    lambda m, x: x[[0, 1], None, [0, 1]],
    lambda m, x: x[:, None, [1, 2]],
    lambda m, x: x[0, None, [1, 2]],
    lambda m, x: x[T(m, [[0], [1]]), T(m, [1, 2, 3])],
    lambda m, x: x[T(m, [1, 2], m.int32)],
    lambda m, x: x[T(m, 1)],
    lambda m, x: x[T(m, [1, -1])],
    lambda m, x: x[x > 0],
    lambda m, x: x[x.sum(-1) > 0],
    lambda m, x: x[:, (x > 0)[0, :, 0]],
    lambda m, x: x[T(m, [True, False, True, True])],
    lambda m, x: x[True],
    lambda m, x: x[False],
    lambda m, x: x[None, True, 0],
    lambda m, x: x[T(m, True)],
    lambda m, x: x[np.array([2, 0])],
    lambda m, x: x[(1, 2)],
    lambda m, x: x[[T(m, [0, 1]), T(m, [2, 2])]],
    lambda m, x: x[range(1, 3), :, range(2)],
]


@pytest.mark.parametrize("k", range(len(GETS)))
def test_getitem(x, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(GETS[k], x, grad=(0,))


def test_getitem_list_of_lists_is_a_tuple(x):
    # torch (deprecated, still) reads a short list of sequences as a tuple of indices
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda m, x: x[[[0, 1], [2, 3]]], x)


@pytest.mark.parametrize("f", [
    lambda m, x: x[4],
    lambda m, x: x[-5],
    lambda m, x: x[:, 5],
    lambda m, x: x[[0, 4]],
    lambda m, x: x[T(m, [1, 5])],
    lambda m, x: x[:, T(m, [-6])],
    lambda m, x: x[1, 2, 3, 4],
    lambda m, x: x[T(m, [True, False, True])],
    lambda m, x: x[T(m, [0.0, 1.0])],
    lambda m, x: x[1.0],
])
def test_getitem_errors(x, f):
    raises(f, x, match=False)


def test_getitem_slice_step_error(x):
    raises(lambda m, x: x[1:3:-1], x)


def test_basic_getitem_is_view(x):
    j = jtorch.tensor(x)
    v = j[1:3, None, ..., 0]
    v.fill_(9.0)
    assert (j[1:3, :, 0] == 9.0).all().item()
    a = j[[0, 1]]  # advanced indexing copies
    a.fill_(-1.0)
    assert j[0, 0, 1].item() != -1.0


def _setter(f):
    def run(m, x, *vals):
        y = x * 1  # non-leaf, so the write is recorded by autograd
        f(m, y, *vals)
        return y
    return run


SETS = [
    lambda m, y: y.__setitem__(0, 1.5),
    lambda m, y: y.__setitem__((slice(1, 3), 2), -2.0),
    lambda m, y: y.__setitem__((Ellipsis, 1), T(m, [1.0, 2.0, 3.0, 4.0, 5.0])),
    lambda m, y: y.__setitem__(0, T(m, np.ones((1, 1, 3), np.float32))),  # extra leading 1s
    lambda m, y: y.__setitem__([0, 2], T(m, np.full((1, 3), 2.0, np.float32))),
    lambda m, y: y.__setitem__((slice(None), [1, 3]), 7.0),
    lambda m, y: y.__setitem__((0, slice(None), [0, 1]), T(m, [1.0, 2.0])),
    lambda m, y: y.__setitem__(y > 0, 0.0),
    lambda m, y: y.__setitem__(y > 0, T(m, 3.0, m.float64)),  # a mask with a 0-dim value casts
    lambda m, y: y.__setitem__(y[..., 0] > 0, T(m, [1.0, 2.0, 3.0])),
    lambda m, y: y.__setitem__(T(m, [True, False, True, False]), -1.0),
    lambda m, y: y.__setitem__((None, 1), 4.0),
    lambda m, y: y.__setitem__(T(m, [-1, 0]), 3.0),
]


@pytest.mark.parametrize("k", range(len(SETS)))
def test_setitem(x, k):
    check(_setter(SETS[k]), x, grad=(0,))


def test_setitem_value_gradient(x, rng):
    v = rng.standard_normal((2, 3)).astype(np.float32)

    def f(m, x, v):
        y = x * 1
        y[[0, 0]] = v[0]          # duplicates: each write sends its gradient to the value (torch)
        y[1:, 0] = v[1] * 2
        y[y > 1] = 0.0
        return y
    check(f, x, v, grad=(0, 1))


def test_duplicate_index_increments_once(x):
    def inc(m, x):
        y = x * 1
        y[T(m, [1, 1, 3, 1])] += 1
        y[[0, 0], [2, 2]] -= 5
        return y
    check(inc, x, grad=(0,))
    check(lambda m, x: x.index_put((T(m, [1, 1, 3, 1]),), T(m, 1.0), accumulate=True), x)


def test_setitem_int_tensor_scalar_cast():
    def f(m):
        y = m.zeros(3, dtype=m.long)
        y[0] = 1.7
        y[1:2] = m.tensor([2.9])
        y[[2]] = 5.5
        return y
    check(f)


@pytest.mark.parametrize("f", [
    lambda m, y: y.__setitem__([0, 1], T(m, np.ones((3, 5, 3), np.float32))),
    lambda m, y: y.__setitem__([0], T(m, 1.0, m.float64)),
    lambda m, y: y.__setitem__([0], T(m, [1])),
    lambda m, y: y.__setitem__(0, T(m, np.ones((2, 5, 3), np.float32))),
    lambda m, y: y.__setitem__(T(m, [0, 9]), 1.0),
    lambda m, y: y.__setitem__((slice(None), 7), 1.0),
])
def test_setitem_errors(x, f):
    raises(lambda m, x: f(m, x), x, match=False)


def test_setitem_on_leaf_requiring_grad_raises(x):
    raises(lambda m, x: x.requires_grad_().__setitem__(0, 1.0), x)


@pytest.mark.parametrize("value", [[1.0, 2.0, 3.0], (1.0, 2.0, 3.0), np.float32(2.0), np.ones(3)])
def test_setitem_rejects_non_tensor_values(x, value):
    # torch only assigns Python numbers and tensors
    raises(lambda m, x: x.__setitem__((0, 0), value), x)


ZERO_DIM = [
    lambda m, s: s[None],
    lambda m, s: s[...],
    lambda m, s: s[True],
    lambda m, s: s[False],
    lambda m, s: s[s > 0],
]


@pytest.mark.parametrize("k", range(len(ZERO_DIM)))
def test_zero_dim_indexing(k):
    check(ZERO_DIM[k], np.array(2.5, np.float32))


def test_zero_dim_int_index_raises():
    raises(lambda m, s: s[0], np.array(2.5, np.float32))


def test_more_setitem_forms(x):
    def f(m, x):
        y = x * 1
        y[...] = y.flip(0)
        y[1:3][[0, 1], 0] = 9.0            # advanced write through a basic view
        y[:, None, 1] = m.arange(4.0).reshape(4, 1, 1)
        y[[0, 1], [1, 2]] = m.tensor([[5.0, 6.0, 7.0]])
        y[y > 1] = m.arange(float(int((y > 1).sum())))
        return y
    check(f, x, grad=(0,))

    def g(m):
        y = m.arange(6)
        y[y % 2 == 0] *= 10
        z = m.zeros(2, 3, dtype=m.int64)
        z[0] = m.tensor([1.5, 2.5, 3.5])  # a basic write casts like copy_
        return y, z
    check(g)

"""as_strided / as_strided_copy / as_strided_scatter and Tensor.resize_ / resize_as_ against torch:
values, strides and storage offsets, write-through to the base and other views, gradients, errors."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close
from tests.ops.mathcheck import check

GEOMETRIES = [((2, 2), (1, 2), 0), ((2, 2), (1, 2), 1), ((2, 2, 2, 2), (1, 1, 1, 1), 0),
              ((2, 1, 1, 2), (1, 7, 7, 1), 0),
              ((3,), (0,), 4), ((0, 2), (1, 2), 9), ((), (), 5)]


@pytest.mark.parametrize("size,stride,offset", GEOMETRIES)
def test_as_strided_values_and_grad(rng, size, stride, offset):
    a = rng.standard_normal(16)
    check(lambda L, x: x.as_strided(size, stride, offset), a, grad=(0,))
    check(lambda L, x: L.as_strided(x.reshape(4, 4), size, stride, offset), a, grad=(0,))
    check(lambda L, x: L.as_strided_copy(x, size, stride, offset), a, grad=(0,))
    y = jtorch.tensor(a).as_strided(size, stride, offset)
    assert y.stride() == stride
    if y.numel():  # an empty view's offset cannot be read back from its (empty) elements: jtorch reports 0
        assert y.storage_offset() == offset


def test_as_strided_of_a_view_uses_the_storage(rng):
    a = rng.standard_normal(20)
    for off in (None, 0, 3, 10, 14):  # 0 and 3 reach storage outside the view: no gradient there
        check(lambda L, x: (x * 1)[5:15].as_strided((2, 2), (1, 2), off), a, grad=(0,))
        check(lambda L, x: x[5:15].as_strided((2, 2), (1, 2), off), a, grad=(0,))
    check(lambda L, x: x.reshape(4, 5).t().as_strided((3, 2), (2, 5)), a, grad=(0,))


def test_as_strided_writes_through():
    for L in (torch, jtorch):
        base = L.arange(20.0)
        v = base[5:15]
        w = v.as_strided((2, 2), (1, 2))
        other = base[4:8]
        w.mul_(10)
        v.as_strided((2,), (3,), 0)[1] = -1
        if L is torch:
            tb, to = base.clone(), other.clone()
        else:
            jb, jo = base, other
    assert_close(jb, tb)
    assert_close(jo, to)


def test_as_strided_overlapping_grad_accumulates(rng):
    a = rng.standard_normal(6)
    check(lambda L, x: (x * 2).as_strided((3, 3), (1, 1)), a, grad=(0,))  # every element seen up to 3 times


@pytest.mark.parametrize("args", [((2, 2), (1, 2), 8), ((2, 2), (1, 2), -1), ((2,), (1, 2)), ((2, -1), (1, 2)),
                                  ((2, 2), (-1, 2))])
def test_as_strided_errors(args):
    with pytest.raises(RuntimeError) as t_err:
        torch.arange(9.0).reshape(3, 3).as_strided(*args)
    with pytest.raises(RuntimeError) as j_err:
        jtorch.arange(9.0).reshape(3, 3).as_strided(*args)
    assert str(j_err.value) == str(t_err.value)


@pytest.mark.parametrize("shape,size,stride,offset", [((1,), (), (), 0), ((3, 3), (2, 2), (1, 2), 0),
                                                      ((3, 3), (2, 2), (1, 2), 1), ((3, 3), (2, 2), (2, 1), 0),
                                                      ((16,), (2, 2, 2, 2), (8, 4, 2, 1), 0),
                                                      ((16,), (2, 1, 1, 2), (1, 2, 4, 8), 0)])
def test_as_strided_scatter(rng, shape, size, stride, offset):
    a, s = rng.standard_normal(shape), rng.standard_normal(size)
    check(lambda L, x, y: L.as_strided_scatter(x, y, size, stride, offset), a, s, grad=(1,))
    check(lambda L, x, y: x.as_strided_scatter(y, size, stride, storage_offset=offset), a, s)
    # input's gradient: the output's, zero where src overwrote (torch 2.13's CPU backward returns the
    # complement instead, e.g. [[0,1,2],[3,0,0],[0,0,0]] for the (3,3)/(2,2)/(1,2) case: not the oracle here)
    x, y = jtorch.tensor(a, requires_grad=True), jtorch.tensor(s)
    w = rng.standard_normal(shape)
    (jtorch.as_strided_scatter(x, y, size, stride, offset) * jtorch.tensor(w)).sum().backward()
    covered = np.zeros(a.size, bool)
    covered[np.asarray(offset + sum(np.arange(n).reshape([-1 if i == d else 1 for i in range(len(size))]) * st
                                    for d, (n, st) in enumerate(zip(size, stride))) if size else offset).ravel()] = True
    np.testing.assert_allclose(np.asarray(x.grad).ravel(), np.where(covered, 0, w.ravel()))


def test_as_strided_scatter_follows_the_input_layout(rng):
    a = rng.standard_normal((3, 3)).astype(np.float32)
    check(lambda L, x: L.as_strided_scatter(x.t(), L.ones(2, 2), (2, 2), (1, 2), 1), a)
    check(lambda L, x: L.as_strided_scatter(x, L.ones(2, 2, dtype=L.float64), (2, 2), (1, 2)), a)  # src cast
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError):
            L.as_strided_scatter(L.tensor(a), L.ones(2, 3), (2, 2), (1, 2))


def test_resize():
    for L in (torch, jtorch):
        base = L.arange(6.0)
        v = base[1:]
        v.resize_(2, 2)
        got = [v.clone(), v.stride(), v.storage_offset()]
        v[0, 0] = 100  # still a view of base's storage
        got.append(base.clone())
        v.resize_(3, 3)  # grows
        got += [tuple(v.shape), v[:2].flatten()[:4].clone()]
        w = L.zeros(2, 3)
        w.resize_as_(L.zeros(3))
        got.append(tuple(w.shape))
        if L is torch:
            want = got
        else:
            have = got
    for h, w in zip(have, want):
        if isinstance(w, torch.Tensor):
            assert_close(h, w)
        else:
            assert h == w


def test_resize_errors():
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError):
            L.zeros(2, 3, requires_grad=True).resize_(4)
        with pytest.raises(RuntimeError):
            L.zeros(2).resize_(-1, 2)

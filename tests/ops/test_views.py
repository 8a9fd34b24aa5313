"""Views alias like torch: in-place writes through view/transpose/slice/select/narrow/diagonal/
unbind/split/chunk/expand show in the base and every other view; stride(), is_contiguous(),
view() on non-contiguous input raising, reshape() copying then; gradients through views."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close
from tests.ops.indexcheck import check, raises


def _program(m):
    """A sequence of in-place writes through views; snapshots of the base after each."""
    out = []
    x = m.arange(24.0).reshape(4, 6)
    v = x.view(6, 4)
    v[0, 0] = 100
    out.append(x.clone())
    t = x.t()
    t[1] = -1
    out.append(x.clone())
    s = x[1:3, ::2]
    s.mul_(2)
    out.append(x.clone())
    x.select(1, 2).add_(1000)
    out.append(x.clone())
    x.narrow(0, 2, 2).zero_()
    out.append(x.clone())
    x.diagonal().fill_(7)
    out.append(x.clone())
    d2 = x.diagonal(1)
    d2 += 1
    out.append(x.clone())
    x.unbind(1)[3].sub_(5)
    out.append(x.clone())
    x.split(2, 1)[1][0] = 42
    out.append(x.clone())
    x.chunk(2, 0)[1][:, 0] = -9
    out.append(x.clone())
    x.split([1, 3], 0)[1][1:, 2] = 8
    out.append(x.clone())
    y, z = x[0], x[:, 1]
    y[1] = 77
    out.append(z.clone())       # another view of the same element sees the write
    x[x > 50] = 0
    out += [x.clone(), v.clone(), t.clone(), s.clone()]
    x[..., None][2, 3, 0] = 3
    out.append(x.clone())
    w = x.view(-1)
    w[[0, 5]] = -3
    out.append(x.clone())
    q = x.t()[1:]
    q[0, [0, 1]] = 11.0
    out.append(x.clone())
    k = m.zeros(4, 6)
    k[1:3][:, [0, 1]] = 1.0
    k.unsqueeze(0).squeeze(0)[0].fill_(2.0)
    k.T[0].fill_(3.0)
    k.flatten()[2:4] = 4.0
    k.permute(1, 0)[5, 3] = 5.0
    k.movedim(0, 1).transpose(0, 1)[3].mul_(10)
    out.append(k.clone())
    b = m.zeros(3)
    e = b.expand(2, 3)
    b[1] = 5
    out.append(e.clone())
    r = x.t().reshape(24)       # not viewable: a copy, writes don't reach x
    r[0] = 1234.0
    out.append(x.clone())
    r2 = x.reshape(6, 4)        # viewable: a view
    r2[0, 0] = 4321.0
    out.append(x.clone())
    return out


def test_writes_through_views_are_visible_everywhere():
    for a, b in zip(_program(jtorch), _program(torch)):
        assert_close(a, b)


LAYOUTS = [
    lambda x: x,
    lambda x: x.t(),
    lambda x: x[:, ::2],
    lambda x: x[1],
    lambda x: x[:, 1],
    lambda x: x.diagonal(),
    lambda x: x.unsqueeze(1),
    lambda x: x.expand(2, 4, 6),
    lambda x: x.t().contiguous(),
    lambda x: x[::2, 1:],
    lambda x: x.narrow(1, 1, 3),
    lambda x: x.view(2, 12),
    lambda x: x.permute(1, 0).unsqueeze(0),
    lambda x: x.select(0, 2),
    lambda x: x.unfold(1, 2, 2),
    lambda x: x[None, :, None],
    lambda x: x.t().t(),
    lambda x: x.split(2, 1)[1],
]


@pytest.mark.parametrize("k", range(len(LAYOUTS)))
def test_stride_and_contiguity(k):
    f = LAYOUTS[k]
    a, b = f(jtorch.arange(24.0).reshape(4, 6)), f(torch.arange(24.0).reshape(4, 6))
    assert tuple(a.stride()) == tuple(b.stride())
    assert a.is_contiguous() == b.is_contiguous()
    assert_close(a, b)


def test_view_on_non_contiguous_raises():
    raises(lambda m: m.arange(24.0).reshape(4, 6).t().view(24))
    raises(lambda m: m.arange(24.0).reshape(4, 6).t().view(3, 8))
    check(lambda m: m.arange(24.0).reshape(4, 6).t().view(6, 4))
    raises(lambda m: m.arange(24.0).reshape(4, 6)[:, 1:].view(-1))
    # strides that can merge are fine
    check(lambda m: m.arange(24.0).reshape(4, 6)[:, ::2].view(-1))
    check(lambda m: m.arange(24.0).reshape(4, 6).t().view(3, 2, 4))


def test_reshape_copies_when_it_cannot_view():
    x = jtorch.arange(6.0).reshape(2, 3)
    r = x.t().reshape(6)
    assert not r._is_view() or r._st is not x._st
    r[0] = 99.0
    assert x[0, 0].item() == 0.0
    v = x.reshape(3, 2)
    v[0, 0] = 5.0
    assert x[0, 0].item() == 5.0


def test_views_share_version_and_storage():
    x = jtorch.zeros(3, 4)
    v = x[1]
    before = x._version
    v.add_(1)
    assert x._version > before and v._version == x._version
    assert v._base is x and x.t()._base is x
    assert x.t().data_ptr() == x.data_ptr()


def test_gradients_through_views(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    check(lambda m, x: x.t()[1:, ::2].diagonal() * 3, a, grad=(0,))
    check(lambda m, x: m.stack(x.unbind(1)[::2]) + x.split(3, 1)[1].sum(), a, grad=(0,))
    check(lambda m, x: x.view(2, 12).narrow(1, 2, 5).chunk(2, 0)[1] ** 2, a, grad=(0,))

    def write_into_view(m, x, w):
        y = x * 2
        y.t()[1].mul_(w[0])
        y.diagonal().add_(w[1:5])
        y[1:3, ::2] = w[:3] * 5
        return y
    check(write_into_view, a, rng.standard_normal(6).astype(np.float32), grad=(0, 1))


def test_view_of_leaf_inplace_raises():
    raises(lambda m: m.ones(3, requires_grad=True)[0:2].add_(1))
    raises(lambda m: m.ones(3, requires_grad=True).t().zero_())


def test_narrow_with_a_tensor_start(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    for start in (2, -3, 0):
        check(lambda m, x: x.narrow(1, m.tensor(start), 3) * 2, a, grad=(0,))
    for bad in (lambda m: m.tensor([1]), lambda m: m.tensor(1.0)):
        raises(lambda m, x: x.narrow(0, bad(m), 2), a)


def test_narrow_with_a_tensor_start_under_compile(rng):
    """The start stays traced (torch's compiles it as a SymInt): one program for every start, a view whose
    writes reach the base."""
    a = rng.standard_normal((4, 6)).astype(np.float32)

    def f(x, s):
        v = x.narrow(1, s, 2)
        v.mul_(-1)
        return v * 1, tuple(v.stride()), x * 1
    g = jtorch.compile(f, fullgraph=True)
    for start in (1, 3, -2, 0):
        want = f(torch.tensor(a), torch.tensor(start))
        got = g(jtorch.tensor(a), jtorch.tensor(start))
        assert_close(got[0], want[0])
        assert got[1] == want[1]
        assert_close(got[2], want[2])
    assert g.compiles == 1

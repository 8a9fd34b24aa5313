"""apply_/map_/map2_, new, as_subclass, as_strided_, slice_inverse, dim_order, record_stream, module_load,
resize/resize_as and the is_<backend> flags against torch."""
import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both


def outcome(f):
    try:
        return "ok", f()
    except Exception as e:  # noqa: BLE001 - the type is compared
        return "raise", type(e).__name__


def test_apply_map_map2(rng):
    t, j = both(rng.standard_normal((2, 3)).astype(np.float32))
    t.apply_(lambda x: x * 2 + 1)
    j.apply_(lambda x: x * 2 + 1)
    assert_close(j, t)
    to, jo = both(rng.standard_normal(3).astype(np.float32))  # broadcast over rows
    t.map_(to, lambda a, b: a - 3 * b)
    j.map_(jo, lambda a, b: a - 3 * b)
    assert_close(j, t)
    tx, jx = both(rng.standard_normal((2, 3)).astype(np.float32))
    t.map2_(to, tx, lambda a, b, c: a * b + c)
    j.map2_(jo, jx, lambda a, b, c: a * b + c)
    assert_close(j, t)


def test_apply_int_bool_and_views(rng):
    t, j = both(rng.integers(-5, 5, 6))
    t.apply_(lambda x: x / 2)  # the result is cast back to int64
    j.apply_(lambda x: x / 2)
    assert_close(j, t)
    tb, jb = torch.zeros(3, dtype=torch.bool), jtorch.zeros(3, dtype=jtorch.bool)
    f = lambda x: type(x).__name__ == "bool"  # noqa: E731
    assert_close(jb.apply_(f), tb.apply_(f))
    t, j = both(rng.standard_normal(4).astype(np.float32))
    t[1:].apply_(lambda v: v + 5)
    j[1:].apply_(lambda v: v + 5)
    assert_close(j, t)


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(3, requires_grad=True).apply_(lambda a: a),
    lambda m: m.zeros(3).map_(m.ones(3, requires_grad=True), lambda a, b: a),
    lambda m: m.zeros(3).map2_(m.ones(3), m.ones(3, requires_grad=True), lambda a, b, c: a),
    lambda m: m.zeros(3).map_(m.ones(3, dtype=m.long), lambda a, b: a),
    lambda m: m.zeros(3).map_(m.ones(2, 3), lambda a, b: a),
    lambda m: m.zeros(2).apply_(lambda a: "x"),
])
def test_python_map_errors(call):
    assert outcome(lambda: call(jtorch)) == outcome(lambda: call(torch))


def test_new(rng):
    t, j = both(rng.standard_normal(4).astype(np.float32))
    assert tuple(j.new(2, 3).shape) == tuple(t.new(2, 3).shape) and j.new(2, 3).dtype == jtorch.float32
    assert_close(j.new([1, 2]), t.new([1, 2]))
    assert_close(j.new((2, 3)), t.new((2, 3)))  # a tuple is data, a Size is a shape
    assert tuple(j.new(jtorch.Size([2, 5])).shape) == (2, 5)
    assert tuple(j.new().shape) == tuple(t.new().shape) == (0,)
    assert_close(jtorch.arange(3).new([1.5, 2]), torch.arange(3).new([1.5, 2]))
    alias = j.new(j)
    alias.add_(1)
    t.add_(1)
    assert_close(j, t)
    for f in (lambda m: m.zeros(2).new("a"), lambda m: m.zeros(2).new(2, dtype=m.long)):
        assert outcome(lambda: f(jtorch)) == outcome(lambda: f(torch))


class _JSub(jtorch.Tensor):
    pass


class _TSub(torch.Tensor):
    pass


def test_as_subclass_shares_and_keeps_graph(rng):
    t, j = both(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    ts, js = t.as_subclass(_TSub), j.as_subclass(_JSub)
    assert type(js) is _JSub and js.is_leaf == ts.is_leaf and js.requires_grad == ts.requires_grad
    (ts * 2).sum().backward()
    (js * 2).sum().backward()
    assert_close(j.grad, t.grad)
    x = jtorch.zeros(3)
    x.as_subclass(_JSub).add_(1)
    assert x.tolist() == [1.0, 1.0, 1.0]
    assert outcome(lambda: jtorch.zeros(2).as_subclass(int)) == outcome(lambda: torch.zeros(2).as_subclass(int))


def test_as_strided_inplace(rng):
    t, j = both(rng.standard_normal(6).astype(np.float32))
    tb, jb = t.as_strided_((2, 2), (1, 2), 1), j.as_strided_((2, 2), (1, 2), 1)
    assert jb is j and tb is t
    assert_close(j, t)
    assert j.stride() == t.stride() and j.storage_offset() == t.storage_offset()
    f = lambda m: m.zeros(4, requires_grad=True).as_strided_((2,), (1,))  # noqa: E731
    assert outcome(lambda: f(jtorch)) == outcome(lambda: f(torch))


@pytest.mark.parametrize("shape,dim,start,end,step", [((10,), 0, 2, 8, 2), ((3, 4), 1, 1, 3, 1),
                                                      ((3, 4), 1, None, None, 1), ((3, 4), 1, -2, None, 1),
                                                      ((4, 5, 2), 0, 1, 4, 2)])
def test_slice_inverse(rng, shape, dim, start, end, step):
    t, j = both(rng.standard_normal(shape).astype(np.float32))
    idx = [slice(None)] * len(shape)
    idx[dim] = slice(start, end, step)
    want = torch.slice_inverse(t[tuple(idx)], t, dim, start, end, step)
    got = jtorch.slice_inverse(j[tuple(idx)], j, dim, start, end, step)
    assert_close(got, want)
    got.mul_(2)  # a view of the base
    want.mul_(2)
    assert_close(j, t)
    assert_close(j[tuple(idx)].slice_inverse(j, dim, start, end, step), t)


@pytest.mark.parametrize("shape,strides", [((2, 3), (1, 2)), ((2, 1, 3), (3, 3, 1)), ((2, 1, 3), (3, 1, 1)),
                                           ((2, 3), (0, 1)), ((2, 3), (1, 0)), ((2, 2), (1, 1)), ((1, 1), (1, 1)),
                                           ((3, 2, 2), (1, 3, 6)), ((2, 3, 4), (12, 4, 1)), ((2, 3, 4), (1, 8, 2)),
                                           ((2, 3, 4), (0, 4, 0)), ((4, 2, 3), (1, 12, 4))])
def test_dim_order(shape, strides):
    n = int(np.prod(shape)) * 12 + 1
    t = torch.empty(n).as_strided(shape, strides)
    j = jtorch.empty(n).as_strided(shape, strides)
    assert j.dim_order() == t.dim_order()
    for check in (True, [torch.contiguous_format], [torch.contiguous_format, torch.channels_last]):
        jcheck = check if check is True else [getattr(jtorch, str(f).split(".")[-1]) for f in check]
        if len(shape) != 4 and len(check if check is not True else []) > 1:
            continue
        assert outcome(lambda: j.dim_order(ambiguity_check=jcheck)) == outcome(lambda: t.dim_order(ambiguity_check=check))


def test_dim_order_channels_last_and_bad_argument():
    t = torch.zeros(2, 3, 4, 5).permute(0, 2, 3, 1)
    j = jtorch.zeros(2, 3, 4, 5).permute(0, 2, 3, 1)
    assert j.dim_order() == t.dim_order()
    assert outcome(lambda: jtorch.zeros(1, 2, 3, 4).dim_order(
        ambiguity_check=[jtorch.contiguous_format, jtorch.channels_last])) == outcome(
        lambda: torch.zeros(1, 2, 3, 4).dim_order(ambiguity_check=[torch.contiguous_format, torch.channels_last]))
    assert outcome(lambda: jtorch.zeros(2).dim_order(ambiguity_check="x")) == \
        outcome(lambda: torch.zeros(2).dim_order(ambiguity_check="x"))


def test_record_stream_const_ptr_flags(rng):
    t, j = both(rng.standard_normal(3).astype(np.float32))
    assert outcome(lambda: j.record_stream(None)) == outcome(lambda: t.record_stream(None))
    assert outcome(lambda: j.record_stream(jtorch.Stream())) == outcome(lambda: t.record_stream(torch.Stream()))
    assert j.const_data_ptr() == j.data_ptr()
    for flag in ("is_xla", "is_xpu", "is_mps", "is_ipu", "is_maia", "is_mtia", "is_vulkan"):
        assert getattr(j, flag) == getattr(t, flag) is False


def test_module_load(rng):
    t, j = both(rng.standard_normal(2).astype(np.float32))
    to, jo = both(rng.integers(0, 5, 2))
    assert_close(j.clone().module_load(jo), t.clone().module_load(to))
    assert_close(j.module_load(jo, assign=True), t.module_load(to, assign=True))


def test_resize_out_of_place(rng):
    t, j = both(rng.standard_normal(6).astype(np.float32), requires_grad=True)
    with pytest.warns(UserWarning):
        jr = j.resize(2, 3)
    with pytest.warns(UserWarning):
        tr = t.resize(2, 3)
    assert_close(jr, tr)
    (jr * 3).sum().backward()
    (tr * 3).sum().backward()
    assert_close(j.grad, t.grad)
    with pytest.warns(UserWarning):
        assert_close(j.resize_as(jtorch.zeros(3, 2)), t.resize_as(torch.zeros(3, 2)))
    with pytest.warns(UserWarning):
        assert outcome(lambda: j.resize(2, 2)) == outcome(lambda: t.resize(2, 2))


def test_saved_tensor_not_constructible():
    assert outcome(lambda: jtorch.autograd.SavedTensor()) == outcome(lambda: torch.autograd.SavedTensor())


@pytest.mark.parametrize("call", [
    lambda m, t: m.eig(t), lambda m, t: m.lstsq(t, t), lambda m, t: m.solve(t, t), lambda m, t: m.symeig(t),
    lambda m, t: m.matrix_rank(t), lambda m, t: t.eig(), lambda m, t: t.lstsq(t), lambda m, t: t.solve(t),
    lambda m, t: t.symeig(), lambda m, t: t.reinforce(1), lambda m, t: t.ipu(), lambda m, t: t.xpu(),
    lambda m, t: t.mtia(), lambda m, t: t.is_distributed(), lambda m, t: t.name, lambda m, t: str(t.grad_dtype),
])
def test_removed_and_foreign_device_methods(rng, call):
    t, j = both(rng.standard_normal((3, 3)).astype(np.float32))
    assert outcome(lambda: call(jtorch, j)) == outcome(lambda: call(torch, t))


def test_volatile_warns_false():
    with pytest.warns(UserWarning):
        assert jtorch.zeros(1).volatile is False

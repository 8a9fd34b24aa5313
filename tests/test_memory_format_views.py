"""Strides of results computed from views (transposes, permutes, strided slices, expands), of numpy
conversions and of nn functions on channels_last inputs, against torch: TensorIterator's output
layout for pointwise ops, preserve_format copies, in-place and out= results."""
import numpy as np
import pytest
import torch

import jtorch

FORMATS = ("contiguous_format", "channels_last", "channels_last_3d")


def pair(rng, shape):
    a = rng.standard_normal(shape).astype(np.float32)
    return torch.tensor(a), jtorch.tensor(a)


def same(t, j, values=True):
    assert tuple(j.shape) == tuple(t.shape)
    assert tuple(j.stride()) == tuple(t.stride()), (j.stride(), t.stride())
    for f in FORMATS:
        assert j.is_contiguous(memory_format=getattr(jtorch, f)) == t.is_contiguous(memory_format=getattr(torch, f)), f
    if values:
        np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


# views of a (2, 3, 4, 5) tensor; ``lib`` for the memory-format ones
VIEWS = {
    "t": lambda lib, x: x[0, 0].t(),
    "permute": lambda lib, x: x.permute(2, 0, 3, 1),
    "step": lambda lib, x: x[:, ::2],
    "transpose_unsqueeze": lambda lib, x: x[0].transpose(0, 2).unsqueeze(1),
    "expand": lambda lib, x: x[:, :1].expand(2, 3, 4, 5),
    "select_permute": lambda lib, x: x.permute(3, 1, 2, 0)[1],
    "size1_permute": lambda lib, x: x[:, :1].permute(3, 1, 2, 0),  # a size-1 dim with a non-row-major stride
    "channels_last_slice": lambda lib, x: x.contiguous(memory_format=lib.channels_last)[:, 1:],
}

UNARY = {
    "exp": lambda lib, x: x.exp(), "neg": lambda lib, x: -x, "relu": lambda lib, x: lib.relu(x),
    "sigmoid": lambda lib, x: lib.sigmoid(x), "clamp": lambda lib, x: x.clamp(-0.5, 0.5),
    "pow": lambda lib, x: x ** 2, "gelu": lambda lib, x: lib.nn.functional.gelu(x),
    "add_scalar": lambda lib, x: x + 1, "rsub_scalar": lambda lib, x: 1 - x, "div_scalar": lambda lib, x: x / 2,
    "rdiv_scalar": lambda lib, x: 2 / (x.abs() + 1), "gt_scalar": lambda lib, x: x > 0,
    "mul_0dim": lambda lib, x: x * lib.tensor(2.0), "where_scalar": lambda lib, x: lib.where(x > 0, x, 0.0),
    "double": lambda lib, x: x.double(), "nan_to_num": lambda lib, x: x.nan_to_num(),
    "hardtanh": lambda lib, x: lib.nn.functional.hardtanh(x), "clone": lambda lib, x: x.clone(),
    "contiguous": lambda lib, x: x.contiguous(), "empty_like": lambda lib, x: lib.empty_like(x),
    "square": lambda lib, x: x * x,
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_unary_results_of_views(rng, view):
    t, j = pair(rng, (2, 3, 4, 5))
    vt, vj = VIEWS[view](torch, t), VIEWS[view](jtorch, j)
    same(vt, vj)
    for name, f in UNARY.items():
        a, b = f(torch, vt), f(jtorch, vj)
        assert tuple(b.stride()) == tuple(a.stride()), (name, b.stride(), a.stride())
        same(a, b, values=name != "empty_like")
        # a pointwise op on the result keeps its layout, and .contiguous() makes it row-major
        same(a.contiguous(), b.contiguous(), values=name != "empty_like")


@pytest.mark.parametrize("view", ["t", "permute", "step", "size1_permute", "channels_last_slice"])
def test_binary_results_of_views(rng, view):
    t, j = pair(rng, (2, 3, 4, 5))
    vt, vj = VIEWS[view](torch, t), VIEWS[view](jtorch, j)
    shape = tuple(vt.shape)
    o = rng.standard_normal(shape).astype(np.float32)
    row = rng.standard_normal(shape[-1:]).astype(np.float32)
    col = rng.standard_normal(shape[:1] + (1,) * (len(shape) - 1)).astype(np.float32)
    perm = tuple(reversed(range(len(shape))))
    others = {  # other operands: row-major, broadcast, another dim order, the view itself
        "contiguous": lambda lib: lib.tensor(o), "row": lambda lib: lib.tensor(row), "col": lambda lib: lib.tensor(col),
        "reversed": lambda lib: lib.tensor(np.ascontiguousarray(o.transpose(perm))).permute(*perm),
    }
    ops = {"add": lambda lib, a, b: a + b, "mul": lambda lib, a, b: a * b, "ge": lambda lib, a, b: a >= b,
           "where": lambda lib, a, b: lib.where(a > 0, a, b), "maximum": lambda lib, a, b: lib.maximum(a, b),
           "atan2": lambda lib, a, b: lib.atan2(a, b)}
    for oname, other in others.items():
        ot, oj = other(torch), other(jtorch)
        for name, f in ops.items():
            same(f(torch, vt, ot), f(jtorch, vj, oj))  # the view first decides the dim order
            same(f(torch, ot, vt), f(jtorch, oj, vj))  # the other first
    same(vt + vt, vj + vj)
    same(torch.addcmul(vt, vt, torch.tensor(o)), jtorch.addcmul(vj, vj, jtorch.tensor(o)))


def test_contiguous_inputs_stay_row_major(rng):
    t, j = pair(rng, (3, 4))
    for f in (lambda lib, x: x.exp(), lambda lib, x: x + 1, lambda lib, x: x + x.t().t(),
              lambda lib, x: x[1:] * 2, lambda lib, x: x.view(4, 3).relu(), lambda lib, x: x.clone()):
        a, b = f(torch, t), f(jtorch, j)
        same(a, b)
        assert b._strides is None  # no memory format, no strides kept: the plain road


def test_in_place_and_out(rng):
    t, j = pair(rng, (4, 6))
    # in place on a view: the view keeps its strides and writes through to the base
    bt, bj = t.clone(), j.clone()
    vt, vj = bt.t(), bj.t()
    vt.mul_(2).add_(torch.tensor(np.arange(4, dtype=np.float32)))
    vj.mul_(2).add_(jtorch.tensor(np.arange(4, dtype=np.float32)))
    same(vt, vj)
    same(bt, bj)
    vt += vt.exp()
    vj += vj.exp()
    same(vt, vj)
    # out=: an out of the right shape keeps its own strides; a resized one takes the result's
    for make in (lambda lib: lib.empty(0), lambda lib: lib.empty(6, 4), lambda lib: lib.empty(4, 6).t(),
                 lambda lib: lib.empty(2, 3, 4, 5).contiguous(memory_format=lib.channels_last)):
        for call in (lambda lib, x, o: lib.add(x.t(), 1, out=o), lambda lib, x, o: lib.exp(x.t(), out=o),
                     lambda lib, x, o: lib.mul(x.t(), x.t(), out=o), lambda lib, x, o: lib.exp(x, out=o)):
            ot, oj = make(torch), make(jtorch)
            if ot.numel() and tuple(ot.shape) != tuple(call(torch, t, None).shape):
                continue  # (torch deprecates resizing a non-empty out)
            call(torch, t, ot)
            call(jtorch, j, oj)
            same(ot, oj)


def test_size_one_dims_keep_their_strides(rng):
    """TensorIterator keeps its inputs' common strides (size-1 dims too) where all have the output's
    shape; with a broadcast operand or a Python number operand it strides the dims densely."""
    t, j = pair(rng, (4, 1, 3))
    vt, vj = t.permute(2, 1, 0), j.permute(2, 1, 0)  # (3, 1, 4), strides (1, 3, 3)
    ut, uj = t.permute(1, 0, 2), j.permute(1, 0, 2)  # (1, 4, 3), strides (3, 3, 1): contiguous
    for f in (lambda lib, x: x.exp(), lambda lib, x: x + 1, lambda lib, x: x + x, lambda lib, x: x.clone(),
              lambda lib, x: x.double(), lambda lib, x: x.contiguous(), lambda lib, x: x * lib.tensor(2.0),
              lambda lib, x: lib.where(x > 0, x, 0.0), lambda lib, x: x.clamp(0, 1), lambda lib, x: x / 2,
              lambda lib, x: lib.empty_like(x), lambda lib, x: x.lerp(x, 0.5)):
        same(f(torch, vt), f(jtorch, vj), values=False)
        same(f(torch, ut), f(jtorch, uj), values=False)


def test_gradients_through_view_results(rng):
    t, j = pair(rng, (3, 4))
    t.requires_grad_()
    j.requires_grad_()
    g = rng.standard_normal((4, 3)).astype(np.float32)
    yt, yj = (t.t() * 2).exp(), (j.t() * 2).exp()
    same(yt, yj)
    (yt * torch.tensor(g)).sum().backward()
    (yj * jtorch.tensor(g)).sum().backward()
    same(t.grad, j.grad)


@pytest.mark.parametrize("make", [
    lambda lib, x: x[0, 0].t(), lambda lib, x: x.permute(3, 1, 0, 2), lambda lib, x: x[:, ::2],
    lambda lib, x: x[:, :1].expand(2, 3, 4, 5), lambda lib, x: x.contiguous(memory_format=lib.channels_last),
    lambda lib, x: x.contiguous(memory_format=lib.channels_last)[:, 1:],
    lambda lib, x: x.contiguous(memory_format=lib.channels_last).permute(0, 2, 3, 1),
    lambda lib, x: x[0, 0].t().exp(), lambda lib, x: x.contiguous(memory_format=lib.channels_last) * 2,
])
def test_numpy_strides(rng, make):
    t, j = pair(rng, (2, 3, 4, 5))
    yt, yj = make(torch, t), make(jtorch, j)
    at, aj = np.asarray(yt), np.asarray(yj)
    assert aj.strides == at.strides
    np.testing.assert_allclose(aj, at, rtol=1e-6)
    nt, nj = yt.numpy(), yj.numpy()
    assert nj.strides == nt.strides
    np.testing.assert_allclose(nj, nt, rtol=1e-6)
    if nt.strides[1] != 0:  # (an expanded view's ndarray is not writable element by element)
        # the ndarray shares the tensor's memory both ways
        nt[0, 0] = 7.0
        nj[0, 0] = 7.0
        same(yt, yj)
        yt.mul_(2)
        yj.mul_(2)
        np.testing.assert_allclose(nj, nt, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(yj), np.asarray(yt), rtol=1e-6)


def test_numpy_of_a_large_channels_last_tensor_stays_shared(rng):
    """Past interop.REREAD_LIMIT bytes the shared buffer stays row-major (XLA reads it in place)."""
    a = rng.standard_normal((2, 64, 16, 16)).astype(np.float32)
    y = jtorch.tensor(a).contiguous(memory_format=jtorch.channels_last)
    n = y.numpy()
    n[1, 2, 3, 4] = 9.0
    assert float(y[1, 2, 3, 4]) == 9.0
    y.add_(1)
    assert n[1, 2, 3, 4] == 10.0
    assert y.stride() == torch.tensor(a).contiguous(memory_format=torch.channels_last).stride()


def _cl(lib, x):
    return x.contiguous(memory_format=lib.channels_last if x.ndim == 4 else lib.channels_last_3d)


NN = {
    "local_response_norm": lambda lib, x: lib.nn.functional.local_response_norm(x, 3),
    "pixel_shuffle": lambda lib, x: lib.nn.functional.pixel_shuffle(x, 2),
    "pixel_unshuffle": lambda lib, x: lib.nn.functional.pixel_unshuffle(x, 2),
    "channel_shuffle": lambda lib, x: lib.nn.functional.channel_shuffle(x, 2),
    "ChannelShuffle": lambda lib, x: lib.nn.ChannelShuffle(2)(x),
    "normalize": lambda lib, x: lib.nn.functional.normalize(x, dim=1),
    "nearest": lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2, mode="nearest"),
    "nearest_exact_size": lambda lib, x: lib.nn.functional.interpolate(x, size=(5, 7), mode="nearest-exact"),
    "UpsamplingNearest2d": lambda lib, x: lib.nn.UpsamplingNearest2d(scale_factor=2)(x),
    "pad_constant": lambda lib, x: lib.nn.functional.pad(x, (1, 2, 0, 1)),
    "pad_channels": lambda lib, x: lib.nn.functional.pad(x, (1, 1, 1, 1, 1, 1), value=0.5),
    "pad_reflect": lambda lib, x: lib.nn.functional.pad(x, (1, 2, 0, 1), mode="reflect"),
    "pad_replicate": lambda lib, x: lib.nn.functional.pad(x, (1, 2, 0, 1), mode="replicate"),
    "pad_circular": lambda lib, x: lib.nn.functional.pad(x, (1, 2, 0, 1), mode="circular"),
    "adaptive_avg_pool2d_1": lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, 1),
    "adaptive_avg_pool2d_3": lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, 3),
    "adaptive_avg_pool2d_none": lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, (None, 3)),
    "dropout_eval": lambda lib, x: lib.nn.functional.dropout(x, 0.5, training=False),
    "dropout_p0": lambda lib, x: lib.nn.functional.dropout(x, 0.0),
}


@pytest.mark.parametrize("name", list(NN))
def test_nn_layouts_of_channels_last(rng, name):
    t, j = pair(rng, (2, 8, 6, 6))
    for vt, vj in ((_cl(torch, t), _cl(jtorch, j)), (_cl(torch, t)[..., :4], _cl(jtorch, j)[..., :4]),
                   (t.transpose(2, 3), j.transpose(2, 3))):
        same(NN[name](torch, vt), NN[name](jtorch, vj))


def test_nn_layouts_random_and_3d(rng):
    t, j = pair(rng, (2, 8, 6, 6))
    F, G = torch.nn.functional, jtorch.nn.functional
    for f in (lambda F, x: F.dropout(x, 0.5), lambda F, x: F.dropout2d(x, 0.5), lambda F, x: F.alpha_dropout(x, 0.5),
              lambda F, x: F.feature_alpha_dropout(x, 0.5)):
        for vt, vj in ((_cl(torch, t), _cl(jtorch, j)), (t.transpose(1, 3), j.transpose(1, 3))):
            same(f(F, vt), f(G, vj), values=False)
    t5, j5 = pair(rng, (2, 8, 4, 4, 4))
    t5, j5 = _cl(torch, t5), _cl(jtorch, j5)
    for f in (lambda F, x: F.local_response_norm(x, 2), lambda F, x: F.channel_shuffle(x, 2),
              lambda F, x: F.interpolate(x, scale_factor=2), lambda F, x: F.pad(x, (1, 1, 1, 1, 1, 1), mode="reflect"),
              lambda F, x: F.adaptive_avg_pool3d(x, 2)):
        same(f(F, t5), f(G, j5))
    same(F.dropout3d(t5, 0.5), G.dropout3d(j5, 0.5), values=False)
    for f in (lambda F, x: F.pixel_shuffle(x, 2), lambda F, x: F.pixel_unshuffle(x, 2)):
        with pytest.raises(RuntimeError) as te:  # torch's CPU kernels have no channels_last_3d path
            f(F, t5)
        with pytest.raises(RuntimeError) as je:
            f(G, j5)
        assert str(je.value) == str(te.value)
    # an (N, C, 1, 1) channels_last tensor suggests contiguous; a 1x1 result of a channels_last one does not
    c = rng.standard_normal((2, 8, 1, 1)).astype(np.float32)
    same(F.channel_shuffle(_cl(torch, torch.tensor(c)), 2), G.channel_shuffle(_cl(jtorch, jtorch.tensor(c)), 2))
    d = rng.standard_normal((2, 8, 2, 2)).astype(np.float32)
    same(F.pixel_unshuffle(_cl(torch, torch.tensor(d)), 2), G.pixel_unshuffle(_cl(jtorch, jtorch.tensor(d)), 2))


def test_channels_last_like_views_feed_nn(rng):
    """An NHWC array permuted to NCHW is a channels_last view: torch's kernels keep that format."""
    a = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    t, j = torch.tensor(a).permute(0, 3, 1, 2), jtorch.tensor(a).permute(0, 3, 1, 2)
    for f in (lambda lib, x: lib.nn.functional.conv2d(x, lib.tensor(w)),
              lambda lib, x: lib.nn.functional.batch_norm(x, None, None, training=True),
              lambda lib, x: lib.nn.functional.max_pool2d(x, 2), lambda lib, x: lib.cat([x, x], 1),
              lambda lib, x: lib.nn.functional.group_norm(x, 1), lambda lib, x: x.sum(1, keepdim=True)):
        a_, b_ = f(torch, t), f(jtorch, j)
        assert tuple(b_.stride()) == tuple(a_.stride())
        np.testing.assert_allclose(b_.numpy(), a_.numpy(), rtol=1e-4, atol=1e-4)


def test_eager_road_lays_view_results_alike(rng):
    """Without lazy batching (the dispatcher's eager road) view results are laid out the same."""
    from jtorch import _lazy
    t, j = pair(rng, (2, 3, 4, 5))
    was = _lazy.enabled()
    _lazy.set_enabled(False)
    try:
        got = [f(jtorch, VIEWS[v](jtorch, j)) for v in ("t", "permute", "size1_permute")
               for f in (UNARY["exp"], UNARY["add_scalar"], UNARY["where_scalar"], UNARY["double"])]
        got.append(jtorch.cat([j.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)] * 2, 1))  # channels_last-like
    finally:
        _lazy.set_enabled(was)
    want = [f(torch, VIEWS[v](torch, t)) for v in ("t", "permute", "size1_permute")
            for f in (UNARY["exp"], UNARY["add_scalar"], UNARY["where_scalar"], UNARY["double"])]
    want.append(torch.cat([t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)] * 2, 1))
    for a, b in zip(want, got):
        same(a, b)


def test_multi_output_results(rng):
    t, j = pair(rng, (2, 3, 4, 5))
    for view in (lambda lib, x: x.contiguous(memory_format=lib.channels_last), lambda lib, x: x.transpose(2, 3),
                 lambda lib, x: x[:, ::2]):
        vt, vj = view(torch, t), view(jtorch, j)
        for f in (lambda lib, x: x.sort(1), lambda lib, x: x.sort(-1, descending=True), lambda lib, x: x.topk(2, 1),
                  lambda lib, x: lib.frexp(x)):
            for a, b in zip(f(torch, vt), f(jtorch, vj)):
                same(a, b)
        same(vt.argsort(1), vj.argsort(1))
        same(torch.msort(vt), jtorch.msort(vj))


def test_pixel_unshuffle_errors(rng):
    for shape in ((1, 2, 5, 6), (1, 2, 4, 7)):
        t, j = pair(rng, shape)
        with pytest.raises(RuntimeError) as te:
            torch.nn.functional.pixel_unshuffle(t, 2)
        with pytest.raises(RuntimeError) as je:
            jtorch.nn.functional.pixel_unshuffle(j, 2)
        assert str(je.value) == str(te.value)

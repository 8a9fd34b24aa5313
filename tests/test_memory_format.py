"""Memory formats (channels_last, channels_last_3d, preserve_format) against torch: strides,
is_contiguous answers, values, errors, layouts of op results, storage order, save/load, gradients."""
import copy
import io

import numpy as np
import pytest
import torch

import jtorch

FORMATS = {4: "channels_last", 5: "channels_last_3d"}
SHAPES = [(2, 3, 4, 5), (2, 3, 2, 3, 4)]


def both(rng, shape):
    a = rng.standard_normal(shape).astype(np.float32)
    return torch.tensor(a), jtorch.tensor(a)


def fmt(lib, name):
    return getattr(lib, name)


def same(t, j):
    assert tuple(j.shape) == tuple(t.shape)
    assert tuple(j.stride()) == tuple(t.stride()), (j.stride(), t.stride())
    np.testing.assert_allclose(j.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-5)


def is_contig_all(lib, x):
    return [x.is_contiguous()] + [x.is_contiguous(memory_format=fmt(lib, n))
                                  for n in ("contiguous_format", "channels_last", "channels_last_3d")]


@pytest.mark.parametrize("shape", SHAPES + [(2, 1, 4, 5), (2, 3, 1, 1), (1, 3, 1, 4), (0, 3, 4, 5)])
def test_to_and_contiguous(rng, shape):
    t, j = both(rng, shape)
    name = FORMATS[len(shape)]
    ty, jy = t.to(memory_format=fmt(torch, name)), j.to(memory_format=fmt(jtorch, name))
    same(ty, jy)
    assert is_contig_all(jtorch, jy) == is_contig_all(torch, ty)
    assert is_contig_all(jtorch, j) == is_contig_all(torch, t)
    assert (jy.to(memory_format=fmt(jtorch, name)) is jy) == (ty.to(memory_format=fmt(torch, name)) is ty)
    tc, jc = t.contiguous(memory_format=fmt(torch, name)), j.contiguous(memory_format=fmt(jtorch, name))
    same(tc, jc)
    assert (jc is j) == (tc is t)
    same(ty.contiguous(), jy.contiguous())
    assert jy.contiguous(memory_format=fmt(jtorch, name)) is jy
    same(ty.to(memory_format=torch.contiguous_format), jy.to(memory_format=jtorch.contiguous_format))
    assert not jy._is_view() and jy.storage_offset() == 0


def test_wrong_rank_errors(rng):
    t, j = both(rng, (2, 3, 4))
    for lib, x in ((torch, t), (jtorch, j)):
        assert x.is_contiguous(memory_format=lib.channels_last) is False
    for call in (lambda lib, x: x.to(memory_format=lib.channels_last),
                 lambda lib, x: x.contiguous(memory_format=lib.channels_last),
                 lambda lib, x: x.clone(memory_format=lib.channels_last),
                 lambda lib, x: lib.empty_like(x, memory_format=lib.channels_last),
                 lambda lib, x: lib.empty(2, 3, 4, memory_format=lib.channels_last),
                 lambda lib, x: x.unsqueeze(0).to(memory_format=lib.channels_last_3d)):
        with pytest.raises(RuntimeError) as te:
            call(torch, t)
        with pytest.raises(RuntimeError) as je:
            call(jtorch, j)
        assert str(je.value) == str(te.value)


@pytest.mark.parametrize("shape", SHAPES)
def test_permute_view_reshape(rng, shape):
    t, j = both(rng, shape)
    name = FORMATS[len(shape)]
    ty, jy = t.to(memory_format=fmt(torch, name)), j.to(memory_format=fmt(jtorch, name))
    perm = (0, *range(2, len(shape)), 1)
    same(ty.permute(perm), jy.permute(perm))
    assert jy.permute(perm).is_contiguous() and ty.permute(perm).is_contiguous()
    same(ty[:, 1:], jy[:, 1:])
    assert jy[:, 1:].storage_offset() == ty[:, 1:].storage_offset()
    assert jy[1].storage_offset() == ty[1].storage_offset()
    merged = (*shape[:2], -1)  # the spatial dims merge into one stride
    same(ty.view(merged), jy.view(merged))
    for bad in ((shape[0], -1), (-1,)):
        with pytest.raises(RuntimeError) as te:
            ty.view(bad)
        with pytest.raises(RuntimeError) as je:
            jy.view(bad)
        assert str(je.value) == str(te.value)
    for new in (merged, (shape[0], -1), (-1,)):
        tr, jr = ty.reshape(new), jy.reshape(new)
        same(tr, jr)
        assert (jr._base is jy) == (tr._base is ty)
    same(ty.flatten(1), jy.flatten(1))


@pytest.mark.parametrize("shape", SHAPES)
def test_like_and_clone(rng, shape):
    t, j = both(rng, shape)
    name = FORMATS[len(shape)]
    ty, jy = t.to(memory_format=fmt(torch, name)), j.to(memory_format=fmt(jtorch, name))
    for f in ("empty_like", "zeros_like", "ones_like", "rand_like", "randn_like"):
        for src_t, src_j in ((ty, jy), (t, j)):
            for mf in (None, "preserve_format", "contiguous_format", name):
                kw_t = {} if mf is None else {"memory_format": fmt(torch, mf)}
                kw_j = {} if mf is None else {"memory_format": fmt(jtorch, mf)}
                a, b = getattr(torch, f)(src_t, **kw_t), getattr(jtorch, f)(src_j, **kw_j)
                assert tuple(b.stride()) == tuple(a.stride()), (f, mf)
    assert jtorch.full_like(jy, 2.0).stride() == torch.full_like(ty, 2.0).stride()
    assert jtorch.randint_like(jy, 5).stride() == torch.randint_like(ty, 5).stride()
    assert jtorch.empty(*shape, memory_format=fmt(jtorch, name)).stride() == \
        torch.empty(*shape, memory_format=fmt(torch, name)).stride()
    for mf in (None, "contiguous_format", name):
        kw_t = {} if mf is None else {"memory_format": fmt(torch, mf)}
        kw_j = {} if mf is None else {"memory_format": fmt(jtorch, mf)}
        same(ty.clone(**kw_t), jy.clone(**kw_j))
        same(t.clone(**kw_t), j.clone(**kw_j))
    # preserve_format on other dense orders and on non-dense views keeps the order of the strides
    for view in (lambda x: x.transpose(1, 2), lambda x: x[:, :, ::2].transpose(2, 3),
                 lambda x: x.flatten(0, -3)[0].t()):
        same(view(t).clone(), view(j).clone())
        assert jtorch.empty_like(view(j)).stride() == torch.empty_like(view(t)).stride()
    assert jtorch.empty_strided(shape, ty.stride()).is_contiguous(memory_format=fmt(jtorch, name))
    assert jtorch.empty_strided(shape, ty.stride()).stride() == ty.stride()


@pytest.mark.parametrize("shape", SHAPES)
def test_pointwise_layouts(rng, shape):
    t, j = both(rng, shape)
    name = FORMATS[len(shape)]
    ty, jy = t.to(memory_format=fmt(torch, name)), j.to(memory_format=fmt(jtorch, name))
    c = rng.standard_normal((shape[1],) + (1,) * (len(shape) - 2)).astype(np.float32)
    r = rng.standard_normal(shape[-1:]).astype(np.float32)
    cases = [
        lambda lib, y, x: y + 1, lambda lib, y, x: y + x, lambda lib, y, x: x + y, lambda lib, y, x: y * y,
        lambda lib, y, x: -y, lambda lib, y, x: y + lib.tensor(c), lambda lib, y, x: lib.tensor(r) + y,
        lambda lib, y, x: y.exp(), lambda lib, y, x: lib.relu(y), lambda lib, y, x: y.clamp(-0.5, 0.5),
        lambda lib, y, x: lib.where(y > 0, y, 0.0), lambda lib, y, x: y > 0, lambda lib, y, x: y.double(),
        lambda lib, y, x: lib.nn.functional.gelu(y), lambda lib, y, x: lib.sigmoid(y),
        lambda lib, y, x: lib.nn.functional.leaky_relu(y), lambda lib, y, x: y[:, :2] * 2,
        lambda lib, y, x: x.transpose(1, 2) + y.transpose(1, 2), lambda lib, y, x: lib.cat([y, y], 1),
        lambda lib, y, x: lib.cat([y, x], 1), lambda lib, y, x: y.sum(1, keepdim=True),
        lambda lib, y, x: lib.softmax(y, 1), lambda lib, y, x: y.permute(0, *range(2, y.ndim), 1) + 1,
    ]
    for k, case in enumerate(cases):
        a, b = case(torch, ty, t), case(jtorch, jy, j)
        assert tuple(b.stride()) == tuple(a.stride()), k
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
    a, b = ty.clone(), jy.clone()  # in place: the layout stays
    a.mul_(2).add_(t)
    b.mul_(2).add_(j)
    same(a, b)
    jtorch.manual_seed(0)
    assert jtorch.nn.functional.dropout(jy, 0.5).stride() == torch.nn.functional.dropout(ty, 0.5).stride()


def test_nn_layouts(rng):
    t, j = both(rng, (2, 3, 6, 7))
    ty, jy = t.to(memory_format=torch.channels_last), j.to(memory_format=jtorch.channels_last)
    torch.manual_seed(0)
    tconv = torch.nn.Conv2d(3, 4, 3)
    jconv = jtorch.nn.Conv2d(3, 4, 3)
    jconv.load_state_dict({k: v.numpy() for k, v in tconv.state_dict().items()})
    same(tconv(ty), jconv(jy))
    same(tconv(t), jconv(j))
    tw, jw = tconv.to(memory_format=torch.channels_last), jconv.to(memory_format=jtorch.channels_last)
    assert jw.weight.stride() == tw.weight.stride() and jw.bias.stride() == tw.bias.stride()
    same(tw(t), jw(j))  # a channels_last weight makes the output channels_last
    tct = torch.nn.ConvTranspose2d(3, 2, 3)
    jct = jtorch.nn.ConvTranspose2d(3, 2, 3)
    jct.load_state_dict({k: v.numpy() for k, v in tct.state_dict().items()})
    same(tct(ty), jct(jy))
    F, G = torch.nn.functional, jtorch.nn.functional
    mods = [lambda nn: nn.BatchNorm2d(3), lambda nn: nn.MaxPool2d(2), lambda nn: nn.AvgPool2d(2),
            lambda nn: nn.AdaptiveAvgPool2d(1), lambda nn: nn.AdaptiveAvgPool2d(2), lambda nn: nn.ReLU(),
            lambda nn: nn.AdaptiveMaxPool2d(3)]
    for k, m in enumerate(mods):
        same(m(torch.nn)(ty), m(jtorch.nn)(jy))
    same(torch.nn.BatchNorm2d(3).eval()(ty), jtorch.nn.BatchNorm2d(3).eval()(jy))
    for mode in ("nearest", "bilinear"):
        same(F.interpolate(ty, scale_factor=2, mode=mode), G.interpolate(jy, scale_factor=2, mode=mode))
    for mode in ("constant", "reflect", "replicate", "circular"):
        same(F.pad(ty, (1, 1, 2, 1), mode=mode), G.pad(jy, (1, 1, 2, 1), mode=mode))
    same(F.group_norm(ty, 1), G.group_norm(jy, 1))
    same(F.layer_norm(ty, (7,)), G.layer_norm(jy, (7,)))
    same(torch.flip(ty, [2]), jtorch.flip(jy, [2]))
    same(torch.roll(ty, 1, 2), jtorch.roll(jy, 1, 2))
    same(copy.deepcopy(ty), copy.deepcopy(jy))
    t5, j5 = both(rng, (1, 2, 3, 4, 5))
    t5, j5 = t5.to(memory_format=torch.channels_last_3d), j5.to(memory_format=jtorch.channels_last_3d)
    c3 = torch.nn.Conv3d(2, 3, 2)
    jc3 = jtorch.nn.Conv3d(2, 3, 2)
    jc3.load_state_dict({k: v.numpy() for k, v in c3.state_dict().items()})
    same(c3(t5), jc3(j5))  # contiguous: torch's CPU conv3d has no channels_last_3d path
    for m in (lambda nn: nn.BatchNorm3d(2), lambda nn: nn.MaxPool3d(2), lambda nn: nn.AvgPool3d(2),
              lambda nn: nn.AdaptiveAvgPool3d(2), lambda nn: nn.AdaptiveMaxPool3d(2)):
        same(m(torch.nn)(t5), m(jtorch.nn)(j5))
    same(F.interpolate(t5, scale_factor=2), G.interpolate(j5, scale_factor=2))
    seq_t = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Linear(5, 5)).to(memory_format=torch.channels_last)
    seq_j = jtorch.nn.Sequential(jtorch.nn.Conv2d(3, 4, 3), jtorch.nn.Linear(5, 5)).to(
        memory_format=jtorch.channels_last)
    for (k, a), (_, b) in zip(seq_t.named_parameters(), seq_j.named_parameters()):
        assert b.stride() == a.stride(), k


@pytest.mark.parametrize("shape", SHAPES)
def test_grad_layout(rng, shape):
    t, j = both(rng, shape)
    name = FORMATS[len(shape)]
    g = rng.standard_normal(shape).astype(np.float32)
    for loss in (lambda lib, y: (y * lib.tensor(g)).sum(), lambda lib, y: y.sum(), lambda lib, y: (y.exp() * 2).mean()):
        ty = t.to(memory_format=fmt(torch, name)).requires_grad_()
        jy = j.to(memory_format=fmt(jtorch, name)).requires_grad_()
        loss(torch, ty).backward()
        loss(jtorch, jy).backward()
        same(ty.grad, jy.grad)
        loss(torch, ty).backward()
        loss(jtorch, jy).backward()
        same(ty.grad, jy.grad)
    # gradients flow through the format conversion like through clone
    tx, jx = t.clone().requires_grad_(), j.clone().requires_grad_()
    (tx.to(memory_format=fmt(torch, name)) * torch.tensor(g)).sum().backward()
    (jx.to(memory_format=fmt(jtorch, name)) * jtorch.tensor(g)).sum().backward()
    same(tx.grad, jx.grad)


@pytest.mark.parametrize("shape", SHAPES)
def test_storage_order(rng, shape):
    t, j = both(rng, shape)
    name = FORMATS[len(shape)]
    ty, jy = t.to(memory_format=fmt(torch, name)), j.to(memory_format=fmt(jtorch, name))
    assert bytes(jy.untyped_storage()) == bytes(ty.untyped_storage())
    back_t = torch.frombuffer(bytearray(bytes(ty.untyped_storage())), dtype=torch.float32)
    back_j = jtorch.frombuffer(bytearray(bytes(jy.untyped_storage())), dtype=jtorch.float32)
    np.testing.assert_array_equal(back_j.numpy(), back_t.numpy())
    for size, stride, off in (((2, 3), (1, 3), 0), ((4,), (2,), 1), (shape, ty.stride(), 0)):
        same(ty.as_strided(size, stride, off), jy.as_strided(size, stride, off))
    # a write through as_strided reaches the laid tensor at the storage position torch writes
    a, b = ty.clone(), jy.clone()
    a.as_strided((3,), (2,), 1).fill_(7.0)
    b.as_strided((3,), (2,), 1).fill_(7.0)
    same(a, b)
    np.testing.assert_array_equal(jy.numpy(), ty.numpy())  # numpy() stays logical
    # a byte written through the storage lands at the same element
    a, b = ty.clone(), jy.clone()
    a.untyped_storage()[7] = 64
    b.untyped_storage()[7] = 64
    same(a, b)


@pytest.mark.parametrize("shape", SHAPES)
def test_save_load(rng, shape, tmp_path):
    t, j = both(rng, shape)
    name = FORMATS[len(shape)]
    ty, jy = t.to(memory_format=fmt(torch, name)), j.to(memory_format=fmt(jtorch, name))
    buf = io.BytesIO()
    torch.save({"y": ty, "v": ty[:, 1:]}, buf)
    buf.seek(0)
    got = jtorch.load(buf)
    same(ty, got["y"])
    same(ty[:, 1:], got["v"])
    assert not got["y"]._is_view()
    assert got["y"].is_contiguous(memory_format=fmt(jtorch, name))
    buf = io.BytesIO()
    jtorch.save({"y": jy, "v": jy[:, 1:]}, buf)
    buf.seek(0)
    back = torch.load(buf)
    same(back["y"], jy)
    same(back["v"], jy[:, 1:])
    assert back["v"].storage_offset() == ty[:, 1:].storage_offset()


def test_compile(rng):
    """Compiled programs keep the formats eager gives: an argument's format is part of the guard."""
    t, j = both(rng, (2, 3, 4, 5))
    jy = j.to(memory_format=jtorch.channels_last)
    ty = t.to(memory_format=torch.channels_last)
    f = jtorch.compile(lambda x: ((x * 2).relu() + 1, x.sum()))
    for _ in range(3):
        for a, b in ((ty, jy), (t, j)):
            want, got = (a * 2).relu() + 1, f(b)
            same(want, got[0])
            np.testing.assert_allclose(got[1].numpy(), a.sum().numpy(), rtol=1e-5)
    torch.manual_seed(0)
    tconv = torch.nn.Conv2d(3, 4, 3).to(memory_format=torch.channels_last)
    jconv = jtorch.nn.Conv2d(3, 4, 3).to(memory_format=jtorch.channels_last)
    jconv.load_state_dict({k: v.numpy() for k, v in tconv.state_dict().items()})
    g = jtorch.compile(jconv)
    for _ in range(3):
        same(tconv(t), g(j))


def test_lazy_batching(rng):
    """The lazy batching road of the dispatcher lays out results like the eager one."""
    from jtorch import _lazy
    t, j = both(rng, (2, 3, 4, 5))
    ty, jy = t.to(memory_format=torch.channels_last), j.to(memory_format=jtorch.channels_last)
    was = _lazy.enabled()
    assert _lazy.set_enabled(True)
    try:
        got = [(jy * 2).relu() + j, j + jy, jtorch.cat([jy, jy], 1)]
    finally:
        _lazy.set_enabled(was)
    for want, g in zip([(ty * 2).relu() + t, t + ty, torch.cat([ty, ty], 1)], got):
        same(want, g)


def test_training_step_keeps_formats(rng):
    """A channels_last model trains like torch's: weights, grads and optimizer state keep the format."""
    t, j = both(rng, (2, 3, 6, 6))
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))
    jm = jtorch.nn.Sequential(jtorch.nn.Conv2d(3, 4, 3), jtorch.nn.ReLU(), jtorch.nn.Conv2d(4, 2, 3))
    jm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    tm, jm = tm.to(memory_format=torch.channels_last), jm.to(memory_format=jtorch.channels_last)
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    jopt = jtorch.optim.Adam(jm.parameters(), lr=0.01)
    for _ in range(2):
        for m, opt, x in ((tm, topt, t.to(memory_format=torch.channels_last)),
                          (jm, jopt, j.to(memory_format=jtorch.channels_last))):
            opt.zero_grad()
            (m(x) ** 2).mean().backward()
            opt.step()
    for (k, a), (_, b) in zip(tm.named_parameters(), jm.named_parameters()):
        same(a, b)
        same(a.grad, b.grad)
        for s in ("exp_avg", "exp_avg_sq"):
            same(topt.state[a][s], jopt.state[b][s])

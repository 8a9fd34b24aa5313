"""Convolution, max pooling and batch norm against torch on both lowerings: the CPU-tuned one
(conv weight gradient as im2col + matmul) and the generic one (nn_ops.CPU_LOWERINGS off), with
values, indices, first and second derivatives and forward-mode derivatives."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtorch
import jtorch.nn.functional as F
from jtorch._ops import conv_cpu, nn_ops
from tests.helpers import assert_close

_OPS = (nn_ops._conv, nn_ops._max_pool, nn_ops._batch_norm_train)


@pytest.fixture(params=["cpu", "generic"])
def lowering(request, monkeypatch):
    """Runs the test once per lowering; kernels are cached per op, so the caches are dropped around it."""
    monkeypatch.setattr(nn_ops, "CPU_LOWERINGS", request.param == "cpu")
    for op in _OPS:
        op._jits.clear()
        op._vjps.clear()
    yield request.param
    for op in _OPS:
        op._jits.clear()
        op._vjps.clear()


def _pair(a, grad=True):
    t, j = torch.from_numpy(a.copy()), jtorch.tensor(a.copy())
    if grad:
        t.requires_grad_(True)
        j.requires_grad_(True)
    return t, j


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


CONVS = [
    # (name, input shape, weight shape, bias, kwargs, dtype)
    ("conv2d", (2, 3, 9, 7), (4, 3, 3, 3), True, dict(stride=2, padding=1), np.float32),
    ("conv2d", (1, 2, 8, 8), (3, 2, 3, 2), True, dict(dilation=(2, 1), padding="same"), np.float64),
    ("conv2d", (3, 4, 6, 5), (6, 2, 3, 3), True, dict(groups=2, padding="valid"), np.float32),
    ("conv2d", (2, 4, 7, 7), (4, 1, 3, 3), False, dict(groups=4, padding=1, stride=(1, 2)), np.float64),
    ("conv2d", (3, 7, 7), (5, 3, 1, 1), True, dict(), np.float32),  # unbatched, 1x1
    ("conv1d", (2, 3, 11), (5, 3, 4), True, dict(stride=3, padding=2), np.float64),
    ("conv1d", (4, 2, 13), (2, 2, 3), False, dict(dilation=3, padding="same"), np.float32),
    ("conv3d", (1, 2, 5, 4, 6), (3, 2, 2, 3, 2), True, dict(stride=(1, 2, 1), padding=(1, 0, 1)), np.float32),
    ("conv3d", (2, 1, 4, 5, 3), (2, 1, 3, 2, 2), False, dict(dilation=(1, 2, 1)), np.float64),
    # (on CPU a 3-D convolution runs as 2-D ones per temporal tap: temporal stride, dilation, padding, groups)
    ("conv3d", (2, 4, 7, 6, 5), (6, 2, 3, 3, 2), True, dict(stride=(2, 1, 2), padding=(2, 1, 0), dilation=(2, 1, 1),
                                                             groups=2), np.float64),
    ("conv3d", (3, 5, 4, 6), (2, 3, 1, 3, 3), False, dict(padding="same"), np.float32),  # unbatched, 1x3x3
    ("conv3d", (1, 2, 6, 5, 5), (3, 2, 3, 1, 1), True, dict(stride=(2, 1, 1), padding=(1, 0, 0)), np.float64),
]


@pytest.mark.parametrize("case", range(len(CONVS)))
def test_conv_values_and_grads(lowering, rng, case):
    name, xs, ws, has_bias, kw, dt = CONVS[case]
    tx, jx = _pair(rng.standard_normal(xs).astype(dt))
    tw, jw = _pair(rng.standard_normal(ws).astype(dt))
    tb, jb = _pair(rng.standard_normal(ws[0]).astype(dt)) if has_bias else (None, None)
    tout = getattr(TF, name)(tx, tw, tb, **kw)
    jout = getattr(F, name)(jx, jw, jb, **kw)
    assert_close(jout, tout, **_tol(dt))
    g = rng.standard_normal(tuple(tout.shape)).astype(dt)
    tout.backward(torch.from_numpy(g))
    jout.backward(jtorch.tensor(g))
    for t, j in ((tx, jx), (tw, jw), (tb, jb)):
        if t is not None:
            assert_close(j.grad, t.grad, **_tol(dt))


def test_conv_weight_grad_only(lowering, rng):
    # the input does not require grad (a network's first layer): only the weight path runs
    x = rng.standard_normal((5, 1, 10, 9)).astype(np.float32)
    tw, jw = _pair(rng.standard_normal((6, 1, 3, 3)).astype(np.float32))
    tout = TF.conv2d(torch.from_numpy(x), tw, padding=1)
    jout = F.conv2d(jtorch.tensor(x), jw, padding=1)
    (tout ** 2).sum().backward()
    (jout ** 2).sum().backward()
    assert_close(jw.grad, tw.grad, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, padding=1), dict(kernel_size=(2, 3), stride=(2, 1)),
                                dict(kernel_size=(3, 2), dilation=(2, 1), padding=(2, 0), stride=(1, 3))])
def test_conv_patches_match_unfold(rng, kw):
    # the CPU weight gradient's transposed im2col (window slices concatenated channels-first) against
    # torch's unfold, exactly: both only copy input elements (and zeros of the padding)
    x = rng.standard_normal((3, 5, 9, 8)).astype(np.float32)
    t = TF.unfold(torch.from_numpy(x), **kw)  # (N, C * K, L), channel-major
    k = kw["kernel_size"] if isinstance(kw["kernel_size"], tuple) else (kw["kernel_size"],) * 2
    two = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    pad = [(p, p) for p in two(kw.get("padding", 0))]
    cols = conv_cpu.patches_t(np.moveaxis(x, 1, -1), k, two(kw.get("stride", 1)), pad, two(kw.get("dilation", 1)))
    n, L = t.shape[0], t.shape[2]
    K = k[0] * k[1]
    want = t.numpy().reshape(n, 5, K, L).transpose(2, 1, 0, 3).reshape(K * 5, n * L)
    assert cols.shape == want.shape
    np.testing.assert_array_equal(np.asarray(cols), want)


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_double_backward(lowering, rng, groups):
    tx, jx = _pair(rng.standard_normal((2, 4, 6, 5)))
    tw, jw = _pair(rng.standard_normal((4, 4 // groups, 3, 2)))
    res = []
    for m, F_, x, w in ((torch, TF, tx, tw), (jtorch, F, jx, jw)):
        out = F_.conv2d(x, w, stride=(2, 1), padding=1, groups=groups)
        gx, gw = m.autograd.grad((out ** 2).sum(), (x, w), create_graph=True)
        res.append(m.autograd.grad((gx ** 2).sum() + (gw ** 3).sum(), (x, w)))
    assert_close(res[1], res[0], rtol=1e-9, atol=1e-9)


def test_conv_forward_mode(lowering, rng):
    x, w, dx, dw = (rng.standard_normal(s) for s in ((2, 3, 7, 6), (4, 3, 3, 3), (2, 3, 7, 6), (4, 3, 3, 3)))
    t = torch.func.jvp(lambda a, b: TF.conv2d(a, b, padding=1, stride=2), (torch.tensor(x), torch.tensor(w)),
                       (torch.tensor(dx), torch.tensor(dw)))
    j = jtorch.func.jvp(lambda a, b: F.conv2d(a, b, padding=1, stride=2), (jtorch.tensor(x), jtorch.tensor(w)),
                        (jtorch.tensor(dx), jtorch.tensor(dw)))
    assert_close(j, t, rtol=1e-10, atol=1e-10)


def _pool_input(rng, shape, dt, specials=True):
    x = rng.standard_normal(shape)
    x[x < 0] = 0  # relu-like: many tied maxima (torch sends the gradient to the first)
    x = x.astype(dt)
    if specials and np.issubdtype(dt, np.floating):
        flat = x.reshape(-1)
        flat[rng.choice(flat.size, 3, replace=False)] = np.nan  # a NaN is the maximum (torch: the last NaN)
        flat[rng.choice(flat.size, 3, replace=False)] = -np.inf  # next to -inf padding
    return x


POOLS = [
    # (name, input shape, kwargs, dtype, specials)
    ("max_pool2d", (2, 3, 8, 8), dict(kernel_size=2), np.float32, False),
    ("max_pool2d", (2, 3, 8, 8), dict(kernel_size=2), np.float32, True),
    ("max_pool2d", (2, 3, 9, 11), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), np.float64, True),
    ("max_pool2d", (3, 10, 7), dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1), padding=(1, 1)),
     np.float32, True),
    ("max_pool2d", (1, 2, 5, 5), dict(kernel_size=3, stride=1, padding=1), np.float32, False),
    ("max_pool1d", (2, 4, 13), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True), np.float64, True),
    ("max_pool3d", (1, 2, 5, 6, 4), dict(kernel_size=(2, 3, 2), stride=(2, 1, 2), padding=(1, 1, 0)),
     np.float32, True),
    # windows tiling the input (stride = kernel, no padding): the broadcast-select gradient
    ("max_pool2d", (2, 3, 9, 7), dict(kernel_size=2), np.float64, True),  # odd sizes: the rest is cropped
    ("max_pool2d", (2, 2, 6, 9), dict(kernel_size=(2, 3)), np.float32, True),
    ("max_pool1d", (2, 3, 12), dict(kernel_size=3), np.float32, True),
    ("max_pool3d", (1, 2, 4, 6, 4), dict(kernel_size=2), np.float64, True),
]


@pytest.mark.parametrize("case", range(len(POOLS)))
def test_max_pool_values_indices_grads(lowering, rng, case):
    name, shape, kw, dt, specials = POOLS[case]
    tx, jx = _pair(_pool_input(rng, shape, dt, specials))
    tv, ti = getattr(TF, name)(tx, return_indices=True, **kw)
    jv, ji = getattr(F, name)(jx, return_indices=True, **kw)
    assert_close(jv, tv, rtol=0, atol=0)
    assert_close(ji, ti)
    g = rng.standard_normal(tuple(tv.shape)).astype(dt)
    tv.backward(torch.from_numpy(g))
    jv.backward(jtorch.tensor(g))
    assert_close(jx.grad, tx.grad, rtol=0, atol=0)


def test_max_pool_integers(lowering, rng):
    x = rng.integers(-5, 5, (2, 3, 7, 6))
    tv, ti = TF.max_pool2d(torch.from_numpy(x), 3, 2, 1, return_indices=True)
    jv, ji = F.max_pool2d(jtorch.tensor(x), 3, 2, 1, return_indices=True)
    assert_close(jv, tv)
    assert_close(ji, ti)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool_ties(lowering, rng, kw):
    """Many equal maxima (small integers as floats): the gradient goes to the first, as in torch."""
    tx, jx = _pair(rng.integers(0, 3, (2, 3, 8, 6)).astype(np.float32))
    tv, jv = TF.max_pool2d(tx, **kw), F.max_pool2d(jx, **kw)
    g = rng.standard_normal(tuple(tv.shape)).astype(np.float32)
    tv.backward(torch.from_numpy(g))
    jv.backward(jtorch.tensor(g))
    assert_close(jv, tv, rtol=0, atol=0)
    assert_close(jx.grad, tx.grad, rtol=0, atol=0)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool_forward_mode(lowering, rng, kw):
    x, dx = (rng.standard_normal((2, 2, 6, 6)) for _ in range(2))
    t = torch.func.jvp(lambda a: TF.max_pool2d(a, **kw), (torch.tensor(x),), (torch.tensor(dx),))
    j = jtorch.func.jvp(lambda a: F.max_pool2d(a, **kw), (jtorch.tensor(x),), (jtorch.tensor(dx),))
    assert_close(j, t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool_double_backward_tiled_and_not(lowering, rng, kw):
    tx, jx = _pair(_pool_input(rng, (2, 2, 6, 6), np.float64, specials=False))
    res = []
    for m, F_, x in ((torch, TF, tx), (jtorch, F, jx)):
        (gx,) = m.autograd.grad((F_.max_pool2d(x, **kw) ** 3).sum(), x, create_graph=True)
        res.append(m.autograd.grad((gx * x).sum(), x))
    assert_close(res[1], res[0], rtol=1e-10, atol=1e-10)


def test_max_pool_double_backward(lowering, rng):
    tx, jx = _pair(_pool_input(rng, (2, 2, 6, 6), np.float64, specials=False))
    res = []
    for m, F_, x in ((torch, TF, tx), (jtorch, F, jx)):
        (gx,) = m.autograd.grad((F_.max_pool2d(x, 3, 2, 1) ** 2).sum(), x, create_graph=True)
        res.append(m.autograd.grad((gx ** 2).sum(), x))
    assert_close(res[1], res[0], rtol=1e-10, atol=1e-10)


BNS = [
    # (input shape, affine, dtype)
    ((8, 3, 5, 4), True, np.float32),
    ((6, 4, 7), True, np.float64),
    ((5, 3), False, np.float32),
    ((3, 2, 3, 2, 4), True, np.float64),
]


@pytest.mark.parametrize("case", range(len(BNS)))
def test_batch_norm_train(lowering, rng, case):
    shape, affine, dt = BNS[case]
    C = shape[1]
    tx, jx = _pair((rng.standard_normal(shape) * 3 + 2).astype(dt))
    tw, jw = _pair(rng.standard_normal(C).astype(dt)) if affine else (None, None)
    tb, jb = _pair(rng.standard_normal(C).astype(dt)) if affine else (None, None)
    rm, rv = rng.standard_normal(C).astype(dt), rng.random(C).astype(dt) + 0.5
    trm, jrm = _pair(rm, grad=False)
    trv, jrv = _pair(rv, grad=False)
    tout = TF.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.2, eps=1e-4)
    jout = F.batch_norm(jx, jrm, jrv, jw, jb, training=True, momentum=0.2, eps=1e-4)
    tol = _tol(dt)
    assert_close(jout, tout, **tol)
    assert_close(jrm, trm, **tol)
    assert_close(jrv, trv, **tol)
    g = rng.standard_normal(shape).astype(dt)
    tout.backward(torch.from_numpy(g))
    jout.backward(jtorch.tensor(g))
    for t, j in ((tx, jx), (tw, jw), (tb, jb)):
        if t is not None:
            assert_close(j.grad, t.grad, **tol)


def test_batch_norm_double_backward_and_forward_mode(lowering, rng):
    tx, jx = _pair(rng.standard_normal((6, 3, 4, 3)))
    tw, jw = _pair(rng.standard_normal(3))
    res = []
    for m, F_, x, w in ((torch, TF, tx, tw), (jtorch, F, jx, jw)):
        out = F_.batch_norm(x, None, None, w, None, training=True)
        gx, gw = m.autograd.grad((out ** 3).sum(), (x, w), create_graph=True)
        res.append(m.autograd.grad((gx ** 2).sum() + (gw ** 2).sum(), (x, w)))
    assert_close(res[1], res[0], rtol=1e-8, atol=1e-8)
    x, w, dx, dw = (rng.standard_normal(s) for s in ((6, 3, 4, 3), (3,), (6, 3, 4, 3), (3,)))
    t = torch.func.jvp(lambda a, b: TF.batch_norm(a, None, None, b, None, training=True),
                       (torch.tensor(x), torch.tensor(w)), (torch.tensor(dx), torch.tensor(dw)))
    j = jtorch.func.jvp(lambda a, b: F.batch_norm(a, None, None, b, None, training=True),
                        (jtorch.tensor(x), jtorch.tensor(w)), (jtorch.tensor(dx), jtorch.tensor(dw)))
    assert_close(j, t, rtol=1e-9, atol=1e-9)


def test_cnn_step_compiled_matches_torch(lowering):
    """The benchmark CNN's training step (conv-bn-relu-pool x2, linear; SGD momentum), compiled,
    against torch eager from the same weights: the losses and the weights after 3 steps."""
    def build(m):
        nn = m.nn
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(6 * 3 * 3, 5))
    tnet, jnet = build(torch), build(jtorch)
    jnet.load_state_dict({k: jtorch.tensor(v.detach().numpy()) for k, v in tnet.state_dict().items()})
    rng = np.random.default_rng(7)
    data = [(rng.standard_normal((8, 1, 12, 12)).astype(np.float32), rng.integers(0, 5, 8)) for _ in range(3)]
    losses = []
    for m, net, compile_ in ((torch, tnet, False), (jtorch, jnet, True)):
        opt = m.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

        def step(x, y, m=m, net=net, opt=opt):
            opt.zero_grad()
            loss = m.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss
        if compile_:
            step = m.compile(step)
        losses.append([float(step(m.tensor(x), m.tensor(y))) for x, y in data])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)
    for (k, t), j in zip(tnet.state_dict().items(), jnet.state_dict().values()):
        assert_close(j, t, rtol=1e-3, atol=1e-4)

"""nn.functional (part 1) against torch: values and gradients for the functional forms,
their options, and errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtorch
import jtorch.nn.functional as F
from tests.helpers import assert_close


def run(fname, arrays, *args, grad=True, rng=None, rtol=1e-5, atol=1e-5, tfn=None, jfn=None, **kwargs):
    """Call TF.fname and F.fname on the same arrays (+ extra args), compare output and input grads."""
    ts, js = [], []
    for a in arrays:
        t, j = torch.from_numpy(a.copy()), jtorch.tensor(a.copy())
        if grad and a.dtype.kind == "f":
            t.requires_grad_(True)
            j.requires_grad_(True)
        ts.append(t)
        js.append(j)
    tout = (tfn or getattr(TF, fname))(*ts, *args, **kwargs)
    jout = (jfn or getattr(F, fname))(*js, *args, **kwargs)
    assert_close(jout, tout, rtol=rtol, atol=atol)
    if grad:
        to = tout[0] if isinstance(tout, tuple) else tout
        jo = jout[0] if isinstance(jout, tuple) else jout
        g = (rng or np.random.default_rng(0)).standard_normal(tuple(to.shape)).astype(
            np.float32 if to.dtype == torch.float32 else np.float64)
        (to * torch.from_numpy(g)).sum().backward()
        (jo * jtorch.tensor(g)).sum().backward()
        for t, j in zip(ts, js):
            if t.requires_grad:
                assert_close(j.grad, t.grad, rtol=rtol, atol=atol)
    return tout, jout


def _x(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def test_softmax_family_dims_and_dtypes(rng):
    x = _x(rng, 2, 3, 4, scale=3)
    for dim in (0, 1, -1):
        run("softmax", [x], dim, rng=rng)
        run("log_softmax", [x], dim=dim, rng=rng)
        run("softmin", [x], dim, rng=rng)
    t, j = run("log_softmax", [x], -1, grad=False, tfn=lambda a, d: TF.log_softmax(a, d, dtype=torch.float64),
               jfn=lambda a, d: F.log_softmax(a, d, dtype=jtorch.float64))
    assert j.dtype == jtorch.float64
    # implicit dim warns like torch and picks the same dim
    with pytest.warns(UserWarning):
        jo = F.softmax(jtorch.tensor(x))
    with pytest.warns(UserWarning):
        to = TF.softmax(torch.from_numpy(x))
    assert_close(jo, to)
    # tensor method and top-level forms
    jx, tx = jtorch.tensor(x), torch.from_numpy(x)
    assert_close(jx.softmax(-1), tx.softmax(-1))
    assert_close(jtorch.log_softmax(jx, 1), torch.log_softmax(tx, 1))
    with pytest.raises(IndexError):
        F.softmax(jx, 3)
    with pytest.raises(RuntimeError):
        F.softmax(jtorch.ones(3, dtype=jtorch.int64), 0)


def test_activation_functions_with_options(rng):
    x = _x(rng, 3, 4, scale=3)
    x.flat[:4] = [0.0, 1.0, -1.0, 2.0]
    run("leaky_relu", [x], 0.3, rng=rng)
    run("elu", [x], alpha=0.5, rng=rng)
    run("celu", [x], alpha=2.0, rng=rng)
    run("hardtanh", [x], -1.0, 1.0, rng=rng)
    run("hardtanh", [x], min_val=-2.0, max_val=2.0, rng=rng)
    run("relu6", [x * 3], rng=rng)
    run("softplus", [x], beta=0.5, threshold=2.0, rng=rng)
    run("threshold", [x], 1.0, 20.0, rng=rng)
    run("glu", [_x(rng, 4, 6)], -1, rng=rng)
    run("glu", [_x(rng, 4, 6)], 0, rng=rng)
    run("gelu", [x], approximate="tanh", rng=rng)
    run("prelu", [_x(rng, 2, 3, 4), np.array([0.1, 0.2, 0.3], np.float32)], rng=rng)
    run("selu", [x], rng=rng)
    run("silu", [x], rng=rng)
    run("mish", [x], rng=rng)
    run("logsigmoid", [x], rng=rng)
    run("hardshrink", [x], 1.0, rng=rng)
    run("softshrink", [x], 1.0, rng=rng)
    run("tanhshrink", [x], rng=rng)
    run("softsign", [x], rng=rng)
    run("sigmoid", [x], rng=rng)
    run("tanh", [x], rng=rng)
    tx, jx = torch.from_numpy(x), jtorch.tensor(x)
    assert_close(jtorch.relu(jx), torch.relu(tx))
    assert_close(jx.relu(), tx.relu())
    assert_close(jtorch.selu(jx), torch.selu(tx))
    assert_close(jtorch.celu(jx), torch.celu(tx))
    assert_close(jtorch.hardshrink(jx, 0.5), torch.hardshrink(tx, 0.5))
    jy = jx.clone()
    assert jy.relu_() is jy
    assert_close(jy, tx.relu())
    F.relu_(jy.neg_())
    assert float(jy.sum()) == 0.0
    with pytest.raises(RuntimeError):
        F.glu(jtorch.ones(3, 5))
    with pytest.raises(RuntimeError):
        F.gelu(jx, approximate="fast")
    with pytest.raises(RuntimeError):
        F.prelu(jtorch.ones(2, 3), jtorch.ones(4))


def test_linear_bilinear(rng):
    run("linear", [_x(rng, 4, 3), _x(rng, 2, 3), _x(rng, 2)], rng=rng)
    run("linear", [_x(rng, 3), _x(rng, 2, 3)], rng=rng)
    run("linear", [_x(rng, 2, 5, 3), _x(rng, 2, 3)], rng=rng)
    run("bilinear", [_x(rng, 4, 2), _x(rng, 4, 3), _x(rng, 5, 2, 3), _x(rng, 5)], rng=rng)
    run("bilinear", [_x(rng, 2, 4, 2), _x(rng, 2, 4, 3), _x(rng, 5, 2, 3)], rng=rng)


def test_conv_functions(rng):
    run("conv1d", [_x(rng, 2, 4, 7), _x(rng, 6, 2, 3), _x(rng, 6)], stride=2, padding=2, dilation=1, groups=2,
        rng=rng, atol=1e-4)
    run("conv2d", [_x(rng, 1, 3, 6, 6), _x(rng, 2, 3, 3, 3)], padding="same", dilation=2, rng=rng, atol=1e-4)
    run("conv2d", [_x(rng, 3, 6, 6), _x(rng, 2, 3, 2, 2)], stride=(2, 1), rng=rng, atol=1e-4)
    run("conv_transpose2d", [_x(rng, 1, 4, 3, 3), _x(rng, 4, 1, 3, 3), _x(rng, 2)], stride=2, padding=1,
        output_padding=1, groups=2, rng=rng, atol=1e-4)
    run("conv_transpose1d", [_x(rng, 4, 5), _x(rng, 4, 3, 2)], stride=3, dilation=2, rng=rng, atol=1e-4)
    run("conv3d", [_x(rng, 1, 2, 3, 4, 4), _x(rng, 3, 2, 2, 2, 2)], padding=(0, 1, 1), rng=rng, atol=1e-4)
    run("conv_transpose3d", [_x(rng, 1, 2, 2, 2, 2), _x(rng, 2, 3, 2, 2, 2)], stride=2, rng=rng, atol=1e-4)
    for fn, args in [("conv2d", [(1, 3, 5, 5), (2, 2, 3, 3)]), ("conv2d", [(3, 5), (2, 3, 3, 3)]),
                     ("conv1d", [(1, 4, 5), (2, 2, 3)]), ("conv2d", [(1, 3, 2, 2), (2, 3, 3, 3)])]:
        arrays = [_x(rng, *s) for s in args]
        with pytest.raises(RuntimeError):
            getattr(TF, fn)(*[torch.from_numpy(a) for a in arrays], groups=1)
        with pytest.raises(RuntimeError):
            getattr(F, fn)(*[jtorch.tensor(a) for a in arrays], groups=1)
    with pytest.raises(RuntimeError):
        F.conv2d(jtorch.ones(1, 2, 4, 4, dtype=jtorch.float64), jtorch.ones(1, 2, 3, 3))


def test_pooling_functions(rng):
    x = _x(rng, 2, 3, 7, 6)
    t, j = run("max_pool2d", [x], 3, 2, 1, ceil_mode=True, return_indices=True, rng=rng)
    run("max_pool2d", [x], (2, 3), stride=(1, 2), dilation=(2, 1), rng=rng)
    run("max_pool1d", [_x(rng, 2, 7)], 2, rng=rng)  # unbatched
    run("avg_pool2d", [x], 3, 2, 1, True, False, rng=rng)
    run("avg_pool2d", [x], 2, divisor_override=5, rng=rng)
    run("avg_pool1d", [_x(rng, 2, 3, 7)], 3, stride=2, padding=1, ceil_mode=True, rng=rng)
    run("avg_pool3d", [_x(rng, 1, 2, 4, 4, 5)], (2, 2, 3), stride=1, padding=(1, 0, 1), count_include_pad=False,
        rng=rng)
    run("adaptive_avg_pool2d", [x], (4, 5), rng=rng)
    run("adaptive_max_pool2d", [x], 3, return_indices=True, rng=rng)
    run("adaptive_max_pool1d", [_x(rng, 2, 3, 9)], 4, rng=rng)
    run("lp_pool2d", [np.abs(x) + 0.1], 2.0, 2, rng=rng)
    run("lp_pool1d", [np.abs(_x(rng, 2, 3, 8)) + 0.1], 1.5, 3, 2, rng=rng)
    run("max_unpool2d", [t[0].detach().numpy()], j[1], 3, 2, 1, output_size=(7, 6), grad=False,
        tfn=lambda a, i, *r, **k: TF.max_unpool2d(a, t[1], *r, **k))
    with pytest.raises(RuntimeError):
        F.max_pool2d(jtorch.ones(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError):
        F.avg_pool2d(jtorch.ones(2, 2), 2)


def test_normalization_functions(rng):
    x = _x(rng, 4, 3, 5)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    trm, trv, jrm, jrv = torch.tensor(rm), torch.tensor(rv), jtorch.tensor(rm), jtorch.tensor(rv)
    run("batch_norm", [x], trm, trv, training=True, momentum=0.2, eps=1e-3, rng=rng,
        jfn=lambda a, *r, **k: F.batch_norm(a, jrm, jrv, training=True, momentum=0.2, eps=1e-3))
    assert_close(jrm, trm)
    assert_close(jrv, trv)
    run("batch_norm", [x, _x(rng, 3), _x(rng, 3)], rng=rng,
        tfn=lambda a, w, b: TF.batch_norm(a, trm, trv, w, b), jfn=lambda a, w, b: F.batch_norm(a, jrm, jrv, w, b))
    run("layer_norm", [x, _x(rng, 3, 5), _x(rng, 3, 5)], rng=rng,
        tfn=lambda a, w, b: TF.layer_norm(a, (3, 5), w, b), jfn=lambda a, w, b: F.layer_norm(a, (3, 5), w, b))
    run("group_norm", [x, _x(rng, 3)], rng=rng, tfn=lambda a, w: TF.group_norm(a, 3, w),
        jfn=lambda a, w: F.group_norm(a, 3, w))
    run("instance_norm", [x], rng=rng)
    run("local_response_norm", [_x(rng, 2, 6, 3)], 4, alpha=0.1, beta=0.5, k=2.0, rng=rng)
    run("rms_norm", [x, _x(rng, 5)], rng=rng, tfn=lambda a, w: TF.rms_norm(a, (5,), w, eps=1e-3),
        jfn=lambda a, w: F.rms_norm(a, (5,), w, eps=1e-3))
    with pytest.raises(ValueError):
        F.batch_norm(jtorch.ones(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError):
        F.layer_norm(jtorch.ones(2, 3), (4,))
    with pytest.raises(RuntimeError):
        F.group_norm(jtorch.ones(2, 3, 4), 2)


def test_pad_modes(rng):
    x = _x(rng, 1, 2, 4, 5)
    x3 = _x(rng, 2, 3, 5)
    for a, pad, mode in [(x, (1, 2), "constant"), (x, (1, 2, 3, 0), "constant"), (x, (-1, 2, 0, -2), "constant"),
                         (x3, (2, 1), "reflect"), (x, (1, 3, 2, 2), "reflect"), (x, (2, 2, 1, 0), "replicate"),
                         (x3, (0, 3), "replicate"), (x, (2, 1, 3, 2), "circular"),
                         (x, (1, 1, 1, 1, 0, 1), "constant")]:
        run("pad", [a], pad, mode=mode, rng=rng)
    run("pad", [x], (1, 1), value=2.5, rng=rng)
    run("pad", [_x(rng, 2, 3, 4)], (1, 2), mode="circular", rng=rng)
    run("pad", [_x(rng, 2, 3, 2, 2, 2)], (1, 0, 1, 1, 0, 1), mode="replicate", rng=rng)
    run("pad", [_x(rng, 2, 3, 2, 2, 2)], (1, 0, 1, 1, 0, 1), mode="reflect", rng=rng)
    for bad in [((5, 5), "reflect"), ((1,), "constant"), ((1, 1, 1, 1, 1, 1, 1, 1, 1, 1), "constant")]:
        with pytest.raises(RuntimeError):
            TF.pad(torch.from_numpy(x), bad[0], mode=bad[1])
        with pytest.raises(RuntimeError):
            F.pad(jtorch.tensor(x), bad[0], mode=bad[1])
    with pytest.raises(NotImplementedError):
        F.pad(jtorch.ones(3, 4), (1, 1, 1, 1), mode="circular")
    assert F.pad(jtorch.ones(2, dtype=jtorch.int64), (1, 1), value=3).tolist() == [3, 1, 1, 3]


def test_fold_unfold_shuffles_distances(rng):
    x = _x(rng, 2, 3, 5, 6)
    run("unfold", [x], (2, 3), dilation=(1, 2), padding=1, stride=(2, 1), rng=rng)
    run("fold", [_x(rng, 2, 12, 9)], (4, 5), 2, padding=1, stride=(2, 2), rng=rng)
    run("fold", [_x(rng, 12, 8)], (4, 5), 2, dilation=(2, 1), stride=1, rng=rng)
    run("pixel_shuffle", [_x(rng, 2, 8, 2, 3)], 2, rng=rng)
    run("pixel_unshuffle", [_x(rng, 2, 2, 4, 6)], 2, rng=rng)
    run("channel_shuffle", [_x(rng, 2, 6, 2, 2)], 3, grad=False)
    run("cosine_similarity", [_x(rng, 3, 4), _x(rng, 1, 4)], dim=-1, rng=rng)
    run("cosine_similarity", [_x(rng, 3, 4, 2), _x(rng, 3, 4, 2)], rng=rng)
    run("pairwise_distance", [_x(rng, 3, 4), _x(rng, 3, 4)], p=1.0, rng=rng)
    run("pairwise_distance", [_x(rng, 3, 4), _x(rng, 3, 4)], p=float("inf"), rng=rng)
    run("pdist", [_x(rng, 5, 3)], rng=rng)
    run("pdist", [_x(rng, 4, 3)], p=3, rng=rng, atol=1e-4)
    with pytest.raises(RuntimeError):
        F.pdist(jtorch.ones(3))


def test_dropout_functions():
    x = jtorch.ones(100, 100)
    assert F.dropout(x, 0.5, training=False).tolist() == x.tolist()
    y = F.dropout(x, 0.25)
    assert abs(float((y == 0).float().mean()) - 0.25) < 0.03
    assert F.dropout(x, 0.0).tolist() == x.tolist() and float(F.dropout(x, 1.0).sum()) == 0.0
    with pytest.raises(ValueError):
        F.dropout(x, -0.1)
    for fn in (F.dropout1d, F.dropout3d):
        with pytest.raises(RuntimeError):
            fn(jtorch.ones(2))
    # the same seed gives the same mask
    jtorch.manual_seed(3)
    a = F.dropout(x, 0.5)
    jtorch.manual_seed(3)
    b = F.dropout(x, 0.5)
    assert a.tolist() == b.tolist()


def test_top_level_forms(rng):
    x, w = _x(rng, 1, 2, 6, 6), _x(rng, 4, 2, 3, 3)
    tx, jx, tw, jw = torch.from_numpy(x), jtorch.tensor(x), torch.from_numpy(w), jtorch.tensor(w)
    assert_close(jtorch.conv2d(jx, jw, None, 2, 1), torch.conv2d(tx, tw, None, 2, 1), atol=1e-5)
    assert_close(jtorch.max_pool2d(jx, 2), torch.max_pool2d(tx, 2))
    assert_close(jtorch.avg_pool1d(jx[0], 3), torch.avg_pool1d(tx[0], 3))
    assert_close(jtorch.layer_norm(jx, (6,)), torch.layer_norm(tx, (6,)), atol=1e-5)
    assert_close(jtorch.pixel_shuffle(jtorch.tensor(w), 1), torch.pixel_shuffle(tw, 1))


def test_gumbel_softmax():
    jtorch.manual_seed(0)
    logits = jtorch.tensor(np.log(np.array([[0.7, 0.2, 0.1]] * 3000, np.float32)), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    assert np.allclose(np.asarray(soft.detach()).sum(-1), 1, atol=1e-5)
    hard = F.gumbel_softmax(logits, hard=True)
    h = np.asarray(hard.detach())
    assert np.all(h.sum(-1) == 1) and set(np.unique(h)) <= {0.0, 1.0}
    # samples follow the softmax of the logits
    assert np.allclose(h.mean(0), [0.7, 0.2, 0.1], atol=0.03)
    hard.sum().backward()
    assert tuple(logits.grad.shape) == (3000, 3)


def test_dropout_eval_returns_input_like_torch():
    for lib, F_ in ((torch, TF), (jtorch, F)):
        x = lib.ones(3, 4)
        assert F_.dropout(x, 0.5, training=False) is x
        assert lib.nn.Dropout(0.3).eval()(x) is x


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradients_all_orders(rng, affine):
    """layer_norm's closed-form JVP (nn_ops._layer_norm_core): first and second order gradients and
    forward mode match torch, with and without weight and bias, over two normalized dims."""
    x = rng.standard_normal((3, 4, 5)).astype(np.float64)
    w, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    gy = rng.standard_normal((3, 4, 5))
    outs = []
    for m in (torch, jtorch):
        tx = m.tensor(x, requires_grad=True)
        tw, tb = (m.tensor(w, requires_grad=True), m.tensor(b, requires_grad=True)) if affine else (None, None)
        y = m.nn.functional.layer_norm(tx, (4, 5), tw, tb, 1e-3)
        ins = [tx] + ([tw, tb] if affine else [])
        g1 = m.autograd.grad(y, ins, m.tensor(gy), create_graph=True)
        s = sum((g * g).sum() for g in g1)  # second order through every first-order gradient
        g2 = m.autograd.grad(s, ins, allow_unused=True)  # the bias gradient is a constant
        g2 = tuple(m.zeros_like(i) if g is None else g for g, i in zip(g2, ins))
        outs.append((y, g1, g2))
    (ty, tg1, tg2), (jy, jg1, jg2) = outs
    assert_close(jy, ty, rtol=1e-10, atol=1e-10)
    for a, c in zip(jg1 + jg2, tg1 + tg2):
        assert_close(a.detach(), c.detach(), rtol=1e-8, atol=1e-8)
    dx = rng.standard_normal((3, 4, 5))
    tw_, tb_ = (torch.tensor(w), torch.tensor(b)) if affine else (None, None)
    jw_, jb_ = (jtorch.tensor(w), jtorch.tensor(b)) if affine else (None, None)
    _, tt = torch.func.jvp(lambda a: TF.layer_norm(a, (4, 5), tw_, tb_), (torch.tensor(x),), (torch.tensor(dx),))
    _, jt = jtorch.func.jvp(lambda a: F.layer_norm(a, (4, 5), jw_, jb_), (jtorch.tensor(x),), (jtorch.tensor(dx),))
    assert_close(jt, tt, rtol=1e-8, atol=1e-8)
    h = jtorch.tensor(rng.standard_normal((2, 6)).astype(np.float16), requires_grad=True)  # half: float32 inside
    F.layer_norm(h, (6,)).float().sum().backward()
    assert h.grad.dtype == jtorch.float16 and h.grad.shape == (2, 6)

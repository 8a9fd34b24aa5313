"""nn additions against real torch: init.dirac/eye aliases, nn.utils fusion/skip_init/memory-format
converters, AdaptiveLogSoftmaxWithLoss, LazyInstanceNorm*, CrossMapLRN2d, Container, factory_kwargs."""
import warnings

import numpy as np
import pytest
import torch

import jtorch
from helpers import assert_close, both


def _copy(tm, jm):
    jm.load_state_dict({k: v.detach().clone() for k, v in tm.state_dict().items()})
    return jm


def _randomize_bn(bn, rng):
    with torch.no_grad():
        n = bn.num_features
        bn.weight.copy_(torch.from_numpy(rng.uniform(0.5, 2, n).astype(np.float32)))
        bn.bias.copy_(torch.from_numpy(rng.standard_normal(n).astype(np.float32)))
        bn.running_mean.copy_(torch.from_numpy(rng.standard_normal(n).astype(np.float32)))
        bn.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2, n).astype(np.float32)))


def test_init_deprecated_aliases():
    for name in ("dirac", "eye"):
        shape = (4, 2, 3, 3) if name == "dirac" else (3, 5)
        for m in (torch, jtorch):
            w = m.empty(shape)
            with pytest.warns(FutureWarning):
                getattr(m.nn.init, name)(w)
            ref = getattr(m.nn.init, name + "_")(m.empty(shape))
            assert np.array_equal(w.detach().numpy(), ref.detach().numpy())
        assert np.array_equal(jtorch.nn.init.dirac_(jtorch.empty(4, 2, 3, 3), 2).numpy(),
                              torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), 2).numpy())


@pytest.mark.parametrize("kind", ["conv2d", "conv1d", "convT2d", "linear", "linear_nobias"])
def test_fuse_bn_eval(rng, kind):
    if kind == "conv2d":
        make = lambda m: (m.nn.Conv2d(3, 5, 3), m.nn.BatchNorm2d(5))  # noqa: E731
        x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    elif kind == "conv1d":
        make = lambda m: (m.nn.Conv1d(3, 4, 2, bias=False), m.nn.BatchNorm1d(4))  # noqa: E731
        x = rng.standard_normal((2, 3, 7)).astype(np.float32)
    elif kind == "convT2d":
        make = lambda m: (m.nn.ConvTranspose2d(3, 4, 3), m.nn.BatchNorm2d(4))  # noqa: E731
        x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    else:
        make = lambda m: (m.nn.Linear(6, 4, bias=kind == "linear"), m.nn.BatchNorm1d(4))  # noqa: E731
        x = rng.standard_normal((5, 6)).astype(np.float32)
    tl, tb = make(torch)
    _randomize_bn(tb, rng)
    jl, jb = make(jtorch)
    _copy(tl, jl), _copy(tb, jb)
    tl.eval(), tb.eval(), jl.eval(), jb.eval()
    if kind.startswith("linear"):
        tf, jf = torch.nn.utils.fuse_linear_bn_eval(tl, tb), jtorch.nn.utils.fuse_linear_bn_eval(jl, jb)
    else:
        tr = kind == "convT2d"
        tf, jf = torch.nn.utils.fuse_conv_bn_eval(tl, tb, tr), jtorch.nn.utils.fuse_conv_bn_eval(jl, jb, tr)
    assert jf is not jl and isinstance(jf, type(jl))
    assert_close(jf.weight, tf.weight, rtol=1e-5, atol=1e-6)
    assert_close(jf.bias, tf.bias, rtol=1e-5, atol=1e-6)
    assert isinstance(jf.weight, jtorch.nn.Parameter) and jf.weight.requires_grad
    xt, xj = both(x)
    assert_close(jf(xj), tb(tl(xt)), rtol=1e-4, atol=1e-4)
    # the originals are untouched
    assert_close(jl.weight, tl.weight)


def test_fuse_weights_functions(rng):
    w = both(rng.standard_normal((4, 3, 2, 2)).astype(np.float32))
    stats = [both(a) for a in (rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32),
                               rng.uniform(0.5, 2, 4).astype(np.float32), rng.standard_normal(4).astype(np.float32))]
    rm, rv, g, b = stats
    for bias, gamma, beta in ((None, None, None), (both(rng.standard_normal(4).astype(np.float32)), g, b)):
        pick = lambda v, i: None if v is None else v[i]  # noqa: E731
        rt = torch.nn.utils.fuse_conv_bn_weights(w[0], pick(bias, 0), rm[0], rv[0], 1e-3, pick(gamma, 0),
                                                 pick(beta, 0))
        rj = jtorch.nn.utils.fuse_conv_bn_weights(w[1], pick(bias, 1), rm[1], rv[1], 1e-3, pick(gamma, 1),
                                                  pick(beta, 1))
        assert_close(list(rj), list(rt), rtol=1e-5, atol=1e-6)
        lw = both(rng.standard_normal((4, 5)).astype(np.float32))
        rt = torch.nn.utils.fuse_linear_bn_weights(lw[0], pick(bias, 0), rm[0], rv[0], 1e-3, g[0], b[0])
        rj = jtorch.nn.utils.fuse_linear_bn_weights(lw[1], pick(bias, 1), rm[1], rv[1], 1e-3, g[1], b[1])
        assert_close(list(rj), list(rt), rtol=1e-5, atol=1e-6)


def test_fuse_errors():
    for m in (torch, jtorch):
        lin, bn = m.nn.Linear(3, 4), m.nn.BatchNorm1d(4)
        with pytest.raises(AssertionError):
            m.nn.utils.fuse_linear_bn_eval(lin, bn)  # training mode
        lin.eval()
        bn3 = m.nn.BatchNorm1d(3).eval()
        with pytest.raises(AssertionError):
            m.nn.utils.fuse_linear_bn_eval(lin, bn3)
        with pytest.raises(AssertionError):
            m.nn.utils.fuse_conv_bn_eval(m.nn.Conv2d(2, 4, 1), bn.eval())


def test_skip_init_and_memory_format():
    for m in (torch, jtorch):
        lin = m.nn.utils.skip_init(m.nn.Linear, 4, 3, bias=False)
        assert isinstance(lin, m.nn.Linear) and tuple(lin.weight.shape) == (3, 4) and lin.bias is None

        class NoDevice(m.nn.Module):
            def __init__(self, n):
                super().__init__()

        with pytest.raises(RuntimeError):
            m.nn.utils.skip_init(NoDevice, 3)
        conv = m.nn.Sequential(m.nn.Conv2d(2, 3, 3), m.nn.ReLU())
        w = conv[0].weight.detach().clone()
        out = m.nn.utils.convert_conv2d_weight_memory_format(conv, m.channels_last)
        assert out is conv and np.array_equal(conv[0].weight.detach().numpy(), w.numpy())
        conv3 = m.nn.Conv3d(2, 3, 1)
        assert m.nn.utils.convert_conv3d_weight_memory_format(conv3, m.channels_last_3d) is conv3


def _asm_pair(rng, head_bias):
    torch.manual_seed(int(rng.integers(1 << 30)))
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 30, [6, 12, 20], div_value=2.0, head_bias=head_bias)
    jm = _copy(tm, jtorch.nn.AdaptiveLogSoftmaxWithLoss(16, 30, [6, 12, 20], div_value=2.0, head_bias=head_bias))
    return tm, jm


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax(rng, head_bias):
    tm, jm = _asm_pair(rng, head_bias)
    x = both(rng.standard_normal((25, 16)).astype(np.float32), requires_grad=True)
    tgt = both(np.concatenate([rng.integers(0, 30, 21), [0, 5, 29, 12]]))
    rt, rj = tm(x[0], tgt[0]), jm(x[1], tgt[1])
    assert type(rj).__name__ == "_ASMoutput" and rj._fields == ("output", "loss")
    assert_close(rj.output, rt.output, rtol=1e-5, atol=1e-5)
    assert_close(rj.loss, rt.loss, rtol=1e-5, atol=1e-5)
    rt.loss.backward()
    rj.loss.backward()
    assert_close(x[1].grad, x[0].grad, rtol=1e-4, atol=1e-6)
    for (n, tp), jp in zip(tm.named_parameters(), jm.parameters()):
        assert_close(jp.grad, tp.grad, rtol=1e-4, atol=1e-6)
    assert_close(jm.log_prob(x[1]), tm.log_prob(x[0]), rtol=1e-5, atol=1e-5)
    assert_close(jm.predict(x[1]), tm.predict(x[0]))
    # unbatched
    r0t, r0j = tm(x[0][3], tgt[0][3]), jm(x[1][3], tgt[1][3])
    assert_close(r0j.output, r0t.output, rtol=1e-5, atol=1e-5)
    assert_close(jm.log_prob(x[1][3]), tm.log_prob(x[0][3:4])[0], rtol=1e-5, atol=1e-5)


def test_adaptive_log_softmax_errors(rng):
    tm, jm = _asm_pair(rng, False)
    for m, mod in ((torch, tm), (jtorch, jm)):
        x = m.randn(4, 16)
        for bad in (m.tensor([0, 1, 30, 2]), m.tensor([0, 1, -1, 2])):
            with pytest.raises(RuntimeError):
                mod(x, bad)
        with pytest.raises(RuntimeError):
            mod(x, m.tensor([0, 1, 2]))
        with pytest.raises(RuntimeError):
            mod(x, m.zeros(4, 2, dtype=m.long))
        for cut in ([12, 6], [0, 5], [5, 30], [5, 5]):
            with pytest.raises(ValueError):
                m.nn.AdaptiveLogSoftmaxWithLoss(16, 30, cut)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_lazy_instance_norm(rng, n):
    tm = getattr(torch.nn, f"LazyInstanceNorm{n}d")()
    jm = getattr(jtorch.nn, f"LazyInstanceNorm{n}d")()
    assert jm.affine and jm.track_running_stats
    x = both(rng.standard_normal((2, 3) + (5,) * n).astype(np.float32) * 2 + 1, requires_grad=True)
    rt, rj = tm(x[0]), jm(x[1])
    assert type(jm) is getattr(jtorch.nn, f"InstanceNorm{n}d") and tuple(jm.weight.shape) == (3,)
    assert_close(rj, rt, rtol=1e-4, atol=1e-5)
    assert_close(jm.running_mean, tm.running_mean, rtol=1e-5, atol=1e-6)
    assert_close(jm.running_var, tm.running_var, rtol=1e-5, atol=1e-6)
    rt.square().sum().backward()
    rj.square().sum().backward()
    assert_close(x[1].grad, x[0].grad, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8])
def test_cross_map_lrn2d(rng, size):
    x = both(rng.standard_normal((2, 7, 3, 4)).astype(np.float64), requires_grad=True)
    tm, jm = torch.nn.CrossMapLRN2d(size, 1e-1, 0.6, 2.0), jtorch.nn.CrossMapLRN2d(size, 1e-1, 0.6, 2.0)
    assert repr(jm) == repr(tm)
    rt, rj = tm(x[0]), jm(x[1])
    assert_close(rj, rt, rtol=1e-10, atol=1e-12)
    # torch's hand-written legacy backward is not the derivative of its own forward (and raises for size 1):
    # jtorch's gives the same gradient
    w = rng.standard_normal(rt.shape)
    if size == 1:
        for lib, r in ((torch, rt), (jtorch, rj)):
            with pytest.raises(RuntimeError):
                (r * lib.tensor(w)).sum().backward()
    else:
        (rt * torch.tensor(w)).sum().backward()
        (rj * jtorch.tensor(w)).sum().backward()
        assert_close(x[1].grad, x[0].grad, rtol=1e-10, atol=1e-12)
    for m, mod in ((torch, tm), (jtorch, jm)):
        with pytest.raises(ValueError):
            mod(m.randn(2, 3, 4))


def test_container_and_factory_kwargs():
    for m in (torch, jtorch):
        with pytest.warns(FutureWarning):
            c = m.nn.Container(a=m.nn.Linear(2, 3), b=m.nn.ReLU())
        assert [n for n, _ in c.named_children()] == ["a", "b"]
        assert len(list(c.parameters())) == 2
        fk = m.nn.factory_kwargs({"device": "cpu", "factory_kwargs": {"dtype": m.float64}})
        assert fk == {"device": "cpu", "dtype": m.float64}
        assert m.nn.factory_kwargs(None) == {}
        with pytest.raises(TypeError):
            m.nn.factory_kwargs({"foo": 1})
        with pytest.raises(TypeError):
            m.nn.factory_kwargs({"dtype": m.float32, "factory_kwargs": {"dtype": m.float64}})


@pytest.mark.parametrize("out_features,bias,reduction", [((), False, "mean"), ((3,), True, "none"),
                                                         ((2, 2), True, "sum")])
def test_linear_cross_entropy_loss_module(rng, out_features, bias, reduction):
    cw = rng.uniform(0.5, 2, 7).astype(np.float32)
    tm = torch.nn.LinearCrossEntropyLoss(5, 7, out_features=out_features, bias=bias, reduction=reduction,
                                         weight=torch.from_numpy(cw), label_smoothing=0.1)
    jm = _copy(tm, jtorch.nn.LinearCrossEntropyLoss(5, 7, out_features=out_features, bias=bias, reduction=reduction,
                                                    weight=jtorch.tensor(cw), label_smoothing=0.1))
    assert list(jm.state_dict()) == list(tm.state_dict()) and repr(jm) == repr(tm)
    x = both(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    tgt = both(rng.integers(0, 7, (4, *out_features)))
    rt, rj = tm(x[0], tgt[0]), jm(x[1], tgt[1])
    assert_close(rj, rt, rtol=1e-5, atol=1e-5)
    rt.sum().backward()
    rj.sum().backward()
    assert_close(x[1].grad, x[0].grad, rtol=1e-4, atol=1e-5)
    assert_close(jm.linear.weight.grad, tm.linear.weight.grad, rtol=1e-4, atol=1e-5)

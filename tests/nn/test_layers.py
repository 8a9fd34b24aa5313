"""Every core layer against torch: same weights (state_dict -> numpy -> load_state_dict),
same seeded input, compare output, input gradient, every parameter gradient and buffers,
in train and eval mode; state_dict keys and repr identical to torch's."""
import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close
from tests.nn.layer_check import compare, copy_weights

F32 = np.float32


def _x(rng, *shape):
    return rng.standard_normal(shape).astype(F32)


# (id, factory(nn) -> module, input shapes)
CASES = [
    ("linear", lambda nn: nn.Linear(5, 3), [(4, 5)]),
    ("linear_nobias_3d", lambda nn: nn.Linear(5, 3, bias=False), [(2, 4, 5)]),
    ("bilinear", lambda nn: nn.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    ("identity", lambda nn: nn.Identity(3, k=1), [(2, 3)]),
    ("conv1d", lambda nn: nn.Conv1d(2, 4, 3, stride=2, padding=1), [(2, 2, 9)]),
    ("conv2d", lambda nn: nn.Conv2d(2, 4, 3), [(2, 2, 7, 6)]),
    ("conv2d_groups_dil", lambda nn: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=2, dilation=2, groups=2),
     [(1, 4, 9, 8)]),
    ("conv2d_same", lambda nn: nn.Conv2d(2, 3, 4, padding="same", bias=False), [(1, 2, 6, 5)]),
    ("conv2d_valid_unbatched", lambda nn: nn.Conv2d(2, 3, 3, padding="valid"), [(2, 6, 5)]),
    ("conv2d_reflect", lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), [(1, 2, 5, 5)]),
    ("conv2d_circular", lambda nn: nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="circular"), [(1, 2, 5, 5)]),
    ("conv2d_replicate", lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="replicate"), [(1, 2, 5, 5)]),
    ("conv3d", lambda nn: nn.Conv3d(2, 3, 2, stride=(1, 2, 1)), [(1, 2, 4, 5, 3)]),
    ("convT1d", lambda nn: nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1, output_padding=1), [(2, 3, 5)]),
    ("convT2d", lambda nn: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2, dilation=1), [(1, 4, 4, 3)]),
    ("convT2d_dil", lambda nn: nn.ConvTranspose2d(2, 3, (2, 3), stride=(1, 2), dilation=2, bias=False),
     [(1, 2, 3, 4)]),
    ("convT3d", lambda nn: nn.ConvTranspose3d(2, 2, 2, stride=2), [(1, 2, 2, 3, 2)]),
    ("maxpool1d", lambda nn: nn.MaxPool1d(3, stride=2, padding=1), [(2, 3, 9)]),
    ("maxpool2d", lambda nn: nn.MaxPool2d(2), [(2, 3, 6, 6)]),
    ("maxpool2d_ceil_dil", lambda nn: nn.MaxPool2d(3, stride=2, padding=1, dilation=1, ceil_mode=True),
     [(1, 2, 8, 7)]),
    ("maxpool2d_dilation", lambda nn: nn.MaxPool2d(2, stride=1, dilation=2), [(1, 2, 6, 6)]),
    ("maxpool3d", lambda nn: nn.MaxPool3d(2, stride=1), [(1, 2, 3, 4, 3)]),
    ("avgpool1d", lambda nn: nn.AvgPool1d(3, stride=2, padding=1), [(2, 3, 8)]),
    ("avgpool2d", lambda nn: nn.AvgPool2d(2), [(2, 3, 6, 6)]),
    ("avgpool2d_ceil_nopad", lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                                     count_include_pad=False), [(1, 2, 8, 7)]),
    ("avgpool2d_ceil_pad", lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), [(1, 2, 8, 7)]),
    ("avgpool2d_divisor", lambda nn: nn.AvgPool2d(2, divisor_override=3), [(1, 2, 4, 4)]),
    ("avgpool3d", lambda nn: nn.AvgPool3d(2, stride=1, padding=1), [(1, 1, 3, 3, 3)]),
    ("adaptiveavg1d", lambda nn: nn.AdaptiveAvgPool1d(3), [(2, 3, 7)]),
    ("adaptiveavg2d", lambda nn: nn.AdaptiveAvgPool2d((3, None)), [(2, 3, 7, 5)]),
    ("adaptiveavg2d_1", lambda nn: nn.AdaptiveAvgPool2d(1), [(2, 3, 5, 5)]),
    ("adaptiveavg3d", lambda nn: nn.AdaptiveAvgPool3d(2), [(1, 2, 5, 3, 4)]),
    ("adaptivemax1d", lambda nn: nn.AdaptiveMaxPool1d(3), [(2, 3, 7)]),
    ("adaptivemax2d", lambda nn: nn.AdaptiveMaxPool2d((2, 3)), [(2, 3, 7, 5)]),
    ("lppool1d", lambda nn: nn.LPPool1d(2, 3, stride=2), [(1, 2, 7)]),
    ("lppool2d", lambda nn: nn.LPPool2d(3, 2), [(1, 2, 4, 6)]),
    ("batchnorm1d", lambda nn: nn.BatchNorm1d(3), [(4, 3)]),
    ("batchnorm1d_3d", lambda nn: nn.BatchNorm1d(3, momentum=None), [(4, 3, 5)]),
    ("batchnorm2d", lambda nn: nn.BatchNorm2d(3, eps=1e-3, momentum=0.3), [(2, 3, 4, 4)]),
    ("batchnorm2d_noaffine", lambda nn: nn.BatchNorm2d(3, affine=False), [(2, 3, 2, 2)]),
    ("batchnorm2d_notrack", lambda nn: nn.BatchNorm2d(3, track_running_stats=False), [(2, 3, 2, 2)]),
    ("batchnorm3d", lambda nn: nn.BatchNorm3d(2), [(2, 2, 2, 3, 2)]),
    ("instancenorm1d", lambda nn: nn.InstanceNorm1d(3, affine=True), [(2, 3, 6)]),
    ("instancenorm2d_track", lambda nn: nn.InstanceNorm2d(3, track_running_stats=True), [(2, 3, 4, 4)]),
    ("instancenorm3d", lambda nn: nn.InstanceNorm3d(2), [(2, 2, 3, 2, 2)]),
    ("layernorm", lambda nn: nn.LayerNorm(5), [(3, 5)]),
    ("layernorm_2d_nobias", lambda nn: nn.LayerNorm((3, 4), eps=1e-3, bias=False), [(2, 3, 4)]),
    ("groupnorm", lambda nn: nn.GroupNorm(2, 4), [(3, 4, 5)]),
    ("groupnorm_noaffine", lambda nn: nn.GroupNorm(3, 6, affine=False), [(2, 6, 2, 2)]),
    ("localresponse", lambda nn: nn.LocalResponseNorm(3), [(2, 5, 3, 3)]),
    ("rmsnorm", lambda nn: nn.RMSNorm(4), [(3, 4)]),
    ("rmsnorm_eps", lambda nn: nn.RMSNorm((2, 4), eps=1e-4), [(3, 2, 4)]),
    ("flatten", lambda nn: nn.Flatten(), [(2, 3, 4)]),
    ("unflatten", lambda nn: nn.Unflatten(1, (2, 3)), [(2, 6, 2)]),
    ("zeropad2d", lambda nn: nn.ZeroPad2d((1, 2, 0, 1)), [(1, 2, 3, 3)]),
    ("constpad1d", lambda nn: nn.ConstantPad1d(2, 3.5), [(2, 3, 4)]),
    ("constpad3d", lambda nn: nn.ConstantPad3d(1, -1.0), [(1, 1, 2, 2, 2)]),
    ("reflpad1d", lambda nn: nn.ReflectionPad1d((2, 1)), [(2, 3, 4)]),
    ("reflpad2d", lambda nn: nn.ReflectionPad2d(2), [(1, 2, 4, 3)]),
    ("replpad2d", lambda nn: nn.ReplicationPad2d((1, 0, 2, 1)), [(1, 2, 3, 3)]),
    ("replpad3d", lambda nn: nn.ReplicationPad3d(1), [(1, 1, 2, 2, 2)]),
    ("circpad1d", lambda nn: nn.CircularPad1d(2), [(1, 2, 4)]),
    ("circpad2d", lambda nn: nn.CircularPad2d((1, 2, 2, 0)), [(1, 2, 3, 3)]),
    ("pixelshuffle", lambda nn: nn.PixelShuffle(2), [(1, 8, 2, 3)]),
    ("pixelunshuffle", lambda nn: nn.PixelUnshuffle(2), [(1, 2, 4, 6)]),
    ("channelshuffle", lambda nn: nn.ChannelShuffle(2), [(1, 6, 2, 2)]),
    ("cosine", lambda nn: nn.CosineSimilarity(dim=1), [(3, 4), (3, 4)]),
    ("pairwise", lambda nn: nn.PairwiseDistance(p=3.0, keepdim=True), [(3, 4), (3, 4)]),
    ("unfold", lambda nn: nn.Unfold(2, padding=1, stride=2), [(1, 2, 5, 4)]),
    ("fold", lambda nn: nn.Fold((4, 5), 2, padding=1, stride=2), [(1, 8, 9)]),
    ("prelu", lambda nn: nn.PReLU(3, init=0.1), [(2, 3, 4)]),
    ("prelu_single", lambda nn: nn.PReLU(), [(2, 3)]),
    ("sequential", lambda nn: nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                            nn.Linear(8, 3), nn.Tanh()), [(2, 1, 6, 6)]),
]


# layers whose behaviour depends on train/eval mode are checked in both modes
_MODAL = ("batchnorm", "instancenorm", "sequential")
PARAMS = [(c, True) for c in CASES] + [(c, False) for c in CASES if c[0].startswith(_MODAL)]


@pytest.mark.parametrize("case,train", PARAMS, ids=[f"{c[0]}-{'train' if t else 'eval'}" for c, t in PARAMS])
def test_layer_matches_torch(case, train, rng):
    name, make, shapes = case
    torch.manual_seed(0)
    tmod, jmod = make(torch.nn), make(jtorch.nn)
    assert repr(jmod) == repr(tmod)
    inputs = [_x(rng, *s) for s in shapes]
    compare(tmod, jmod, inputs, rng, train=train)


@pytest.mark.parametrize("kind", ["1d", "2d", "3d"])
def test_maxpool_return_indices_and_unpool(kind, rng):
    n = int(kind[0])
    shape = (2, 2) + (6, 4, 4)[:n]
    x = _x(rng, *shape)
    tpool = getattr(torch.nn, f"MaxPool{kind}")(2, stride=2, return_indices=True)
    jpool = getattr(jtorch.nn, f"MaxPool{kind}")(2, stride=2, return_indices=True)
    (to, ti), (jo, ji) = compare(tpool, jpool, [x], rng)
    tun = getattr(torch.nn, f"MaxUnpool{kind}")(2, stride=2)
    jun = getattr(jtorch.nn, f"MaxUnpool{kind}")(2, stride=2)
    assert repr(jun) == repr(tun)
    size = list(shape)
    assert_close(jun(jo, ji, output_size=size), tun(to, ti, output_size=size))
    assert_close(jun(jo, ji), tun(to, ti))


def test_adaptive_max_return_indices(rng):
    x = _x(rng, 2, 3, 7, 5)
    t, j = torch.nn.AdaptiveMaxPool2d((3, 2), return_indices=True), jtorch.nn.AdaptiveMaxPool2d((3, 2),
                                                                                                return_indices=True)
    compare(t, j, [x], rng)


def test_maxpool_gradient_goes_to_one_argmax_per_window(rng):
    # ties: torch sends each window's gradient to the first maximum only
    x = np.ones((1, 1, 4, 4), F32)
    x[0, 0, 1, 1] = 2.0
    compare(torch.nn.MaxPool2d(2, stride=1), jtorch.nn.MaxPool2d(2, stride=1), [x], rng)


def test_convtranspose_output_size(rng):
    torch.manual_seed(0)
    t = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    j = jtorch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = _x(rng, 1, 2, 4, 4)
    copy_weights(t, j)
    assert_close(j(jtorch.tensor(x), output_size=[8, 8]), t(torch.from_numpy(x), output_size=[8, 8]).detach(),
                 atol=1e-5)
    with pytest.raises(ValueError):
        t(torch.from_numpy(x), output_size=[12, 12])
    with pytest.raises(ValueError):
        j(jtorch.tensor(x), output_size=[12, 12])


def test_batchnorm_running_stats_over_steps(rng):
    for momentum in (0.1, None):
        t, j = torch.nn.BatchNorm1d(3, momentum=momentum), jtorch.nn.BatchNorm1d(3, momentum=momentum)
        copy_weights(t, j)
        for _ in range(3):
            compare(t, j, [_x(rng, 5, 3) * 2 + 1], rng, copy=False)
        assert int(j.num_batches_tracked) == 3
        compare(t, j, [_x(rng, 5, 3)], rng, train=False, copy=False)


def test_float64_layers(rng):
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.BatchNorm1d(3), torch.nn.GELU()).double()
    j = jtorch.nn.Sequential(jtorch.nn.Conv1d(2, 3, 3), jtorch.nn.BatchNorm1d(3), jtorch.nn.GELU()).double()
    assert j[0].weight.dtype == jtorch.float64 and j[1].num_batches_tracked.dtype == jtorch.int64
    compare(t, j, [rng.standard_normal((2, 2, 6))], rng, rtol=1e-10, atol=1e-10)


ACTS = [
    ("relu", lambda nn: nn.ReLU()), ("relu6", lambda nn: nn.ReLU6()), ("leaky", lambda nn: nn.LeakyReLU(0.2)),
    ("elu", lambda nn: nn.ELU(0.7)), ("selu", lambda nn: nn.SELU()), ("celu", lambda nn: nn.CELU(1.3)),
    ("gelu", lambda nn: nn.GELU()), ("gelu_tanh", lambda nn: nn.GELU(approximate="tanh")),
    ("silu", lambda nn: nn.SiLU()), ("mish", lambda nn: nn.Mish()), ("sigmoid", lambda nn: nn.Sigmoid()),
    ("tanh", lambda nn: nn.Tanh()), ("softmax", lambda nn: nn.Softmax(dim=1)),
    ("logsoftmax", lambda nn: nn.LogSoftmax(dim=-1)), ("softmin", lambda nn: nn.Softmin(dim=0)),
    ("softmax2d", lambda nn: nn.Softmax2d()),
    ("softplus", lambda nn: nn.Softplus(beta=2.0, threshold=1.0)), ("softsign", lambda nn: nn.Softsign()),
    ("hardtanh", lambda nn: nn.Hardtanh(-0.5, 0.75)), ("hardsigmoid", lambda nn: nn.Hardsigmoid()),
    ("hardswish", lambda nn: nn.Hardswish()), ("tanhshrink", lambda nn: nn.Tanhshrink()),
    ("softshrink", lambda nn: nn.Softshrink(0.3)), ("hardshrink", lambda nn: nn.Hardshrink(0.4)),
    ("threshold", lambda nn: nn.Threshold(0.1, -2.0)), ("glu", lambda nn: nn.GLU(dim=1)),
    ("logsigmoid", lambda nn: nn.LogSigmoid()),
]


@pytest.mark.parametrize("case", ACTS, ids=[a[0] for a in ACTS])
def test_activation_matches_torch(case, rng):
    name, make = case
    tmod, jmod = make(torch.nn), make(jtorch.nn)
    assert repr(jmod) == repr(tmod)
    x = (rng.standard_normal((2, 4, 3, 2)) * 3).astype(F32)
    # exact kink points: torch's derivative conventions there
    x.flat[:8] = [0.0, -3.0, 3.0, 6.0, -1.0, 1.0, 0.5, -0.5]
    compare(tmod, jmod, [x], rng)


@pytest.mark.parametrize("name", ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "SiLU", "Mish",
                                  "Hardtanh", "Hardsigmoid", "Hardswish"])
def test_activation_inplace(name, rng):
    x = (rng.standard_normal((3, 4)) * 3).astype(F32)
    tm, jm = getattr(torch.nn, name)(inplace=True), getattr(jtorch.nn, name)(inplace=True)
    assert repr(jm) == repr(tm)
    ta, ja = torch.from_numpy(x.copy()), jtorch.tensor(x.copy())
    tb, jb = tm(ta), jm(ja)
    assert jb is ja  # same tensor, modified in place
    assert_close(ja, ta)
    # in place on a non-leaf keeps gradients right
    tl, jl = torch.from_numpy(x.copy()).requires_grad_(), jtorch.tensor(x.copy()).requires_grad_()
    tm(tl * 2).sum().backward()
    jm(jl * 2).sum().backward()
    assert_close(jl.grad, tl.grad)


def test_dropout_statistics_and_modes():
    jtorch.manual_seed(0)
    x = jtorch.ones(200, 100)
    m = jtorch.nn.Dropout(0.3)
    y = m(x)
    kept = (y != 0).float().mean().item()
    assert abs(kept - 0.7) < 0.02
    assert np.allclose(np.asarray(y)[np.asarray(y) != 0], 1 / 0.7)
    m.eval()
    assert np.array_equal(np.asarray(m(x)), np.asarray(x))
    # gradient flows through the kept units only, scaled like the output
    xg = jtorch.ones(50, 40, requires_grad=True)
    m.train()
    out = m(xg)
    out.sum().backward()
    assert np.allclose(np.asarray(xg.grad), np.asarray(out.detach()))
    # channel dropout zeroes whole feature maps
    y2 = jtorch.nn.Dropout2d(0.5)(jtorch.ones(8, 16, 3, 3))
    a = np.asarray(y2).reshape(8, 16, 9)
    assert np.all((a == 0).all(-1) | (a == 2).all(-1))
    assert 0.3 < (a[..., 0] == 0).mean() < 0.7
    y1 = jtorch.nn.Dropout1d(0.5)(jtorch.ones(8, 16, 5))
    a1 = np.asarray(y1)
    assert np.all((a1 == 0).all(-1) | (a1 == 2).all(-1))
    # alpha dropout keeps mean 0 / variance 1 of standard normal input
    z = jtorch.randn(400, 250)
    az = np.asarray(jtorch.nn.AlphaDropout(0.2)(z))
    assert abs(az.mean()) < 0.02 and abs(az.std() - 1) < 0.03
    fa = np.asarray(jtorch.nn.FeatureAlphaDropout(0.5)(jtorch.randn(4, 32, 6)))
    assert fa.shape == (4, 32, 6)
    with pytest.raises(ValueError):
        jtorch.nn.Dropout(1.5)
    # in place dropout returns the same tensor
    xi = jtorch.ones(10, 10)
    assert jtorch.nn.Dropout(0.5, inplace=True)(xi) is xi


def test_rrelu_train_and_eval(rng):
    x = rng.standard_normal((40, 50)).astype(F32)
    m = jtorch.nn.RReLU(0.1, 0.3)
    tm = torch.nn.RReLU(0.1, 0.3)
    assert repr(m) == repr(tm)
    y = np.asarray(m(jtorch.tensor(x)))
    neg = x < 0
    ratio = y[neg] / x[neg]
    assert ratio.min() >= 0.1 - 1e-6 and ratio.max() <= 0.3 + 1e-6 and ratio.std() > 0.03
    assert np.array_equal(y[~neg], x[~neg])
    m.eval()
    tm.eval()
    assert_close(m(jtorch.tensor(x)), tm(torch.from_numpy(x)))


def test_lazy_modules(rng):
    torch.manual_seed(0)
    tl, jl = torch.nn.LazyLinear(3), jtorch.nn.LazyLinear(3)
    assert isinstance(jl.weight, jtorch.nn.UninitializedParameter)
    x = _x(rng, 2, 5)
    tl(torch.from_numpy(x))
    jl(jtorch.tensor(x))
    assert type(jl) is jtorch.nn.Linear and jl.in_features == 5
    assert type(jl.weight) is jtorch.nn.Parameter and tuple(jl.weight.shape) == (3, 5)
    assert repr(jl) == repr(tl)
    compare(tl, jl, [x], rng)
    tc, jc = torch.nn.LazyConv2d(4, 3), jtorch.nn.LazyConv2d(4, 3)
    xc = _x(rng, 1, 2, 5, 5)
    tc(torch.from_numpy(xc))
    jc(jtorch.tensor(xc))
    assert type(jc) is jtorch.nn.Conv2d and tuple(jc.weight.shape) == (4, 2, 3, 3)
    compare(tc, jc, [xc], rng)
    tb, jb = torch.nn.LazyBatchNorm1d(), jtorch.nn.LazyBatchNorm1d()
    xb = _x(rng, 4, 3)
    compare(tb, jb, [xb], rng, copy=False)
    assert type(jb) is jtorch.nn.BatchNorm1d


def test_bad_inputs_raise_like_torch(rng):
    cases = [
        (lambda nn: nn.Conv2d(3, 4, 3), (2, 2, 5, 5)),      # wrong channel count
        (lambda nn: nn.Conv2d(3, 4, 3), (5, 5)),            # wrong rank
        (lambda nn: nn.Conv1d(3, 4, 3), (1, 3, 2)),         # kernel larger than input
        (lambda nn: nn.Linear(4, 2), (3, 5)),               # wrong feature count
        (lambda nn: nn.ConvTranspose2d(3, 4, 3), (1, 2, 4, 4)),
        (lambda nn: nn.LayerNorm(4), (2, 5)),
        (lambda nn: nn.GroupNorm(2, 4), (2, 3, 4)),
        (lambda nn: nn.MaxPool2d(2, padding=2), (1, 1, 4, 4)),
        (lambda nn: nn.BatchNorm2d(3), (2, 3, 4)),
        (lambda nn: nn.BatchNorm1d(3), (1, 3)),
        (lambda nn: nn.ReflectionPad1d(4), (1, 2, 3)),
        (lambda nn: nn.PixelShuffle(2), (1, 3, 2, 2)),
        (lambda nn: nn.PReLU(3), (2, 4)),
        (lambda nn: nn.AdaptiveAvgPool2d(2), (3,)),
        (lambda nn: nn.Fold((4, 4), 2), (1, 6, 9)),
    ]
    for make, shape in cases:
        x = _x(rng, *shape)
        tm, jm = make(torch.nn), make(jtorch.nn)
        with pytest.raises(Exception) as te:
            tm(torch.from_numpy(x))
        with pytest.raises(Exception) as je:
            jm(jtorch.tensor(x))
        assert je.type is te.type or issubclass(je.type, te.type), (make, te.value, je.value)
    # linear with a mismatched dtype
    with pytest.raises(RuntimeError):
        jtorch.nn.Linear(3, 2)(jtorch.ones(2, 3, dtype=jtorch.float64))
    assert "mat1 and mat2 shapes cannot be multiplied (3x5 and 4x2)" in str(
        pytest.raises(RuntimeError, jtorch.nn.Linear(4, 2), jtorch.ones(3, 5)).value)
    msg = str(pytest.raises(RuntimeError, jtorch.nn.Conv2d(3, 4, 3), jtorch.ones(2, 2, 5, 5)).value)
    assert "expected input[2, 2, 5, 5] to have 3 channels, but got 2 channels instead" in msg


def test_constructor_errors():
    for make in [lambda nn: nn.Conv2d(3, 4, 3, groups=2), lambda nn: nn.Conv2d(4, 3, 3, groups=2),
                 lambda nn: nn.Conv2d(2, 2, 3, padding="full"), lambda nn: nn.Conv2d(2, 2, 3, padding="same", stride=2),
                 lambda nn: nn.Conv2d(2, 2, 3, padding_mode="mirror"), lambda nn: nn.GroupNorm(3, 4),
                 lambda nn: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")]:
        with pytest.raises(ValueError):
            make(torch.nn)
        with pytest.raises(ValueError):
            make(jtorch.nn)

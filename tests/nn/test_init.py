"""nn.init and default layer initialisation: distributions (bounds, std) match torch's;
initialisers work in place on Parameters; errors like torch's."""
import math

import numpy as np
import pytest
import torch

import jtorch
import jtorch.nn as nn
import jtorch.nn.init as init


def arr(t):
    return np.asarray(t.detach())


def test_calculate_gain_matches_torch():
    for nl, p in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                  ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv_transpose3d", None)]:
        assert init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
    with pytest.raises(ValueError):
        init.calculate_gain("leaky_relu", "x")


def test_fan_in_fan_out():
    for shape in [(3, 4), (5, 2, 3), (4, 3, 2, 2)]:
        assert init._calculate_fan_in_and_fan_out(jtorch.empty(shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError):
        init._calculate_fan_in_and_fan_out(jtorch.empty(3))


def _check_uniform(a, lo, hi):
    assert a.min() >= lo and a.max() <= hi
    assert a.min() < lo + 0.05 * (hi - lo) and a.max() > hi - 0.05 * (hi - lo)
    assert a.std() == pytest.approx((hi - lo) / math.sqrt(12), rel=0.05)


def test_initialisers_distributions():
    jtorch.manual_seed(0)
    w = nn.Parameter(jtorch.empty(200, 100))
    pid = id(w)
    init.uniform_(w, -2.0, 3.0)
    _check_uniform(arr(w), -2.0, 3.0)
    init.normal_(w, 1.0, 0.5)
    assert arr(w).mean() == pytest.approx(1.0, abs=0.02) and arr(w).std() == pytest.approx(0.5, rel=0.03)
    init.trunc_normal_(w, 0.5, 1.0, a=-1.0, b=1.5)
    a = arr(w)
    assert a.min() >= -1.0 and a.max() <= 1.5
    ref = torch.nn.init.trunc_normal_(torch.empty(200, 100), 0.5, 1.0, a=-1.0, b=1.5).numpy()
    assert a.mean() == pytest.approx(ref.mean(), abs=0.03) and a.std() == pytest.approx(ref.std(), rel=0.04)
    init.constant_(w, 0.3)
    assert np.allclose(arr(w), 0.3)
    init.ones_(w)
    assert np.all(arr(w) == 1)
    init.zeros_(w)
    assert np.all(arr(w) == 0)
    fan_in, fan_out = 100, 200
    init.xavier_uniform_(w, gain=2.0)
    b = 2.0 * math.sqrt(6.0 / (fan_in + fan_out))
    _check_uniform(arr(w), -b, b)
    init.xavier_normal_(w)
    assert arr(w).std() == pytest.approx(math.sqrt(2.0 / (fan_in + fan_out)), rel=0.03)
    init.kaiming_uniform_(w, a=math.sqrt(5))
    b = math.sqrt(6.0 / ((1 + 5) * fan_in))
    _check_uniform(arr(w), -b, b)
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    b = math.sqrt(6.0 / fan_out)
    _check_uniform(arr(w), -b, b)
    init.kaiming_normal_(w, nonlinearity="relu")
    assert arr(w).std() == pytest.approx(math.sqrt(2.0 / fan_in), rel=0.03)
    assert id(w) == pid and w.requires_grad and w.is_leaf and w.grad_fn is None
    with pytest.raises(ValueError):
        init.kaiming_uniform_(w, mode="fan_avg")


def test_eye_dirac_orthogonal_sparse():
    e = init.eye_(jtorch.empty(3, 5))
    assert np.array_equal(arr(e), torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 2, 1, 3, 3), 1)]:
        d = init.dirac_(jtorch.empty(shape), groups)
        assert np.array_equal(arr(d), torch.nn.init.dirac_(torch.empty(shape), groups).numpy())
    for shape in [(4, 6), (6, 4), (3, 2, 2)]:
        q = arr(init.orthogonal_(jtorch.empty(shape), gain=2.0)).reshape(shape[0], -1)
        small = q @ q.T if shape[0] <= q.shape[1] else q.T @ q
        assert np.allclose(small, 4.0 * np.eye(small.shape[0]), atol=1e-5)
    s = arr(init.sparse_(jtorch.empty(10, 30), 0.3, std=0.02))
    assert np.all((s == 0).sum(0) == 3)
    with pytest.raises(ValueError):
        init.eye_(jtorch.empty(2, 2, 2))
    with pytest.raises(ValueError):
        init.dirac_(jtorch.empty(2, 2))
    with pytest.raises(ValueError):
        init.sparse_(jtorch.empty(2, 2, 2), 0.1)


def test_init_inside_graph_mode_is_untracked():
    w = nn.Parameter(jtorch.ones(3, 3))
    init.normal_(w)
    init.xavier_uniform_(w)
    assert w.grad_fn is None
    (w * 2).sum().backward()
    assert np.allclose(arr(w.grad), 2)


@pytest.mark.parametrize("make,names", [
    (lambda m: m.Linear(300, 80), ["weight", "bias"]),
    (lambda m: m.Conv2d(16, 40, 3), ["weight", "bias"]),
    (lambda m: m.Conv1d(30, 40, 5, groups=2), ["weight", "bias"]),
    (lambda m: m.ConvTranspose2d(20, 30, 3), ["weight", "bias"]),
    (lambda m: m.Bilinear(30, 20, 40), ["weight", "bias"]),
])
def test_default_layer_init_matches_torch_distribution(make, names):
    jtorch.manual_seed(1)
    torch.manual_seed(1)
    j, t = make(jtorch.nn), make(torch.nn)
    for n in names:
        a, b = arr(getattr(j, n)), getattr(t, n).detach().numpy()
        assert a.shape == b.shape
        bound = np.abs(b).max()
        # U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias (Bilinear: fan = in1_features)
        fan = j.weight.shape[1] if isinstance(j, jtorch.nn.Bilinear) else init._calculate_fan_in_and_fan_out(j.weight)[0]
        lim = 1 / math.sqrt(fan)
        assert np.abs(a).max() <= lim + 1e-7 and bound <= lim + 1e-7
        if a.size > 500:
            assert a.std() == pytest.approx(b.std(), rel=0.08)
            assert a.std() == pytest.approx(lim / math.sqrt(3), rel=0.08)


def test_default_norm_and_prelu_init():
    bn = nn.BatchNorm2d(4)
    assert np.all(arr(bn.weight) == 1) and np.all(arr(bn.bias) == 0)
    assert np.all(arr(bn.running_var) == 1) and np.all(arr(bn.running_mean) == 0) and int(bn.num_batches_tracked) == 0
    ln, gn = nn.LayerNorm(5), nn.GroupNorm(2, 4)
    assert np.all(arr(ln.weight) == 1) and np.all(arr(gn.bias) == 0)
    assert np.allclose(arr(nn.PReLU(3).weight), 0.25)
    bn.running_mean.add_(3.0)
    bn.reset_running_stats()
    assert np.all(arr(bn.running_mean) == 0)

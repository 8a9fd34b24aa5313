"""Losses against torch: values for every reduction, gradients of every float input, errors."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtorch
import jtorch.nn.functional as F
from tests.helpers import assert_close


def _pair(v, grad):
    if isinstance(v, np.ndarray):
        t, j = torch.from_numpy(v.copy()), jtorch.tensor(v.copy())
        if grad and v.dtype.kind == "f":
            t.requires_grad_(True)
            j.requires_grad_(True)
        return t, j
    return v, v


def check(name, args, kwargs=None, grad=True, rtol=1e-5, atol=1e-5, jname=None, ngrad=2):
    """Run torch's and jtorch's ``name`` on the same numpy inputs; compare output and the grads of
    the first ``ngrad`` float inputs."""
    kwargs = kwargs or {}
    targs, jargs = zip(*[_pair(a, grad and i < ngrad) for i, a in enumerate(args)])
    tkw = {k: _pair(v, False)[0] for k, v in kwargs.items()}
    jkw = {k: _pair(v, False)[1] for k, v in kwargs.items()}
    t = getattr(TF, name)(*targs, **tkw)
    j = getattr(F, jname or name)(*jargs, **jkw)
    assert_close(j, t, rtol=rtol, atol=atol)
    if grad:
        ct = np.random.default_rng(0).standard_normal(tuple(t.shape)).astype(np.float32)
        tt = [a for a in targs if isinstance(a, torch.Tensor) and a.requires_grad]
        jj = [a for a in jargs if isinstance(a, jtorch.Tensor) and a.requires_grad]
        t.backward(torch.from_numpy(ct))
        j.backward(jtorch.tensor(ct))
        for a, b in zip(jj, tt):
            assert_close(a.grad, b.grad, rtol=rtol, atol=atol)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def prob(rng, *shape):
    return rng.uniform(0.05, 0.95, shape).astype(np.float32)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_and_nll(rng, reduction):
    x = f32(rng, 6, 5)
    t = rng.integers(0, 5, 6)
    t[2] = -100
    w = rng.uniform(0.2, 1.5, 5).astype(np.float32)
    check("cross_entropy", [x, t], dict(reduction=reduction))
    check("cross_entropy", [x, t], dict(weight=w, reduction=reduction, label_smoothing=0.1))
    check("nll_loss", [x, t], dict(weight=w, reduction=reduction))
    check("cross_entropy", [x, np.abs(t) % 5], dict(reduction=reduction, ignore_index=1))
    with pytest.raises(IndexError):
        F.cross_entropy(jtorch.tensor(x), jtorch.tensor(t), ignore_index=1)
    # probability targets
    p = np.exp(f32(rng, 6, 5))
    p /= p.sum(1, keepdims=True)
    check("cross_entropy", [x, p], dict(weight=w, reduction=reduction, label_smoothing=0.2))


def test_cross_entropy_kdim_and_unbatched(rng):
    x = f32(rng, 2, 4, 3, 3)
    t = rng.integers(0, 4, (2, 3, 3))
    check("cross_entropy", [x, t], dict(label_smoothing=0.05))
    check("nll_loss", [x, t], dict(reduction="none"))
    check("cross_entropy", [f32(rng, 4), np.array(2)], {})


def test_class_target_errors(rng):
    x = jtorch.tensor(f32(rng, 3, 4))
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.cross_entropy(x, jtorch.tensor([0, 5, 1]))
    with pytest.raises(IndexError):
        F.nll_loss(x, jtorch.tensor([0, -3, 1]))
    with pytest.raises(ValueError):
        F.cross_entropy(x, jtorch.tensor([0, 1]))
    with pytest.raises(RuntimeError):
        F.nll_loss(x, jtorch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(RuntimeError, match="Long or Byte"):
        F.cross_entropy(x, jtorch.tensor([0, 1, 2], dtype=jtorch.int32))
    assert_close(F.nll_loss(x, jtorch.tensor([0, 1, 2], dtype=jtorch.uint8)),
                 TF.nll_loss(torch.tensor(x.numpy()), torch.tensor([0, 1, 2], dtype=torch.uint8)))
    with pytest.raises(ValueError):
        F.cross_entropy(x, jtorch.tensor([0, 1, 2]), reduction="avg")


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "soft_margin_loss"])
def test_regression(rng, name):
    x, y = f32(rng, 4, 3), f32(rng, 4, 3)
    for reduction in ["mean", "sum", "none"]:
        check(name, [x, y], dict(reduction=reduction), ngrad=1 if name == "soft_margin_loss" else 2)
    if name == "smooth_l1_loss":
        check(name, [x, y], dict(beta=0.5))
        check(name, [x, y], dict(beta=0.0))
    if name == "huber_loss":
        check(name, [x, y], dict(delta=0.3))
    if name in ("mse_loss", "l1_loss"):
        check(name, [x, y], dict(weight=prob(rng, 4, 3), reduction="sum"))


def test_mse_broadcast_warning(rng):
    x, y = f32(rng, 3, 4), f32(rng, 3, 1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        check("mse_loss", [x, y])
    msgs = [str(m.message) for m in w if issubclass(m.category, UserWarning)]
    assert any("different to the input size" in m for m in msgs)
    with pytest.warns(UserWarning, match="broadcasting"):
        F.l1_loss(jtorch.tensor(x), jtorch.tensor(y))
    with pytest.raises(RuntimeError), pytest.warns(UserWarning):
        F.mse_loss(jtorch.tensor(x), jtorch.tensor(f32(rng, 2, 4)))


def test_legacy_size_average_reduce(rng):
    x, y = f32(rng, 4, 3), f32(rng, 4, 3)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        check("mse_loss", [x, y], dict(size_average=False))
    with pytest.warns(UserWarning):
        check("l1_loss", [x, y], dict(reduce=False))


def test_bce(rng):
    x, y = prob(rng, 4, 3), prob(rng, 4, 3)
    w = prob(rng, 3)
    for reduction in ["mean", "sum", "none"]:
        check("binary_cross_entropy", [x, y], dict(weight=w, reduction=reduction))
    # log clamped at -100: exact 0 and 1 probabilities stay finite
    check("binary_cross_entropy", [np.array([0.0, 1.0, 0.5], np.float32), np.array([1.0, 0.0, 1.0], np.float32)],
          grad=False)
    with pytest.raises(ValueError):
        F.binary_cross_entropy(jtorch.rand(3), jtorch.rand(3, 1))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(jtorch.tensor([0.5, 1.5]), jtorch.tensor([0.0, 1.0]))


def test_bce_with_logits(rng):
    x, y = 3 * f32(rng, 4, 3), prob(rng, 4, 3)
    w, pw = prob(rng, 3), 2 * prob(rng, 3)
    check("binary_cross_entropy_with_logits", [x, y])
    check("binary_cross_entropy_with_logits", [x, y], dict(weight=w, pos_weight=pw, reduction="none"))
    with pytest.raises(ValueError):
        F.binary_cross_entropy_with_logits(jtorch.rand(3), jtorch.rand(3, 1))


def test_bce_with_logits_gradient_at_zero_logits(rng):
    # the derivative at a logit of exactly 0 is sigmoid(0) - target (a logistic regression's first
    # step from zero weights); |x|'s kink must not leak into it
    x = np.zeros((4, 3), np.float32)
    x[0, :] = [-30.0, 30.0, 1e-3]
    y = prob(rng, 4, 3)
    y[1, :] = [0.0, 1.0, 0.5]
    check("binary_cross_entropy_with_logits", [x, y])
    check("binary_cross_entropy_with_logits", [x, y], dict(pos_weight=2 * prob(rng, 3), reduction="sum"))


def test_kl_div_poisson_gaussian(rng):
    x = np.log(prob(rng, 4, 5))
    y = prob(rng, 4, 5)
    y[0, 0] = 0.0
    check("kl_div", [x, y], dict(reduction="batchmean"))
    check("kl_div", [x, np.log(y + 0.1)], dict(reduction="sum", log_target=True))
    with pytest.warns(UserWarning, match="batchmean"):
        check("kl_div", [x, y], dict(reduction="mean"))
    counts = rng.integers(0, 5, (4, 5)).astype(np.float32)
    check("poisson_nll_loss", [f32(rng, 4, 5), counts], dict(full=True))
    check("poisson_nll_loss", [prob(rng, 4, 5) * 3, counts], dict(log_input=False, reduction="sum"))
    var = prob(rng, 4, 5)
    var[0, 0] = 1e-8   # clamped to eps
    check("gaussian_nll_loss", [f32(rng, 4, 5), f32(rng, 4, 5), var], dict(full=True))
    check("gaussian_nll_loss", [f32(rng, 4, 5), f32(rng, 4, 5), prob(rng, 4)], dict(reduction="none"))
    check("gaussian_nll_loss", [f32(rng, 4, 5), f32(rng, 4, 5), prob(rng, 4, 1)], dict(reduction="sum"))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(jtorch.randn(4, 5), jtorch.randn(4, 5), jtorch.rand(3, 2))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(jtorch.randn(4, 5), jtorch.randn(4, 5), -jtorch.rand(4, 5))


def test_ranking_losses(rng):
    a, b = f32(rng, 5, 4), f32(rng, 5, 4)
    y = np.where(rng.random(5) > 0.5, 1, -1).astype(np.float32)
    check("cosine_embedding_loss", [a, b, y], dict(margin=0.2))
    check("cosine_embedding_loss", [a, b, y], dict(reduction="none"))
    check("margin_ranking_loss", [f32(rng, 5), f32(rng, 5), y], dict(margin=0.1))
    yh = np.where(rng.random((5, 4)) > 0.5, 1, -1).astype(np.float32)
    check("hinge_embedding_loss", [a, yh], dict(margin=0.5), ngrad=1)
    check("triplet_margin_loss", [a, b, f32(rng, 5, 4)], dict(margin=0.7))
    check("triplet_margin_loss", [a, b, f32(rng, 5, 4)], dict(p=1, swap=True, reduction="none"))
    check("soft_margin_loss", [a, yh], {}, ngrad=1)


def test_triplet_with_distance(rng):
    a, p, n = f32(rng, 5, 4), f32(rng, 5, 4), f32(rng, 5, 4)
    check("triplet_margin_with_distance_loss", [a, p, n], dict(margin=1.5, swap=True))

    def cos_t(x, y):
        return 1 - TF.cosine_similarity(x, y)

    ta, tp, tn = (torch.tensor(v, requires_grad=True) for v in (a, p, n))
    ja, jp, jn = (jtorch.tensor(v, requires_grad=True) for v in (a, p, n))
    t = TF.triplet_margin_with_distance_loss(ta, tp, tn, distance_function=lambda x, y: (x - y).abs().sum(-1))
    j = F.triplet_margin_with_distance_loss(ja, jp, jn, distance_function=lambda x, y: (x - y).abs().sum(-1))
    assert_close(j, t)
    t.backward()
    j.backward()
    assert_close(ja.grad, ta.grad)


def test_multi_label_and_margin(rng):
    x = f32(rng, 4, 5)
    y = rng.integers(0, 5, 4)
    w = prob(rng, 5)
    check("multi_margin_loss", [x, y], dict(weight=w))
    check("multi_margin_loss", [x, y], dict(p=2, margin=0.5, reduction="none"))
    with pytest.raises(ValueError):
        F.multi_margin_loss(jtorch.tensor(x), jtorch.tensor(y), p=3)
    yl = np.array([[3, 0, -1, 1, 4], [1, 2, 3, 4, 0], [-1, 1, 2, 3, 0], [2, 2, 0, -1, 1]])
    check("multilabel_margin_loss", [x, yl], {})
    check("multilabel_margin_loss", [x, yl], dict(reduction="none"))
    ys = (rng.random((4, 5)) > 0.5).astype(np.float32)
    check("multilabel_soft_margin_loss", [x, ys], dict(weight=w))
    check("multilabel_soft_margin_loss", [x, ys], dict(reduction="none"))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_loss(rng, reduction):
    T, N, C, S = 7, 3, 5, 3
    logits = f32(rng, T, N, C)
    targets = rng.integers(1, C, (N, S))
    targets[1, 1] = targets[1, 0]  # a repeated label needs a blank in between
    il, tl = np.array([7, 5, 6]), np.array([3, 2, 0])
    tx = torch.tensor(logits, requires_grad=True)
    jx = jtorch.tensor(logits, requires_grad=True)
    t = TF.ctc_loss(tx.log_softmax(2), torch.tensor(targets), torch.tensor(il), torch.tensor(tl),
                    reduction=reduction)
    j = F.ctc_loss(F.log_softmax(jx, 2), jtorch.tensor(targets), jtorch.tensor(il), jtorch.tensor(tl),
                   reduction=reduction)
    assert_close(j, t, rtol=1e-4, atol=1e-5)
    t.sum().backward()
    j.sum().backward()
    assert_close(jx.grad, tx.grad, rtol=1e-4, atol=1e-5)


def test_ctc_loss_grad_on_log_probs_and_concatenated(rng):
    T, N, C = 6, 2, 4
    lp = np.log(np.exp(f32(rng, T, N, C)) / np.exp(f32(rng, T, N, C)).sum(-1, keepdims=True) + 0.1)
    lp = (lp - np.log(np.exp(lp).sum(-1, keepdims=True))).astype(np.float32)
    flat = rng.integers(1, C, 5)
    il, tl = (6, 4), (3, 2)
    check("ctc_loss", [lp, flat, il, tl], dict(reduction="sum"), rtol=1e-4, atol=1e-5)
    # impossible alignment: inf, or 0 with zero_infinity
    check("ctc_loss", [lp, flat, (1, 4), tl], dict(reduction="none"), grad=False)
    check("ctc_loss", [lp, flat, (1, 4), tl], dict(zero_infinity=True), rtol=1e-4, atol=1e-5)
    jlp = jtorch.tensor(lp)
    with pytest.raises(RuntimeError, match="input_lengths"):
        F.ctc_loss(jlp, jtorch.tensor([[1, 2], [1, 1]]), (7, 4), (2, 2))
    with pytest.raises(RuntimeError, match="targets"):
        F.ctc_loss(jlp, jtorch.tensor([[1, 2], [1, 1]]), (6, 4), (3, 2))


def test_seed_loss_functions_and_optimizers():
    # the seed's "How do you define loss functions and optimizers?" snippet, verbatim below
    import jtorch as torch
    import jtorch.nn as nn
    model = nn.Linear(4, 2)

    import jtorch.optim as optim

    # Loss functions
    criterion = nn.CrossEntropyLoss()
    criterion = nn.MSELoss()
    criterion = nn.BCELoss()
    criterion = nn.L1Loss()

    # Optimizers
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    optimizer = optim.RMSprop(model.parameters(), lr=0.01)

    # Learning rate schedulers
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'min')

    assert isinstance(criterion, nn.Module) and scheduler is not None
    out = criterion(torch.tensor([0.5, 2.0]), torch.tensor([1.0, 1.0]))
    assert abs(out.item() - 0.75) < 1e-6


def test_seed_custom_loss(rng):
    import jtorch as torch
    import jtorch.nn as nn

    class CustomLoss(nn.Module):
        def __init__(self):
            super().__init__()

        def forward(self, pred, target):
            loss = torch.mean((pred - target)**2)
            return loss

    # Alternative using functional approach
    def custom_loss(pred, target):
        return torch.mean((pred - target)**2)

    p, t = f32(rng, 4, 3), f32(rng, 4, 3)
    pred = torch.tensor(p, requires_grad=True)
    a = CustomLoss()(pred, torch.tensor(t))
    b = custom_loss(pred, torch.tensor(t))
    ref = TF.mse_loss(torch_tensor(p), torch_tensor(t))
    assert_close(a, ref)
    assert_close(b, ref)
    a.backward()
    assert_close(pred.grad, torch_tensor(2 * (p - t) / p.size))


def torch_tensor(a):
    return torch.from_numpy(np.asarray(a, np.float32))


MODULES = [
    ("CrossEntropyLoss", dict(label_smoothing=0.1), "cls"),
    ("NLLLoss", dict(reduction="sum"), "cls"),
    ("MSELoss", {}, "reg"), ("L1Loss", dict(reduction="none"), "reg"), ("SmoothL1Loss", dict(beta=0.5), "reg"),
    ("HuberLoss", dict(delta=0.5), "reg"), ("SoftMarginLoss", {}, "reg"),
    ("BCELoss", {}, "prob"), ("BCEWithLogitsLoss", {}, "logit"), ("KLDivLoss", dict(reduction="batchmean"), "reg"),
    ("PoissonNLLLoss", {}, "reg"), ("MultiLabelSoftMarginLoss", {}, "prob"), ("MultiMarginLoss", {}, "cls"),
    ("HingeEmbeddingLoss", {}, "sign"),
]


@pytest.mark.parametrize("name,kw,kind", MODULES, ids=[m[0] for m in MODULES])
def test_loss_modules(rng, name, kw, kind):
    import jtorch.nn as nn
    x = f32(rng, 4, 3)
    if kind == "cls":
        y = rng.integers(0, 3, 4)
    elif kind == "prob":
        x, y = prob(rng, 4, 3), prob(rng, 4, 3)
    elif kind == "logit":
        y = prob(rng, 4, 3)
    elif kind == "sign":
        y = np.where(rng.random((4, 3)) > 0.5, 1.0, -1.0).astype(np.float32)
    else:
        y = f32(rng, 4, 3)
    tm, jm = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw)
    tx, jx = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    t, j = tm(tx, torch.tensor(y)), jm(jx, jtorch.tensor(y))
    assert_close(j, t)
    t.sum().backward()
    j.sum().backward()
    assert_close(jx.grad, tx.grad)
    assert jm.reduction == tm.reduction


def test_weighted_loss_buffers(rng):
    import jtorch.nn as nn
    w = prob(rng, 3)
    jm = nn.CrossEntropyLoss(weight=jtorch.tensor(w))
    tm = torch.nn.CrossEntropyLoss(weight=torch.tensor(w))
    assert list(jm.state_dict()) == list(tm.state_dict())
    jb = nn.BCEWithLogitsLoss(pos_weight=jtorch.tensor(w))
    tb = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(w))
    assert list(jb.state_dict()) == list(tb.state_dict())
    with pytest.warns(UserWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.raises(ValueError):
        nn.MultiMarginLoss(p=3)
    x = f32(rng, 3, 4)
    t = rng.integers(0, 4, 3)
    assert_close(nn.CTCLoss()(F.log_softmax(jtorch.tensor(f32(rng, 5, 2, 4)), 2), jtorch.tensor([[1, 2], [3, 1]]),
                              (5, 4), (2, 1)).detach().isfinite(), torch.tensor(True))
    assert_close(nn.NLLLoss()(jtorch.tensor(x), jtorch.tensor(t)),
                 torch.nn.NLLLoss()(torch.tensor(x), torch.tensor(t)))


def test_multi_input_loss_modules(rng):
    import jtorch.nn as nn
    a, b, c = f32(rng, 5, 4), f32(rng, 5, 4), f32(rng, 5, 4)
    y = np.where(rng.random(5) > 0.5, 1.0, -1.0).astype(np.float32)
    cases = [
        ("CosineEmbeddingLoss", dict(margin=0.1), [a, b, y]),
        ("MarginRankingLoss", dict(margin=0.2, reduction="sum"), [a[:, 0], b[:, 0], y]),
        ("TripletMarginLoss", dict(margin=0.5, p=1.0), [a, b, c]),
        ("TripletMarginWithDistanceLoss", dict(margin=0.5, swap=True), [a, b, c]),
        ("GaussianNLLLoss", dict(full=True), [a, b, prob(rng, 5, 4)]),
        ("MultiLabelMarginLoss", {}, [a, np.array([[1, 3, -1, 0]] * 5)]),
    ]
    for name, kw, arrays in cases:
        tm, jm = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw)
        ts = [torch.tensor(v, requires_grad=(i == 0)) for i, v in enumerate(arrays)]
        js = [jtorch.tensor(v, requires_grad=(i == 0)) for i, v in enumerate(arrays)]
        t, j = tm(*ts), jm(*js)
        assert_close(j, t, rtol=1e-5, atol=1e-5)
        t.backward()
        j.backward()
        assert_close(js[0].grad, ts[0].grad, rtol=1e-5, atol=1e-5)


def test_float64_losses(rng):
    x = rng.standard_normal((4, 3))
    t = rng.integers(0, 3, 4)
    check("cross_entropy", [x, t], dict(label_smoothing=0.1))
    check("mse_loss", [x, rng.standard_normal((4, 3))])
    check("binary_cross_entropy_with_logits", [x, rng.random((4, 3))])

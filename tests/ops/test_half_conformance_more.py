"""float16/bfloat16 results with torch's CPU kernels' bits (found by ``scripts/conformance.py --dtypes float16`` and
``bfloat16``): embedding, convolutions (bias added before the one rounding), bfloat16 batch/instance norm statistics
and running statistics, cross_entropy as log_softmax then nll_loss, linear_cross_entropy's float32-accumulating
chunked path and cosine_similarity's rounded steps. Seeded inputs through torch and jtorch; equal bits (nearly, where
torch's float32 sums run in another order)."""
import numpy as np
import pytest
import torch

import jtorch

HALF = ("float16", "bfloat16")


def same_bits(j, t):
    assert str(j.dtype) == str(t.dtype) and tuple(j.shape) == tuple(t.shape)
    np.testing.assert_array_equal(j.detach().float().numpy(), t.detach().float().numpy())


def nearly_same_bits(j, t, dtype, most=0.02):
    """Within torch's half tolerance, and equal bits but for a few values (``most``): the float32 sums of a
    convolution run in another order than torch's, and a value near a rounding boundary may round the other way
    (a rounding per step, or the bias added after the rounding, changed a quarter of the values)."""
    assert str(j.dtype) == str(t.dtype) and tuple(j.shape) == tuple(t.shape)
    a, b = j.detach().float().numpy(), t.detach().float().numpy()
    rtol = 1e-3 if dtype == "float16" else 1.6e-2
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-5)
    assert np.mean(a != b) <= most, f"{np.mean(a != b):.3f} of the values differ"


def pair(rng, shape, dtype, scale=3.0, shift=0.0):
    a = (rng.standard_normal(shape) * scale + shift).astype(np.float32)
    return torch.from_numpy(a).to(getattr(torch, dtype)), jtorch.tensor(a).to(getattr(jtorch, dtype))


@pytest.mark.parametrize("dtype", HALF)
def test_embedding(rng, dtype):
    tw, jw = pair(rng, (10, 4), dtype)
    idx = rng.integers(0, 10, (3, 5))
    ti, ji = torch.from_numpy(idx), jtorch.tensor(idx)
    same_bits(jtorch.nn.functional.embedding(ji, jw), torch.nn.functional.embedding(ti, tw))
    same_bits(jtorch.nn.functional.embedding(ji, jw, padding_idx=2), torch.nn.functional.embedding(ti, tw, padding_idx=2))
    w = jw.detach().requires_grad_(True)
    jtorch.nn.functional.embedding(ji, w).float().sum().backward()
    t = tw.detach().requires_grad_(True)
    torch.nn.functional.embedding(ti, t).float().sum().backward()
    same_bits(w.grad, t.grad)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("n", (1, 2, 3))
def test_conv_bias_before_the_rounding(rng, dtype, n):
    # torch: accumulated in float32 with the bias, rounded once (conv3d too: its taps are not summed in the half type)
    F, G = jtorch.nn.functional, torch.nn.functional
    f = "conv%dd" % n
    for cin, cout, k, groups, kw in ((3, 4, 3, 1, {}), (4, 4, 3, 2, dict(stride=2)), (1, 1, 1, 1, dict(padding="same")),
                                     (6, 6, 3, 6, dict(dilation=2, padding=1))):
        tx, jx = pair(rng, (2, cin) + (6,) * n, dtype)
        tw, jw = pair(rng, (cout, cin // groups) + (k,) * n, dtype, 1.0)
        tb, jb = pair(rng, (cout,), dtype)
        nearly_same_bits(getattr(F, f)(jx, jw, jb, groups=groups, **kw), getattr(G, f)(tx, tw, tb, groups=groups, **kw),
                         dtype)
        nearly_same_bits(getattr(F, f)(jx, jw, groups=groups, **kw), getattr(G, f)(tx, tw, groups=groups, **kw), dtype)


def _norm_run(L, fn, dtype, x, w, b, rm, rv, momentum):
    h = lambda a: None if a is None else L.tensor(a).to(getattr(L, dtype))
    stats = [h(rm), h(rv)]
    if fn == "batch_norm":
        y = L.nn.functional.batch_norm(h(x), *stats, h(w), h(b), training=True, momentum=momentum)
    else:
        y = L.nn.functional.instance_norm(h(x), *stats, h(w), h(b), use_input_stats=True, momentum=momentum)
    return [y] + [s for s in stats if s is not None]


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("fn", ("batch_norm", "instance_norm"))
@pytest.mark.parametrize("shape", [(6, 4, 5, 3), (2, 3, 4, 4, 4), (4, 5, 7), (3, 4, 1, 7)])
def test_norm_statistics_and_running_stats(rng, dtype, fn, shape):
    # bfloat16: torch stores the sum of squared deviations in bfloat16 and divides by the count in bfloat16; the
    # running statistics are updated in bfloat16 steps (momentum rounded too); instance_norm updates a running copy
    # per instance and averages them; means on a rounding tie round as a correctly rounded float32 mean does
    C = shape[1]
    for affine, running, momentum in ((True, True, 0.1), (False, True, 0.3), (True, False, 0.1)):
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        w, b, rm = (rng.standard_normal(C).astype(np.float32) for _ in range(3))
        rv = (rng.random(C) + 0.5).astype(np.float32)
        args = (w if affine else None, b if affine else None, rm if running else None, rv if running else None)
        outs = zip(_norm_run(jtorch, fn, dtype, x, *args, momentum), _norm_run(torch, fn, dtype, x, *args, momentum))
        for k, (j, t) in enumerate(outs):
            if k == 0 and dtype == "float16":  # float32 steps contracted otherwise: a rare value rounds the other way
                nearly_same_bits(j, t, dtype, most=0.01)
            else:
                same_bits(j, t)


@pytest.mark.parametrize("dtype", HALF)
def test_cross_entropy_is_log_softmax_then_nll(rng, dtype):
    for shape, tshape in (((16, 10), (16,)), ((4, 5, 3), (4, 3)), ((10,), ())):
        tx, jx = pair(rng, shape, dtype)
        C = shape[1] if len(shape) > 1 else shape[0]
        tg = rng.integers(0, C, tshape)
        tw, jw = pair(rng, (C,), dtype, 0.3, 1.0)
        for weight in (False, True):
            same_bits(jtorch.nn.functional.cross_entropy(jx, jtorch.tensor(tg), jw if weight else None, reduction="none"),
                      torch.nn.functional.cross_entropy(tx, torch.from_numpy(tg), tw if weight else None,
                                                        reduction="none"))


@pytest.mark.parametrize("dtype", HALF)
def test_linear_cross_entropy_chunked_accumulates_in_float32(rng, dtype):
    tx, jx = pair(rng, (16, 8), dtype)
    tw, jw = pair(rng, (10, 8), dtype, 1.0)
    tb, jb = pair(rng, (10,), dtype)
    tg = rng.integers(0, 10, 16)
    for kw in (dict(batch_chunk_size=4), dict(batch_chunk_size=4, acc_dtype="float32")):
        jo = jtorch.nn.LinearCrossEntropyOptions(**{k: getattr(jtorch, v) if k == "acc_dtype" else v
                                                    for k, v in kw.items()})
        to = torch.nn.LinearCrossEntropyOptions(**{k: getattr(torch, v) if k == "acc_dtype" else v
                                                   for k, v in kw.items()})
        for bias in (False, True):
            same_bits(jtorch.nn.functional.linear_cross_entropy(jx, jw, jtorch.tensor(tg), linear_bias=jb if bias else None,
                                                                reduction="none", options=jo),
                      torch.nn.functional.linear_cross_entropy(tx, tw, torch.from_numpy(tg),
                                                               linear_bias=tb if bias else None, reduction="none",
                                                               options=to))
    # K-dimensional: torch's plain path (logits rounded, then cross_entropy)
    tw3, jw3 = pair(rng, (2, 3, 8), dtype, 1.0)
    tg3 = rng.integers(0, 2, (16, 3))
    same_bits(jtorch.nn.functional.linear_cross_entropy(jx, jw3, jtorch.tensor(tg3), reduction="none",
                                                        options=jtorch.nn.LinearCrossEntropyOptions(batch_chunk_size=2)),
              torch.nn.functional.linear_cross_entropy(tx, tw3, torch.from_numpy(tg3), reduction="none",
                                                       options=torch.nn.LinearCrossEntropyOptions(batch_chunk_size=2)))


@pytest.mark.parametrize("dtype", HALF)
def test_cosine_similarity_rounds_each_step(rng, dtype):
    for shape, dim, eps in (((6, 7), 1, 1e-8), ((5, 3, 4), 0, 1e-8), ((9,), 0, 0.5)):
        (ta, ja), (tb, jb) = pair(rng, shape, dtype, 2.0), pair(rng, shape, dtype, 2.0)
        same_bits(jtorch.nn.functional.cosine_similarity(ja, jb, dim=dim, eps=eps),
                  torch.nn.functional.cosine_similarity(ta, tb, dim=dim, eps=eps))
    a = ja.detach().requires_grad_(True)
    jtorch.nn.functional.cosine_similarity(a, jb, dim=0).float().backward()
    assert a.grad.dtype == getattr(jtorch, dtype) and bool(jtorch.isfinite(a.grad).all())


@pytest.mark.parametrize("dtype", HALF)
def test_ndtr_rounds_each_step(rng, dtype):
    # torch's half kernel: (1 + erf(x / sqrt(2))) / 2, each step rounded (one float32 evaluation rounded once
    # differed on 40% of the values)
    tx, jx = pair(rng, (400,), dtype)
    same_bits(jtorch.special.ndtr(jx), torch.special.ndtr(tx))


def test_complex_of_float16_parts_is_complex32(rng):
    (tr, jr), (ti, ji) = pair(rng, (5, 3), "float16"), pair(rng, (5, 3), "float16")
    j, t = jtorch.complex(jr, ji), torch.complex(tr, ti)
    assert str(j.dtype) == str(t.dtype) == "torch.complex32"
    same_bits(jtorch.view_as_real(j), torch.view_as_real(t))


def test_half_roundings_kept_in_lazy_segments(rng, monkeypatch):
    # a repeated op sequence is compiled into one program (jtorch/_lazy.py); XLA's CPU backend would drop the
    # bfloat16 roundings between its fused ops (excess precision, turned off at import): the values must stay
    # those of the ops run one by one, as torch's
    import jtorch._lazy as lazy
    monkeypatch.setattr(lazy, "BACKGROUND_COMPILE", False)  # the compiled segment is used at once
    for _ in range(lazy.COMPILE_AFTER + 4):
        x = (rng.standard_normal((16, 10)) * 3).astype(np.float32)
        w = rng.random(10).astype(np.float32)
        tg = rng.integers(0, 10, 16)
        j = jtorch.nn.functional.cross_entropy(jtorch.tensor(x).to(jtorch.bfloat16), jtorch.tensor(tg),
                                               weight=jtorch.tensor(w).to(jtorch.bfloat16), reduction="none").float()
        t = torch.nn.functional.cross_entropy(torch.from_numpy(x).bfloat16(), torch.from_numpy(tg),
                                              weight=torch.from_numpy(w).bfloat16(), reduction="none").float()
        np.testing.assert_array_equal(j.numpy(), t.numpy())

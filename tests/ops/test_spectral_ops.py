"""jtorch.stft / jtorch.istft against torch: shapes, complex dtypes, every option, gradients, errors."""
import numpy as np
import pytest
import torch

import jtorch
from tests.ops.mathcheck import check

pytestmark = [pytest.mark.filterwarnings("ignore:.*rectangular window"),
              pytest.mark.filterwarnings("ignore:.*return_complex=False")]


def _c(rng, shape, dtype=np.complex64):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("center, pad_mode", [(True, "reflect"), (True, "constant"), (True, "replicate"),
                                              (True, "circular"), (False, "reflect")])
def test_stft_options(rng, center, pad_mode):
    x = rng.standard_normal((3, 60)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, 12).astype(np.float32)
    for kw in [dict(n_fft=16), dict(n_fft=16, hop_length=5), dict(n_fft=16, win_length=12),
               dict(n_fft=15, hop_length=3, normalized=True), dict(n_fft=16, onesided=False)]:
        kw = dict(kw, center=center, pad_mode=pad_mode, return_complex=True)
        check(lambda L, a: L.stft(a, **kw), x, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, a, win: L.stft(a, 16, 4, 12, window=win, center=center, pad_mode=pad_mode, return_complex=True),
          x, w, grad=(0, 1), rtol=1e-4, atol=1e-4)


def test_stft_1d_method_real_output_and_dtypes(rng):
    x = rng.standard_normal(40).astype(np.float64)
    check(lambda L, a: a.stft(8, return_complex=True), x, grad=(0,), rtol=1e-6, atol=1e-8)
    check(lambda L, a: L.stft(a, 8, hop_length=3, return_complex=False), x, grad=(0,), rtol=1e-6, atol=1e-8)
    w32 = rng.uniform(0.5, 2, 8).astype(np.float32)
    check(lambda L, a, w: L.stft(a.float(), 8, window=w, return_complex=True), x, w32, grad=(1,), rtol=1e-4,
          atol=1e-4)  # float32 signal and window: complex64
    check(lambda L, a, w: L.stft(a, 8, window=w, return_complex=True), x, w32, grad=(0, 1), rtol=1e-5,
          atol=1e-5)  # float64 signal with a float32 window: complex128


def test_stft_align_to_window(rng):
    x = rng.standard_normal((2, 50)).astype(np.float32)
    for align in (None, False, True):
        check(lambda L, a: L.stft(a, 16, 4, 8, center=False, align_to_window=align, return_complex=True), x,
              grad=(0,), rtol=1e-4, atol=1e-4)


def test_stft_complex(rng):
    z = _c(rng, (2, 40))
    w = rng.uniform(0.5, 2.0, 10).astype(np.float32)
    check(lambda L, a: L.stft(a, 10), z, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, a, win: L.stft(a, 10, 3, window=win, return_complex=True, normalized=True), z, w,
          grad=(0, 1), rtol=1e-4, atol=1e-4)
    check(lambda L, a: L.stft(a, 10, return_complex=False), z, grad=(0,), rtol=1e-4, atol=1e-4)
    xr = rng.standard_normal(40).astype(np.float32)
    wc = _c(rng, 10)
    check(lambda L, a, win: L.stft(a, 10, window=win), xr, wc, grad=(0, 1), rtol=1e-4, atol=1e-4)


def test_istft_roundtrip_and_options(rng):
    x = rng.standard_normal((2, 64)).astype(np.float32)
    win = np.hanning(18)[1:-1].astype(np.float32)  # non-zero at its ends: the envelope never vanishes
    S = torch.stft(torch.tensor(x), 16, 4, window=torch.tensor(win), return_complex=True).numpy()
    check(lambda L, s, w: L.istft(s, 16, 4, window=w), S, win, grad=(0, 1), rtol=1e-4, atol=1e-4)
    check(lambda L, s, w: L.istft(s, 16, 4, window=w, length=70), S, win, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, s, w: L.istft(s, 16, 4, window=w, length=30), S, win, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, s, w: L.istft(s, 16, 4, window=w, normalized=True), S, win, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, s: L.istft(s[0], 16, 4), S, grad=(0,), rtol=1e-4, atol=1e-4)
    y = jtorch.istft(jtorch.stft(jtorch.tensor(x), 16, 4, window=jtorch.tensor(win), return_complex=True), 16, 4,
                     window=jtorch.tensor(win), length=64)
    np.testing.assert_allclose(np.asarray(y), x, atol=1e-5)  # the inverse rebuilds the signal


def test_istft_twosided_complex_and_center(rng):
    Z = _c(rng, (16, 7))
    Zh = _c(rng, (9, 7))
    check(lambda L, s: L.istft(s, 16, onesided=False), Z, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, s: L.istft(s, 16, onesided=False, return_complex=True), Z, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, s: L.istft(s, 16, win_length=12, hop_length=3), Zh, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, s: L.istft(s, 16, center=False, hop_length=3), Zh, grad=(0,), rtol=1e-4, atol=1e-4)
    wc = _c(rng, 16)
    check(lambda L, s, w: L.istft(s, 16, window=w, return_complex=True), Z, wc, grad=(0, 1), rtol=1e-4,
          atol=1e-4)
    Z64 = _c(rng, (2, 9, 5), np.complex128)
    check(lambda L, s: L.istft(s, 16, hop_length=2), Z64, grad=(0,), rtol=1e-7, atol=1e-8)


def _raises(exc, f):
    with pytest.raises(exc):
        f(torch)
    with pytest.raises(exc):
        f(jtorch)


def test_stft_errors(rng):
    x = rng.standard_normal((3, 40)).astype(np.float32)
    T = {torch: torch.tensor(x), jtorch: jtorch.tensor(x)}
    _raises(RuntimeError, lambda L: L.stft(T[L], 16))  # return_complex required for real input
    _raises(RuntimeError, lambda L: L.stft(T[L].long(), 16, return_complex=True))
    _raises(RuntimeError, lambda L: L.stft(T[L], 0, return_complex=True))
    _raises(RuntimeError, lambda L: L.stft(T[L], 50, center=False, return_complex=True))
    _raises(RuntimeError, lambda L: L.stft(T[L], 100, return_complex=True))  # reflect pad wider than the input
    _raises(RuntimeError, lambda L: L.stft(T[L], 16, hop_length=0, return_complex=True))
    _raises(RuntimeError, lambda L: L.stft(T[L], 16, win_length=20, return_complex=True))
    _raises(RuntimeError, lambda L: L.stft(T[L], 16, window=L.ones(15), return_complex=True))
    _raises(RuntimeError, lambda L: L.stft(T[L][None], 16, return_complex=True))
    _raises(RuntimeError, lambda L: L.stft(T[L].to(L.complex64), 16, onesided=True, return_complex=True))
    _raises(RuntimeError, lambda L: L.stft(T[L], 16, align_to_window=True, return_complex=True))
    _raises(NotImplementedError, lambda L: L.stft(T[L], 16, pad_mode="foo", return_complex=True))


def test_istft_errors(rng):
    z = _c(rng, (9, 6))
    Z = {torch: torch.tensor(z), jtorch: jtorch.tensor(z)}
    _raises(RuntimeError, lambda L: L.istft(Z[L].real.contiguous(), 16))
    _raises(RuntimeError, lambda L: L.istft(Z[L][None, None], 16))
    _raises(RuntimeError, lambda L: L.istft(Z[L][:, :0], 16))
    _raises(RuntimeError, lambda L: L.istft(Z[L], 16, hop_length=20))
    _raises(RuntimeError, lambda L: L.istft(Z[L], 16, win_length=8, hop_length=10))
    _raises(RuntimeError, lambda L: L.istft(Z[L], 15))
    _raises(RuntimeError, lambda L: L.istft(Z[L], 16, onesided=False))
    _raises(RuntimeError, lambda L: L.istft(Z[L], 16, onesided=True, return_complex=True))
    _raises(RuntimeError, lambda L: L.istft(Z[L], 16, window=L.zeros(16)))  # the envelope vanishes
    _raises(RuntimeError, lambda L: L.istft(Z[L], 16, window=L.ones(16) * 1e-7))
    _raises(RuntimeError, lambda L: L.istft(Z[L], 16, window=L.ones(12)))
    _raises(RuntimeError, lambda L: L.istft(Z[L], 16, center=False, win_length=12))  # zero-padded window edge

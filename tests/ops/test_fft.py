"""jtorch.fft against torch.fft: values, complex result dtypes, n/s/dim/norm, gradients."""
import numpy as np
import pytest
import torch

import jtorch
from tests.ops.mathcheck import check

NORMS = [None, "ortho", "forward"]


@pytest.mark.parametrize("norm", NORMS)
def test_1d(rng, norm):
    x = rng.standard_normal((3, 8)).astype(np.float32)
    z = (rng.standard_normal((3, 5)) + 1j * rng.standard_normal((3, 5))).astype(np.complex64)
    check(lambda L, a: L.fft.fft(a, norm=norm), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.ifft(a, n=6, dim=0, norm=norm), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.rfft(a, norm=norm), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.rfft(a, n=5, norm=norm), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.irfft(L.fft.rfft(a), norm=norm), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.irfft(L.fft.rfft(a), n=7, norm=norm), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.hfft(L.fft.ihfft(a), norm=norm), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.ihfft(a, norm=norm), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: (L.fft.fft(a, norm=norm), L.fft.irfft(a, norm=norm), L.fft.hfft(a, n=6, norm=norm)), z,
          rtol=1e-4, atol=1e-5)


def test_nd(rng):
    x = rng.standard_normal((2, 4, 6)).astype(np.float32)
    check(lambda L, a: L.fft.fft2(a), x, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, a: L.fft.ifft2(a, s=(3, 5)), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.fftn(a), x, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, a: L.fft.ifftn(a, dim=(0, 2), norm="ortho"), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.rfft2(a), x, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, a: L.fft.rfftn(a, s=(4, 4)), x, grad=(0,), rtol=1e-4, atol=1e-4)
    check(lambda L, a: L.fft.irfft2(L.fft.rfft2(a)), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.irfftn(L.fft.rfftn(a), s=(2, 4, 6)), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.hfft2(L.fft.ihfft2(a)), x, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.ihfftn(a, dim=(1, 2)), x, grad=(0,), rtol=1e-4, atol=1e-5)


def test_dtypes(rng):
    x64 = rng.standard_normal(8)
    check(lambda L, a: L.fft.fft(a), x64, grad=(0,))
    check(lambda L, a: L.fft.rfft(a), x64)
    check(lambda L, a: L.fft.fft(a), np.arange(8))           # integers: default float -> complex64
    check(lambda L, a: L.fft.irfft(a), np.arange(5), rtol=1e-5, atol=1e-5)
    assert jtorch.fft.rfft(jtorch.tensor(x64)).dtype == jtorch.complex128
    assert jtorch.fft.irfft(jtorch.fft.rfft(jtorch.tensor(x64.astype(np.float32)))).dtype == jtorch.float32


def test_helpers(rng):
    check(lambda L: (L.fft.fftfreq(5), L.fft.fftfreq(6, d=0.5), L.fft.rfftfreq(7), L.fft.rfftfreq(8, 2.0)))
    check(lambda L: L.fft.fftfreq(4, dtype=L.float64))
    x = rng.standard_normal((4, 5)).astype(np.float32)
    check(lambda L, a: (L.fft.fftshift(a), L.fft.ifftshift(a), L.fft.fftshift(a, dim=1),
                        L.fft.ifftshift(a, dim=(0,))), x, grad=(0,))


def test_errors():
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match="rfft expects a real input tensor"):
            L.fft.rfft(L.ones(4, dtype=L.complex64))
        with pytest.raises(RuntimeError, match="Invalid number of data points"):
            L.fft.fft(L.ones(4), n=0)
        with pytest.raises((ValueError, RuntimeError), match="Invalid normalization mode"):
            L.fft.fft(L.ones(4), norm="bad")
        with pytest.raises(IndexError):
            L.fft.fft(L.ones(4), dim=2)


def test_complex_input_gradients(rng):
    # torch's complex gradients are the conjugate of JAX's cotangents: checked through the whole chain
    z = (rng.standard_normal((2, 6)) + 1j * rng.standard_normal((2, 6))).astype(np.complex64)
    check(lambda L, a: L.fft.fft(a), z, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.ifft2(a, norm="ortho"), z, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.irfft(a, n=8), z, grad=(0,), rtol=1e-4, atol=1e-5)
    check(lambda L, a: L.fft.hfft(a), z, grad=(0,), rtol=1e-4, atol=1e-5)

"""Signal processing with complex tensors, as audio and physics scripts write it: torch.fft.rfft /
irfft / fft / ifft / fftn / rfft2 with norm options, fftfreq/rfftfreq, fftshift, a spectrogram via
torch.stft(return_complex=True) with a hann_window and its inverse torch.istft, magnitude/phase with
.abs()/.angle(), torch.polar, view_as_real/view_as_complex, a mel filterbank built by hand and a
log-mel feature, an analytic signal (Hilbert transform through the FFT), FFT convolution against
F.conv1d, a learnable frequency-domain filter trained through complex autograd (gradients through
rfft/irfft and complex multiplication), a complex-valued linear layer (complex64 parameters) trained
with Adam, and a Wiener-style denoiser."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tut_common import finish, record

rng = np.random.RandomState(0)
sr = 800
t = torch.arange(0, 256, dtype=torch.float32) / sr
clean = torch.sin(2 * math.pi * 50 * t) + 0.5 * torch.sin(2 * math.pi * 120 * t)
noise = torch.from_numpy(rng.randn(256).astype(np.float32)) * 0.3
x = clean + noise

# spectra
X = torch.fft.rfft(x)
record("rfft", X)
record("rfft_dtype", X.dtype)
freqs = torch.fft.rfftfreq(x.numel(), d=1.0 / sr)
record("rfftfreq", freqs)
peak = freqs[X.abs().argmax()]
print(f"dominant frequency: {peak.item():.2f} Hz")
record("irfft_roundtrip", torch.fft.irfft(X, n=x.numel()))
for norm in ("backward", "ortho", "forward"):
    record(f"fft_{norm}", torch.fft.fft(x, norm=norm))
    record(f"ifft_{norm}", torch.fft.ifft(torch.fft.fft(x, norm=norm), norm=norm).real)
record("fftfreq", torch.fft.fftfreq(8, d=0.5))
record("fftshift", torch.fft.fftshift(torch.fft.fftfreq(9)))
record("ifftshift", torch.fft.ifftshift(torch.arange(10.0).reshape(2, 5), dim=1))
img = torch.from_numpy(rng.randn(2, 6, 8).astype(np.float32))
record("rfft2", torch.fft.rfft2(img))
record("fftn", torch.fft.fftn(img, dim=(-2, -1), s=(4, 8)))
record("irfft2", torch.fft.irfft2(torch.fft.rfft2(img), s=img.shape[-2:]))
record("hfft", torch.fft.hfft(X[:9]))

# spectrogram and its inverse
n_fft, hop = 64, 16
window = torch.hann_window(n_fft)
spec = torch.stft(x, n_fft=n_fft, hop_length=hop, window=window, return_complex=True)
record("stft", spec)
power = spec.abs() ** 2
record("power", power)
# phase only where it is well conditioned: the DC and Nyquist bins and the first frame (centred
# on sample 0 with reflect padding, so symmetric) are real up to rounding, and the sign of their
# tiny imaginary parts (phase +-pi) is rounding; tiny magnitudes make the angle ill-conditioned
inner = spec[1:-1, 1:]
record("phase", torch.where(inner.abs() > 0.5, inner.angle(), torch.zeros(())))
recon = torch.istft(spec, n_fft=n_fft, hop_length=hop, window=window, length=x.numel())
record("istft", recon)
print(f"istft max error: {(recon - x).abs().max().item() < 1e-4}")
batch = torch.stack([x, clean])
record("stft_batched", torch.stft(batch, 32, hop_length=8, window=torch.hamming_window(32), center=False,
                                  return_complex=True, onesided=True, normalized=True))


# a mel filterbank built by hand, as in the pre-torchaudio recipes
def hz_to_mel(f):
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10 ** (m / 2595.0) - 1.0)


def mel_filterbank(n_mels, n_fft, sr):
    n_freqs = n_fft // 2 + 1
    all_freqs = torch.linspace(0, sr // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel(torch.tensor(0.0)), hz_to_mel(torch.tensor(sr / 2.0)), n_mels + 2)
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.max(torch.zeros(1), torch.min(down, up))


fb = mel_filterbank(10, n_fft, sr)
record("fb", fb)
mel = torch.matmul(power.transpose(-1, -2), fb).transpose(-1, -2)
logmel = torch.log(mel.clamp(min=1e-10))
record("logmel", logmel)
mfcc_basis = torch.cos(math.pi / 10 * (torch.arange(10.0) + 0.5).unsqueeze(0) * torch.arange(5.0).unsqueeze(1))
record("mfcc", mfcc_basis @ logmel)


# analytic signal: zero the negative frequencies
def hilbert(sig):
    N = sig.shape[-1]
    Xf = torch.fft.fft(sig)
    h = torch.zeros(N)
    h[0] = 1
    h[1:N // 2] = 2
    h[N // 2] = 1
    return torch.fft.ifft(Xf * h)


analytic = hilbert(clean)
record("envelope", analytic.abs())
record("inst_phase", torch.diff(analytic.angle()))

# complex helpers
z = torch.polar(torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.0, math.pi / 3, -math.pi / 4]))
record("polar", z)
record("view_as_real", torch.view_as_real(z))
record("view_as_complex", torch.view_as_complex(torch.view_as_real(z) * 2))
record("conj_mul", (z * z.conj()).real)
record("complex_ctor", torch.complex(torch.tensor([1.0, -1.0]), torch.tensor([0.5, 2.0])))
print("complex:", z.dtype, z.real.dtype, z.imag.shape, z.is_complex())
print(torch.tensor([1 + 2j, 3 - 1j]))

# FFT convolution equals conv1d (cross-correlation with a flipped kernel)
kern = torch.from_numpy(rng.randn(9).astype(np.float32))
L = x.numel() + kern.numel() - 1
fft_conv = torch.fft.irfft(torch.fft.rfft(x, n=L) * torch.fft.rfft(kern, n=L), n=L)
direct = F.conv1d(x.view(1, 1, -1), kern.flip(0).view(1, 1, -1), padding=kern.numel() - 1).view(-1)
record("fft_conv", fft_conv)
record("fft_conv_eq", torch.allclose(fft_conv, direct, atol=1e-4))


# a learnable frequency-domain filter trained to denoise (gradients through complex ops)
class SpectralFilter(nn.Module):
    def __init__(self, n_freqs):
        super().__init__()
        self.gain_re = nn.Parameter(torch.ones(n_freqs))
        self.gain_im = nn.Parameter(torch.zeros(n_freqs))

    def forward(self, sig):
        S = torch.fft.rfft(sig, dim=-1)
        G = torch.complex(self.gain_re, self.gain_im)
        return torch.fft.irfft(S * G, n=sig.shape[-1], dim=-1)


filt = SpectralFilter(129)
opt = torch.optim.Adam(filt.parameters(), lr=0.05)
noisy = clean + torch.from_numpy(rng.randn(4, 256).astype(np.float32)) * 0.3
losses = []
for step in range(6):
    opt.zero_grad()
    loss = F.mse_loss(filt(noisy), clean.expand_as(noisy))
    loss.backward()
    opt.step()
    losses.append(loss.item())
record("filter_losses", losses)
record("filter_gain_re", filt.gain_re)
record("filter_gain_im", filt.gain_im)

# gradients of real losses of complex intermediates
w = torch.from_numpy(rng.randn(16).astype(np.float32)).requires_grad_()
loss = torch.fft.fft(w).abs().pow(2).sum() + torch.fft.rfft(w).angle().sin().sum()
loss.backward()
record("grad_fft_abs", w.grad)
zc = torch.complex(torch.from_numpy(rng.randn(5).astype(np.float32)),
                   torch.from_numpy(rng.randn(5).astype(np.float32))).requires_grad_()
(zc * zc.conj() + zc.exp()).real.sum().backward()
record("grad_complex_leaf", zc.grad)


# a complex-valued linear layer trained with Adam (complex parameters)
class ComplexLinear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        w = rng.randn(n_out, n_in) + 1j * rng.randn(n_out, n_in)
        self.weight = nn.Parameter(torch.from_numpy((w / np.sqrt(n_in)).astype(np.complex64)))

    def forward(self, inp):
        return inp @ self.weight.T


cl = ComplexLinear(8, 8)
copt = torch.optim.Adam(cl.parameters(), lr=0.01)
target = torch.fft.fft(torch.eye(8), norm="ortho")  # learn the DFT matrix's action
inp = torch.complex(torch.from_numpy(rng.randn(16, 8).astype(np.float32)),
                    torch.from_numpy(rng.randn(16, 8).astype(np.float32)))
closses = []
for step in range(5):
    copt.zero_grad()
    loss = (cl(inp) - inp @ target.T).abs().pow(2).mean()
    loss.backward()
    copt.step()
    closses.append(loss.item())
record("complex_losses", closses)
record("complex_weight", cl.weight)
record("complex_grad", cl.weight.grad)
print(f"complex layer loss {closses[0]:.4f} -> {closses[-1]:.4f}")

# Wiener-style spectral gain on the STFT
noise_psd = (torch.stft(noise, n_fft, hop, window=window, return_complex=True).abs() ** 2).mean(-1, keepdim=True)
gain = (power / (power + noise_psd)).clamp(0, 1)
den = torch.istft(spec * gain, n_fft, hop, window=window, length=x.numel())
record("wiener", den)
print(f"snr in {10 * torch.log10(clean.pow(2).sum() / noise.pow(2).sum()).item():.2f} dB, "
      f"out {10 * torch.log10(clean.pow(2).sum() / (den - clean).pow(2).sum()).item():.2f} dB")
finish()

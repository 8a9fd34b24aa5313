"""Short-time Fourier transforms: ``stft`` and its inverse ``istft``.

Each is a thin Python wrapper (torch's argument defaults and errors) around one kernel: a pure
function of the signal and the window with static sizes, so XLA sees framing, windowing, the FFT
and (for istft) the overlap-add as one program, and the gradient is JAX's VJP of that program.
"""
import jax
import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .._dispatch import defop, function

_PAD_MODES = {"reflect": "reflect", "constant": "constant", "replicate": "edge", "circular": "wrap"}


def _T():
    from .. import _dispatch
    return _dispatch.Tensor


def _full_window(window, win_length, n_fft, dtype):
    """The window zero-padded (centred) to n_fft points; None means a rectangular window of win_length."""
    w = jnp.ones((win_length,), dtype) if window is None else window
    left = (n_fft - win_length) // 2
    return jnp.pad(w, (left, n_fft - win_length - left))


def _frames_index(n_frames, n_fft, hop):
    return np.arange(n_frames)[:, None] * hop + np.arange(n_fft)[None, :]


@defop(method=False, function=False, name="_stft")
def _stft(input, window, n_fft=1, hop_length=1, win_length=1, center=True, pad_mode="reflect", normalized=False,
          onesided=True, return_complex=True, align_to_window=False):
    real = jnp.float64 if jnp.result_type(input, *(() if window is None else (window,))) in (
        jnp.float64, jnp.complex128) else jnp.float32
    x = input
    if center:
        p = n_fft // 2
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(p, p)], mode=_PAD_MODES[pad_mode])
    elif align_to_window:
        # frame t's window (not its n_fft-wide frame) starts at t * hop_length: zero-pad by the window's offset
        left = (n_fft - win_length) // 2
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(left, n_fft - win_length - left)])
    n_frames = 1 + (x.shape[-1] - n_fft) // hop_length
    frames = x[..., _frames_index(n_frames, n_fft, hop_length)]            # (..., frames, n_fft)
    frames = frames * _full_window(window, win_length, n_fft, real)
    if onesided:
        spec = jnp.fft.rfft(frames, axis=-1)
    else:
        spec = jnp.fft.fft(frames.astype(jnp.complex128 if real == jnp.float64 else jnp.complex64), axis=-1)
    if normalized:
        spec = spec * float(1.0 / np.sqrt(n_fft))  # a Python float: keeps complex64
    spec = jnp.swapaxes(spec, -1, -2)                                     # (..., freq, frames)
    return spec if return_complex else jnp.stack([spec.real, spec.imag], -1)


@defop(method=False, function=False, name="_istft")
def _istft(input, window, n_fft=1, hop_length=1, win_length=1, center=True, normalized=False, onesided=True,
           length=None, return_complex=False):
    spec = jnp.swapaxes(input, -1, -2)                                    # (..., frames, freq)
    if normalized:
        spec = spec * float(np.sqrt(n_fft))
    real = jnp.float64 if spec.dtype == jnp.complex128 else jnp.float32
    if window is not None and window.dtype in (jnp.float64, jnp.complex128):
        real = jnp.float64
    if not return_complex:
        # a real signal: only the non-negative frequencies are used (Hermitian symmetry)
        frames = jnp.fft.irfft(spec[..., : n_fft // 2 + 1], n=n_fft, axis=-1)
    else:
        frames = jnp.fft.ifft(spec, n=n_fft, axis=-1)
    w = _full_window(window, win_length, n_fft, real)
    frames = frames * w
    n_frames = frames.shape[-2]
    total = n_fft + hop_length * (n_frames - 1)
    idx = _frames_index(n_frames, n_fft, hop_length).reshape(-1)
    y = jnp.zeros(frames.shape[:-2] + (total,), frames.dtype)
    y = y.at[..., idx].add(frames.reshape(frames.shape[:-2] + (-1,)))
    env = jnp.zeros((total,), w.dtype).at[idx].add(jnp.tile(w * w, n_frames))  # the window's overlap-add
    start = n_fft // 2 if center else 0
    end = total - (n_fft // 2 if center else 0) if length is None else start + length
    end_avail = min(end, total)
    y = y[..., start:end_avail] / env[start:end_avail]
    if end > total:
        y = jnp.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, end - total)])
    return y


def _concrete(t):
    return t is not None and not isinstance(t._value, jax.core.Tracer)


def _window_arg(name, window, win_length, n_fft, describe):
    if win_length is None:
        win_length = n_fft
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{describe}: expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win_length):
        raise RuntimeError(f"{describe}: expected a 1D window tensor of size equal to win_length={win_length}, but "
                           f"got window with size {list(window.shape)}")
    return win_length


@function
def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None, align_to_window=None):
    describe = f"stft(n_fft={n_fft})"
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(f"{describe}: expected a tensor of floating point or complex values, got {input.dtype}")
    complex_in = input.dtype.is_complex or (window is not None and window.dtype.is_complex)
    if return_complex is None:
        if not complex_in:
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{describe}: expected a 1D or 2D tensor, but got {input.ndim}D tensor")
    if pad_mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {pad_mode}")
    if align_to_window is not None and center:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    length = input.shape[-1]
    if center:
        p = n_fft // 2
        if pad_mode == "reflect" and p >= length:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({p}, {p}) at dimension {input.ndim} of input {list(input.shape)}")
        length += 2 * p
    hop_length = n_fft // 4 if hop_length is None else hop_length
    if not 0 < n_fft <= length:
        raise RuntimeError(f"{describe}: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop_length <= 0:
        raise RuntimeError(f"{describe}: expected hop_length > 0, but got hop_length={hop_length}")
    win_length = _window_arg("stft", window, win_length, n_fft, describe)
    if onesided is None:
        onesided = not complex_in
    elif onesided and complex_in:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    return _stft(input, window, n_fft=n_fft, hop_length=hop_length, win_length=win_length, center=bool(center),
                 pad_mode=pad_mode, normalized=bool(normalized), onesided=bool(onesided),
                 return_complex=bool(return_complex), align_to_window=bool(align_to_window))


@function
def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    describe = f"istft(n_fft={n_fft})"
    if not input.dtype.is_complex:
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{describe}: expected a tensor with 3 or 4 dimensions, but got {input.ndim + 1}")
    if input.numel() == 0:
        raise RuntimeError(f"{describe}: input tensor cannot be empty.")
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = _window_arg("istft", window, win_length, n_fft, describe)
    if not 0 < hop_length <= win_length:
        raise RuntimeError(f"{describe}: expected 0 < hop_length <= win_length")
    n_freq = input.shape[-2]
    if onesided is None:
        onesided = n_freq != n_fft
    if onesided:
        if n_freq != n_fft // 2 + 1:
            raise RuntimeError(f"{describe}: expected the frequency dimension (3rd to the last) of the input tensor "
                               f"to match n_fft / 2 + 1 when onesided=True, but got {n_freq}")
        if return_complex:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
    elif n_freq != n_fft:
        raise RuntimeError(f"{describe}: expected the frequency dimension (3rd to the last) of the input tensor to "
                           f"match n_fft when onesided=False, but got {n_freq}")
    if not return_complex and window is not None and window.dtype.is_complex:
        raise RuntimeError("Complex windows are incompatible with return_complex=False")
    n_frames = input.shape[-1]
    total = n_fft + hop_length * (n_frames - 1)
    start = n_fft // 2 if center else 0
    end = total - (n_fft // 2 if center else 0) if length is None else start + length
    if window is None or _concrete(window):
        # the window envelope must not vanish where the signal is rebuilt (else 0/0)
        w = np.ones(win_length) if window is None else np.asarray(window.detach()._value)
        left = (n_fft - win_length) // 2
        w = np.pad(w, (left, n_fft - win_length - left))
        env = np.zeros(total, w.dtype)
        np.add.at(env, _frames_index(n_frames, n_fft, hop_length).reshape(-1), np.tile(w * w, n_frames))
        seg = env[start:min(end, total)]
        if seg.size and np.abs(seg).min() < 1e-11:
            raise RuntimeError(f"{describe}: window overlap add min: {np.abs(seg).min():.3g} (the window's overlap-add "
                               f"envelope vanishes; choose another window or hop_length)")
    return _istft(input, window, n_fft=n_fft, hop_length=hop_length, win_length=win_length, center=bool(center),
                  normalized=bool(normalized), onesided=bool(onesided), length=length,
                  return_complex=bool(return_complex))

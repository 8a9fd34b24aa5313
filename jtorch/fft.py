"""torch.fft: discrete Fourier transforms over jnp.fft.

Real inputs become complex64 (float32) / complex128 (float64); integer inputs are first
cast to the default float dtype, as in torch. One kernel per family (c2c, r2c, c2r),
parameterised by static dims/sizes/norm; ``hfft*`` are c2r transforms of the conjugate
with the normalisation swapped.
"""
import jax.numpy as jnp
import numpy as np

from . import _dtype as D
from ._dispatch import defop
from ._ops.linalg_ops import _type_name
from ._ops.shape import _wrap

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _complex_of(x):
    if jnp.iscomplexobj(x):
        return x
    return x.astype(jnp.complex128 if x.dtype == jnp.float64 else jnp.complex64)


@defop(method=False, function=False, promote="float", name="_fft_c2c")
def _c2c(input, s=None, dim=(-1,), norm="backward", inverse=False):
    f = jnp.fft.ifftn if inverse else jnp.fft.fftn
    return f(_complex_of(input), s=s, axes=dim, norm=norm)


@defop(method=False, function=False, promote="float", name="_fft_r2c")
def _r2c(input, s=None, dim=(-1,), norm="backward", conj=False):
    r = jnp.fft.rfftn(input, s=s, axes=dim, norm=norm)
    return jnp.conj(r) if conj else r


@defop(method=False, function=False, promote="float", name="_fft_c2r")
def _c2r(input, s=None, dim=(-1,), norm="backward", conj=False):
    x = _complex_of(input)
    return jnp.fft.irfftn(jnp.conj(x) if conj else x, s=s, axes=dim, norm=norm)


def _norm(norm):
    if norm is None:
        return "backward"
    if norm not in _SWAP:
        raise ValueError(f'Invalid normalization mode: "{norm}"')
    return norm


def _dims(input, s, dim, default_all, name):
    nd = input.ndim
    if isinstance(s, int):
        s = (s,)
    if dim is None:
        if s is not None:
            if len(s) > nd:
                raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {nd} dimensions.")
            dims = tuple(range(nd - len(s), nd))
        else:
            dims = tuple(range(nd)) if default_all is None else default_all
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = [_wrap(d, nd, wrap_scalar=False) for d in dims]
    if len(set(out)) != len(out):
        raise RuntimeError(f"{name} dims must be unique")
    if not out and name in _ONE_SIDED:
        raise RuntimeError(f"{name} must transform at least one axis")
    if s is not None:
        s = tuple(s)
        if len(s) != len(out):
            raise RuntimeError(f"When given, dim and shape arguments must have the same length")
        s = tuple(out_s if out_s != -1 else input.shape[d] for out_s, d in zip(s, out))
        for v in s:
            if v <= 0:
                raise RuntimeError(f"Invalid number of data points ({v}) specified")
    return s, tuple(out)


_ONE_SIDED = ("rfftn", "irfftn", "hfftn", "ihfftn")  # a one-sided transform halves its last dim: it needs one


def _real_only(input, name):
    if input.dtype.is_complex:
        raise RuntimeError(f"{name} expects a real input tensor, but got {_type_name(input)}")


def _check_n(n):
    if n is not None and n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


# ---------------------------------------------------------------- complex <-> complex
def fft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_n(n)
    s, d = _dims(input, None if n is None else (n,), dim, None, "fft")
    return _out(_c2c(input, s=s, dim=d, norm=_norm(norm)), out)


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_n(n)
    s, d = _dims(input, None if n is None else (n,), dim, None, "ifft")
    return _out(_c2c(input, s=s, dim=d, norm=_norm(norm), inverse=True), out)


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    s, d = _dims(input, s, dim, None, "fftn")
    return _out(_c2c(input, s=s, dim=d, norm=_norm(norm)), out)


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    s, d = _dims(input, s, dim, None, "ifftn")
    return _out(_c2c(input, s=s, dim=d, norm=_norm(norm), inverse=True), out)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return fftn(input, s, dim, norm, out=out)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return ifftn(input, s, dim, norm, out=out)


# ---------------------------------------------------------------- real -> onesided complex
def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    _real_only(input, "rfft")
    _check_n(n)
    s, d = _dims(input, None if n is None else (n,), dim, None, "rfft")
    return _out(_r2c(input, s=s, dim=d, norm=_norm(norm)), out)


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    _real_only(input, "rfftn")
    s, d = _dims(input, s, dim, None, "rfftn")
    return _out(_r2c(input, s=s, dim=d, norm=_norm(norm)), out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return rfftn(input, s, dim, norm, out=out)


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    _real_only(input, "ihfft")
    _check_n(n)
    s, d = _dims(input, None if n is None else (n,), dim, None, "ihfft")
    return _out(_r2c(input, s=s, dim=d, norm=_SWAP[_norm(norm)], conj=True), out)


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    _real_only(input, "ihfftn")
    s, d = _dims(input, s, dim, None, "ihfftn")
    return _out(_r2c(input, s=s, dim=d, norm=_SWAP[_norm(norm)], conj=True), out)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return ihfftn(input, s, dim, norm, out=out)


# ---------------------------------------------------------------- onesided complex -> real
def _c2r_sizes(input, s, d):
    # the last transformed dim defaults to 2 * (m - 1) points
    if s is None:
        s = tuple(input.shape[x] for x in d[:-1]) + (2 * (input.shape[d[-1]] - 1),)
    if s[-1] < 1:
        raise RuntimeError(f"Invalid number of data points ({s[-1]}) specified")
    return s


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_n(n)
    s, d = _dims(input, None if n is None else (n,), dim, None, "irfft")
    return _out(_c2r(input, s=_c2r_sizes(input, s, d), dim=d, norm=_norm(norm)), out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    s, d = _dims(input, s, dim, None, "irfftn")
    return _out(_c2r(input, s=_c2r_sizes(input, s, d), dim=d, norm=_norm(norm)), out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return irfftn(input, s, dim, norm, out=out)


def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    _check_n(n)
    s, d = _dims(input, None if n is None else (n,), dim, None, "hfft")
    return _out(_c2r(input, s=_c2r_sizes(input, s, d), dim=d, norm=_SWAP[_norm(norm)], conj=True), out)


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    s, d = _dims(input, s, dim, None, "hfftn")
    return _out(_c2r(input, s=_c2r_sizes(input, s, d), dim=d, norm=_SWAP[_norm(norm)], conj=True), out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return hfftn(input, s, dim, norm, out=out)


def _out(res, out):
    if out is None:
        return res
    from ._dispatch import _write_out
    return _write_out(out, res)


# ---------------------------------------------------------------- helpers
def _freq(values, dtype, device, requires_grad):
    from ._ops.creation import tensor
    t = tensor(values, dtype=dtype or D.get_default_dtype(), device=device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _out(_freq(np.fft.fftfreq(n, d), dtype, device, requires_grad), out)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _out(_freq(np.fft.rfftfreq(n, d), dtype, device, requires_grad), out)


@defop(method=False, function=False, saves=(), name="_fft_roll")
def _roll(input, shifts=(), dims=()):
    return jnp.roll(input, shifts, dims) if dims else input


def _shift(input, dim, sign):
    if dim is None:
        dims = tuple(range(input.ndim))
    else:
        dims = tuple(d % input.ndim for d in ((dim,) if isinstance(dim, int) else dim))
    shifts = tuple(sign * (input.shape[d] // 2) if sign > 0 else -(input.shape[d] // 2) for d in dims)
    return _roll(input, shifts=shifts, dims=dims)


def fftshift(input, dim=None):
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):
    return _shift(input, dim, -1)

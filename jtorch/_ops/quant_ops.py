"""Fake quantization (quantize then dequantize in floating point), as quantization-aware training uses it:
``torch.fake_quantize_per_tensor_affine`` and ``torch.fake_quantize_per_channel_affine``.

q = round_half_even(x * (1 / scale)) + zero_point (a floating zero point: round(x / scale + zero_point)),
out = (clamp(q, quant_min, quant_max) - zero_point) * scale. The gradient is the straight-through estimator:
the incoming gradient where q fell inside [quant_min, quant_max], zero where it was clamped; scale and
zero_point get none (torch refuses them requiring grad)."""
import functools

import jax
import jax.numpy as jnp

from .. import _dtype as D
from .._dispatch import defop, function

_LOW = (jnp.float16, jnp.bfloat16)


def _quant(x, scale, zero_point, qmin, qmax, float_zp):
    """(fake-quantized x, in-range mask), computed in float32 for half inputs."""
    xf = x.astype(jnp.float32) if x.dtype in _LOW else x
    if float_zp:
        zp = zero_point.astype(xf.dtype)
        q = jnp.round(xf / scale.astype(xf.dtype) + zp)
    else:
        zp = zero_point.astype(jnp.int64).astype(xf.dtype)
        inv = (jnp.float32(1) / scale.astype(jnp.float32)).astype(xf.dtype)
        q = jnp.round(xf * inv) + zp
    mask = (q >= qmin) & (q <= qmax)
    out = (jnp.clip(q, qmin, qmax) - zp) * scale.astype(xf.dtype)
    return out.astype(x.dtype), mask


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _fake_quant(x, scale, zero_point, qmin, qmax, float_zp):
    return _quant(x, scale, zero_point, qmin, qmax, float_zp)[0]


def _fq_fwd(x, scale, zero_point, qmin, qmax, float_zp):
    out, mask = _quant(x, scale, zero_point, qmin, qmax, float_zp)
    return out, mask


def _fq_bwd(qmin, qmax, float_zp, res, g):
    mask = res
    return jnp.where(mask, g, jnp.zeros((), g.dtype)), None, None


_fake_quant.defvjp(_fq_fwd, _fq_bwd)


@defop(method=False, function=False, promote=None)
def _fake_quantize(input, scale, zero_point, quant_min=0, quant_max=255, axis=-1, float_zp=False):
    if axis >= 0:  # per channel: scale and zero_point run along ``axis``
        shape = [1] * input.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return _fake_quant(input, jnp.asarray(scale), jnp.asarray(zero_point), quant_min, quant_max, float_zp)


def _check_common(input, quant_min, quant_max, name):
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{name}" not implemented for \'{str(input.dtype).split(".")[-1].capitalize()}\'')
    if quant_min > quant_max:
        raise RuntimeError("`quant_min` should be less than or equal to `quant_max`.")


def _no_grad_qparam(t, what, fn):
    from ..tensor import Tensor
    if isinstance(t, Tensor) and t.requires_grad:
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{what}'. This input "
                           "cannot have requires_grad True.")


@function(method=False)
def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max):
    from ..tensor import Tensor
    _check_common(input, quant_min, quant_max, "fake_quantize_tensor_cachemask_kernel_type_handling")
    if isinstance(scale, Tensor) or isinstance(zero_point, Tensor):
        fn = "_fake_quantize_per_tensor_affine_cachemask_tensor_qparams"
        _no_grad_qparam(scale, "scale", fn)
        _no_grad_qparam(zero_point, "zero_point", fn)
        # copies: the tape must not tie the result to a buffer an observer rewrites in place (a fake
        # quantization called twice in one forward, as a shared FX observer is)
        scale = scale.detach().to(D.float32, copy=True) if isinstance(scale, Tensor) else float(scale)
        zero_point = zero_point.detach().to(D.int64, copy=True) if isinstance(zero_point, Tensor) else int(zero_point)
    else:
        if not isinstance(zero_point, int) or isinstance(zero_point, bool):
            raise TypeError("fake_quantize_per_tensor_affine() received an invalid combination of arguments - "
                            f"zero_point must be an int or a Tensor, got {type(zero_point).__name__}")
        if not quant_min <= zero_point <= quant_max:
            raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
        scale = float(scale)
    return _fake_quantize(input, scale, zero_point, quant_min=int(quant_min), quant_max=int(quant_max))


@function(method=False)
def fake_quantize_per_channel_affine(input, scale, zero_point, axis, quant_min, quant_max):
    _check_common(input, quant_min, quant_max, "fake_quantize_channel_cachemask_kernel_type_handling")
    if scale.dtype not in (D.float32, D.bfloat16):
        raise RuntimeError(f"Scale must be Float or BFloat16, found {D.scalar_type_name(scale.dtype)}")
    if zero_point.dtype not in (D.int32, D.float32, D.float16):
        raise RuntimeError(f"Zero-point must be Int32, Float or Half, found {D.scalar_type_name(zero_point.dtype)}")
    nd = input.ndim
    if not -max(nd, 1) <= axis < max(nd, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(nd, 1)}, {max(nd, 1) - 1}], "
                         f"but got {axis})")
    if axis < 0:
        raise RuntimeError("`axis` must be between 0 and number of dimensions of input")
    if scale.dim() != 1 or zero_point.dim() != 1:
        raise RuntimeError("scale and zero-point need to be 1-D tensors")
    if scale.numel() != zero_point.numel():
        raise RuntimeError("scale and zero-point need to have the same dimensions")
    if scale.numel() != input.shape[axis]:
        raise RuntimeError("dimensions of scale and zero-point are not consistent with input tensor")
    float_zp = zero_point.dtype.is_floating_point
    if not float_zp and (bool((zero_point < quant_min).any()) or bool((zero_point > quant_max).any())):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    fn = "fake_quantize_per_channel_affine"
    _no_grad_qparam(scale, "scale", fn)
    _no_grad_qparam(zero_point, "zero_point", fn)
    return _fake_quantize(input, scale.detach(), zero_point.detach(), quant_min=int(quant_min),
                          quant_max=int(quant_max), axis=int(axis), float_zp=float_zp)


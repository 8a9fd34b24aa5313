"""The integer math of quantized tensors, as jtorch ops (pure jax functions, jitted and cached by dispatch).

Rounding follows torch's CPU kernels bit for bit (checked against torch on random inputs and exact ties):
per tensor, 8-bit types compute ``round_half_even(fma(x, 1/scale, zero_point))`` in float32 (one rounding
of x * inv_scale + zero_point, as fbgemm's vector code does), qint32 adds the zero point after rounding the
product to float32; per channel, ``round_half_even(float32(zero_point) + float32(x * inv_scale))``.
Dequantizing is ``float32(q - zero_point) * float32(scale)`` per tensor and
``float32((q - zero_point) * scale)`` (in float64) per channel."""
import jax.numpy as jnp

from ..._dispatch import defop


def _channel_shape(ndim, axis):
    shape = [1] * ndim
    shape[axis] = -1
    return shape


@defop(method=False, function=False, differentiable=False)
def _q_per_tensor(x, scale, zero_point, qmin=0, qmax=255, np_dtype="uint8", mode="fma"):
    """mode: "fma" (8-bit quantize_per_tensor), "add" (qint32: zp + float32 product, then round), "round"
    (torch's requantizing kernels, e.g. quantized add: round the float32 product, then add zp)."""
    s = jnp.asarray(scale, jnp.float32)
    inv = jnp.float32(1) / s
    zp = jnp.asarray(zero_point, jnp.int64)
    x = x.astype(jnp.float32)
    if mode == "fma":  # one rounding of x * inv + zp (the product of two float32 is exact in float64)
        v = jnp.round((x.astype(jnp.float64) * inv.astype(jnp.float64) + zp.astype(jnp.float64)).astype(jnp.float32))
    elif mode == "add":
        v = jnp.round(zp.astype(jnp.float32) + x * inv)
    else:
        v = jnp.round(x * inv) + zp.astype(jnp.float32)
    q = jnp.clip(v, qmin, qmax)
    return q.astype(np_dtype)


@defop(method=False, function=False, differentiable=False)
def _q_per_channel(x, scales, zero_points, axis=0, qmin=0, qmax=255, np_dtype="uint8"):
    shape = _channel_shape(x.ndim, axis)
    inv = (jnp.float32(1) / scales.astype(jnp.float32)).reshape(shape)
    zp = zero_points.astype(jnp.float32).reshape(shape)
    q = jnp.clip(jnp.round(zp + x.astype(jnp.float32) * inv), qmin, qmax)
    return q.astype(np_dtype)


@defop(method=False, function=False, differentiable=False)
def _dq_per_tensor(q, scale, zero_point):
    d = q.astype(jnp.int64) - jnp.asarray(zero_point, jnp.int64)
    return d.astype(jnp.float32) * jnp.asarray(scale, jnp.float32)


@defop(method=False, function=False, differentiable=False)
def _dq_per_channel(q, scales, zero_points, axis=0, float_qparams=False):
    shape = _channel_shape(q.ndim, axis)
    if float_qparams:  # per_channel_affine_float_qparams: x = (q - zp) * scale with a float zero point
        return ((q.astype(jnp.float32) - zero_points.astype(jnp.float32).reshape(shape))
                * scales.astype(jnp.float32).reshape(shape))
    d = q.astype(jnp.int64) - zero_points.astype(jnp.int64).reshape(shape)
    return (d * scales.astype(jnp.float64).reshape(shape)).astype(jnp.float32)


@defop(method=False, function=False, differentiable=False)
def _q_relu(q, zero_point):
    return jnp.maximum(q, jnp.asarray(zero_point).astype(q.dtype))


@defop(method=False, function=False, differentiable=False)
def _pack_nibbles(q, bits=4):
    """quint4x2/quint2x4's int_repr: the flat values packed into bytes, the first in the low bits."""
    per = 8 // bits
    flat = q.reshape(-1).astype(jnp.uint8)
    pad = (-flat.shape[0]) % per
    flat = jnp.concatenate([flat, jnp.zeros((pad,), jnp.uint8)]).reshape(-1, per)
    out = jnp.zeros((flat.shape[0],), jnp.uint8)
    for k in range(per):
        out = out | (flat[:, k] << (bits * k))
    return out


@defop(method=False, function=False, differentiable=False)
def _round_clamp(x, qmin=0, qmax=255, np_dtype="uint8"):
    """Round half to even and clamp to the integer type's range."""
    return jnp.clip(jnp.round(x), qmin, qmax).astype(np_dtype)

"""Integer kernels of quantized linear and convolution (torch's fbgemm/x86 engine arithmetic).

Products of the zero-point-shifted integers are summed exactly (in float64: every partial sum of 8-bit
products stays far below 2**53, and XLA's CPU float64 convolution is faster than its int32 one). The sum is
then scaled to float32 (``acc * (x_scale * w_scale) + bias``) and, for a quantized output, requantized:
``round_half_even(y * (1 / out_scale)) + out_zero_point`` clamped to the output type's range."""
import jax
import jax.numpy as jnp

from ...._dispatch import defop


def _requantize(y, inv_out_scale, out_zp, qmin, qmax, relu, np_dtype):
    q = jnp.round(y * inv_out_scale) + jnp.asarray(out_zp, jnp.float32)
    lo = jnp.maximum(jnp.float32(qmin), jnp.asarray(out_zp, jnp.float32)) if relu else qmin
    return jnp.clip(q, lo, qmax).astype(np_dtype)


def _scaled(acc, mult, bias):
    y = acc.astype(jnp.float32) * mult
    return y if bias is None else y + bias.astype(jnp.float32)


def _shifted(q, zp, shape=None):
    zp = jnp.asarray(zp)
    if shape is not None:
        zp = zp.reshape(shape)
    return q.astype(jnp.float64) - zp.astype(jnp.float64)


@defop(method=False, function=False, differentiable=False)
def _qlinear(xq, wq, bias, x_zp, w_zp, mult, inv_out_scale, out_zp, qmin=0, qmax=255, relu=False,
             np_dtype="uint8"):
    acc = jnp.matmul(_shifted(xq, x_zp), _shifted(wq, w_zp, (-1, 1)).T)
    return _requantize(_scaled(acc, mult, bias), inv_out_scale, out_zp, qmin, qmax, relu, np_dtype)


_SMALL_SCALE = float(jnp.float32(6.1e-5))


def _choose_qparams(x, qmin, qmax):
    """torch's dynamic activation parameters, in-graph (``_qtensor._functions.choose_qparams`` without
    preserve_sparsity): (float64 scale, int zero point) from x's range."""
    f32 = (lambda v: v.astype(jnp.float32).astype(jnp.float64))
    mn = jnp.minimum(jnp.min(x).astype(jnp.float64), 0.0)
    mx = jnp.maximum(jnp.max(x).astype(jnp.float64), 0.0)
    scale = (mx - mn) / (qmax - qmin)
    s32 = scale.astype(jnp.float32)
    scale = jnp.where((s32 == 0) | jnp.isinf(jnp.float32(1) / s32), 0.1, scale)
    # scales under 6.1e-5 are raised to it, the range widened with them
    small = scale < _SMALL_SCALE
    grow = (jnp.float32(_SMALL_SCALE) / scale.astype(jnp.float32)).astype(jnp.float64)
    span = f32(jnp.float64(_SMALL_SCALE * (qmax - qmin)))
    new_mn = jnp.where(mn == 0, mn, jnp.where(mx == 0, -span, f32(mn * grow)))
    new_mx = jnp.where(mn == 0, span, jnp.where(mx == 0, mx, f32(mx * grow)))
    mn, mx = jnp.where(small, new_mn, mn), jnp.where(small, new_mx, mx)
    scale = jnp.where(small, _SMALL_SCALE, scale)
    zp_min = qmin - mn / scale
    zp_max = qmax - mx / scale
    err_min = abs(qmin) - jnp.abs(mn / scale)
    err_max = abs(qmax) - jnp.abs(mx / scale)
    zp = jnp.where(err_min < err_max, zp_min, zp_max)
    zp = jnp.where(zp < qmin, qmin, jnp.where(zp > qmax, qmax, jnp.round(zp)))
    return scale, zp.astype(jnp.int64)


def _quantize_fused(x, scale, zp, qmin, qmax):
    inv = jnp.float32(1) / scale.astype(jnp.float32)
    v = (x.astype(jnp.float64) * inv.astype(jnp.float64) + zp.astype(jnp.float64)).astype(jnp.float32)
    return jnp.clip(jnp.round(v), qmin, qmax)


@defop(method=False, function=False, differentiable=False)
def _qlinear_dynamic(x, wq, bias, w_scale, w_zp, qmax=127, relu=False):
    """fbgemm's dynamic linear: x quantized to quint8 over [0, qmax] with parameters from its own range."""
    xf = x.astype(jnp.float32)
    scale, zp = _choose_qparams(xf, 0, qmax)
    xq = _quantize_fused(xf, scale, zp, 0, 255)
    acc = jnp.matmul(xq.astype(jnp.float64) - zp.astype(jnp.float64), _shifted(wq, w_zp, (-1, 1)).T)
    mult = (scale.astype(jnp.float32) * jnp.asarray(w_scale, jnp.float32))
    y = _scaled(acc, mult, bias)
    return jnp.maximum(y, 0) if relu else y


@defop(method=False, function=False, differentiable=False)
def _qconv(xq, wq, bias, x_zp, w_zp, mult, inv_out_scale, out_zp, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
           groups=1, qmin=0, qmax=255, relu=False, np_dtype="uint8"):
    n = xq.ndim - 2
    wshape = (-1,) + (1,) * (n + 1)
    lhs = _shifted(xq, x_zp)
    rhs = _shifted(wq, w_zp, wshape)
    spec = {1: ("NCH", "OIH", "NCH"), 2: ("NCHW", "OIHW", "NCHW"), 3: ("NCDHW", "OIDHW", "NCDHW")}[n]
    acc = jax.lax.conv_general_dilated(lhs, rhs, tuple(stride), [(p, p) for p in padding],
                                       rhs_dilation=tuple(dilation), dimension_numbers=spec,
                                       feature_group_count=groups)
    cshape = (1, -1) + (1,) * n
    y = acc.astype(jnp.float32) * jnp.asarray(mult, jnp.float32).reshape(cshape)
    if bias is not None:
        y = y + bias.astype(jnp.float32).reshape(cshape)
    return _requantize(y, inv_out_scale, out_zp, qmin, qmax, relu, np_dtype)

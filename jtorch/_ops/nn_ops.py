"""Neural-network kernels: activations, convolution, pooling, normalisation,
dropout, padding, folding. Each is one op (function, method, grad come from it);
``jtorch.nn.functional`` checks arguments torch's way and calls these.

Gradient conventions follow torch at kinks: every piecewise function is written
with ``jnp.where`` so the derivative at a boundary is the one torch's backward
formula gives (relu'(0)=0, hardtanh' = 0 at its bounds, ...). Max pooling sends
the gradient to one argmax per window (the first maximum, or the last NaN, as torch's
CPU kernel does).
"""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from .. import _dtype as D
from .. import random as R
from .._dispatch import GRAD, defop, function, round_to
from . import conv_cpu
from .blas import _acc_type
from .pointwise import _half_steps, _other_operand

_SQRT2 = math.sqrt(2.0)


# ---------------------------------------------------------------- activations
@defop(promote=None, inplace=True, saves=(), saves_result=True, tensors=("input",))
def relu(input):
    if jnp.issubdtype(input.dtype, jnp.complexfloating):
        raise NotImplementedError("clamp is not supported for complex types")  # (torch's relu is a clamp)
    if input.dtype == jnp.bool_:
        raise RuntimeError("Boolean inputs not supported for relu")
    return jnp.where(input <= 0, jnp.zeros((), input.dtype), input)  # NaN stays NaN, as torch


@defop(promote=None, inplace=True, dynamic=("min_val", "max_val"), method=False, tensors=("input",))
def hardtanh(input, min_val=-1.0, max_val=1.0):
    lo = jnp.asarray(min_val, input.dtype)
    hi = jnp.asarray(max_val, input.dtype)
    return jnp.where(input <= lo, lo, jnp.where(input >= hi, hi, input))


@defop(promote=None, inplace=True, dynamic=("negative_slope",), method=False, opmath=True, saves_result="inplace",
       tensors=("input",))
def leaky_relu(input, negative_slope=0.01):
    return jnp.where(input > 0, input, input * negative_slope)


@defop(promote=None, inplace=True, dynamic=("alpha", "scale", "input_scale"), method=False, opmath=True,
        saves_result="inplace", tensors=("input",))
def elu(input, alpha=1.0, scale=1.0, input_scale=1.0):
    return jnp.where(input > 0, input * scale, alpha * scale * jnp.expm1(input * input_scale))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@defop(promote=None, inplace=True, opmath=True, saves_result="inplace", tensors=("input",))
def selu(input):
    return _SELU_SCALE * jnp.where(input > 0, input, _SELU_ALPHA * jnp.expm1(input))


@defop(promote=None, inplace=True, dynamic=("alpha",), opmath=True, saves_result="inplace", tensors=("input",))
def celu(input, alpha=1.0):
    return jnp.where(input > 0, input, alpha * jnp.expm1(input / alpha))


@defop(promote=None, method=False, opmath=True, tensors=("input",))
def gelu(input, approximate="none"):
    if approximate == "tanh":
        k = math.sqrt(2.0 / math.pi)
        return 0.5 * input * (1 + jnp.tanh(k * (input + 0.044715 * input ** 3)))
    return 0.5 * input * (1 + jax.scipy.special.erf(input / _SQRT2))


@defop(promote=None, inplace=True, method=False, opmath=True, tensors=("input",))
def silu(input):
    return input * jax.nn.sigmoid(input)


@defop(promote=None, inplace=True, method=False, opmath=True, tensors=("input",))
def mish(input):
    return input * jnp.tanh(jax.nn.softplus(input))


@defop(promote=None, method=False, dynamic=("beta", "threshold"), opmath=True, tensors=("input",))
def softplus(input, beta=1.0, threshold=20.0):
    bx = input * beta
    return jnp.where(bx > threshold, input, jnp.logaddexp(bx, 0) / beta)


@defop(promote="float", method=False, opmath=True)
def softsign(input):
    return input / (1 + jnp.abs(input))


@defop(promote=None, inplace=True, method=False, opmath=True, tensors=("input",))
def hardsigmoid(input):
    return jnp.where(input <= -3, jnp.zeros((), input.dtype),
                     jnp.where(input >= 3, jnp.ones((), input.dtype), input / 6 + 0.5))


@defop(promote=None, inplace=True, method=False, opmath=True, tensors=("input",))
def hardswish(input):
    return jnp.where(input <= -3, jnp.zeros((), input.dtype),
                     jnp.where(input < 3, input * (input + 3) / 6, input))


@defop(promote="float", method=False, saves=(), saves_hidden=True)
def tanhshrink(input):
    r = _half_steps(input.dtype)
    if r is not None:  # torch's half tanhshrink is x - tanh(x) with tanh rounded to the half type first
        x = input.astype(jnp.float32)
        return (x - r(jnp.tanh(x))).astype(input.dtype)
    return input - jnp.tanh(input)


@defop(promote=None, dynamic=("lambd",), opmath=True, tensors=("input",))
def softshrink(input, lambd=0.5):
    # (the middle is input * 0, as torch's, so nan stays nan)
    return jnp.where(input > lambd, input - lambd, jnp.where(input < -lambd, input + lambd, input * 0))


@defop(promote=None, dynamic=("lambd",), tensors=("input",))
def hardshrink(input, lambd=0.5):
    return jnp.where((input >= -lambd) & (input <= lambd), jnp.zeros((), input.dtype), input)  # nan kept


@defop(promote=None, inplace=True, tensors=("input",))
def threshold(input, threshold, value):
    return jnp.where(input <= threshold, jnp.asarray(value, input.dtype), input)  # nan kept, as torch's


@defop(promote=None, method=False, opmath=True, tensors=("input",))
def logsigmoid(input):
    return -jnp.logaddexp(-input, 0)


@defop(promote=None, tensors=("input", "weight"))
def prelu(input, weight):
    w = weight.reshape(()) if weight.size == 1 else weight  # one shared slope keeps the input's shape (0-dim too)
    if input.ndim >= 2 and w.size > 1:
        w = w.reshape((-1,) + (1,) * (input.ndim - 2))
    return jnp.where(input > 0, input, w * input)


def _prelu_checks(input, weight):
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    n = weight.size
    if n != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        ch = input.shape[1] if input.ndim >= 2 else 1
        if ch != n:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{n} and channel size = {ch}.")


prelu.precheck = _prelu_checks  # (torch.prelu, Tensor.prelu and F.prelu all check)


@defop(promote=None, method=False, opmath=True)
def glu(input, dim=-1):
    a, b = jnp.split(input, 2, axis=dim)
    return a * jax.nn.sigmoid(b)


@defop(promote=None, method=False, function=False, opmath=True, saves_result="inplace")
def _rrelu_train(key, input, lower=0.125, upper=1 / 3):
    slope = jax.random.uniform(R.typed_key(key), input.shape, input.dtype, lower, upper)
    return jnp.where(input >= 0, input, input * slope)


@function(inplace=True)
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    if lower > upper:  # (checked in evaluation too, as torch's)
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if training:
        return _rrelu_train(R.next_key(generator, lazy=True), input, lower=float(lower), upper=float(upper))
    return leaky_relu(input, (lower + upper) / 2)


def _softmax_prep(x, dtype):
    return x if dtype is None else x.astype(dtype.np)


def _in_float(f, x, dim):
    """f(x) over ``dim``, half types in float32 and rounded once (torch's CPU softmax kernels)."""
    if x.dtype in (jnp.float16, jnp.bfloat16):
        return f(x.astype(jnp.float32), axis=dim).astype(x.dtype)
    return f(x, axis=dim)


@defop(promote=None, saves=(), saves_result=True)
def _softmax(input, dim=-1, dtype=None):
    return _in_float(jax.nn.softmax, _softmax_prep(input, dtype), dim)


@defop(promote=None, saves=(), saves_result=True)
def _log_softmax(input, dim=-1, dtype=None):
    x = _softmax_prep(input, dtype)
    if x.dtype in (jnp.float16, jnp.bfloat16) and dim == x.ndim - 1 and x.shape[-1]:
        return _log_softmax_half_lastdim(x)
    return _in_float(jax.nn.log_softmax, x, dim)


def _log_softmax_half_lastdim(x):
    """torch's CPU kernel along the last dim of a half type: float32 max and sum of exps, the sum stored in the
    half type, its log rounded again, then x - max - log(sum) in float32 rounded once (other dims stay in
    float32 throughout, as ``_in_float``)."""
    f = x.astype(jnp.float32)
    m = jnp.max(f, axis=-1, keepdims=True)
    s = round_to(_vec16_sum(jnp.exp(f - m))[..., None], x.dtype)
    return (f - m - round_to(jnp.log(s), x.dtype)).astype(x.dtype)


def _vec16_sum(e):
    """The sum over the last axis in the order of torch's vectorized float reduction (16 lanes, as on AVX512):
    lane-wise over the full 16-wide chunks in turn, the tail added into the first lanes, then the lanes halved
    (8, 4, 2, 1); fewer than 16 values: left to right. The sum is rounded to the half type next, so a tie there
    depends on this order."""
    n = e.shape[-1]
    if n < 16:
        acc = e[..., 0]
        for i in range(1, n):
            acc = acc + e[..., i]
        return acc
    full = n // 16 * 16
    chunks = jnp.moveaxis(e[..., :full].reshape(e.shape[:-1] + (full // 16, 16)), -2, 0)
    acc = jax.lax.scan(lambda a, c: (a + c, None), chunks[0], chunks[1:])[0]
    if n > full:
        acc = acc.at[..., :n - full].add(e[..., full:])
    for h in (8, 4, 2, 1):
        acc = acc[..., :h] + acc[..., h:2 * h]
    return acc[..., 0]


def _norm_dim(dim, ndim):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _soft_dtype(input, dtype, name="softmax", dim=-1):
    if dtype is not None:
        return D.to_dtype(dtype)
    if not input.dtype.is_floating_point and not input.dtype.is_complex:
        kernel = f"{name}_lastdim_kernel_impl" if dim in (-1, max(input.ndim, 1) - 1) else f"{name}_kernel_impl"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{D.scalar_type_name(input.dtype)}'")
    return None


@function
def softmax(input, dim, dtype=None):
    if input.ndim == 0:
        return _softmax(input.reshape((1,)), dim=_norm_dim(dim, 0), dtype=_soft_dtype(input, dtype)).reshape(())
    d = _norm_dim(dim, input.ndim)
    return _softmax(input, dim=d, dtype=_soft_dtype(input, dtype, dim=d))


@function
def log_softmax(input, dim, dtype=None):
    if input.ndim == 0:
        return _log_softmax(input.reshape((1,)), dim=_norm_dim(dim, 0),
                            dtype=_soft_dtype(input, dtype, "log_softmax")).reshape(())
    d = _norm_dim(dim, input.ndim)
    return _log_softmax(input, dim=d, dtype=_soft_dtype(input, dtype, "log_softmax", d))


# ---------------------------------------------------------------- linear
@defop(promote=None, method=False, function=False, saves=_other_operand)  # bias: never needed
def _linear(input, weight, bias):
    # one op for x @ W^T + b (one dispatch in eager mode); full float32 precision like torch
    # half types: accumulated in float32 and the bias added before the one rounding (torch's addmm epilogue)
    half = input.dtype in (jnp.float16, jnp.bfloat16)
    out = jnp.matmul(input, weight.T, precision=jax.lax.Precision.HIGHEST,
                     preferred_element_type=jnp.float32 if half else None)
    out = out if bias is None else out + bias
    return out.astype(input.dtype) if half else out


# ---------------------------------------------------------------- convolution
# (default precision: torch also lets cuDNN convolutions use TF32 by default)
def _spatial(n):
    return "DHW"[3 - n:]


def _dimnums(n):
    s = _spatial(n)
    # compute channels-last (XLA CPU runs NHWC/HWIO faster); the transposes fuse away under jit
    return ("N" + s + "C", s + "IO", "N" + s + "C")


def _to_last(x):
    return jnp.moveaxis(x, 1, -1)


def _to_first(x):
    return jnp.moveaxis(x, -1, 1)


# Backend-tuned lowerings. XLA's CPU backend runs some of the textbook lowerings slowly (measured in
# docs/internals.md, "CNN lowerings on CPU"): the weight gradient of a convolution (a convolution over
# the batch) runs several times slower than the same product written as im2col + one matmul
# (conv_cpu.py). The
# choice is made at trace time from JAX's default backend, inside each op (one definition per op);
# tests turn CPU_LOWERINGS off to run the generic path too.
CPU_LOWERINGS = True
_IM2COL_MAX_BYTES = 1 << 29  # above this the im2col buffer of a weight gradient costs more than it saves


def _cpu_lowerings():
    return CPU_LOWERINGS and jax.default_backend() == "cpu"


def _lax_conv(x, w, stride, padding, dilation, groups):
    """Channels-last x (N, *s, C), w (*k, I, O)."""
    if x.ndim == 5 and _cpu_lowerings():
        return _conv3d_as_2d(x, w, stride, padding, dilation, groups)
    return jax.lax.conv_general_dilated(x, w, stride, padding, rhs_dilation=dilation,
                                       dimension_numbers=_dimnums(x.ndim - 2), feature_group_count=groups,
                                       preferred_element_type=_acc_type(x))


def _conv3d_as_2d(x, w, stride, padding, dilation, groups):
    """A 3-D convolution as the sum over its temporal taps of 2-D convolutions of the frames (all
    output frames of a tap batched together): XLA CPU's 3-D convolution is a generic loop, 2.3-2.6x
    slower than these 2-D ones (bench/video_ops.py: the 3x3x3 64->64 forward at 2x8x28x28 took 176 ms
    as one 3-D convolution, 68 ms as three 2-D ones, torch 68 ms)."""
    n, c = x.shape[0], x.shape[-1]
    (lo, hi), s, d, kd = padding[0], stride[0], dilation[0], w.shape[0]
    xp = jnp.pad(x, ((0, 0), (lo, hi), (0, 0), (0, 0), (0, 0)))
    out_d = conv_cpu.conv_out_size(x.shape[1], kd, s, (lo, hi), d)
    out = None
    for t in range(kd):
        frames = jax.lax.slice_in_dim(xp, t * d, t * d + s * (out_d - 1) + 1, s, 1)
        frames = frames.reshape((n * out_d,) + frames.shape[2:])
        y = jax.lax.conv_general_dilated(frames, w[t], stride[1:], padding[1:], rhs_dilation=dilation[1:],
                                         dimension_numbers=_dimnums(2), feature_group_count=groups)
        out = y if out is None else out + y
    return out.reshape((n, out_d) + out.shape[1:])


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4, 5))
def _conv_cpu(x, w, stride, padding, dilation, groups):
    return _lax_conv(x, w, stride, padding, dilation, groups)


def _conv_cpu_jvp(stride, padding, dilation, groups, primals, tangents):
    # value and input tangent by XLA's convolution (its transpose, the input gradient, is fast);
    # the weight tangent as a matmul over patches, so the weight gradient is one matmul
    x, w = primals
    dx, dw = tangents
    out = _lax_conv(x, w, stride, padding, dilation, groups)
    t = None
    if not isinstance(dx, SymbolicZero):
        t = _lax_conv(dx, w, stride, padding, dilation, groups)
    if not isinstance(dw, SymbolicZero):
        # patches_t^T @ dW, whose transpose (the weight gradient) is patches_t @ grad (conv_cpu.py)
        cols = conv_cpu.patches_t(x, dw.shape[:-2], stride, padding, dilation)
        tw = conv_cpu.patches_dot(cols, dw.reshape(-1, dw.shape[-1])).reshape(out.shape)
        t = tw if t is None else t + tw
    return out, (jnp.zeros_like(out) if t is None else t)


_conv_cpu.defjvp(_conv_cpu_jvp, symbolic_zeros=True)


def _conv_lowering(x, w, stride, padding, dilation, groups):
    if not _cpu_lowerings() or not jnp.issubdtype(x.dtype, jnp.floating) or groups != 1:
        return _lax_conv
    ksize = w.shape[:-2]
    out = [conv_cpu.conv_out_size(L, k, s, p, d) for L, k, s, p, d in zip(x.shape[1:-1], ksize, stride, padding, dilation)]
    if x.shape[0] * math.prod(out) * math.prod(ksize) * x.shape[-1] * x.dtype.itemsize > _IM2COL_MAX_BYTES:
        return _lax_conv
    return _conv_cpu


@defop(promote=None, method=False, function=False)
def _conv(input, weight, bias, stride=(1,), padding=((0, 0),), dilation=(1,), groups=1):
    x = _to_last(input)
    w = jnp.moveaxis(weight, (0, 1), (-1, -2))  # (O, I, *k) -> (*k, I, O)
    # half types as torch's CPU kernels: accumulated in float32, the bias added before the one rounding
    # (on the CPU in float32 throughout, so that conv3d's temporal taps are summed in float32 too)
    half = input.dtype in (jnp.float16, jnp.bfloat16)
    if half and _cpu_lowerings():
        x, w = x.astype(jnp.float32), w.astype(jnp.float32)
    out = _conv_lowering(x, w, stride, padding, dilation, groups)(x, w, stride, padding, dilation, groups)
    if bias is not None:
        out = out + bias
    return _to_first(out.astype(input.dtype) if half else out)


def _conv_transpose_taps(input, w, bias, stride, pads, dilation, groups):
    """torch's float16 CPU transposed convolution (and its bfloat16 one where oneDNN is not used): each kernel
    tap's product (summed over input channels in float32) is rounded to the input's dtype, the taps are added
    into the output one by one in kernel order in that dtype, and the bias is added last. ``w`` is the
    flipped (*k, I, O) kernel of the direct form."""
    n = input.ndim - 2
    k = w.shape[:n]
    x = _to_last(input)
    out = None
    for tap in np.ndindex(*k):
        # tap t of the transposed kernel is tap k - 1 - t of the flipped one; it alone writes output
        # position i * stride + t * dilation - padding: a 1-wide kernel, padded to that offset
        flipped = tuple(kk - 1 - t for kk, t in zip(k, tap))
        tap_pads = [(lo - f * d, hi - (kk - 1 - f) * d) for (lo, hi), f, kk, d in zip(pads, flipped, k, dilation)]
        wk = w[flipped][(None,) * n]
        y = jax.lax.conv_general_dilated(x, wk, (1,) * n, tap_pads, lhs_dilation=stride,
                                         dimension_numbers=_dimnums(n), feature_group_count=groups,
                                         preferred_element_type=jnp.float32).astype(input.dtype)
        out = y if out is None else out + y
    if bias is not None:
        out = out + bias
    return _to_first(out)


@defop(promote=None, method=False, function=False)
def _conv_transpose(input, weight, bias, stride=(1,), padding=(0,), output_padding=(0,), dilation=(1,),
                    groups=1):
    # the gradient of a convolution w.r.t. its input: dilate the input by the stride and
    # correlate with the flipped kernel whose in/out channels are swapped (per group)
    n = input.ndim - 2
    cin, cout_g = weight.shape[0], weight.shape[1]
    k = weight.shape[2:]
    w = weight.reshape((groups, cin // groups, cout_g) + k)
    w = jnp.swapaxes(w, 1, 2).reshape((groups * cout_g, cin // groups) + k)
    w = jnp.flip(w, axis=tuple(range(2, 2 + n)))
    w = jnp.moveaxis(w, (0, 1), (-1, -2))
    pads = [(d * (kk - 1) - p, d * (kk - 1) - p + op) for kk, p, op, d in zip(k, padding, output_padding, dilation)]
    half = input.dtype == jnp.bfloat16
    # torch runs bfloat16 through oneDNN unless an output padding reaches its stride
    if input.dtype == jnp.float16 or (half and any(op >= s for op, s in zip(output_padding, stride))):
        return _conv_transpose_taps(input, w, bias, stride, pads, dilation, groups)
    # bfloat16 by oneDNN: accumulated in float32 and the bias added before the one rounding
    out = jax.lax.conv_general_dilated(_to_last(input), w, (1,) * n, pads, lhs_dilation=stride,
                                       rhs_dilation=dilation, dimension_numbers=_dimnums(n),
                                       feature_group_count=groups,
                                       preferred_element_type=jnp.float32 if half else None)
    if bias is not None:
        out = out + bias
    return _to_first(out.astype(input.dtype) if half else out)


def _stored(x):
    """``x`` (integer or bool) unchanged, in a form that a compiled program computes once and stores.
    XLA's CPU fusion copies cheap elementwise producers into every consumer, so a dropout mask (a
    random-bit hash) or a pooling argmax feeding the forward and the backward was recomputed in each,
    and once per window element in a pooling backward. An integer division by a value XLA cannot know
    before run time (``d // d`` = 1, ``d`` read from ``x``) counts as expensive, and XLA does not
    duplicate expensive producers (optimization_barrier is dropped before fusion on CPU)."""
    if x.size == 0 or not _cpu_lowerings():  # a CPU fusion workaround: other backends fuse differently
        return x
    xt = x.astype(jnp.uint8 if x.dtype == jnp.bool_ else x.dtype)
    d = jax.lax.slice(xt, (0,) * x.ndim, (1,) * x.ndim) | 1
    one = jnp.broadcast_to(jax.lax.div(d, d), x.shape)
    return jax.lax.div(xt, one).astype(x.dtype)  # lax.div: one HLO divide (jnp's // adds a floor fix-up)


# ---------------------------------------------------------------- pooling
def _windows(x, kernel, stride, dilation, pad_lo, out, lead=None, axis=None):
    """Stack the window elements of the len(kernel) spatial dims starting at ``lead`` (default: the
    last ones) at ``axis`` (default ``lead``): (..., K, *out) by default."""
    n = len(kernel)
    lead = x.ndim - n if lead is None else lead
    parts = []
    for off in np.ndindex(*kernel):
        idx = [slice(None)] * lead
        for d in range(n):
            start = off[d] * dilation[d]
            idx.append(slice(start, start + stride[d] * (out[d] - 1) + 1, stride[d]))
        parts.append(x[tuple(idx)])
    return jnp.stack(parts, axis=lead if axis is None else axis)


def _pad_spatial(x, n, lo, hi, value):
    cfg = [(0, 0, 0)] * (x.ndim - n) + [(a, b, 0) for a, b in zip(lo, hi)]
    return jax.lax.pad(x, jnp.asarray(value, x.dtype), cfg)


def _pool_geometry(shape, kernel, stride, padding, dilation, out):
    """Extra right padding so every window lies inside the padded array."""
    hi = []
    for L, k, s, p, d, o in zip(shape, kernel, stride, padding, dilation, out):
        need = (o - 1) * s + d * (k - 1) + 1
        hi.append(max(need - L - p, 0))
    return hi


def _window_slices(xp, kernel, stride, dilation, out, lead):
    """The window elements of a padded array, one strided slice per kernel offset (row-major
    offsets) over the last len(kernel) dims."""
    keep = (slice(None),) * lead
    return [xp[keep + tuple(slice(o * d, o * d + s * (m - 1) + 1, s) for o, d, s, m in zip(off, dilation, stride, out))]
            for off in np.ndindex(*kernel)]


def _window_valid(sp, kernel, stride, padding, dilation, out):
    """Per kernel offset, which output positions read a real (not padded) input element; None when all do."""
    masks, any_pad = [], False
    for off in np.ndindex(*kernel):
        m = np.ones(out, bool)
        for d in range(len(kernel)):
            pos = np.arange(out[d]) * stride[d] - padding[d] + off[d] * dilation[d]
            ok = (pos >= 0) & (pos < sp[d])
            any_pad |= not ok.all()
            m &= ok.reshape((-1,) + (1,) * (len(kernel) - 1 - d))
        masks.append(m)
    return masks if any_pad else None


def _pick(wins, arg):
    """The window element number ``arg`` (wins: one array per window element)."""
    vals = wins[-1]
    for k in range(len(wins) - 2, -1, -1):
        vals = jnp.where(arg == k, wins[k], vals)
    return vals


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _pick_tiled(x, arg, kernel):
    """``_pick`` for windows that tile x's last len(kernel) dims exactly (stride = kernel, no padding
    or dilation). Its derivative is written on x reshaped to (..., out1, k1, out2, k2, ...), so the
    gradient is one broadcast select per input element; the strided-slice form's gradient (a sum of
    interior-padded pads) ran 2-4x slower on CPU."""
    n = len(kernel)
    lead = x.ndim - n
    out = tuple(L // k for L, k in zip(x.shape[lead:], kernel))
    return _pick(_window_slices(x, kernel, kernel, (1,) * n, out, lead), arg)


def _pick_tiled_jvp(kernel, primals, tangents):
    x, arg = primals
    n = len(kernel)
    lead = x.ndim - n
    out = tuple(L // k for L, k in zip(x.shape[lead:], kernel))
    split = x.shape[:lead] + sum(((o, k) for o, k in zip(out, kernel)), ())
    win_axes = tuple(lead + 2 * d + 1 for d in range(n))
    pos = np.arange(math.prod(kernel)).reshape(kernel)  # row-major window position, as arg counts
    pos = pos.reshape((1,) * lead + sum(((1, k) for k in kernel), ()))
    hit = jnp.asarray(pos, arg.dtype) == jnp.expand_dims(arg, win_axes)
    dx = tangents[0].reshape(split)
    return _pick_tiled(x, arg, kernel), jnp.where(hit, dx, jnp.zeros((), dx.dtype)).sum(win_axes)


_pick_tiled.defjvp(_pick_tiled_jvp)


@defop(promote=None, method=False, function=False)
def _max_pool(input, kernel=(1,), stride=(1,), padding=(0,), dilation=(1,), osize=(1,), indices=True):
    # Elementwise over the window's K strided slices, no stacking, no argmax reduction, no scatter:
    # the maximum, then which element torch's kernel picks (the first maximum; with NaNs, the last
    # NaN), then the value selected by that index, so the gradient is a select per slice that XLA
    # fuses into one loop (the take_along_axis/scatter backward ran several times slower on CPU).
    out = osize
    n = len(kernel)
    sp = input.shape[-n:]
    lead = input.ndim - n
    hi = _pool_geometry(sp, kernel, stride, padding, dilation, out)
    floating = jnp.issubdtype(input.dtype, jnp.floating)
    neg = -jnp.inf if floating else jnp.iinfo(input.dtype).min
    wins = _window_slices(_pad_spatial(input, n, padding, hi, neg), kernel, stride, dilation, out, lead)
    stop = [jax.lax.stop_gradient(w) for w in wins]
    m = stop[0]
    for w in stop[1:]:
        m = jnp.maximum(m, w)  # NaN propagates, like torch's
    valid = _window_valid(sp, kernel, stride, padding, dilation, out)
    arg = jnp.zeros(m.shape, jnp.uint8 if len(wins) <= 255 else jnp.int32)  # small to store
    for k in range(len(wins) - 1, -1, -1):  # the first real (not padding) element equal to the maximum
        hit = stop[k] == m
        if valid is not None:
            hit = hit & jnp.asarray(valid[k])
        arg = jnp.where(hit, k, arg)
    if floating:
        last_nan = arg
        for k in range(len(wins)):
            last_nan = jnp.where(jnp.isnan(stop[k]), k, last_nan)
        arg = jnp.where(jnp.isnan(m), last_nan, arg)
    arg = _stored(arg)  # computed once in a compiled step: the backward reuses it
    if stride == kernel and not any(padding) and dilation == (1,) * n and all(
            o * k <= L for o, k, L in zip(out, kernel, sp)):
        crop = input[(Ellipsis,) + tuple(slice(0, o * k) for o, k in zip(out, kernel))]
        vals = _pick_tiled(crop, arg, kernel)
    else:
        vals = _pick(wins, arg)
    if not indices:  # nobody asked: an eager call does not compute or store them
        return vals
    # flat index into the unpadded input plane
    flat = jnp.zeros(arg.shape, jnp.int64)
    rest = math.prod(kernel)
    for d in range(n):
        rest //= kernel[d]
        o = jnp.arange(out[d]).reshape((-1,) + (1,) * (n - 1 - d))
        pos = o * stride[d] - padding[d] + ((arg.astype(jnp.int64) // rest) % kernel[d]) * dilation[d]
        flat = flat * sp[d] + pos
    return vals, flat


@defop(promote=None, method=False, function=False)
def _avg_pool(input, kernel=(1,), stride=(1,), padding=(0,), osize=(1,), count_include_pad=True,
              divisor_override=None):
    out = osize
    n = len(kernel)
    sp = input.shape[-n:]
    dil = (1,) * n
    hi = _pool_geometry(sp, kernel, stride, padding, dil, out)
    xp = _pad_spatial(input, n, padding, hi, 0)
    lead = input.ndim - n
    total = _windows(xp, kernel, stride, dil, padding, out).sum(axis=lead)
    integral = not jnp.issubdtype(input.dtype, jnp.inexact)
    if divisor_override:
        if integral:  # torch divides integers truncating toward zero
            return jax.lax.div(total, jnp.full(total.shape, divisor_override, total.dtype))
        return total / divisor_override
    # divisor: window elements inside the input (plus explicit padding if counted), never the
    # ceil_mode overhang
    ones = jnp.ones(sp, input.dtype)
    if count_include_pad:
        ones = _pad_spatial(ones, n, padding, padding, 1)
        ones = _pad_spatial(ones, n, (0,) * n, [max(h - p, 0) for h, p in zip(hi, padding)], 0)
    else:
        ones = _pad_spatial(ones, n, padding, hi, 0)
    div = _windows(ones, kernel, stride, dil, padding, out).sum(axis=0)
    if integral:
        return jax.lax.div(total, jnp.broadcast_to(jnp.maximum(div, 1).astype(total.dtype), total.shape))
    return total / div


def _adaptive_index(L, o):
    starts = [(i * L) // o for i in range(o)]
    ends = [-((-(i + 1) * L) // o) for i in range(o)]
    kmax = max(e - s for s, e in zip(starts, ends))
    # windows shorter than kmax repeat their last element (harmless for max; masked for mean)
    idx = np.array([[min(s + j, e - 1) for j in range(kmax)] for s, e in zip(starts, ends)])
    mask = np.array([[s + j < e for j in range(kmax)] for s, e in zip(starts, ends)])
    return idx, mask


_SEQ_SUM_MAX = 512  # window elements summed one by one at most (larger windows: float32, rounded once)


def _adaptive_avg_pool3d_half(x, out):
    """torch's CPU adaptive_avg_pool3d of half types: each window summed element by element in the half
    type (t, h, w order), then divided by its size (an all-ones output size is a mean, in float32)."""
    tabs = [_adaptive_index(L, o) for L, o in zip(x.shape[-3:], out)]
    ks = [idx.shape[1] for idx, _ in tabs]
    if math.prod(ks) > _SEQ_SUM_MAX:
        return _adaptive_avg_pool.fn(x.astype(jnp.float32), osize=out).astype(x.dtype)
    acc = jnp.zeros(x.shape[:-3] + tuple(out), jnp.float32)
    for offs in np.ndindex(*ks):
        v, valid = x, np.ones(out, bool)
        for d, ((idx, mask), j) in enumerate(zip(tabs, offs)):
            v = jnp.take(v, jnp.asarray(idx[:, j]), axis=x.ndim - 3 + d)
            valid = valid & mask[:, j].reshape((-1,) + (1,) * (2 - d))
        acc = round_to(acc + jnp.where(valid, v.astype(jnp.float32), 0), x.dtype)
    size = math.prod(m.sum(1).reshape((-1,) + (1,) * (2 - d)) for d, (_, m) in enumerate(tabs))
    return (acc / jnp.asarray(size, jnp.float32)).astype(x.dtype)


@defop(promote=None, method=False, function=False)
def _adaptive_avg_pool(input, osize=(1,)):
    out = osize
    if 0 in out:  # (an empty output: no windows)
        return jnp.zeros(input.shape[:-len(out)] + tuple(out), input.dtype)
    # separable: sum along each spatial dim with an (out, L) 0/1 matrix, then divide by the window sizes
    # (torch's order: one division of the window's sum); half types in float32, rounded once
    n = len(out)
    half = input.dtype in (jnp.float16, jnp.bfloat16)
    if half and n == 3 and any(o != 1 for o in out):
        return _adaptive_avg_pool3d_half(input, out)
    x = input.astype(jnp.float32) if half else input
    counts = []
    for d in range(n):
        ax = x.ndim - n + d
        L = x.shape[ax]
        idx, mask = _adaptive_index(L, out[d])
        m = np.zeros((out[d], L))
        for i in range(out[d]):
            m[i, idx[i][mask[i]]] = 1.0
        x = jnp.moveaxis(jnp.tensordot(x, jnp.asarray(m, x.dtype), axes=([ax], [1]),
                                       precision=jax.lax.Precision.HIGHEST), -1, ax)
        counts.append(mask.sum(1).reshape((-1,) + (1,) * (n - 1 - d)))
    for c in counts:  # torch divides by each window extent in turn
        x = x / jnp.asarray(c, x.dtype)
    return x.astype(input.dtype) if half else x


@defop(promote=None, method=False, function=False)
def _adaptive_max_pool(input, osize=(1,)):
    out = osize
    n = len(out)
    if 0 in out:  # (an empty output: no windows)
        shape = input.shape[:-n] + tuple(out)
        return jnp.zeros(shape, input.dtype), jnp.zeros(shape, jnp.int64)
    sp = input.shape[-n:]
    lead = input.ndim - n
    x = input
    idxs = [_adaptive_index(L, o)[0] for L, o in zip(sp, out)]
    # gather (..., o1, k1, o2, k2, ...) then bring window dims last
    for d in range(n):
        ax = lead + 2 * d
        i = idxs[d]
        x = jnp.take(x, jnp.asarray(i.reshape(-1)), axis=ax).reshape(x.shape[:ax] + i.shape + x.shape[ax + 1:])
    perm = list(range(lead)) + [lead + 2 * d for d in range(n)] + [lead + 2 * d + 1 for d in range(n)]
    x = x.transpose(perm)
    ks = tuple(i.shape[1] for i in idxs)
    x = x.reshape(x.shape[:lead + n] + (-1,))
    key = jnp.where(jnp.isnan(x), jnp.inf, x) if jnp.issubdtype(x.dtype, jnp.floating) else x
    arg = jnp.argmax(key, axis=-1)
    vals = jnp.take_along_axis(x, arg[..., None], axis=-1)[..., 0]
    flat = jnp.zeros(arg.shape, jnp.int64)
    rem = arg
    offs = []
    for d in reversed(range(n)):
        offs.append(rem % ks[d])
        rem = rem // ks[d]
    offs = offs[::-1]
    for d in range(n):
        table = jnp.asarray(idxs[d])  # (o, k)
        o = jnp.arange(out[d]).reshape((-1,) + (1,) * (n - 1 - d))
        pos = table[o, offs[d]]
        flat = flat * sp[d] + pos
    return vals, flat


@defop(promote=None, method=False, function=False)
def _max_unpool(input, indices, osize=(1,)):
    out = osize
    n = len(out)
    lead = input.shape[:-n]
    size = int(np.prod(out))
    x = input.reshape(lead + (-1,))
    i = indices.reshape(lead + (-1,))
    flat_lead = int(np.prod(lead)) if lead else 1
    x2 = x.reshape(flat_lead, -1)
    i2 = i.reshape(flat_lead, -1)
    return _unpool_scatter(x2, i2, size).reshape(lead + tuple(out))


# torch differentiates max_unpool as a gather of the output gradient at every index: an element whose
# index repeats (overlapping pooling windows) gets the gradient too, not only the copy the scatter kept
@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _unpool_scatter(x2, i2, size):
    res = jnp.zeros((x2.shape[0], size), x2.dtype)
    return res.at[jnp.arange(x2.shape[0])[:, None], i2].set(x2, mode="drop")


def _unpool_fwd(x2, i2, size):
    return _unpool_scatter(x2, i2, size), i2


def _unpool_bwd(size, i2, g):
    return jnp.take_along_axis(g, i2, axis=1, mode="fill", fill_value=0), None


_unpool_scatter.defvjp(_unpool_fwd, _unpool_bwd)


# ---------------------------------------------------------------- normalisation
def _upcast(input, *others):
    """Half and bfloat16 inputs are normalised in float32 (torch's CPU and CUDA kernels do the same); the
    result goes back to the input dtype. Returns the cast arrays and the output dtype."""
    dt = input.dtype
    ct = jnp.float32 if dt in (jnp.float16, jnp.bfloat16) else dt
    return (input.astype(ct),) + tuple(None if o is None else o.astype(ct) for o in others), dt


def _bn_stats(x, axes):
    mean = x.mean(axes, keepdims=True)
    return mean, jnp.mean(jnp.square(x - mean), axes, keepdims=True)  # two passes: no cancellation


def _stat_round(v, half):
    """A normalisation's mean or inverse std as torch's CPU batch-norm kernel uses it for half inputs whose
    parameters and running statistics (those given) have the input's type too: rounded to it (float32
    parameters take its mixed-type path, float32 statistics); unchanged where ``half`` is None."""
    return v if half is None else round_to(v, half)


def _div_exact(x, n):
    """float32 ``x / n`` correctly rounded. XLA multiplies by the reciprocal of a constant divisor instead, an
    ulp off at times: a batch mean of half-type inputs that lies exactly on a rounding tie of the half type
    (frequent for bfloat16) then rounded the other way than torch's."""
    return (x.astype(jnp.float64) / n).astype(x.dtype)


def _stat_mean(x, mean, axes, half):
    """The mean as torch's CPU batch-norm kernel subtracts it (see ``_stat_round``): for half statistics the
    float32 sum divided by the count, rounded to the half type."""
    if half is None:
        return mean
    return round_to(_div_exact(jnp.sum(x, axes, keepdims=True), x.size // mean.size), half)


def _stat_rstd(x, mean, var, axes, eps, half):
    """1 / sqrt(var + eps) as torch's CPU batch-norm kernel normalises with (see ``_stat_round``). With
    bfloat16 statistics it stores the sum of squared deviations in bfloat16 and divides it by the count in
    bfloat16 (float16 keeps the float32 variance)."""
    if half == jnp.bfloat16:
        ss = round_to(jnp.sum(jnp.square(x - mean), axes, keepdims=True), half)
        var = round_to(_div_exact(ss, x.size // mean.size), half)
    return _stat_round(jax.lax.rsqrt(var + eps), half)


@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4, 5))
def _bn_train(x, w, b, axes, eps, half=None):
    """(normalised x * w + b, batch mean, biased batch variance); w, b broadcast against x."""
    mean, var = _bn_stats(x, axes)
    return (x - _stat_mean(x, mean, axes, half)) * _stat_rstd(x, mean, var, axes, eps, half) * w + b, mean, var


def _bn_train_jvp(axes, eps, half, primals, tangents):
    # written so that its transpose (the backward) is the textbook one: two reductions of the
    # gradient (sum g, sum g * xhat) and one elementwise pass, instead of the many passes JAX's
    # differentiation of mean/var/normalise makes (which ran several times slower on CPU)
    x, w, b = primals
    dx, dw, db = tangents
    mean, var = _bn_stats(x, axes)
    rstd = jax.lax.rsqrt(var + eps)
    xhat = (x - mean) * rstd
    y = (x - _stat_mean(x, mean, axes, half)) * _stat_rstd(x, mean, var, axes, eps, half) * w + b if half is not None \
        else xhat * w + b
    t = []
    if not isinstance(dx, SymbolicZero):
        # the per-channel factor applied after the means: the transpose then reduces the gradient
        # itself (sum g, sum g * xhat), the very sums of the weight and bias gradients, which XLA
        # computes once (scaled first, it reduced w * rstd * g twice more: ~1 ms per layer on CPU)
        # (sums only, negations on the per-channel vectors: a subtraction's transpose negates g first)
        a = w * rstd
        t.append(a * dx + xhat * -(a * (dx * xhat).mean(axes, keepdims=True)) + -(a * dx.mean(axes, keepdims=True)))
    if not isinstance(dw, SymbolicZero):
        t.append(xhat * dw)
    if not isinstance(db, SymbolicZero):
        t.append(jnp.broadcast_to(db, y.shape))
    ty = sum(t[1:], t[0]) if t else jnp.zeros_like(y)
    return (y, mean, var), (ty, jnp.zeros_like(mean), jnp.zeros_like(var))


_bn_train.defjvp(_bn_train_jvp, symbolic_zeros=True)


@defop(promote=None, method=False, function=False)
def _batch_norm_train(input, weight, bias, eps=1e-5, round_stats=False):
    (input, weight, bias), dt = _upcast(input, weight, bias)
    C = input.shape[1]
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, C) + (1,) * (input.ndim - 2)
    w = jnp.ones(C, input.dtype) if weight is None else weight
    b = jnp.zeros(C, input.dtype) if bias is None else bias
    half = dt if round_stats else None
    y, mean, var = _bn_train(input, w.reshape(shape), b.reshape(shape), axes, eps, half)
    n = input.size // C
    if half == jnp.bfloat16:  # the statistics as torch's bfloat16 kernel stores them (see _stat_rstd)
        ss = round_to(jnp.sum(jnp.square(input - mean), axes), half)
        mean = _stat_mean(input, mean, axes, half).reshape(C)
        unbiased = round_to(_div_exact(ss, max(n - 1, 1)), half)
    else:
        mean, unbiased = mean.reshape(C), var.reshape(C) * (n / max(n - 1, 1))
    return y.astype(dt), jax.lax.stop_gradient(mean), jax.lax.stop_gradient(unbiased)


@defop(promote=None, method=False, function=False, differentiable=False)
def _bfloat16_running_update(run, stat, momentum=0.1, round_product=True):
    """(1 - momentum) * run + momentum * stat as torch's CPU batch-norm kernel updates a bfloat16 running
    statistic: momentum and 1 - momentum rounded to bfloat16, each product and the sum rounded, except the
    variance's momentum * stat (``round_product=False``), which goes into the sum unrounded."""
    m, m1 = (float(jnp.dtype(jnp.bfloat16).type(v)) for v in (momentum, 1 - momentum))
    new = stat.astype(jnp.float32) * m
    new = round_to(new, jnp.bfloat16) if round_product else new
    return (new + round_to(run.astype(jnp.float32) * m1, jnp.bfloat16)).astype(jnp.bfloat16)


@defop(promote=None, method=False, function=False)
def _batch_norm_eval(input, running_mean, running_var, weight, bias, eps=1e-5):
    (input, running_mean, running_var, weight, bias), dt = _upcast(input, running_mean, running_var, weight, bias)
    shape = (1, -1) + (1,) * (input.ndim - 2)
    if dt == jnp.float16:
        return _half_bn_eval(input, running_mean, running_var, weight, bias, eps, shape).astype(dt)
    y = (input - running_mean.reshape(shape)) * jax.lax.rsqrt(running_var.reshape(shape) + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y.astype(dt)


def _half_bn_eval(x, mean, var, weight, bias, eps, shape):
    """torch's float16 eval kernel: alpha = w / sqrt(var + eps), beta = b - mean * alpha, x * alpha + beta, each
    step a float32 operation rounded. Written in float64 with each step rounded to float32 explicitly: in float32
    XLA turns 1/sqrt into its approximate rsqrt and contracts x * alpha + beta into one fma."""
    f32 = lambda v: jax.lax.reduce_precision(v, exponent_bits=8, mantissa_bits=23)
    x, mean, var = (v.astype(jnp.float64) for v in (x, mean, var))
    alpha = f32(1 / f32(jnp.sqrt(f32(var + np.float32(eps)))))
    if weight is not None:
        alpha = f32(alpha * weight.astype(jnp.float64))
    beta = -f32(mean * alpha) if bias is None else f32(bias.astype(jnp.float64) - f32(mean * alpha))
    return f32(f32(x * alpha.reshape(shape)) + beta.reshape(shape)).astype(jnp.float32)


def _normalized(x, axes, eps):
    mean = x.mean(axes, keepdims=True)
    xc = x - mean
    rstd = jax.lax.rsqrt(jnp.mean(jnp.square(xc), axes, keepdims=True) + eps)
    return xc * rstd, rstd


def _affine(xhat, weight, bias):
    y = xhat if weight is None else xhat * weight
    return y if bias is None else y + bias


# The closed-form JVP below, which JAX transposes for the backward, costs ~27% less than JAX's
# derivative of the forward (3 reductions instead of 5 passes over the input here: 333 -> 243 us
# for a 16x64x128 backward on CPU). A custom_jvp keeps forward mode and higher orders working.
@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def _layer_norm_core(input, weight, bias, axes, eps):
    return _affine(_normalized(input, axes, eps)[0], weight, bias)


@_layer_norm_core.defjvp
def _layer_norm_jvp(axes, eps, primals, tangents):
    x, weight, bias = primals
    dx, dw, db = tangents
    xhat, rstd = _normalized(x, axes, eps)
    dxhat = rstd * (dx - dx.mean(axes, keepdims=True) - xhat * (dx * xhat).mean(axes, keepdims=True))
    dy = dxhat if weight is None else dxhat * weight + xhat * dw
    return _affine(xhat, weight, bias), (dy if bias is None else dy + db)


@defop(promote=None, method=False, function=False)
def _layer_norm(input, weight, bias, nd=1, eps=1e-5):
    (input, weight, bias), dt = _upcast(input, weight, bias)
    axes = tuple(range(input.ndim - nd, input.ndim))
    return _layer_norm_core(input, weight, bias, axes, eps).astype(dt)


@defop(promote=None, method=False, function=False)
def _rms_norm(input, weight, nd=1, eps=None):
    axes = tuple(range(input.ndim - nd, input.ndim))
    e = jnp.finfo(input.dtype).eps if eps is None else eps  # the input type's eps, also for half types
    if input.dtype in (jnp.float16, jnp.bfloat16):  # in float32 as torch (squares of half overflow)
        return _rms_norm.fn(input.astype(jnp.float32), None if weight is None else weight.astype(jnp.float32),
                            nd=nd, eps=e).astype(input.dtype)
    y = input * jax.lax.rsqrt(jnp.mean(jnp.square(input), axes, keepdims=True) + e)
    return y if weight is None else y * weight


@defop(promote=None, method=False, function=False)
def _group_norm(input, weight, bias, groups=1, eps=1e-5):
    (input, weight, bias), dt = _upcast(input, weight, bias)
    N, C = input.shape[:2]
    x = input.reshape((N, groups, (C // groups) * math.prod(input.shape[2:])))  # -1 fails for an empty batch
    mean = x.mean(-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), -1, keepdims=True)
    y = ((x - mean) * jax.lax.rsqrt(var + eps)).reshape(input.shape)
    shape = (1, -1) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y.astype(dt)


@defop(promote=None, method=False, function=False)
def _instance_norm_train(input, weight, bias, eps=1e-5, round_stats=False):
    (input, weight, bias), dt = _upcast(input, weight, bias)
    axes = tuple(range(2, input.ndim))
    half = dt if round_stats else None
    mean = input.mean(axes, keepdims=True)
    var = jnp.mean(jnp.square(input - mean), axes, keepdims=True)
    y = (input - _stat_mean(input, mean, axes, half)) * _stat_rstd(input, mean, var, axes, eps, half)
    shape = (1, -1) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    # each instance's statistics (N, C): torch updates a running copy per instance and averages those
    n = int(np.prod(input.shape[2:]))
    if half == jnp.bfloat16:  # stored as torch's bfloat16 kernel stores them (see _stat_rstd)
        ss = round_to(jnp.sum(jnp.square(input - mean), axes), half)
        mean = _stat_mean(input, mean, axes, half)
        unbiased = round_to(_div_exact(ss, max(n - 1, 1)), half)
    else:
        unbiased = var.reshape(input.shape[:2]) * (n / max(n - 1, 1))
    return (y.astype(dt), jax.lax.stop_gradient(mean.reshape(input.shape[:2])), jax.lax.stop_gradient(unbiased))


@defop(promote="float", method=False, function=False)
def _local_response_norm(input, size=1, alpha=1e-4, beta=0.75, k=1.0):
    # average of squares over a window of ``size`` neighbouring channels (zero padded)
    sq = jnp.square(input)
    C = input.shape[1]
    pad = [(0, 0)] * input.ndim
    pad[1] = (size // 2, (size - 1) // 2)
    sq = jnp.pad(sq, pad)
    acc = sum(jax.lax.slice_in_dim(sq, j, j + C, axis=1) for j in range(size))
    return input / (k + alpha * acc / size) ** beta


# ---------------------------------------------------------------- dropout
def _keep_mask(key, p, shape):
    return jax.random.bernoulli(R.typed_key(key), 1.0 - p, shape)


def _apply_keep(input, keep, p):
    return jnp.where(keep, input / (1.0 - p), jnp.zeros((), input.dtype))


def _apply_alpha_keep(input, keep, p):
    # keeps SELU's self-normalising mean/variance: dropped units go to -alpha*scale, then affine
    alpha_p = -_SELU_ALPHA * _SELU_SCALE
    a = (1.0 / math.sqrt((alpha_p ** 2 * p + 1) * (1 - p)))
    b = -a * alpha_p * p
    return jnp.where(keep, input, jnp.asarray(alpha_p, input.dtype)) * a + b


@defop(promote=None, method=False, function=False)
def _dropout_mask(key, input, p=0.5, shape=()):
    return _apply_keep(input, _keep_mask(key, p, shape), p)


@defop(promote=None, method=False, function=False)
def _alpha_dropout_mask(key, input, p=0.5, shape=()):
    return _apply_alpha_keep(input, _keep_mask(key, p, shape), p)


# With autograd the mask is drawn by its own op and saved, so the backward is a cheap select
# instead of the VJP of the fused op, which would draw the random bits a second time.
@defop(promote=None, method=False, function=False, differentiable=False)
def _dropout_keep(key, p=0.5, shape=()):
    return _stored(_keep_mask(key, p, shape))


@defop(promote=None, method=False, function=False, saves=("keep",))
def _dropout_apply(input, keep, p=0.5):
    return _apply_keep(input, keep, p)


@defop(promote=None, method=False, function=False, saves=("keep",))
def _alpha_dropout_apply(input, keep, p=0.5):
    return _apply_alpha_keep(input, keep, p)


_SPLIT = {}  # fused mask op -> its apply op (filled below)


def _feature_shape(input):
    return tuple(input.shape[:2]) + (1,) * (input.ndim - 2)


def _dropout_with(mask_op, shape_of, input, p, train, generator):
    """The dropout family: ``mask_op`` draws and applies the mask over ``shape_of(input)``."""
    if not train or p == 0:
        return input  # torch returns the input itself in eval mode and for p = 0 (no node, no copy)
    if p == 1:
        return input * 0
    p = float(p)
    if GRAD.enabled and getattr(input, "requires_grad", False) and not input.is_meta:
        # (a meta input: the fused op, whose key is no tensor, so no full-size mask is drawn on the CPU)
        keep = _dropout_keep(R.next_key(generator, lazy=True), p=p, shape=shape_of(input))
        return _SPLIT[mask_op](input, keep, p=p)
    return mask_op(R.next_key(generator, lazy=True), input, p=p, shape=shape_of(input))


_SPLIT.update({_dropout_mask: _dropout_apply, _alpha_dropout_mask: _alpha_dropout_apply})


def _full_shape(input):
    return tuple(input.shape)


@function(inplace=True)
def dropout(input, p=0.5, train=True, generator=None):
    return _dropout_with(_dropout_mask, _full_shape, input, p, train, generator)


@function(inplace=True)
def feature_dropout(input, p=0.5, train=True, generator=None):
    return _dropout_with(_dropout_mask, _feature_shape, input, p, train, generator)


@function(inplace=True)
def alpha_dropout(input, p=0.5, train=True, generator=None):
    return _dropout_with(_alpha_dropout_mask, _full_shape, input, p, train, generator)


@function(inplace=True)
def feature_alpha_dropout(input, p=0.5, train=True, generator=None):
    return _dropout_with(_alpha_dropout_mask, _feature_shape, input, p, train, generator)


# ---------------------------------------------------------------- padding
@defop(promote=None, method=False, function=False, dynamic=("value",), saves=())
def _pad_constant(input, value=0, pads=()):
    cfg = [(0, 0, 0)] * (input.ndim - len(pads)) + [(lo, hi, 0) for lo, hi in pads]
    return jax.lax.pad(input, jnp.asarray(value, input.dtype), cfg)


@defop(promote=None, method=False, function=False)
def _pad_mode(input, pads=(), mode="reflect"):
    cfg = [(0, 0)] * (input.ndim - len(pads)) + list(pads)
    if mode == "replicate":
        # output j reads input clamp(j - lo, 0, L - 1): this also covers negative pads, which crop first
        x = input
        for i, (lo, hi) in enumerate(cfg):
            if lo or hi:
                L = input.shape[i]
                x = jnp.take(x, np.clip(np.arange(L + lo + hi) - lo, 0, L - 1), axis=i)
        return x
    # negative pads crop (torch allows it for circular)
    crop = [slice(max(-lo, 0), input.shape[i] - max(-hi, 0)) for i, (lo, hi) in enumerate(cfg)]
    x = input[tuple(crop)]
    cfg = [(max(lo, 0), max(hi, 0)) for lo, hi in cfg]
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    return jnp.pad(x, cfg, mode=np_mode)


# ---------------------------------------------------------------- unfold / fold (im2col)
@defop(promote=None, method=False, function=False)
def _im2col(input, kernel=(1, 1), dilation=(1, 1), padding=(0, 0), stride=(1, 1), osize=(1, 1)):
    out = osize
    xp = _pad_spatial(input, 2, padding, padding, 0)
    win = _windows(xp, kernel, stride, dilation, padding, out)  # (N, C, K, oh, ow)
    N, C, K = win.shape[:3]
    return win.reshape(N, C * K, out[0] * out[1])  # explicit: -1 is undefined for an empty batch


@defop(promote=None, method=False, function=False)
def _col2im(input, size=(1, 1), kernel=(1, 1), dilation=(1, 1), padding=(0, 0), stride=(1, 1),
            osize=(1, 1)):
    out = osize
    N = input.shape[0]
    K = kernel[0] * kernel[1]
    C = input.shape[1] // K
    cols = input.reshape(N, C, K, out[0], out[1])
    H, W = size[0] + 2 * padding[0], size[1] + 2 * padding[1]
    res = jnp.zeros((N, C, H, W), input.dtype)
    for k, (i, j) in enumerate(np.ndindex(*kernel)):
        hs, ws = i * dilation[0], j * dilation[1]
        res = res.at[:, :, hs:hs + stride[0] * (out[0] - 1) + 1:stride[0],
                     ws:ws + stride[1] * (out[1] - 1) + 1:stride[1]].add(cols[:, :, k])
    return res[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]


# ---------------------------------------------------------------- distances
@defop(promote="float", method=False)
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    r = _half_steps(x1.dtype)
    if r is not None:
        # torch's half kernel: each norm, each input divided by its (clamped) norm and their product rounded to
        # the half type; the sum in float32, rounded once
        dt = x1.dtype
        x1, x2 = x1.astype(jnp.float32), x2.astype(jnp.float32)
        y1, y2 = (r(x / r(jnp.maximum(r(jnp.sqrt(jnp.sum(x * x, axis=dim, keepdims=True))), eps)))
                  for x in (x1, x2))
        return jnp.sum(r(y1 * y2), axis=dim).astype(dt)
    n1 = jnp.sqrt(jnp.sum(x1 * x1, axis=dim))
    n2 = jnp.sqrt(jnp.sum(x2 * x2, axis=dim))
    num = jnp.sum(x1 * x2, axis=dim)
    return num / (jnp.maximum(n1, eps) * jnp.maximum(n2, eps))


def _pnorm(d, p, axis, keepdims=False):
    a = jnp.abs(d)
    if p == 0:
        return jnp.sum((a != 0).astype(a.dtype), axis=axis, keepdims=keepdims)
    if p == math.inf:
        return jnp.max(a, axis=axis, keepdims=keepdims)
    if p == 1:
        return jnp.sum(a, axis=axis, keepdims=keepdims)
    if p == 2:
        s = jnp.sum((d * jnp.conj(d)).real if jnp.iscomplexobj(d) else d * d, axis=axis, keepdims=keepdims)
        # torch's norm has gradient 0 at 0 (sqrt's is inf there)
        safe = jnp.where(s > 0, s, 1)
        return jnp.where(s > 0, jnp.sqrt(safe), 0)
    s = jnp.sum(a ** p, axis=axis, keepdims=keepdims)
    safe = jnp.where(s > 0, s, 1)
    return jnp.where(s > 0, safe ** (1.0 / p), 0)


@defop(promote="float", method=False, function=False, opmath=True, saves_result=True)
def _difference_norm(diff, p=2.0, eps=1e-6, keepdim=False):
    return _pnorm(diff + eps, p, -1, keepdim)


@function(method=False)
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    # torch subtracts in the operands' own type (integer differences wrap) and only then adds eps
    return _difference_norm(x1 - x2, p=p, eps=eps, keepdim=keepdim)


@defop(promote="float", method=False, opmath=True)
def pdist(input, p=2.0):
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    return _pnorm(input[i] - input[j], p, -1)

"""Observers (torch.ao.quantization.observer): modules that watch the tensors passing through them and choose
quantization parameters (scale, zero point) from what they saw.

The parameter arithmetic runs on the host in float32 numpy, which rounds each operation as torch's float32
tensor arithmetic does, so the chosen scales and zero points are torch's to the bit."""
import functools
import math
import warnings

import numpy as np

import jtorch as torch
from jtorch import _dtype as D
from jtorch import nn

_EPS = np.float32(np.finfo(np.float32).eps)


class _PartialWrapper:
    """``Observer.with_args(...)``: a factory that makes the observer with those keyword arguments (and, with
    ``with_callable_args``, arguments computed at construction)."""

    def __init__(self, p):
        self.p = p
        self.callable_args = {}

    def __call__(self, *args, **keywords):
        for k, v in self.callable_args.items():
            keywords[k] = v()
        return self.p(*args, **keywords)

    def __repr__(self):
        return self.p.__repr__() + self.callable_args.__repr__()

    def with_args(self, **kwargs):
        return _with_args(self, **kwargs)

    def with_callable_args(self, **kwargs):
        out = _PartialWrapper(self.p)
        out.callable_args = {**self.callable_args, **kwargs}
        return out


def _with_args(cls_or_self, **kwargs):
    base = cls_or_self.p if isinstance(cls_or_self, _PartialWrapper) else cls_or_self
    w = _PartialWrapper(functools.partial(base, **kwargs))
    if isinstance(cls_or_self, _PartialWrapper):
        w.callable_args = dict(cls_or_self.callable_args)
    return w


def _with_callable_args(cls_or_self, **kwargs):
    w = _PartialWrapper(functools.partial(cls_or_self))
    return w.with_callable_args(**kwargs)


class ObserverBase(nn.Module):
    """Base observer: ``forward`` records statistics and returns its input; ``calculate_qparams`` answers."""

    def __init__(self, dtype, is_dynamic=False):
        super().__init__()
        self.dtype = dtype
        self.is_dynamic = is_dynamic

    def forward(self, x):
        raise NotImplementedError

    def calculate_qparams(self, **kwargs):
        raise NotImplementedError

    with_args = classmethod(_with_args)
    with_callable_args = classmethod(_with_callable_args)


def _is_symmetric(qscheme):
    return qscheme in (torch.per_tensor_symmetric, torch.per_channel_symmetric)


def _is_per_channel(qscheme):
    return qscheme in (torch.per_channel_affine, torch.per_channel_symmetric, torch.per_channel_affine_float_qparams)


def calculate_qmin_qmax(quant_min, quant_max, has_customized_qrange, dtype, reduce_range):
    """The integer range observers quantize to: the user's (halved with reduce_range) or the dtype's."""
    if has_customized_qrange:
        if dtype in (torch.qint32, torch.int32):
            lo, hi = 0, 2 ** 32 - 1
        else:
            lo, hi = 0, 255
        if quant_min is not None and quant_max is not None:
            lo, hi = quant_min, quant_max
        n = hi - lo + 1
        if dtype in (torch.qint8, torch.int8) and not 0 < n <= 256:
            raise AssertionError("quantization range should be positive and not exceed the maximum bit range (=256).")
        if dtype in (torch.qint32, torch.int32) and not 0 < n <= 2 ** 32:
            raise AssertionError("quantization range should be positive and not exceed the maximum bit range "
                                 "(=4294967296).")
        if reduce_range:
            quant_min, quant_max = quant_min // 2, quant_max // 2
        return quant_min, quant_max
    if dtype in (torch.qint8, torch.int8):
        return (-64, 63) if reduce_range else (-128, 127)
    if dtype in (torch.quint8, torch.uint8):
        return (0, 127) if reduce_range else (0, 255)
    if dtype in (torch.qint32, torch.int32):
        return -(2 ** 31), 2 ** 31 - 1
    return 0, 15


class UniformQuantizationObserverBase(ObserverBase):
    """What observers of a uniform (affine) quantization share: dtype, scheme, integer range and the
    parameter formula."""

    def __init__(self, dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False, quant_min=None,
                 quant_max=None, factory_kwargs=None, eps=float(_EPS), is_dynamic=False, **kwargs):
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        self.qscheme = qscheme
        if reduce_range:
            warnings.warn("Please use quant_min and quant_max to specify the range for observers. reduce_range "
                          "will be deprecated in a future release of PyTorch.")
        self.reduce_range = reduce_range
        self.register_buffer("eps", torch.tensor([eps]))
        if qscheme not in (torch.per_tensor_affine, torch.per_tensor_symmetric, torch.per_channel_affine,
                           torch.per_channel_symmetric, torch.per_channel_affine_float_qparams):
            raise AssertionError("Default Observer only works for per_tensor_affine, per_tensor_symmetric, "
                                 "per_channel_affine, per_channel_symmetric and per_channel_float_qparams "
                                 "quantization scheme")
        if dtype not in (torch.qint8, torch.quint8, torch.quint4x2, torch.qint32, torch.int8, torch.uint8,
                         torch.int16, torch.int32, torch.float8_e5m2, torch.float8_e4m3fn, torch.uint16):
            raise AssertionError("Default Observer only works for qint8, quint8 and quint4x2 data type")
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        if self.has_customized_qrange:
            if not quant_min <= 0 <= quant_max:
                raise AssertionError("Used-specified quantization range must include 0.")
            if not quant_min < quant_max:
                raise AssertionError("qmin must be strictly less than qmax for user-specified quantization range.")
        self.quant_min, self.quant_max = calculate_qmin_qmax(quant_min, quant_max, self.has_customized_qrange,
                                                             self.dtype, self.reduce_range)

    def _validate_qmin_qmax(self, quant_min, quant_max):
        if not quant_min <= 0 <= quant_max:
            raise AssertionError("Used-specified quantization range must include 0.")

    def _calculate_qparams(self, min_val, max_val):
        """(scale float32, zero_point int32) tensors from observed ``min_val``/``max_val`` tensors (0-dim or 1-D)."""
        mn = np.asarray(min_val.detach().numpy(), np.float32)
        mx = np.asarray(max_val.detach().numpy(), np.float32)
        if not _is_valid_min_max(mn, mx):
            return torch.tensor([1.0]), torch.tensor([0])
        qmin, qmax = self.quant_min, self.quant_max
        min_neg = np.minimum(mn, np.float32(0))
        max_pos = np.maximum(mx, np.float32(0))
        eps = np.asarray(self.eps.numpy(), np.float32).reshape(-1)[0]
        zero_point = np.zeros(min_neg.shape, np.int64)
        zdt = torch.int64  # torch's zero points: int64 when symmetric, int32 when affine, float for float_qparams
        if _is_symmetric(self.qscheme):
            max_pos = np.maximum(-min_neg, max_pos)
            scale = max_pos / np.float32(float(qmax - qmin) / 2)
            scale = np.maximum(scale, eps)
            if self.dtype in (torch.uint8, torch.quint8):
                zero_point[...] = (qmin + qmax) // 2 if self.has_customized_qrange else 128
            elif self.dtype is torch.uint16:
                zero_point[...] = (qmin + qmax) // 2 if self.has_customized_qrange else 2 ** 15
        elif self.qscheme is torch.per_channel_affine_float_qparams:
            scale = (mx - mn) / np.float32(float(qmax - qmin))
            scale = np.where(scale > eps, scale, np.float32(1))
            zero_point = (np.float32(-1) * mn / scale).astype(np.float32)
            zdt = torch.float32
        else:
            scale = (max_pos - min_neg) / np.float32(float(qmax - qmin))
            scale = np.maximum(scale, eps)
            zero_point = qmin - np.round(min_neg / scale).astype(np.int64)
            zero_point = np.clip(zero_point, qmin, qmax)
            zdt = torch.int32
        scale = np.asarray(scale, np.float32)
        if scale.ndim == 0:
            scale, zero_point = scale.reshape(1), np.asarray(zero_point).reshape(1)
        return torch.tensor(scale, dtype=torch.float32), torch.tensor(np.asarray(zero_point), dtype=zdt)

    def reset_min_max_vals(self):
        raise NotImplementedError("Cannot reset min/max values in the given observer.")


def _is_valid_min_max(mn, mx):
    if mn.size == 0 or mx.size == 0:
        return False
    if mn.ndim == 0 and (np.isinf(mn) and np.isinf(mx)):
        warnings.warn("must run observer before calling calculate_qparams. Returning default values.")
        return False
    if np.any(mn > mx):
        raise AssertionError(f"min {mn} should be less than max {mx}")
    if mn.ndim and np.all(np.isinf(mn)) and np.all(np.isinf(mx)):
        warnings.warn("must run observer before calling calculate_qparams. Returning default values.")
        return False
    return True


def _float(t):
    return float(np.asarray(t.detach().numpy()).reshape(-1)[0]) if t.numel() else float("nan")


class _RunningMinMax:
    """``forward`` of the min/max observers: the batch's minimum and maximum (per tensor or per channel) set
    ``min_val``/``max_val`` on the first batch and are combined with them after (``_update``: running extremes
    here, moving averages in the subclasses)."""

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        mn, mx = self._batch_min_max(x_orig.detach().to(self.min_val.dtype))
        if not self._observed():
            self._set(mn, mx)
        else:
            self._set(*self._update(mn, mx))
        return x_orig

    def _batch_min_max(self, x):
        return torch.aminmax(x)

    def _observed(self):
        return not (math.isinf(_float(self.min_val)) and math.isinf(_float(self.max_val)))

    def _update(self, mn, mx):
        return torch.min(mn, self.min_val), torch.max(mx, self.max_val)

    def _set(self, mn, mx):
        self.min_val.copy_(mn)
        self.max_val.copy_(mx)


def _moving_average(self, mn, mx):
    """The moving-average observers' update: ``min_val + c * (batch min - min_val)`` (likewise max)."""
    c = self.averaging_constant
    return self.min_val + c * (mn - self.min_val), self.max_val + c * (mx - self.max_val)


class MinMaxObserver(_RunningMinMax, UniformQuantizationObserverBase):
    """Running minimum and maximum of everything seen; parameters from them."""

    def __init__(self, dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False, quant_min=None,
                 quant_max=None, factory_kwargs=None, eps=float(_EPS), is_dynamic=False, **kwargs):
        if not _is_per_tensor(qscheme):
            raise NotImplementedError("MinMaxObserver's qscheme only support torch.per_tensor_symmetric and "
                                      "torch.per_tensor_affine.")
        if is_dynamic:
            raise NotImplementedError("MinMaxObserver doesn't support dynamic quantization for activations")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range, quant_min=quant_min,
                         quant_max=quant_max, factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        self.register_buffer("min_val", torch.tensor(float("inf")))
        self.register_buffer("max_val", torch.tensor(float("-inf")))
        if self.qscheme is torch.per_tensor_symmetric and self.reduce_range and self.dtype is torch.quint8:
            raise NotImplementedError("Cannot reduce range for symmetric quantization for quint8")

    def calculate_qparams(self):
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={_float(self.min_val)}, max_val={_float(self.max_val)}"

    def reset_min_max_vals(self):
        self.min_val.copy_(torch.tensor(float("inf")))
        self.max_val.copy_(torch.tensor(float("-inf")))


def _is_per_tensor(qscheme):
    return qscheme in (torch.per_tensor_affine, torch.per_tensor_symmetric)


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Minimum and maximum as exponential moving averages (the first batch sets them)."""

    def __init__(self, averaging_constant=0.01, dtype=torch.quint8, qscheme=torch.per_tensor_affine,
                 reduce_range=False, quant_min=None, quant_max=None, eps=float(_EPS), is_dynamic=False, **kwargs):
        if not _is_per_tensor(qscheme):
            raise NotImplementedError(f"MovingAverageMinMaxObserver's qscheme only support "
                                      f"torch.per_tensor_symmetric and torch.per_tensor_affine. but got: {qscheme}")
        self.averaging_constant = averaging_constant
        if is_dynamic and self.averaging_constant != 1:
            raise NotImplementedError("MovingAverageMinMaxObserver doesn't support dynamic quantization for "
                                      f"averaging constant of {self.averaging_constant}")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range, quant_min=quant_min,
                         quant_max=quant_max, eps=eps, **kwargs)

    _update = _moving_average


class PerChannelMinMaxObserver(_RunningMinMax, UniformQuantizationObserverBase):
    """Running minimum and maximum per slice along ``ch_axis``."""

    def __init__(self, ch_axis=0, dtype=torch.quint8, qscheme=torch.per_channel_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=float(_EPS), is_dynamic=False, **kwargs):
        if not _is_per_channel(qscheme):
            raise NotImplementedError("PerChannelMinMaxObserver's qscheme only support torch.per_channel_symmetric, "
                                      "torch.per_channel_affine and torch.per_channel_affine_float_qparams.")
        if is_dynamic:
            raise NotImplementedError("PerChannelMinMaxObserver doesn't support dynamic quantization for activations")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range, quant_min=quant_min,
                         quant_max=quant_max, factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        self.ch_axis = ch_axis
        self.register_buffer("min_val", torch.tensor([]))
        self.register_buffer("max_val", torch.tensor([]))
        if self.qscheme is torch.per_channel_symmetric and self.reduce_range and self.dtype is torch.quint8:
            raise NotImplementedError("Cannot reduce range for symmetric quantization for quint8")

    def _batch_min_max(self, x):
        y = x.movedim(self.ch_axis, 0).reshape(x.shape[self.ch_axis], -1)
        return torch.aminmax(y, dim=1)

    def _observed(self):
        return self.min_val.numel() != 0 and self.max_val.numel() != 0

    def _set(self, mn, mx):
        if tuple(self.min_val.shape) != tuple(mn.shape):
            self.min_val = mn.clone()
            self.max_val = mx.clone()
        else:
            self.min_val.copy_(mn)
            self.max_val.copy_(mx)

    def calculate_qparams(self):
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val!r}, max_val={self.max_val!r}"

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # the per-channel buffers take the saved tensors' shapes (they are empty until the first batch)
        for name in ("min_val", "max_val"):
            key = prefix + name
            if key in state_dict:
                setattr(self, name, state_dict[key].clone() if isinstance(state_dict[key], torch.Tensor)
                        else torch.tensor(state_dict[key]))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def reset_min_max_vals(self):
        self.min_val = torch.tensor([])
        self.max_val = torch.tensor([])


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """Per-channel minimum and maximum as exponential moving averages."""

    def __init__(self, averaging_constant=0.01, ch_axis=0, dtype=torch.quint8, qscheme=torch.per_channel_affine,
                 reduce_range=False, quant_min=None, quant_max=None, eps=float(_EPS), is_dynamic=False, **kwargs):
        if not _is_per_channel(qscheme):
            raise NotImplementedError("MovingAveragePerChannelMinMaxObserver's qscheme only support "
                                      "torch.per_channel_symmetric, torch.per_channel_affine and "
                                      "torch.per_channel_affine_float_qparams.")
        if is_dynamic:
            raise NotImplementedError("MovingAveragePerChannelMinMaxObserver doesn't support dynamic quantization "
                                      "for activations")
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps, is_dynamic=is_dynamic, **kwargs)
        self.averaging_constant = averaging_constant

    _update = _moving_average


class PlaceholderObserver(ObserverBase):
    """Observes nothing: carries the dtype (and dynamic flag) a later step quantizes to."""

    def __init__(self, dtype=torch.float32, custom_op_name="", compute_dtype=None, quant_min=None, quant_max=None,
                 qscheme=None, eps=None, is_dynamic=False):
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        if qscheme is None:
            qscheme = torch.per_tensor_affine
        if eps is None:
            eps = float(_EPS)
        self.qscheme = qscheme
        self.quant_min = quant_min
        self.quant_max = quant_max
        self.eps = eps
        self.custom_op = custom_op_name
        if compute_dtype:
            is_dynamic = True
            warnings.warn("Please use `is_dynamic` instead of `compute_dtype`. `compute_dtype` will be deprecated "
                          "in a future release of PyTorch.")

    def forward(self, x):
        return x

    def extra_repr(self):
        return f"dtype={self.dtype}, is_dynamic={self.is_dynamic}"

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for PlaceholderObserver")  # noqa: TRY002


class NoopObserver(ObserverBase):
    """Observes nothing (float16 quantization, where no parameters are needed)."""

    def __init__(self, dtype=torch.float16, custom_op_name=""):
        super().__init__(dtype=dtype)
        self.dtype = dtype
        self.custom_op = custom_op_name

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for NoopObserver")  # noqa: TRY002


class ReuseInputObserver(ObserverBase):
    """Observes nothing: graph mode quantization gives the op's output its input's parameters (reshape)."""

    def __init__(self):
        super().__init__(torch.quint8, is_dynamic=False)

    def forward(self, x):
        return x

    def calculate_qparams(self):
        raise AssertionError("calculate_qparams should not be called for ReuseInputObserver")


class RecordingObserver(ObserverBase):
    """Keeps every tensor it sees (debugging)."""

    def __init__(self, dtype=torch.quint8):
        super().__init__(dtype=dtype)
        self.tensor_val = []

    def forward(self, x):
        self.tensor_val.append(x.clone())
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for RecordingObserver")  # noqa: TRY002

    def get_tensor_value(self):
        return self.tensor_val


def _is_activation_post_process(module):
    from .fake_quantize import FakeQuantizeBase
    return isinstance(module, (ObserverBase, FakeQuantizeBase))


default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_placeholder_observer = PlaceholderObserver
default_debug_observer = RecordingObserver
default_weight_observer = MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
weight_observer_range_neg_127_to_127 = MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric,
                                                                quant_min=-127, quant_max=127, eps=2 ** -12)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                                         qscheme=torch.per_channel_symmetric)
per_channel_weight_observer_range_neg_127_to_127 = PerChannelMinMaxObserver.with_args(
    dtype=torch.qint8, qscheme=torch.per_channel_symmetric, quant_min=-127, quant_max=127, eps=2 ** -12)
default_dynamic_quant_observer = PlaceholderObserver.with_args(dtype=torch.quint8, quant_min=0, quant_max=255,
                                                               is_dynamic=True)
default_float_qparams_observer = PerChannelMinMaxObserver.with_args(
    dtype=torch.quint8, qscheme=torch.per_channel_affine_float_qparams, ch_axis=0)
default_float_qparams_observer_4bit = PerChannelMinMaxObserver.with_args(
    dtype=torch.quint4x2, qscheme=torch.per_channel_affine_float_qparams, ch_axis=0)


class HistogramObserver(UniformQuantizationObserverBase):
    """A histogram of everything seen (``bins`` bins over the running range); the parameters come from the
    sub-range of bins whose quantization (to ``2**bits`` levels) has the least L2 error, found by narrowing the
    range from whichever end holds less of the mass, one ``1e-5`` quantile step at a time, while the error
    falls. The search runs in float32 numpy, as torch's runs on float32 tensors."""

    def __init__(self, bins=2048, dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=float(_EPS), is_dynamic=False, **kwargs):
        if not _is_per_tensor(qscheme):
            raise NotImplementedError("HistogramObserver's qscheme only support torch.per_tensor_symmetric and "
                                      "torch.per_tensor_affine.")
        if is_dynamic:
            raise NotImplementedError("HistogramObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range, quant_min=quant_min,
                         quant_max=quant_max, factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        self.bins = bins
        self.register_buffer("histogram", torch.zeros(self.bins))
        self.register_buffer("min_val", torch.tensor(float("inf")))
        self.register_buffer("max_val", torch.tensor(float("-inf")))
        self.dst_nbins = 2 ** (self.dtype.bits if self.dtype in D.QUANTIZED else torch.iinfo(self.dtype).bits)
        self.upsample_rate = 16  # finer bins when an old histogram is mapped onto a wider range

    # ---- the error of quantizing bins [start, end] to dst_nbins levels
    def _quantization_error(self, hist, start, end, mn, mx):
        f = np.float32
        bins = self.bins
        bin_width = (float(mx) - float(mn)) / bins
        dst_w = bin_width * (end - start + 1) / self.dst_nbins
        if dst_w == 0.0:
            return 0.0
        src = np.arange(bins, dtype=np.int64)
        src_begin = ((src - start) * f(bin_width)).astype(f)
        src_end = (src_begin + f(bin_width)).astype(f)
        dw = f(dst_w)
        top = f(self.dst_nbins - 1)
        dst_begin = np.clip(np.floor(src_begin / dw), f(0), top).astype(f)
        dst_begin_center = ((dst_begin + f(0.5)) * dw).astype(f)
        dst_end = np.clip(np.floor(src_end / dw), f(0), top).astype(f)
        density = (hist / f(bin_width)).astype(f)

        def norm_of(b, e):
            return (density * ((e * e * e - b * b * b) / f(3))).astype(f)

        half = f(dst_w / 2)
        norm = norm_of(src_begin - dst_begin_center, np.full(bins, half, f))
        norm = norm + (dst_end - dst_begin - f(1)) * norm_of(f(-dst_w / 2), half)
        dst_end_center = (dst_end * dw + half).astype(f)
        norm = norm + norm_of(f(-dst_w / 2), (src_end - dst_end_center).astype(f))
        return float(np.sum(norm.astype(f), dtype=f))

    def _non_linear_param_search(self):
        f = np.float32
        hist = np.asarray(self.histogram.numpy(), f)
        mn, mx = f(self.min_val.item()), f(self.max_val.item())
        bin_width = f((mx - mn) / f(self.bins))
        total = float(hist.sum(dtype=f))
        csum = np.cumsum(hist, dtype=f)
        step = 1e-5
        alpha, beta = 0.0, 1.0
        start, end = 0, self.bins - 1
        best = float("inf")
        while alpha < beta:
            na, nb = alpha + step, beta - step
            lo, hi = f(na * total), f(nb * total)
            left, right = start, end
            while left < end and csum[left] <= lo:
                left += 1
            while right > start and csum[right] >= hi:
                right -= 1
            ns, ne = start, end
            if (left - start) > (end - right):
                ns, alpha = left, na
            else:
                ne, beta = right, nb
            if ns == start and ne == end:
                continue
            err = self._quantization_error(hist, ns, ne, mn, mx)
            if err > best:
                break
            best, start, end = err, ns, ne
        new_min = f(mn + bin_width * f(start))
        new_max = f(mn + bin_width * f(end + 1))
        return torch.tensor(new_min), torch.tensor(new_max)

    def _upscale_histogram(self, hist, orig_min, orig_max, update_min, update_max):
        """``hist`` over [orig_min, orig_max] redistributed onto ``bins`` bins over the wider update range: each
        old bin split into ``upsample_rate`` parts, each part moved whole to the new bin holding its midpoint."""
        r = self.upsample_rate
        fine = np.repeat(np.asarray(hist, np.float32), r) / np.float32(r)
        n = self.bins * r
        half = np.float32(0.5 * (orig_max - orig_min) / n)
        # torch.linspace's own rounding (it fills from both ends) decides which bin a border midpoint lands in
        mids = np.asarray(torch.linspace(orig_min, orig_max, n + 1).numpy())[:-1] + half
        edges = np.asarray(torch.linspace(update_min, update_max, self.bins + 1).numpy())
        idx = np.clip(np.searchsorted(edges, mids, side="right") - 1, 0, self.bins - 1)
        return np.bincount(idx, weights=fine, minlength=self.bins).astype(np.float32)

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(torch.float32)
        x_min, x_max = (float(v) for v in torch.aminmax(x))
        if math.isinf(x_min) or math.isinf(x_max):  # infinities would make the range infinite: left out
            finite = x[torch.isfinite(x)]
            if finite.numel() == 0:
                return x_orig
            x = finite
            x_min, x_max = (float(v) for v in torch.aminmax(x))
        cur_min, cur_max = self.min_val.item(), self.max_val.item()
        if math.isinf(cur_min) or math.isinf(cur_max):
            self.min_val.fill_(x_min)
            self.max_val.fill_(x_max)
            self.histogram.copy_(torch.histc(x, self.bins, min=x_min, max=x_max))
            return x_orig
        new_min, new_max = min(cur_min, x_min), max(cur_max, x_max)
        update = np.asarray(torch.histc(x, self.bins, min=new_min, max=new_max).numpy(), np.float32)
        hist = np.asarray(self.histogram.numpy(), np.float32)
        if new_min == cur_min and new_max == cur_max:
            combined = hist + update
        elif cur_min == cur_max:  # the old histogram is one value: its whole mass lands in one new bin
            one = np.asarray(torch.histc(torch.tensor([cur_min]), self.bins, min=new_min, max=new_max).numpy())
            combined = one * np.float32(hist.sum(dtype=np.float32)) + update
        else:
            combined = update + self._upscale_histogram(hist, cur_min, cur_max, new_min, new_max)
        self.histogram.copy_(torch.tensor(combined.astype(np.float32)))
        self.min_val.fill_(new_min)
        self.max_val.fill_(new_max)
        return x_orig

    def calculate_qparams(self):
        if math.isinf(self.min_val.item()) and math.isinf(self.max_val.item()):
            warnings.warn("must run observer before calling calculate_qparams. Returning default scale and "
                          "zero point ")
            return torch.tensor([1.0]), torch.tensor([0])
        new_min, new_max = self._non_linear_param_search()
        return self._calculate_qparams(new_min, new_max)

    def extra_repr(self):
        return f"min_val={_float(self.min_val)}, max_val={_float(self.max_val)}"

    def reset_min_max_vals(self):
        self.min_val.fill_(float("inf"))
        self.max_val.fill_(float("-inf"))
        self.histogram.zero_()


class FixedQParamsObserver(ObserverBase):
    """Fixed parameters (for ops with a known output range)."""

    def __init__(self, scale, zero_point, dtype=torch.quint8, qscheme=torch.per_tensor_affine, quant_min=0,
                 quant_max=255, is_dynamic=False, **kwargs):
        if is_dynamic:
            raise NotImplementedError("FixedQParamsObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        self.quant_min = quant_min
        self.quant_max = quant_max
        self.register_buffer("scale", torch.tensor([scale], dtype=torch.float))
        self.register_buffer("zero_point", torch.tensor([zero_point], dtype=torch.int))
        self.dtype = dtype
        self.qscheme = qscheme

    def forward(self, X):
        return X

    def calculate_qparams(self):
        return self.scale, self.zero_point


default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
default_fixed_qparams_range_neg1to1_observer = FixedQParamsObserver.with_args(
    scale=2.0 / 256.0, zero_point=128, dtype=torch.quint8, quant_min=0, quant_max=255)
default_fixed_qparams_range_0to1_observer = FixedQParamsObserver.with_args(
    scale=1.0 / 256.0, zero_point=0, dtype=torch.quint8, quant_min=0, quant_max=255)
default_symmetric_fixed_qparams_observer = default_fixed_qparams_range_neg1to1_observer
default_affine_fixed_qparams_observer = default_fixed_qparams_range_0to1_observer

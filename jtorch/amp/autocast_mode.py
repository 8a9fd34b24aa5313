"""torch.amp: autocast (ops cast their inputs like torch's autocast) and GradScaler (real loss scaling).

Autocast follows torch's op lists (aten/src/ATen/autocast_mode.cpp, as documented in torch.amp):
inside an enabled region for a device type, the ops of LOWER run in the region's dtype (their
float32 tensor inputs on that device are cast, so a Linear gives bfloat16 on the CPU), the ops of
FP32 run in float32 (float16/bfloat16 inputs are cast up, so losses are float32), and every other
op runs in its inputs' dtype (a softmax of bfloat16 is bfloat16 on the CPU). The casts are
ordinary recorded ops, so gradients flow back to float32 parameters in float32. float64 tensors
are never cast. The hook is ``_dispatch.AUTOCAST``: None outside every region (one check per op).
"""
import contextlib
import functools
import warnings

from .. import _dispatch

# jtorch op names (the kernels behind torch's functions) in torch's autocast lists
LOWER = frozenset({"_linear", "_matmul", "_addmm", "_conv", "_conv_transpose", "_attention", "prelu"})
_FP32_LOSSES = {"_nll_loss", "_cross_entropy_index", "_cross_entropy_prob", "_binary_cross_entropy",
                "_bce_with_logits", "_mse_loss", "_l1_loss", "_smooth_l1_loss", "_huber_loss", "_kl_div",
                "_poisson_nll", "_cosine_embedding", "_margin_ranking", "_hinge_embedding", "_soft_margin",
                "_triplet_margin", "_multi_margin", "_multilabel_margin", "_ctc_loss", "_pdist"}
FP32 = {
    "cpu": frozenset(_FP32_LOSSES),
    # CUDA also keeps exponentials, norms, softmax and sums in float32
    "cuda": frozenset(_FP32_LOSSES | {"_softmax", "_log_softmax", "_layer_norm", "_group_norm", "exp", "log",
                                      "log1p", "expm1", "log2", "log10", "reciprocal", "rsqrt", "_pow", "_sum",
                                      "_cumsum", "_logsumexp", "_vector_norm", "softplus"}),
}
_ACTIVE = {}  # device type -> autocast dtype, for the device types where autocast is on now
_DTYPES = {}  # device type -> the dtype set for it (set_autocast_dtype or an open region); else _DEFAULT_DTYPES
_FLAGS = {"cache": True, "nesting": 0}
# the device types torch's autocast knows, and the dtype each casts to unless told otherwise
_DEFAULT_DTYPES = {"cpu": "bfloat16", "cuda": "float16", "ipu": "float16", "xpu": "float16", "hpu": "bfloat16",
                   "xla": "bfloat16", "mps": "float16", "mtia": "float16", "maia": "bfloat16", "privateuseone": "float16"}
_DEVICE_TYPES = ("cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, vulkan, mps, "
                 "meta, hpu, mtia, privateuseone")


def _cast_inputs(op, dyn):
    """``_dispatch.AUTOCAST``: the op's arguments cast as torch's autocast would."""
    name = op.name
    for dev, dtype in _ACTIVE.items():
        if name in LOWER:
            return [_cast(a, dev, dtype, False) for a in dyn] if not op.seq else dyn
        if name in FP32.get(dev, _FP32_LOSSES):
            from .._dtype import float32
            return [_cast(a, dev, float32, True) for a in dyn] if not op.seq else dyn
    return dyn


def _cast(a, dev, dtype, up):
    from .._dtype import float16, float32, bfloat16
    if not isinstance(a, _dispatch.Tensor) or a.dtype is dtype:
        return a
    if (a.dtype in (float16, bfloat16) if up else a.dtype in (float32, float16, bfloat16)) \
            and a.device.type == dev:
        return a.to(dtype)
    return a


def casts_together(*tensors):
    """Whether an enabled autocast region will bring these mixed float dtypes to one (torch checks a
    matmul's or a convolution's dtypes after autocast cast them)."""
    if not _ACTIVE:
        return False
    from .._dtype import float16, float32, bfloat16
    return all(t.dtype in (float32, float16, bfloat16) and t.device.type in _ACTIVE for t in tensors)


def _device_type(device_type, fn):
    """``device_type`` checked as torch's autocast state functions check it."""
    if not isinstance(device_type, str):
        raise TypeError(f"{fn}(): argument 'device_type' (position 1) must be str, not {type(device_type).__name__}")
    if device_type not in _DEVICE_TYPES.split(", "):
        raise RuntimeError(f"Expected one of {_DEVICE_TYPES} device type at start of device string: {device_type}")
    if device_type not in _DEFAULT_DTYPES:
        raise RuntimeError(f"autocast does not support the device type '{device_type}'")
    return device_type


def _sync_dispatch():
    _dispatch.AUTOCAST[0] = _cast_inputs if _ACTIVE else None


def is_autocast_enabled(device_type=None):
    """Whether autocast is on for ``device_type`` (no argument: for CUDA, torch's older form)."""
    return _device_type("cuda" if device_type is None else device_type, "is_autocast_enabled") in _ACTIVE


def get_autocast_dtype(device_type):
    """The dtype autocast casts to on ``device_type``, whether it is on or not."""
    from .. import _dtype as D
    dev = _device_type(device_type, "get_autocast_dtype")
    return _DTYPES.get(dev) or getattr(D, _DEFAULT_DTYPES[dev])


def set_autocast_enabled(*args):
    """``set_autocast_enabled(device_type, enabled)``; ``set_autocast_enabled(enabled)`` is CUDA's."""
    device_type, enabled = ("cuda", *args) if len(args) == 1 else args
    dev = _device_type(device_type, "set_autocast_enabled")
    if not isinstance(enabled, bool):
        raise TypeError(f"set_autocast_enabled(): argument 'enabled' must be bool, not {type(enabled).__name__}")
    if enabled:
        _ACTIVE[dev] = get_autocast_dtype(dev)
    else:
        _ACTIVE.pop(dev, None)
    _sync_dispatch()


def set_autocast_dtype(device_type, dtype):
    from .._dtype import dtype as dtype_class
    dev = _device_type(device_type, "set_autocast_dtype")
    if not isinstance(dtype, dtype_class):
        raise TypeError(f"set_autocast_dtype(): argument 'dtype' (position 2) must be torch.dtype, not "
                        f"{type(dtype).__name__}")
    _DTYPES[dev] = dtype
    if dev in _ACTIVE:
        _ACTIVE[dev] = dtype


def is_autocast_cache_enabled():
    return _FLAGS["cache"]


def set_autocast_cache_enabled(enabled):
    """jtorch keeps no cache of cast weights (XLA fuses the casts), so this is only the flag torch reports."""
    if not isinstance(enabled, bool):
        raise TypeError(f"set_autocast_cache_enabled(): argument 'enabled' (position 1) must be bool, not "
                        f"{type(enabled).__name__}")
    _FLAGS["cache"] = enabled


def autocast_increment_nesting():
    """How many autocast regions are open, counted by torch.autocast's own bookkeeping (returns the new count)."""
    _FLAGS["nesting"] += 1
    return _FLAGS["nesting"]


def autocast_decrement_nesting():
    _FLAGS["nesting"] -= 1  # torch empties its cast cache at 0; jtorch has none to empty
    return _FLAGS["nesting"]


class autocast(contextlib.ContextDecorator):
    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        from .. import _dtype as D
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device_type = device_type
        if dtype is None:  # the dtype set for the device type now (set_autocast_dtype or an enclosing region)
            dtype = _DTYPES.get(device_type) or getattr(D, _DEFAULT_DTYPES.get(device_type, "float16"))
        self.fast_dtype = dtype
        self.dtype = self.fast_dtype
        self._enabled = bool(enabled)
        if self._enabled and device_type == "cuda":
            from .. import cuda
            if not cuda.is_available():
                warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling")
                self._enabled = False
        if self._enabled and device_type == "cpu" and self.fast_dtype not in (D.bfloat16, D.float16):
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                          "CPU Autocast only supports dtype of torch.bfloat16, torch.float16 currently.")
            self._enabled = False
        self.enabled = self._enabled
        self._prev = []

    def __enter__(self):
        dev = self.device_type
        self._prev.append((dev, _ACTIVE.get(dev), _DTYPES.get(dev)))
        _DTYPES[dev] = self.fast_dtype
        if self._enabled:
            _ACTIVE[dev] = self.fast_dtype
        else:
            _ACTIVE.pop(dev, None)
        _sync_dispatch()
        autocast_increment_nesting()
        return self

    def __exit__(self, *exc):
        dev, active, dtype = self._prev.pop()
        for state, value in ((_ACTIVE, active), (_DTYPES, dtype)):
            if value is None:
                state.pop(dev, None)
            else:
                state[dev] = value
        _sync_dispatch()
        autocast_decrement_nesting()
        return False


def autocast_decorator(autocast_instance, func):
    """``func`` run inside ``autocast_instance`` (what decorating with an autocast object does)."""
    @functools.wraps(func)
    def run(*args, **kwargs):
        with autocast_instance:
            return func(*args, **kwargs)
    return run


def is_autocast_available(device_type):
    if device_type not in _DEVICE_TYPES.split(", "):
        raise RuntimeError(f"Expected one of {_DEVICE_TYPES} device type at start of device string: {device_type}")
    return device_type in _DEFAULT_DTYPES


def _cast_to(value, device_type, dtype):
    """Floating tensors on ``device_type`` in ``value`` (nested in lists, tuples, dicts) cast to ``dtype``;
    float64 ones stay, as autocast never narrows them."""
    from .. import Tensor, float64
    if isinstance(value, Tensor):
        ok = value.is_floating_point() and value.device.type == device_type and value.dtype is not float64
        return value.to(dtype) if ok else value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_to(v, device_type, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast_to(v, device_type, dtype) for k, v in value.items()}
    return value


def _checked_device_type(device_type):
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    return device_type


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorates an autograd.Function's forward for autocast: with ``cast_inputs`` the forward runs with
    autocast off on inputs cast to that dtype; without, it runs in whatever autocast state the caller has.
    Either way the state is noted on ``ctx`` for custom_bwd."""
    _checked_device_type(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def forward(*args, **kwargs):
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        on = is_autocast_enabled(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = on
            return fwd(*args, **kwargs)
        ctx._fwd_used_autocast = False
        if not on:
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(*_cast_to(args, device_type, cast_inputs), **_cast_to(kwargs, device_type, cast_inputs))
    return forward


def custom_bwd(bwd=None, *, device_type):
    """Decorates an autograd.Function's backward to run in the autocast state its custom_fwd forward ran in."""
    _checked_device_type(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def backward(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type=device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(*args, **kwargs)
    return backward


__all__ = ["autocast_decorator", "autocast", "is_autocast_available", "custom_fwd", "custom_bwd"]

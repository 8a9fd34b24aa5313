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
import warnings

from . import _dispatch

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
_ACTIVE = {}  # device type -> autocast dtype, for the enabled regions now open


def _cast_inputs(op, dyn):
    """``_dispatch.AUTOCAST``: the op's arguments cast as torch's autocast would."""
    name = op.name
    for dev, dtype in _ACTIVE.items():
        if name in LOWER:
            return [_cast(a, dev, dtype, False) for a in dyn] if not op.seq else dyn
        if name in FP32[dev]:
            from ._dtype import float32
            return [_cast(a, dev, float32, True) for a in dyn] if not op.seq else dyn
    return dyn


def _cast(a, dev, dtype, up):
    from ._dtype import float16, float32, bfloat16
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
    from ._dtype import float16, float32, bfloat16
    return all(t.dtype in (float32, float16, bfloat16) and t.device.type in _ACTIVE for t in tensors)


class autocast(contextlib.ContextDecorator):
    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        from . import _dtype as D
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device_type = device_type
        self.fast_dtype = dtype if dtype is not None else (D.bfloat16 if device_type == "cpu" else D.float16)
        self.dtype = self.fast_dtype
        self._enabled = bool(enabled)
        if self._enabled and device_type == "cuda":
            from . import cuda
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
        dev = "cuda" if self.device_type == "cuda" else self.device_type
        self._prev.append((dev, _ACTIVE.get(dev)))
        if self._enabled:
            _ACTIVE[dev] = self.fast_dtype
        else:
            _ACTIVE.pop(dev, None)
        _dispatch.AUTOCAST[0] = _cast_inputs if _ACTIVE else None
        return self

    def __exit__(self, *exc):
        dev, prev = self._prev.pop()
        if prev is None:
            _ACTIVE.pop(dev, None)
        else:
            _ACTIVE[dev] = prev
        _dispatch.AUTOCAST[0] = _cast_inputs if _ACTIVE else None
        return False


def is_autocast_available(device_type):
    return device_type in ("cpu", "cuda")


class GradScaler:
    """Scales the loss, unscales grads before step, skips steps with inf/nan grads (like torch)."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        from . import cuda
        self._enabled = enabled and (device != "cuda" or cuda.is_available())
        self._scale = init_scale
        self._growth_factor, self._backoff_factor, self._growth_interval = growth_factor, backoff_factor, growth_interval
        self._growth_tracker = 0
        self._found_inf = False
        self._unscaled = set()

    def is_enabled(self):
        return self._enabled

    def scale(self, outputs):
        if not self._enabled:
            return outputs
        return outputs * self._scale

    def unscale_(self, optimizer):
        if not self._enabled or id(optimizer) in self._unscaled:
            return
        from . import no_grad, isfinite
        inv = 1.0 / self._scale
        with no_grad():
            for g in optimizer.param_groups:
                for p in g["params"]:
                    if p.grad is not None:
                        p.grad.mul_(inv)
                        if not bool(isfinite(p.grad).all()):
                            self._found_inf = True
        self._unscaled.add(id(optimizer))

    def step(self, optimizer, *args, **kwargs):
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        self.unscale_(optimizer)
        if not self._found_inf:
            return optimizer.step(*args, **kwargs)
        return None

    def update(self, new_scale=None):
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif self._found_inf:
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._found_inf = False
        self._unscaled.clear()

    def get_scale(self):
        return self._scale if self._enabled else 1.0

    def state_dict(self):
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state):
        self._scale = state["scale"]
        self._growth_tracker = state.get("_growth_tracker", 0)

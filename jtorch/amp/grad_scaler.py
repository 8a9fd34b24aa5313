"""torch.amp.grad_scaler: GradScaler, loss scaling for float16 training."""
import warnings

__all__ = ["GradScaler"]


_READY, _UNSCALED, _STEPPED = 0, 1, 2  # where each optimizer is between two update()s


def _fresh_optimizer_state():
    return {"stage": _READY, "found_inf": None}


class GradScaler:
    """Scales the loss, unscales the grads before the step, skips steps with inf/nan grads and
    adjusts the scale, like torch's. The scale, growth tracker and found-inf flags are tensors, so a
    ``jtorch.compile``d step traces scale/unscale_/step/update whole: where torch graph-breaks to read
    found_inf in Python, the compiled step runs the optimizer and keeps the old parameters and state
    where an inf was found (a select in the program)."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        from .. import cuda
        if enabled and device == "cuda" and not cuda.is_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.")
            enabled = False
        self._device = device
        self._enabled = enabled
        if enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
        self._init_scale = init_scale
        self._growth_factor, self._backoff_factor, self._growth_interval = growth_factor, backoff_factor, growth_interval
        self._init_growth_tracker = 0
        self._scale = None  # float32 0-d tensor, made by the first scale()
        self._growth_tracker = None  # int32 0-d tensor
        self._per_optimizer_states = {}  # id(optimizer) -> _fresh_optimizer_state()

    def is_enabled(self):
        return self._enabled

    def _lazy_init(self):
        if self._scale is None:
            from .. import full, float32, int32
            self._scale = full((), float(self._init_scale), dtype=float32)
            self._growth_tracker = full((), self._init_growth_tracker, dtype=int32)

    def _state(self, optimizer):
        return self._per_optimizer_states.setdefault(id(optimizer), _fresh_optimizer_state())

    def scale(self, outputs):
        if not self._enabled:
            return outputs
        self._lazy_init()
        from .. import Tensor
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, dict):
            return {k: self.scale(v) for k, v in outputs.items()}
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer):
        if not self._enabled:
            return
        if self._scale is None:
            raise AssertionError("Attempted unscale_ but _scale is None.  This may indicate your script did "
                                 "not use scaler.scale(loss or outputs) earlier in the iteration.")
        st = self._state(optimizer)
        if st["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if st["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        from .. import no_grad, isfinite, float16, zeros, float32, stack
        inv = self._scale.double().reciprocal().float()
        flags = []
        with no_grad():
            for g in optimizer.param_groups:
                for p in g["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.dtype == float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    # the check reads the scaled gradient, then it is unscaled (torch's order)
                    flags.append((~isfinite(p.grad)).any())
                    p.grad.mul_(inv)
            st["found_inf"] = stack(flags).any().to(float32) if flags else zeros((), dtype=float32)
        st["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        st = self._state(optimizer)
        if st["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if st["stage"] == _READY:
            self.unscale_(optimizer)
        if st["found_inf"] is None:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        from ..compile import is_compiling
        if is_compiling():
            try:
                retval = _step_unless(optimizer, st["found_inf"], args, kwargs)
            except BaseException:
                # the call runs again eagerly, from the start of the iteration (scale, unscale_)
                self._per_optimizer_states.pop(id(optimizer), None)
                raise
        elif not st["found_inf"].item():
            retval = optimizer.step(*args, **kwargs)
        else:
            retval = None
        st["stage"] = _STEPPED
        return retval

    def update(self, new_scale=None):
        if not self._enabled:
            return
        if self._scale is None:
            raise AssertionError("Attempted update but _scale is None.  This may indicate your script did "
                                 "not use scaler.scale(loss or outputs) earlier in the iteration.")
        from .. import Tensor, no_grad, where, isfinite
        with no_grad():
            if new_scale is not None:
                if isinstance(new_scale, Tensor):
                    if new_scale.numel() != 1 or new_scale.requires_grad:
                        raise AssertionError("new_scale should be a single-element tensor with requires_grad=False.")
                    self._scale.copy_(new_scale.reshape(()))
                else:
                    self._scale.fill_(float(new_scale))
            else:
                found = [s["found_inf"] for s in self._per_optimizer_states.values() if s["found_inf"] is not None]
                if not found:
                    raise AssertionError("No inf checks were recorded prior to update.")
                inf = found[0] > 0
                for f in found[1:]:
                    inf = inf | (f > 0)
                # torch's rule: back off and restart counting on an inf; otherwise count, and grow the
                # scale (if that stays finite) after growth_interval steps in a row without one
                tracker = where(inf, 0, self._growth_tracker + 1).to(self._growth_tracker.dtype)
                grown = self._scale * self._growth_factor
                grow = (~inf) & (tracker == self._growth_interval) & isfinite(grown)
                scale = where(inf, self._scale * self._backoff_factor, where(grow, grown, self._scale))
                tracker = where((~inf) & (tracker == self._growth_interval), 0, tracker).to(tracker.dtype)
                self._scale.copy_(scale)
                self._growth_tracker.copy_(tracker)
        self._per_optimizer_states = {}

    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale.item()

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker.item()

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._scale is not None:
            self._scale.fill_(float(state_dict["scale"]))
            self._growth_tracker.fill_(int(state_dict["_growth_tracker"]))


def _step_unless(optimizer, found_inf, args, kwargs):
    """``optimizer.step()`` inside a compiled step, undone where ``found_inf``: the parameters and
    optimizer state keep their old values (a select, since the program cannot branch in Python). The
    state a first step would create cannot be un-created: such a call runs eagerly (compile's
    EagerThisCall), and later calls, with the state made, compile."""
    from .. import no_grad, where
    from ..compile import EagerThisCall
    from .. import Tensor
    params = [p for g in optimizer.param_groups for p in g["params"]]
    if any(p.grad is not None and not optimizer.state.get(p) for p in params):
        raise EagerThisCall("a GradScaler step that may be an optimizer's first")
    with no_grad():
        old = [(p, p.detach().clone()) for p in params]
        old += [(p, k, v.detach().clone()) for p in params for k, v in optimizer.state.get(p, {}).items()
                if isinstance(v, Tensor)]
        retval = optimizer.step(*args, **kwargs)
        skip = found_inf > 0
        for item in old:
            if len(item) == 2:
                p, before = item
                p.copy_(where(skip, before, p))
            else:
                p, k, before = item
                cur = optimizer.state[p][k]
                cur.copy_(where(skip, before, cur))
    return retval

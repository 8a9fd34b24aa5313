"""torch.amp: autocast (autocast_mode.py) and GradScaler (grad_scaler.py)."""
from . import autocast_mode, grad_scaler  # noqa: F401
from .autocast_mode import (FP32, LOWER, _ACTIVE, _cast_inputs, autocast, casts_together,  # noqa: F401
                            custom_bwd, custom_fwd, is_autocast_available)
from .grad_scaler import GradScaler  # noqa: F401

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available", "GradScaler"]

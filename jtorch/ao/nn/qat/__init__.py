"""torch.ao.nn.qat: float modules whose weights pass through fake quantization (quantization-aware training)."""
from .modules import Linear, Conv1d, Conv2d, Conv3d  # noqa: F401
from . import modules, dynamic  # noqa: F401

__all__ = ["Linear", "Conv1d", "Conv2d", "Conv3d"]

"""QAT Linear and Conv1d/2d/3d (see torch.ao.nn.qat)."""
from .linear import Linear  # noqa: F401
from .conv import Conv1d, Conv2d, Conv3d  # noqa: F401

__all__ = ["Linear", "Conv1d", "Conv2d", "Conv3d"]

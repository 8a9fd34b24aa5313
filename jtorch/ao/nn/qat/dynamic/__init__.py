"""torch.ao.nn.qat.dynamic: QAT modules that convert to dynamically quantized ones."""
from .linear import Linear  # noqa: F401

__all__ = ["Linear"]

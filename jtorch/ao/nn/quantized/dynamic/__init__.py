"""torch.ao.nn.quantized.dynamic: modules with quantized weights whose activations are quantized per call."""
from .linear import Linear

__all__ = ["Linear"]

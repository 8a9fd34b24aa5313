"""torch.distributions.inverse_gamma's import path: InverseGamma live in heavy_tailed.py."""
from .heavy_tailed import InverseGamma  # noqa: F401

__all__ = ["InverseGamma"]

"""torch.distributions.weibull's import path: Weibull live in heavy_tailed.py."""
from .heavy_tailed import Weibull  # noqa: F401

__all__ = ["Weibull"]

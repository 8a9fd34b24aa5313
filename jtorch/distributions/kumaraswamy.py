"""torch.distributions.kumaraswamy's import path: Kumaraswamy live in heavy_tailed.py."""
from .heavy_tailed import Kumaraswamy  # noqa: F401

__all__ = ["Kumaraswamy"]

"""torch.distributions.pareto's import path: Pareto live in heavy_tailed.py."""
from .heavy_tailed import Pareto  # noqa: F401

__all__ = ["Pareto"]

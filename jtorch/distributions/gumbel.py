"""torch.distributions.gumbel's import path: Gumbel live in transformed_distribution.py."""
from .transformed_distribution import Gumbel  # noqa: F401

__all__ = ["Gumbel"]

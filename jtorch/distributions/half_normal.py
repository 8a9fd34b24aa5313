"""torch.distributions.half_normal's import path: HalfNormal live in transformed_distribution.py."""
from .transformed_distribution import HalfNormal  # noqa: F401

__all__ = ["HalfNormal"]

"""torch.distributions.half_cauchy's import path: HalfCauchy live in transformed_distribution.py."""
from .transformed_distribution import HalfCauchy  # noqa: F401

__all__ = ["HalfCauchy"]

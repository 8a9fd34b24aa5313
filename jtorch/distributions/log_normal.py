"""torch.distributions.log_normal's import path: LogNormal live in transformed_distribution.py."""
from .transformed_distribution import LogNormal  # noqa: F401

__all__ = ["LogNormal"]

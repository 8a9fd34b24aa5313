"""torch.distributions.geometric's import path: Geometric live in bernoulli.py."""
from .bernoulli import Geometric  # noqa: F401

__all__ = ["Geometric"]

"""torch.distributions.poisson's import path: Poisson live in bernoulli.py."""
from .bernoulli import Poisson  # noqa: F401

__all__ = ["Poisson"]

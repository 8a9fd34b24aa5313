"""torch.distributions.binomial's import path: Binomial live in bernoulli.py."""
from .bernoulli import Binomial  # noqa: F401

__all__ = ["Binomial"]

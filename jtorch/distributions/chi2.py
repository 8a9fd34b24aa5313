"""torch.distributions.chi2's import path: Chi2 live in gamma.py."""
from .gamma import Chi2  # noqa: F401

__all__ = ["Chi2"]

"""torch.distributions.exponential's import path: Exponential live in gamma.py."""
from .gamma import Exponential  # noqa: F401

__all__ = ["Exponential"]

"""torch.distributions.laplace's import path: Laplace live in normal.py."""
from .normal import Laplace  # noqa: F401

__all__ = ["Laplace"]

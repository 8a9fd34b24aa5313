"""torch.distributions.cauchy's import path: Cauchy live in normal.py."""
from .normal import Cauchy  # noqa: F401

__all__ = ["Cauchy"]

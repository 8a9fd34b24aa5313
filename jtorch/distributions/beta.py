"""torch.distributions.beta's import path: Beta live in dirichlet.py."""
from .dirichlet import Beta  # noqa: F401

__all__ = ["Beta"]

"""torch.distributions.multinomial's import path: Multinomial live in categorical.py."""
from .categorical import Multinomial  # noqa: F401

__all__ = ["Multinomial"]

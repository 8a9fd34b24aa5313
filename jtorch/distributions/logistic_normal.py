"""torch.distributions.logistic_normal's import path: LogisticNormal live in heavy_tailed.py."""
from .heavy_tailed import LogisticNormal  # noqa: F401

__all__ = ["LogisticNormal"]

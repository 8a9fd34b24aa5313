"""torch.distributions.fishersnedecor's import path: FisherSnedecor live in heavy_tailed.py."""
from .heavy_tailed import FisherSnedecor  # noqa: F401

__all__ = ["FisherSnedecor"]

"""torch.distributions.one_hot_categorical's import path:
OneHotCategorical, OneHotCategoricalStraightThrough (defined in categorical.py)."""
from .categorical import OneHotCategorical, OneHotCategoricalStraightThrough  # noqa: F401

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]

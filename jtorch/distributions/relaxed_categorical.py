"""torch.distributions.relaxed_categorical's import path: ExpRelaxedCategorical, RelaxedOneHotCategorical live in transformed_distribution.py."""
from .transformed_distribution import ExpRelaxedCategorical, RelaxedOneHotCategorical  # noqa: F401

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]

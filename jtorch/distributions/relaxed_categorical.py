"""torch.distributions.relaxed_categorical's import path:
ExpRelaxedCategorical, RelaxedOneHotCategorical (defined in transformed_distribution.py)."""
from .transformed_distribution import ExpRelaxedCategorical, RelaxedOneHotCategorical  # noqa: F401

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]

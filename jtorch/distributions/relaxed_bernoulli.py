"""torch.distributions.relaxed_bernoulli's import path:
LogitRelaxedBernoulli, RelaxedBernoulli (defined in transformed_distribution.py)."""
from .transformed_distribution import LogitRelaxedBernoulli, RelaxedBernoulli  # noqa: F401

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]

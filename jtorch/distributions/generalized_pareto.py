"""GeneralizedPareto(loc, scale, concentration)."""
import math

import jtorch as torch

from . import constraints
from .distribution import Distribution

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """Support [loc, inf) for concentration >= 0 and [loc, loc - scale / concentration] below 0;
    concentration 0 is the shifted exponential."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    _param_names = ("loc", "scale", "concentration")
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self._init_params(validate_args, loc=loc, scale=scale, concentration=concentration)

    def _c(self):
        # concentration with 0 replaced (the exponential case takes its own branch; no 0/0 in gradients)
        zero = self.concentration == 0
        return zero, torch.where(zero, torch.ones_like(self.concentration), self.concentration)

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, c = self._c()
        return torch.where(zero, -self.scale.log() - z, -self.scale.log() - (1 + 1 / c) * torch.log1p(c * z))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, c = self._c()
        return torch.where(zero, -torch.expm1(-z), -torch.expm1(-torch.log1p(c * z) / c))

    def icdf(self, value):
        zero, c = self._c()
        log1mp = torch.log1p(-value)
        return torch.where(zero, self.loc - self.scale * log1mp, self.loc + self.scale * torch.expm1(-c * log1mp) / c)

    @property
    def mean(self):
        m = self.loc + self.scale / (1 - self.concentration)
        return torch.where(self.concentration < 1, m, torch.full_like(m, math.nan))

    @property
    def variance(self):
        c = self.concentration
        v = self.scale.pow(2) / ((1 - c).pow(2) * (1 - 2 * c))
        return torch.where(c < 0.5, v, torch.full_like(v, math.nan))

    @property
    def mode(self):
        return self.loc

    def entropy(self):
        return self.scale.log() + self.concentration + 1

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        upper = torch.where(self.concentration < 0, self.loc - self.scale / self.concentration,
                            torch.full_like(self.loc, math.inf))
        return constraints.interval(self.loc, upper)

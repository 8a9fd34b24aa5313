"""jtorch.distributions: torch.distributions on jtorch tensors.

Everything is written with jtorch's public tensor ops, so log_prob/entropy/KL are differentiable,
``rsample`` carries gradients to the parameters (reparameterisation; Gamma/Beta/Dirichlet through
JAX's implicit-gradient Gamma sampler) and distributions work inside ``jtorch.compile``. Sampling
draws from jtorch's generators (``torch.manual_seed`` makes it reproducible); the streams differ
from torch's, the distributions do not."""
from . import constraints, transforms
from .bernoulli import Bernoulli, Binomial, Geometric, Poisson
from .categorical import Categorical, Multinomial, OneHotCategorical, OneHotCategoricalStraightThrough
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Beta, Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .gamma import Chi2, Exponential, Gamma
from .generalized_pareto import GeneralizedPareto
from .heavy_tailed import FisherSnedecor, InverseGamma, Kumaraswamy, LogisticNormal, Pareto, Weibull
from .independent import Independent
from .kl import kl_divergence, register_kl
from .lkj_cholesky import LKJCholesky
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import MultivariateNormal
from .negative_binomial import NegativeBinomial
from .normal import Cauchy, Laplace, Normal
from .studentT import StudentT
from .transformed_distribution import (ExpRelaxedCategorical, Gumbel, HalfCauchy, HalfNormal, LogitRelaxedBernoulli,
                                       LogNormal, RelaxedBernoulli, RelaxedOneHotCategorical,
                                       TransformedDistribution)
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all
from .uniform import Uniform
from .von_mises import VonMises
from .wishart import Wishart

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ContinuousBernoulli", "Dirichlet",
           "Distribution", "ExpRelaxedCategorical", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma",
           "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent", "InverseGamma",
           "Kumaraswamy", "LKJCholesky", "Laplace", "LogNormal", "LogisticNormal", "LogitRelaxedBernoulli",
           "LowRankMultivariateNormal", "MixtureSameFamily", "Multinomial", "MultivariateNormal",
           "NegativeBinomial", "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto",
           "Poisson", "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT", "TransformedDistribution",
           "Uniform", "VonMises", "Weibull", "Wishart", "biject_to", "constraints", "kl_divergence", "register_kl",
           "transform_to", "transforms"] + list(_transforms_all)

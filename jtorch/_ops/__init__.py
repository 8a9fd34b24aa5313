"""Op definitions, grouped by kind. Importing this package registers them all."""
from . import (pointwise, reduction, shape, indexing, join, creation, random_ops, blas)  # noqa: F401
from . import nn_ops  # noqa: F401
from . import linalg_ops, contraction  # noqa: F401
from . import indexing_ops, sorting, manip  # noqa: F401
from . import dtype_views, extra  # noqa: F401
from . import spectral_ops, fractional_pool_ops  # noqa: F401
from . import special_polynomials  # noqa: F401
from . import special_bessel  # noqa: F401
from . import strided  # noqa: F401
from . import histograms  # noqa: F401
from . import numerical_gradient  # noqa: F401
from . import linalg_factors  # noqa: F401
from . import aten_wrappers  # noqa: F401
from . import lowrank  # noqa: F401
from . import ldl  # noqa: F401
from . import tensor_misc  # noqa: F401
from . import quant_ops  # noqa: F401
from .. import _memfmt  # noqa: E402
_memfmt.install()  # the memory-format rules of the ops above


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


def _selecting_and_piecewise_linear():
    """Ops whose backward reads their input only through comparisons or saved indices (``OpDef.selects``: no
    edge for a double backward), and those whose backward is the cotangent times a piecewise constant, differentiated as
    torch's ZeroTensor (``OpDef.piecewise_linear``; torch's relu, hardtanh, leaky_relu, max_pool...
    differentiate theirs to real zeros: not these)."""
    from .._dispatch import REGISTRY
    from .reduction import _amax, _amin, _cummax, _cummin, _max_dim, _min_dim
    from .sorting import _median_all, _sort, _topk, _kthvalue, _median_dim, _mode
    from .pointwise import WRAPPED, _clamp_op, nan_to_num
    from .indexing_ops import _gather, _take, _index_add, _put, _masked_select
    pairwise = [op for op in WRAPPED if op.name in ("_maximum", "_minimum", "_fmax", "_fmin")]
    assert len(pairwise) == 4
    # (gather/take/index_add/put/masked_select save an input only for its shape: no value of it is read)
    for op in (_amax, _amin, _cummax, _cummin, _median_all, _clamp_op, nan_to_num, *pairwise,
               _max_dim, _min_dim, _sort, _topk, _kthvalue, _median_dim, _mode, _gather, _take, _index_add, _put,
               _masked_select):
        op.selects = True
    REGISTRY["abs"].piecewise_linear = True
    REGISTRY["sgn"].zero_grads = 1  # (its own gradient, for a real input: no graph behind it, unlike torch's)


_selecting_and_piecewise_linear()

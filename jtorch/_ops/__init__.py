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


def _save_results():
    """Ops whose backward torch computes from their result save the result (an in-place write to it makes
    backward raise) and, for the first group, not their input (writing the input afterwards is fine); the
    version check follows torch's choice (``OpDef.saves_result``, ``autograd.graph.record``)."""
    from .._dispatch import REGISTRY
    for name in ("exp", "exp2", "expm1", "sigmoid", "tanh", "sqrt", "rsqrt", "reciprocal", "relu", "tan",
                 "_softmax", "_log_softmax"):
        REGISTRY[name].saves_result = True
        REGISTRY[name].saves = _no_inputs
    for name in ("_amax", "_amin"):  # (these keep their input too)
        REGISTRY[name].saves_result = True
    from .reduction import _max_dim, _min_dim, _amax, _amin, _cummax, _cummin
    from .sorting import _sort, _topk, _kthvalue, _median_dim, _mode, _median_all
    for op in (_max_dim, _min_dim, _sort, _topk, _kthvalue, _median_dim, _mode):  # (torch keeps their indices only)
        op.saves = _no_inputs
    # (these keep their input, but read it only through comparisons: no edge for a double backward)
    from .pointwise import WRAPPED, _clamp_op, nan_to_num
    pairwise = [op for op in WRAPPED if op.name in ("_maximum", "_minimum", "_fmax", "_fmin")]
    assert len(pairwise) == 4
    for op in (_amax, _amin, _cummax, _cummin, _median_all, _clamp_op, nan_to_num, *pairwise):
        op.selects = True


def _no_inputs(mask):
    return ()


def _piecewise_linear():
    """Ops whose backward multiplies the cotangent by a piecewise constant of the inputs, differentiated as
    torch's ZeroTensor: their double backward sends the inputs a structural zero (``OpDef.piecewise_linear``;
    torch's relu, hardtanh, leaky_relu, max_pool... differentiate theirs to real zeros: not these)."""
    from .._dispatch import REGISTRY
    REGISTRY["abs"].piecewise_linear = True
    REGISTRY["sgn"].zero_grads = 1  # (its own gradient, for a real input: no graph behind it, unlike torch's)


_save_results()
_piecewise_linear()

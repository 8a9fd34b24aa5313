"""complex32 (``torch.chalf``) tensors: JAX has no complex32 arrays.

A complex32 tensor is an ordinary Tensor whose storage holds a ``ChalfArray``: a complex64 jax array whose
real and imaginary parts are rounded to float16, with the shape and the numpy dtype of complex32 (a pair of
float16s, so ``dtype``, ``element_size`` and ``nbytes`` read as torch's). Reading its *value*
(``Storage.array``) raises ``ChalfArgument``, a ``SparseArgument``: ``_dispatch.apply`` already catches
those around its argument loop (as for sparse and meta tensors) and sends the call to ``route`` here, so the
dense hot path tests nothing. ``route`` raises torch's NotImplementedError for the ops torch's CPU build has
no ComplexHalf kernel for, and otherwise runs the op on the complex64 values and rounds complex results back
to complex32 (and float results to float16, e.g. ``abs``, ``real``), as torch computes half types in float32
and rounds once. View ops make ordinary views (shared storage, ``_apply_view`` takes their shapes from the
complex64 equivalent). A promotion to complex32 without a complex32 operand (a float16 tensor times ``1j``)
gets a kernel that rounds its complex64 result (``OpDef.kernel``).
Not done: autograd through complex32 ops (torch's own support is partial), writes through ``real``/``imag``
views, ``out=`` with a complex32 ``out``.
"""
import jax
import jax.numpy as jnp
import numpy as np

from . import _dispatch
from . import _dtype as D

NP = D.complex32.np
_F16 = np.dtype(np.float16)


class ChalfArray:
    """What a complex32 tensor's storage holds: ``data``, a complex64 array with float16-rounded parts."""
    __slots__ = ("data",)
    dtype = NP

    def __init__(self, data):
        self.data = data

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def devices(self):
        return self.data.devices()

    def __repr__(self):
        return f"ChalfArray({self.data.shape})"


class ChalfArgument(_dispatch.SparseArgument):
    """Raised when something reads a complex32 tensor's array; ``apply`` routes the op to ``route``, code
    outside dispatch that reads values gets torch's NotImplementedError for ComplexHalf."""

    def __init__(self, what="this operation"):
        NotImplementedError.__init__(self, f"\"{what}\" not implemented for 'ComplexHalf'")

    def route(self, op, dyn, statics):
        return route(op, dyn, statics)


@jax.jit
def _round(x):
    x = jnp.asarray(x, jnp.complex64)
    return jax.lax.complex(_dispatch.round_to(jnp.real(x), _F16), _dispatch.round_to(jnp.imag(x), _F16))


def from_array(a):
    """A complex32 tensor holding ``a`` (any numeric jax array) rounded to complex32."""
    return _dispatch.Tensor._wrap(ChalfArray(_round(a)))


def cast(t):
    """``t.to(torch.complex32)``."""
    if t.dtype is D.complex32:
        return t
    return from_array(value(t) if is_chalf_backed(t) else t._value)


def is_chalf_backed(t):
    return type(t._st._arr) is ChalfArray


def value(t):
    """The values of a tensor over a complex32 storage (the tensor itself or a view of it): complex64, or
    float16 for a real view (``real``, ``imag``, ``view_as_real``)."""
    root = t._st._arr.data
    if not t._vfn:
        return root
    v = _dispatch.chain_fn(t._vfn)(root)
    if t._shape_dtype()[1] == _F16:
        v = v.astype(jnp.float16)
    return v


def view_meta(op, statics, shape, extra):
    """(shape, numpy dtype) of a view op on a complex32 source: the complex64 equivalent's, complex64
    read as complex32 and float32 as float16."""
    out = jax.eval_shape(op.pure(statics, None), jax.ShapeDtypeStruct(shape, np.complex64), *extra)
    dt = {np.dtype(np.complex64): NP, np.dtype(np.float32): _F16}.get(np.dtype(out.dtype), out.dtype)
    return tuple(out.shape), dt


def scatter(vfn, root, new):
    """A ChalfArray ``root`` with the elements the view chain ``vfn`` selects replaced by ``new``."""
    new = new.data if type(new) is ChalfArray else new
    return ChalfArray(_round(_dispatch.scatter_fn(vfn)(root.data, jnp.asarray(new, jnp.complex64))))


# ---------------------------------------------------------------- routing ops
# ops torch 2.13's CPU build has no ComplexHalf kernel for (found by running op_db's complex samples as
# complex32 through torch): op name -> torch's kernel name in its NotImplementedError. An op reaches ``route``
# under its jtorch OpDef name (often the public name with a leading underscore; ``linalg.`` names without
# the prefix), see ``_unsupported``.
_UNSUPPORTED = {
    "acos": "acos_vml_cpu", "acosh": "acosh_cpu", "addbmm": "addmm_impl_cpu_", "addcdiv": "addcdiv_cpu_out",
    "addmm": "addmm_impl_cpu_", "addmv": "addmv_impl_cpu", "addr": "addr_cpu", "angle": "angle_cpu",
    "asin": "asin_vml_cpu", "asinh": "asinh_cpu", "atan": "atan_vml_cpu", "atanh": "atanh_cpu",
    "baddbmm": "baddbmm", "bmm": "bmm", "cholesky": "cholesky_cpu", "cholesky_inverse": "cholesky_inverse_out_cpu",
    "cholesky_solve": "cholesky_solve_cpu", "corrcoef": "sum_cpu", "cos": "cos_vml_cpu", "cosh": "cosh_cpu",
    "cross": "cross", "cumprod": "cumprod_out_cpu", "cumsum": "cumsum_out_cpu",
    "cumulative_trapezoid": "cumsum_out_cpu", "div": "div_cpu", "dot": "dot", "exp": "exp_vml_cpu",
    "exp2": "exp2", "expm1": "expm1_vml_cpu", "gather": "scatter_gather_tensor_cpu", "geqrf": "geqrf_cpu",
    "gradient": "div_cpu", "inner": "dot", "ldexp": "pow", "lerp": "lerp_kernel_scalar",
    "linalg.cholesky": "cholesky_cpu", "linalg.cholesky_ex": "cholesky_cpu", "linalg.cond": "linalg_svd_cpu",
    "linalg.cross": "cross", "linalg.det": "lu_cpu", "linalg.eig": "linalg_eig_out_cpu",
    "linalg.eigh": "linalg_eigh_cpu", "linalg.eigvals": "linalg_eig_out_cpu", "linalg.eigvalsh": "linalg_eigh_cpu",
    "linalg.householder_product": "orgqr_cpu", "linalg.ldl_factor": "ldl_factor_kernel_cpu",
    "linalg.ldl_factor_ex": "ldl_factor_kernel_cpu", "linalg.ldl_solve": "ldl_solve_kernel_cpu",
    "linalg.lu": "lu_cpu", "linalg.lu_factor": "lu_cpu", "linalg.lu_factor_ex": "lu_cpu",
    "linalg.lu_solve": "linalg.lu_solve_cpu", "linalg.matrix_power": "addmm_impl_cpu_", "linalg.qr": "geqrf_cpu",
    "linalg.solve": "lu_cpu", "linalg.solve_ex": "lu_cpu", "linalg.solve_triangular": "triangular_solve_cpu",
    "linalg.svdvals": "linalg_svd_cpu", "linalg.tensorsolve": "lu_cpu", "linalg.vecdot": "vdot",
    "log": "log_vml_cpu", "log10": "log10_vml_cpu", "log1p": "log1p_vml_cpu", "log2": "log2_vml_cpu",
    "logaddexp": "logaddexp_cpu", "logcumsumexp": "logcumsumexp_out_cpu", "logical_and": "logical_and_cpu",
    "logical_not": "logical_not_cpu", "logical_or": "logical_or_cpu", "logical_xor": "logical_xor_cpu",
    "logsumexp": "exp_vml_cpu", "lu": "lu_cpu", "lu_solve": "linalg.lu_solve_cpu",
    "lu_unpack": "scatter_gather_scalar_cpu", "masked.cumprod": "cumprod_out_cpu",
    "masked.cumsum": "cumsum_out_cpu", "masked.logsumexp": "exp_vml_cpu", "masked.mean": "sum_cpu",
    "masked.normalize": "div_cpu", "masked.prod": "prod_out_cpu", "masked.std": "sum_cpu", "masked.sum": "sum_cpu",
    "masked.var": "sum_cpu", "masked_scatter": "masked_scatter", "matmul": "addmm_impl_cpu_", "matrix_exp": "bmm",
    "mean": "sum_cpu", "mm": "addmm_impl_cpu_", "mv": "addmv_impl_cpu", "nansum": "sum_cpu",
    "nn.functional.channel_shuffle": "channel_shuffle", "nn.functional.normalize": "div_cpu",
    "nn.functional.rms_norm": "rms_norm", "nn.functional.silu": "silu_cpu", "nn.functional.softsign": "div_cpu",
    "nn.functional.tanhshrink": "tanh_vml_cpu", "nn.functional.unfold": "im2col_out_cpu", "ormqr": "ormqr_cpu",
    "pow": "pow", "prod": "prod_out_cpu", "put": "take_put_cpu", "qr": "geqrf_cpu", "reciprocal": "reciprocal_cpu",
    "rsqrt": "rsqrt_cpu", "scatter": "scatter_gather_tensor_cpu", "scatter_add": "scatter_gather_tensor_cpu",
    "sigmoid": "sigmoid_cpu", "sin": "sin_vml_cpu", "sinc": "sinc_cpu", "sinh": "sinh_cpu", "sqrt": "sqrt_vml_cpu",
    "square": "pow", "sum": "sum_cpu", "sum_to_size": "sum_cpu", "take": "take_cpu",
    "take_along_dim": "scatter_gather_tensor_cpu", "tan": "tan_vml_cpu", "tanh": "tanh_vml_cpu",
    "tensordot": "addmm_impl_cpu_", "trace": "trace", "trapezoid": "sum_cpu", "trapz": "sum_cpu",
    "triangular_solve": "triangular_solve_cpu", "true_divide": "div_cpu", "vdot": "vdot",
}


def _unsupported(name):
    """torch's kernel name when torch has no ComplexHalf kernel for the op ``name``, else None."""
    n = name.lstrip("_")
    return _UNSUPPORTED.get(name) or _UNSUPPORTED.get(n) or _UNSUPPORTED.get("linalg." + n)


def _raise(kernel):
    raise NotImplementedError(f"\"{kernel}\" not implemented for 'ComplexHalf'")


def kernel(op, statics):
    """The kernel for a call of ``op`` promoted to complex32 (no complex32 operand: float16 and a complex
    Python number): the complex64 kernel, its result rounded back."""
    k = _unsupported(op.name)
    if k:
        _raise(k)
    k = op.kernel(statics, D.complex64)

    def run(*arrays):
        out = k(*arrays)
        if isinstance(out, tuple):
            return tuple(_back(o) for o in out)
        return _back(out)
    return run


def _back(o):
    if getattr(o, "dtype", None) == np.complex64:
        return ChalfArray(_round(o))
    if getattr(o, "dtype", None) == np.float32:
        return o.astype(jnp.float16)
    return o


def _dtype_of(a):
    return D._FROM_NP[a._shape_dtype()[1]]


def route(op, dyn, statics):
    """Run ``op`` with complex32 operands: on their complex64 values, results rounded back."""
    k = _unsupported(op.name)
    if k:
        _raise(k)
    T = _dispatch.Tensor
    dims, zeros, scalars = [], [], []

    def sub(a):
        if isinstance(a, T):
            (zeros if a.ndim == 0 else dims).append(_dtype_of(a))
            if is_chalf_backed(a):
                return T._wrap(value(a))
            return a
        if isinstance(a, (bool, int, float, complex)):
            scalars.append(D.scalar_dtype(a))
        return a

    args = [type(a)(sub(x) for x in a) if op.seq and i == 0 and isinstance(a, (list, tuple)) else sub(a)
            for i, a in enumerate(dyn)]
    if _dispatch.GRAD.enabled and op.differentiable and _any_requires_grad(dyn):
        # (the values below run detached: never leave a result silently out of the graph)
        raise NotImplementedError(f"jtorch: autograd through complex32 (ComplexHalf) operands is not supported "
                                  f"yet ({op.name}); compute in complex64 or under torch.no_grad()")
    # results are complex32/float16 where torch's result type of the operands is complex32 (a float32
    # operand makes complex64) and the op was not given a dtype
    narrow = D.result_type_of(dims, zeros, scalars) is D.complex32 and \
        not any(isinstance(s, D.dtype) for s in statics)
    with _no_grad():
        out = _dispatch.apply(op, args, statics)
    if not narrow:
        return out
    if isinstance(out, tuple):
        return type(out)(*[_narrow(o) for o in out]) if hasattr(out, "_fields") else \
            tuple(_narrow(o) for o in out)
    if isinstance(out, list):
        return [_narrow(o) for o in out]
    return _narrow(out)


def _narrow(o):
    if not isinstance(o, _dispatch.Tensor):
        return o
    d = o.dtype
    if d is D.complex64:
        return from_array(o._value)
    if d is D.float32:
        return o.to(D.float16)
    return o


def _any_requires_grad(dyn):
    T = _dispatch.Tensor
    for a in dyn:
        for x in (a if isinstance(a, (list, tuple)) else (a,)):
            if isinstance(x, T) and x.requires_grad:
                return True
    return False


def _no_grad():
    from .autograd import no_grad
    return no_grad()

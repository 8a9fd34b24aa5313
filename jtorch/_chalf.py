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
Autograd: a complex32 operand that requires grad enters the complex64 op through ``_Up`` (a differentiable
cast whose backward rounds the gradient to complex32), the op records its own node, and ``_Down`` rounds the
result (its backward widens the gradient): torch's complex32 backward formulas run in complex32 kernels
(float32 opmath, one rounding), so a one-step formula gives the same bits. Where torch's formula takes several
rounded steps (``abs``: the rounded ``sgn`` times the gradient) ``_BACKWARD_STEPS`` writes it out in complex32
ops; where torch's backward calls a kernel with no ComplexHalf support (``sgn``), ``_BACKWARD_UNSUPPORTED``
raises its NotImplementedError at backward time, as torch does.
``real``, ``imag`` and ``view_as_real`` are float16 views over the complex64 root (a write through them
scatters into its parts and rounds, ``scatter``); ``view_as_complex`` of a float16 tensor and ``view(dtype)``
from or to complex32 are copies (_ops/dtype_views.py).
Not done: ``out=`` with a complex32 ``out``.
"""
import jax
import jax.numpy as jnp
import numpy as np

from . import _dispatch
from . import _dtype as D
from . import _lazy

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


_dispatch.ChalfArray, _dispatch.ChalfArgument = ChalfArray, ChalfArgument


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
    if t.requires_grad and _dispatch.GRAD.enabled:
        return _Down.apply(t)
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


def view_value(t):
    """A view's value where a jax value is expected (a saved primal): a ChalfArray for a complex32 view,
    the float16 values of a real one."""
    v = value(t)
    return ChalfArray(v) if v.dtype == np.complex64 else v


def view_meta(op, statics, shape, extra):
    """(shape, numpy dtype) of a view op on a complex32 source: the complex64 equivalent's, complex64
    read as complex32 and float32 as float16."""
    out = jax.eval_shape(op.pure(statics, None), jax.ShapeDtypeStruct(shape, np.complex64), *extra)
    dt = {np.dtype(np.complex64): NP, np.dtype(np.float32): _F16}.get(np.dtype(out.dtype), out.dtype)
    return tuple(out.shape), dt


def scatter(vfn, root, new):
    """A ChalfArray ``root`` with the elements the view chain ``vfn`` selects replaced by ``new``."""
    new = new.data if type(new) is ChalfArray else new.get() if type(new) is _lazy.Pending else new
    new = jnp.asarray(new, jnp.complex64 if jnp.iscomplexobj(new) else jnp.float32)  # (a real view's: float16)
    return ChalfArray(_round(_dispatch.scatter_fn(vfn)(root.data, new)))


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
        if type(a) is ChalfArray:  # a saved primal handed to a backward op: its complex64 values
            (zeros if a.ndim == 0 else dims).append(D.complex32)  # (its gradient is complex32)
            return a.data
        return a

    grad = _dispatch.GRAD.enabled and op.differentiable and _any_requires_grad(dyn)
    name = op.name.lstrip("_")
    forward = _FORWARD_STEPS.get(name)
    if forward and not statics:  # torch's kernel in several rounded complex32 steps
        with _no_grad():
            out = forward(*dyn)
        if not grad:
            return out
        if _broadcast_backward(op, dyn, None):
            return _Unsupported.apply(_Formula.apply(_BACKWARD_STEPS[name], out, *dyn), "sum_cpu")
        return _Formula.apply(_BACKWARD_STEPS[name], out, *dyn)
    formula = grad and _BACKWARD_STEPS.get(name)
    if formula and _broadcast_backward(op, dyn, None):
        formula = None  # torch's backward raises there (below)
    if formula:  # torch's backward formula, step by step in complex32 kernels
        with _no_grad():
            out = route(op, dyn, statics)
        return _Formula.apply(formula, out, *dyn)
    if grad:
        # differentiable: a complex32 operand that requires grad enters through ``_Up`` (its gradient is
        # rounded back to complex32), the complex64 op records its own node, ``_Down`` rounds the result
        def sub(a, _plain=sub):
            if isinstance(a, T) and a.requires_grad and is_chalf_backed(a):
                (zeros if a.ndim == 0 else dims).append(_dtype_of(a))
                return _Up.apply(a)
            return _plain(a)
    args = [type(a)(sub(x) for x in a) if op.seq and i == 0 and isinstance(a, (list, tuple)) else sub(a)
            for i, a in enumerate(dyn)]
    # results are complex32/float16 where torch's result type of the operands is complex32 (a float32
    # operand makes complex64) and the op was not given a dtype
    narrow = D.result_type_of(dims, zeros, scalars) is D.complex32 and \
        not any(isinstance(s, D.dtype) for s in statics)
    if grad:
        out = _dispatch.apply(op, args, statics)
    else:
        with _no_grad():
            out = _dispatch.apply(op, args, statics)
    bad = grad and (_BACKWARD_UNSUPPORTED.get(op.name.lstrip("_")) or _broadcast_backward(op, dyn, out))
    if not narrow and not bad:
        return out
    fix = (lambda o: _narrow(o, bad)) if narrow else (lambda o: _fail_backward(o, bad))
    if isinstance(out, tuple):
        return type(out)(*[fix(o) for o in out]) if hasattr(out, "_fields") else tuple(fix(o) for o in out)
    if isinstance(out, list):
        return [fix(o) for o in out]
    return fix(out)


def _narrow(o, bad=None):
    if not isinstance(o, _dispatch.Tensor):
        return o
    d = o.dtype
    if d is D.complex64:
        if not o.requires_grad:
            return from_array(o._value)
        name = type(o.grad_fn).__name__ if o.grad_fn is not None else None
        r = _Down.apply(_fail_backward(o, bad))
        if name is not None and name != "UnsupportedBackward":
            rename_node(r, name)
        return r
    if d is D.float32:
        return _fail_backward(o, bad).to(D.float16)
    return _fail_backward(o, bad)


def _fail_backward(o, kernel):
    """``o`` unchanged, but a backward through it raises torch's error for ``kernel`` (torch computes the
    forward of these ops in complex32 but its backward formula calls an op with no ComplexHalf kernel)."""
    if not kernel or not isinstance(o, _dispatch.Tensor) or not o.requires_grad:
        return o
    return _Unsupported.apply(o, kernel)


def rename_node(t, name):
    """Name ``t``'s grad_fn (a cast's node) like torch's node for the op that made it."""
    t.grad_fn.__class__ = _renamed(type(t.grad_fn), name)


_RENAMED = {}


def _renamed(cls, name):
    c = _RENAMED.get((cls, name))
    if c is None:
        c = _RENAMED[(cls, name)] = type(name, (cls,), {"__slots__": ()})
    return c


# ---------------------------------------------------------------- autograd
# ops whose forward torch 2.13 runs in complex32 but whose backward formula calls a kernel without
# ComplexHalf support (found by running op_db's complex samples as complex32 with requires_grad through
# torch): backward raises NotImplementedError naming that kernel, as torch's does
_BACKWARD_UNSUPPORTED = {"sgn": "div_cpu", "kron": "sum_cpu"}


# ops whose torch forward kernel for complex32 takes several rounded steps: written in complex32 ops (each
# routed op rounds once); their backward is in _BACKWARD_STEPS
_FORWARD_STEPS = {
    # torch's complex32 kernel: value (as a complex32 number) * t1, times t2, plus input, each step rounded
    "addcmul": lambda x, t1, t2, value=1: x + (t1 * _as_chalf_scalar(value)) * t2,
}


def _as_chalf_scalar(v):
    """A Python number rounded as torch converts a Scalar to complex32 (float16 real and imaginary parts)."""
    v = complex(v)
    return complex(float(np.float16(v.real)), float(np.float16(v.imag)))

# ops whose torch backward formula takes several complex32 steps, each rounded: the formula in jtorch ops on
# the complex32 values (each routed op rounds as torch's kernel does), gradients for the inputs
_BACKWARD_STEPS = {
    "abs": lambda g, x: (g * x.sgn(),),  # torch's abs_backward: the rounded sgn, then the product
    # addcmul(input, t1, t2, value): each factor's gradient is grad * conj(other * value), the product rounded
    "addcmul": lambda g, x, t1, t2, value=1: (g, g * (t2 * _as_chalf_scalar(value)).conj(),
                                              g * (t1 * _as_chalf_scalar(value)).conj(), None),
}


# elementwise ops whose backward sums the gradient over broadcast dims: torch sums it in complex32, which has
# no sum kernel ("sum_cpu"), so its backward raises when an operand that requires grad was broadcast (for
# index_fill/masked_fill: a tensor value filled in at several places)
_BROADCASTING = {"add", "sub", "mul", "where", "addcmul", "masked_fill", "index_fill"}


def _broadcast_backward(op, dyn, out):
    if op.name.lstrip("_") not in _BROADCASTING:
        return None
    if out is None:  # (before the op runs) the broadcast shape of the tensor operands
        shape = np.broadcast_shapes(*[tuple(a.shape) for a in dyn if isinstance(a, _dispatch.Tensor)])
    elif isinstance(out, _dispatch.Tensor):
        shape = tuple(out.shape)
    else:
        return None
    for a in dyn:
        if isinstance(a, _dispatch.Tensor) and a.requires_grad and tuple(a.shape) != shape:
            return "sum_cpu"
    return None


def _function():
    from .autograd.function import Function
    return Function


class _Casts:
    """complex32 <-> complex64 as differentiable steps (built lazily: autograd imports after this module)."""
    up = down = unsupported = formula = None


def _build():
    F = _function()

    class Up(F):
        """A complex32 tensor's complex64 value (float16 for a real view); gradient rounded to complex32."""
        @staticmethod
        def forward(ctx, x):
            return _dispatch.Tensor._wrap(value(x))

        @staticmethod
        def backward(ctx, g):
            return Down.apply(g) if g is not None and g.dtype is D.complex64 else g

    class Down(F):
        """A complex32 tensor rounded from ``y``; the gradient flows back as ``y``'s dtype (the real part
        for a real ``y``, as torch's ``to`` does)."""
        @staticmethod
        def forward(ctx, y):
            ctx.src = y.dtype
            return from_array(value(y) if is_chalf_backed(y) else y._value)

        @staticmethod
        def backward(ctx, g):
            g = Up.apply(g)
            if not ctx.src.is_complex:
                g = g.real
            return g.to(ctx.src) if g.dtype is not ctx.src else g

    class Formula(F):
        """``out`` (computed without a graph) differentiated by ``formula(grad, *inputs)``."""
        @staticmethod
        def forward(ctx, formula, out, *inputs):
            ctx.formula, ctx.inputs = formula, inputs
            return out.view_as(out)

        @staticmethod
        def backward(ctx, g):
            return (None, None, *ctx.formula(g, *ctx.inputs))

    class Unsupported(F):
        @staticmethod
        def forward(ctx, x, kernel):
            ctx.kernel = kernel
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            _raise(ctx.kernel)

    _Casts.up, _Casts.down, _Casts.unsupported, _Casts.formula = Up, Down, Unsupported, Formula


class _Lazy:
    def __init__(self, attr):
        self.attr = attr

    def apply(self, *args):
        if _Casts.up is None:
            _build()
        return getattr(_Casts, self.attr).apply(*args)


_Up, _Down, _Unsupported, _Formula = _Lazy("up"), _Lazy("down"), _Lazy("unsupported"), _Lazy("formula")


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

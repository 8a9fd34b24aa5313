"""Elementwise ops. Each line declares one op; function, method, in-place
variant and gradient all come from it (see _dispatch)."""
import functools

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
from jax.custom_derivatives import SymbolicZero
import numpy as np

from .. import _dtype as D
from .. import _dispatch
from .._legacy import strided as _strided
from .._dispatch import defop, function, export, REGISTRY, round_to
from .reduction import return_type as _return_type
from . import trig_cpu


def _kink(f, df):
    """f with torch's derivative convention ``df`` where JAX's differs (kinks)."""
    g = jax.custom_jvp(f)
    g.defjvp(lambda p, t: (f(*p), df(*p) * t[0]))
    return g


def unary(name, f, promote="float", inplace=True, aliases=(), opmath=True, **kw):
    def fn(input):
        return f(input)
    fn.__name__ = name
    return defop(fn, name=name, promote=promote, inplace=inplace, aliases=aliases, opmath=opmath,
                 tensors=("input",), **kw)


def _dtype_guard(f, reject, kernel):
    """f, raising torch's NotImplementedError for dtype kinds it does not implement ('b', 'i', 'f':
    bool, integer, floating; checked on the promoted inputs at trace time)."""
    if not reject:
        return f

    def g(a, b):
        dt = jnp.result_type(a, b)
        kind = "b" if dt == jnp.bool_ else "i" if jnp.issubdtype(dt, jnp.integer) else \
            "f" if jnp.issubdtype(dt, jnp.floating) else "c"
        if kind in reject:
            name = D.scalar_type_name(D.from_numpy_dtype(dt))
            if kernel.startswith("Subtraction"):
                raise RuntimeError(kernel)
            raise NotImplementedError(f'"{kernel}" not implemented for \'{name}\'')
        return f(a, b)
    return g


def _is_integral(x):
    return isinstance(x, _dispatch.Tensor) and x.dtype._cat < D._FLOAT or type(x) in (int, bool)


def _is_bool(x):
    return x.dtype is D.bool if isinstance(x, _dispatch.Tensor) else type(x) is bool


def _check_int_divisor(input, other):
    """torch's RuntimeError for an integer division or remainder by zero (a data-dependent check: it reads
    the divisor on the host; skipped while tracing, where the kernel's value stands)."""
    if not (_is_integral(input) and _is_integral(other)) or _is_bool(input) and _is_bool(other):
        return  # a float result divides by zero; a bool one is rejected by the kernel (_dtype_guard)
    if not isinstance(other, _dispatch.Tensor):
        zero = other == 0
    else:
        v = other._value
        if isinstance(v, jax.core.Tracer) or v.size == 0:
            return
        zero = bool((np.asarray(v) == 0).any() if v.size <= 65536 else (v == 0).any())
    if zero:
        raise RuntimeError("ZeroDivisionError")


WRAPPED = []  # the ops of binary() that a checking wrapper exports


# which arguments of a binary op a Python number may stand for (torch's overloads) -> OpDef.tensors
NUMBERS = {"both": None, "either": (("input", "other"),), "other": ("input",), "none": ("input", "other")}


def binary(name, f, promote="common", inplace=True, aliases=(), numbers="either", tensor_other=None, reject="",
           kernel=None, int_divisor=False, opmath=True, number_first=None, **kw):
    """An elementwise op of two tensors. ``numbers``: where torch takes a Python number (NUMBERS: "either"
    argument but not both, as its Scalar overloads; "other" only; "both", as add's; "none");
    ``tensor_other``: torch's name for the second argument when it must be a Tensor (implies numbers="none");
    ``reject``: dtype kinds torch does not implement (see _dtype_guard); ``int_divisor``: integer division by
    zero raises (_check_int_divisor); ``number_first``: the function for a Python number as the first operand
    (torch's Scalar-self overload) where it differs from ``f``."""
    g = _dtype_guard(f, reject, kernel or name + "_cpu")
    tensors = NUMBERS["none" if tensor_other else numbers]
    g_number = _dtype_guard(number_first, reject, kernel or name + "_cpu") if number_first else None

    if g_number is not None:
        def fn(input, other, number_first=False):
            return (g_number if number_first else g)(input, other)
    else:
        def fn(input, other):
            return g(input, other)
    fn.__name__ = name
    if not tensor_other and not int_divisor:
        return defop(fn, name=name, promote=promote, inplace=inplace, aliases=aliases, opmath=opmath,
                     tensors=tensors, **kw)
    op = defop(fn, name=name if int_divisor else "_" + name, promote=promote, function=False, method=False,
               opmath=opmath, tensors=tensors, **kw)
    WRAPPED.append(op)  # (reached through the wrapper only: _memfmt.install finds it here)

    def wrapper(input, other, *, out=None):
        if tensor_other and not isinstance(input, _dispatch.Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        if tensor_other and not isinstance(other, _dispatch.Tensor):
            raise TypeError(f"{name}(): argument '{tensor_other}' (position 2) must be Tensor, not "
                            f"{type(other).__name__}")
        if int_divisor:
            _check_int_divisor(input, other)
        if g_number is not None and not isinstance(input, _dispatch.Tensor):
            return op(input, other, number_first=True) if out is None else \
                op(input, other, number_first=True, out=out)
        return op(input, other) if out is None else op(input, other, out=out)
    wrapper.__name__ = name
    return export(wrapper, name, inplace=inplace, aliases=aliases)


# ---- arithmetic
def _check_alpha(input, alpha):
    if alpha is not None and not jnp.issubdtype(input.dtype, jnp.inexact) and \
            jnp.issubdtype(jnp.result_type(alpha), jnp.inexact):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")


def _scaled(other, alpha, dt):
    """``other * alpha`` for add/sub: alpha rounded to the tensors' type; for half types the product (and the
    caller's sum) in float32 (torch's kernel), so the result is rounded once."""
    a = jnp.asarray(alpha, dt)
    if dt in (jnp.float16, jnp.bfloat16):
        return other.astype(jnp.float32) * a.astype(jnp.float32)
    return other * a


# library="inplace": XLA's library kernels only for an in-place call that donates its buffer (see
# _dispatch._large_kernel); out of place, XLA's own loop costs less CPU on two cores
@defop(promote="common", promote_args=("input", "other"), inplace=True, dynamic=("alpha",), saves=(),
       library="inplace")
def add(input, other, alpha=None):
    # alpha is dynamic (no recompile per value); None means 1 and keeps bool + bool a bool
    _check_alpha(input, alpha)
    return input + other if alpha is None else (input + _scaled(other, alpha, input.dtype)).astype(input.dtype)


@defop(promote="common", promote_args=("input", "other"), inplace=True, dynamic=("alpha",), saves=(),
       aliases=("subtract",), library="inplace")
def sub(input, other, alpha=None):
    _check_alpha(input, alpha)
    return input - other if alpha is None else (input - _scaled(other, alpha, input.dtype)).astype(input.dtype)


def _sub_no_bool(input, other, alpha=None):
    """torch rejects a bool operand of a subtraction (tensor or Python bool), before promotion."""
    a, b = jnp.result_type(input) == jnp.bool_, jnp.result_type(other) == jnp.bool_
    if a and b:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if a or b:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


sub.precheck = _sub_no_bool


@function(method=False)
def rsub(input, other, alpha=None):
    _dispatch.check_tensors("rsub", (((0, "input"),),), (input, other))  # (only other may be a number)
    return sub(other, input, alpha=alpha)


def _other_operand(mask):
    # d(a*b)/da needs b and vice versa: an operand's value is needed only if the other requires grad
    return [i for i in (0, 1) if mask[1 - i]]


mul = binary("mul", lambda a, b: a * b, aliases=("multiply",), numbers="both", saves=_other_operand, library="inplace")


def _smith_quotient(a, b):
    """Complex ``a / b`` as torch's (c10::complex, NumPy's algorithm): the divisor scaled by its larger
    part; a zero divisor gives ``re(a) / |re(b)| + i im(a) / |im(b)|`` (XLA's signs of inf and nan differ)."""
    ar, ai, br, bi = jnp.real(a), jnp.imag(a), jnp.real(b), jnp.imag(b)
    wide = jnp.abs(br) >= jnp.abs(bi)
    zero = (br == 0) & (bi == 0)
    big, small = jnp.where(wide, br, bi), jnp.where(wide, bi, br)
    rat = small / jnp.where(zero, 1, big)
    scl = 1 / (big + small * rat)
    re = jnp.where(wide, ar + ai * rat, ar * rat + ai) * scl
    im = jnp.where(wide, ai - ar * rat, ai * rat - ar) * scl
    return jax.lax.complex(jnp.where(zero, ar / jnp.abs(br), re), jnp.where(zero, ai / jnp.abs(bi), im))


@jax.custom_jvp
def _complex_quotient(a, b):
    return _smith_quotient(a, b)


@_complex_quotient.defjvp
def _complex_quotient_jvp(primals, tangents):
    (a, b), (da, db) = primals, tangents
    q = _complex_quotient(a, b)
    return q, (da - q * db) / b  # (d(a/b), as XLA's division differentiates)


def _divide(a, b):
    """``a / b`` divided exactly like torch: XLA's simplifier turns a division by a broadcast divisor (a
    scalar, a keepdim reduction) into a product with its reciprocal, one ulp off for about a quarter of
    the elements (``x / 255``, ``x / x.norm(dim=1, keepdim=True)``). The barrier hides the broadcast from
    that rewrite; XLA still fuses it into the division loop (no materialised divisor)."""
    if jnp.iscomplexobj(a) or jnp.iscomplexobj(b):
        dt = jnp.result_type(a, b)
        return _complex_quotient(jnp.asarray(a, dt), jnp.asarray(b, dt))
    shape = jnp.broadcast_shapes(jnp.shape(a), jnp.shape(b))
    if jnp.shape(b) != shape:
        dt = jnp.result_type(a, b)
        b = jax.lax.optimization_barrier(jnp.broadcast_to(jnp.asarray(b, dt), shape))
        a = jnp.asarray(a, dt)
    return a / b


def _quotient_saves(mask):
    # d(a/b)/da needs b, d(a/b)/db needs a and b (torch's DivBackward saves self only if other requires grad)
    return [1, 0] if mask[1] else [1]


_true_div = binary("_true_divide", _divide, promote="float", inplace=False, library="inplace", saves=_quotient_saves,
                   numbers="both")
_trunc_div = binary("_trunc_divide", lambda a, b: jnp.trunc(a / b).astype(a.dtype) if
                    jnp.issubdtype(a.dtype, jnp.floating) else _int_trunc_div(a, b), inplace=False, int_divisor=True,
                    reject="bc", kernel="div_trunc_cpu", numbers="both")
_floor_div = binary("_floor_divide", lambda a, b: jnp.floor_divide(a, b), inplace=False, reject="bc",
                    kernel="div_floor_cpu", int_divisor=True, numbers="both")  # div(rounding_mode="floor"): gradient 0


def _no_derivative(f, aten_name):
    """f whose backward raises torch's error for an op it has no derivative formula for."""
    g = jax.custom_vjp(f)

    def bwd(res, ct):
        raise RuntimeError(f"derivative for aten::{aten_name} is not implemented")
    g.defvjp(lambda *args: (f(*args), None), bwd)
    return g


# torch.floor_divide and ``//``: torch has no derivative for them (backward raises), unlike div's floor mode
floor_divide = binary("floor_divide", _no_derivative(jnp.floor_divide, "floor_divide"), inplace=True, reject="bc",
                      kernel="div_floor_cpu", int_divisor=True, numbers="both")


def _int_trunc_div(a, b):
    q = jnp.floor_divide(a, b)
    return jnp.where((q < 0) & (q * b != a), q + 1, q)


@function(inplace=True, aliases=("divide",))
def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return _true_div(input, other)
    if rounding_mode == "trunc":
        return _trunc_div(input, other)
    if rounding_mode == "floor":
        return _floor_div(input, other)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")


@function(inplace=True)
def true_divide(input, other):
    return _true_div(input, other)


REGISTRY.pop("_true_divide", None)
REGISTRY.pop("_trunc_divide", None)
REGISTRY.pop("_floor_divide", None)

def _divisor_grad_saves(requires_grad):
    # the input's gradient is the cotangent itself: torch saves the operands only for the divisor's
    return (0, 1) if requires_grad[1] else ()


# ``number % tensor`` (torch's remainder.Scalar_Tensor) has no derivative: its backward raises
remainder = binary("remainder", lambda a, b: jnp.remainder(a, b), reject="bc", int_divisor=True,
                   saves=_divisor_grad_saves, number_first=_no_derivative(jnp.remainder, "remainder"))
fmod = binary("fmod", lambda a, b: jnp.fmod(a, b), numbers="other", reject="bc", int_divisor=True,
              saves=_divisor_grad_saves)


def _pow(a, b):
    if jnp.issubdtype(jnp.result_type(a, b), jnp.integer) and not isinstance(b, int):
        # integer base to a negative integer power: 1, +-1 or 0 (torch), not garbage
        neg = b < 0
        r = jnp.power(a, jnp.where(neg, 0, b))
        alt = jnp.where(a == 1, 1, jnp.where(a == -1, jnp.where(b % 2 == 0, 1, -1), 0)).astype(r.dtype)
        return jnp.where(neg, alt, r)
    return jnp.power(a, b)


@jax.custom_jvp
def _fpow(a, b):
    return _power(a, b)


def _power(a, b):
    r = jnp.power(a, b)
    if jnp.iscomplexobj(r):  # torch: a zero base to a power of positive real part is 0 (jax: nan)
        r = jnp.where((a == 0) & (jnp.real(b) > 0), jnp.zeros((), r.dtype), r)
    return r


def _fpow_jvp(p, t):
    # torch's conventions: d/da is 0 where the exponent is 0; d/db is 0 where a == 0 and b >= 0.
    # A term whose tangent is a symbolic zero (an argument not differentiated) is left out: its
    # factor may be nan (log of a negative base), and nan * 0 would poison the other term
    a, b = p
    da, db = t
    r = _power(a, b)
    out = None
    if type(da) is not SymbolicZero:
        ga = jnp.where(b == 0, 0, b * jnp.power(a, b - 1))
        out = ga * da
    if type(db) is not SymbolicZero:
        gb = jnp.where((a == 0) & (jnp.real(b) >= 0), 0, r * jnp.log(jnp.where(a == 0, 1, a)))
        out = gb * db if out is None else out + gb * db
    if out is None:
        out = jnp.zeros_like(r)
    return r, jnp.broadcast_to(out, r.shape).astype(r.dtype)


_fpow.defjvp(_fpow_jvp, symbolic_zeros=True)


def _pow_any(a, b):
    return _fpow(a, b) if jnp.issubdtype(jnp.result_type(a, b), jnp.inexact) else _pow(a, b)


_pow_op = binary("_pow", _pow_any, reject="b", kernel="pow", inplace=False, method=False,
                 saves_result=lambda dyn, statics: isinstance(dyn[1], _dispatch.Tensor))  # (a tensor exponent)


@function(inplace=True)
def pow(input, exponent):
    if isinstance(exponent, int) and not isinstance(exponent, bool) and exponent < 0 and \
            isinstance(input, _dispatch.Tensor) and not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if isinstance(exponent, bool) and isinstance(input, _dispatch.Tensor) and input.dtype is D.bool:
        # torch's power of 1 is a copy, of 0 ones, before its kernel (which has no bool) is asked
        return input.clone() if exponent else _dispatch.REGISTRY["ones_like"](input)
    return _pow_op(input, exponent)


pow_ = REGISTRY["pow"]  # (the function form, with out=)


def _float_power_inplace(self, exponent):
    want = D.complex128 if self.dtype.is_complex or (isinstance(exponent, _dispatch.Tensor) and
                                                      exponent.dtype.is_complex) else D.float64
    if self.dtype is not want:
        raise RuntimeError(f"the base given to float_power_ has dtype {D.scalar_type_name(self.dtype)} but the "
                           f"operation's result requires dtype {D.scalar_type_name(want)}")
    return self._inplace(float_power, (exponent,), {})


def _reject(f, msg, kinds=(jnp.bool_,)):
    """f, raising torch's error for input dtypes torch does not implement (checked at trace time)."""
    def g(x):
        for k in kinds:
            if jnp.issubdtype(x.dtype, k):
                what = D.scalar_type_name(D.from_numpy_dtype(x.dtype))
                raise (RuntimeError if "operator" in msg else NotImplementedError)(msg.replace("{T}", what))
        return f(x)
    return g


neg = unary("neg", _reject(jnp.negative, "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead."),
            promote=None, aliases=("negative",), library=True, saves=())


@function
def positive(input):
    """``+x``: ``x`` itself, as torch's (bool excepted)."""
    if input.dtype is D.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@jax.custom_jvp
def _abs(x):
    return jnp.abs(x)


@_abs.defjvp
def _abs_jvp(p, t):
    # torch: abs'(0) = 0; for complex z, d|z| = Re(conj(sgn z) dz)
    # (complex: sgn with torch's own derivative, so that second orders are right; JAX's sign has none)
    x, = p
    if jnp.iscomplexobj(x):
        return jnp.abs(x), jnp.real(jnp.conj(_complex_sgn(x)) * t[0])
    return jnp.abs(x), _sign(x) * t[0]


abs_ = unary("abs", _reject(_abs, '"abs_cpu" not implemented for \'{T}\''), promote=None, aliases=("absolute",),
             library=True, inplace=False)


def _abs_in_place(x):
    if jnp.iscomplexobj(x):
        raise RuntimeError("In-place abs is not supported for complex tensors.")
    return abs_.fn(x)


unary("abs", _abs_in_place, promote=None, aliases=("absolute",), library=True, function=False, method=False)


def _sign(x):
    # torch: sign(nan) = 0 and sign(-0.0) = +0
    return x if x.dtype == jnp.bool_ else jnp.where(x > 0, 1, jnp.where(x < 0, -1, 0)).astype(x.dtype)


@jax.custom_jvp
def _complex_sgn(z):
    return jnp.sign(z)


# torch's derivative of z / |z| (JAX's is 0): (dz - sgn Re(conj(sgn) dz)) / |z|, and 0 at z = 0
@_complex_sgn.defjvp
def _complex_sgn_jvp(p, t):
    # (sgn and |z| through their own rules: a second order differentiates this one)
    (z,), (dz,) = p, t
    s, a = _complex_sgn(z), _abs(z)
    ds = (dz - s * jnp.real(jnp.conj(s) * dz)) / jnp.where(a == 0, 1, a).astype(z.dtype)
    return s, jnp.where(a == 0, 0, ds)


# piecewise constant or linear: their backward needs no values, torch saves none (no in-place check)
def _real_sign(x):
    if jnp.iscomplexobj(x):
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
                                  "torch.sgn instead.")
    return _sign(x)


sign = unary("sign", _real_sign, promote=None, saves=())
sgn = unary("sgn", lambda x: _complex_sgn(x) if jnp.iscomplexobj(x) else _sign(x), promote=None, saves_result=True)
square = unary("square", lambda x: jnp.square(x.astype(jnp.int64) if x.dtype == jnp.bool_ else x), promote=None)


def _reciprocal(x):
    if jnp.iscomplexobj(x):  # (the barrier: XLA would fold the 1's zero imaginary part away, and -0 + 0 with it)
        return _complex_quotient(jax.lax.optimization_barrier(jnp.ones((), x.dtype)), x)
    return 1 / x


reciprocal = unary("reciprocal", _reciprocal, saves=(), saves_result=True)


def _float_power(a, b):
    dt = jnp.complex128 if jnp.iscomplexobj(a) or jnp.iscomplexobj(b) else jnp.float64
    return _fpow(jnp.asarray(a).astype(dt), jnp.asarray(b).astype(dt))


float_power = binary("float_power", _float_power, inplace=False, promote=None)
export(_float_power_inplace, "float_power_", function=False)

# ---- exp / log / powers
# library=True: large float inputs on the CPU use XLA's library kernels (measured faster; _dispatch._large_kernel)
exp = unary("exp", jnp.exp, library=True, saves=(), saves_result=True)
exp2 = unary("exp2", jnp.exp2, library=True, saves=(), saves_result=True)
expm1 = unary("expm1", jnp.expm1, library=True, saves=(), saves_result=True)
log = unary("log", jnp.log, library=True)
log2 = unary("log2", jnp.log2, library=True)
log10 = unary("log10", jnp.log10, library=True)
log1p = unary("log1p", jnp.log1p, library=True)
sqrt = unary("sqrt", jnp.sqrt, saves=(), saves_result=True)  # (slower with the library kernels, as tanh, sigmoid, erf, gelu)
rsqrt = unary("rsqrt", jax.lax.rsqrt, library=True, saves=(), saves_result=True)
def complex_logaddexp(x, y):
    """torch's complex log(exp(x) + exp(y)): log1p(exp(min - max)) + max with max the operand of larger real
    part (x on ties), so the imaginary part stays on max's branch (jnp.logaddexp takes the principal log)."""
    swap = jnp.real(x) < jnp.real(y)
    hi, lo = jnp.where(swap, y, x), jnp.where(swap, x, y)
    lo_re, hi_re = jnp.real(lo), jnp.real(hi)
    r = jnp.log1p(jnp.exp(lo - hi)) + hi
    both_inf = ~jnp.isfinite(lo_re) & (lo_re == hi_re)
    # both real parts +inf: log(exp(lo) + exp(hi)), whose modulus is inf (jnp.log of inf + nan*j gives nan)
    # (its operands zeroed elsewhere: exp of a large finite real part overflows, and the gradient of that
    # unused branch would be nan)
    lo_s, hi_s = jnp.where(both_inf, lo, 0), jnp.where(both_inf, hi, 0)
    both = jax.lax.complex(jnp.full_like(lo_re, np.inf), jnp.angle(jnp.exp(lo_s) + jnp.exp(hi_s)).astype(lo_re.dtype))
    r = jnp.where(both_inf, jnp.where(lo_re < 0, lo, both), r)
    nan = jnp.isnan(lo_re) | jnp.isnan(jnp.imag(lo))
    return jnp.where(nan, jnp.asarray(complex(np.nan, np.nan), r.dtype), r)


def _logaddexp(x, y):
    return complex_logaddexp(x, y) if jnp.iscomplexobj(x) else jnp.logaddexp(x, y)


logaddexp = binary("logaddexp", _logaddexp, inplace=False, tensor_other="other", reject="bi")
logaddexp2 = binary("logaddexp2", jnp.logaddexp2, inplace=False, tensor_other="other", reject="bi")

# ---- trig / hyperbolic
sin = unary("sin", trig_cpu.sin)  # float32 on the CPU: vectorisable (XLA's calls libm per element)
cos = unary("cos", trig_cpu.cos)
tan = unary("tan", trig_cpu.tan, saves=(), saves_result=True)
asin = unary("asin", jnp.arcsin, aliases=("arcsin",))
acos = unary("acos", jnp.arccos, aliases=("arccos",))
atan = unary("atan", jnp.arctan, aliases=("arctan",))
sinh = unary("sinh", jnp.sinh)
cosh = unary("cosh", jnp.cosh)
tanh = unary("tanh", jnp.tanh, saves=(), saves_result=True)


def _inverse_hyperbolic(name, f):
    """torch has no derivative for the in-place ``asinh_``/``acosh_``/``atanh_``: a backward through them
    raises NotImplementedError (the out-of-place forms differentiate as usual)."""
    g = jax.custom_vjp(f)

    def bwd(res, ct):
        raise NotImplementedError(f"the derivative for 'inplace version of {name}' is not implemented.")
    g.defvjp(lambda x: (f(x), None), bwd)
    unary(name, g, aliases=("arc" + name[1:],), function=False, method=False)  # (exports the in-place form)
    return unary(name, f, aliases=("arc" + name[1:],), inplace=False)


asinh = _inverse_hyperbolic("asinh", jnp.arcsinh)
acosh = _inverse_hyperbolic("acosh", jnp.arccosh)
# torch's 1 / (1 - x^2): JAX's 1 / ((1 + x)(1 - x)) differentiates to inf - inf = nan at x = +-1
atanh = _inverse_hyperbolic("atanh", _kink(jnp.arctanh, lambda x: 1 / (1 - x * x)))
atan2 = binary("atan2", jnp.arctan2, promote="float", aliases=("arctan2",), tensor_other="other", reject="c")
@jax.custom_jvp
def _hypot(a, b):
    return jnp.hypot(a, b)


# torch's derivative (a da + b db) / hypot: NaN at (0, 0), where JAX's is 0
_hypot.defjvp(lambda p, t: (_hypot(*p), (t[0] * p[0] + t[1] * p[1]) / _hypot(*p)))
hypot = binary("hypot", _hypot, tensor_other="other", reject="bic", saves_result=True)


def _angle_conversion(f):
    def g(x):
        if jnp.iscomplexobj(x):
            raise RuntimeError(f"{f.__name__} is not supported for complex tensors.")
        return f(x)
    return g


deg2rad = unary("deg2rad", _angle_conversion(jnp.deg2rad), saves=())
rad2deg = unary("rad2deg", _angle_conversion(jnp.rad2deg), saves=())


def _sinc_derivative(x):
    # torch's: (pi x cos(pi x) - sin(pi x)) / (pi x^2), 0 at x = 0 (whose own derivative is then NaN there)
    px = jnp.pi * x
    return jnp.where(x == 0, 0, (px * jnp.cos(px) - jnp.sin(px)) / (px * x))


sinc = unary("sinc", _kink(jnp.sinc, _sinc_derivative))

# ---- special functions
# (torch's CPU kernels of these take real types only)
erf = unary("erf", _reject(jss.erf, '"erf_vml_cpu" not implemented for \'{T}\'', (jnp.complexfloating,)))
erfc = unary("erfc", _reject(jss.erfc, '"erfc_vml_cpu" not implemented for \'{T}\'', (jnp.complexfloating,)))
erfinv = unary("erfinv", jss.erfinv)
sigmoid = unary("sigmoid", jax.nn.sigmoid, saves=(), saves_result=True)
def _digamma(x):
    # torch: -inf at +0 and +inf at -0 (the pole's sides), nan at negative integers
    return jnp.where(x == 0, jnp.copysign(jnp.inf, -x), jss.digamma(x))


# the derivative is polygamma(1, x): accurate for negative x too (JAX's is not)
_digamma_fn = _kink(_digamma, lambda x: _polygamma_fn(1, x))
digamma = unary("digamma", _digamma_fn)
# lgamma's derivative is that digamma, so its second derivative is right for negative x too
lgamma = unary("lgamma", _reject(_kink(jss.gammaln, _digamma_fn), '"lgamma_vml_cpu" not implemented for \'{T}\'',
                                 (jnp.complexfloating,)))
i0 = unary("i0", _kink(jss.i0, jss.i1))  # JAX differentiates |x| inside: 1 at 0, torch i1(0) = 0


def _half_steps(dtype):
    """For float16/bfloat16, a function rounding a float32 value to that type while keeping float32 (for torch
    kernels that compute step by step in the half type, not in float once); None for other types."""
    if dtype in (jnp.float16, jnp.bfloat16):
        return lambda v: round_to(jnp.asarray(v, jnp.float32), dtype)
    return None


@defop(promote="float", inplace=True, tensors=("input",))
def logit(input, eps=None):
    if jnp.iscomplexobj(input):
        raise NotImplementedError(f"\"logit_cpu\" not implemented for "
                                  f"'{'ComplexFloat' if input.dtype == jnp.complex64 else 'ComplexDouble'}'")
    r = _half_steps(input.dtype)
    if r is not None:
        # torch's half logit: eps, the clamp bounds and each of (1 - x), x / (1 - x), log rounded to the half type
        dt, x = input.dtype, input.astype(jnp.float32)
        if eps is not None:
            lo = r(jnp.float32(eps))
            x = jnp.clip(x, lo, r(1 - lo))
        return jnp.log(r(x / r(1 - x))).astype(dt)
    return _logit(input, eps)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _logit(x, eps):
    x = x if eps is None else jnp.clip(x, eps, 1 - eps)
    return jnp.log(x / (1 - x))


@_logit.defjvp
def _logit_jvp(eps, primals, tangents):
    # torch's derivative: 1 / (x (1 - x)) on [eps, 1 - eps] (inf at 0 and 1, where JAX's is nan), outside
    # it 0 with eps and nan without
    x, = primals
    lo, hi, fill = (0, 1, jnp.nan) if eps is None else (eps, 1 - eps, 0)
    scale = jnp.where((x < lo) | (x > hi), jnp.asarray(fill, x.dtype), 1 / (x * (1 - x)))
    return _logit(x, eps), scale * tangents[0]


def _polygamma_value(n, x):
    if n == 0:
        return _digamma(x)
    # jax's polygamma (a Hurwitz zeta) holds for x > 0 only; below, step up with
    # psi_n(x) = psi_n(x + k) - (-1)^n n! sum_{j<k} (x + j)^-(n+1), in float64: the terms are large and
    # cancel (psi_4(-1.5): +-768 for a result of -0.31), which float32 cannot carry
    dt = x.dtype
    x = x.astype(jnp.float64) if jnp.issubdtype(dt, jnp.floating) else x
    # (not at the poles, whose value is set below, nor at -inf: a step count of inf never ends)
    k = jnp.where((x < 0) & (x != jnp.floor(x)) & jnp.isfinite(x), jnp.ceil(-x), 0)

    def body(c):
        j, acc = c
        return j + 1, acc + jnp.where(j < k, (x + j) ** -(n + 1), 0)
    _, acc = jax.lax.while_loop(lambda c: c[0] < jnp.max(k, initial=0), body, (jnp.zeros((), x.dtype),
                                                                               jnp.zeros_like(x)))
    fact = 1.0
    for i in range(2, n + 1):
        fact *= i
    v = jss.polygamma(n, x + k) - (-1) ** n * fact * acc
    # the poles (x = 0, -1, ...): torch's limit from the right, (-1)^(n+1) inf
    pole = (x == 0) if n == 1 else (x <= 0) & (x == jnp.floor(x))
    v = jnp.where(pole, (-1) ** (n + 1) * jnp.inf, v)
    if n == 1 and jnp.issubdtype(dt, jnp.floating):
        # torch's trigamma reflects x < 1/2 to 1 - x with pi^2 / sin(pi x)^2 in the input's type: at a
        # negative integer sin(pi x) is not exactly 0 there, so the result is large but finite
        xd = x.astype(dt)
        pi = jnp.asarray(np.pi, dt)
        refl = pi * pi / jnp.sin(pi * xd) ** 2
        v = jnp.where((x < 0) & (x == jnp.floor(x)), refl.astype(v.dtype), v)
        v = jnp.where(x == jnp.inf, 0, v)  # torch's trigamma(+inf) is its limit, 0
    return v.astype(dt)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _polygamma_fn(n, x):
    return _polygamma_value(n, x)


@_polygamma_fn.defjvp
def _polygamma_jvp(n, primals, tangents):
    (x,), (dx,) = primals, tangents
    return _polygamma_fn(n, x), _polygamma_fn(n + 1, x) * dx


@defop(promote="float", method=False, function=False, opmath=True)
def _polygamma(input, n=0):
    return _polygamma_fn(n, input)


@function(method=False, tensors=("input",))
def polygamma(n, input):  # torch.polygamma(n, input); the method is x.polygamma(n)
    return _polygamma(input, n=int(n))


def _polygamma_method(self, n):
    return _polygamma(self, n=int(n))


export(_polygamma_method, "polygamma", function=False, inplace=True)


@defop(promote="float", opmath=True, function=False, method=False, tensors=("input",))
def _mvlgamma(input, p=1):
    return jss.multigammaln(input, p)


@function(inplace=True)
def mvlgamma(input, p):  # (p required, as torch's)
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    return _mvlgamma(input, p=p)


@defop(promote="float", inplace=True, opmath=True, tensors=NUMBERS["either"])
def xlogy(input, other):
    return jss.xlogy(input, other)


@jax.custom_jvp
def _mantissa(x):
    return jnp.frexp(x)[0]


# torch differentiates the mantissa as x * 2**-exponent with the exponent held fixed
_mantissa.defjvp(lambda p, t: (_mantissa(p[0]), t[0] / jnp.exp2(jnp.frexp(p[0])[1].astype(p[0].dtype))))


def _frexp_kernel(x):
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    return _mantissa(x), jnp.frexp(x)[1].astype(jnp.int32)


frexp = defop(lambda input: _frexp_kernel(input), name="frexp", promote=None,
              returns=_return_type("frexp", ("mantissa", "exponent")), saves=(), saves_hidden=True, tensors=("input",))


# ---- rounding (integers pass through unchanged)
def _float_only(f):
    def g(x):
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            raise NotImplementedError(f"{f.__name__} is not supported for complex inputs")
        return f(x) if jnp.issubdtype(x.dtype, jnp.inexact) else x
    return g


# (piecewise constant or linear: no values saved, as torch)
floor = unary("floor", _reject(_float_only(jnp.floor), '"floor_vml_cpu" not implemented for \'Bool\''), promote=None,
              saves=())
ceil = unary("ceil", _reject(_float_only(jnp.ceil), '"ceil_vml_cpu" not implemented for \'Bool\''), promote=None,
             saves=())
trunc = unary("trunc", _reject(_float_only(jnp.trunc), '"trunc_vml_cpu" not implemented for \'Bool\''), promote=None,
              aliases=("fix",), saves=())
frac = unary("frac", _reject(lambda x: x - jnp.trunc(x), '"frac_cpu" not implemented for \'{T}\'',
                             (jnp.bool_, jnp.integer, jnp.complexfloating)), promote=None, saves=())


@defop(promote=None, inplace=True, saves=(), tensors=("input",))
def round(input, decimals=0):
    if input.dtype == jnp.bool_ or jnp.iscomplexobj(input):
        name = D.scalar_type_name(D.from_numpy_dtype(input.dtype))
        raise NotImplementedError(f'"{"round_vml_cpu" if decimals == 0 else "round_cpu"}" not implemented for \'{name}\'')
    if not jnp.issubdtype(input.dtype, jnp.inexact):
        return input
    if decimals == 0:
        return jnp.round(input)
    s = 10.0 ** decimals
    return jnp.round(input * s) / s


# ---- clamping and friends
def _clamp(x, lo, hi):
    # where() passes the gradient at the bounds (torch's clamp convention); a NaN in the input or a bound
    # gives NaN, and no gradient to anything there (selected, so an infinite cotangent leaves zeros)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise NotImplementedError("clamp is not supported for complex types")
    nan = jnp.asarray(jnp.nan, x.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else None
    if lo is not None:
        lo = jnp.asarray(lo, x.dtype)
        x = jnp.where(x < lo, lo, x if nan is None else jnp.where(x >= lo, x, nan))
    if hi is not None:
        hi = jnp.asarray(hi, x.dtype)
        x = jnp.where(x > hi, hi, x if nan is None else jnp.where(x <= hi, x, nan))
    return x


@defop(promote="common", inplace=True, dynamic=("min", "max"), aliases=("clip",), tensors=("input",))
def clamp(input, min=None, max=None):
    return _clamp(input, min, max)


def _clamp_check(min, max, input=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(input, _dispatch.Tensor) and input.dtype is D.bool and \
            all(b is None or type(b) is bool for b in (min, max)):  # (a bool result: torch's scalar kernels have none)
        kernel = "clamp_scalar_cpu" if min is not None and max is not None else \
            "clamp_min_scalar_cpu" if min is not None else "clamp_max_scalar_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


_clamp_op = clamp


@function(inplace=True, aliases=("clip",))
def clamp(input, min=None, max=None):  # noqa: F811
    _clamp_check(min, max, input)
    return _clamp_op(input, min, max)


@function(inplace=True)
def clamp_min(input, min):
    _clamp_check(min, None, input)
    return _clamp_op(input, min, None)


@function(inplace=True)
def clamp_max(input, max):
    _clamp_check(None, max, input)
    return _clamp_op(input, None, max)


def _lerp_saves(mask):
    # torch keeps a tensor weight, and the two ends only when the weight's gradient needs them
    return (0, 1, 2) if mask[2] else (2,)


def _type_name(x):
    return D.cpp_type_name(D.from_numpy_dtype(jnp.result_type(x)))


def _check_value_fits(value, result):
    """torch casts a Python number into the result's type: a complex one does not go into a real type."""
    if _dispatch._is_weak(value) and jnp.iscomplexobj(value) and not jnp.issubdtype(jnp.result_type(result),
                                                                                    jnp.complexfloating):
        raise RuntimeError(f"value cannot be converted to type {_type_name(result)} without overflow")


def _lerp_checks(input, end, weight=0.5):
    """torch's lerp takes no type promotion (end, and a weight tensor with dimensions, of the input's type)
    and has no integer kernel (checked on the arguments before promotion, as traced)."""
    dt = jnp.result_type(input)
    if jnp.result_type(end) != dt:
        raise RuntimeError(f"expected dtype {_type_name(input)} for `end` but got dtype {_type_name(end)}")
    scalar = _dispatch._is_weak(weight)
    if not scalar and jnp.ndim(weight) and jnp.result_type(weight) != dt:
        raise RuntimeError(f"expected dtype {_type_name(input)} for `weight` but got dtype {_type_name(weight)}")
    if not jnp.issubdtype(dt, jnp.inexact):
        raise NotImplementedError(f'"lerp_kernel_{"scalar" if scalar else "tensor"}" not implemented for '
                                  f'\'{D.scalar_type_name(D.from_numpy_dtype(dt))}\'')
    _check_value_fits(weight, input)


@defop(promote="common", inplace=True, dynamic=("weight",), opmath=True, saves=_lerp_saves,
       tensors=("input", "end"))
def lerp(input, end, weight=0.5):
    # torch's two formulas: from the nearer end, so weight 1 gives end exactly
    return jnp.where(jnp.abs(weight) < 0.5, input + weight * (end - input), end - (end - input) * (1 - weight))


lerp.precheck = _lerp_checks


def _addc_checks(kernel):
    """addcmul/addcdiv: no bool kernel; ``value`` is cast into the tensors' type (it takes no part in the
    promotion), which a complex value does not fit when that type is real."""
    def check(input, tensor1, tensor2, value=1):
        dt = jnp.result_type(input, tensor1, tensor2)
        if dt == jnp.bool_ and kernel == "addcmul":
            raise NotImplementedError('"addcmul_cpu_out" not implemented for \'Bool\'')
        _check_value_fits(value, dt)
    return check


# value: cast into the result's type (truncated for integers, as torch's scalar cast)
@defop(promote="common", promote_args=("input", "tensor1", "tensor2"), inplace=True, dynamic=("value",),
       opmath=True, tensors=("input", "tensor1", "tensor2"))
def addcmul(input, tensor1, tensor2, value=1):
    return input + jnp.asarray(value, input.dtype) * tensor1 * tensor2


addcmul.precheck = _addc_checks("addcmul")


@defop(promote="common", promote_args=("input", "tensor1", "tensor2"), inplace=True, dynamic=("value",),
       opmath=True, tensors=("input", "tensor1", "tensor2"))
def addcdiv(input, tensor1, tensor2, value=1):
    if not jnp.issubdtype(jnp.result_type(tensor1, tensor2), jnp.inexact):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
                           "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
                           "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                           "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
                           "addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
                           "tensor2), for all dtypes.")
    return input + jnp.asarray(value, input.dtype) * tensor1 / tensor2


addcdiv.precheck = _addc_checks("addcdiv")


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3))
def _nan_to_num(x, nan, posinf, neginf):
    return jnp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


@_nan_to_num.defjvp
def _nan_to_num_jvp(nan, posinf, neginf, p, t):
    # torch's: the gradient times isfinite(input), multiplied (an infinite one gives the replaced values NaN)
    (x,), (tx,) = p, t
    return _nan_to_num(x, nan, posinf, neginf), jnp.where(jnp.isfinite(x), tx, tx * 0)


@defop(promote=None, inplace=True, tensors=("input",))
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    return _nan_to_num(input, nan, posinf, neginf)


@jax.custom_jvp
def _copysign(a, b):
    return jnp.copysign(a, b)


@_copysign.defjvp
def _copysign_jvp(p, t):
    # torch's: the input's gradient times result / input (0 where the input is 0, NaN at infinities); none
    # for the sign source
    (a, b), (ta, _) = p, t
    r = jnp.copysign(a, b)
    return r, jnp.where(a == 0, 0, r / a) * ta


copysign = binary("copysign", _copysign, promote="float", numbers="other")
_sg = jax.lax.stop_gradient


@jax.custom_jvp
def _nextafter(a, b):
    return jnp.nextafter(a, b)


@_nextafter.defjvp
def _nextafter_jvp(primals, tangents):
    # torch's gradient: 1 for input (at infinities and nan too) but 0 where input == other (the result is
    # other then), 0 for other (the step itself is constant)
    (a, b), out = primals, _nextafter(*primals)
    return out, jnp.where(a == b, jnp.zeros((), out.dtype), jnp.broadcast_to(tangents[0], out.shape).astype(out.dtype))


# the next value of the argument's own type
nextafter = binary("nextafter", _nextafter, tensor_other="other", reject="bi", opmath=False)


def _real_only(name, f):
    """f, raising torch's error for complex operands (no order on them)."""
    def g(a, b):
        if jnp.issubdtype(jnp.result_type(a, b), jnp.complexfloating):
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        return f(a, b)
    return g


def _elementwise_extreme(f, greater):
    """f (maximum/minimum) with torch's gradient: all to the chosen argument, half to each at a tie, all to
    both where one is NaN; selected, never multiplied by a mask (an infinite cotangent leaves the other 0)."""
    g = jax.custom_jvp(f)

    @g.defjvp
    def jvp(p, t):
        (a, b), (ta, tb) = p, t
        return f(a, b), jnp.where(a == b, (ta + tb) / 2, jnp.where(greater(a, b), ta,
                                                                   jnp.where(greater(b, a), tb, ta + tb)))
    return g


maximum = binary("maximum", _real_only("maximum", _elementwise_extreme(jnp.maximum, jnp.greater)), inplace=False,
                 tensor_other="other")
minimum = binary("minimum", _real_only("minimum", _elementwise_extreme(jnp.minimum, jnp.less)), inplace=False,
                 tensor_other="other")
# torch: at ties (and where other is NaN) the gradient goes to input
fmax = binary("fmax", _real_only("fmax", lambda a, b: jnp.where((a >= b) | jnp.isnan(b), a, b)), inplace=False,
              tensor_other="other")
fmin = binary("fmin", _real_only("fmin", lambda a, b: jnp.where((a <= b) | jnp.isnan(b), a, b)), inplace=False,
              tensor_other="other")
_heaviside = binary("heaviside", lambda a, b: jnp.where(a == 0, b, (a > 0).astype(a.dtype)), tensor_other="values",
                    differentiable=False)


@function(inplace=True)
def heaviside(input, values):
    if isinstance(values, _dispatch.Tensor) and isinstance(input, _dispatch.Tensor) and values.dtype is not input.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return _heaviside(input, values)
gcd = binary("gcd", jnp.gcd, tensor_other="other", reject="bf", differentiable=False)
lcm = binary("lcm", jnp.lcm, tensor_other="other", reject="bf", differentiable=False)
ldexp = binary("ldexp", lambda a, b: a * jnp.exp2(b), promote="float", tensor_other="other", saves=("other",),
               saves_result=True)


# ---- comparisons (bool results; computed in the promoted dtype)
def compare(name, f, aliases=(), ordered=False):
    g = _dtype_guard(f, "c" if ordered else "", name + "_cpu")  # (no order on complex numbers)
    return defop(lambda input, other: g(input, other), name=name, promote="common", inplace=True,
                 aliases=aliases, differentiable=False, tensors=NUMBERS["other"])


eq = compare("eq", jnp.equal)
ne = compare("ne", jnp.not_equal, aliases=("not_equal",))
lt = compare("lt", jnp.less, aliases=("less",), ordered=True)
le = compare("le", jnp.less_equal, aliases=("less_equal",), ordered=True)
gt = compare("gt", jnp.greater, aliases=("greater",), ordered=True)
ge = compare("ge", jnp.greater_equal, aliases=("greater_equal",), ordered=True)
isnan = unary("isnan", jnp.isnan, promote=None, inplace=False, differentiable=False)
isinf = unary("isinf", jnp.isinf, promote=None, inplace=False, differentiable=False)
isposinf = unary("isposinf", jnp.isposinf, promote=None, inplace=False, differentiable=False)
isneginf = unary("isneginf", jnp.isneginf, promote=None, inplace=False, differentiable=False)
isfinite = unary("isfinite", jnp.isfinite, promote=None, inplace=False, differentiable=False)
isreal = unary("isreal", jnp.isreal, promote=None, inplace=False, differentiable=False)
signbit = unary("signbit", jnp.signbit, promote=None, inplace=False, differentiable=False)


@defop(promote="common", differentiable=False, function=False, method=False)
def _isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return jnp.isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)


@function
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    if not isinstance(other, _dispatch.Tensor):
        raise TypeError(f"isclose(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    if input.dtype is not other.dtype:
        from .linalg_ops import _type_name
        raise RuntimeError(f"{_type_name(input)} did not match {_type_name(other)}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if tol < 0:
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tol}")
    return _isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)


# ---- logical / bitwise
logical_not = unary("logical_not", jnp.logical_not, promote=None, differentiable=False)
logical_and = binary("logical_and", jnp.logical_and, promote=None, differentiable=False, tensor_other="other")
logical_or = binary("logical_or", jnp.logical_or, promote=None, differentiable=False, tensor_other="other")
logical_xor = binary("logical_xor", jnp.logical_xor, promote=None, differentiable=False, tensor_other="other")


def _int_only(name, f):
    def g(a, b=None):
        for x in (a, b):
            if x is not None and jnp.issubdtype(dt := jnp.asarray(x).dtype, jnp.inexact):
                kind = D.scalar_type_name(D.from_numpy_dtype(dt))
                raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{kind}'")
        return f(a) if b is None else f(a, b)
    return g


bitwise_not = unary("bitwise_not", _int_only("bitwise_not", jnp.invert), promote=None, differentiable=False)
bitwise_and = binary("bitwise_and", _int_only("bitwise_and", jnp.bitwise_and), differentiable=False)
bitwise_or = binary("bitwise_or", _int_only("bitwise_or", jnp.bitwise_or), differentiable=False)
bitwise_xor = binary("bitwise_xor", _int_only("bitwise_xor", jnp.bitwise_xor), differentiable=False)
bitwise_left_shift = binary("bitwise_left_shift", jnp.left_shift, differentiable=False, reject="bf",
                            kernel="lshift_cpu")
bitwise_right_shift = binary("bitwise_right_shift", jnp.right_shift, differentiable=False, reject="bf",
                             kernel="rshift_cpu")


# ---- complex
conj = unary("conj", jnp.conj, promote=None, inplace=False)


def _angle(x):
    if jnp.iscomplexobj(x):
        return jnp.angle(x)
    # torch's real angle: pi below 0, else 0 (also at -0.0, where atan2 gives pi), nan kept; no gradient
    return jnp.where(jnp.isnan(x), _sg(x), jnp.where(x < 0, jnp.asarray(np.pi, x.dtype), jnp.zeros((), x.dtype)))


angle = unary("angle", _angle)
conj_physical = unary("conj_physical", jnp.conj, promote=None)


def cast_array(x, np_dtype):
    """``x`` (a jax or numpy array) as ``np_dtype`` the way torch converts. Two float8 targets differ from a plain
    cast: float8_e4m3fn saturates (±inf too) at ±448 where ml_dtypes gives NaN, and float8_e8m0fnu reads the
    magnitude of the float32 value and sends 0 to its smallest power, 2**-127."""
    x = jnp.asarray(x)
    real = not jnp.issubdtype(x.dtype, jnp.complexfloating)
    if np.dtype(np_dtype).kind in "iu" and jnp.issubdtype(x.dtype, jnp.inexact):
        return _float_to_int(x if real else jnp.real(x), np.dtype(np_dtype))
    if np_dtype == D.float8_e4m3fn.np and real:
        x = jnp.clip(x.astype(jnp.promote_types(x.dtype, jnp.float16)), -448, 448)
    elif np_dtype == D.float8_e8m0fnu.np and real:
        x = jnp.abs(x.astype(jnp.float32))
        x = jnp.where(x == 0, np.float32(2.0 ** -127), x)
    return x.astype(np_dtype)


@defop(promote=None, saves=())  # (its backward needs no values: torch saves nothing)
def _cast(input, dtype=None):
    return cast_array(input, dtype.np)


def _float_to_int(x, dt):
    """torch's conversion on the CPU (x86's truncating one): into int64 for int64, into int32 for the narrower
    types, which keep its low bits (out-of-range values wrap instead of saturating); a value out of that range
    or NaN becomes its minimum (so 0 in the narrower types)."""
    if dt not in (np.int64, np.int32, np.int16, np.int8, np.uint8):
        return x.astype(jnp.int64).astype(dt)
    wide = np.int64 if dt == np.int64 else np.int32
    bound = 2.0 ** (np.iinfo(wide).bits - 1)
    if x.dtype.itemsize < 4:  # (exact in float32; the bound is not representable in the narrow types)
        nan_is_zero = "fnu" in x.dtype.name  # (torch's fnuz/fnu float8 types convert their NaN to 0)
        x = x.astype(jnp.float32)
        if nan_is_zero:
            x = jnp.where(jnp.isnan(x), 0, x)
    t = jnp.trunc(x)
    fits = (t >= -bound) & (t < bound)  # (false for NaN)
    v = jnp.where(fits, jnp.where(fits, t, 0).astype(wide), np.iinfo(wide).min)
    return v.astype(dt)


@defop(promote=None, method=False, function=False, name="clone", saves=())  # (torch's clone saves nothing)
def _clone(input):
    return jnp.array(input, copy=True)


@function
def clone(input, *, memory_format=None):
    """A copy laid out in ``memory_format``; the default (preserve_format) keeps the input's strides
    where it is dense (see _memfmt.py)."""
    out = _clone(input)
    if memory_format is None and (type(out) is not _dispatch.Tensor or input._strides is None):
        return out  # (sparse, nested, quantized: their own kinds, no dense strides to keep)
    from .._memfmt import lay_like
    return lay_like(out, input, memory_format)


@defop(promote=None, method=False)
def _identity_to(input, _array=None):
    return input


# fill_/zero_/copy_ are in-place ops whose out-of-place form ignores self's value
@defop(method=False, function=False, promote=None, saves=())
def _fill(input, value):
    return jnp.full(input.shape, value, input.dtype)


@function(method=True)
def fill_(self, value):
    if hasattr(value, "ndim"):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
    elif not isinstance(value, (int, float, complex)):  # bool is an int; numpy scalars too
        raise TypeError(f"fill_() received an invalid combination of arguments - got ({type(value).__name__}), "
                        "but expected one of: (Tensor value) or (Number value)")
    else:
        from .creation import check_scalar_fits
        value = check_scalar_fits(value.item() if isinstance(value, np.generic) else value, self.dtype)
    return _named(self._inplace(_fill, (value,), {}), "FillBackward3" if hasattr(value, "ndim") else "FillBackward2")


@function(method=True)
def zero_(self):
    return _named(self._inplace(_fill, (0,), {}), "ZeroBackward0")


def _named(res, name):
    # one _fill op serves torch's fill_(Scalar), fill_(Tensor) and zero_, whose nodes torch names apart
    if res._grad_fn is not None and type(res._grad_fn).__name__ == "FillBackward0":
        from ..autograd.graph import rename
        rename(res._grad_fn, name)
    return res


@defop(method=False, function=False, promote=None, saves=())
def _copy_from(input, src):
    return jnp.broadcast_to(cast_array(src, input.dtype), input.shape)


@function(method=True)
def copy_(self, src, non_blocking=False):
    if hasattr(src, "shape"):
        try:
            jnp.broadcast_shapes(tuple(src.shape), tuple(self.shape))
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({self.shape[-1] if self.ndim else 1}) must match the size "
                               f"of tensor b ({src.shape[-1] if src.ndim else 1}) at non-singleton dimension "
                               f"{self.ndim - 1}") from None
        if hasattr(src, "device") and src.device != self.device:
            src = src.to(self.device)  # the value moves to self's device (load_state_dict into a GPU model)
    return self._inplace(_copy_from, (src,), {})


REGISTRY["pow"] = pow_
REGISTRY["abs"] = abs_

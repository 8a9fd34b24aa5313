"""Every elementwise op against torch: values and result dtypes for float32 / int64 / bool inputs,
type promotion with Python scalars and 0-dim tensors, gradients (float32, plus float64
gradchecks), in-place variants, ``out=``, errors, and torch's gradient conventions at kinks."""

import numpy as np
import pytest
import torch

import jtorch
from tests.helpers import assert_close
from tests.ops.mathcheck import check, outcome

SHAPE = (3, 4)

# name -> (low, high) of a float domain where the op and its gradient are finite
UNARY = {
    "exp": (-2, 2), "exp2": (-2, 2), "expm1": (-2, 2), "log": (0.1, 3), "log2": (0.1, 3), "log10": (0.1, 3),
    "log1p": (-0.5, 3), "sqrt": (0.1, 3), "rsqrt": (0.1, 3), "sin": (-3, 3), "cos": (-3, 3), "tan": (-1, 1),
    "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atan": (-3, 3), "sinh": (-2, 2), "cosh": (-2, 2),
    "tanh": (-2, 2), "asinh": (-3, 3), "acosh": (1.1, 3), "atanh": (-0.9, 0.9), "arcsin": (-0.9, 0.9),
    "arccos": (-0.9, 0.9), "arctan": (-3, 3), "arcsinh": (-3, 3), "arccosh": (1.1, 3), "arctanh": (-0.9, 0.9),
    "deg2rad": (-3, 3), "rad2deg": (-3, 3), "sinc": (-3, 3), "erf": (-2, 2), "erfc": (-2, 2),
    "erfinv": (-0.9, 0.9), "sigmoid": (-3, 3), "lgamma": (0.1, 3), "digamma": (0.1, 3), "i0": (-3, 3),
    "reciprocal": (0.5, 3), "logit": (0.1, 0.9), "neg": (-3, 3), "negative": (-3, 3), "abs": (-3, 3),
    "absolute": (-3, 3), "sign": (-3, 3), "sgn": (-3, 3), "square": (-3, 3), "floor": (-3, 3),
    "ceil": (-3, 3), "trunc": (-3, 3), "fix": (-3, 3), "frac": (-3, 3), "round": (-3, 3),
    "positive": (-3, 3), "angle": (-3, 3), "nan_to_num": (-3, 3), "conj_physical": (-3, 3),
    "isnan": (-3, 3), "isinf": (-3, 3), "isposinf": (-3, 3), "isneginf": (-3, 3), "isfinite": (-3, 3),
    "isreal": (-3, 3), "signbit": (-3, 3), "logical_not": (-3, 3), "bitwise_not": (-3, 3),
}
NO_INPLACE = {"positive", "angle", "isnan", "isinf", "isposinf", "isneginf", "isfinite", "isreal", "signbit",
              "conj_physical"}


def _x(rng, lo, hi, dtype=np.float32):
    return rng.uniform(lo, hi, SHAPE).astype(dtype)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(rng, name):
    lo, hi = UNARY[name]
    f = lambda L, a: getattr(L, name)(a)  # noqa: E731
    x = _x(rng, lo, hi)
    try:
        grad = (0,) if getattr(torch, name)(torch.tensor(x, requires_grad=True)).requires_grad else ()
    except (RuntimeError, TypeError):
        grad = ()
    outcome(f, x, grad=grad, rtol=1e-5, atol=1e-5)
    # integer and bool inputs: result dtype (float ops give float32) or the same error
    ints = rng.integers(max(int(lo), -3) if lo > -3 else -3, max(int(hi), 1) + 1, SHAPE)
    if lo > 0:
        ints = np.abs(ints) + 1
    outcome(f, ints, rtol=1e-5, atol=1e-5)
    outcome(f, ints % 2 == 0)
    # method form and in-place variant
    outcome(lambda L, a: getattr(a, name)(), x, rtol=1e-5, atol=1e-5)
    if name not in NO_INPLACE:
        outcome(lambda L, a: getattr(a.clone(), name + "_")(), x, rtol=1e-5, atol=1e-5)
        outcome(lambda L, a: getattr(a.clone(), name + "_")(), ints)  # float result into int: error


# name -> (domain of a, domain of b)
BINARY = {
    "add": ((-3, 3), (-3, 3)), "sub": ((-3, 3), (-3, 3)), "subtract": ((-3, 3), (-3, 3)),
    "mul": ((-3, 3), (-3, 3)), "multiply": ((-3, 3), (-3, 3)), "div": ((-3, 3), (0.5, 3)),
    "divide": ((-3, 3), (0.5, 3)), "true_divide": ((-3, 3), (0.5, 3)), "floor_divide": ((-3, 3), (0.5, 3)),
    "remainder": ((-3, 3), (0.5, 3)), "fmod": ((-3, 3), (0.5, 3)), "pow": ((0.5, 2), (-2, 2)),
    "float_power": ((0.5, 2), (-2, 2)), "atan2": ((-3, 3), (-3, 3)), "arctan2": ((-3, 3), (-3, 3)),
    "hypot": ((-3, 3), (-3, 3)), "copysign": ((-3, 3), (-3, 3)), "nextafter": ((-3, 3), (-3, 3)),
    "maximum": ((-3, 3), (-3, 3)), "minimum": ((-3, 3), (-3, 3)), "fmax": ((-3, 3), (-3, 3)),
    "fmin": ((-3, 3), (-3, 3)), "heaviside": ((-3, 3), (-3, 3)), "ldexp": ((-3, 3), (-2, 3)),
    "logaddexp": ((-3, 3), (-3, 3)), "logaddexp2": ((-3, 3), (-3, 3)), "xlogy": ((-3, 3), (0.5, 3)),
    "rsub": ((-3, 3), (-3, 3)), "eq": ((-2, 2), (-2, 2)), "ne": ((-2, 2), (-2, 2)), "lt": ((-2, 2), (-2, 2)),
    "le": ((-2, 2), (-2, 2)), "gt": ((-2, 2), (-2, 2)), "ge": ((-2, 2), (-2, 2)), "less": ((-2, 2), (-2, 2)),
    "greater_equal": ((-2, 2), (-2, 2)), "not_equal": ((-2, 2), (-2, 2)), "less_equal": ((-2, 2), (-2, 2)),
    "greater": ((-2, 2), (-2, 2)), "logical_and": ((-2, 2), (-2, 2)), "logical_or": ((-2, 2), (-2, 2)),
    "logical_xor": ((-2, 2), (-2, 2)), "bitwise_and": ((-9, 9), (-9, 9)), "bitwise_or": ((-9, 9), (-9, 9)),
    "bitwise_xor": ((-9, 9), (-9, 9)), "bitwise_left_shift": ((0, 9), (0, 4)),
    "bitwise_right_shift": ((0, 99), (0, 4)), "gcd": ((-9, 9), (-9, 9)), "lcm": ((-9, 9), (-9, 9)),
    "isclose": ((-2, 2), (-2, 2)),
}
INT_ONLY = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm"}
NO_INPLACE_BIN = {"maximum", "minimum", "fmax", "fmin", "logaddexp", "logaddexp2", "isclose", "float_power"}


def _ab(rng, name, dtype):
    (a0, a1), (b0, b1) = BINARY[name]
    if dtype == "int":
        a = rng.integers(int(a0), int(a1) + 1, SHAPE)
        b = rng.integers(max(int(b0), 1) if b0 > 0 else int(b0), int(b1) + 1, (SHAPE[1],))
        return a, b
    a = rng.uniform(a0, a1, SHAPE).astype(np.float32)
    b = rng.uniform(b0, b1, (SHAPE[1],)).astype(np.float32)
    if name in ("eq", "ne", "le", "ge", "maximum", "minimum", "fmax", "fmin"):
        a[0, :2] = b[:2]  # ties
    return a, b


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(rng, name):
    f = lambda L, a, b: getattr(L, name)(a, b)  # noqa: E731
    ia, ib = _ab(rng, name, "int")
    if name not in INT_ONLY:
        a, b = _ab(rng, name, "float")
        try:
            r = getattr(torch, name)(torch.tensor(a, requires_grad=True), torch.tensor(b))
            grad_ok = r.requires_grad
            r.sum().backward() if grad_ok else None
        except RuntimeError:  # "derivative for aten::floor_divide is not implemented"
            grad_ok = False
        outcome(f, a, b, grad=(0, 1) if grad_ok else (), rtol=1e-5, atol=1e-5)
        outcome(f, a, ib)                                   # float32 tensor with int64 tensor
        outcome(f, ia, b)
        outcome(f, a, 2)                                    # Python int keeps float32
        outcome(f, ia, 1.5)                                 # Python float: int64 -> float32
        outcome(f, ia, np.array(1.5))                       # 0-dim float64 tensor with int64 -> float64? (torch)
        outcome(f, a, np.array(2.0))                        # 0-dim float64 does not promote float32
        outcome(f, a.astype(np.float64), b)                 # float64 wins over float32
        outcome(lambda L, x, y: getattr(x, name)(y), a, b)
        if name not in NO_INPLACE_BIN:
            outcome(lambda L, x, y: getattr(x.clone(), name + "_")(y), a, b)
            outcome(lambda L, x, y: getattr(x.clone(), name + "_")(y), ia, b)  # float into int: error
    outcome(f, ia, ib)
    outcome(f, ia, 3)
    outcome(f, ia % 2 == 0, ib % 3 == 0)
    outcome(f, ia.astype(np.int32), np.array(2))  # 0-dim int64 does not promote int32


def test_div_rounding_modes(rng):
    a = rng.uniform(-5, 5, SHAPE).astype(np.float32)
    b = rng.uniform(0.5, 2, SHAPE).astype(np.float32) * np.where(rng.random(SHAPE) < 0.5, -1, 1).astype(np.float32)
    ia, ib = rng.integers(-9, 9, SHAPE), rng.integers(1, 4, SHAPE) * rng.choice([-1, 1], SHAPE)
    for mode in (None, "trunc", "floor"):
        outcome(lambda L, x, y: L.div(x, y, rounding_mode=mode), a, b, grad=(0, 1))
        outcome(lambda L, x, y: L.div(x, y, rounding_mode=mode), ia, ib)
        outcome(lambda L, x, y: x.clone().div_(y, rounding_mode=mode), a, b)
        outcome(lambda L, x, y: x.clone().div_(y, rounding_mode=mode), ia, ib)
    outcome(lambda L, x, y: L.div(x, y, rounding_mode="bad"), a, b)
    outcome(lambda L, x, y: L.floor_divide(x, y), ia, ib)
    outcome(lambda L, x, y: L.remainder(x, y), ia, ib)
    outcome(lambda L, x, y: L.fmod(x, y), ia, ib)
    outcome(lambda L, x: L.remainder(x, -1.5), a, grad=(0,))


def test_add_sub_alpha(rng):
    a, b = rng.standard_normal(SHAPE).astype(np.float32), rng.standard_normal(SHAPE).astype(np.float32)
    check(lambda L, x, y: L.add(x, y, alpha=2.5), a, b, grad=(0, 1))
    check(lambda L, x, y: L.sub(x, y, alpha=-2), a, b, grad=(0, 1))
    check(lambda L, x, y: x.clone().add_(y, alpha=3), a, b, grad=(0, 1))
    check(lambda L, x, y: L.rsub(x, y, alpha=2), a, b, grad=(0, 1))
    check(lambda L, x: L.rsub(x, 1.5), a, grad=(0,))
    outcome(lambda L, x, y: L.add(x, y, alpha=1.5), np.arange(3), np.arange(3))  # float alpha on ints: error


def test_ternary(rng):
    a, b, c = (rng.standard_normal(SHAPE).astype(np.float32) for _ in range(3))
    check(lambda L, x, y, w: L.lerp(x, y, w), a, b, c, grad=(0, 1, 2))
    check(lambda L, x, y: L.lerp(x, y, 0.3), a, b, grad=(0, 1))
    check(lambda L, x, y, z: L.addcmul(x, y, z, value=0.5), a, b, c, grad=(0, 1, 2))
    check(lambda L, x, y, z: L.addcdiv(x, y, z.abs() + 0.5, value=2), a, b, c,
          grad=(0, 1, 2))
    check(lambda L, x, y, z: x.clone().addcmul_(y, z), a, b, c, grad=(0, 1, 2))
    check(lambda L, x, y, z: x.clone().lerp_(y, 0.25), a, b, c, grad=(0, 1))
    outcome(lambda L, x, y, z: L.addcdiv(x, y, z), np.arange(3), np.arange(3), np.arange(1, 4))  # int: error


def test_clamp(rng):
    x = np.array([[-2.0, -1.0, 0.0, 0.5], [1.0, 2.0, 3.0, -0.5], [1.5, -1.5, 0.2, 1.0]], np.float32)
    # torch's clamp passes the gradient at its bounds (x == min or x == max)
    for kw in ({"min": -1.0, "max": 1.0}, {"min": -1.0}, {"max": 1.0}):
        check(lambda L, t: L.clamp(t, **kw), x, grad=(0,))
        check(lambda L, t: t.clip(**kw), x, grad=(0,))
        check(lambda L, t: (t * 1).clamp_(**kw), x, grad=(0,))
    lo, hi = np.full(SHAPE, -1, np.float32), rng.uniform(0, 2, SHAPE).astype(np.float32)
    check(lambda L, t, a, b: L.clamp(t, a, b), x, lo, hi, grad=(0, 1, 2))
    check(lambda L, t: (L.clamp_min(t, 0.5), L.clamp_max(t, 0.5), t.clamp_min(0)), x, grad=(0,))
    check(lambda L, t: L.clamp(t, min=1, max=2), np.arange(-3, 5))           # ints stay int64
    outcome(lambda L, t: L.clamp(t, min=0.5), np.arange(-3, 5))              # float bound: float32 result
    outcome(lambda L, t: L.clamp(t), x)                                      # neither bound: error
    outcome(lambda L, t: L.clamp(t, min=2.0, max=1.0), x)                    # min > max: max wins


def test_kinks():
    # torch's derivative conventions where the function is not differentiable
    x = np.array([-1.0, 0.0, 0.0, 2.0], np.float32)
    for name in ("abs", "sign", "round", "floor", "ceil", "trunc", "frac", "sgn"):
        check(lambda L, t: getattr(L, name)(t), x, grad=(0,))
    check(lambda L, t: L.maximum(t, L.zeros_like(t)), x, grad=(0,))   # ties split the gradient 1/2 - 1/2
    check(lambda L, t, u: (L.maximum(t, u), L.minimum(t, u), L.fmax(t, u), L.fmin(t, u)),
          x, np.zeros(4, np.float32), grad=(0, 1))
    check(lambda L, t: L.sqrt(t.abs()), np.array([1.0, 4.0], np.float32), grad=(0,))
    check(lambda L, t: L.pow(t, 2), x, grad=(0,))
    check(lambda L, t: L.pow(t, 0.5), np.array([0.0, 4.0], np.float32), grad=(0,))
    check(lambda L, t: L.pow(t, 0), x, grad=(0,))
    check(lambda L, t: L.xlogy(t, t), np.array([0.0, 1.0, 2.0], np.float32), grad=())
    check(lambda L, t: L.hypot(t, t), np.array([0.0, 1.0], np.float32))
    check(lambda L, t: L.sinc(t), np.array([0.0, 0.5], np.float32), grad=(0,))


def test_pow_variants(rng):
    a = rng.uniform(0.5, 2, SHAPE).astype(np.float32)
    check(lambda L, x: (L.pow(x, 3), x ** 2, 2 ** x, L.pow(2.0, x)), a, grad=(0,))
    outcome(lambda L, x: L.pow(x, 2), np.arange(-3, 4))
    outcome(lambda L, x: L.pow(x, -1), np.arange(1, 4))   # integer to negative power: error
    outcome(lambda L, x: L.pow(x, 0.5), np.arange(1, 4))
    outcome(lambda L, x: L.float_power(x, 2), np.arange(1, 4))
    outcome(lambda L, x: L.float_power(x, 2), a, grad=(0,))
    outcome(lambda L, x: x.clone().float_power_(2), a)                         # float32 in place: error
    outcome(lambda L, x: x.clone().float_power_(2), a.astype(np.float64))
    check(lambda L, x, y: L.float_power(x, y), a.astype(np.float64), a.astype(np.float64), grad=(0, 1))


def test_nan_inf_handling(rng):
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0], np.float32)
    check(lambda L, t: L.nan_to_num(t), x)
    check(lambda L, t: L.nan_to_num(t, nan=1.0, posinf=2.0, neginf=-2.0), x)
    check(lambda L, t: t.clone().nan_to_num_(nan=-1.0), x)
    check(lambda L, t: (L.isnan(t), L.isinf(t), L.isposinf(t), L.isneginf(t), L.isfinite(t), L.signbit(t)), x)
    check(lambda L, t: (L.maximum(t, L.zeros_like(t)), L.fmax(t, L.zeros_like(t))), x)
    check(lambda L, t, u: L.isclose(t, u, equal_nan=True), x, x[::-1].copy())
    check(lambda L, t, u: L.isclose(t, u, rtol=0.1, atol=0.0), np.array([1.0, 2.0]), np.array([1.05, 2.5]))


def test_logit_eps_and_polygamma(rng):
    x = rng.uniform(0.0, 1.0, SHAPE).astype(np.float32)
    check(lambda L, t: L.logit(t, eps=0.1), x, grad=(0,))
    check(lambda L, t: t.clone().logit_(1e-3), x)
    y = rng.uniform(1, 3, SHAPE).astype(np.float32)
    check(lambda L, t: (L.polygamma(1, t), t.polygamma(2), L.mvlgamma(t, 2)), y, grad=(0,), rtol=1e-4)


def test_out_argument(rng):
    a, b = rng.standard_normal(SHAPE).astype(np.float32), rng.standard_normal(SHAPE).astype(np.float32)
    for name in ("add", "mul", "atan2", "maximum", "exp", "sin", "eq"):
        op = getattr(torch, name)
        nargs = 2 if name in ("add", "mul", "atan2", "maximum", "eq") else 1
        ot = torch.empty(SHAPE, dtype=torch.bool if name == "eq" else torch.float32)
        oj = jtorch.empty(SHAPE, dtype=jtorch.bool if name == "eq" else jtorch.float32)
        rt = op(*[torch.tensor(v) for v in (a, b)[:nargs]], out=ot)
        rj = getattr(jtorch, name)(*[jtorch.tensor(v) for v in (a, b)[:nargs]], out=oj)
        assert rj is oj and rt is ot
        assert_close(oj, ot)


def test_inplace_errors_and_aliasing(rng):
    a = rng.standard_normal(SHAPE).astype(np.float32)
    # in-place on a view writes through to the base
    for L in (torch, jtorch):
        t = L.tensor(a)
        t[0].mul_(2).add_(1)
        t[:, 1].exp_()
    tt, tj = torch.tensor(a), jtorch.tensor(a)
    for t in (tt, tj):
        t[0].mul_(2).add_(1)
        t[:, 1].exp_()
    assert_close(tj, tt)
    # result that cannot be broadcast into self
    outcome(lambda L, x, y: x.clone().add_(y), a[:1], a)
    # a leaf that requires grad cannot be modified in place
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            L.tensor(a, requires_grad=True).exp_()


def test_shape_mismatch_error(rng):
    outcome(lambda L, x, y: L.add(x, y), np.ones((2, 3), np.float32), np.ones((4,), np.float32))
    for L in (torch, jtorch):
        with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) "
                                               r"at non-singleton dimension 1"):
            L.ones(2, 3) + L.ones(4)


def test_operators(rng):
    a = rng.uniform(0.5, 2, SHAPE).astype(np.float32)
    b = rng.uniform(0.5, 2, SHAPE).astype(np.float32)
    check(lambda L, x, y: (x + y, x - y, x * y, x / y, x ** y, -x, abs(x), 1 - x, 2 / x, 2 ** x, x ** 2), a, b,
          grad=(0, 1))
    check(lambda L, x, y: (x // y, x % y, 3 % x, 3 // x), a, b)  # torch has no gradient for these
    check(lambda L, x, y: (x < y, x <= y, x > y, x >= y, x == y, x != y, 1 < x), a, b)
    ia, ib = rng.integers(-5, 5, SHAPE), rng.integers(1, 5, SHAPE)
    check(lambda L, x, y: (x & y, x | y, x ^ y, ~x, x << 1, x >> 1, x // y, x % y, x / y, x * 1.5), ia, ib)


@pytest.mark.parametrize("name", ["exp", "sin", "tanh", "log1p", "sigmoid", "erf", "atan2", "hypot",
                                  "logaddexp", "xlogy", "lerp", "div"])
def test_gradcheck_float64(rng, name):
    x = jtorch.tensor(rng.uniform(0.5, 1.5, (2, 3)), requires_grad=True)
    y = jtorch.tensor(rng.uniform(0.5, 1.5, (2, 3)), requires_grad=True)
    fns = {"lerp": lambda a, b: jtorch.lerp(a, b, 0.3)}
    fn = fns.get(name) or ((lambda a, b: getattr(jtorch, name)(a, b)) if name in BINARY or name == "div"
                           else (lambda a, b: getattr(jtorch, name)(a) * b))
    assert jtorch.autograd.gradcheck(fn, (x, y))
    assert jtorch.autograd.gradgradcheck(fn, (x, y))


def test_complex_gradients(rng):
    z = (rng.standard_normal(SHAPE) + 1j * rng.standard_normal(SHAPE)).astype(np.complex64)
    w = (rng.standard_normal(SHAPE) + 1j * rng.standard_normal(SHAPE)).astype(np.complex64)
    check(lambda L, a, b: (a * b, a / b, a + b, a - b), z, w, grad=(0, 1), rtol=1e-4)
    check(lambda L, a: (L.exp(a), L.sin(a), L.abs(a), a.conj() * a, L.sqrt(a), L.angle(a)), z, grad=(0,),
          rtol=1e-4)
    check(lambda L, a: (a.real * 2, a.imag * 3), z, grad=(0,))


def test_pow_forward_mode_negative_base_like_torch():
    # the exponent's term (log of a negative base: nan) times its zero tangent poisoned d/dbase
    import torch
    import jtorch
    x = np.array([-1.5, 2.0, -0.3, 0.0], np.float32)
    v = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    for f in (lambda m, t: t ** 3, lambda m, t: (t ** 2).prod(), lambda m, t: m.pow(t, 2.0)):
        _, tj = jtorch.func.jvp(lambda t: f(jtorch, t), (jtorch.from_numpy(x),), (jtorch.from_numpy(v),))
        _, tt = torch.func.jvp(lambda t: f(torch, t), (torch.from_numpy(x),), (torch.from_numpy(v),))
        np.testing.assert_allclose(tj.numpy(), tt.numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape", [(6, 40), (300, 700)])
def test_division_rounds_like_torch(rng, shape):
    """Bit-equal quotients: XLA rewrites a division by a broadcast divisor as a product with its reciprocal
    (one ulp off for about a quarter of the elements); torch divides. ``2 / t`` is torch's
    ``t.reciprocal() * 2``, which rounds twice."""
    x = rng.random(shape).astype(np.float32)
    d = (rng.random((shape[0], 1)) + 0.5).astype(np.float32)
    cases = [
        (lambda a, b: a / b, (x, d)), (lambda a, b: a / 3.7, (x, d)), (lambda a, b: 3.7 / (a + 0.1), (x, d)),
        (lambda a, b: a.div_(b), (x, d)), (lambda a, b: a.div(b[0, 0]), (x, d)),
        (lambda a, b: a.double() / 0.3, (x, d)), (lambda a, b: a.half() / b.half(), (x, d)),
        (lambda a, b: (a * 1000).long() / 7, (x, d)),
    ]
    for f, (a, b) in cases:
        want = f(torch.from_numpy(a.copy()), torch.from_numpy(b.copy()))
        got = f(jtorch.from_numpy(a.copy()), jtorch.from_numpy(b.copy()))
        assert got.dtype == getattr(jtorch, str(want.dtype).split(".")[1])
        np.testing.assert_array_equal(got.numpy(), want.numpy())

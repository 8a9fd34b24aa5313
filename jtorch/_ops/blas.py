"""Matrix products. torch never promotes here: mixed dtypes raise."""
import jax
import jax.numpy as jnp

from .._dispatch import defop, function, round_to
from ..amp import casts_together
from .pointwise import _other_operand

_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
          "int64": "long int", "int32": "int", "complex64": "c10::complex<float>",
          "complex128": "c10::complex<double>"}


def _same_dtype(a, b, what="m1 and m2"):
    if a.dtype is not b.dtype and not casts_together(a, b):
        raise RuntimeError(f"expected {what} to have the same dtype, but got: "
                           f"{_NAMES.get(a.dtype._name, a.dtype._name)} != {_NAMES.get(b.dtype._name, b.dtype._name)}")


def _hi(a):
    # full float32 precision on every backend (XLA:GPU would otherwise use TF32)
    return jax.lax.Precision.HIGHEST


def _acc_type(a):
    """float32 for half-precision operands: products accumulate in float, as in torch's (and XLA:GPU's)
    half-precision GEMMs; None (the operands' own type) otherwise."""
    return jnp.float32 if a.dtype in (jnp.float16, jnp.bfloat16) else None


@defop(method=False, function=False, saves=_other_operand)
def _matmul(input, other):
    if input.dtype == jnp.bool_:  # no bool kernels in torch: the one its matmul reaches names itself
        kernel = "dot" if input.ndim == other.ndim == 1 else "addmv_impl_cpu" if other.ndim == 1 else \
            "addmm_impl_cpu_" if other.ndim == 2 else "bmm"
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
    return jnp.matmul(input, other, precision=_hi(input), preferred_element_type=_acc_type(input)).astype(input.dtype)


@function
def matmul(input, other):
    try:  # operands whose shapes and dtypes passed the checks below before
        if (input._shape_dtype(), other._shape_dtype()) in _MATMUL_OK:
            return _matmul(input, other)
    except AttributeError:
        pass
    _same_dtype(input, other, "both arguments to matmul") if input.dtype is not other.dtype else None
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {input.ndim}D and "
                           f"{other.ndim}D")
    a = input.shape[-1]
    b = other.shape[-2] if other.ndim > 1 else other.shape[0]
    if a != b:
        if input.ndim == 1 and other.ndim == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a}] and src [{b}] to have the same "
                               "number of elements, but got {a} and {b} elements respectively")
        ash = "x".join(map(str, input.shape if input.ndim > 1 else (1, a)))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({ash[:] if input.ndim == 2 else _flat2(input)} and "
                           f"{'x'.join(map(str, other.shape)) if other.ndim == 2 else _flat2(other, True)})")
    if len(_MATMUL_OK) > 4096:
        _MATMUL_OK.clear()
    _MATMUL_OK.add((input._shape_dtype(), other._shape_dtype()))
    return _matmul(input, other)


_MATMUL_OK = set()  # ((shape, dtype), (shape, dtype)) pairs that passed matmul's checks


def _flat2(t, right=False):
    if t.ndim == 1:
        return f"{t.shape[0]}x1" if right else f"1x{t.shape[0]}"
    lead = 1
    for s in t.shape[:-1]:
        lead *= s
    return f"{lead}x{t.shape[-1]}"


@function
def mm(input, mat2):
    if input.ndim != 2:
        raise RuntimeError(f"self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix")
    _same_dtype(input, mat2, "self and mat2")
    return matmul(input, mat2)


def _check_bmm(input, mat2):
    if input.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError(f"batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    _same_dtype(input, mat2, "batch1 and batch2")


@function
def bmm(input, mat2):
    _check_bmm(input, mat2)
    res = _matmul(input, mat2)
    if res._grad_fn is not None:
        from ..autograd.graph import rename
        rename(res._grad_fn, "BmmBackward0")  # torch.bmm is one node (matmul's batched form is several)
    return res


@function
def mv(input, vec):
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x{input.shape[1]}), "
                           f"vec ({vec.shape[0]})")
    return matmul(input, vec)


@function
def inner(input, other):
    """Sum over the last dimensions (a product when either is 0-dim), like torch.inner."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    from .._dispatch import REGISTRY
    return REGISTRY["tensordot"](input, other, dims=([input.ndim - 1], [other.ndim - 1]))


@function
def dot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           f"to have the same number of elements, but got {input.shape[0]} and {other.shape[0]} "
                           "elements respectively")
    _same_dtype(input, other, "self and other")
    return _matmul(input, other)


def _int_scalars(input, beta, alpha):
    """torch truncates float alpha/beta to the integer type of integral inputs (addmm, addmv, baddbmm)."""
    if input.dtype.is_floating_point or input.dtype.is_complex:
        return beta, alpha
    return (int(beta) if isinstance(beta, float) else beta), (int(alpha) if isinstance(alpha, float) else alpha)


@defop(method=False, function=False, dynamic=("beta", "alpha"))
def _addmm(input, mat1, mat2, beta=1, alpha=1, reduce_batch=False):
    # half types: the product, its scaling and the sum with input in float32, rounded once (torch's epilogue)
    if reduce_batch and _acc_type(mat1) is not None and mat1.shape[0]:
        return _addbmm_half(input, mat1, mat2, beta, alpha)
    prod = jnp.matmul(mat1, mat2, precision=_hi(mat1), preferred_element_type=_acc_type(mat1))
    if reduce_batch:
        prod = prod.sum(0)
    prod = (alpha * prod).astype(prod.dtype)
    # beta == 0: input is ignored (its nan and inf do not propagate)
    out = jnp.where(beta == 0, jnp.zeros((), prod.dtype), beta * input.astype(prod.dtype)).astype(prod.dtype) + prod
    return out.astype(mat1.dtype)


def _addbmm_half(input, batch1, batch2, beta, alpha):
    """addbmm of half types as torch's CPU kernel: one addmm per batch into the result, each rounded to the
    half type (beta scales the input in the first only)."""
    f, h = jnp.float32, batch1.dtype

    def prod(b1, b2):
        return alpha * jnp.matmul(b1, b2, precision=_hi(b1), preferred_element_type=f)
    shape = batch1.shape[1:2] + batch2.shape[2:]
    # beta == 0: input ignored (its nan and inf do not propagate)
    first = jnp.where(beta == 0, jnp.zeros((), f), beta * jnp.broadcast_to(input.astype(f), shape))
    r = round_to(first + prod(batch1[0], batch2[0]), h)
    r = jax.lax.scan(lambda r, bb: (round_to(r + prod(*bb), h), None), r, (batch1[1:], batch2[1:]))[0]
    return r.astype(h)


def _check_input_dtype(input, other, name):
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{name}: expected {_NAMES.get(input.dtype._name, input.dtype._name)} input but got "
                           f"{_NAMES.get(other.dtype._name, other.dtype._name)}")


@function(inplace=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    mm(mat1, mat2) if mat1.ndim != 2 or mat2.ndim != 2 else None
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    _same_dtype(mat1, mat2)
    _same_dtype(input, mat1, "self and mat2")
    beta, alpha = _int_scalars(mat1, beta, alpha)
    return _addmm(input, mat1, mat2, beta, alpha)


@function(inplace=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    _check_bmm(batch1, batch2)  # (checks only: no product computed and thrown away)
    _same_dtype(input, batch1, "self and batch1")
    beta, alpha = _int_scalars(batch1, beta, alpha)
    return _addmm(input, batch1, batch2, beta, alpha)


@function(inplace=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    _check_bmm(batch1, batch2)
    _same_dtype(input, batch1, "self and batch1")
    beta, alpha = _int_scalars(batch1, beta, alpha)
    return _addmm(input, batch1, batch2, beta, alpha, reduce_batch=True)


@function(inplace=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    mv(mat, vec)
    _same_dtype(mat, vec, "mat and vec")
    _same_dtype(input, mat, "self and mat")
    beta, alpha = _int_scalars(mat, beta, alpha)
    return _addmm(input, mat, vec, beta, alpha)


@function(inplace=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.ndim}-D" if vec1.ndim != 1 else
                           f"addr: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    import jtorch
    dt = jtorch.promote_types(jtorch.promote_types(input.dtype, vec1.dtype), vec2.dtype)
    o = outer(vec1, vec2)
    shape = jtorch.broadcast_shapes(input.shape, o.shape)
    if dt is jtorch.bool:  # logical: any non-zero scalar is True
        o = o if alpha else jtorch.zeros_like(o)
        return (o.logical_or(input) if beta else o.logical_or(jtorch.zeros(shape, dtype=dt)))
    if not (dt.is_floating_point or dt.is_complex):
        for nm, v in (("beta", beta), ("alpha", alpha)):
            if isinstance(v, float):
                raise RuntimeError(f"For integral input tensors, argument {nm} must not be a floating point number.")
    if dt in (jtorch.float16, jtorch.bfloat16):
        return _addr_half(input.to(dt), vec1.to(dt), vec2.to(dt), beta, alpha, skip_input=beta == 0)
    prod = o * alpha
    if beta == 0:  # input ignored: its nan and inf do not propagate
        return jtorch.zeros(shape, dtype=dt) + prod.to(dt)
    return input * beta + prod


@defop(method=False, function=False, dynamic=("beta", "alpha"))
def _addr_half(input, vec1, vec2, beta=1, alpha=1, skip_input=False):
    # torch's CPU kernel in the half type: beta and alpha rounded to it, then every product and the sum
    # rounded (beta * input + (alpha * vec1) * vec2)
    h = vec1.dtype
    f = jnp.float32
    al, be = round_to(jnp.asarray(alpha, f), h), round_to(jnp.asarray(beta, f), h)
    prod = round_to(round_to(al * vec1.astype(f)[:, None], h) * vec2.astype(f)[None, :], h)
    if skip_input:  # beta == 0: input ignored (its nan and inf do not propagate)
        out = jnp.broadcast_to(prod, jnp.broadcast_shapes(input.shape, prod.shape))
    else:
        out = round_to(be * input.astype(f), h) + prod
    return out.astype(h)


@defop(aliases=("ger",), promote="common", tensors=("input", "vec2"))
def outer(input, vec2):
    return jnp.outer(input, vec2)

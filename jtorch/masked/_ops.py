"""The masked operations of torch.masked, written with jtorch's public ops (so autograd comes with them).

A masked operation first replaces the masked-out elements of the input by the identity of the
reduction (0 for sum, 1 for prod, -inf for amax, ...) and then runs the ordinary operation. A slice
with every element masked out therefore gives that identity (sum 0, amax -inf), except where no
identity exists (mean, var, std, median): there it gives nan. Masked-out positions get no gradient.
"""
import builtins
import math

from .. import _dtype as D

_SMALL_INTS = (D.uint8, D.bool, D.int8, D.int16, D.int32)


def _jt():
    import jtorch
    return jtorch


def _dims(dim, ndim):
    """``dim`` as a sorted tuple of non-negative dims; None or () means every dim (torch.masked's convention)."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    n = builtins.max(ndim, 1)
    out = []
    for d in ((dim,) if isinstance(dim, int) else dim):
        if d in out or (d % n if -n <= d < n else None) in out:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        out.append(d % n)
    return tuple(sorted(out))


def _input_mask(input, mask):
    """``mask`` as a bool tensor of the input's shape (broadcast; a mask of more dims than the input is an error)."""
    jt = _jt()
    if not isinstance(mask, jt.Tensor):
        mask = jt.tensor(mask)
    if tuple(mask.shape) != tuple(input.shape):
        if mask.ndim > input.ndim:
            raise IndexError("_input_mask expected broadcastable mask (got mask dimensionality higher than of "
                             "the input)")
        mask = jt.broadcast_to(mask, input.shape)
    return mask.to(D.bool)


def _identity(op, dtype, ord=None):
    """The value that leaves ``op`` unchanged when added to its operands, or None where there is none."""
    if op == "sum":
        return 0
    if op == "prod":
        return 1
    if op == "logsumexp":  # exp(-inf) = 0 adds nothing (complex: -inf + 0j)
        if dtype.is_floating_point or dtype.is_complex:
            return -math.inf
        op = "amax"
    if op in ("amax", "amin"):
        if dtype.is_floating_point:
            return -math.inf if op == "amax" else math.inf
        if dtype in (D.bool,) or dtype.is_complex:
            return None
        info = D.iinfo(dtype)
        return info.min if op == "amax" else info.max
    if op == "norm":
        return math.inf if ord == -math.inf else 0
    if op == "median":
        return math.nan
    raise NotImplementedError(op)


def _fill(op, input, mask, ord=None):
    """``input`` with its masked-out elements replaced by the identity of ``op`` (unchanged when mask is None)."""
    if mask is None:
        return input
    jt = _jt()
    m = _input_mask(input, mask)
    v = _identity(op, input.dtype, ord)
    if v is None:
        raise NotImplementedError(f"identity of {op} on {input.dtype} input")
    return jt.where(m, input, jt.tensor(v, dtype=input.dtype, device=input.device))


def _sum_dtype(input, dtype):
    if dtype is not None:
        return D.to_dtype(dtype)
    return D.int64 if input.dtype in _SMALL_INTS else input.dtype


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = _sum_dtype(input, dtype)
    dims = _dims(dim, input.ndim)
    x = _fill("sum", input, mask)
    if not dims:
        return x.to(dtype)  # a 0-dim input, or a dim list over nothing: the (cast) input itself
    return _jt().sum(x, dims, keepdim=bool(keepdim), dtype=dtype)


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = _sum_dtype(input, dtype)
    dims = _dims(dim, input.ndim)
    r = _fill("prod", input, mask).to(dtype)
    for d in reversed(dims):
        r = r.prod(dim=d, keepdim=bool(keepdim))
    return r


def cumsum(input, dim, *, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    d = _dims(dim, input.ndim)[0]
    return _jt().cumsum(_fill("sum", input, mask), d, dtype=dtype).to(dtype)


def cumprod(input, dim, *, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    d = _dims(dim, input.ndim)[0]
    return _jt().cumprod(_fill("prod", input, mask), d, dtype=dtype).to(dtype)


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    x = _fill("amax", input, mask)
    return _jt().amax(x, _dims(dim, x.ndim), bool(keepdim)).to(dtype)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    x = _fill("amin", input, mask)
    return _jt().amin(x, _dims(dim, x.ndim), bool(keepdim)).to(dtype)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    return _jt().argmax(_fill("amax", input, mask), dim, bool(keepdim)).to(dtype)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    return _jt().argmin(_fill("amin", input, mask), dim, bool(keepdim)).to(dtype)


def _count(input, dim, keepdim, mask):
    """How many elements of each reduced slice are masked in (int64)."""
    jt = _jt()
    if mask is None:
        return sum(jt.ones(input.shape, dtype=D.int64, device=input.device), dim, keepdim=keepdim)
    return sum(_input_mask(input, mask), dim, keepdim=keepdim)


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    source = "Input" if dtype is None else "Optional"
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        raise ValueError(f"mean(): Could not infer output dtype. {source} dtype must be either a floating point "
                         f"or complex dtype. Got: {dtype}")
    total = sum(input, dim, keepdim=keepdim, dtype=dtype, mask=mask)
    return total / _count(input, dim, keepdim, mask)  # 0/0 = nan for a fully masked-out slice


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    d = _dims(dim, input.ndim)[0]
    is_float = input.is_floating_point()
    x = input if is_float else input.to(D.float32)
    out = _jt().nanmedian(_fill("median", x, mask), d, keepdim).values
    if is_float:
        return out
    if bool(out.isnan().any()):
        raise ValueError("masked median expects no fully masked out rows if dtype is not floating point")
    return out.to(dtype)


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    return _jt().logsumexp(_fill("logsumexp", input, mask), _dims(dim, input.ndim), keepdim=keepdim).to(dtype)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    return _jt().logaddexp(_fill("amax", input, input_mask), _fill("amax", other, other_mask)).to(dtype)


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    if mask is not None and ord == -math.inf and not input.is_floating_point():
        raise AssertionError(f"input must be floating point, got {input.dtype}")
    x = _fill("norm", input, mask, ord)
    return _jt().linalg.vector_norm(x, ord, _dims(dim, input.ndim), bool(keepdim), dtype=dtype)


def _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt):
    jt = _jt()
    if unbiased is not None and correction is not None:
        raise AssertionError("Only one of unbiased and correction may be given")
    c = 1.0 if unbiased is None else 1.0 if unbiased else 0.0
    if correction is not None:
        c = float(correction)
    if dtype is None:
        dtype = input.dtype if input.dtype.is_floating_point or input.dtype.is_complex else D.float32
    dtype = D.to_dtype(dtype)
    compute = dtype if dtype.is_floating_point or dtype.is_complex else D.float32
    count = _count(input, dim, True, mask)
    centered = input - sum(input, dim, keepdim=True, dtype=dtype, mask=mask) / count
    total = sum(centered * centered.conj(), dim, keepdim=keepdim, dtype=compute, mask=mask)
    if not keepdim:
        count = count.reshape(total.shape)
    if c != 0:
        real = compute.to_real() if compute.is_complex else compute
        count = jt.clamp_min(count.to(real) - c, 0)
    out = (total / count).to(dtype)
    return out.sqrt() if take_sqrt else out


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, False)


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, True)


def softmax(input, dim, *, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    d = _dims(dim, input.ndim)[0]
    return _jt().nn.functional.softmax(_fill("amax", input, mask), d, dtype=dtype)


def log_softmax(input, dim, *, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    d = _dims(dim, input.ndim)[0]
    return _jt().nn.functional.log_softmax(_fill("amax", input, mask), d, dtype=dtype)


def softmin(input, dim, *, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    d = _dims(dim, input.ndim)[0]
    return _jt().nn.functional.softmin(_fill("amin", input, mask), d, dtype=dtype)


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    dtype = input.dtype if dtype is None else D.to_dtype(dtype)
    nrm = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return _fill("sum", input, mask) / _jt().clamp_min(nrm, eps)

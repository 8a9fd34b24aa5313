"""Tensor contractions and small array-combinators built on them: einsum, tensordot,
kron, cdist, diff, trapezoid, cov/corrcoef, renorm, vander, combinations.

torch never promotes in einsum/tensordot (mixed dtypes raise); kron and diff follow
the usual promotion. Arguments are normalised to static canonical values here so the
jit cache key is stable.
"""
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from .._dispatch import defop, function, round_to
from .linalg_ops import _type_name, _vnorm
from .loss_ops import concrete_min_max

_HI = jax.lax.Precision.HIGHEST


# ---------------------------------------------------------------- einsum
@defop(seq=True, method=False, function=False)
def _einsum(operands, equation=""):
    # half types: one contraction (or a lone operand's sum) accumulates in float32 and rounds once, as
    # torch's bmm and sum do; more operands stay jnp's pairwise contractions in the half type
    if operands and operands[0].dtype in (jnp.float16, jnp.bfloat16):
        if len(operands) <= 2:
            return jnp.einsum(equation, *operands, precision=_HI,
                              preferred_element_type=jnp.float32).astype(operands[0].dtype)
    return jnp.einsum(equation, *operands, precision=_HI)


def _operands_with_another_requiring_grad(operands, flags, statics):
    # torch contracts pairwise (mul, bmm): an operand is kept when the other side needs a gradient; a lone
    # operand (a sum, a diagonal) is not kept
    return [j for j in range(len(flags)) if any(f for k, f in enumerate(flags) if k != j)]


_einsum.saves_seq = _operands_with_another_requiring_grad


def _einsum_check(equation, ops):
    lhs = equation.split("->")[0]
    terms = lhs.split(",")
    if len(terms) > len(ops):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(ops):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    sizes = {}
    for k, (term, t) in enumerate(zip(terms, ops)):
        letters = term.replace("...", "")
        nd = t.ndim
        if "..." not in term and len(letters) != nd:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(letters)}) does not match "
                               f"the number of dimensions ({nd}) for operand {k} and no ellipsis was given")
        if "..." in term:
            pre, post = term.split("...")
            dims = list(zip(pre, t.shape[:len(pre)])) + list(zip(post, t.shape[nd - len(post):] if post else ()))
        else:
            dims = list(zip(term, t.shape))
        for c, s in dims:
            prev = sizes.get(c)
            if prev is not None and prev != s and s != 1 and prev != 1:
                raise RuntimeError(f"einsum(): subscript {c} has size {s} for operand {k} which does not broadcast "
                                   f"with previously seen size {prev}")
            if prev is None or prev == 1:
                sizes[c] = s
    for t in ops[1:]:
        if t.dtype is not ops[0].dtype:
            raise RuntimeError(f"expected scalar type {_type_name(ops[0])} but found {_type_name(t)}")


_SUBSCRIPTS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _sublist_term(sub):
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
        elif isinstance(s, int) and 0 <= s < len(_SUBSCRIPTS):
            out.append(_SUBSCRIPTS[s])
        else:
            raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
    return "".join(out)


def _from_sublists(args):
    """einsum(op1, sublist1, op2, sublist2, ..., [sublist_out]): the equation spelled as integer lists."""
    operands = list(args[0::2][:len(args) // 2])
    terms = [_sublist_term(sub) for sub in args[1::2]]
    equation = ",".join(terms)
    if len(args) % 2:
        equation += "->" + _sublist_term(args[-1])
    return equation, tuple(operands)


@function(method=False)
def einsum(equation, *operands):
    from ..tensor import Tensor
    if isinstance(equation, Tensor):  # the sublist form
        equation, operands = _from_sublists((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    equation = equation.replace(" ", "")
    _einsum_check(equation, operands)
    if len(operands) == 1:
        view = _einsum_view(equation, operands[0])
        if view is not None:
            return view
    operands = list(operands)
    if operands and not (operands[0].dtype.is_floating_point or operands[0].dtype.is_complex):
        operands = _einsum_integer_operands(equation, operands)
    return _einsum(operands, equation=equation)


def _einsum_view(equation, x):
    """A lone operand none of whose labels is summed: torch's einsum gives a view of it (the diagonal of each
    repeated label, then a permutation); None where a label is summed."""
    lhs, arrow, rhs = equation.partition("->")

    def labels(term, n_ellipsis):
        pre, dots, post = term.partition("...")
        return list(pre) + [("...", k) for k in range(n_ellipsis if dots else 0)] + list(post)
    n_ellipsis = x.ndim - len(lhs.replace("...", ""))
    cur = labels(lhs, n_ellipsis)
    if arrow:
        out = labels(rhs, n_ellipsis)
    else:  # implicit: the ellipsis, then the labels seen once, sorted
        out = [c for c in cur if isinstance(c, tuple)] + sorted(c for c in set(cur) if isinstance(c, str) and
                                                               cur.count(c) == 1)
    if set(cur) != set(out) or len(set(out)) != len(out):
        return None
    y = x
    for lab in dict.fromkeys(cur):
        while cur.count(lab) > 1:
            i = cur.index(lab)
            j = cur.index(lab, i + 1)
            y = y.diagonal(0, i, j)  # (the diagonal goes last)
            cur = [c for k, c in enumerate(cur) if k not in (i, j)] + [lab]
    return y.permute(tuple(cur.index(c) for c in out))


def _einsum_integer_operands(equation, ops):
    """torch's einsum first sums each operand over the labels only it has (and the output lacks) with ``sum``,
    which gives int64 for integer and bool tensors; the partial results are then combined left to right, by
    ``mul`` (promoting) where a pair shares no summed label, else by ``bmm`` (equal dtypes required, no bool).
    The operands cast so jtorch's result has torch's dtype, or torch's error for a mixed or bool pair."""
    import jtorch
    lhs, _, out = equation.partition("->")
    terms = [set(t.replace("...", ".")) for t in lhs.split(",")]
    if "->" not in equation:  # implicit output: labels seen once, and the ellipsis
        counts = {}
        for c in lhs.replace("...", ".").replace(",", ""):
            counts[c] = counts.get(c, 0) + 1
        out = {c for c, n in counts.items() if n == 1 or c == "."}
    else:
        out = set(out.replace("...", "."))
    dts = []
    for i, t in enumerate(terms):
        others = set().union(*(terms[:i] + terms[i + 1:]))
        dts.append(jtorch.int64 if t - out - others else ops[i].dtype)
    acc, labels = dts[0], terms[0]
    for i in range(1, len(ops)):
        later = set().union(*terms[i + 1:])
        contracted = (labels & terms[i]) - out - later
        if contracted and acc is jtorch.bool and dts[i] is jtorch.bool:
            raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
        if contracted and acc is not dts[i]:
            raise RuntimeError(f"expected scalar type {_TYPE_NAMES.get(acc._name, acc._name)} but found "
                               f"{_TYPE_NAMES.get(dts[i]._name, dts[i]._name)}")
        acc = jtorch.promote_types(acc, dts[i])
        labels = labels | terms[i]
    if acc is jtorch.int64 and any(t.dtype is not acc for t in ops):
        return [t.to(acc) for t in ops]
    return ops


_TYPE_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


# ---------------------------------------------------------------- tensordot / kron
@defop(method=False, function=False)
def _tensordot(a, b, dims=((), ())):
    return jnp.tensordot(a, b, axes=dims, precision=_HI)


@function(method=False)
def tensordot(a, b, dims=2):
    from ..tensor import Tensor
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype is not b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if a.dtype._name == "bool":  # torch runs every tensordot as a matrix product, which has no bool kernel
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    da = [d % a.ndim for d in da]
    db = [d % b.ndim for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y] and a.shape[x] == 1:  # a size-1 dim broadcasts: sum the other side
            b = b.sum(y, keepdim=True, dtype=b.dtype)
        elif a.shape[x] != b.shape[y] and b.shape[y] == 1:
            a = a.sum(x, keepdim=True, dtype=a.dtype)
        elif a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} and "
                               f"second has size {b.shape[y]} in dim {y}")
    return _tensordot(a, b, dims=(tuple(da), tuple(db)))


@defop(promote="common", saves=(), saves_hidden=True, tensors=("input", "other"))
def kron(input, other):
    if input.dtype == jnp.bool_:  # XLA has no bool multiply: and is the product of bools
        return jnp.kron(input.astype(jnp.uint8), other.astype(jnp.uint8)).astype(jnp.bool_)
    return jnp.kron(input, other)


# ---------------------------------------------------------------- cdist
@defop(method=False, function=False, saves_result=True)
def _cdist(x1, x2, p=2.0):
    d = x1[..., :, None, :] - x2[..., None, :, :]
    return _vnorm(p, -1, False)(d)


@function(method=False)
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    if not x1.dtype.is_floating_point:
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {_type_name(x1)}")
    if not x2.dtype.is_floating_point:
        raise RuntimeError(f"cdist only supports floating-point dtypes, X2 got: {_type_name(x2)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    return _cdist(x1, x2, p=float(p))


# ---------------------------------------------------------------- combinatorics
@function(method=False)
def cartesian_prod(*tensors):
    if len(tensors) == 1:
        return tensors[0]
    from .._dispatch import REGISTRY
    for t in tensors[1:]:
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    grids = REGISTRY["meshgrid"](*tensors, indexing="ij")
    return REGISTRY["stack"]([g.reshape(-1) for g in grids], 1)


@defop(method=False, function=False, saves=())
def _take_rows(input, idx=()):
    return input[np.asarray(idx, np.int64).reshape(-1)].reshape(np.shape(idx))


@function(method=False)
def combinations(input, r=2, with_replacement=False):
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        from .creation import empty
        return empty(0, dtype=input.dtype)
    gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = tuple(gen(range(input.shape[0]), r))
    if not idx:  # taken from the input: in its autograd graph, as torch's is
        return input[:0].reshape(0, r).clone()
    return _take_rows(input, idx=idx)


@defop(method=False, function=False)
def _vander(x, N=1, increasing=False):
    p = jnp.arange(N) if increasing else jnp.arange(N - 1, -1, -1)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.int64)
    return x[:, None] ** p.astype(x.dtype)


@function(method=False)
def vander(x, N=None, increasing=False):
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is not None and N < 0:
        raise RuntimeError("N must be non-negative.")
    return _vander(x, N=x.shape[0] if N is None else int(N), increasing=bool(increasing))


# ---------------------------------------------------------------- differences and integrals
def _dim(d, ndim):
    from .reduction import _dims
    return _dims(d, ndim)[0]


@defop(method=False, function=False, promote=None, saves=())
def _diff(input, n=1, dim=-1):
    if input.dtype == jnp.bool_:
        for _ in range(n):
            input = jnp.logical_xor(jax.lax.slice_in_dim(input, 1, None, axis=dim),
                                    jax.lax.slice_in_dim(input, 0, -1, axis=dim))
        return input
    return jnp.diff(input, n=n, axis=dim)


@function
def diff(input, n=1, dim=-1, prepend=None, append=None):
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    from .._dispatch import REGISTRY
    d = _dim(dim, input.ndim)
    parts = [t for t in (prepend, input, append) if t is not None]
    if len(parts) > 1:
        parts = [t if t.ndim else t.expand(tuple(input.shape[:d]) + (1,) + tuple(input.shape[d + 1:])) for t in parts]
        input = REGISTRY["cat"](parts, d)
    if n == 0:
        return input.clone()
    return _diff(input, n=int(min(n, input.shape[d])), dim=d)


@defop(method=False, function=False, promote="float", dynamic=("dx",), saves=())
def _trapz_dx(y, dx=1.0, dim=-1):
    if y.shape[dim] == 0:
        return jnp.sum(y, axis=dim)
    return (jnp.sum(y, axis=dim) - (jnp.take(y, 0, axis=dim) + jnp.take(y, -1, axis=dim)) / 2) * dx


@defop(method=False, function=False, promote="float", saves=(), saves_hidden=True)
def _trapz_x(y, x, dim=-1):
    if x.ndim == 1:
        x = x.reshape((-1,) + (1,) * (y.ndim - dim - 1))
    dx = jnp.diff(x, axis=-1 if x.ndim == 1 else dim)
    a = jax.lax.slice_in_dim(y, 1, None, axis=dim) + jax.lax.slice_in_dim(y, 0, -1, axis=dim)
    return jnp.sum(dx * a, axis=dim) / 2


def _trapz_args(y, x, dx, dim, name):
    from ..tensor import Tensor
    d = _dim(dim, y.ndim)
    if isinstance(x, Tensor):
        if y.dtype._cat == 0 or x.dtype._cat == 0:
            raise RuntimeError(f"{name}: received a bool input for `x` or `y`, but bool is not supported")
        if x.ndim != 1 and x.ndim != y.ndim:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        if (x.shape[0] if x.ndim == 1 else x.shape[d]) != y.shape[d]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        return d, x, None
    if y.dtype._cat == 0:
        raise RuntimeError(f"{name}: received a bool input for `y`, but bool is not supported")
    if x is not None:
        dx = x
    return d, None, 1.0 if dx is None else dx


def _steps(x, d, ndim):
    """x's differences along the integration dim, in x's own type (integer steps wrap, as torch's), shaped to
    broadcast against y's neighbour sums."""
    step = x.diff(dim=-1 if x.ndim == 1 else d)
    return step.reshape((-1,) + (1,) * (ndim - d - 1)) if x.ndim == 1 else step


@function(method=False, tensors=("y", "x"))
def trapezoid(y, x=None, *, dx=None, dim=-1):
    d, x, dx = _trapz_args(y, x, dx, dim, "trapezoid")
    if y.shape[d] == 0:  # torch: zeros of y's own type, whatever x is
        return y.sum(d).to(y.dtype)
    if y.dtype._cat == 1 or (x is not None and x.dtype._cat == 1):
        # torch works step by step in the operands' types: neighbour sums of integer y and steps of integer x
        # wrap; the products sum to int64, halved into the default float type
        n = y.shape[d] - 1
        ends = y.narrow(d, 0, 1).squeeze(d) + y.narrow(d, n, 1).squeeze(d)
        if x is None:
            return (y.sum(d) - ends * 0.5) * dx
        return (_steps(x, d, y.ndim) * (y.narrow(d, 1, n) + y.narrow(d, 0, n))).sum(d) / 2.0
    if x is not None:
        if x.ndim == 1:
            yy = y.movedim(d, -1)
            return _trapz_x(yy, x, dim=yy.ndim - 1)
        return _trapz_x(y, x, dim=d)
    return _trapz_dx(y, dx, dim=d)


@function(method=False, tensors=("y", "x"))
def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


@defop(method=False, function=False, promote="float", dynamic=("x", "dx"), saves=(), saves_hidden=True)
def _cumtrapz(y, x=None, dx=1.0, dim=-1, summed=False):
    # summed: y holds the neighbour sums already (integer operands, added in their own type as torch does)
    if y.shape[dim] == 0:  # an empty result of the promoted type
        return y if x is None else y * jnp.zeros((), x.dtype)
    a = y if summed else jax.lax.slice_in_dim(y, 1, None, axis=dim) + jax.lax.slice_in_dim(y, 0, -1, axis=dim)
    if x is not None:
        step = jnp.diff(x, axis=-1 if x.ndim == 1 else dim)
        if x.ndim == 1:
            step = step.reshape((-1,) + (1,) * (y.ndim - dim - 1))
    else:
        step = dx
    return jnp.cumsum(a * step / 2, axis=dim)


@function(method=False, tensors=("y", "x"))
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    d, x, dx = _trapz_args(y, x, dx, dim, "cumulative_trapezoid")
    dx = 1.0 if dx is None else dx
    int_y, int_x = y.dtype._cat == 1, x is not None and x.dtype._cat == 1
    if (int_y or int_x) and y.shape[d] > 0:
        # torch adds neighbours in y's type (uint8 sums wrap) and takes integer x's steps in x's type (they
        # wrap too, and so does their product with integer sums) before the division by 2
        n = y.shape[d] - 1
        s = y.narrow(d, 1, n) + y.narrow(d, 0, n)
        if int_x:
            return _cumtrapz(s * _steps(x, d, y.ndim), None, 1.0, dim=d, summed=True)
        return _cumtrapz(s, x, dx, dim=d, summed=True)
    return _cumtrapz(y, x, dx, dim=d)


# ---------------------------------------------------------------- statistics
@defop(method=False, function=False, promote="float", dynamic=("fweights", "aweights"),
       promote_args=("input", "aweights"))  # torch: the result type of input and aweights
def _cov(input, fweights=None, aweights=None, correction=1):
    x = input if input.ndim == 2 else input[None, :]
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights.astype(x.dtype)
    if aweights is not None:
        w = aweights.astype(x.dtype) if w is None else w * aweights
    if w is None:
        wsum = jnp.asarray(n, x.dtype)
        avg = jnp.mean(x, axis=1)
    else:
        wsum = jnp.sum(w)
        avg = jnp.sum(x * w, axis=1) / wsum
    if w is None:
        norm = wsum - correction
    elif correction == 0 or aweights is None:
        norm = wsum - correction
    else:
        norm = wsum - correction * jnp.sum(w * aweights) / wsum
    norm = jnp.maximum(norm, 0)
    xm = x - avg[:, None]
    xw = xm if w is None else xm * w
    c = jnp.matmul(xw, jnp.conj(xm).T, precision=_HI) / norm
    return c[0, 0] if input.ndim < 2 else c


@function
def cov(input, *, correction=1, fweights=None, aweights=None):
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    for name, w in (("fweights", fweights), ("aweights", aweights)):
        if w is not None:
            if w.ndim > 1:
                raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                                   f"{w.ndim} dimensions")
            n = input.shape[-1] if input.ndim else 1
            if w.numel() != n:
                raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                                   f"input but got {w.numel()} != {n}")
    if fweights is not None and fweights.dtype.is_floating_point:
        raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                           f"{_type_name(fweights)} dtype")
    if aweights is not None and not aweights.dtype.is_floating_point:
        raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                           f"{_type_name(aweights)} dtype")
    for name, w in (("fweights", fweights), ("aweights", aweights)):
        mm = None if w is None or w.numel() == 0 else concrete_min_max(w)  # (values unread while traced)
        if mm is not None and mm[0] < 0:
            raise RuntimeError(f"cov(): {name} cannot be negative")
    return _cov(input, fweights, aweights, correction=int(correction))


@defop(method=False, function=False, promote="float")
def _corrcoef(input):
    x = input if input.ndim == 2 else input[None, :]
    xm = x - jnp.mean(x, axis=1, keepdims=True)
    c = jnp.matmul(xm, jnp.conj(xm).T, precision=_HI) / (x.shape[1] - 1)
    if input.ndim < 2:
        return c[0, 0] / c[0, 0]
    d = jnp.sqrt(jnp.real(jnp.diagonal(c)))
    c = c / d[:, None] / d[None, :]
    if jnp.iscomplexobj(c):
        return jnp.clip(c.real, -1, 1) + 1j * jnp.clip(c.imag, -1, 1)
    return jnp.clip(c, -1, 1)


@function
def corrcoef(input):
    if input.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    r = _corrcoef(input)
    return r.reshape(()) if input.ndim < 2 or input.shape[0] == 1 else r  # one variable: a 0-dim coefficient, like torch


@defop(method=False, function=False, dynamic=("p", "maxnorm"))
def _renorm(input, p, maxnorm, dim=0):
    axes = tuple(i for i in range(input.ndim) if i != dim)
    half = input.dtype if input.dtype in (jnp.float16, jnp.bfloat16) else None
    if half is not None:
        # torch: the norms accumulate in float32 into a half tensor, the factor computed from it and rounded
        # to the half type, then one rounded product
        x = input.astype(jnp.float32)
        n = round_to(_renorm_norm(jnp.abs(x), p, axes), half)
        scale = round_to(jnp.where(n > maxnorm, maxnorm / (n + 1e-7), 1.0), half)
        return (x * scale).astype(half)
    n = _renorm_norm(jnp.abs(input), p, axes)
    # torch treats the scale factor as a constant w.r.t. the norm only where no clipping happens
    scale = jnp.where(n > maxnorm, maxnorm / (n + 1e-7), 1.0)
    return input * scale.astype(input.dtype)


def _renorm_norm(a, p, axes):
    pf = jnp.where(jnp.isinf(p), 1.0, p)  # p=inf: the max, without inf powers in the unused branch
    return jnp.where(jnp.isinf(p), jnp.max(a, axis=axes, keepdims=True),
                     jnp.sum(a ** pf, axis=axes, keepdims=True) ** (1.0 / pf))


@function(inplace=True)
def renorm(input, p, dim, maxnorm):
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(f"renorm: expected a floating point or complex tensor, got {_type_name(input)}")
    return _renorm(input, p, maxnorm, dim=_dim(dim, input.ndim))

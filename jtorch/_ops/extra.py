"""Ops written with other ops: complex numbers, splits, *_scatter and *_copy variants, isin, windows,
histogram, index_reduce, ... (each as jtorch.X and, where torch has one, Tensor.X)."""
import builtins
import collections
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dispatch, _dtype as D
from .._dispatch import REGISTRY, METHODS, defop, function, export
from . import reduction as _reduction
from .dtype_views import jax_complex
from .shape import _narrow_not_0dim, _narrowed, _sections_or_indices


def _T():
    from ..tensor import Tensor
    return Tensor


def _jt():
    import jtorch
    return jtorch


# ---------------------------------------------------------------- complex numbers
@function
def vdot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"vdot : expected both vectors to have same dtype, but found {str(input.dtype)[6:].title()}"
                           f" and {str(other.dtype)[6:].title()}")
    return REGISTRY["dot"](input.conj() if input.dtype.is_complex else input, other)


@defop(method=False, function=False)
def _complex(real, imag):
    return jax_complex(real, imag)


@function(method=False)
def complex(real, imag, *, out=None):
    name = D.scalar_type_name
    if real.dtype is not imag.dtype:
        raise RuntimeError(f"Expected object of scalar type {name(real.dtype)} but got scalar type "
                           f"{name(imag.dtype)} for second argument")
    if real.dtype not in (D.float32, D.float64, D.float16):
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{name(real.dtype)} and {name(imag.dtype)}")
    r = _complex(real, imag)
    if real.dtype is D.float16:  # torch's complex of float16 parts is complex32 (exact: the parts are float16)
        r = r.to(D.complex32)
    if out is None:
        return r
    if out.dtype is not r.dtype:
        raise RuntimeError(f"Expected object of scalar type {name(r.dtype)} but got scalar type {name(out.dtype)} "
                           "for argument 'out'")
    return _dispatch._write_out(out, r)


@function(method=False)
def polar(abs, angle, *, out=None):
    if abs.dtype is not angle.dtype:
        raise RuntimeError(f"Expected object of scalar type {D.scalar_type_name(abs.dtype)} but got scalar type "
                           f"{D.scalar_type_name(angle.dtype)} for second argument")
    return complex(abs * angle.cos(), abs * angle.sin(), out=out)


@function(tensors=("input",))
def resolve_conj(input):
    return input  # jtorch's conj() materialises: there is never a lazy conjugate bit


@function(tensors=("input",))
def resolve_neg(input):
    return input


@function
def is_conj(input):
    return False


@function
def is_neg(input):
    return False


@function
def adjoint(input):
    return input.mH


# ---------------------------------------------------------------- splits
def _split_dim(input, indices_or_sections, dim, name, min_dim):
    if input.ndim < min_dim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} dimension"
                           f"{'s' if min_dim > 1 else ''}, but got a tensor with {input.ndim} dimensions!")
    if getattr(indices_or_sections, "ndim", 0):  # (a tensor of indices is tensor_split's alone)
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, Tensor), but "
                        "expected an int or a sequence of ints")
    indices_or_sections = _sections_or_indices(indices_or_sections, name)
    if isinstance(indices_or_sections, int) and (indices_or_sections == 0 or
                                                 input.shape[dim] % indices_or_sections):
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input.shape[dim]} is not divisible by the split_size {indices_or_sections}!")
    return REGISTRY["tensor_split"](input, indices_or_sections, dim)


@function
def hsplit(input, indices_or_sections):
    return _split_dim(input, indices_or_sections, 1 if input.ndim > 1 else 0, "hsplit", 1)


@function
def vsplit(input, indices_or_sections):
    return _split_dim(input, indices_or_sections, 0, "vsplit", 2)


@function
def dsplit(input, indices_or_sections):
    return _split_dim(input, indices_or_sections, 2, "dsplit", 3)


@function
def split_with_sizes(input, split_sizes, dim=0):
    sizes = [int(s) for s in split_sizes]
    n = input.shape[dim] if input.ndim else 1
    if builtins.sum(sizes) != n:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                           f"dimension {dim}), but got split_sizes={sizes}")
    return REGISTRY["split"](input, sizes, dim)


@function
def unsafe_split(input, split_size, dim=0):
    return _writable(REGISTRY["split"](input, split_size, dim))


@function
def unsafe_chunk(input, chunks, dim=0):
    return _writable(REGISTRY["chunk"](input, chunks, dim))


@function
def unsafe_split_with_sizes(input, split_sizes, dim=0):
    return _writable(split_with_sizes(input, split_sizes, dim))


def _writable(pieces):
    """The unsafe_ variants: torch's pieces are no views but tensors over the same storage with version
    counters of their own, written in place freely (the split's outputs all the same)."""
    from ..tensor import VersionCounter
    out = []
    for p in pieces:
        q = p._alias()
        q._vc = VersionCounter()
        q._requires_grad, q._grad_fn, q._out_idx = p._requires_grad, p._grad_fn, p._out_idx
        out.append(q)
    return tuple(out)


# ---------------------------------------------------------------- *_scatter: the view written into a copy
@function
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    out = input.clone()
    view = out.diagonal(offset, dim1, dim2)
    _same_shape(view, src, "diagonal_scatter")
    view.copy_(src)
    return out


@function
def select_scatter(input, src, dim, index):
    out = input.clone()
    view = out.select(dim, index)
    _same_shape(view, src, "select_scatter")
    view.copy_(src)
    return out


@function
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    out = input.clone()
    idx = [builtins.slice(None)] * input.ndim
    idx[dim % builtins.max(input.ndim, 1)] = builtins.slice(start, end, step)
    view = out[tuple(idx)]
    _same_shape(view, src, "slice_scatter")
    view.copy_(src)
    return out


def _same_shape(view, src, name):
    if tuple(view.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(view.shape)}")


# ---------------------------------------------------------------- *_copy: the view op, as a new tensor
def _copy_variant(base):
    def f(*args, out=None, **kwargs):
        r = REGISTRY[base](*args, **kwargs) if base in REGISTRY else getattr(args[0], base)(*args[1:], **kwargs)
        r = type(r)(t.clone() for t in r) if isinstance(r, (list, tuple)) else r.clone()
        if out is None:
            return r
        written = _dispatch._write_out(out, r, args)
        return None if isinstance(r, (list, tuple)) else written  # (torch's out= of tensors returns nothing)
    f.__name__ = f.__qualname__ = base + "_copy"
    return f


for _b in ("expand", "diagonal", "alias", "view", "permute", "split_with_sizes", "split", "unbind",
           "unfold", "squeeze", "unsqueeze", "transpose", "t", "select", "detach", "view_as_real",
           "view_as_complex"):
    export(_copy_variant(_b), _b + "_copy", method=False)
del _b


@function
def narrow_copy(input, dim, start, length, *, out=None):
    # torch's narrow_copy checks differently from narrow: a dim past the end is a RuntimeError (not narrow's
    # IndexError), and a negative length fails the start + length bound check
    _narrow_not_0dim(input)
    if dim >= input.ndim:
        raise RuntimeError("Expected dim < static_cast<int64_t>(self_sizes.size()) to be true, but got false.")
    r = _narrowed(input, dim, start, length).clone()
    return r if out is None else _dispatch._write_out(out, r)


@function
def alias(input):
    return input.view(input.shape)


@function
def slice_copy(input, dim=0, start=None, end=None, step=1):
    idx = [builtins.slice(None)] * input.ndim
    idx[dim] = builtins.slice(start, end, step)
    return input[tuple(idx)].clone()


# ---------------------------------------------------------------- membership, indices
@function(same_dtype=True)
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    jt = _jt()
    T = _T()
    if not isinstance(elements, T) and not isinstance(test_elements, T):
        raise TypeError("isin() received an invalid combination of arguments: expected at least one Tensor")
    e = elements if isinstance(elements, T) else jt.tensor(elements)
    t = test_elements if isinstance(test_elements, T) else jt.tensor(test_elements)
    return _isin(e, t.reshape(-1), invert=bool(invert))


@defop(method=False, function=False, promote="common", differentiable=False)
def _isin(elements, test, invert=False):
    r = (elements[..., None] == test).any(-1) if test.size else jnp.zeros(elements.shape, bool)
    return ~r if invert else r


@function(method=False)
def unravel_index(indices, shape):
    jt = _jt()
    T = _T()
    if not isinstance(indices, T):
        indices = jt.tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype is D.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if builtins.any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(shape))
    n = math.prod(shape)
    wide = indices.long()  # a bound beyond a narrow integer type must not wrap around
    traced = isinstance(indices._value, jax.core.Tracer)  # (jtorch.compile: the range is not checked)
    if indices.numel() and not traced and (bool((wide < -n).any()) or bool((wide >= n).any())):
        raise ValueError("'indices' must be in range [-{0}, {1}), but got {2}".format(n, n, indices))
    idx = indices.long() % builtins.max(n, 1)
    out = []
    for s in reversed(shape):
        out.append(idx % s if s else idx)
        idx = idx.div(s, rounding_mode="floor") if s else idx
    return tuple(reversed(out))


@function(method=False, tensors=("input",))
def fill(input, value):
    # differentiable like torch's: zeros for input, the summed gradient for a tensor value
    from .pointwise import _fill
    if isinstance(value, _T()) and value.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
    return _fill(input, value)


def _sum_to_size(self, *size):
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    if not size:  # torch: an empty size is the full sum (a 0-dim bool/int input becomes int64)
        return self.sum()
    if not self.shape == REGISTRY["broadcast_shapes"](size, self.shape) or len(size) > self.ndim:
        raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                           f"{{{', '.join(map(str, self.shape))}}}.")
    lead = self.ndim - len(size)
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size) if s == 1 and self.shape[lead + i] != 1)
    r = self.sum(dims, keepdim=True) if dims else self
    return r.reshape(size) if dims else r


export(_sum_to_size, "sum_to_size", function=False)


def _rdiv(self, other):
    if not isinstance(self, _T()):  # ``Tensor.__rdiv__(2, t)``: torch's Python operator reads ``self.reciprocal``
        raise AttributeError(f"'{type(self).__name__}' object has no attribute 'reciprocal'")
    return REGISTRY["div"](other, self) if isinstance(other, _T()) else \
        REGISTRY["mul"](REGISTRY["reciprocal"](self), other)


export(_rdiv, "__rdiv__", function=False)


def _is_same_size(self, other):
    return tuple(self.shape) == tuple(other.shape)


export(_is_same_size, "is_same_size")


def _is_signed(self):
    return self.dtype.is_signed


export(_is_signed, "is_signed")


def _is_nonzero(self):
    if self.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if self.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(self.item())


export(_is_nonzero, "is_nonzero")


def _is_inference(self):
    # the storage's class says it (see tensor.InferenceStorage); views share their base's storage
    return self._st.inference


export(_is_inference, "is_inference")


def _equal(self, other):
    return _jt().equal(self, other)


def _allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _jt().allclose(self, other, rtol=rtol, atol=atol, equal_nan=equal_nan)


export(_equal, "equal", function=False)
export(_allclose, "allclose", function=False)


@defop(promote=None, differentiable=False, method=False, function=False)
def _nonzero_static(input, size=0, fill_value=-1):
    if input.ndim == 0:
        return jnp.zeros((size, 0), jnp.int64)
    return jnp.stack(jnp.nonzero(input, size=size, fill_value=fill_value), axis=1).astype(jnp.int64)


@function(tensors=("input",))
def nonzero_static(input, *, size, fill_value=-1):
    """nonzero cut or padded to ``size`` rows: its shape needs no values (it traces under jtorch.compile)."""
    if size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    return _nonzero_static(input, size=int(size), fill_value=int(fill_value))


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, **kw):
    return self.new_empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


export(_new_empty_strided, "new_empty_strided", function=False)


@function(method=False)
def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    from .._memfmt import lay_strided
    out = REGISTRY["empty"](tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)
    return lay_strided(out, stride)


@function(method=False)
def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad=False,
                   pin_memory=False):
    from .._memfmt import lay
    size, layout = tuple(size), tuple(int(d) for d in physical_layout)
    if len(size) != len(layout):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the physical_layout; i.e. "
                           f"len(size) = {len(size)} is not equal to len(physical_layout) = {len(layout)}")
    for i, d in enumerate(layout):  # (torch takes no negative dims here)
        if not 0 <= d < len(size):
            raise RuntimeError(f"Dimension out of range (expected to be between 0 and {len(size) - 1}, but got {d} "
                               f"at index {i}).  NB: negative dims not currently supported; file an issue if you "
                               f"want it.")
    if len(set(layout)) != len(layout):
        raise RuntimeError("Duplicate dim not allowed")
    out = REGISTRY["empty"](size, dtype=dtype, device=device, requires_grad=requires_grad)
    return lay(out, layout)


# ---------------------------------------------------------------- block_diag
@function(method=False)
def block_diag(*tensors):
    jt = _jt()
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not mats:
        return jt.empty(1, 0)
    dt = mats[0].dtype
    for m in mats[1:]:
        dt = jt.promote_types(dt, m.dtype)
    cols = builtins.sum(m.shape[1] for m in mats)
    c = 0
    parts = []
    for m in mats:
        parts.append(jt.nn.functional.pad(m.to(dt), (c, cols - c - m.shape[1])))
        c += m.shape[1]
    return jt.cat(parts, 0)


# ---------------------------------------------------------------- igamma
def _igamma(input, other, *, out=None):
    return _jt().special.gammainc(input, other, out=out)


def _igammac(input, other, *, out=None):
    return _jt().special.gammaincc(input, other, out=out)


export(_igamma, "igamma", inplace=True)
export(_igammac, "igammac", inplace=True)


# ---------------------------------------------------------------- index_reduce
@function(inplace=True)
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    if index.ndim > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    if index.dtype not in (D.int64, D.int32):
        raise RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: {index.dtype}")
    if input.dtype is not source.dtype:
        raise RuntimeError("index_reduce_(): self and source must have same scalar type")
    d = dim % builtins.max(input.ndim, 1)
    if input.ndim == 0:
        return REGISTRY["scatter_reduce"](input.reshape(1), 0, index.reshape(-1), source.reshape(1), reduce,
                                          include_self=include_self).reshape(())
    shape = [1] * source.ndim
    shape[d] = -1
    full = index.reshape(shape).expand(source.shape)
    return REGISTRY["scatter_reduce"](input, d, full, source, reduce, include_self=include_self)


# ---------------------------------------------------------------- fill_diagonal_
def _fill_diagonal_(self, fill_value, wrap=False):
    if self.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    n = builtins.min(self.shape)
    if self.ndim == 2:
        rows, cols = self.shape
        if wrap and rows > cols + 1:
            idx = np.arange(0, rows * cols, cols + 1)
            r, c = idx // cols, idx % cols
        else:
            r = c = np.arange(n)
        mask = np.zeros(self.shape, bool)
        mask[r, c] = True
    else:
        mask = np.zeros(self.shape, bool)
        mask[(np.arange(n),) * self.ndim] = True
    return self.masked_fill_(_jt().tensor(mask), fill_value)


export(_fill_diagonal_, "fill_diagonal_", function=False)


# ---------------------------------------------------------------- histogram
histogram_return = collections.namedtuple("histogram", ["hist", "bin_edges"])
histogram_return.__module__ = "torch.return_types"
histogram_return.__repr__ = _reduction.return_type_repr


@function
def histogram(input, bins=100, *, range=None, weight=None, density=False):
    jt = _jt()
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, but got "
                           f"input {str(input.dtype)[6:]} and bins {str(input.dtype)[6:]}")
    # under jtorch.compile the same computation is traced (jnp), its value checks skipped: the shapes
    # depend on the bins only
    traced = any(isinstance(t, _T()) and isinstance(t._value, jax.core.Tracer) for t in (input, weight, bins))
    xp = jnp if traced else np

    def flat(t):
        t = t.detach().reshape(-1)
        return t._value if traced else np.asarray(t)
    x = flat(input)
    w = None if weight is None else flat(weight).astype(np.float64)
    if isinstance(bins, _T()):
        edges = flat(bins).astype(np.float64)
    else:
        if range is not None:
            lo, hi = float(range[0]), float(range[1])
        elif x.size:
            lo, hi = (x.min(), x.max()) if traced else (float(x.min()), float(x.max()))
        else:
            lo, hi = 0.0, 0.0
        if not traced and lo > hi:
            raise RuntimeError(f"torch.histogram: min should not exceed max, but got min {lo} max {hi}")
        lo, hi = xp.asarray(lo, np.float64), xp.asarray(hi, np.float64)
        same = lo == hi
        lo, hi = xp.where(same, lo - 0.5, lo), xp.where(same, hi + 0.5, hi)
        edges = xp.linspace(lo, hi, int(bins) + 1)
        edges = edges.astype(input.dtype.np).astype(np.float64)
    hist, _ = xp.histogram(x.astype(np.float64), bins=edges, weights=w, density=bool(density))
    if traced:
        return histogram_return(_dispatch.Tensor._wrap(hist.astype(input.dtype.np)),
                                _dispatch.Tensor._wrap(edges.astype(input.dtype.np)))
    return histogram_return(jt.tensor(hist.astype(input.dtype.np)), jt.tensor(edges.astype(input.dtype.np)))


# ---------------------------------------------------------------- windows
def _window(name, n, periodic, dtype, device, requires_grad, f):
    jt = _jt()
    if n < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={n}")
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if n == 0:
        return jt.empty(0, dtype=dt, device=device, requires_grad=requires_grad)
    if n == 1:
        return jt.ones(1, dtype=dt, device=device, requires_grad=requires_grad)
    m = n + 1 if periodic else n
    k = np.arange(m, dtype=np.float64)
    w = f(k, m)[:n]
    return jt.tensor(w.astype(dt.np), device=device, requires_grad=requires_grad)


@function(method=False)
def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: 0.5 - 0.5 * np.cos(2 * np.pi * k / (m - 1)))


@function(method=False)
def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False):
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: alpha - beta * np.cos(2 * np.pi * k / (m - 1)))


@function(method=False)
def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: 0.42 - 0.5 * np.cos(2 * np.pi * k / (m - 1)) + 0.08 * np.cos(4 * np.pi * k / (m - 1)))


@function(method=False)
def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: 1 - np.abs(2 * k / (m - 1) - 1))


@function(method=False)
def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False):
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: np.i0(beta * np.sqrt(np.clip(1 - (2 * k / (m - 1) - 1) ** 2, 0, None)))
                   / np.i0(beta))


# ---------------------------------------------------------------- misc top-level functions
@function(method=False)
def constant_pad_nd(input, pad, value=0):
    return _jt().nn.functional.pad(input, list(pad), mode="constant", value=value)


def _detach(input):
    return input.detach()


def _detach_(input):
    return input.detach_()


REGISTRY["detach"] = _detach
REGISTRY["detach_"] = _detach_


# ---------------------------------------------------------------- in-place shape changes (t_, unsqueeze_, ...)
def _reshape_inplace(name):
    def f(self, *args, **kwargs):
        if self.requires_grad:
            raise RuntimeError(f"jtorch: {name}_() on a tensor that requires grad is not supported; use {name}()")
        self.data = getattr(self, name)(*args, **kwargs)  # a view of the same storage: aliasing is kept
        return self
    f.__name__ = name + "_"
    return f


for _n in ("t", "transpose", "swapaxes", "swapdims", "squeeze", "unsqueeze"):
    METHODS[_n + "_"] = _reshape_inplace(_n)
del _n


# ---------------------------------------------------------------- LU (the old top-level API)
@function
def lu(A, pivot=True, get_infos=False):
    jt = _jt()
    LU, piv, info = jt.linalg.lu_factor_ex(A, pivot=pivot) if hasattr(jt.linalg, "lu_factor_ex") else \
        (*jt.linalg.lu_factor(A, pivot=pivot), None)
    if get_infos:
        if info is None:
            info = jt.zeros(A.shape[:-2], dtype=D.int32)
        return LU, piv, info
    return LU, piv


@function
def lu_solve(b, LU_data, LU_pivots):
    return _jt().linalg.lu_solve(LU_data, LU_pivots, b)

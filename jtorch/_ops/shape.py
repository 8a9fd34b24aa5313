"""View ops (results share storage with their input) and the shape functions built on them.

Each view op carries a strides function (shape, strides, *statics) -> strides,
so ``stride()``/``is_contiguous()`` and ``view``'s compatibility error follow torch.
"""
import math
import operator

import jax
import jax.numpy as jnp

from .. import _dispatch
from .. import _dtype as D
from .._dispatch import GRAD, defop, function, REGISTRY
from .._size import Size, contiguous_strides


def _wrap(dim, ndim, wrap_scalar=True):
    """``dim`` in [0, ndim); a 0-dim tensor takes dim 0/-1 unless ``wrap_scalar`` is False (fft, roll)."""
    if ndim == 0 and not wrap_scalar:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _view_strides(old, strides, new):
    """Strides of ``new`` viewing a tensor of shape ``old``/``strides``, or None if it can't."""
    if math.prod(old) == 0 or not old:
        return contiguous_strides(new)
    out = [0] * len(new)
    vd = len(new) - 1
    base = strides[-1]
    tn = vn = 1
    for td in range(len(old) - 1, -1, -1):
        tn *= old[td]
        if td == 0 or (old[td - 1] != 1 and strides[td - 1] != tn * base):
            while vd >= 0 and (vn < tn or new[vd] == 1):
                out[vd] = vn * base
                vn *= new[vd]
                vd -= 1
            if vn != tn:
                return None
            if td > 0:
                base = strides[td - 1]
                tn = vn = 1
    return tuple(out) if vd == -1 else None


def _reshape_strides(shape, strides, new):
    s = _view_strides(shape, strides, new)
    if s is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return s


@defop(method=False, function=False, view=_reshape_strides, saves=())
def _view(x, shape=()):
    return jnp.reshape(x, shape)


@defop(method=False, function=False, saves=())
def _reshape_copy(x, shape=()):
    return jnp.reshape(x, shape)


def infer_shape(shape, numel):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if all(type(s) is int and s >= -1 for s in shape):  # the common case: plain ints, at most one -1
        neg = shape.count(-1)
        if neg == 0 and math.prod(shape) == numel:
            return tuple(shape)
        if neg == 1:
            known = -math.prod(shape)
            if known > 0 and numel % known == 0:
                shape = tuple(shape)
                i = shape.index(-1)
                return shape[:i] + (numel // known,) + shape[i + 1:]
    shape = [int(s) for s in shape]
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


@function
def view(self, *shape, dtype=None):
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)) and not hasattr(shape[0], "__index__"):
        dtype = shape[0]
    if dtype is not None:
        from .dtype_views import view_dtype
        return view_dtype(self, dtype)
    src_shape = self._shape_dtype()[0]
    strides = self._strides
    if strides is not None:  # strides are computed lazily: check view-compatibility here
        strides = self.stride()
    key = (shape, src_shape, strides)
    try:
        new = _VIEWS_CHECKED.get(key)
    except TypeError:  # a list among the sizes
        new = key = None
    if new is None:
        new = infer_shape(shape, math.prod(src_shape))
        if strides is not None:
            _reshape_strides(tuple(src_shape), strides, new)
        if key is not None and all(type(s) is int for s in (
                shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape)):
            if len(_VIEWS_CHECKED) > 4096:
                _VIEWS_CHECKED.clear()
            _VIEWS_CHECKED[key] = new
    return _dispatch.apply(_view, [self], (new,))  # the op's call path, minus keyword binding


_VIEWS_CHECKED = {}  # (requested shape, source shape, source strides) -> the checked view shape


@function
def reshape(self, *shape):
    shape = infer_shape(shape, self.numel())
    if _view_strides(tuple(self.shape), self.stride(), shape) is None:
        return _reshape_copy(self, shape=shape)
    return _view(self, shape=shape)


@function
def view_as(self, other):
    return view(self, other.shape)


@function
def reshape_as(self, other):
    return reshape(self, other.shape)


@function
def flatten(self, start_dim=0, end_dim=-1):
    nd = self.ndim
    if nd == 0:
        return reshape(self, (1,))
    s, e = _wrap(start_dim, nd), _wrap(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return self  # nothing to merge: torch returns the tensor itself, no view
    sh = tuple(self.shape)
    return reshape(self, sh[:s] + (math.prod(sh[s:e + 1]),) + sh[e + 1:])


@function
def unflatten(self, dim, sizes):
    d = _wrap(dim, self.ndim)
    sh = tuple(self.shape)
    sizes = infer_shape(tuple(sizes), sh[d])
    return view(self, sh[:d] + sizes + sh[d + 1:]) if self.is_contiguous() else reshape(self, sh[:d] + sizes + sh[d + 1:])


@function(method=False)
def ravel(input):
    return reshape(input, (-1,))


REGISTRY["ravel"] = ravel
from .._dispatch import METHODS  # noqa: E402
METHODS["ravel"] = ravel


def _perm_strides(shape, strides, dims):
    return tuple(strides[d] for d in dims)


@defop(method=False, function=False, view=_perm_strides, saves=())
def _permute(x, dims=()):
    return jnp.transpose(x, dims)


@function
def permute(self, *dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    nd = self.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
                           f"to len(dims) = {len(dims)}")
    dims = tuple(_wrap(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _permute(self, dims=dims)


@function(aliases=("swapaxes", "swapdims"))
def transpose(self, dim0, dim1):
    nd = len(self._shape_dtype()[0])
    if nd == 0:
        return _permute(self, dims=())
    d0, d1 = _wrap(dim0, nd), _wrap(dim1, nd)
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    res = _dispatch.apply(_permute, [self], (tuple(dims),))
    if res._grad_fn is not None:
        _named(res, "TransposeBackward0")
    return res


@function
def t(self):
    nd = len(self._shape_dtype()[0])
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    res = _dispatch.apply(_permute, [self], ((1, 0) if nd == 2 else tuple(range(nd)),))
    if res._grad_fn is not None:  # (the common case, no autograd, pays one attribute read)
        _named(res, "TBackward0")
    return res


def _named(res, name):
    """Name ``res``'s just-recorded grad_fn ``name``: one permute op serves torch's t, transpose and
    permute, whose nodes torch names apart."""
    if GRAD.enabled:
        from ..autograd.graph import rename
        rename(res._grad_fn, name)


@function
def movedim(self, source, destination):
    nd = self.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain the "
                           f"same number of dims as destination ({dst} dims)")
    given = {"source": src, "destination": dst}
    src = [_wrap(d, nd) for d in src]
    dst = [_wrap(d, nd) for d in dst]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({given[name]})")
    if nd == 0:  # (dim 0/-1 of a 0-dim tensor: nothing moves)
        return _permute(self, dims=())
    order = [d for d in range(nd) if d not in src]
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(order)
    perm = [p if p is not None else next(it) for p in perm]
    return _permute(self, dims=tuple(perm))


REGISTRY["moveaxis"] = movedim
METHODS["moveaxis"] = movedim


def _unsq_strides(shape, strides, dim):
    s = strides[dim] * shape[dim] if dim < len(shape) else 1
    return strides[:dim] + (s,) + strides[dim:]


@defop(method=False, function=False, view=_unsq_strides, saves=())
def _unsqueeze(x, dim=0):
    return jnp.expand_dims(x, dim)


@function
def unsqueeze(self, dim):
    return _unsqueeze(self, dim=_wrap(dim, self.ndim + 1))


def _sq_strides(shape, strides, dims):
    return tuple(s for i, s in enumerate(strides) if i not in dims)


@defop(method=False, function=False, view=_sq_strides, saves=())
def _squeeze(x, dims=()):
    return jnp.squeeze(x, dims) if dims else x


@function
def squeeze(self, dim=None):
    sh = tuple(self.shape)
    if dim is None:
        dims = tuple(i for i, n in enumerate(sh) if n == 1)
    else:
        ds = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(sorted({_wrap(d, len(sh)) for d in ds if sh})) if sh else ()
        dims = tuple(d for d in dims if sh[d] == 1)
    return _squeeze(self, dims=dims)


def _expand_strides(shape, strides, new):
    lead = len(new) - len(shape)
    out = [0 if n == 1 and new[lead + i] != 1 else s for i, (n, s) in enumerate(zip(shape, strides))]
    for i in range(lead - 1, -1, -1):  # a new dim that stays 1 gets the packed stride, as torch's
        out.insert(0, new[i + 1] * out[0] if out and new[i] == 1 else 0)
    return tuple(out)


@defop(method=False, function=False, view=_expand_strides, saves=())
def _expand(x, shape=()):
    return jnp.broadcast_to(x, shape)


@function
def expand(self, *sizes, implicit=False):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = [int(s) for s in sizes]
    sh = tuple(self.shape)
    if len(sizes) < len(sh):
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(sh)}}}, size={sizes}): the number of sizes provided "
                           f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({len(sh)})")
    lead = len(sizes) - len(sh)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            out.append(s)
            continue
        n = sh[i - lead]
        if s == -1:
            s = n
        if n != s and n != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({n}) at "
                               f"non-singleton dimension {i}.  Target sizes: {sizes}.  Tensor sizes: {list(sh)}")
        out.append(s)
    if tuple(out) == sh:
        return _view(self, shape=sh)
    return _expand(self, shape=tuple(out))


@function
def expand_as(self, other):
    return expand(self, tuple(other.shape))


@function(method=False)
def broadcast_to(input, size):
    return expand(input, tuple(size))


METHODS["broadcast_to"] = broadcast_to


def _index_strides(shape, strides, index):
    """Strides after basic indexing; ``index`` is _basic_index_op's structure."""
    out, d = [], 0  # (size, stride) per output dim; None marks a new axis
    for ix in index:
        if ix is None:
            out.append(None)
        elif ix == "i":
            d += 1
        else:
            out.append((ix[0], strides[d] * ix[1]))
            d += 1
    out += list(zip(shape[d:], strides[d:]))
    # a new axis gets the stride torch's unsqueeze gives it: size * stride of the next dim
    res, nxt = [], 1
    for item in reversed(out):
        st = nxt if item is None else item[1]
        res.append(st)
        nxt = st * (1 if item is None else item[0])
    return tuple(reversed(res))


@defop(method=False, function=False, view=_index_strides, saves=())
def _basic_index_op(x, starts, index=()):
    """Basic indexing as a dynamic slice: the static ``index`` holds the structure (None: new
    axis, "i": an integer index, (size, step): a slice) and ``starts`` the offsets, traced, so
    ``x[i]`` for every i is one compiled program (dataset[idx] loops stay fast)."""
    begin, sizes, steps, out_shape, d = [], [], [], [], 0
    it = iter(starts)
    for e in index:
        if e is None:
            out_shape.append(1)
            continue
        begin.append(next(it))
        if e == "i":
            sizes.append(1)
            steps.append(1)
        else:
            size, step = e
            sizes.append(max((size - 1) * step + 1, 0))
            steps.append(step)
            out_shape.append(size)
        d += 1
    rest = x.shape[d:]
    begin += [0] * len(rest)
    sizes += list(rest)
    steps += [1] * len(rest)
    out_shape += list(rest)
    y = jax.lax.dynamic_slice(x, [jnp.asarray(b, jnp.int64) for b in begin], sizes) if x.ndim else x
    if any(s != 1 for s in steps):
        y = y[tuple(slice(None, None, s) for s in steps)]
    return y.reshape(out_shape)


def _basic_index(x, index=()):
    """Basic indexing from a normalized index (None, int, (start, stop, step) from slice.indices
    or (None, None, None) for a whole dim): split into structure (static) and offsets (traced)."""
    shape = x._shape_dtype()[0]
    struct, starts, d = [], [], 0
    for ix in index:
        if ix is None:
            struct.append(None)
        elif isinstance(ix, int):
            struct.append("i")
            starts.append(ix)
            d += 1
        else:
            start, stop, step = ix
            if start is None:
                start, stop, step = 0, shape[d], 1
            size = len(range(start, stop, step or 1))
            struct.append((size, step or 1))
            starts.append(start)  # (an empty slice's too: its storage_offset, dtype_views.geometry_offset)
            d += 1
    return _dispatch.apply(_basic_index_op, [x, tuple(starts)], (tuple(struct),))


@function
def select(self, dim, index):
    nd = self.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap(dim, nd)
    n = self.shape[d]
    index = int(index)
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at dimension {d}")
    return _basic_index(self, index=(slice_all(),) * d + (index % n,))


def slice_all():
    return (None, None, None)


@function
def narrow(self, dim, start, length):
    _narrow_not_0dim(self)
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    return _narrowed(self, dim, start, length)


def _narrow_not_0dim(x):
    if x.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")


def _narrowed(self, dim, start, length):
    """narrow's view after its own checks (narrow_copy checks otherwise first)."""
    d = _wrap(dim, self.ndim)
    n = self.shape[d]
    if isinstance(start, _dispatch.Tensor):
        if start.ndim or start.dtype._cat != D._INT:
            raise RuntimeError("start must be an 0-dim integral Tensor.")
        s = start._value
        if isinstance(s, jax.core.Tracer):  # inside jtorch.compile: a traced start, as torch's SymInt one
            return _narrow_traced(self, d, n, s, length)
    start = int(start)
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if start < 0:
        start += n
    if start + length > n or length < 0:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _basic_index(self, index=(slice_all(),) * d + ((start, start + length, 1),))


def _narrow_traced(x, d, n, start, length):
    """narrow with a start known only when the program runs: a view whose slice start is that traced value
    (jtorch's basic indexing takes its starts traced). Its range cannot be checked while tracing: a start
    past the end is clamped, as the dynamic slice does."""
    if length < 0 or length > n:
        raise RuntimeError(f"start (0) + length ({length}) exceeds dimension size ({n}).")
    start = jnp.where(start < 0, start + n, start).astype(jnp.int64)
    struct = tuple((k, 1) for k in x.shape[:d]) + ((length, 1),)
    return _dispatch.apply(_basic_index_op, [x, (0,) * d + (start,)], (struct,))


def _multi_output(pieces):
    """Mark the pieces of split/chunk/unbind: torch forbids in-place writes through them that autograd
    records (Tensor._check_inplace); pieces made in no_grad mode are marked so already."""
    if GRAD.enabled:
        for p in pieces:
            p._cm, p._cmv = _dispatch.MULTI_OUTPUT_VIEW, p._st.version


@function
def unbind(self, dim=0):
    d = _wrap(dim, self.ndim)
    out = tuple(select(self, d, i) for i in range(self.shape[d]))
    _multi_output(out)
    if GRAD.enabled and self.requires_grad:
        from ..autograd.next_functions import mark_parts
        mark_parts(out, "UnbindBackward0")
    return out


@function
def split(self, split_size_or_sections, dim=0):
    d = _wrap(dim, self.ndim)
    n = self.shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [min(s, n - i) for i in range(0, n, s)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                               f"at dimension {d}), but got split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(self, d, start, s))
        start += s
    _multi_output(out)
    if GRAD.enabled and self.requires_grad:
        from ..autograd.next_functions import mark_parts
        mark_parts(out, "SplitBackward0" if isinstance(split_size_or_sections, int) else "SplitWithSizesBackward0")
    return tuple(out)


@function
def chunk(self, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    n = self.shape[_wrap(dim, self.ndim)]
    size = -(-n // chunks) if n else 0
    return split(self, size, dim) if size else split(self, [0] * chunks, dim)  # (an empty dim: chunks empty pieces)


def _sections_or_indices(v, name):
    """A split's int (sections) or sequence of ints (indices); torch's TypeError for anything else."""
    try:
        return [operator.index(i) for i in v] if isinstance(v, (list, tuple)) else operator.index(v)
    except TypeError:
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"({type(v).__name__}), but expected an int or a sequence of ints") from None


@function
def tensor_split(self, indices_or_sections, dim=0):
    if self.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = _wrap(dim, self.ndim)
    n = self.shape[d]
    if hasattr(indices_or_sections, "ndim"):  # a tensor: 0-dim means sections, 1-dim indices
        indices_or_sections = indices_or_sections.tolist()
    indices_or_sections = _sections_or_indices(indices_or_sections, "tensor_split")
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
    else:
        idx = [min(max(int(i), 0), n) for i in indices_or_sections]
        bounds = [0] + idx + [n]
        sizes = [max(b - a, 0) for a, b in zip(bounds[:-1], bounds[1:])]
    out, start = [], 0
    for s in sizes:
        out.append(narrow(self, d, min(start, n), s))
        start += s
    return tuple(out)


def _diag_strides(shape, strides, offset, dim1, dim2):
    rest = tuple(s for i, s in enumerate(strides) if i not in (dim1, dim2))
    return rest + (strides[dim1] + strides[dim2],)


@defop(method=False, function=False, view=_diag_strides, saves=())
def _diagonal(x, offset=0, dim1=0, dim2=1):
    return jnp.diagonal(x, offset, dim1, dim2)


@function
def diagonal(self, offset=0, dim1=0, dim2=1):
    nd = self.ndim
    d1, d2 = _wrap(dim1, nd), _wrap(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _diagonal(self, offset=offset, dim1=d1, dim2=d2)


def _unfold_strides(shape, strides, dimension, size, step):
    out = list(strides)
    out[dimension] = strides[dimension] * step
    return tuple(out) + (strides[dimension],)


@defop(method=False, function=False, view=_unfold_strides, saves=())
def _unfold(x, dimension=0, size=1, step=1):
    n = (x.shape[dimension] - size) // step + 1
    idx = jnp.arange(n)[:, None] * step + jnp.arange(size)[None, :]
    y = jnp.take(x, idx, axis=dimension)  # (..., n, size, ...)
    return jnp.moveaxis(y, dimension + 1, -1)


@function
def unfold(self, dimension, size, step):
    if self.ndim == 0:  # torch unfolds a scalar into a one-element 1-d tensor
        return unfold(self.reshape(1), dimension, size, step).reshape(-1)
    d = _wrap(dimension, self.ndim)
    if size > (self.shape[d] if self.ndim else 1):
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {self.shape[d]} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return _unfold(self, dimension=d, size=size, step=step)


# Aliases inside torch.func transforms: ``Tensor.detach()`` there, and the source of a view made under
# no_grad, share the tensor's storage with a value JAX's differentiation does not track (_untracked.py):
# ``detach`` at every level, no_grad at the reverse-mode ones. A write through one keeps its root's
# derivative (``OpDef.untracked``, read by _dispatch.scatter_into), as torch's untracked in-place writes.
def _same_strides(shape, strides):
    return strides


@defop(method=False, function=False, view=_same_strides, saves=(), differentiable=False)
def _detached(x):
    return jax.lax.stop_gradient(x)


@defop(method=False, function=False, view=_same_strides, saves=(), differentiable=False)
def _untracked_alias(x):
    from .._untracked import untracked
    return untracked(x)


_detached.untracked = True  # (everywhere)
_untracked_alias.untracked = False

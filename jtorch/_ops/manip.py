"""Shape manipulation that copies: tril/triu, diag*, flip/roll/rot90, repeat,
repeat_interleave, tile; plus broadcast_tensors/broadcast_shapes/meshgrid,
which return expanded views like torch."""
import builtins
import math

import jax.numpy as jnp
import numpy as np

from .. import _dtype as D
from .. import _dispatch
from .._dispatch import defop, function
from .._size import Size
from .reduction import _dims
from .indexing import with_out
from .shape import _wrap, expand


def _T():
    return _dispatch.Tensor


def _ints(args, name="dims"):
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


# ---------------------------------------------------------------- triangles and diagonals
@defop(method=False, function=False, saves=())
def _tri(input, diagonal=0, upper=False):
    return jnp.triu(input, diagonal) if upper else jnp.tril(input, diagonal)


def _tri_fn(name, upper):
    def f(input, diagonal=0):
        if input.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return _tri(input, diagonal=int(diagonal), upper=upper)
    f.__name__ = name
    return function(with_out(f), name=name, inplace=True)


tril = _tri_fn("tril", False)
triu = _tri_fn("triu", True)


def _tri_indices(row, col, offset, upper, dtype, device):
    if upper:
        r, c = np.triu_indices(row, offset, col)
    else:
        r, c = np.tril_indices(row, offset, col)
    from .creation import tensor
    return tensor(np.stack([r, c]).astype(np.int64), dtype=dtype or D.int64, device=device)


@function(method=False)
def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, False, dtype, device)


@function(method=False)
def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, True, dtype, device)


@defop(method=False, function=False, saves=())
def _diag(input, diagonal=0):
    return jnp.diag(input, diagonal)


@function
@with_out
def diag(input, diagonal=0):
    if input.ndim not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    return _diag(input, diagonal=int(diagonal))


@defop(method=False, function=False, saves=())
def _diag_embed(input, offset=0, dim1=0, dim2=1):
    m = input.shape[-1]
    n = m + abs(offset)
    i = jnp.arange(m)
    out = jnp.zeros(input.shape[:-1] + (n, n), input.dtype)
    out = out.at[..., i + builtins.max(-offset, 0), i + builtins.max(offset, 0)].set(input)
    return jnp.moveaxis(out, (-2, -1), (dim1, dim2))


@function
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    nd = input.ndim + 1
    d1, d2 = _wrap(dim1, nd), _wrap(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = input.reshape((1,)) if input.ndim == 0 else input
    return _diag_embed(x, offset=int(offset), dim1=d1, dim2=d2)


@function
def diagflat(input, offset=0):
    return _diag(input.reshape(-1), diagonal=int(offset))


# ---------------------------------------------------------------- flips, rolls, rotations
@defop(method=False, function=False, saves=())
def _flip(input, dims=()):
    return jnp.flip(input, dims) if dims else input


@function
def flip(input, *dims_, dims=None):
    dims = _ints(dims_ if dims is None else ((dims,) if isinstance(dims, int) else dims))
    return _flip(input, dims=_dims(dims, input.ndim) or ())


@function
def fliplr(input):
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return _flip(input, dims=(1,))


@function
def flipud(input):
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return _flip(input, dims=(0,))


@defop(method=False, function=False, saves=())
def _roll(input, shifts=(), dims=()):
    if not dims:
        return jnp.roll(input.ravel(), shifts[0]).reshape(input.shape)
    return jnp.roll(input, shifts, dims)


@function(tensors=("input",))
def roll(input, shifts, dims=None):
    shifts = (int(shifts),) if not isinstance(shifts, (tuple, list)) else tuple(int(s) for s in shifts)
    dims = () if dims is None else ((int(dims),) if not isinstance(dims, (tuple, list)) else tuple(dims))
    if (not dims and len(shifts) != 1) or (dims and len(shifts) != len(dims)):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    dims = tuple(_wrap(d, input.ndim, wrap_scalar=False) for d in dims)
    return _roll(input, shifts=shifts, dims=dims)


@defop(method=False, function=False, saves=())
def _rot90(input, k=1, dims=(0, 1)):
    return jnp.rot90(input, k, axes=dims)


@function
def rot90(input, k=1, dims=(0, 1)):
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = _wrap(dims[0], input.ndim), _wrap(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    return _rot90(input, k=int(k) % 4, dims=(d0, d1))


# ---------------------------------------------------------------- repeats
@defop(method=False, function=False, saves=())
def _tile(input, reps=()):
    x = input.reshape((1,) * (len(reps) - input.ndim) + input.shape)
    return jnp.tile(x, reps)


@function
def repeat(self, *sizes):
    sizes = _ints(sizes)
    if len(sizes) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                           "of tensor")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: {list(sizes)}")
    return _tile(self, reps=sizes)


_dispatch.REGISTRY.pop("repeat", None)  # torch has Tensor.repeat only


@function
def tile(input, *dims):
    dims = _ints(dims)
    dims = (1,) * (input.ndim - len(dims)) + dims
    return _tile(input, reps=dims)


@defop(method=False, function=False, saves=())
def _repeat_interleave(input, repeats, dim=0, total=0):
    return jnp.repeat(input, repeats, axis=dim, total_repeat_length=total)


@function
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    T = _T()
    if repeats is None:  # repeat_interleave(repeats): repeat arange(len) by repeats
        repeats = input
        if repeats.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        from .creation import arange
        input = arange(repeats.shape[0] if repeats.ndim else 1)
        dim = 0
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _wrap(dim, x.ndim)
    if x.ndim == 0:
        x = x.reshape((1,))
    n = x.shape[d]
    if isinstance(repeats, T):
        if repeats.dtype._cat != D._INT:
            raise RuntimeError("repeats has to be Long or Int tensor")
        if repeats.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if repeats.numel() == 1:
            repeats = int(repeats.item())
        else:
            if repeats.shape[0] != n:
                raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                                   f"repeats.size(0) = {repeats.shape[0]} and input.size(0) = {n}")
            r = np.asarray(repeats._value)  # the output length depends on the values
            if r.size and r.min() < 0:
                raise RuntimeError("repeats can not be negative")
            total = int(r.sum()) if output_size is None else int(output_size)
            return _repeat_interleave(x, repeats, dim=d, total=total)
    repeats = int(repeats)
    if repeats < 0:
        raise RuntimeError("repeats can not be negative")
    return _repeat_interleave(x, repeats, dim=d, total=n * repeats)


# ---------------------------------------------------------------- broadcasting
@function(method=False)
def broadcast_shapes(*shapes):
    shapes = [(int(s),) if isinstance(s, int) or hasattr(s, "__index__") and not isinstance(s, (tuple, list))
              else tuple(int(v) for v in s) for s in shapes]
    nd = builtins.max((len(s) for s in shapes), default=0)
    out = [1] * nd
    for i, s in enumerate(shapes):
        for k in range(1, len(s) + 1):
            v = s[-k]
            if v < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {v}: {list(s)}")
            if out[-k] == 1:
                out[-k] = v
            elif v != 1 and v != out[-k]:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {v} at {-k}! Mismatching "
                                   f"argument at index {i} had {s}; but expected shape should be broadcastable "
                                   f"to {out}")
    return Size(out)


@function(method=False)
def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    nd = builtins.max((t.ndim for t in tensors), default=0)
    out = [1] * nd
    for t in tensors:
        for k in range(1, t.ndim + 1):
            v = t.shape[-k]
            if out[-k] == 1:
                out[-k] = v
            elif v != 1 and v != out[-k]:
                raise RuntimeError(f"The size of tensor a ({out[-k]}) must match the size of tensor b ({v}) at "
                                   f"non-singleton dimension {nd - k}")
    return tuple(expand(t, tuple(out)) for t in tensors)


@function(method=False)
def meshgrid(*tensors, indexing=None):
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if indexing is None:
        indexing = "ij"  # torch's default (it warns that this will change)
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in tensors:
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a "
                               f"{t.ndim}D tensor")
    ts = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    n = len(ts)
    out = [expand(t.reshape((1,) * i + (-1,) + (1,) * (n - i - 1)), shape) for i, t in enumerate(ts)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)

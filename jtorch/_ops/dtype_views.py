"""Views that read their input's bytes as another dtype: ``Tensor.view(dtype)``, and complex tensors' ``real``,
``imag``, ``view_as_real`` and ``view_as_complex``. They share storage with their input, as in torch (an
in-place write through any of them reaches the root and every other view of it).

Each is a view op with a ``positions`` rule: from the first byte of each input element in the root's storage
(and the input's element size) to the same for the view's elements. A write through a chain holding one
scatters the new values' bytes at those positions (``_dispatch.scatter_into``), so a view may cover half of a
root element (``imag``, ``view(torch.uint8)``) or several (``view_as_complex``, ``view(torch.int64)`` of
int8); strides and ``storage_offset`` count in the view's own elements, as torch's
(``_dispatch.view_bytes``, serialization._common).
"""
import jax
import jax.numpy as jnp

from .. import _bits
from .. import _chalf
from .. import _dispatch
from .. import _dtype as D
from .._dispatch import defop, function
from .._memfmt import buffer_positions, dense_strides
from .._size import contiguous_strides


def _part_strides(shape, strides):
    return tuple(2 * s for s in strides)


def _pair_strides(shape, strides):
    return tuple(2 * s for s in strides) + (1,)


def _complex_strides(shape, strides):
    return tuple(s // 2 for s in strides[:-1])


@defop(method=False, function=False, view=_part_strides, saves=())
def _real_part(x):
    return jnp.real(x)


@defop(method=False, function=False, view=_part_strides, saves=())
def _imag_part(x):
    return jnp.imag(x)


@defop(method=False, function=False, view=_pair_strides, saves=())
def _view_as_real(x):
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


def jax_complex(re, im):
    """Complex numbers from their parts, bits kept (``re + 1j * im`` would turn -0.0 and inf+nan parts)."""
    part = jnp.float64 if re.dtype == jnp.float64 else jnp.float32
    return jax.lax.complex(*jnp.broadcast_arrays(re.astype(part), im.astype(part)))


@defop(method=False, function=False, view=_complex_strides, saves=())
def _view_as_complex(x):
    return jax_complex(x[..., 0], x[..., 1])


def _dtype_strides(shape, strides, dtype, size):
    """A different element size scales the other dims' strides; the last stays 1 (torch's conditions)."""
    if dtype.itemsize == size:
        return strides
    return tuple(s * size // dtype.itemsize for s in strides[:-1]) + (1,)


@defop(promote=None, differentiable=False, method=False, function=False, view=_dtype_strides, saves=())
def _view_dtype(input, dtype=None, size=None):
    """The bytes of ``input`` (elements of ``size`` bytes) read as ``dtype``."""
    return _bits.reinterpret(input, dtype.np)


# positions rules (see the module docstring): (first bytes, element size, *statics) -> the view's
_real_part.positions = lambda pos, size: (pos, size // 2)
_imag_part.positions = lambda pos, size: (pos + size // 2, size // 2)
_view_as_real.positions = lambda pos, size: (jnp.stack([pos, pos + size // 2], -1), size // 2)
_view_as_complex.positions = lambda pos, size: (pos[..., 0], 2 * size)


def _dtype_positions(pos, size, dtype, _size):
    t = dtype.itemsize
    if t < size:  # each element becomes several along the last dim
        return (pos[..., None] + jnp.arange(0, size, t)).reshape(*pos.shape[:-1], -1), t
    if t > size:  # several become one: the first one's position
        return pos.reshape(*pos.shape[:-1], -1, t // size)[..., 0], t
    return pos, t


_view_dtype.positions = _dtype_positions


def _index_start(shape, strides, statics, extra):
    struct, starts = statics[0], iter(extra[0])
    d = delta = 0
    for e in struct:
        if e is not None:
            delta += next(starts) * strides[d]
            d += 1
    return delta


def _diagonal_start(shape, strides, statics, extra):
    offset, dim1, dim2 = statics
    if min(shape[dim1] + min(offset, 0), shape[dim2] - max(offset, 0)) <= 0:
        return 0  # (an empty diagonal starts where its input does)
    return offset * strides[dim2] if offset >= 0 else -offset * strides[dim1]


# view op -> (shape, strides, statics, dynamic args) -> where its first element is, from its input's, in the
# input's elements (the view ops absent here start where their input does)
_STARTS = {"_basic_index_op": _index_start, "_diagonal": _diagonal_start}


def geometry_offset(t):
    """storage_offset of view ``t`` from its chain's geometry (each link's start, as torch's view ops move the
    offset), for an empty view, which has no element left to locate."""
    st = t._st
    root = st._arr
    shape, dtype = tuple(root.shape), root.dtype
    strides = contiguous_strides(shape) if st.layout is None else dense_strides(shape, st.layout)
    at = 0  # in bytes
    try:
        for op, statics, extra in t._vfn:
            size = dtype.itemsize
            if op.name in ("_storage_view", "_storage_view_masked"):
                at = statics[0] * size
            elif op.name in _STARTS:
                at += _STARTS[op.name](shape, strides, statics, extra) * size
            elif op is _imag_part:
                at += size // 2
            strides = op.view(shape, strides, *statics)
            out = jax.eval_shape(op.pure(statics, None), jax.ShapeDtypeStruct(shape, dtype), *extra)
            shape, dtype = tuple(out.shape), out.dtype
    except (TypeError, ValueError):  # (complex32: no jax dtype to follow the chain in)
        return 0
    return at // dtype.itemsize


def position_offset(t):
    """storage_offset of view ``t`` through reinterpreting views, in its own elements, from its root's shape
    and dtype alone (no values read: a meta or traced root serves as well)."""
    if t.numel() == 0:
        return geometry_offset(t)
    st = t._st
    root, order = st._arr, st.layout
    elements = None if order is None else buffer_positions(tuple(root.shape), order)  # (a memory format)
    first = _dispatch.view_bytes(t._vfn, tuple(root.shape), D._FROM_NP[root.dtype].itemsize, elements)
    return int(first.reshape(-1)[0]) // t.element_size()


# view ops after which an even storage offset stays even (view_as_complex checks the others' offset)
_EVEN_OFFSET = frozenset(("_view", "_permute", "_unsqueeze", "_squeeze", "_expand", "_real_part", "_view_as_real",
                          "_view_as_complex"))


def view_dtype(self, dtype):
    """``Tensor.view(dtype)``: torch's conditions for a different element size, then the view. As torch's it
    is no autograd view: no ``_base``, no gradient (a tensor sharing the storage, as ``detach()``)."""
    if dtype is self.dtype:
        return self._alias()
    a, b = self.dtype.itemsize, dtype.itemsize
    if a != b:
        what = f"to view {D.scalar_type_name(self.dtype)} as {D.scalar_type_name(dtype)} (different element sizes)"
        if self.dim() == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        if self.stride(-1) != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {self.stride(-1)}")
        if a < b:
            k = b // a
            if self.shape[-1] % k:
                raise RuntimeError(f"self.size(-1) must be divisible by {k} {what}, but got {self.shape[-1]}")
            if self.storage_offset() % k:
                raise RuntimeError(f"self.storage_offset() must be divisible by {k} {what}, "
                                   f"but got {self.storage_offset()}")
            for d in range(self.dim() - 1):
                if self.stride(d) % k:
                    raise RuntimeError(f"self.stride({d}) must be divisible by {k} {what}, but got {self.stride(d)}")
    # a complex32 storage holds complex64 values (_byte_views.py): so do the float16 views of one (real, imag,
    # view_as_real), whose bytes are then read from the storage's own
    to_or_from_chalf = D.complex32 in (self.dtype, dtype)
    if to_or_from_chalf or type(self._st._arr) is _chalf.ChalfArray:
        from .._byte_views import reinterpreted_view, supported
        if supported(self):
            return reinterpreted_view(self, dtype)
        if to_or_from_chalf:
            return _through_half_pairs(self, dtype)
    if any(op is _view_dtype and statics[0] is D.bool for op, statics, _ in self._vfn):
        return _from_root_bytes(self, dtype)
    return _view_dtype(self, dtype=dtype, size=a)._alias()


def _from_root_bytes(self, dtype):
    """view(dtype) of a view through a bool view: read from the root's bytes, as torch's storage keeps them (a
    bool view holds 0/1, so ``u.view(torch.bool).view(torch.uint8)`` would lose a byte such as 2). torch's ops
    on a bool holding another byte read it as True (elementwise ops, sums, casts, clone all give 0/1 here as
    they do in torch); only reinterpreting it again sees the byte."""
    if self._st.layout is not None:
        return _view_dtype(self, dtype=dtype, size=self.dtype.itemsize)._alias()  # (0/1 bytes)
    from .strided import _storage_root, _storage_view
    a, b = self.dtype.itemsize, dtype.itemsize
    flat = _storage_root(self).detach().reshape(-1)
    k = b // flat.element_size()
    if k > 1 and flat.numel() % k:
        flat = flat[:flat.numel() - flat.numel() % k]
    flat = view_dtype(flat, dtype) if flat.dtype is not dtype else flat
    shape, strides = tuple(self.shape), tuple(self.stride())
    if a != b:
        shape = shape[:-1] + (shape[-1] * a // b,)
        strides = tuple(s * a // b for s in strides[:-1]) + (1,)
    return _storage_view(flat, offset=self.storage_offset() * a // b, size=shape, stride=strides)._alias()


def _through_half_pairs(self, dtype):
    """view(dtype) from or to complex32 of a meta or traced tensor: a copy, through the float16 pairs that
    are its bytes in torch."""
    a, b = self.dtype.itemsize, dtype.itemsize
    shape = tuple(self.shape) if a == b else tuple(self.shape[:-1]) + (self.shape[-1] * a // b,)
    flat = self.reshape(-1)
    if self.dtype is D.complex32:
        return view_dtype(view_as_real(flat).reshape(-1).clone(), dtype).reshape(shape)
    return view_as_complex(view_dtype(flat, D.float16).reshape(-1, 2)).reshape(shape)


def _dtype(name, input):
    if not isinstance(input, _dispatch.Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input.dtype


@function(method=False)
def real(input):
    """The real parts of a complex tensor as a float view of it; a real tensor itself."""
    return _real_part(input) if _dtype("real", input).is_complex else input


@function(method=False)
def imag(input):
    """The imaginary parts of a complex tensor as a float view of it."""
    if not _dtype("imag", input).is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _imag_part(input)


@function
def view_as_real(input):
    """The real and imaginary parts as a last dimension of size 2 (a view)."""
    if not _dtype("view_as_real", input).is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return _view_as_real(input)


@function
def view_as_complex(input):
    """Pairs along a last dimension of size 2 as complex numbers (a view; a float16 input's complex32
    result is a copy where it requires grad)."""
    dt = _dtype("view_as_complex", input)
    if dt not in (D.float32, D.float64, D.float16):
        raise RuntimeError("view_as_complex is only supported for half, float and double tensors, but got a "
                           f"tensor of scalar type: {D.scalar_type_name(dt)}")
    if input.ndim == 0:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    strides = input.stride()
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s, n in zip(strides[:-1], input.shape) if n != 1):  # (a size-1 dim's stride: halved down)
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if any(op.name not in _EVEN_OFFSET for op, _, _ in input._vfn) and position_offset(input) % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    if dt is D.float16:  # (a complex32 tensor's storage holds complex64 values: _byte_views.py)
        from .._byte_views import supported
        if input.requires_grad and _dispatch.GRAD.enabled or not supported(input):
            from .._chalf import cast  # a differentiable copy (the byte view has no autograd history)
            return cast(_view_as_complex(input.float()))
        return view_dtype(input, D.complex32).squeeze(-1)
    return _view_as_complex(input)

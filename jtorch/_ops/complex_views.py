"""Complex tensors' real views: ``real``, ``imag``, ``view_as_real`` and ``view_as_complex`` share storage
with their input, as in torch (an in-place write through any of them reaches the complex tensor and every
other view of it).

In torch's storage a complex element is two floats, so these views address floats one by one: their
strides are in float units (a complex tensor's doubled; ``imag`` starts one float further). Their view ops
carry ``parts = True``: a write through a chain holding one scatters into the root by components
(``_dispatch.scatter_into``), and ``storage_offset`` counts in the view's own units (serialization._common).
"""
import jax
import jax.numpy as jnp
import numpy as np

from .. import _dispatch
from .. import _dtype as D
from .._dispatch import defop, function


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
    return jnp.asarray(re + 1j * im, dtype=jnp.complex128 if re.dtype == jnp.float64 else jnp.complex64)


@defop(method=False, function=False, view=_complex_strides, saves=())
def _view_as_complex(x):
    return jax_complex(x[..., 0], x[..., 1])


for _op in (_real_part, _imag_part, _view_as_real, _view_as_complex):
    _op.parts = True
del _op


def position_offset(t):
    """storage_offset of view ``t`` from its root's shape and dtype alone (no values read: a meta or traced
    root serves as well); through complex views, in the view's own elements: the root's float parts for a
    real view, pairs of them for a complex one."""
    if t.numel() == 0:
        return 0
    root = t._st._arr
    with jax.ensure_compile_time_eval():  # (concrete inside jtorch.compile's trace too)
        pos = _dispatch.chain_fn(t._vfn)(_dispatch.part_positions(root.shape, D._FROM_NP[root.dtype].is_complex))
        first = np.asarray(pos).reshape(-1)[0]
    return int(first.real) // 2 if np.iscomplexobj(first) else int(first)


# view ops after which an even storage offset stays even (view_as_complex checks the others' offset)
_EVEN_OFFSET = frozenset(("_view", "_permute", "_unsqueeze", "_squeeze", "_expand", "_real_part", "_view_as_real",
                          "_view_as_complex"))


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
    result is a copy)."""
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
    if any(s % 2 for s in strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if any(op.name not in _EVEN_OFFSET for op, _, _ in input._vfn) and position_offset(input) % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    if dt is D.float16:  # (a complex32 tensor's storage holds complex64 values: no float16 root to view)
        from .._chalf import cast
        return cast(_view_as_complex(input.float()))
    return _view_as_complex(input)

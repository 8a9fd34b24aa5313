"""Storage-level views and resizing: as_strided, as_strided_copy, as_strided_scatter, resize_, resize_as_.

A tensor's storage is the root array its view chain starts from, read as a flat buffer in row-major
order (jtorch's base tensors are contiguous). ``as_strided`` is a view op on that root: the element
at index (i_0, i_1, ...) is buffer[offset + sum(i_k * stride_k)], so writes through it reach the base
and every other view, like torch's.

Gradients flow to the tensor owning the storage (the view chain's base), like torch's through the input
view: where ``as_strided`` on a view reaches storage outside that view's elements, those base elements get
no gradient (a masked variant of the view op, used only then). One difference remains in that corner: an
in-place op through such a view still sends no gradient to those outside elements' old values, where
torch (replaying the view from the base) does.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _dispatch, _memfmt
from .._dispatch import GRAD, defop, export, function
from .._memfmt import dense_strides, format_order
from .._size import contiguous_strides


def _view_strides(shape, strides, offset, size, stride, *rest):
    return stride  # (rest: _storage_view_masked's ``outside``, the storage's dim ``order``)


@defop(method=False, function=False, view=_view_strides, saves=(), name="_storage_view")
def _storage_view(root, offset=0, size=(), stride=(), order=None):
    """The elements ``offset + sum(i_k * stride_k)`` of the root's flat buffer (``order``: the dim order
    of a laid storage's buffer, _memfmt.py)."""
    return root.reshape(-1)[jnp.asarray(_flat_index(offset, size, stride, root.shape, order))]


def _gather_masked_grad(root, offset, size, stride, outside, order):
    idx = jnp.asarray(_flat_index(offset, size, stride, root.shape, order))

    @jax.custom_vjp
    def gather(r):
        return r.reshape(-1)[idx]

    def fwd(r):
        return gather(r), None

    def bwd(_, g):
        grad = jnp.zeros(root.size, g.dtype).at[idx.reshape(-1)].add(g.reshape(-1))
        return (grad.at[jnp.asarray(outside, jnp.int64)].set(0).reshape(root.shape),)

    gather.defvjp(fwd, bwd)
    return gather(root)


@defop(method=False, function=False, view=_view_strides, saves=(), name="_storage_view_masked")
def _storage_view_masked(root, offset=0, size=(), stride=(), outside=(), order=None):
    """_storage_view whose gradient leaves out the root positions ``outside`` (those not in the input)."""
    return _gather_masked_grad(root, offset, size, stride, outside, order)


@defop(method=False, function=False, name="_storage_gather_of_view")
def _storage_gather_of_view(root, input, offset=0, size=(), stride=(), mine=(), order=None):
    """as_strided of a view that is itself a leaf (its root needs no gradient): the storage with the view's
    elements put in from ``input``, so the gradient reaches ``input`` as in torch (each view element gets
    the output's gradient at its storage position); the other positions are constants."""
    buf = jax.lax.stop_gradient(root).reshape(-1).at[jnp.asarray(mine)].set(input.reshape(-1))
    return buf[jnp.asarray(_flat_index(offset, size, stride, root.shape, order))]


def _flat_index(offset, size, stride, root_shape=None, order=None):
    """numpy array of shape ``size``: the buffer position of each element; given the root's shape and
    its storage's dim order, its row-major position in the root instead."""
    idx = np.full(size, offset, dtype=np.int64) if size else np.int64(offset)
    for d, (s, st) in enumerate(zip(size, stride)):
        idx = idx + (np.arange(s, dtype=np.int64) * st).reshape([-1 if i == d else 1 for i in range(len(size))])
    return idx if order is None else _memfmt.logical_index(idx, tuple(root_shape), order)


def _check_geometry(size, stride, offset, numel, itemsize):
    """torch's checks of a strided geometry over a buffer of ``numel`` elements."""
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    if any(st < 0 for st in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: {list(stride)}")
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    need = 0 if 0 in size else offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1
    if need > numel:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {itemsize} requiring a storage size of {need * itemsize} are out of bounds "
                           f"for storage of size {numel * itemsize}")


def _storage_root(t):
    """A tensor whose value is ``t``'s whole storage (the root of its view chain), carrying the autograd
    history of the base where ``t`` is a view of one."""
    if not t._vfn:
        return t
    if t._base is not None and not t._base._vfn:
        return t._base
    root = t._alias()  # e.g. a detached view: same storage, no history
    root._vfn, root._val, root._meta, root._strides = (), None, None, None
    return root


def _ints(seq):
    return tuple(int(s) for s in (seq.tolist() if hasattr(seq, "tolist") else seq))


@function
def as_strided(input, size, stride, storage_offset=None):
    size, stride = _ints(size), _ints(stride)
    root = _storage_root(input)
    parts = root.dtype.is_complex and not input.dtype.is_complex  # a float view of complex elements (real...)
    if parts:  # torch's storage as floats: the root's parts, flat (a view of it)
        root = _dispatch.REGISTRY["view_as_real"](root).reshape(-1)
    if root.dtype != input.dtype:  # (view(dtype)): torch's storage read as the tensor's dtype, flat
        root = _reinterpreted_storage(root, input)
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    _check_geometry(size, stride, offset, root.numel(), input.element_size())
    order = None if parts else root._st.layout
    if root is not input and GRAD.enabled and input.requires_grad:
        if parts:  # input's elements among the root's parts
            base = root._base
            mine = _dispatch.view_bytes(input._vfn, tuple(base.shape), base.element_size()) // input.element_size()
        else:
            mine = np.asarray(_dispatch.chain_fn(input._vfn)(jnp.arange(root.numel()).reshape(tuple(root.shape))))
        if input._grad_fn is None and not root.requires_grad:
            # a view made a leaf (requires_grad_ on a detached view): its gradient cannot come through the
            # root; the result is then computed from the view (not a view of the storage itself)
            return _storage_gather_of_view(root, input, offset=offset, size=size, stride=stride,
                                           mine=tuple(int(i) for i in mine.reshape(-1)), order=order)
        outside = np.setdiff1d(_flat_index(offset, size, stride, tuple(root.shape), order), mine)
        if outside.size:
            return _storage_view_masked(root, offset=offset, size=size, stride=stride,
                                        outside=tuple(int(i) for i in outside), order=order)
    return _storage_view(root, offset=offset, size=size, stride=stride, order=order)


def _reinterpreted_storage(root, input):
    """The whole storage of ``root`` (a row-major tensor) as a flat view of ``input``'s dtype (whole elements)."""
    if root._st.layout is not None or input.requires_grad:
        raise RuntimeError("as_strided: a tensor that reinterprets a storage in a memory format, or that "
                           "requires grad, is not supported; call .clone() first")
    from .dtype_views import view_dtype
    flat = root.reshape(-1)
    n, k = flat.numel(), input.element_size() // root.element_size()
    return view_dtype(flat[:n - n % k] if k > 1 and n % k else flat, input.dtype)


@function
def as_strided_copy(input, size, stride, storage_offset=None):
    return as_strided(input, size, stride, storage_offset).clone()


def _clone_strides(t):
    """The strides of ``t.clone()`` in torch: kept when ``t`` is dense and non-overlapping, else contiguous."""
    shape, strides = tuple(t.shape), tuple(t.stride())
    order = sorted(range(len(shape)), key=lambda d: (strides[d], -d))
    expect = 1
    for d in order:
        if shape[d] != 1 and strides[d] != expect:
            return contiguous_strides(shape)
        expect *= shape[d]
    return strides


@defop(method=False, function=False)
def _as_strided_scatter(input, src, size=(), stride=(), offset=0, layout=()):
    # the clone's buffer holds input's elements at layout positions; the view's positions get src
    pos = jnp.asarray(_flat_index(0, tuple(input.shape), layout).reshape(-1))
    buf = jnp.zeros(input.size, input.dtype).at[pos].set(input.reshape(-1))
    buf = buf.at[jnp.asarray(_flat_index(offset, size, stride).reshape(-1))].set(
        src.astype(input.dtype).reshape(-1))
    return buf[pos].reshape(input.shape)


@function
def as_strided_scatter(input, src, size, stride, storage_offset=None):
    size, stride = _ints(size), _ints(stride)
    offset = 0 if storage_offset is None else int(storage_offset)
    _check_geometry(size, stride, offset, input.numel(), input.element_size())
    if tuple(src.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(size)}")
    return _as_strided_scatter(input, src, size=size, stride=stride, offset=offset, layout=_clone_strides(input))


def resize_(self, *size, memory_format=None):
    """torch's resize_: the first prod(size) elements of the storage from this tensor's offset, dense in
    ``memory_format`` (contiguous by default). Growing past the storage gives the tensor a new, larger storage
    (zero-filled beyond the old elements); views taken before then keep the old one."""
    size = _ints(size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) or
                 len(size) == 1 and hasattr(size[0], "tolist") else size)
    if getattr(memory_format, "name", None) == "preserve_format":
        raise RuntimeError("Unsupported memory formatPreserve")
    return _resize(self, size, format_order(memory_format, len(size)), memory_format is not None)


def _resize(self, size, order, restride):
    """resize_ to ``size``, dense in dim ``order`` (None: row-major); ``restride``: the same sizes take
    those strides too (else they keep theirs, as torch's)."""
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: {list(size)}")
    resized = size != tuple(self.shape)
    if not resized and not restride:
        return self
    from .creation import zeros
    from .join import cat
    root = _storage_root(self).detach()
    offset = self.storage_offset()
    n = math.prod(size)
    if offset + n > root.numel():
        root = cat([root.reshape(-1), zeros(offset + n - root.numel(), dtype=self.dtype)])
    strides = contiguous_strides(size) if order is None else dense_strides(size, order)
    self.data = _storage_view(root, offset=offset, size=size, stride=strides, order=root._st.layout)
    if resized:  # (torch counts a resize as a write to the storage; a restride alone is none)
        self._st.version += 1
    return self


@function
def resize_as_(self, the_template, memory_format=None):
    size = tuple(the_template.shape)
    if getattr(memory_format, "name", None) == "preserve_format":  # (the template's own format, as torch)
        return _resize(self, size, _memfmt.suggest_order(the_template), True)
    return _resize(self, size, format_order(memory_format, len(size)), memory_format is not None)


export(resize_, "resize_", function=False)  # a Tensor method only, like torch

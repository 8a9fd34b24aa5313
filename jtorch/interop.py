"""Bridges to numpy and JAX (and to real torch tensors when torch is installed).

numpy sharing: ``from_numpy(a)`` and ``t.numpy()`` keep a host numpy buffer on the
tensor's Storage. Writes through jtorch (any in-place op) are mirrored into that
buffer at once; writes through numpy are picked up the next time jtorch reads
the tensor (the storage re-reads its host buffer when the buffer changed).
"""
import jax
import jax.numpy as jnp
import numpy as np

from . import _dispatch
from . import _dtype as D


def from_numpy_shared(a):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    D.from_numpy_dtype(a.dtype)
    t = _dispatch.Tensor._wrap(jnp.asarray(a))
    return t


def shared_numpy(t):
    return np.asarray(t._value)


def from_jax(array):
    """A jtorch Tensor over a jax array (no copy)."""
    return _dispatch.Tensor._wrap(array)


def to_jax(tree):
    T = _dispatch.Tensor
    return jax.tree_util.tree_map(lambda x: x._value if isinstance(x, T) else x, tree,
                                  is_leaf=lambda x: isinstance(x, T))


def from_jax_tree(tree):
    return jax.tree_util.tree_map(lambda x: from_jax(x) if isinstance(x, jax.Array) else x, tree)


def from_torch(t):
    """Convert a real torch.Tensor (when torch is installed) by value."""
    arr = t.detach().cpu()
    name = str(arr.dtype).split(".")[-1]
    if name == "bfloat16":
        np_arr = arr.view(__import__("torch").int16).numpy().view(D.bfloat16.np)
    else:
        np_arr = arr.numpy()
    return _dispatch.Tensor._wrap(jnp.asarray(np_arr.copy()))

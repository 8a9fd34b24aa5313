"""jtorch.save / jtorch.load in PyTorch's own checkpoint format, without importing torch.

File format (what torch >= 1.6 writes and reads): an uncompressed zip archive with
records under one top directory ``<name>/``:

* ``data.pkl``: the object, pickled with protocol 2. Tensors are written as
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)``
  where ``storage`` is a persistent id ``('storage', torch.FloatStorage, key, location, numel)``;
  Parameters wrap that in ``torch._utils._rebuild_parameter``. We write those *names*
  (GLOBAL opcodes) from small stand-ins, so no torch import is needed.
* ``data/<key>``: the raw little-endian bytes of each storage, 64-byte aligned in the file.
* ``byteorder``, ``version``, ``.format_version``, ``.storage_alignment``,
  ``.data/serialization_id``: as torch writes them.

A view and its base share one storage in the file: the storage is the root array of
jtorch's Storage, and the view's (offset, strides) come from applying its view chain
to an index array (``_layout``). On load, tensors sharing a storage share one jtorch
Storage again (the first tensor covering it whole becomes the root, others are views).

``load`` defaults to ``weights_only=True``: a restricted unpickler that resolves only an
allow-list of globals (and those added with ``add_safe_globals``); anything else is
refused with torch's message and nothing is executed. The pre-1.6 (legacy, non-zip)
format is read too, and written with ``_use_new_zipfile_serialization=False``.
"""
from ._common import (DEFAULT_PROTOCOL, storage_offset, _layout, _parameter, _is_parameter, _T,  # noqa: F401
                      _attribute_state, _set_attribute_state)
from ._writer import save  # noqa: F401
from ._reader import load  # noqa: F401
from ._safe import add_safe_globals, get_safe_globals, clear_safe_globals, safe_globals  # noqa: F401
from . import _writer, _reader, _safe  # noqa: F401

import jax.numpy as jnp
import numpy as np

from .. import _dtype as D

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "DEFAULT_PROTOCOL"]


# ====================================================================== plain pickle of a Tensor
def _reduce_tensor(t):
    """``pickle.dumps(tensor)`` outside jtorch.save: by value."""
    if not _is_parameter(t):  # torch warns for a plain tensor's hooks (a Parameter's are dropped silently)
        from ..utils.hooks import warn_if_has_hooks
        warn_if_has_hooks(t)
    state = _attribute_state(t)  # (its Python attributes travel with it, as torch's pickles carry them)
    if t.is_meta:
        return _rebuild_meta_plain, (t.dtype._name, tuple(t.shape), bool(t.requires_grad), _is_parameter(t), state)
    a = np.asarray(t.detach()._value)
    return _rebuild_plain, (a.tobytes(), t.dtype._name, tuple(a.shape), bool(t.requires_grad),
                            _is_parameter(t), state)


def _rebuild_meta_plain(dtype_name, shape, requires_grad, is_param=False, state=None):
    from .. import _meta
    return _finish_plain(_meta.empty(shape, D.to_dtype(dtype_name)), requires_grad, is_param, state)


def _rebuild_plain(data, dtype_name, shape, requires_grad, is_param=False, state=None):
    dt = D.to_dtype(dtype_name)
    t = _T()._wrap(jnp.asarray(np.frombuffer(data, dt.np).reshape(shape)))
    return _finish_plain(t, requires_grad, is_param, state)


def _finish_plain(t, requires_grad, is_param, state):
    if is_param:
        t = _parameter(t, requires_grad)
    elif requires_grad:
        t.requires_grad_(True)
    return t if state is None else _set_attribute_state(t, state)

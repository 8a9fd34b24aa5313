"""torch.nested: tensors of B components that differ in one dimension, packed in one values tensor.

See ``_tensor`` for the representation. Ops reach the nested kernels (``_ops``, ``_attention``) through
``_route``, the way sparse tensors reach theirs.
"""
from ._tensor import NestedTensor, NestedInt
from ._construct import nested_tensor, as_nested_tensor, nested_tensor_from_jagged, narrow, masked_select
from ._padding import to_padded_tensor
from . import _route, _ops, _shape, _attention  # noqa: F401  (the router, its kernels, shape methods)

__all__ = ["nested_tensor", "as_nested_tensor", "nested_tensor_from_jagged", "narrow", "to_padded_tensor",
           "masked_select"]

"""``torch.fx._pytree``: flattening a value by a known TreeSpec (the code a GraphModule traced with
container ``concrete_args`` runs on its arguments)."""
from collections import OrderedDict

from ..utils._pytree import TreeSpec, tree_flatten  # noqa: F401

__all__ = ["tree_flatten_spec"]


def tree_flatten_spec(pytree, spec):
    """The leaves of ``pytree`` where ``spec`` has them: dict entries by the spec's keys, sequence items
    by position (a missing key or index raises as indexing does)."""
    if spec.is_leaf():
        return [pytree]
    if spec.type is type(None):
        return []
    if spec.type is dict or spec.type is OrderedDict:
        kids = [pytree[k] for k in spec.context]
    else:
        kids = [pytree[i] for i in range(spec.num_children)]
    return [leaf for kid, s in zip(kids, spec.children_specs) for leaf in tree_flatten_spec(kid, s)]

"""``torch.fx.passes.shape_prop.ShapeProp``: run the graph and record each node's tensor metadata."""
from typing import NamedTuple, Any

from ..interpreter import Interpreter
from ..node import map_aggregate

__all__ = ["ShapeProp", "TensorMetadata"]


class TensorMetadata(NamedTuple):
    shape: Any
    dtype: Any
    requires_grad: bool
    stride: Any
    memory_format: Any
    is_quantized: bool
    qparams: dict


def _extract_tensor_metadata(t):
    import jtorch
    memory_format = None
    for fmt in (jtorch.contiguous_format, jtorch.channels_last, jtorch.channels_last_3d):
        try:
            if t.is_contiguous(memory_format=fmt):
                memory_format = fmt
                break
        except (RuntimeError, TypeError, ValueError):
            continue
    return TensorMetadata(t.shape, t.dtype, t.requires_grad, t.stride(), memory_format, False, {})


class ShapeProp(Interpreter):
    """``ShapeProp(gm).propagate(*args)`` runs ``gm`` and stores, for every node producing tensors,
    ``node.meta['tensor_meta']`` (shape, dtype, requires_grad, stride, memory format) and ``node.meta['type']``."""

    def run_node(self, n):
        import jtorch
        result = super().run_node(n)
        found = [False]

        def meta(x):
            if isinstance(x, jtorch.Tensor):
                found[0] = True
                return _extract_tensor_metadata(x)
            return x
        m = map_aggregate(result, meta)
        if found[0]:
            n.meta["tensor_meta"] = m
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args):
        return super().run(*args)

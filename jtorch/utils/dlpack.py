"""torch.utils.dlpack: exchange tensors with other libraries without copies."""
from jtorch.interop import from_dlpack, to_dlpack

__all__ = ["from_dlpack", "to_dlpack"]

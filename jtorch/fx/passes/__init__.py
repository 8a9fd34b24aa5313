"""``torch.fx.passes``: graph passes (``shape_prop.ShapeProp``, ``split_module.split_module``)."""
from . import shape_prop, split_module, utils  # noqa: F401

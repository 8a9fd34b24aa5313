"""``torch.fx.passes.utils``."""
from . import matcher_utils  # noqa: F401

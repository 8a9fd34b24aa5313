"""``torch.fx.experimental``: the exception types of symbolic shapes (what torch.export raises)."""
from . import symbolic_shapes  # noqa: F401

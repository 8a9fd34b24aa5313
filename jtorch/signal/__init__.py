"""torch.signal: window functions (``jtorch.signal.windows``)."""
from . import windows  # noqa: F401

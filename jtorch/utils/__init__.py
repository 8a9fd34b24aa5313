"""jtorch.utils: torch.utils's namespace."""
from . import data
from . import safetensors, dlpack
from . import checkpoint  # noqa: E402

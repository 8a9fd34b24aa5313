"""jtorch.utils: torch.utils's namespace."""
from . import data
from . import safetensors, dlpack
from . import checkpoint  # noqa: E402
from . import hooks  # noqa: E402
from ._swap import swap_tensors  # noqa: E402

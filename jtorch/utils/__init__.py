"""jtorch.utils: torch.utils's namespace."""
from . import data
from . import safetensors, dlpack
from . import checkpoint  # noqa: E402
from . import hooks  # noqa: E402
from ._swap import swap_tensors  # noqa: E402
from . import backcompat, collect_env, deterministic, weak  # noqa: E402 (imported by `import torch` too)

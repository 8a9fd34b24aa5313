"""torch.nn.parallel: DistributedDataParallel (one process per rank)."""
from .distributed import DistributedDataParallel  # noqa: F401

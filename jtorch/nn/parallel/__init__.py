"""torch.nn.parallel: DataParallel (the local devices of one process) and DistributedDataParallel
(one process per rank)."""
from .data_parallel import DataParallel, data_parallel  # noqa: F401
from .distributed import DistributedDataParallel  # noqa: F401

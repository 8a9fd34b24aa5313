"""torch.distributed.elastic: the parts torchrun scripts import (``errors.record``)."""
from . import multiprocessing  # noqa: F401

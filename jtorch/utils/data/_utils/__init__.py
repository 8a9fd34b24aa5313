"""torch.utils.data._utils' import paths (``from torch.utils.data._utils.collate import ...``)."""
from . import collate, worker  # noqa: F401
from .._worker import STATUS_CHECK_INTERVAL as MP_STATUS_CHECK_INTERVAL  # noqa: F401

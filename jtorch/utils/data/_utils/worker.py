"""Re-exports of jtorch.utils.data._worker under torch's module path."""
from .._worker import ExceptionWrapper, WorkerInfo, get_worker_info  # noqa: F401

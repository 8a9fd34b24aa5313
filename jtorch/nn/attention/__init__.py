"""torch.nn.attention: choosing scaled_dot_product_attention backends (`sdpa_kernel`, `SDPBackend`).

jtorch runs every backend's call through its one attention kernel (identical numbers to torch's math
path); the context manager sets the same `torch.backends.cuda.*_sdp_enabled` flags torch does, and a
call no enabled backend could run raises torch's error (`backends/cuda.py`, `_check_sdp`)."""
import contextlib
import enum

from ...backends import cuda as _cuda

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.IntEnum):
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __str__(self):  # torch's is a C++ enum: printed with its class name, not as the number
        return f"SDPBackend.{self.name}"


_FLAG = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash",
         SDPBackend.EFFICIENT_ATTENTION: "mem_efficient", SDPBackend.CUDNN_ATTENTION: "cudnn",
         SDPBackend.OVERRIDEABLE: "overrideable"}


def _cur_sdpa_kernel_backends():
    return [b for b, flag in _FLAG.items() if _cuda._SDP[flag]]


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Only the given backends may run scaled_dot_product_attention inside the block."""
    if isinstance(backends, SDPBackend):
        backends = [backends]
    backends = list(backends)
    previous = dict(_cuda._SDP)
    try:
        for b, flag in _FLAG.items():
            _cuda._set_sdp(flag, b in backends)
        yield {}
    finally:
        for flag, on in previous.items():
            _cuda._set_sdp(flag, on)

"""torch.mps: Apple's Metal GPUs. XLA has no Metal target here, so this is torch's MPS module on a machine
without MPS: the queries say so (not available, no devices) and what needs the device raises torch's error."""
from ..backends import mps as _backend
from . import profiler  # noqa: F401
from .event import Event

__all__ = ["compile_shader", "load_metallib", "device_count", "get_rng_state", "manual_seed", "seed", "set_rng_state",
           "synchronize", "empty_cache", "set_per_process_memory_fraction", "current_allocated_memory",
           "driver_allocated_memory", "Event", "profiler", "recommended_max_memory", "is_available"]


def _no_backend(what):
    return RuntimeError(f"Cannot execute {what}() without MPS backend.")


def is_available():
    return _backend.is_available()


def device_count():
    return 0


def synchronize():
    raise _no_backend("deviceSynchronize")


def empty_cache():
    raise _no_backend("emptyCache")


def manual_seed(seed):
    """Seeds the MPS generator; there is none without MPS, so (as in torch) nothing happens."""
    if not is_available():
        return


def seed():
    raise _no_backend("getDefaultGenerator")


def get_rng_state(device="mps"):
    raise _no_backend("getDefaultGenerator")


def set_rng_state(new_state, device="mps"):
    raise _no_backend("getDefaultGenerator")


def current_allocated_memory():
    raise _no_backend("getCurrentAllocatedMemory")


def driver_allocated_memory():
    raise _no_backend("getDriverAllocatedMemory")


def recommended_max_memory():
    raise _no_backend("getRecommendedMaxMemory")


def set_per_process_memory_fraction(fraction):
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if not 0 <= fraction <= 2:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~2")
    raise _no_backend("setMemoryFraction")


def compile_shader(source):
    raise RuntimeError("MPS is not available")


def load_metallib(path):
    raise RuntimeError("MPS is not available")

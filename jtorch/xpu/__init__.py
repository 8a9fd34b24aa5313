"""torch.xpu: Intel GPUs. XLA has no XPU target here, so this is torch's XPU module in a build without XPU:
queries answer "none" (not available, 0 devices, no memory in use) and anything that needs a device raises
torch's AssertionError."""
import collections

from .streams import Event, Stream, StreamContext, current_stream, set_stream, stream  # noqa: F401
from . import streams  # noqa: F401

__all__ = ["Event", "Stream", "StreamContext", "can_device_access_peer", "current_device", "current_stream",
           "default_generators", "device", "device_of", "device_count", "empty_cache", "get_arch_list",
           "get_device_capability", "get_device_name", "get_device_properties", "get_gencode_flags",
           "get_per_process_memory_fraction", "get_rng_state", "get_rng_state_all", "init", "initial_seed",
           "is_available", "is_bf16_supported", "is_initialized", "is_tf32_supported", "manual_seed",
           "manual_seed_all", "max_memory_allocated", "max_memory_reserved", "mem_get_info", "memory_allocated",
           "memory_reserved", "memory_snapshot", "memory_stats", "memory_stats_as_nested_dict",
           "reset_accumulated_memory_stats", "reset_peak_memory_stats", "seed", "seed_all", "set_device",
           "set_per_process_memory_fraction", "set_rng_state", "set_rng_state_all", "set_stream", "stream",
           "streams", "synchronize"]

default_generators = ()


def _not_compiled():
    return AssertionError("Torch not compiled with XPU enabled")


def _is_compiled():
    return False


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def init():
    raise _not_compiled()


_lazy_init = init


def current_device():
    raise _not_compiled()


def set_device(device):
    raise _not_compiled()


def synchronize(device=None):
    raise _not_compiled()


def get_device_name(device=None):
    raise _not_compiled()


def get_device_properties(device=None):
    raise _not_compiled()


def get_device_capability(device=None):
    raise _not_compiled()


def can_device_access_peer(device, peer):
    raise _not_compiled()


def mem_get_info(device=None):
    raise _not_compiled()


def set_per_process_memory_fraction(fraction, device=None):
    raise _not_compiled()


def get_per_process_memory_fraction(device=None):
    raise _not_compiled()


def get_arch_list():
    return []


def get_gencode_flags():
    return ""


def is_bf16_supported(including_emulation=True):
    return False


def is_tf32_supported():
    return False


class device:
    """``with torch.xpu.device(i):``: selecting a device needs XPU support, even index -1."""

    def __init__(self, device):
        from .._device import device as _device
        self.idx = device.index if isinstance(device, _device) else device
        self.prev_idx = -1

    def __enter__(self):
        raise NotImplementedError("PyTorch was compiled without XPU support")

    def __exit__(self, *exc):
        return False


class device_of(device):
    """The XPU device of a tensor (-1 for any other tensor)."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if obj.device.type == "xpu" else -1)


# the random state lives on the devices: with none there is nothing to seed, and nothing to read
def manual_seed(seed):
    int(seed)


def manual_seed_all(seed):
    int(seed)


def seed():
    pass


def seed_all():
    pass


def initial_seed():
    raise _not_compiled()


def get_rng_state(device="xpu"):
    raise _not_compiled()


def get_rng_state_all():
    return []


def set_rng_state(new_state, device="xpu"):
    pass  # torch queues this until the devices start, which they never do here


def set_rng_state_all(new_states):
    for state in new_states:
        set_rng_state(state)


# no device, so no memory in use: the counters read zero and the caches are empty
def empty_cache():
    pass


def memory_stats(device=None):
    return collections.OrderedDict()


def memory_stats_as_nested_dict(device=None):
    return {}


def memory_snapshot(mempool_id=None):
    return []


def memory_allocated(device=None):
    return 0


def max_memory_allocated(device=None):
    return 0


def memory_reserved(device=None):
    return 0


def max_memory_reserved(device=None):
    return 0


def reset_peak_memory_stats(device=None):
    pass


def reset_accumulated_memory_stats(device=None):
    pass

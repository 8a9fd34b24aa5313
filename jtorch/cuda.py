"""torch.cuda backed by jax.devices('gpu'). Without a GPU, queries answer like a
CPU-only torch build and moving data to 'cuda' raises its AssertionError."""
import contextlib

from ._device import gpu_devices, device as _device

_current = [0]


def is_available():
    return any(d is not None for d in gpu_devices())


def device_count():
    return len(gpu_devices())


def _lazy_check():
    if not is_available():
        raise AssertionError("Torch not compiled with CUDA enabled")


def current_device():
    _lazy_check()
    return _current[0]


def set_device(device):
    d = device.index if isinstance(device, _device) else (int(device.split(":")[1]) if isinstance(device, str)
                                                          and ":" in device else device)
    if d is None or d < 0:
        return
    _lazy_check()
    if d >= device_count():
        raise RuntimeError("CUDA error: invalid device ordinal")
    _current[0] = d


def get_device_name(device=None):
    _lazy_check()
    idx = _index(device)
    return gpu_devices()[idx].device_kind


def get_device_properties(device=None):
    _lazy_check()
    d = gpu_devices()[_index(device)]

    class _Props:
        name = d.device_kind
        total_memory = (d.memory_stats() or {}).get("bytes_limit", 0)
        major, minor = 0, 0
        multi_processor_count = getattr(d, "core_count", 0)
    return _Props()


def get_device_capability(device=None):
    _lazy_check()
    cc = getattr(gpu_devices()[_index(device)], "compute_capability", "0.0")
    major, _, minor = str(cc).partition(".")
    return int(major), int(minor or 0)


def _index(device):
    if device is None:
        return _current[0]
    if isinstance(device, int):
        return device
    d = _device(device)
    return d.index if d.index is not None else _current[0]


def synchronize(device=None):
    import jax
    for d in (gpu_devices() or ()):
        pass
    jax.effects_barrier()


def manual_seed(seed):
    from . import random
    random.manual_seed(seed)


manual_seed_all = manual_seed


def seed():
    pass


seed_all = seed


def initial_seed():
    from . import random
    return random.initial_seed()


def _stats(device=None):
    if not is_available():
        return {}
    return gpu_devices()[_index(device)].memory_stats() or {}


def memory_allocated(device=None):
    return int(_stats(device).get("bytes_in_use", 0))


def max_memory_allocated(device=None):
    return int(_stats(device).get("peak_bytes_in_use", 0))


def memory_reserved(device=None):
    return int(_stats(device).get("bytes_reserved", _stats(device).get("bytes_in_use", 0)))


max_memory_reserved = memory_reserved


def reset_peak_memory_stats(device=None):
    pass


def empty_cache():
    pass


def is_bf16_supported(including_emulation=True):
    return is_available()


def is_initialized():
    return is_available()


def init():
    _lazy_check()


def get_arch_list():
    return []


def get_rng_state(device="cuda"):
    from . import random
    return random.get_rng_state()


def set_rng_state(new_state, device="cuda"):
    from . import random
    random.set_rng_state(new_state)


@contextlib.contextmanager
def device_ctx(idx):
    prev = _current[0]
    set_device(idx)
    try:
        yield
    finally:
        _current[0] = prev


class device_of:  # noqa: N801 - torch's name
    def __init__(self, obj):
        self.idx = obj.get_device() if hasattr(obj, "get_device") else -1

    def __enter__(self):
        self.prev = _current[0]
        if self.idx >= 0:
            _current[0] = self.idx

    def __exit__(self, *a):
        _current[0] = self.prev


class Stream:
    def __init__(self, device=None, priority=0, **kwargs):
        self.device = device

    def synchronize(self):
        synchronize()

    def wait_stream(self, stream):
        pass

    def query(self):
        return True


class Event:
    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        self._t = None

    def record(self, stream=None):
        import time
        synchronize()
        self._t = time.perf_counter()

    def synchronize(self):
        synchronize()

    def elapsed_time(self, end):
        return (end._t - self._t) * 1000.0

    def query(self):
        return True


def current_stream(device=None):
    return Stream(device)


default_stream = current_stream


@contextlib.contextmanager
def stream(s):
    yield


class amp:
    """torch.cuda.amp: autocast and GradScaler (see jtorch.amp)."""

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        from .amp import autocast
        return autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    @staticmethod
    def GradScaler(*args, **kwargs):  # noqa: N802
        from .amp import GradScaler
        return GradScaler(*args, **kwargs)

"""Small top-level torch functions about the build and global switches (torch.has_lapack, torch.autocast, ...)."""
from .amp import autocast  # noqa: F401

has_lapack = has_spectral = True
has_mkl = has_openmp = False
_state = {"warn_always": False}


def compiled_with_cxx11_abi():
    return True


def is_vulkan_available():
    return False


def is_distributed(input):
    return False


def init_num_threads():
    return None


def set_flush_denormal(mode):
    return False


def set_warn_always(b):
    _state["warn_always"] = bool(b)


def is_warn_always_enabled():
    return _state["warn_always"]


def set_anomaly_enabled(enabled, check_nan=True):
    from .autograd.anomaly_mode import STATE
    STATE[:] = [bool(enabled), bool(check_nan)]


def is_anomaly_enabled():
    from .autograd.anomaly_mode import STATE
    return STATE[0]


def is_anomaly_check_nan_enabled():
    from .autograd.anomaly_mode import STATE
    return STATE[1]


def get_device(input):
    """-1 for a CPU tensor, the device index otherwise (like Tensor.get_device)."""
    d = input.device
    return -1 if d.type == "cpu" else (d.index or 0)


from ._device import get_default_device, set_default_device  # noqa: E402,F401


def is_autocast_enabled(device_type=None):
    from .amp import _ACTIVE
    return (device_type or "cuda") in _ACTIVE


def get_autocast_dtype(device_type):
    from . import _dtype as D
    from .amp import _ACTIVE
    return _ACTIVE.get(device_type) or (D.bfloat16 if device_type == "cpu" else D.float16)


def get_autocast_gpu_dtype():
    return get_autocast_dtype("cuda")


def get_autocast_cpu_dtype():
    return get_autocast_dtype("cpu")


def is_autocast_cpu_enabled():
    return is_autocast_enabled("cpu")


def is_autocast_cache_enabled():
    return True

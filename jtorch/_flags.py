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


from .amp.autocast_mode import (is_autocast_enabled, get_autocast_dtype, set_autocast_enabled,  # noqa: E402,F401
                                set_autocast_dtype, is_autocast_cache_enabled, set_autocast_cache_enabled,
                                autocast_increment_nesting, autocast_decrement_nesting)


def _per_device_form(device_type, kind, alias=None):
    """torch's older one-device forms of the autocast state functions (deprecated there, so here too)."""
    import warnings
    alias = alias or device_type  # the name the function has: "gpu" for CUDA
    if kind == "is":
        def fn():
            warnings.warn(f"torch.is_autocast_{alias}_enabled() is deprecated. Please use "
                          f"torch.is_autocast_enabled('{device_type}') instead.", DeprecationWarning, stacklevel=2)
            return is_autocast_enabled(device_type)
    elif kind == "get":
        def fn():
            warnings.warn(f"torch.get_autocast_{alias}_dtype() is deprecated. Please use "
                          f"torch.get_autocast_dtype('{device_type}') instead.", DeprecationWarning, stacklevel=2)
            return get_autocast_dtype(device_type)
    elif kind == "set_enabled":
        def fn(enabled):
            warnings.warn(f"torch.set_autocast_{alias}_enabled(enabled) is deprecated. Please use "
                          f"torch.set_autocast_enabled('{device_type}', enabled) instead.", DeprecationWarning,
                          stacklevel=2)
            set_autocast_enabled(device_type, enabled)
    else:
        def fn(dtype):
            warnings.warn(f"torch.set_autocast_{alias}_dtype(dtype) is deprecated. Please use "
                          f"torch.set_autocast_dtype('{device_type}', dtype) instead.", DeprecationWarning,
                          stacklevel=2)
            set_autocast_dtype(device_type, dtype)
    return fn


# torch names CUDA "gpu" in these (and has no is/set_autocast_gpu_enabled: the device-less forms are CUDA's)
_FORMS = (("is", "is_autocast_{}_enabled"), ("get", "get_autocast_{}_dtype"), ("set_enabled", "set_autocast_{}_enabled"),
          ("set_dtype", "set_autocast_{}_dtype"))
for _dev, _alias, _kinds in (("cuda", "gpu", ("get", "set_dtype")), ("cpu", "cpu", None), ("ipu", "ipu", None),
                             ("xla", "xla", None)):
    for _kind, _name in _FORMS:
        if _kinds is None or _kind in _kinds:
            globals()[_name.format(_alias)] = _f = _per_device_form(_dev, _kind, _alias)
            _f.__name__ = _name.format(_alias)
del _dev, _alias, _kinds, _kind, _name, _f

"""torch.accelerator: the current accelerator (a GPU through JAX) if any."""
from . import cuda
from ._device import device as _device


def is_available():
    return cuda.is_available()


def current_accelerator(check_available=False):
    if cuda.is_available():
        return _device("cuda")
    return None


def device_count():
    return cuda.device_count()


def current_device_index():
    return cuda.current_device()


def set_device_index(device):
    cuda.set_device(device)


def synchronize(device=None):
    if not cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    cuda.synchronize(device)

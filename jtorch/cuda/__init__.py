"""torch.cuda backed by jax.devices('gpu'). Without a GPU, every call answers as torch's CPU-only
build does (its values, or its exception types), and moving data to 'cuda' raises its AssertionError."""
import typing

from .._device import gpu_devices, device as _device
from .._errors import AcceleratorError, OutOfMemoryError  # noqa: F401 (torch.cuda re-exports them)

_current = [0]
Device = typing.Union[_device, str, int, None]  # what the functions here accept as a device
has_half = True
has_magma = False


class CudaError(RuntimeError):
    """An error code reported by the CUDA runtime."""

    def __init__(self, code):
        self.code = code
        super().__init__(f"CUDA error: {code}")


class DeferredCudaCallError(Exception):
    """A call queued until CUDA initialisation failed when it finally ran."""


class cudaStatus:  # noqa: N801 - torch's name
    SUCCESS = 0
    ERROR_NOT_READY = 34


def check_error(res):
    """Raise CudaError for a CUDA runtime status other than success."""
    if not is_available():
        raise AttributeError("'NoneType' object has no attribute 'cudaError' (torch.cuda without a GPU)")
    if res != cudaStatus.SUCCESS:
        raise CudaError(res)


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
    d = _device_index(device, optional=True)
    if d is None or d < 0:
        return
    _lazy_check()
    if d >= device_count():
        raise RuntimeError("CUDA error: invalid device ordinal")
    _current[0] = d


def _device_index(device, optional=False):
    """torch's _get_device_index for CUDA: an int, 'cuda:i', torch.device('cuda', i); -1 for none."""
    if isinstance(device, str):
        device = _device(device)
    if isinstance(device, _device):
        if device.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {device}")
        if device.index is None:
            if not optional:
                raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{device}")
            return current_device() if is_available() else None
        return device.index
    if device is None:
        if not optional:
            raise ValueError("Expected a torch.device with a specified index or an integer, but got:None")
        return current_device() if is_available() else -1
    return int(device)


def get_device_name(device=None):
    _lazy_check()
    idx = _index(device)
    return gpu_devices()[idx].device_kind


def get_device_properties(device=None):
    _lazy_check()
    d = gpu_devices()[_index(device)]
    major, minor = get_device_capability(device)

    class _Props:
        name = d.device_kind
        total_memory = (d.memory_stats() or {}).get("bytes_limit", 0)
        multi_processor_count = getattr(d, "core_count", 0)
    _Props.major, _Props.minor = major, minor
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
    """Wait for every computation dispatched to the GPU (all of its live arrays ready)."""
    _lazy_check()
    from .._streams import sync_device
    sync_device(_index(device))


def manual_seed(seed):
    # jtorch draws every device's random numbers from the one default generator
    from .. import random
    random.manual_seed(seed)


manual_seed_all = manual_seed


def seed():
    pass


seed_all = seed


def initial_seed():
    from .. import random
    return random.initial_seed()


def is_bf16_supported(including_emulation=True):
    if not is_available():
        return False
    return including_emulation or get_device_capability() >= (8, 0)


def is_tf32_supported():
    """TF32 needs the same hardware as native bfloat16 (compute capability 8.0 and later)."""
    return is_bf16_supported(including_emulation=False)


def is_initialized():
    return is_available()


def init():
    _lazy_check()


def get_arch_list():
    return []


def get_gencode_flags():
    return ""


def ipc_collect():
    _lazy_check()


def get_sync_debug_mode():
    _lazy_check()
    return 0


def set_sync_debug_mode(debug_mode):
    _lazy_check()
    if debug_mode not in (0, 1, 2, "default", "warn", "error"):
        raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`")


def can_device_access_peer(device, peer_device):
    """Whether one GPU can read another's memory: XLA copies between the GPUs of a process directly,
    so two distinct GPUs here can; a device and itself is not a peer pair (CUDA answers False)."""
    _lazy_check()
    device = _device_index(device, optional=True)
    peer_device = _device_index(peer_device)
    if device < 0 or device >= device_count():
        raise AssertionError("Invalid device id")
    if peer_device < 0 or peer_device >= device_count():
        raise AssertionError("Invalid peer device id")
    return device != peer_device and gpu_devices()[device] is not None and gpu_devices()[peer_device] is not None


# ---------------------------------------------------------------- random state
def _generators():
    from .. import random
    return tuple(random.default_generator for _ in range(device_count()))


def get_rng_state(device="cuda"):
    _lazy_check()
    from .. import random
    return random.get_rng_state()


def set_rng_state(new_state, device="cuda"):
    if not is_available():
        return  # torch queues the call until CUDA starts, which never happens without a GPU
    from .. import random
    random.set_rng_state(new_state)


def get_rng_state_all():
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states):
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def __getattr__(name):
    if name == "default_generators":  # one per GPU; jtorch draws all of them from the default generator
        return _generators()
    raise AttributeError(f"module 'jtorch.cuda' has no attribute '{name}'")


# ---------------------------------------------------------------- device context managers
class device:  # noqa: N801 - torch's name
    """``with torch.cuda.device(i):`` makes GPU i current inside the block (a negative index: no change)."""

    def __init__(self, device):
        self.idx = _device_index(device, optional=True)
        self.prev_idx = -1

    def __enter__(self):
        if self.idx is None:
            raise TypeError("torch.cuda.device: no CUDA device to select (no GPU)")
        if self.idx < 0:
            return
        if not is_available():
            raise RuntimeError("PyTorch was compiled without CUDA support")
        self.prev_idx = _current[0]
        set_device(self.idx)

    def __exit__(self, *exc):
        if self.idx is not None and self.idx >= 0 and self.prev_idx >= 0:
            _current[0] = self.prev_idx
        return False


def device_ctx(idx):
    return device(idx)


class device_of(device):  # noqa: N801 - torch's name
    """``with torch.cuda.device_of(tensor):`` makes the tensor's GPU current (a CPU tensor: no change)."""

    def __init__(self, obj):
        idx = obj.get_device() if hasattr(obj, "get_device") and getattr(obj, "is_cuda", False) else -1
        super().__init__(idx)


# ---------------------------------------------------------------- NVML queries
def _nvml_handle(device):
    try:
        import pynvml
    except ImportError:
        raise ModuleNotFoundError("nvidia-ml-py does not seem to be installed or it can't be imported.") from None
    pynvml.nvmlInit()
    idx = _device_index(device, optional=True)
    jd = gpu_devices()[idx] if 0 <= idx < device_count() else None
    hw = getattr(jd, "local_hardware_id", idx) if jd is not None else idx
    return pynvml, pynvml.nvmlDeviceGetHandleByIndex(hw if hw is not None else idx)


def utilization(device=None):
    """Percent of the last sample period in which a kernel ran on the GPU (NVML)."""
    nv, h = _nvml_handle(device)
    return nv.nvmlDeviceGetUtilizationRates(h).gpu


def memory_usage(device=None):
    """Percent of the last sample period in which device memory was read or written (NVML)."""
    nv, h = _nvml_handle(device)
    return nv.nvmlDeviceGetUtilizationRates(h).memory


def temperature(device=None):
    nv, h = _nvml_handle(device)
    return nv.nvmlDeviceGetTemperature(h, 0)  # the GPU sensor, degrees C


def power_draw(device=None):
    nv, h = _nvml_handle(device)
    return nv.nvmlDeviceGetPowerUsage(h)  # milliwatts


def clock_rate(device=None):
    nv, h = _nvml_handle(device)
    return nv.nvmlDeviceGetClockInfo(h, 1)  # SM clock, MHz


def device_memory_used(device=None):
    nv, h = _nvml_handle(device)
    return nv.nvmlDeviceGetMemoryInfo(h).used


def list_gpu_processes(device=None):
    try:
        nv, h = _nvml_handle(device)
    except ModuleNotFoundError:
        return "pynvml module not found, please install nvidia-ml-py"
    procs = nv.nvmlDeviceGetComputeRunningProcesses(h)
    lines = [f"GPU:{_device_index(device, optional=True)}"]
    if not procs:
        lines.append("no processes are running")
    for p in procs:
        lines.append(f"process {p.pid:>10d} uses {p.usedGpuMemory / (1024 * 1024):>12.3f} MB GPU memory")
    return "\n".join(lines)


from .memory import *  # noqa: E402,F401,F403
from .streams import *  # noqa: E402,F401,F403
from .graphs import *  # noqa: E402,F401,F403
from ._types import *  # noqa: E402,F401,F403


class amp:
    """torch.cuda.amp: autocast and GradScaler (see jtorch.amp)."""

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        from ..amp import autocast
        return autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    @staticmethod
    def GradScaler(*args, **kwargs):  # noqa: N802
        from ..amp import GradScaler
        return GradScaler(*args, **kwargs)

    @staticmethod
    def custom_fwd(fwd=None, *, cast_inputs=None):
        """Deprecated torch.cuda.amp form of torch.amp.custom_fwd(device_type='cuda')."""
        import warnings
        from ..amp import custom_fwd
        warnings.warn("`torch.cuda.amp.custom_fwd(args...)` is deprecated. Please use "
                      "`torch.amp.custom_fwd(args..., device_type='cuda')` instead.", FutureWarning, stacklevel=2)
        return custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)

    @staticmethod
    def custom_bwd(bwd):
        """Deprecated torch.cuda.amp form of torch.amp.custom_bwd(device_type='cuda')."""
        import warnings
        from ..amp import custom_bwd
        warnings.warn("`torch.cuda.amp.custom_bwd(args...)` is deprecated. Please use "
                      "`torch.amp.custom_bwd(args..., device_type='cuda')` instead.", FutureWarning, stacklevel=2)
        return custom_bwd(bwd, device_type="cuda")

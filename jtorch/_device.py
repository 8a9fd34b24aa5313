"""torch.device: a plain value ('cpu', 'cuda:0', ...) mapped onto JAX's devices."""
import functools


class device:
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got ({type!r})")
        if ":" in type:
            if index is not None:
                raise ValueError("type (string) must not include an index because index was passed explicitly: " + type)
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in ("cpu", "cuda", "mps", "xpu", "meta", "xla", "tpu"):
            raise RuntimeError(
                "Expected one of cpu, cuda, mps, meta, xla device type at start of device string: " + type)
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative")
        self.type, self.index = type, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))

    # ``with torch.device("cuda"):``: factory functions called without a device use this one
    def __enter__(self):
        _DEFAULT_STACK.append(DEFAULT[0])
        DEFAULT[0] = self
        return self

    def __exit__(self, *exc):
        DEFAULT[0] = _DEFAULT_STACK.pop()
        return False


# The device factory functions (zeros, tensor, arange, ...) use when given none: None means the CPU
# (the platform default, without touching XLA's backends at import). Set by set_default_device and
# ``with torch.device(...)``.
DEFAULT = [None]
_DEFAULT_STACK = []


def set_default_device(d):
    DEFAULT[0] = None if d is None else device(d)


def get_default_device():
    d = DEFAULT[0]
    if d is None:
        return device("cpu")
    if d.type == "cuda" and d.index is None:  # torch reports the current CUDA device
        if not gpu_devices():
            raise AssertionError("Torch not compiled with CUDA enabled")
        return device("cuda", 0)
    return d


CPU = device("cpu")


def to_device(d):
    if d is None or isinstance(d, device):
        return d
    return device(d)


@functools.lru_cache(None)
def _jax_devices(kind):
    """This process's devices of ``kind`` (under jax.distributed, jax.devices() lists every process's)."""
    import jax
    try:
        return tuple(jax.local_devices(backend=kind))
    except RuntimeError:
        return ()


@functools.lru_cache(None)
def gpu_devices():
    """This process's GPUs indexed by torch's CUDA ordinal. A process given one GPU of several
    (jtorch.distributed: one process per GPU) keeps that GPU's machine ordinal, so ``cuda:LOCAL_RANK``
    names it as in torch; the other ordinals are None."""
    gpus = _jax_devices("gpu")
    ids = [getattr(d, "local_hardware_id", None) for d in gpus]
    if not gpus or None in ids or len(set(ids)) != len(ids) or ids == list(range(len(ids))):
        return gpus
    table = [None] * (max(ids) + 1)
    for i, d in zip(ids, gpus):
        table[i] = d
    return tuple(table)


def jax_device(d):
    """The jax.Device that backs a torch device; raises torch's errors when absent."""
    if d.type == "cpu":
        return _jax_devices("cpu")[0]
    if d.type == "cuda":
        gpus = gpu_devices()
        if not gpus:
            raise AssertionError("Torch not compiled with CUDA enabled")
        from . import cuda
        idx = cuda.current_device() if d.index is None else d.index
        if idx >= len(gpus) or gpus[idx] is None:
            raise RuntimeError("CUDA error: invalid device ordinal")
        return gpus[idx]
    if d.type == "mps":
        raise RuntimeError("MPS backend is not available on this machine")
    if d.type == "xpu":
        raise AssertionError("Torch not compiled with XPU enabled")
    if d.type == "meta":
        raise NotImplementedError("the meta device holds no data: there is no JAX device to put an array on")
    raise RuntimeError(f"device type {d.type} is not available")


def from_jax_device(jd):
    if jd.platform == "cpu":
        return CPU
    return device("cuda", gpu_devices().index(jd))

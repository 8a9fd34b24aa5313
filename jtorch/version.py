"""torch.version: what this build is. jtorch runs on whatever backend JAX has, so ``cuda`` is the
CUDA runtime's version when JAX has a CUDA GPU, and None otherwise (as in torch's CPU build).
It is worked out on first use: asking earlier would start XLA's backends at import."""
from . import __version__  # noqa: F401

hip = None
rocm = None
xpu = None
debug = False
git_version = "Unknown"  # torch's value when the build has no git checkout to name


def _cuda_version():
    from . import cuda
    if not cuda.is_available():
        return None
    try:
        from jax._src.lib import cuda_versions
        v = cuda_versions.cuda_runtime_get_version()
        return f"{v // 1000}.{v % 1000 // 10}"
    except Exception:  # a CUDA backend whose plugin does not report its runtime
        return "Unknown"


def __getattr__(name):
    if name == "cuda":
        globals()["cuda"] = v = _cuda_version()
        return v
    raise AttributeError(f"module 'jtorch.version' has no attribute '{name}'")

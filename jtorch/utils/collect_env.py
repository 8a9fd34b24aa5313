"""torch.utils.collect_env for jtorch: the versions that matter when reporting a jtorch problem (jtorch, JAX,
jaxlib, NumPy, Python, the OS, JAX's devices). ``python -m jtorch.utils.collect_env`` prints them."""
import platform
import sys
from collections import namedtuple

__all__ = ["SystemEnv", "get_env_info", "get_pretty_env_info", "main"]

SystemEnv = namedtuple("SystemEnv", [
    "jtorch_version", "jax_version", "jaxlib_version", "numpy_version", "optax_version", "torch_version",
    "python_version", "python_platform", "os", "jax_backend", "jax_devices", "is_cuda_available"])


def _version(module):
    try:
        mod = __import__(module)
    except ImportError:
        return "N/A"
    return getattr(mod, "__version__", "N/A")


def get_env_info():
    from .. import version, cuda
    try:
        import jax
        backend = jax.default_backend()
        devices = ", ".join(str(d) for d in jax.devices())
    except Exception as e:  # a broken JAX install is exactly what this report is for
        backend, devices = "N/A", f"could not list devices: {e}"
    return SystemEnv(
        jtorch_version=version.__version__, jax_version=_version("jax"), jaxlib_version=_version("jaxlib"),
        numpy_version=_version("numpy"), optax_version=_version("optax"),
        torch_version=_version("torch") if "torch" in sys.modules or _has("torch") else "N/A",
        python_version=f"{sys.version.replace(chr(10), ' ')} ({sys.maxsize.bit_length() + 1}-bit runtime)",
        python_platform=platform.platform(), os=f"{platform.system()} {platform.release()}".strip(),
        jax_backend=backend, jax_devices=devices, is_cuda_available=cuda.is_available())


def _has(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


def get_pretty_env_info():
    env = get_env_info()
    rows = [("jtorch version", env.jtorch_version), ("JAX version", env.jax_version),
            ("jaxlib version", env.jaxlib_version), ("NumPy version", env.numpy_version),
            ("optax version", env.optax_version), ("PyTorch installed beside it", env.torch_version), ("", ""),
            ("OS", env.os), ("Python version", env.python_version), ("Python platform", env.python_platform),
            ("", ""), ("JAX default backend", env.jax_backend), ("JAX devices", env.jax_devices),
            ("Is CUDA available", env.is_cuda_available)]
    return "\n".join(f"{k}: {v}" if k else "" for k, v in rows)


def main():
    print("Collecting environment information...")
    print(get_pretty_env_info())


if __name__ == "__main__":
    main()

"""torch.ao: quantization (``torch.ao.quantization``, ``torch.ao.nn.quantized``). Submodules load on first use."""
import importlib as _importlib


def __getattr__(name):
    if name in ("quantization", "nn"):
        return _importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'jtorch.ao' has no attribute '{name}'")

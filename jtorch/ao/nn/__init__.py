"""torch.ao.nn: quantized (``quantized``, ``quantized.dynamic``) and fused (``intrinsic``) modules."""
import importlib as _importlib


def __getattr__(name):
    if name in ("quantized", "intrinsic"):
        return _importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'jtorch.ao.nn' has no attribute '{name}'")

"""torch.ao.nn: quantized (``quantized``, ``quantized.dynamic``), quantization-aware training (``qat``) and fused
(``intrinsic``, ``intrinsic.qat``) modules."""
import importlib as _importlib


def __getattr__(name):
    if name in ("quantized", "intrinsic", "qat"):
        return _importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'jtorch.ao.nn' has no attribute '{name}'")

"""torch.ao.nn: quantized (``quantized``, ``quantized.dynamic``), quantization-aware training (``qat``) and fused
(``intrinsic``, ``intrinsic.qat``) modules."""
import importlib as _importlib


def __getattr__(name):
    if name in ("quantized", "intrinsic", "qat"):
        return _importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'jtorch.ao.nn' has no attribute '{name}'")


def _legacy_alias(legacy, target):
    """Make ``legacy`` (torch.nn.quantized & co) name the very modules of ``target`` (torch.ao.nn.*), its loaded
    submodules included, so that imports under either name give the same classes."""
    import sys
    module = _importlib.import_module(target)
    for name, m in list(sys.modules.items()):
        if name == target or name.startswith(target + "."):
            sys.modules[legacy + name[len(target):]] = m
    return module

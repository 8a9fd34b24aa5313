"""skip_init and the conv weight memory-format converters (layout is XLA's choice here, so these
return the module unchanged apart from what torch guarantees: same values)."""
import inspect

__all__ = ["skip_init", "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def skip_init(module_cls, *args, **kwargs):
    """Construct ``module_cls(*args, **kwargs)`` without running its initialisation: the module is
    built on the meta device (no values, nothing drawn) and then given uninitialised storage on the
    requested device (``to_empty``). Like torch, the class must accept a ``device`` argument."""
    from ..modules.module import Module
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    return module_cls(*args, **kwargs).to_empty(device=final_device)


def _convert(module, memory_format):
    # XLA picks the layout of its arrays; values (and so results) do not depend on torch's memory format
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """Returns ``module``: conv weight layout is XLA's choice in jtorch."""
    return _convert(module, memory_format)


def convert_conv3d_weight_memory_format(module, memory_format):
    """Returns ``module``: conv weight layout is XLA's choice in jtorch."""
    return _convert(module, memory_format)

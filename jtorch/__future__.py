"""torch.__future__: switches for behaviours torch plans to make the default. Both concern how ``Module._apply``
(``.to()``, ``.double()``, ``.cuda()``, ...) puts converted parameters in place:

- overwrite: each parameter becomes a new Parameter object (default: the old object takes the new data);
- swap: the old Parameter object and a new one trade contents with ``torch.utils.swap_tensors``, so references
  to the parameter (an optimizer's, say) see the converted tensor, and so does anything that keeps its class
  or attributes. It takes precedence over overwrite.
"""
_overwrite_module_params_on_conversion = False
_swap_module_params_on_conversion = False


def set_overwrite_module_params_on_conversion(value):
    global _overwrite_module_params_on_conversion
    _overwrite_module_params_on_conversion = value


def get_overwrite_module_params_on_conversion():
    return _overwrite_module_params_on_conversion


def set_swap_module_params_on_conversion(value):
    global _swap_module_params_on_conversion
    _swap_module_params_on_conversion = value


def get_swap_module_params_on_conversion():
    return _swap_module_params_on_conversion

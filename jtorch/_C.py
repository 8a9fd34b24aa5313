"""torch._C: the parts of torch's C module that Python code reaches for (the __torch_function__ switches)."""
from ._torch_function import DisableTorchFunction, DisableTorchFunctionSubclass, _disabled_torch_function_impl  # noqa
from . import _torch_function as _tf
from ._dispatch_keys import DispatchKey, DispatchKeySet  # noqa: F401  (torch.library's dispatch key names)
from ._subclass_dispatch import DisableTorchDispatch, _disabled_torch_dispatch_impl  # noqa: F401


def _is_torch_function_enabled():
    return not _tf.STATE.all_off


def _is_torch_function_mode_enabled():
    return not _tf.STATE.all_off and bool(_tf.MODES)


def _has_torch_function(args):
    from .overrides import has_torch_function
    return has_torch_function(args)


def _has_torch_function_unary(a):
    from .overrides import has_torch_function_unary
    return has_torch_function_unary(a)


def _has_torch_function_variadic(*args):
    from .overrides import has_torch_function_variadic
    return has_torch_function_variadic(*args)


def _set_grad_enabled(mode):
    """Turn gradient recording on or off (what torch.set_grad_enabled's blocks call; explain's graphs
    record it where a function switches the mode)."""
    from ._dispatch import GRAD
    GRAD.enabled = bool(mode)

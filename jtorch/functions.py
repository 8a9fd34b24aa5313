"""torch-level helpers that are not ops on tensor values."""
import builtins

import numpy as np

from . import _dispatch
from . import _dtype as D

__all__ = ["is_tensor", "is_storage", "numel", "result_type", "typename", "is_nonzero", "clear_autocast_cache",
           "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
           "get_deterministic_debug_mode", "set_num_threads",
           "get_num_threads", "set_num_interop_threads", "get_num_interop_threads", "is_grad_enabled_",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "allclose", "equal", "_assert"]


def is_tensor(obj):
    return isinstance(obj, _dispatch.Tensor)


def is_storage(obj):
    from ._storage import TypedStorage, UntypedStorage
    return isinstance(obj, (TypedStorage, UntypedStorage))


def numel(input):
    return input.numel()


def typename(obj):
    return obj.type() if is_tensor(obj) else type(obj).__name__


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input.item() != 0)


def result_type(tensor1, tensor2):
    dims, zeros, scalars = [], [], []
    for a in (tensor1, tensor2):
        if is_tensor(a):
            (dims if a.ndim else zeros).append(a.dtype)
        else:
            scalars.append(D.scalar_dtype(a))
    return D.result_type_of(dims, zeros, scalars)


def clear_autocast_cache():
    pass


_det = [False, False]  # [enabled, warn_only]
# torch.utils.deterministic.fill_uninitialized_memory: with deterministic algorithms on, empty() fills
_fill_uninitialized = [True]


def use_deterministic_algorithms(mode, *, warn_only=False):
    _det[:] = [builtins.bool(mode), builtins.bool(warn_only)]


def are_deterministic_algorithms_enabled():
    return _det[0]


def is_deterministic_algorithms_warn_only_enabled():
    return _det[1]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode):
    """0/"default": off; 1/"warn": deterministic algorithms, warn only; 2/"error": deterministic."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               + debug_mode)
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, builtins.int):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    return 0 if not _det[0] else (1 if _det[1] else 2)


def set_num_threads(n):
    pass


def get_num_threads():
    import os
    return os.cpu_count() or 1


set_num_interop_threads = set_num_threads
get_num_interop_threads = get_num_threads
is_grad_enabled_ = None

_mm_precision = ["highest"]


def set_float32_matmul_precision(precision):
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision {precision}")
    _mm_precision[0] = precision


def get_float32_matmul_precision():
    return _mm_precision[0]


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return builtins.bool(_dispatch.REGISTRY["isclose"](input, other, rtol, atol, equal_nan).all())


def equal(input, other):
    if tuple(input.shape) != tuple(other.shape):
        return False
    return builtins.bool((input == other).all())


def _assert(condition, message):
    """torch._assert: ``assert`` as a function (symbolic tracing records it; ``assert`` statements cannot be)."""
    assert condition, message

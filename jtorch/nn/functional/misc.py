"""``normalize``: Lp-normalisation along a dimension (torch.nn.functional)."""
from ..._ops import embedding_ops as K

__all__ = ["normalize", "assert_int_or_pair", "boolean_dispatch", "DType"]

DType = int  # torch's annotation for a dtype given as its number


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    n = max(input.dim(), 1)  # a 0-dim tensor takes dims -1 and 0
    d = dim + n if dim < 0 else dim
    if not 0 <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(input.dim(), 1)}, "
                         f"{max(input.dim(), 1) - 1}], but got {dim})")
    if input.dim() == 0:  # a 0-dim input is normalised as a 1-element vector
        res = K._normalize(input.reshape(1), p=float(p), dim=0, eps=float(eps)).reshape(())
    else:
        res = K._normalize(input, p=float(p), dim=d, eps=float(eps))
    if out is not None:
        return out.copy_(res)
    return res


def assert_int_or_pair(arg, arg_name, message):
    """Asserts that ``arg`` is an int or has two entries; ``message`` is formatted with ``arg_name``."""
    assert isinstance(arg, int) or len(arg) == 2, message.format(arg_name)


def boolean_dispatch(arg_name, arg_index, default, if_true, if_false, module_name, func_name):
    """One function calling ``if_true`` or ``if_false`` by a flag argument (given by keyword ``arg_name``, at
    position ``arg_index``, or else ``default``): how torch makes e.g. a pooling with and without indices one name."""
    def dispatch(*args, **kwargs):
        flag = kwargs[arg_name] if arg_name in kwargs else args[arg_index] if arg_index < len(args) else default
        return (if_true if flag else if_false)(*args, **kwargs)
    if if_true.__doc__ is not None and if_false.__doc__ is not None:
        raise RuntimeError("only one function can have a docstring")
    dispatch.__doc__ = if_true.__doc__ if if_true.__doc__ is not None else if_false.__doc__
    dispatch.__module__ = module_name
    dispatch.__name__ = func_name
    return dispatch

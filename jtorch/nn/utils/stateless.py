"""torch.nn.utils.stateless: the pre-2.0 home of functional_call (torch.func.functional_call now)."""
import warnings

__all__ = ["functional_call"]


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """Deprecated: ``torch.func.functional_call``, which takes the same arguments."""
    from ...func import functional_call as current
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in "
                  "a future version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=2)
    return current(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)

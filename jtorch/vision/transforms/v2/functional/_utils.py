"""The kernel registry behind v2.functional: each functional looks up the kernel registered for its input's
type (PIL image, plain tensor, or a tv_tensor class, searched along the MRO) and calls it. Kernels registered
for Image / Video / Mask run on the plain tensor and their result is re-wrapped as the input's type; those for
BoundingBoxes / KeyPoints handle the metadata themselves."""
import functools

import jtorch as torch
from jtorch.vision import tv_tensors

_KERNEL_REGISTRY = {}


def is_pure_tensor(inpt):
    return isinstance(inpt, torch.Tensor) and not isinstance(inpt, tv_tensors.TVTensor)


def _unwrapping(kernel):
    @functools.wraps(kernel)
    def wrapper(inpt, *args, **kwargs):
        return tv_tensors.wrap(kernel(inpt.as_subclass(torch.Tensor), *args, **kwargs), like=inpt)
    return wrapper


def _register(functional, *input_types, tv_tensor_wrapper=True):
    """Register the decorated kernel for ``functional`` on each of ``input_types``."""
    registry = _KERNEL_REGISTRY.setdefault(functional, {})

    def decorator(kernel):
        for t in input_types:
            if t in registry:
                raise TypeError(f"Functional '{functional}' already has a kernel registered for type '{t}'.")
            wrap = tv_tensor_wrapper and isinstance(t, type) and issubclass(t, tv_tensors.TVTensor)
            registry[t] = _unwrapping(kernel) if wrap else kernel
        return kernel
    return decorator


def register_kernel(functional, tv_tensor_cls):
    """Decorator: register a kernel of ``functional`` for a custom TVTensor class."""
    if isinstance(functional, str):
        from jtorch.vision.transforms.v2 import functional as F
        name, functional = functional, getattr(F, functional, None)
        if functional is None or functional not in _KERNEL_REGISTRY:
            raise ValueError(f"Could not find functional with name '{name}' in torchvision.transforms.v2.functional.")
    elif functional not in _KERNEL_REGISTRY:
        raise ValueError("Kernels can only be registered on functionals from the torchvision.transforms.v2."
                         f"functional namespace, but got {functional}.")
    if not (isinstance(tv_tensor_cls, type) and issubclass(tv_tensor_cls, tv_tensors.TVTensor)):
        raise ValueError("Kernels can only be registered for subclasses of torchvision.tv_tensors.TVTensor, "
                         f"but got {tv_tensor_cls}.")
    if tv_tensor_cls in (tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask, tv_tensors.BoundingBoxes,
                         tv_tensors.KeyPoints):
        raise ValueError(f"Kernels cannot be registered for the builtin tv_tensor classes, but got {tv_tensor_cls}")
    return _register(functional, tv_tensor_cls, tv_tensor_wrapper=False)


def _get_kernel(functional, input_type, *, allow_passthrough=False):
    registry = _KERNEL_REGISTRY.get(functional)
    if not registry:
        raise ValueError(f"No kernel registered for functional {functional.__name__}.")
    for cls in input_type.__mro__:
        if cls in registry:
            return registry[cls]
        if cls is tv_tensors.TVTensor:  # a custom tv_tensor never falls back to the plain-tensor kernel
            break
    if allow_passthrough:
        return lambda inpt, *args, **kwargs: inpt
    raise TypeError(f"Functional F.{functional.__name__} supports inputs of type {registry.keys()}, "
                    f"but got {input_type} instead.")


def dispatcher(stub):
    """Turn a signature stub into the functional that dispatches on its first argument's type."""
    @functools.wraps(stub)
    def functional(inpt, *args, **kwargs):
        return _get_kernel(functional, type(inpt))(inpt, *args, **kwargs)
    return functional


def _squeezed(kernel):
    """Run an image kernel on a mask (..., H, W): a 2-D mask gets a channel axis for the call."""
    @functools.wraps(kernel)
    def wrapper(mask, *args, **kwargs):
        if mask.ndim < 3:
            return kernel(mask.unsqueeze(0), *args, **kwargs).squeeze(0)
        return kernel(mask, *args, **kwargs)
    return wrapper

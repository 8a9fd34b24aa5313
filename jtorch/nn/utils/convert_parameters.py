"""Flatten parameters into one vector and back."""
import jtorch as torch

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param, old):
    dev = param.device
    if old is not None and dev != old:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return dev


def parameters_to_vector(parameters):
    dev = None
    vec = []
    for p in parameters:
        dev = _check_same_device(p, dev)
        vec.append(p.view(-1))
    return torch.cat(vec)


def vector_to_parameters(vec, parameters):
    if not isinstance(vec, torch.Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    dev = None
    pointer = 0
    for p in parameters:
        dev = _check_same_device(p, dev)
        n = p.numel()
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n

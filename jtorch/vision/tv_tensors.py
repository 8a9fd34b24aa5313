"""torchvision.tv_tensors: Tensor subclasses that tell the v2 transforms what a tensor holds (an image, a
video, a segmentation mask, bounding boxes, key points) and carry its metadata (box format, canvas size).

Torch ops on a TVTensor return plain tensors (the metadata would often be wrong after an arbitrary op),
except clone / to / detach / requires_grad_, which keep the type; ``set_return_type("TVTensor")`` keeps it
for every op. ``wrap(tensor, like=tv)`` re-dresses a plain result as ``tv``'s type and metadata.
"""
from enum import Enum

import jtorch as torch
from jtorch._C import DisableTorchFunctionSubclass
from jtorch.utils._pytree import tree_flatten

__all__ = ["TVTensor", "Image", "Video", "Mask", "BoundingBoxes", "BoundingBoxFormat", "KeyPoints",
           "set_return_type", "wrap", "is_rotated_bounding_format"]

_RETURN_SUBCLASS = [False]


class _ReturnType:
    """What set_return_type returns: the setting is already made; as a context it is undone on exit."""

    def __init__(self, previous):
        self._previous = previous

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _RETURN_SUBCLASS[0] = self._previous
        return False


def set_return_type(return_type):
    """"Tensor" (the default): ops on TVTensors give plain tensors; "TVTensor": they keep the type."""
    previous = _RETURN_SUBCLASS[0]
    try:
        _RETURN_SUBCLASS[0] = {"tensor": False, "tvtensor": True}[return_type.lower()]
    except KeyError:
        raise ValueError(f"return_type must be 'TVTensor' or 'Tensor', got {return_type}") from None
    return _ReturnType(previous)


# the methods whose result keeps the TVTensor type whatever the return type
_KEEP_TYPE = {"clone", "to", "detach", "requires_grad_", "pin_memory"}


def _method_name(func):
    """The name of a Tensor method (``func`` is the bound or unbound entry jtorch hands over)."""
    return getattr(func, "__name__", None)


class TVTensor(torch.Tensor):
    """Base of the tv_tensors: a Tensor whose ops give plain tensors (see the module docstring)."""

    def __init_subclass__(cls, **kwargs):
        # each subclass takes part in dispatch with TVTensor's rule (jtorch's own subclasses otherwise opt out)
        if "__torch_function__" not in cls.__dict__:
            cls.__torch_function__ = TVTensor.__dict__["__torch_function__"]
        super().__init_subclass__(**kwargs)

    @staticmethod
    def _to_tensor(data, dtype=None, device=None, requires_grad=None):
        if requires_grad is None:
            requires_grad = data.requires_grad if isinstance(data, torch.Tensor) else False
        return torch.as_tensor(data, dtype=dtype, device=device).requires_grad_(requires_grad)

    @classmethod
    def _wrap_output(cls, output, args=(), kwargs=None):
        if isinstance(output, torch.Tensor) and not isinstance(output, cls):
            output = output.as_subclass(cls)
        if isinstance(output, (tuple, list)):
            output = type(output)(cls._wrap_output(part, args, kwargs) for part in output)
        return output

    @classmethod
    def wrap(cls, tensor, like, **kwargs):
        return tensor.as_subclass(cls)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if not all(issubclass(cls, t) for t in types):
            return NotImplemented
        with DisableTorchFunctionSubclass():
            output = func(*args, **(kwargs or {}))
        keep = _RETURN_SUBCLASS[0] or (_method_name(func) in _KEEP_TYPE and args and isinstance(args[0], cls))
        if keep:
            return cls._wrap_output(output, args, kwargs)
        if isinstance(output, cls):
            return output.as_subclass(torch.Tensor)
        return output

    def __repr__(self, *, tensor_contents=None):
        # torch prints a subclass under its own name: "Mask([[0, 1],\n      [1, 0]])"
        with DisableTorchFunctionSubclass():
            text = torch.Tensor.__repr__(self.as_subclass(torch.Tensor))
        name = type(self).__name__
        return name + text[len("tensor"):].replace("\n" + " " * len("tensor("), "\n" + " " * (len(name) + 1))

    def _make_repr(self, **kwargs):
        extra = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        return f"{TVTensor.__repr__(self)[:-1]}, {extra})"

    def __deepcopy__(self, memo):
        return self.detach().clone().requires_grad_(self.requires_grad)

    def __reduce_ex__(self, protocol):
        # pickling (DataLoader workers, torch.save) keeps the type and the metadata
        meta = {k: v for k, v in self.__dict__.items() if k in ("format", "canvas_size", "clamping_mode")}
        with DisableTorchFunctionSubclass():
            plain = self.as_subclass(torch.Tensor).detach().clone()
        return _rebuild, (type(self), plain, meta)


def _rebuild(cls, plain, meta):
    t = plain.as_subclass(cls)
    t.__dict__.update(meta)
    return t


def _from_pil(data):
    from PIL import Image as _PIL
    if isinstance(data, _PIL.Image):
        from .transforms import functional as F
        return F.pil_to_tensor(data)
    return data


class Image(TVTensor):
    """An image (..., C, H, W); a 2-D input gets a channel axis; a PIL image is converted."""

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(_from_pil(data), dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim < 2:
            raise ValueError(f"Tensor must be 2D or higher, got {tensor.ndim}D tensor.")
        if tensor.ndim == 2:
            tensor = tensor.unsqueeze(0)
        return tensor.as_subclass(cls)

    def __repr__(self, *, tensor_contents=None):
        return self._make_repr()


class Video(TVTensor):
    """A video (..., T, C, H, W)."""

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim < 4:
            raise ValueError(f"Tensor must be 4D or higher, got {tensor.ndim}D tensor.")
        return tensor.as_subclass(cls)

    def __repr__(self, *, tensor_contents=None):
        return self._make_repr()


class Mask(TVTensor):
    """A segmentation or detection mask (..., H, W)."""

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(_from_pil(data), dtype=dtype, device=device, requires_grad=requires_grad)
        return tensor.as_subclass(cls)


class BoundingBoxFormat(Enum):
    XYXY = "XYXY"          # corners: x1, y1 top left; x2, y2 bottom right
    XYWH = "XYWH"          # top-left corner, width, height
    CXCYWH = "CXCYWH"      # centre, width, height
    XYWHR = "XYWHR"        # rotated: top-left corner, width, height, angle in degrees
    CXCYWHR = "CXCYWHR"    # rotated: centre, width, height, angle in degrees
    XYXYXYXY = "XYXYXYXY"  # rotated: the four corners


def is_rotated_bounding_format(format):
    if isinstance(format, BoundingBoxFormat):
        return format in (BoundingBoxFormat.XYWHR, BoundingBoxFormat.CXCYWHR, BoundingBoxFormat.XYXYXYXY)
    if isinstance(format, str):
        return format in ("XYWHR", "CXCYWHR", "XYXYXYXY")
    raise ValueError(f"format should be str or BoundingBoxFormat, got {type(format)}")


def _first(cls, args, kwargs):
    flat, _ = tree_flatten(tuple(args) + (tuple(kwargs.values()) if kwargs else ()))
    return next(x for x in flat if isinstance(x, cls))


class BoundingBoxes(TVTensor):
    """Boxes (N, 4) (or (N, 5) / (N, 8) rotated) with their ``format``, the ``canvas_size`` (H, W) of
    their image and a ``clamping_mode`` ("soft", "hard" or None) for transforms that push them out."""

    @classmethod
    def _wrap_meta(cls, tensor, *, format, canvas_size, clamping_mode="soft", check_dims=True):
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.ndim != 2:
                raise ValueError(f"Expected a 1D or 2D tensor, got {tensor.ndim}D")
        if clamping_mode is not None and clamping_mode not in ("hard", "soft"):
            raise ValueError(f"clamping_mode must be None, hard or soft, got {clamping_mode}.")
        if isinstance(format, str):
            format = BoundingBoxFormat[format.upper()]
        boxes = tensor.as_subclass(cls)
        boxes.format, boxes.canvas_size, boxes.clamping_mode = format, canvas_size, clamping_mode
        return boxes

    @classmethod
    def wrap(cls, tensor, like, **kwargs):
        return cls._wrap_meta(tensor, format=kwargs.get("format", like.format),
                         canvas_size=kwargs.get("canvas_size", like.canvas_size),
                         clamping_mode=kwargs.get("clamping_mode", like.clamping_mode))

    def __new__(cls, data, *, format, canvas_size, clamping_mode="soft", dtype=None, device=None,
                requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if not torch.is_floating_point(tensor) and is_rotated_bounding_format(format):
            raise ValueError(f"Rotated bounding boxes should be floating point tensors, got {tensor.dtype}.")
        return cls._wrap_meta(tensor, format=format, canvas_size=canvas_size, clamping_mode=clamping_mode)

    @classmethod
    def _wrap_output(cls, output, args=(), kwargs=None):
        # the metadata comes from the first BoundingBoxes among the op's arguments
        like = _first(BoundingBoxes, args, kwargs)
        meta = dict(format=like.format, canvas_size=like.canvas_size, clamping_mode=like.clamping_mode)
        if isinstance(output, torch.Tensor) and not isinstance(output, BoundingBoxes):
            return BoundingBoxes._wrap_meta(output, check_dims=False, **meta)
        if isinstance(output, (tuple, list)):  # chunk, unbind
            return type(output)(BoundingBoxes._wrap_meta(part, check_dims=False, **meta) for part in output)
        return output

    def __repr__(self, *, tensor_contents=None):
        return self._make_repr(format=self.format, canvas_size=self.canvas_size, clamping_mode=self.clamping_mode)


class KeyPoints(TVTensor):
    """Points (..., 2) as (x, y), with the ``canvas_size`` (H, W) of their image."""

    @classmethod
    def _wrap_meta(cls, tensor, *, canvas_size, check_dims=True):
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.shape[-1] != 2:
                raise ValueError(f"Expected a tensor of shape (..., 2), not {tensor.shape}")
        points = tensor.as_subclass(cls)
        points.canvas_size = canvas_size
        return points

    @classmethod
    def wrap(cls, tensor, like, **kwargs):
        return cls._wrap_meta(tensor, canvas_size=kwargs.get("canvas_size", like.canvas_size))

    def __new__(cls, data, *, canvas_size, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return cls._wrap_meta(tensor, canvas_size=canvas_size)

    @classmethod
    def _wrap_output(cls, output, args=(), kwargs=None):
        canvas_size = _first(KeyPoints, args, kwargs).canvas_size
        if isinstance(output, torch.Tensor) and not isinstance(output, KeyPoints):
            return KeyPoints._wrap_meta(output, canvas_size=canvas_size, check_dims=False)
        if isinstance(output, (tuple, list)):
            return type(output)(KeyPoints._wrap_meta(part, canvas_size=canvas_size, check_dims=False)
                                for part in output)
        return output

    def __repr__(self, *, tensor_contents=None):
        return self._make_repr(canvas_size=self.canvas_size)


def wrap(wrappee, *, like, **kwargs):
    """``wrappee`` as the same TVTensor type as ``like``, with its metadata (``kwargs`` override fields)."""
    wrap_method = getattr(type(like), "wrap", None)
    if wrap_method is not None:
        return wrap_method(wrappee, like, **kwargs)
    return wrappee.as_subclass(type(like))

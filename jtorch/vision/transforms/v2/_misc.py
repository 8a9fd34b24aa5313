"""Identity, Lambda, LinearTransformation, Normalize, GaussianBlur, GaussianNoise, ToDtype,
ConvertImageDtype, SanitizeBoundingBoxes, SanitizeKeyPoints."""
import collections.abc
import warnings
from contextlib import suppress

from PIL import Image as _PIL

import jtorch as torch
from jtorch.utils._pytree import tree_flatten, tree_unflatten
from jtorch.vision import tv_tensors
from jtorch.vision import transforms as _v1  # the v1 classes, for their get_params

from . import functional as F
from .functional._misc import _sanitize_mask
from ._transform import Transform, get_bounding_boxes, has_any, is_pure_tensor
from ._utils import _setup_number_or_seq, _setup_size

__all__ = ["Identity", "Lambda", "LinearTransformation", "Normalize", "GaussianBlur", "GaussianNoise", "ToDtype",
           "ConvertImageDtype", "SanitizeBoundingBoxes", "SanitizeKeyPoints"]


class Identity(Transform):
    def transform(self, inpt, params):
        return inpt


class Lambda(Transform):
    """``lambd`` applied to the leaves of the given ``types`` (all leaves by default)."""
    _transformed_types = (object,)

    def __init__(self, lambd, *types):
        super().__init__()
        self.lambd = lambd
        self.types = types or self._transformed_types

    def transform(self, inpt, params):
        return self.lambd(inpt) if isinstance(inpt, self.types) else inpt

    def extra_repr(self):
        extras = []
        name = getattr(self.lambd, "__name__", None)
        if name:
            extras.append(name)
        extras.append(f"types={[t.__name__ for t in self.types]}")
        return ", ".join(extras)


class LinearTransformation(Transform):
    _transformed_types = (is_pure_tensor, tv_tensors.Image, tv_tensors.Video)

    def __init__(self, transformation_matrix, mean_vector):
        super().__init__()
        if transformation_matrix.size(0) != transformation_matrix.size(1):
            raise ValueError("transformation_matrix should be square. Got "
                             f"{tuple(transformation_matrix.size())} rectangular matrix.")
        if mean_vector.size(0) != transformation_matrix.size(0):
            raise ValueError(f"mean_vector should have the same length {mean_vector.size(0)} as any one of the "
                             f"dimensions of the transformation_matrix [{tuple(transformation_matrix.size())}]")
        if transformation_matrix.dtype != mean_vector.dtype:
            raise ValueError(f"Input tensors should have the same dtype. Got {transformation_matrix.dtype} and "
                             f"{mean_vector.dtype}")
        self.transformation_matrix, self.mean_vector = transformation_matrix, mean_vector

    def check_inputs(self, sample):
        if has_any(sample, _PIL.Image):
            raise TypeError(f"{type(self).__name__}() does not support PIL images.")

    def transform(self, inpt, params):
        shape = inpt.shape
        n = shape[-3] * shape[-2] * shape[-1]
        if n != self.transformation_matrix.shape[0]:
            raise ValueError("Input tensor and transformation matrix have incompatible shape."
                             f"[{shape[-3]} x {shape[-2]} x {shape[-1]}] != {self.transformation_matrix.shape[0]}")
        flat = inpt.as_subclass(torch.Tensor).reshape(-1, n) - self.mean_vector
        out = torch.mm(flat, self.transformation_matrix.to(flat.dtype)).reshape(shape)
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out


class Normalize(Transform):
    _v1_transform_cls = _v1.Normalize

    def __init__(self, mean, std, inplace=False):
        super().__init__()
        self.mean, self.std, self.inplace = list(mean), list(std), inplace

    def check_inputs(self, sample):
        if has_any(sample, _PIL.Image):
            raise TypeError(f"{type(self).__name__}() does not support PIL images.")

    def transform(self, inpt, params):
        return self._call_kernel(F.normalize, inpt, mean=self.mean, std=self.std, inplace=self.inplace)


class GaussianBlur(Transform):
    _v1_transform_cls = _v1.GaussianBlur

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        super().__init__()
        self.kernel_size = _setup_size(kernel_size, "Kernel size should be a tuple/list of two integers")
        for ks in self.kernel_size:
            if ks <= 0 or ks % 2 == 0:
                raise ValueError("Kernel size value should be an odd and positive number.")
        self.sigma = _setup_number_or_seq(sigma, "sigma")
        if not 0.0 < self.sigma[0] <= self.sigma[1]:
            raise ValueError(f"sigma values should be positive and of the form (min, max). Got {self.sigma}")

    def make_params(self, flat_inputs):
        sigma = torch.empty(1).uniform_(self.sigma[0], self.sigma[1]).item()
        return dict(sigma=[sigma, sigma])

    def transform(self, inpt, params):
        return self._call_kernel(F.gaussian_blur, inpt, list(self.kernel_size), **params)


class GaussianNoise(Transform):
    def __init__(self, mean=0.0, sigma=0.1, clip=True):
        super().__init__()
        self.mean, self.sigma, self.clip = mean, sigma, clip

    def transform(self, inpt, params):
        return self._call_kernel(F.gaussian_noise, inpt, mean=self.mean, sigma=self.sigma, clip=self.clip)


class ToDtype(Transform):
    """Cast images and videos to ``dtype`` (scaling the value range with ``scale``); a dict gives a dtype
    per type ({tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64, "others": None})."""
    _transformed_types = (torch.Tensor,)

    def __init__(self, dtype, scale=False):
        super().__init__()
        if not isinstance(dtype, (dict, torch.dtype)):
            raise ValueError(f"dtype must be a dict or a torch.dtype, got {type(dtype)} instead")
        if isinstance(dtype, dict) and torch.Tensor in dtype and any(
                cls in dtype for cls in (tv_tensors.Image, tv_tensors.Video)):
            warnings.warn("Got `dtype` values for `torch.Tensor` and either `tv_tensors.Image` or `tv_tensors.Video`. "
                          "Note that a plain `torch.Tensor` will *not* be transformed by this (or any other "
                          "transformation) in case a `tv_tensors.Image` or `tv_tensors.Video` is present in the "
                          "input.")
        self.dtype, self.scale = dtype, scale

    def transform(self, inpt, params):
        image_like = is_pure_tensor(inpt) or isinstance(inpt, (tv_tensors.Image, tv_tensors.Video))
        if isinstance(self.dtype, torch.dtype):
            if not image_like:
                return inpt
            dtype = self.dtype
        elif type(inpt) in self.dtype:
            dtype = self.dtype[type(inpt)]
        elif "others" in self.dtype:
            dtype = self.dtype["others"]
        else:
            raise ValueError(f"No dtype was specified for type {type(inpt)}. If you only need to convert the dtype of "
                             "images or videos, you can just pass e.g. dtype=torch.float32. If you're passing a dict "
                             'as dtype, you can use "others" as a catch-all key e.g. dtype={tv_tensors.Mask: '
                             'torch.int64, "others": None} to pass-through the rest of the inputs.')
        if dtype is None:
            if self.scale and image_like:
                warnings.warn("scale was set to True but no dtype was specified for images or videos: no scaling "
                              "will be done.")
            return inpt
        return self._call_kernel(F.to_dtype, inpt, dtype=dtype, scale=self.scale)


class ConvertImageDtype(Transform):
    _v1_transform_cls = _v1.ConvertImageDtype

    def __init__(self, dtype=torch.float32):
        super().__init__()
        self.dtype = dtype

    def transform(self, inpt, params):
        return self._call_kernel(F.to_dtype, inpt, dtype=self.dtype, scale=True)


def _find_labels_default(inputs):
    """The labels of a sample: the second item of a tuple / list when it is a tensor, else the value under
    the key "labels" (any case), else under the first key containing "label"."""
    if isinstance(inputs, (tuple, list)):
        inputs = inputs[1]
    if is_pure_tensor(inputs):
        return inputs
    if not isinstance(inputs, collections.abc.Mapping):
        raise ValueError("When using the default labels_getter, the input passed to forward must be a dictionary or a "
                         f"two-tuple whose second item is a dictionary or a tensor, but got {inputs} instead.")
    key = None
    with suppress(StopIteration):
        key = next(k for k in inputs.keys() if k.lower() == "labels")
    if key is None:
        with suppress(StopIteration):
            key = next(k for k in inputs.keys() if "label" in k.lower())
    if key is None:
        raise ValueError("Could not infer where the labels are in the sample. Try passing a callable as the "
                         "labels_getter parameter?If there are no labels in the sample by design, pass "
                         "labels_getter=None.")
    return inputs[key]


def _parse_labels_getter(labels_getter):
    if labels_getter == "default":
        return _find_labels_default
    if callable(labels_getter):
        return labels_getter
    if labels_getter is None:
        return lambda _: None
    raise ValueError(f"labels_getter should either be 'default', a callable, or None, but got {labels_getter}.")


def _labels_tuple(labels):
    if labels is None:
        return None
    msg = "The labels in the input to forward() must be a tensor or None, got {type} instead."
    if isinstance(labels, torch.Tensor):
        return (labels,)
    if isinstance(labels, (tuple, list)):
        for entry in labels:
            if not isinstance(entry, torch.Tensor):
                raise ValueError(msg.format(type=type(entry)))
        return labels
    raise ValueError(msg.format(type=type(labels)))


class SanitizeBoundingBoxes(Transform):
    """Remove boxes that are too small or reach outside the canvas, with their labels and masks."""

    def __init__(self, min_size=1.0, min_area=1.0, labels_getter="default"):
        super().__init__()
        if min_size < 1:
            raise ValueError(f"min_size must be >= 1, got {min_size}.")
        if min_area < 1:
            raise ValueError(f"min_area must be >= 1, got {min_area}.")
        self.min_size, self.min_area = min_size, min_area
        self.labels_getter = labels_getter
        self._labels_getter = _parse_labels_getter(labels_getter)

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        labels = _labels_tuple(self._labels_getter(inputs))
        flat_inputs, spec = tree_flatten(inputs)
        boxes = get_bounding_boxes(flat_inputs)
        if labels is not None:
            for label in labels:
                if boxes.shape[0] != label.shape[0]:
                    raise ValueError(f"Number of boxes (shape={boxes.shape}) and must match the number of labels."
                                     f"Found labels with shape={label.shape}).")
        valid = _sanitize_mask(boxes.as_subclass(torch.Tensor), boxes.format, boxes.canvas_size, self.min_size,
                               self.min_area)
        params = dict(valid=valid, labels=labels)
        return tree_unflatten([self.transform(x, params) for x in flat_inputs], spec)

    def transform(self, inpt, params):
        is_label = params["labels"] is not None and any(inpt is label for label in params["labels"])
        if not (is_label or isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.Mask))):
            return inpt
        try:
            output = inpt.as_subclass(torch.Tensor)[params["valid"]]
        except IndexError:
            return inpt
        return output if is_label else tv_tensors.wrap(output, like=inpt)


class SanitizeKeyPoints(Transform):
    """Remove key points (or groups) outside the canvas, with their labels."""

    def __init__(self, labels_getter=None):
        super().__init__()
        self.labels_getter = labels_getter
        self._labels_getter = _parse_labels_getter(labels_getter)

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        labels = _labels_tuple(self._labels_getter(inputs))
        flat_inputs, spec = tree_flatten(inputs)
        try:
            points = next(x for x in flat_inputs if isinstance(x, tv_tensors.KeyPoints))
        except StopIteration:
            raise ValueError("No keypoints were found in the sample") from None
        if labels is not None:
            for label in labels:
                if points.shape[0] != label.shape[0]:
                    raise ValueError(f"Number of kepyoints (shape={points.shape}) must match the number of labels."
                                     f"Found labels with shape={label.shape}).")
        _, valid = F.sanitize_keypoints(points)
        params = dict(valid=valid, labels=labels)
        return tree_unflatten([self.transform(x, params) for x in flat_inputs], spec)

    def transform(self, inpt, params):
        is_label = params["labels"] is not None and any(inpt is label for label in params["labels"])
        if not (is_label or isinstance(inpt, tv_tensors.KeyPoints)):
            return inpt
        output = inpt.as_subclass(torch.Tensor)[params["valid"]]
        return output if is_label else tv_tensors.wrap(output, like=inpt)

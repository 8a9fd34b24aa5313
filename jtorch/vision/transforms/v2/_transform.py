"""The v2 Transform base: a sample is any nesting of dicts, lists and tuples; ``forward`` flattens it,
picks the leaves to transform, draws the parameters once from them (``make_params``) and applies
``transform(leaf, params)`` to each.

Which leaves are transformed: those of the types in ``_transformed_types`` (tensors and PIL images by
default). A plain tensor counts as the image only when the sample holds no tv_tensors.Image, Video or
PIL image, and then only the first plain tensor met (depth-first); other plain tensors (labels, ids...)
pass through.
"""
import enum

from PIL import Image as _PIL

import jtorch as torch
import jtorch.nn as nn
from jtorch.utils._pytree import tree_flatten, tree_unflatten
from jtorch.vision import tv_tensors

from .functional._utils import _get_kernel, is_pure_tensor
from .functional import get_dimensions, get_size


def check_type(obj, types_or_checks):
    for t in types_or_checks:
        if (isinstance(obj, t) if isinstance(t, type) else t(obj)):
            return True
    return False


def has_any(flat_inputs, *types_or_checks):
    return any(check_type(x, types_or_checks) for x in flat_inputs)


def has_all(flat_inputs, *types_or_checks):
    return all(any(check_type(x, (t,)) for x in flat_inputs) for t in types_or_checks)


def _sizes(flat_inputs, types):
    return {tuple(get_size(x)) for x in flat_inputs if check_type(x, types)}


def query_size(flat_inputs):
    """The (H, W) shared by the images, videos, masks, boxes and key points of a sample."""
    sizes = _sizes(flat_inputs, (is_pure_tensor, tv_tensors.Image, _PIL.Image, tv_tensors.Video, tv_tensors.Mask,
                                 tv_tensors.BoundingBoxes, tv_tensors.KeyPoints))
    if not sizes:
        raise TypeError("No image, video, mask, bounding box of keypoint was found in the sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: {_seq_str(sorted(sizes))}")
    return sizes.pop()


def query_chw(flat_inputs):
    chws = {tuple(get_dimensions(x)) for x in flat_inputs
            if check_type(x, (is_pure_tensor, tv_tensors.Image, _PIL.Image, tv_tensors.Video))}
    if not chws:
        raise TypeError("No image or video was found in the sample")
    if len(chws) > 1:
        raise ValueError(f"Found multiple CxHxW dimensions in the sample: {_seq_str(sorted(chws))}")
    return chws.pop()


def _seq_str(seq):
    return ", ".join(f"'{item}'" for item in seq)


def get_bounding_boxes(flat_inputs):
    try:
        return next(x for x in flat_inputs if isinstance(x, tv_tensors.BoundingBoxes))
    except StopIteration:
        raise ValueError("No bounding boxes were found in the sample") from None


def get_keypoints(flat_inputs):
    try:
        return next(x for x in flat_inputs if isinstance(x, tv_tensors.KeyPoints))
    except StopIteration:
        raise ValueError("No keypoints were found in the sample") from None


class Transform(nn.Module):
    """Base of the v2 transforms: override ``make_params`` and ``transform``."""

    _transformed_types = (torch.Tensor, _PIL.Image)
    _v1_transform_cls = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # v1's static get_params stays reachable under the v2 class
        if cls._v1_transform_cls is not None and hasattr(cls._v1_transform_cls, "get_params"):
            cls.get_params = staticmethod(cls._v1_transform_cls.get_params)

    def check_inputs(self, flat_inputs):
        pass

    def make_params(self, flat_inputs):
        return dict()

    def _call_kernel(self, functional, inpt, *args, **kwargs):
        return _get_kernel(functional, type(inpt), allow_passthrough=True)(inpt, *args, **kwargs)

    def transform(self, inpt, params):
        raise NotImplementedError

    def _needs_transform_list(self, flat_inputs):
        transform_pure_tensor = not has_any(flat_inputs, tv_tensors.Image, tv_tensors.Video, _PIL.Image)
        needs = []
        for inpt in flat_inputs:
            need = check_type(inpt, self._transformed_types)
            if need and is_pure_tensor(inpt):
                need, transform_pure_tensor = transform_pure_tensor, False
            needs.append(need)
        return needs

    def _transform_flat(self, flat_inputs, spec):
        needs = self._needs_transform_list(flat_inputs)
        params = self.make_params([x for x, n in zip(flat_inputs, needs) if n])
        out = [self.transform(x, params) if n else x for x, n in zip(flat_inputs, needs)]
        return tree_unflatten(out, spec)

    def forward(self, *inputs):
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        self.check_inputs(flat_inputs)
        return self._transform_flat(flat_inputs, spec)

    def extra_repr(self):
        extra = []
        for name, value in self.__dict__.items():
            if name.startswith("_") or name == "training":
                continue
            if not isinstance(value, (bool, int, float, str, tuple, list, enum.Enum)):
                continue
            extra.append(f"{name}={value}")
        return ", ".join(extra)


class _RandomApplyTransform(Transform):
    """Applied with probability ``p`` (one draw of torch.rand(1) per call, before the parameters)."""

    def __init__(self, p=0.5):
        if not (0.0 <= p <= 1.0):
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        super().__init__()
        self.p = p

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(inputs)
        self.check_inputs(flat_inputs)
        if torch.rand(1) >= self.p:
            return inputs
        return self._transform_flat(flat_inputs, spec)

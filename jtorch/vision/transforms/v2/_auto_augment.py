"""AutoAugment, RandAugment, TrivialAugmentWide, AugMix for v2 samples: the one image or video of the sample
goes through the v1 policy (jtorch.vision.transforms.autoaugment); boxes, masks and key points are refused,
other leaves pass through."""
from PIL import Image as _PIL

import jtorch as torch
from jtorch.utils._pytree import tree_flatten, tree_unflatten
from jtorch.vision import tv_tensors
from jtorch.vision.transforms import autoaugment as _v1
from jtorch.vision.transforms.autoaugment import AutoAugmentPolicy

from .functional._geometry import _check_interpolation
from ._transform import Transform, check_type, is_pure_tensor
from ._utils import _get_fill, _setup_fill_arg

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"]


class _AutoAugmentBase(Transform):
    _v1_policy = None  # the v1 class that does the work

    def __init__(self, *, interpolation="nearest", fill=None):
        super().__init__()
        self.interpolation = interpolation
        self.fill = fill
        self._fill = _setup_fill_arg(fill)

    def _policy_kwargs(self):
        raise NotImplementedError

    def forward(self, *inputs):
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        needs = self._needs_transform_list(flat_inputs)
        found = []
        for idx, (inpt, need) in enumerate(zip(flat_inputs, needs)):
            if need and check_type(inpt, (tv_tensors.Image, _PIL.Image, is_pure_tensor, tv_tensors.Video)):
                found.append(idx)
            elif isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints)):
                raise TypeError(f"Inputs of type {type(inpt).__name__} are not supported by {type(self).__name__}()")
        if not found:
            raise TypeError("Found no image in the sample.")
        if len(found) > 1:
            raise TypeError("Auto augment transformations are only properly defined for a single image or video, "
                            f"but found {len(found)}.")
        idx = found[0]
        image = flat_inputs[idx]
        policy = self._v1_policy(interpolation=_check_interpolation(self.interpolation),
                                 fill=_get_fill(self._fill, type(image)), **self._policy_kwargs())
        if isinstance(image, tv_tensors.TVTensor):
            out = tv_tensors.wrap(policy(image.as_subclass(torch.Tensor)), like=image)
        else:
            out = policy(image)
        flat_inputs[idx] = out
        return tree_unflatten(flat_inputs, spec)


class AutoAugment(_AutoAugmentBase):
    _v1_policy = _v1.AutoAugment

    def __init__(self, policy=AutoAugmentPolicy.IMAGENET, interpolation="nearest", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        _v1.AutoAugment._get_policies(None, policy)  # an unknown policy raises here
        self.policy = policy

    def _policy_kwargs(self):
        return dict(policy=self.policy)


class RandAugment(_AutoAugmentBase):
    _v1_policy = _v1.RandAugment

    def __init__(self, num_ops=2, magnitude=9, num_magnitude_bins=31, interpolation="nearest", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        self.num_ops, self.magnitude, self.num_magnitude_bins = num_ops, magnitude, num_magnitude_bins

    def _policy_kwargs(self):
        return dict(num_ops=self.num_ops, magnitude=self.magnitude, num_magnitude_bins=self.num_magnitude_bins)


class TrivialAugmentWide(_AutoAugmentBase):
    _v1_policy = _v1.TrivialAugmentWide

    def __init__(self, num_magnitude_bins=31, interpolation="nearest", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        self.num_magnitude_bins = num_magnitude_bins

    def _policy_kwargs(self):
        return dict(num_magnitude_bins=self.num_magnitude_bins)


class AugMix(_AutoAugmentBase):
    _v1_policy = _v1.AugMix

    def __init__(self, severity=3, mixture_width=3, chain_depth=-1, alpha=1.0, all_ops=True,
                 interpolation="bilinear", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        if not (1 <= severity <= 10):
            raise ValueError(f"The severity must be between [1, 10]. Got {severity} instead.")
        self.severity, self.mixture_width, self.chain_depth = severity, mixture_width, chain_depth
        self.alpha, self.all_ops = alpha, all_ops

    def _policy_kwargs(self):
        return dict(severity=self.severity, mixture_width=self.mixture_width, chain_depth=self.chain_depth,
                    alpha=self.alpha, all_ops=self.all_ops)

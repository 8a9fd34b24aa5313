"""Conversions between PIL images, ndarrays, plain tensors and tv_tensors."""
import warnings

import numpy as np
from PIL import Image as _PIL

import jtorch as torch
from jtorch.vision import tv_tensors

from . import functional as F
from ._transform import Transform, is_pure_tensor

__all__ = ["PILToTensor", "ToImage", "ToPILImage", "ToPureTensor", "ToTensor"]


class PILToTensor(Transform):
    _transformed_types = (_PIL.Image,)

    def transform(self, inpt, params):
        return F.pil_to_tensor(inpt)


class ToImage(Transform):
    """PIL images, ndarrays and plain tensors to tv_tensors.Image (dtype kept)."""
    _transformed_types = (is_pure_tensor, _PIL.Image, np.ndarray)

    def transform(self, inpt, params):
        return F.to_image(inpt)


class ToPILImage(Transform):
    _transformed_types = (is_pure_tensor, tv_tensors.Image, np.ndarray)

    def __init__(self, mode=None):
        super().__init__()
        self.mode = mode

    def transform(self, inpt, params):
        return F.to_pil_image(inpt, mode=self.mode)


class ToPureTensor(Transform):
    """Every tv_tensor to a plain tensor (models want plain tensors)."""
    _transformed_types = (tv_tensors.TVTensor,)

    def transform(self, inpt, params):
        return inpt.as_subclass(torch.Tensor)


class ToTensor(Transform):
    """Deprecated: v1's to_tensor (float in [0, 1]); use Compose([ToImage(), ToDtype(torch.float32, scale=True)])."""
    _transformed_types = (_PIL.Image, np.ndarray)

    def __init__(self):
        warnings.warn("The transform `ToTensor()` is deprecated and will be removed in a future release. Instead, "
                      "please use `v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])`.Output is "
                      "equivalent up to float precision.")
        super().__init__()

    def transform(self, inpt, params):
        return F.to_tensor(inpt)

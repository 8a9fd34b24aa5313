"""Conversions between PIL images, ndarrays, plain tensors and tv_tensors."""
import numpy as np
from PIL import Image as _PIL

import jtorch as torch
from jtorch.vision import tv_tensors

from . import functional as F
from ._transform import Transform, is_pure_tensor

__all__ = ["PILToTensor", "ToImage", "ToPILImage", "ToPureTensor"]


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

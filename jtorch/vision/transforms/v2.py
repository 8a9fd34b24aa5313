"""A minimal ``transforms.v2``: the v1 classes under the v2 names (same semantics for
plain images and tensors), plus ToImage/ToDtype which v2 code uses in place of ToTensor."""
import jtorch as torch

from .transforms import *  # noqa: F401,F403
from .transforms import _Transform
from . import functional  # noqa: F401
from .functional import InterpolationMode  # noqa: F401


class ToImage(_Transform):
    """PIL image or ndarray -> CHW tensor, dtype kept (uint8 stays uint8)."""

    def __call__(self, pic):
        import numpy as np
        if isinstance(pic, torch.Tensor):
            return pic
        if isinstance(pic, np.ndarray):
            a = pic[:, :, None] if pic.ndim == 2 else pic
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))
        return functional.pil_to_tensor(pic)


class ToDtype(_Transform):
    def __init__(self, dtype, scale=False):
        self.dtype, self.scale = dtype, scale

    def __call__(self, inpt):
        if self.scale:
            return functional.convert_image_dtype(inpt, self.dtype)
        return inpt.to(self.dtype)

    def __repr__(self):
        return f"{self.__class__.__name__}(dtype={self.dtype}, scale={self.scale})"


from ._v2_mix import CutMix, MixUp  # noqa: E402,F401

"""to_image (PIL / ndarray / tensor -> tv_tensors.Image), pil_to_tensor, to_pil_image, to_tensor."""
import numpy as np
from PIL import Image as _PIL

import jtorch as torch
from jtorch.vision import tv_tensors
from jtorch.vision.transforms.functional import get_image_size, pil_to_tensor, to_pil_image, to_tensor  # noqa: F401


def to_image(inpt):
    """An Image of the same dtype: HWC ndarrays and PIL images become CHW."""
    if isinstance(inpt, np.ndarray):
        a = inpt[:, :, None] if inpt.ndim == 2 else inpt
        output = torch.from_numpy(np.ascontiguousarray(a)).permute((2, 0, 1)).contiguous()
    elif isinstance(inpt, _PIL.Image):
        output = pil_to_tensor(inpt)
    elif isinstance(inpt, torch.Tensor):
        output = inpt
    else:
        raise TypeError(f"Input can either be a pure Tensor, a numpy array, or a PIL image, but got {type(inpt)} "
                        "instead.")
    return tv_tensors.Image(output)

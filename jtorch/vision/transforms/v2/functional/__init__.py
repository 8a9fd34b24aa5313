"""torchvision.transforms.v2.functional: one functional per operation, dispatching on its input's type
(PIL image, plain tensor image, tv_tensors.Image / Video / Mask / BoundingBoxes / KeyPoints) to the kernel
registered for it; the kernels are public too (resize_bounding_boxes, horizontal_flip_mask, ...)."""
from jtorch.vision.transforms.functional import InterpolationMode  # noqa: F401

from ._utils import is_pure_tensor, register_kernel  # noqa: F401
from ._meta import (clamp_bounding_boxes, clamp_keypoints, convert_bounding_box_format,  # noqa: F401
                    get_dimensions, get_dimensions_image, get_dimensions_video, get_image_num_channels,
                    get_num_channels, get_num_channels_image, get_num_channels_video, get_num_frames,
                    get_num_frames_video, get_size, get_size_bounding_boxes, get_size_image, get_size_keypoints,
                    get_size_mask, get_size_video)
from ._color import *  # noqa: F401,F403
from ._color import (adjust_brightness, adjust_contrast, adjust_gamma, adjust_hue, adjust_saturation,  # noqa: F401
                     adjust_sharpness, autocontrast, equalize, grayscale_to_rgb, invert, permute_channels, posterize,
                     rgb_to_grayscale, solarize, to_grayscale)
from ._geometry import *  # noqa: F401,F403
from ._misc import *  # noqa: F401,F403
from ._type_conversion import get_image_size, pil_to_tensor, to_image, to_pil_image, to_tensor  # noqa: F401


def uniform_temporal_subsample(inpt, num_samples):
    """``num_samples`` frames evenly spaced over a video's time axis (-4)."""
    if isinstance(inpt, torch.Tensor) and not isinstance(inpt, tv_tensors.TVTensor) or \
            isinstance(inpt, tv_tensors.Video):
        t = inpt.shape[-4] - 1
        indices = torch.linspace(0, t, num_samples).long()
        out = torch.index_select(inpt.as_subclass(torch.Tensor), -4, indices)
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.Video) else out
    raise TypeError(f"Functional F.uniform_temporal_subsample supports inputs of type Tensor, Video, but got "
                    f"{type(inpt)} instead.")


uniform_temporal_subsample_video = uniform_temporal_subsample

import jtorch as torch  # noqa: E402
from jtorch.vision import tv_tensors  # noqa: E402

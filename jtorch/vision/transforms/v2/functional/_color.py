"""Colour functionals: the v1 kernels (PIL images and tensor images / videos alike); masks, boxes and
key points have no colour and pass through the transforms untouched."""
from PIL import Image as _PIL

import jtorch as torch
from jtorch.vision import tv_tensors
from jtorch.vision.transforms import functional as F1

from ._utils import _register, dispatcher

_IMAGES = (torch.Tensor, tv_tensors.Image, tv_tensors.Video, _PIL.Image)


def _define(name, v1, doc):
    """The functional ``name`` and its image kernel ``name_image`` (also the video kernel): ``v1``."""
    def stub(inpt, *args, **kwargs):
        pass
    stub.__name__ = stub.__qualname__ = name
    stub.__doc__ = doc
    functional = dispatcher(stub)

    def kernel(image, *args, **kwargs):
        return v1(image, *args, **kwargs)
    kernel.__name__ = kernel.__qualname__ = name + "_image"
    _register(functional, *_IMAGES)(kernel)
    return functional, kernel


adjust_brightness, adjust_brightness_image = _define("adjust_brightness", F1.adjust_brightness,
                                                     "Blend with black by brightness_factor.")
adjust_contrast, adjust_contrast_image = _define("adjust_contrast", F1.adjust_contrast,
                                                 "Blend with the mean grey by contrast_factor.")
adjust_saturation, adjust_saturation_image = _define("adjust_saturation", F1.adjust_saturation,
                                                     "Blend with the greyscale image by saturation_factor.")
adjust_hue, adjust_hue_image = _define("adjust_hue", F1.adjust_hue, "Shift the hue by hue_factor in [-0.5, 0.5].")
adjust_gamma, adjust_gamma_image = _define("adjust_gamma", F1.adjust_gamma, "gain * image ** gamma.")
adjust_sharpness, adjust_sharpness_image = _define("adjust_sharpness", F1.adjust_sharpness,
                                                   "Blend with a smoothed image by sharpness_factor.")
autocontrast, autocontrast_image = _define("autocontrast", F1.autocontrast, "Stretch each channel to the full range.")
equalize, equalize_image = _define("equalize", F1.equalize, "Equalize the histogram of each channel.")
invert, invert_image = _define("invert", F1.invert, "max - image.")
posterize, posterize_image = _define("posterize", F1.posterize, "Keep the top ``bits`` bits.")
solarize, solarize_image = _define("solarize", F1.solarize, "Invert the values at or above ``threshold``.")
(adjust_brightness_video, adjust_contrast_video, adjust_saturation_video, adjust_hue_video, adjust_gamma_video,
 adjust_sharpness_video, autocontrast_video, equalize_video, invert_video, posterize_video, solarize_video) = (
    adjust_brightness_image, adjust_contrast_image, adjust_saturation_image, adjust_hue_image, adjust_gamma_image,
    adjust_sharpness_image, autocontrast_image, equalize_image, invert_image, posterize_image, solarize_image)


@dispatcher
def rgb_to_grayscale(inpt, num_output_channels=1):
    """Greyscale with 1 or 3 channels."""


@_register(rgb_to_grayscale, *_IMAGES)
def rgb_to_grayscale_image(image, num_output_channels=1):
    if isinstance(image, _PIL.Image):
        return F1.rgb_to_grayscale(image, num_output_channels)
    if image.shape[-3] == 1 and num_output_channels == 1:
        return image.clone()
    if image.shape[-3] == 1:
        return image.expand(*image.shape[:-3], 3, *image.shape[-2:]).clone()
    return F1.rgb_to_grayscale(image, num_output_channels)


to_grayscale = rgb_to_grayscale


@dispatcher
def grayscale_to_rgb(inpt):
    """One channel repeated to three."""


@_register(grayscale_to_rgb, *_IMAGES)
def grayscale_to_rgb_image(image):
    if isinstance(image, _PIL.Image):
        return image.convert(mode="RGB")
    if image.shape[-3] >= 3:
        return image
    return image.expand(*image.shape[:-3], 3, *image.shape[-2:]).clone()


@dispatcher
def permute_channels(inpt, permutation):
    """Reorder the channels: output channel i is input channel permutation[i]."""


@_register(permute_channels, *_IMAGES)
def permute_channels_image(image, permutation):
    if isinstance(image, _PIL.Image):
        return F1.to_pil_image(permute_channels_image(F1.pil_to_tensor(image), permutation), mode=image.mode)
    shape = image.shape
    c, h, w = shape[-3:]
    flat = image.reshape(-1, c, h, w)
    return flat[:, list(permutation), :, :].reshape(*shape[:-3], len(permutation), h, w)


permute_channels_video = permute_channels_image

"""Colour functionals: the v1 kernels (PIL images and tensor images / videos alike); masks, boxes and
key points have no colour and pass through the transforms untouched."""
from PIL import Image as _PIL

import jtorch as torch
from jtorch.vision import tv_tensors
from jtorch.vision.transforms import functional as F1

from ._utils import _KERNEL_REGISTRY, _register, dispatcher

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
adjust_hue, _ = _define("adjust_hue", F1.adjust_hue, "Shift the hue by hue_factor in [-0.5, 0.5].")
adjust_gamma, _ = _define("adjust_gamma", F1.adjust_gamma, "gain * image ** gamma.")
adjust_sharpness, adjust_sharpness_image = _define("adjust_sharpness", F1.adjust_sharpness,
                                                   "Blend with a smoothed image by sharpness_factor.")
autocontrast, _ = _define("autocontrast", F1.autocontrast, "Stretch each channel to the full range.")
equalize, _ = _define("equalize", F1.equalize, "Equalize the histogram of each channel.")
invert, invert_image = _define("invert", F1.invert, "max - image.")
posterize, _ = _define("posterize", F1.posterize, "Keep the top ``bits`` bits.")
solarize, solarize_image = _define("solarize", F1.solarize, "Invert the values at or above ``threshold``.")


# v2 differs from v1 on integer tensors in three kernels: they work on the image scaled to float by
# to_dtype (x * (1 / max)) and come back through to_dtype (x * (max + 1 - 1e-3), truncated), and
# autocontrast divides by the range instead of multiplying by its inverse
def _tensor_only(functional, name):
    """Register the decorated tensor kernel for functional (PIL images keep the v1 kernel)."""
    def decorator(kernel):
        registry = _KERNEL_REGISTRY[functional]
        for t in (torch.Tensor, tv_tensors.Image, tv_tensors.Video):
            del registry[t]
        _register(functional, torch.Tensor, tv_tensors.Image, tv_tensors.Video)(kernel)
        kernel.__name__ = name
        return kernel
    return decorator


def _check_channels(image):
    c = image.shape[-3]
    if c not in (1, 3):
        raise TypeError(f"Input image tensor permitted channel values are 1 or 3, but found {c}")


@_tensor_only(adjust_hue, "adjust_hue_image")
def adjust_hue_image(image, hue_factor):
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check_channels(image)
    if image.shape[-3] == 1 or image.numel() == 0:
        return image
    from ._misc import to_dtype_image
    shifted = F1.adjust_hue(to_dtype_image(image, torch.float32, scale=True), hue_factor)
    return to_dtype_image(shifted, image.dtype, scale=True)


@_tensor_only(adjust_gamma, "adjust_gamma_image")
def adjust_gamma_image(image, gamma, gain=1.0):
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    from ._misc import to_dtype_image
    out = image.pow(gamma) if image.is_floating_point() else to_dtype_image(image, torch.float32, True).pow_(gamma)
    if gain != 1.0:
        out = out.mul_(gain).clamp_(0.0, 1.0)
    return to_dtype_image(out, image.dtype, scale=True)


@_tensor_only(autocontrast, "autocontrast_image")
def autocontrast_image(image):
    _check_channels(image)
    if image.numel() == 0:
        return image
    bound = 1.0 if image.is_floating_point() else float(torch.iinfo(image.dtype).max)
    work = image if image.is_floating_point() else image.to(torch.float32)
    lo = work.amin(dim=(-2, -1), keepdim=True)
    hi = work.amax(dim=(-2, -1), keepdim=True)
    flat = hi == lo
    inv_scale = torch.where(flat, torch.ones_like(hi), (hi - lo).mul_(1.0 / bound))
    lo = torch.where(flat, torch.zeros_like(lo), lo)
    # a full-size divisor: XLA turns x / broadcast(d) into x * (1 / d), one ulp off torch's division
    inv_scale = inv_scale.expand_as(work).clone()
    return (work - lo).div_(inv_scale).clamp_(0, bound).to(image.dtype)


@_tensor_only(posterize, "posterize_image")
def posterize_image(image, bits):
    """Integer images keep their top bits; float images are quantised to 2**bits levels."""
    if not isinstance(bits, int) or not 0 <= bits <= 8:
        raise TypeError(f"bits must be a positive integer in the range [0, 8], got {bits} instead.")
    if image.is_floating_point():
        levels = 1 << bits
        return image.mul(levels).floor_().clamp_(0, levels - 1).mul_(1.0 / levels)
    if image.dtype == torch.uint8:
        return F1.posterize(image, bits)
    from ._misc import _value_bits
    value_bits = _value_bits(image.dtype)
    if bits >= value_bits:
        return image
    return image & (((1 << bits) - 1) << (value_bits - bits))


@_tensor_only(equalize, "equalize_image")
def equalize_image(image):
    """Any dtype: equalized as uint8 (to_dtype with scaling there and back)."""
    if image.numel() == 0:
        return image
    from ._misc import to_dtype_image
    if image.dtype == torch.uint8:
        return F1.equalize(image)
    return to_dtype_image(F1.equalize(to_dtype_image(image, torch.uint8, scale=True)), image.dtype, scale=True)


(adjust_brightness_video, adjust_contrast_video, adjust_saturation_video, adjust_hue_video, adjust_gamma_video,
 adjust_sharpness_video, autocontrast_video, equalize_video, invert_video, posterize_video, solarize_video) = (
    adjust_brightness_image, adjust_contrast_image, adjust_saturation_image, adjust_hue_image, adjust_gamma_image,
    adjust_sharpness_image, autocontrast_image, equalize_image, invert_image, posterize_image, solarize_image)


@dispatcher
def rgb_to_grayscale(inpt, num_output_channels=1):
    """Greyscale with 1 or 3 channels."""


@_register(rgb_to_grayscale, torch.Tensor, tv_tensors.Image, _PIL.Image)  # no video kernel (as torchvision)
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


@_register(grayscale_to_rgb, torch.Tensor, tv_tensors.Image, _PIL.Image)
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

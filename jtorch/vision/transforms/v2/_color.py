"""Colour transforms: images and videos change, masks / boxes / key points pass through."""
import collections.abc

import jtorch as torch
from jtorch.vision import transforms as _v1  # the v1 classes, for their get_params

from . import functional as F
from ._transform import Transform, _RandomApplyTransform, query_chw

__all__ = ["Grayscale", "RandomGrayscale", "RGB", "ColorJitter", "RandomChannelPermutation",
           "RandomPhotometricDistort", "RandomEqualize", "RandomInvert", "RandomPosterize", "RandomSolarize",
           "RandomAutocontrast", "RandomAdjustSharpness"]


class Grayscale(Transform):
    _v1_transform_cls = _v1.Grayscale

    def __init__(self, num_output_channels=1):
        super().__init__()
        self.num_output_channels = num_output_channels

    def transform(self, inpt, params):
        return self._call_kernel(F.rgb_to_grayscale, inpt, num_output_channels=self.num_output_channels)


class RandomGrayscale(_RandomApplyTransform):
    _v1_transform_cls = _v1.RandomGrayscale

    def __init__(self, p=0.1):
        super().__init__(p=p)

    def make_params(self, flat_inputs):
        return dict(num_input_channels=query_chw(flat_inputs)[0])

    def transform(self, inpt, params):
        return self._call_kernel(F.rgb_to_grayscale, inpt, num_output_channels=params["num_input_channels"])


class RGB(Transform):
    """Greyscale images to three channels; RGB ones unchanged."""

    def transform(self, inpt, params):
        return self._call_kernel(F.grayscale_to_rgb, inpt)


def _uniform(lo, hi):
    return float(torch.empty(1).uniform_(lo, hi).item())


class ColorJitter(Transform):
    _v1_transform_cls = _v1.ColorJitter

    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None):
        super().__init__()
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    def _check_input(self, value, name, center=1.0, bound=(0, float("inf")), clip_first_on_zero=True):
        if value is None:
            return None
        if isinstance(value, (int, float)):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            value = [center - value, center + value]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, collections.abc.Sequence) and len(value) == 2:
            value = [float(v) for v in value]
        else:
            raise TypeError(f"{name}={value} should be a single number or a sequence with length 2.")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"{name} values should be between {bound} and increasing, but got {value}.")
        return None if value[0] == value[1] == center else (float(value[0]), float(value[1]))

    _generate_value = staticmethod(_uniform)

    def make_params(self, flat_inputs):
        fn_idx = torch.randperm(4)
        draw = [None if r is None else _uniform(*r) for r in (self.brightness, self.contrast, self.saturation,
                                                               self.hue)]
        return dict(fn_idx=fn_idx, brightness_factor=draw[0], contrast_factor=draw[1], saturation_factor=draw[2],
                    hue_factor=draw[3])

    def transform(self, inpt, params):
        steps = [(F.adjust_brightness, "brightness_factor"), (F.adjust_contrast, "contrast_factor"),
                 (F.adjust_saturation, "saturation_factor"), (F.adjust_hue, "hue_factor")]
        for fn_id in params["fn_idx"]:
            fn, key = steps[int(fn_id)]
            if params[key] is not None:
                inpt = self._call_kernel(fn, inpt, **{key: params[key]})
        return inpt


class RandomChannelPermutation(Transform):
    def make_params(self, flat_inputs):
        return dict(permutation=torch.randperm(query_chw(flat_inputs)[0]))

    def transform(self, inpt, params):
        return self._call_kernel(F.permute_channels, inpt, params["permutation"].tolist())


class RandomPhotometricDistort(Transform):
    """SSD's photometric distortions, each applied with probability p (contrast before or after the rest)."""

    def __init__(self, brightness=(0.875, 1.125), contrast=(0.5, 1.5), saturation=(0.5, 1.5), hue=(-0.05, 0.05),
                 p=0.5):
        super().__init__()
        self.brightness, self.contrast, self.hue, self.saturation, self.p = brightness, contrast, hue, saturation, p

    def make_params(self, flat_inputs):
        num_channels = query_chw(flat_inputs)[0]
        params = {key: _uniform(*rng) if torch.rand(1) < self.p else None
                  for key, rng in [("brightness_factor", self.brightness), ("contrast_factor", self.contrast),
                                   ("saturation_factor", self.saturation), ("hue_factor", self.hue)]}
        params["contrast_before"] = bool(torch.rand(()) < 0.5)
        params["channel_permutation"] = torch.randperm(num_channels) if torch.rand(1) < self.p else None
        return params

    def transform(self, inpt, params):
        if params["brightness_factor"] is not None:
            inpt = self._call_kernel(F.adjust_brightness, inpt, brightness_factor=params["brightness_factor"])
        if params["contrast_factor"] is not None and params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt, contrast_factor=params["contrast_factor"])
        if params["saturation_factor"] is not None:
            inpt = self._call_kernel(F.adjust_saturation, inpt, saturation_factor=params["saturation_factor"])
        if params["hue_factor"] is not None:
            inpt = self._call_kernel(F.adjust_hue, inpt, hue_factor=params["hue_factor"])
        if params["contrast_factor"] is not None and not params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt, contrast_factor=params["contrast_factor"])
        if params["channel_permutation"] is not None:
            inpt = self._call_kernel(F.permute_channels, inpt, permutation=params["channel_permutation"].tolist())
        return inpt


class RandomEqualize(_RandomApplyTransform):
    _v1_transform_cls = _v1.RandomEqualize

    def transform(self, inpt, params):
        return self._call_kernel(F.equalize, inpt)


class RandomInvert(_RandomApplyTransform):
    _v1_transform_cls = _v1.RandomInvert

    def transform(self, inpt, params):
        return self._call_kernel(F.invert, inpt)


class RandomPosterize(_RandomApplyTransform):
    _v1_transform_cls = _v1.RandomPosterize

    def __init__(self, bits, p=0.5):
        super().__init__(p=p)
        self.bits = bits

    def transform(self, inpt, params):
        return self._call_kernel(F.posterize, inpt, bits=self.bits)


class RandomSolarize(_RandomApplyTransform):
    _v1_transform_cls = _v1.RandomSolarize

    def __init__(self, threshold, p=0.5):
        super().__init__(p=p)
        self.threshold = threshold

    def transform(self, inpt, params):
        return self._call_kernel(F.solarize, inpt, threshold=self.threshold)


class RandomAutocontrast(_RandomApplyTransform):
    _v1_transform_cls = _v1.RandomAutocontrast

    def transform(self, inpt, params):
        return self._call_kernel(F.autocontrast, inpt)


class RandomAdjustSharpness(_RandomApplyTransform):
    _v1_transform_cls = _v1.RandomAdjustSharpness

    def __init__(self, sharpness_factor, p=0.5):
        super().__init__(p=p)
        self.sharpness_factor = sharpness_factor

    def transform(self, inpt, params):
        return self._call_kernel(F.adjust_sharpness, inpt, sharpness_factor=self.sharpness_factor)

"""RegNet X / Y: stages of residual bottlenecks whose widths follow a quantised linear rule."""
import math
from collections import OrderedDict
from functools import partial

import numpy as np

import jtorch.nn as nn

from ._api import _make_enum
from ._layers import Conv2dNormActivation, SqueezeExcitation
from ._utils import _make_divisible, builder, load_weights, prepare

_SIZES = ["400MF", "800MF", "1_6GF", "3_2GF", "8GF", "16GF", "32GF"]
__all__ = (["RegNet", "BlockParams"] + [f"RegNet_{k}_{s}_Weights" for k in "YX" for s in _SIZES + ["128GF"]
                                         if not (k == "X" and s == "128GF")]
           + [f"regnet_{k}_{s.lower()}" for k in "yx" for s in _SIZES] + ["regnet_y_128gf"])


class SimpleStemIN(Conv2dNormActivation):
    def __init__(self, width_in, width_out, norm_layer, activation_layer):
        super().__init__(width_in, width_out, kernel_size=3, stride=2, norm_layer=norm_layer,
                         activation_layer=activation_layer)


class BottleneckTransform(nn.Sequential):
    """1x1, grouped 3x3 (with optional squeeze-excitation), 1x1 without activation."""

    def __init__(self, width_in, width_out, stride, norm_layer, activation_layer, group_width,
                 bottleneck_multiplier, se_ratio):
        layers = OrderedDict()
        w_b = int(round(width_out * bottleneck_multiplier))
        groups = w_b // group_width
        layers["a"] = Conv2dNormActivation(width_in, w_b, kernel_size=1, stride=1, norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        layers["b"] = Conv2dNormActivation(w_b, w_b, kernel_size=3, stride=stride, groups=groups,
                                           norm_layer=norm_layer, activation_layer=activation_layer)
        if se_ratio:
            layers["se"] = SqueezeExcitation(w_b, int(round(se_ratio * width_in)), activation=activation_layer)
        layers["c"] = Conv2dNormActivation(w_b, width_out, kernel_size=1, stride=1, norm_layer=norm_layer,
                                           activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    def __init__(self, width_in, width_out, stride, norm_layer, activation_layer, group_width=1,
                 bottleneck_multiplier=1.0, se_ratio=None):
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             norm_layer=norm_layer, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, norm_layer, activation_layer, group_width,
                                     bottleneck_multiplier, se_ratio)
        self.activation = activation_layer(inplace=True)

    def forward(self, x):
        shortcut = self.proj(x) if self.proj is not None else x
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    def __init__(self, width_in, width_out, stride, depth, block_constructor, norm_layer, activation_layer,
                 group_width, bottleneck_multiplier, se_ratio=None, stage_index=0):
        super().__init__()
        for i in range(depth):
            block = block_constructor(width_in if i == 0 else width_out, width_out, stride if i == 0 else 1,
                                      norm_layer, activation_layer, group_width, bottleneck_multiplier, se_ratio)
            self.add_module(f"block{stage_index}-{i}", block)


class BlockParams:
    def __init__(self, depths, widths, group_widths, bottleneck_multipliers, strides, se_ratio=None):
        self.depths, self.widths, self.group_widths = depths, widths, group_widths
        self.bottleneck_multipliers, self.strides, self.se_ratio = bottleneck_multipliers, strides, se_ratio

    @classmethod
    def from_init_params(cls, depth, w_0, w_a, w_m, group_width, bottleneck_multiplier=1.0, se_ratio=None,
                         **kwargs):
        """Per-block widths w_0 + w_a*j, snapped to w_0 * w_m^k (multiples of 8); runs of equal
        width form the stages. Computed in float32 like the reference."""
        quant, stride = 8, 2
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
            raise ValueError("Invalid RegNet settings")
        f32 = np.float32
        widths_cont = np.arange(depth, dtype=f32) * f32(w_a) + f32(w_0)
        capacity = np.round(np.log(widths_cont / f32(w_0)) / f32(math.log(w_m)))
        block_widths = (np.round(f32(w_0) * np.power(f32(w_m), capacity, dtype=f32) / f32(quant)) * quant)
        block_widths = block_widths.astype(np.int32).tolist()
        num_stages = len(set(block_widths))
        splits = [w != wp for w, wp in zip(block_widths + [0], [0] + block_widths)]
        stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
        stage_depths = np.diff([d for d, t in enumerate(splits) if t]).astype(int).tolist()
        strides = [stride] * num_stages
        multipliers = [bottleneck_multiplier] * num_stages
        stage_widths, group_widths = _adjust_widths_groups(stage_widths, multipliers, [group_width] * num_stages)
        return cls(stage_depths, stage_widths, group_widths, multipliers, strides, se_ratio)

    def _get_expanded_params(self):
        return zip(self.widths, self.strides, self.depths, self.group_widths, self.bottleneck_multipliers)


def _adjust_widths_groups(stage_widths, bottleneck_ratios, group_widths):
    """Make each bottleneck width divisible by its group width (shrinking groups that are too wide)."""
    widths = [int(w * b) for w, b in zip(stage_widths, bottleneck_ratios)]
    group_min = [min(g, w) for g, w in zip(group_widths, widths)]
    ws_bot = [_make_divisible(w, g) for w, g in zip(widths, group_min)]
    return [int(w / b) for w, b in zip(ws_bot, bottleneck_ratios)], group_min


class RegNet(nn.Module):
    def __init__(self, block_params, num_classes=1000, stem_width=32, stem_type=None, block_type=None,
                 norm_layer=None, activation=None):
        super().__init__()
        stem_type = stem_type or SimpleStemIN
        norm_layer = norm_layer or nn.BatchNorm2d
        block_type = block_type or ResBottleneckBlock
        activation = activation or nn.ReLU
        self.stem = stem_type(3, stem_width, norm_layer, activation)
        width = stem_width
        stages = []
        for i, (width_out, stride, depth, group_width, mult) in enumerate(block_params._get_expanded_params()):
            stages.append((f"block{i + 1}", AnyStage(width, width_out, stride, depth, block_type, norm_layer,
                                                     activation, group_width, mult, block_params.se_ratio,
                                                     stage_index=i + 1)))
            width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(stages))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


def _regnet(params, weights, progress, kwargs):
    prepare(weights, kwargs)
    norm_layer = kwargs.pop("norm_layer", partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    return load_weights(RegNet(params, norm_layer=norm_layer, **kwargs), weights, progress)


# depth, w_0, w_a, w_m, group_width (and se_ratio for Y) of each published size
_CONFIGS = {
    "y_400mf": (16, 48, 27.89, 2.09, 8), "y_800mf": (14, 56, 38.84, 2.4, 16), "y_1_6gf": (27, 48, 20.71, 2.65, 24),
    "y_3_2gf": (21, 80, 42.63, 2.66, 24), "y_8gf": (17, 192, 76.82, 2.19, 56), "y_16gf": (18, 200, 106.23, 2.48, 112),
    "y_32gf": (20, 232, 115.89, 2.53, 232), "y_128gf": (27, 456, 160.83, 2.52, 264),
    "x_400mf": (22, 24, 24.48, 2.54, 16), "x_800mf": (16, 56, 35.73, 2.28, 16), "x_1_6gf": (18, 80, 34.01, 2.25, 24),
    "x_3_2gf": (25, 88, 26.31, 2.25, 48), "x_8gf": (23, 80, 49.56, 2.88, 120), "x_16gf": (22, 216, 55.59, 2.1, 128),
    "x_32gf": (23, 320, 69.86, 2.0, 168),
}


def _make_builder(key):
    enum_name = f"RegNet_{key.upper()}_Weights"
    weights_enum = _make_enum(enum_name, __name__)
    depth, w_0, w_a, w_m, group_width = _CONFIGS[key]
    se_ratio = 0.25 if key.startswith("y") else None

    def fn(*, weights=None, progress=True, **kwargs):
        params = BlockParams.from_init_params(depth=depth, w_0=w_0, w_a=w_a, w_m=w_m, group_width=group_width,
                                              se_ratio=se_ratio, **kwargs)
        return _regnet(params, weights, progress, kwargs)
    fn.__name__ = fn.__qualname__ = f"regnet_{key}"
    fn.__module__ = __name__
    return enum_name, weights_enum, builder(weights_enum, legacy=None if key == "y_128gf" else "IMAGENET1K_V1")(fn)


for _key in _CONFIGS:
    _enum_name, _enum, _fn = _make_builder(_key)
    globals()[_enum_name] = _enum
    globals()[_fn.__name__] = _fn
del _key, _enum_name, _enum, _fn

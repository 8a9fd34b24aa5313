"""EfficientNet B0-B7 (MBConv blocks with squeeze-excitation and stochastic depth) and EfficientNetV2
S/M/L (fused MBConv blocks in the early stages)."""
import copy
import math
from functools import partial

import jtorch as torch
import jtorch.nn as nn

from ._api import _make_enum
from ._layers import Conv2dNormActivation, SqueezeExcitation, StochasticDepth
from ._utils import _make_divisible, builder, load_weights, prepare

__all__ = (["EfficientNet", "MBConvConfig", "FusedMBConvConfig"]
           + [f"EfficientNet_B{i}_Weights" for i in range(8)] + [f"efficientnet_b{i}" for i in range(8)]
           + [f"EfficientNet_V2_{s}_Weights" for s in "SML"] + [f"efficientnet_v2_{s}" for s in "sml"])


class MBConvConfig:
    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers, width_mult=1.0,
                 depth_mult=1.0):
        self.expand_ratio, self.kernel, self.stride = expand_ratio, kernel, stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = int(math.ceil(num_layers * depth_mult))
        self.block = MBConv

    @staticmethod
    def adjust_channels(channels, width_mult, min_value=None):
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConv(nn.Module):
    def __init__(self, cnf, stochastic_depth_prob, norm_layer, se_layer=SqueezeExcitation):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers = []
        act = nn.SiLU
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=act))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=cnf.kernel, stride=cnf.stride,
                                           groups=expanded, norm_layer=norm_layer, activation_layer=act))
        layers.append(se_layer(expanded, max(1, cnf.input_channels // 4), activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + input
        return result


class FusedMBConvConfig:
    """A fused block's settings: channels are taken as given (no width multiplier)."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers):
        self.expand_ratio, self.kernel, self.stride = expand_ratio, kernel, stride
        self.input_channels, self.out_channels, self.num_layers = input_channels, out_channels, num_layers
        self.block = FusedMBConv

    adjust_channels = staticmethod(MBConvConfig.adjust_channels)


class FusedMBConv(nn.Module):
    """MBConv with the expansion and depthwise convs fused into one full conv."""

    def __init__(self, cnf, stochastic_depth_prob, norm_layer):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers = [Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=cnf.kernel, stride=cnf.stride,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU),
                      Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None)]
        else:
            layers = [Conv2dNormActivation(cnf.input_channels, cnf.out_channels, kernel_size=cnf.kernel,
                                           stride=cnf.stride, norm_layer=norm_layer, activation_layer=nn.SiLU)]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + input
        return result


class EfficientNet(nn.Module):
    def __init__(self, inverted_residual_setting, dropout, stochastic_depth_prob=0.2, num_classes=1000,
                 norm_layer=None, last_channel=None):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        norm_layer = norm_layer or nn.BatchNorm2d
        layers = [Conv2dNormActivation(3, inverted_residual_setting[0].input_channels, kernel_size=3, stride=2,
                                       norm_layer=norm_layer, activation_layer=nn.SiLU)]
        total_blocks = sum(c.num_layers for c in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # later blocks of a stage keep the channels and stride 1
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_out, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                r = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -r, r)
                nn.init.zeros_(m.bias)

    def _forward_impl(self, x):
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)

    def forward(self, x):
        return self._forward_impl(x)


def _b0_setting(width_mult=1.0, depth_mult=1.0):
    conf = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [conf(1, 3, 1, 32, 16, 1), conf(6, 3, 2, 16, 24, 2), conf(6, 5, 2, 24, 40, 2), conf(6, 3, 2, 40, 80, 3),
            conf(6, 5, 1, 80, 112, 3), conf(6, 5, 2, 112, 192, 4), conf(6, 3, 1, 192, 320, 1)]


def _v2_setting(arch):
    F, M = FusedMBConvConfig, MBConvConfig
    if arch == "s":
        return [F(1, 3, 1, 24, 24, 2), F(4, 3, 2, 24, 48, 4), F(4, 3, 2, 48, 64, 4), M(4, 3, 2, 64, 128, 6),
                M(6, 3, 1, 128, 160, 9), M(6, 3, 2, 160, 256, 15)]
    if arch == "m":
        return [F(1, 3, 1, 24, 24, 3), F(4, 3, 2, 24, 48, 5), F(4, 3, 2, 48, 80, 5), M(4, 3, 2, 80, 160, 7),
                M(6, 3, 1, 160, 176, 14), M(6, 3, 2, 176, 304, 18), M(6, 3, 1, 304, 512, 5)]
    return [F(1, 3, 1, 32, 32, 4), F(4, 3, 2, 32, 64, 7), F(4, 3, 2, 64, 96, 7), M(4, 3, 2, 96, 192, 10),
            M(6, 3, 1, 192, 224, 19), M(6, 3, 2, 224, 384, 25), M(6, 3, 1, 384, 640, 7)]


def _efficientnet(setting, dropout, last_channel, weights, progress, kwargs, norm_layer=None):
    prepare(weights, kwargs)
    if norm_layer is not None:
        kwargs.setdefault("norm_layer", norm_layer)
    model = EfficientNet(setting, kwargs.pop("dropout", dropout), last_channel=last_channel, **kwargs)
    return load_weights(model, weights, progress)


# width multiplier, depth multiplier, dropout of B0..B7; B5-B7 were trained with TF-style batch norm
_B_SCALES = [(1.0, 1.0, 0.2), (1.0, 1.1, 0.2), (1.1, 1.2, 0.3), (1.2, 1.4, 0.3), (1.4, 1.8, 0.4), (1.6, 2.2, 0.4),
             (1.8, 2.6, 0.5), (2.0, 3.1, 0.5)]
_TF_BN = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
_V2_BN = partial(nn.BatchNorm2d, eps=1e-03)


def _make_b(i):
    weights_enum = _make_enum(f"EfficientNet_B{i}_Weights", __name__)
    width, depth, dropout = _B_SCALES[i]

    def fn(*, weights=None, progress=True, **kwargs):
        return _efficientnet(_b0_setting(width, depth), dropout, None, weights, progress, kwargs,
                             norm_layer=_TF_BN if i >= 5 else None)
    fn.__name__ = fn.__qualname__ = f"efficientnet_b{i}"
    fn.__module__ = __name__
    return weights_enum, builder(weights_enum)(fn)


def _make_v2(arch, dropout):
    weights_enum = _make_enum(f"EfficientNet_V2_{arch.upper()}_Weights", __name__)

    def fn(*, weights=None, progress=True, **kwargs):
        return _efficientnet(_v2_setting(arch), dropout, 1280, weights, progress, kwargs, norm_layer=_V2_BN)
    fn.__name__ = fn.__qualname__ = f"efficientnet_v2_{arch}"
    fn.__module__ = __name__
    return weights_enum, builder(weights_enum)(fn)


for _i in range(8):
    globals()[f"EfficientNet_B{_i}_Weights"], globals()[f"efficientnet_b{_i}"] = _make_b(_i)
for _arch, _dropout in (("s", 0.2), ("m", 0.3), ("l", 0.4)):
    globals()[f"EfficientNet_V2_{_arch.upper()}_Weights"], globals()[f"efficientnet_v2_{_arch}"] = _make_v2(
        _arch, _dropout)
del _i, _arch, _dropout

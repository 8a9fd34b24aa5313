"""ConvNeXt: depthwise 7x7 conv blocks with LayerNorm, an inverted MLP and layer scale."""
from functools import partial

import jtorch as torch
import jtorch.nn as nn
import jtorch.nn.functional as F

from ._api import _make_enum
from ._layers import Conv2dNormActivation, Permute, StochasticDepth
from ._utils import builder, load_weights, prepare

__all__ = ["ConvNeXt", "ConvNeXt_Tiny_Weights", "ConvNeXt_Small_Weights", "ConvNeXt_Base_Weights",
           "ConvNeXt_Large_Weights", "convnext_tiny", "convnext_small", "convnext_base", "convnext_large"]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim, layer_scale, stochastic_depth_prob, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True), Permute([0, 2, 3, 1]),
            norm_layer(dim), nn.Linear(dim, 4 * dim, bias=True), nn.GELU(), nn.Linear(4 * dim, dim, bias=True),
            Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input):
        return self.stochastic_depth(self.layer_scale * self.block(input)) + input


class CNBlockConfig:
    def __init__(self, input_channels, out_channels, num_layers):
        self.input_channels, self.out_channels, self.num_layers = input_channels, out_channels, num_layers

    def __repr__(self):
        return (f"{self.__class__.__name__}(input_channels={self.input_channels}, out_channels={self.out_channels}, "
                f"num_layers={self.num_layers})")


class ConvNeXt(nn.Module):
    def __init__(self, block_setting, stochastic_depth_prob=0.0, layer_scale=1e-6, num_classes=1000, block=None,
                 norm_layer=None, **kwargs):
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not (isinstance(block_setting, list) and all(isinstance(s, CNBlockConfig) for s in block_setting)):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = block or CNBlock
        norm_layer = norm_layer or partial(LayerNorm2d, eps=1e-6)
        layers = [Conv2dNormActivation(3, block_setting[0].input_channels, kernel_size=4, stride=4, padding=0,
                                       norm_layer=norm_layer, activation_layer=None, bias=True)]  # patchify stem
        total = sum(c.num_layers for c in block_setting)
        block_id = 0
        for cnf in block_setting:
            stage = []
            for _ in range(cnf.num_layers):
                sd_prob = stochastic_depth_prob * block_id / (total - 1.0)
                stage.append(block(cnf.input_channels, layer_scale, sd_prob))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:  # downsampling between stages
                layers.append(nn.Sequential(norm_layer(cnf.input_channels),
                                            nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        last_channels = last.out_channels if last.out_channels is not None else last.input_channels
        self.classifier = nn.Sequential(norm_layer(last_channels), nn.Flatten(1),
                                        nn.Linear(last_channels, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def _forward_impl(self, x):
        return self.classifier(self.avgpool(self.features(x)))

    def forward(self, x):
        return self._forward_impl(x)


def _convnext(setting, sd_prob, weights, progress, kwargs):
    prepare(weights, kwargs)
    sd_prob = kwargs.pop("stochastic_depth_prob", sd_prob)
    model = ConvNeXt([CNBlockConfig(*s) for s in setting], stochastic_depth_prob=sd_prob, **kwargs)
    return load_weights(model, weights, progress)


ConvNeXt_Tiny_Weights = _make_enum("ConvNeXt_Tiny_Weights", __name__)
ConvNeXt_Small_Weights = _make_enum("ConvNeXt_Small_Weights", __name__)
ConvNeXt_Base_Weights = _make_enum("ConvNeXt_Base_Weights", __name__)
ConvNeXt_Large_Weights = _make_enum("ConvNeXt_Large_Weights", __name__)


@builder(ConvNeXt_Tiny_Weights)
def convnext_tiny(*, weights=None, progress=True, **kwargs):
    return _convnext([(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)], 0.1, weights, progress, kwargs)


@builder(ConvNeXt_Small_Weights)
def convnext_small(*, weights=None, progress=True, **kwargs):
    return _convnext([(96, 192, 3), (192, 384, 3), (384, 768, 27), (768, None, 3)], 0.4, weights, progress, kwargs)


@builder(ConvNeXt_Base_Weights)
def convnext_base(*, weights=None, progress=True, **kwargs):
    return _convnext([(128, 256, 3), (256, 512, 3), (512, 1024, 27), (1024, None, 3)], 0.5, weights, progress,
                     kwargs)


@builder(ConvNeXt_Large_Weights)
def convnext_large(*, weights=None, progress=True, **kwargs):
    return _convnext([(192, 384, 3), (384, 768, 3), (768, 1536, 27), (1536, None, 3)], 0.5, weights, progress,
                     kwargs)

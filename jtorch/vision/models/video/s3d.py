"""S3D (Rethinking Spatiotemporal Feature Learning): an Inception network whose 3-D
convolutions are split into spatial (1xkxk) and temporal (kx1x1) parts. Module names as
torchvision's, so its Kinetics-400 checkpoint loads."""
import functools

import jtorch as torch
import jtorch.nn as nn

from .._api import _make_enum
from .._layers import Conv3dNormActivation
from .._utils import builder, load_weights, prepare

__all__ = ["S3D", "S3D_Weights", "s3d"]


class TemporalSeparableConv(nn.Sequential):
    def __init__(self, in_planes, out_planes, kernel_size, stride, padding, norm_layer):
        super().__init__(
            Conv3dNormActivation(in_planes, out_planes, kernel_size=(1, kernel_size, kernel_size),
                                 stride=(1, stride, stride), padding=(0, padding, padding), bias=False,
                                 norm_layer=norm_layer),
            Conv3dNormActivation(out_planes, out_planes, kernel_size=(kernel_size, 1, 1), stride=(stride, 1, 1),
                                 padding=(padding, 0, 0), bias=False, norm_layer=norm_layer))


class SepInceptionBlock3D(nn.Module):
    """Four branches concatenated on channels: 1x1x1; 1x1x1 then separable 3x3x3 (twice, with
    other widths); 3x3x3 max pool then 1x1x1."""

    def __init__(self, in_planes, b0_out, b1_mid, b1_out, b2_mid, b2_out, b3_out, norm_layer):
        super().__init__()
        self.branch0 = Conv3dNormActivation(in_planes, b0_out, kernel_size=1, stride=1, norm_layer=norm_layer)
        self.branch1 = nn.Sequential(
            Conv3dNormActivation(in_planes, b1_mid, kernel_size=1, stride=1, norm_layer=norm_layer),
            TemporalSeparableConv(b1_mid, b1_out, kernel_size=3, stride=1, padding=1, norm_layer=norm_layer))
        self.branch2 = nn.Sequential(
            Conv3dNormActivation(in_planes, b2_mid, kernel_size=1, stride=1, norm_layer=norm_layer),
            TemporalSeparableConv(b2_mid, b2_out, kernel_size=3, stride=1, padding=1, norm_layer=norm_layer))
        self.branch3 = nn.Sequential(
            nn.MaxPool3d(kernel_size=(3, 3, 3), stride=1, padding=1),
            Conv3dNormActivation(in_planes, b3_out, kernel_size=1, stride=1, norm_layer=norm_layer))

    def forward(self, x):
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)), 1)


# (in, b0_out, b1_mid, b1_out, b2_mid, b2_out, b3_out) of the inception blocks, "M" a 3-D max pool
_POOL_A = (3, 3, 3), (2, 2, 2), (1, 1, 1)
_POOL_B = (2, 2, 2), (2, 2, 2), (0, 0, 0)
_BLOCKS = [(192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64), _POOL_A,
           (480, 192, 96, 208, 16, 48, 64), (512, 160, 112, 224, 24, 64, 64), (512, 128, 128, 256, 24, 64, 64),
           (512, 112, 144, 288, 32, 64, 64), (528, 256, 160, 320, 32, 128, 128), _POOL_B,
           (832, 256, 160, 320, 32, 128, 128), (832, 384, 192, 384, 48, 128, 128)]


class S3D(nn.Module):
    """Clips (N, 3, T, H, W) -> (N, num_classes). The final 2x7x7 average pool needs T >= 13 and
    H, W >= 209 (the checkpoint was trained at 224). Batch norms default to eps=1e-3, momentum=1e-3."""

    def __init__(self, num_classes=400, dropout=0.2, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = functools.partial(nn.BatchNorm3d, eps=0.001, momentum=0.001)
        spatial_pool = dict(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        layers = [TemporalSeparableConv(3, 64, 7, 2, 3, norm_layer), nn.MaxPool3d(**spatial_pool),
                  Conv3dNormActivation(64, 64, kernel_size=1, stride=1, norm_layer=norm_layer),
                  TemporalSeparableConv(64, 192, 3, 1, 1, norm_layer), nn.MaxPool3d(**spatial_pool)]
        for spec in _BLOCKS:
            layers.append(nn.MaxPool3d(*spec) if len(spec) == 3 else SepInceptionBlock3D(*spec, norm_layer))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AvgPool3d(kernel_size=(2, 7, 7), stride=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Conv3d(1024, num_classes, kernel_size=1, stride=1, bias=True))

    def forward(self, x):
        x = self.classifier(self.avgpool(self.features(x)))
        return torch.mean(x, dim=(2, 3, 4))  # the pool leaves a map when the clip is longer or larger


S3D_Weights = _make_enum("S3D_Weights", __name__)


@builder(S3D_Weights, legacy="KINETICS400_V1")
def s3d(*, weights=None, progress=True, **kwargs):
    """S3D (Rethinking Spatiotemporal Feature Learning), Kinetics-400 weights available."""
    prepare(weights, kwargs)
    return load_weights(S3D(**kwargs), weights, progress)

"""Quantizable ResNet / ResNeXt: the float blocks with their residual add-and-ReLU as a FloatFunctional
(a quantized add_relu once converted), a ReLU module per use, and quant / dequant stubs."""
import jtorch.nn as nn
from jtorch.ao.quantization import DeQuantStub, QuantStub

from .._api import _make_enum
from .._utils import builder, load_weights
from ..resnet import (BasicBlock, Bottleneck, ResNet, ResNet18_Weights, ResNet50_Weights, ResNeXt101_32X8D_Weights,
                      ResNeXt101_64X4D_Weights, _grouped)
from .utils import _backend, _fuse_modules, _replace_relu, quantize_model

__all__ = ["QuantizableResNet", "QuantizableBasicBlock", "QuantizableBottleneck", "ResNet18_QuantizedWeights",
           "ResNet50_QuantizedWeights", "ResNeXt101_32X8D_QuantizedWeights", "ResNeXt101_64X4D_QuantizedWeights",
           "resnet18", "resnet50", "resnext101_32x8d", "resnext101_64x4d"]


class QuantizableBasicBlock(BasicBlock):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_relu = nn.quantized.FloatFunctional()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.add_relu.add_relu(out, identity)

    def fuse_model(self, is_qat=None):
        _fuse_modules(self, [["conv1", "bn1", "relu"], ["conv2", "bn2"]], is_qat, inplace=True)
        if self.downsample:
            _fuse_modules(self.downsample, ["0", "1"], is_qat, inplace=True)


class QuantizableBottleneck(Bottleneck):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_add_relu = nn.quantized.FloatFunctional()
        # one ReLU per conv, each fused into its own conv
        self.relu1 = nn.ReLU(inplace=False)
        self.relu2 = nn.ReLU(inplace=False)

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.skip_add_relu.add_relu(out, identity)

    def fuse_model(self, is_qat=None):
        _fuse_modules(self, [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"], ["conv3", "bn3"]], is_qat,
                      inplace=True)
        if self.downsample:
            _fuse_modules(self.downsample, ["0", "1"], is_qat, inplace=True)


class QuantizableResNet(ResNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self._forward_impl(self.quant(x)))

    def fuse_model(self, is_qat=None):
        """Fuse conv + bn (+ relu) in place, for eval-mode (or, training, QAT) quantization."""
        _fuse_modules(self, ["conv1", "bn1", "relu"], is_qat, inplace=True)
        for m in self.modules():
            if type(m) in (QuantizableBottleneck, QuantizableBasicBlock):
                m.fuse_model(is_qat)


def _resnet(block, layers, weights, progress, quantize, **kwargs):
    backend = _backend(weights, kwargs, "fbgemm")
    model = QuantizableResNet(block, layers, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return load_weights(model, weights, progress)


ResNet18_QuantizedWeights = _make_enum("ResNet18_QuantizedWeights", __name__)
ResNet50_QuantizedWeights = _make_enum("ResNet50_QuantizedWeights", __name__)
ResNeXt101_32X8D_QuantizedWeights = _make_enum("ResNeXt101_32X8D_QuantizedWeights", __name__)
ResNeXt101_64X4D_QuantizedWeights = _make_enum("ResNeXt101_64X4D_QuantizedWeights", __name__)


@builder(ResNet18_Weights, quantized=ResNet18_QuantizedWeights)
def resnet18(*, weights=None, progress=True, quantize=False, **kwargs):
    """ResNet-18; ``quantize=True`` returns it quantized (8-bit, CPU inference)."""
    return _resnet(QuantizableBasicBlock, [2, 2, 2, 2], weights, progress, quantize, **kwargs)


@builder(ResNet50_Weights, quantized=ResNet50_QuantizedWeights)
def resnet50(*, weights=None, progress=True, quantize=False, **kwargs):
    return _resnet(QuantizableBottleneck, [3, 4, 6, 3], weights, progress, quantize, **kwargs)


@builder(ResNeXt101_32X8D_Weights, quantized=ResNeXt101_32X8D_QuantizedWeights)
def resnext101_32x8d(*, weights=None, progress=True, quantize=False, **kwargs):
    return _resnet(QuantizableBottleneck, [3, 4, 23, 3], weights, progress, quantize, **_grouped(kwargs, 32, 8))


@builder(ResNeXt101_64X4D_Weights, quantized=ResNeXt101_64X4D_QuantizedWeights)
def resnext101_64x4d(*, weights=None, progress=True, quantize=False, **kwargs):
    return _resnet(QuantizableBottleneck, [3, 4, 23, 3], weights, progress, quantize, **_grouped(kwargs, 64, 4))

"""Quantizable ShuffleNetV2: the branch concatenation as a FloatFunctional, conv + bn (+ relu) fused."""
from jtorch.ao.quantization import DeQuantStub, QuantStub
import jtorch.nn as nn

from .._api import _make_enum
from .._utils import builder, load_weights
from ..shufflenetv2 import (InvertedResidual, ShuffleNet_V2_X0_5_Weights, ShuffleNet_V2_X1_0_Weights,
                            ShuffleNet_V2_X1_5_Weights, ShuffleNet_V2_X2_0_Weights, ShuffleNetV2, channel_shuffle)
from .utils import _backend, _fuse_modules, _replace_relu, quantize_model

__all__ = ["QuantizableShuffleNetV2", "QuantizableInvertedResidual", "ShuffleNet_V2_X0_5_QuantizedWeights",
           "ShuffleNet_V2_X1_0_QuantizedWeights", "ShuffleNet_V2_X1_5_QuantizedWeights",
           "ShuffleNet_V2_X2_0_QuantizedWeights", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
           "shufflenet_v2_x2_0"]


class QuantizableInvertedResidual(InvertedResidual):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cat = nn.quantized.FloatFunctional()

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = self.cat.cat([x1, self.branch2(x2)], dim=1)
        else:
            out = self.cat.cat([self.branch1(x), self.branch2(x)], dim=1)
        return channel_shuffle(out, 2)


class QuantizableShuffleNetV2(ShuffleNetV2):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, inverted_residual=QuantizableInvertedResidual, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self._forward_impl(self.quant(x)))

    def fuse_model(self, is_qat=None):
        for name in ("conv1", "conv5"):
            if self._modules.get(name) is not None:
                _fuse_modules(self._modules[name], [["0", "1", "2"]], is_qat, inplace=True)
        for m in self.modules():
            if type(m) is QuantizableInvertedResidual:
                if len(m.branch1._modules) > 0:
                    _fuse_modules(m.branch1, [["0", "1"], ["2", "3", "4"]], is_qat, inplace=True)
                _fuse_modules(m.branch2, [["0", "1", "2"], ["3", "4"], ["5", "6", "7"]], is_qat, inplace=True)


def _shufflenetv2(stages_repeats, stages_out_channels, weights, progress, quantize, **kwargs):
    backend = _backend(weights, kwargs, "fbgemm")
    model = QuantizableShuffleNetV2(stages_repeats, stages_out_channels, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return load_weights(model, weights, progress)


ShuffleNet_V2_X0_5_QuantizedWeights = _make_enum("ShuffleNet_V2_X0_5_QuantizedWeights", __name__)
ShuffleNet_V2_X1_0_QuantizedWeights = _make_enum("ShuffleNet_V2_X1_0_QuantizedWeights", __name__)
ShuffleNet_V2_X1_5_QuantizedWeights = _make_enum("ShuffleNet_V2_X1_5_QuantizedWeights", __name__)
ShuffleNet_V2_X2_0_QuantizedWeights = _make_enum("ShuffleNet_V2_X2_0_QuantizedWeights", __name__)


@builder(ShuffleNet_V2_X0_5_Weights, quantized=ShuffleNet_V2_X0_5_QuantizedWeights)
def shufflenet_v2_x0_5(*, weights=None, progress=True, quantize=False, **kwargs):
    """ShuffleNetV2 x0.5; ``quantize=True`` returns it quantized (8-bit, CPU inference)."""
    return _shufflenetv2([4, 8, 4], [24, 48, 96, 192, 1024], weights, progress, quantize, **kwargs)


@builder(ShuffleNet_V2_X1_0_Weights, quantized=ShuffleNet_V2_X1_0_QuantizedWeights)
def shufflenet_v2_x1_0(*, weights=None, progress=True, quantize=False, **kwargs):
    return _shufflenetv2([4, 8, 4], [24, 116, 232, 464, 1024], weights, progress, quantize, **kwargs)


@builder(ShuffleNet_V2_X1_5_Weights, quantized=ShuffleNet_V2_X1_5_QuantizedWeights)
def shufflenet_v2_x1_5(*, weights=None, progress=True, quantize=False, **kwargs):
    return _shufflenetv2([4, 8, 4], [24, 176, 352, 704, 1024], weights, progress, quantize, **kwargs)


@builder(ShuffleNet_V2_X2_0_Weights, quantized=ShuffleNet_V2_X2_0_QuantizedWeights)
def shufflenet_v2_x2_0(*, weights=None, progress=True, quantize=False, **kwargs):
    return _shufflenetv2([4, 8, 4], [24, 244, 488, 976, 2048], weights, progress, quantize, **kwargs)

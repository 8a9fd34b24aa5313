"""Quantizable MobileNetV2: the residual add as a FloatFunctional, conv + bn + relu fused."""
import jtorch.nn as nn
from jtorch.ao.quantization import DeQuantStub, QuantStub

from .._api import _make_enum
from .._layers import Conv2dNormActivation
from .._utils import builder, load_weights
from ..mobilenetv2 import InvertedResidual, MobileNet_V2_Weights, MobileNetV2
from .utils import _backend, _fuse_modules, _replace_relu, quantize_model

__all__ = ["QuantizableMobileNetV2", "QuantizableInvertedResidual", "MobileNet_V2_QuantizedWeights", "mobilenet_v2"]


class QuantizableInvertedResidual(InvertedResidual):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_add = nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.skip_add.add(x, self.conv(x)) if self.use_res_connect else self.conv(x)

    def fuse_model(self, is_qat=None):
        for idx in range(len(self.conv)):  # the linear projection: conv + bn
            if type(self.conv[idx]) is nn.Conv2d:
                _fuse_modules(self.conv, [str(idx), str(idx + 1)], is_qat, inplace=True)


class QuantizableMobileNetV2(MobileNetV2):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self._forward_impl(self.quant(x)))

    def fuse_model(self, is_qat=None):
        for m in self.modules():
            if type(m) is Conv2dNormActivation:
                _fuse_modules(m, ["0", "1", "2"], is_qat, inplace=True)
            if type(m) is QuantizableInvertedResidual:
                m.fuse_model(is_qat)


MobileNet_V2_QuantizedWeights = _make_enum("MobileNet_V2_QuantizedWeights", __name__)


@builder(MobileNet_V2_Weights, quantized=MobileNet_V2_QuantizedWeights)
def mobilenet_v2(*, weights=None, progress=True, quantize=False, **kwargs):
    """MobileNetV2; ``quantize=True`` returns it quantized (qnnpack by default, as its checkpoint)."""
    backend = _backend(weights, kwargs, "qnnpack")
    model = QuantizableMobileNetV2(block=QuantizableInvertedResidual, **kwargs)
    _replace_relu(model)
    if quantize:
        quantize_model(model, backend)
    return load_weights(model, weights, progress)
